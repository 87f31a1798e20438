package awsemu

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// newTestEmulator starts an emulator on a random loopback port for one test and
// returns it with an aws.Config whose clients talk to it with the default keys.
func newTestEmulator(t testing.TB, opts Options) (*Emulator, aws.Config) {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e, testConfig(e, "test", "test")
}

// testConfig is an aws.Config for the emulator with the given static keys. Clients
// built from it need no endpoint override: BaseEndpoint is set. S3 clients must also
// set UsePathStyle.
func testConfig(e *Emulator, ak, sk string) aws.Config {
	return aws.Config{
		Region:       e.Options().Region,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		BaseEndpoint: aws.String(e.URL()),
		// Faults are injected on purpose in some tests: let them surface.
		RetryMaxAttempts: 1,
	}
}

var _ = context.Background
