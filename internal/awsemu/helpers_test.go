package awsemu

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// newTestEmulator starts an emulator on a random loopback port for one test,
// closes it when the test ends, and returns it with an aws.Config whose clients
// talk to it with its long-term keys. It is the emulator's own copy of
// internal/emutest (Start and Config), which these tests cannot import: the
// emulator imports nothing of this module. The one difference is which errors
// testConfig's clients retry.
func newTestEmulator(t testing.TB, opts Options) (*Emulator, aws.Config) {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	o := e.Options()
	return e, testConfig(e, o.AccessKey, o.SecretKey)
}

// testConfig is an aws.Config for the emulator with the given static keys. Clients
// built from it need no endpoint override: BaseEndpoint is set. S3 clients must also
// set UsePathStyle.
func testConfig(e *Emulator, ak, sk string) aws.Config {
	return aws.Config{
		Region:       e.Options().Region,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		BaseEndpoint: aws.String(e.URL()),
		// Faults are injected on purpose in some tests: let them surface. Only
		// connection errors are retried, as the SDK's own retryer does: with a
		// server this fast, Go's transport can close a keep-alive connection while a
		// response over 4 KiB is still being read ("use of closed network
		// connection", aws/aws-sdk-go-v2#2737), which real clients retry. No
		// client-side retry quota, as in emutest.Config.
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
				o.RateLimiter = ratelimit.None
			})
		},
	}
}
