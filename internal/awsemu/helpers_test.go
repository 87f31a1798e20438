package awsemu

import (
	"fmt"
	"testing"
	"time"

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

// eventually waits until cond returns nil and fails the test with cond's last
// error when within passes first; cond may end the test itself (t.Fatal) when
// what it waits for can no longer happen. It is the emulator's copy of
// emutest.Eventually.
func eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	if err := waitFor(within, cond); err != nil {
		t.Fatal(err)
	}
}

// waitFor calls cond until it returns nil, or returns cond's last error when
// within passes first, pausing 5 ms between calls at first, doubling to 100 ms.
// Tests wait on conditions, not on time: with its original, emutest.WaitFor,
// this is where they pause between checks.
func waitFor(within time.Duration, cond func() error) error {
	deadline := time.Now().Add(within)
	pause := 5 * time.Millisecond
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("still waiting after %s: %w", within, err)
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, 100*time.Millisecond)
	}
}
