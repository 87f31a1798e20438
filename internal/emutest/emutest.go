// Package emutest runs the AWS emulator (internal/awsemu) for tests, in the
// style of net/http/httptest: Start serves a fresh emulator on a random
// loopback port for the life of one test, and Config is an aws.Config whose SDK
// clients talk to it.
//
//	e := emutest.Start(t, awsemu.Options{})
//	cfg := emutest.Config(e)
//	ssmc := ssm.NewFromConfig(cfg)
//	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
//
// Eventually and WaitFor wait for a condition (an agent Online, a command
// ended, a process gone), checking it until it holds, within a bound: tests
// wait on conditions, not on time.
//
// What a package's tests need beyond that (instances whose agents are online,
// clients bundled the way the package takes them) stays in that package and
// builds on these functions. The emulator's own tests cannot import this
// package (the emulator imports nothing of this module, tests included): they
// have their own copy of it in internal/awsemu/helpers_test.go.
package emutest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
)

// Start creates an emulator with opts (awsemu.New applies the defaults), serves
// it on a random loopback port and closes it when the test and its subtests
// have ended. An error fails the test at once.
func Start(t testing.TB, opts awsemu.Options) *awsemu.Emulator {
	t.Helper()
	e, err := awsemu.New(opts)
	if err != nil {
		t.Fatalf("emutest: creating the emulator: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("emutest: closing the emulator: %v", err)
		}
	})
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("emutest: starting the emulator: %v", err)
	}
	return e
}

// Config is an aws.Config for clients of e: e's region, e's long-term key pair
// as static credentials, and e.URL() as BaseEndpoint, so no client needs an
// endpoint override (S3 clients must set UsePathStyle: the emulator serves
// path-style requests on its single host).
//
// Retries are the SDK's standard ones (3 attempts for throttling, 5xx and
// connection errors: with a server this fast, Go's transport can lose a
// keep-alive connection a real client would retry) without the client-side
// retry quota, as the provider's own clients (internal/awsclient) have none:
// a call never fails with "retry quota exceeded" because earlier calls of the
// same client were retried. A test that wants injected faults to surface, or
// more attempts, sets Retryer on the copy it gets.
func Config(e *awsemu.Emulator) aws.Config {
	o := e.Options()
	return aws.Config{
		Region:       o.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(o.AccessKey, o.SecretKey, ""),
		BaseEndpoint: aws.String(e.URL()),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.RateLimiter = ratelimit.None
			})
		},
	}
}
