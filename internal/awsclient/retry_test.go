package awsclient_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

func clientsFor(t *testing.T, e *awsemu.Emulator, mode string, retries *int) *awsclient.Clients {
	t.Helper()
	o := e.Options()
	eps := map[string]string{}
	for _, s := range awsclient.Services {
		eps[s] = e.URL()
	}
	c, err := awsclient.New(t.Context(), awsclient.Settings{
		Region: o.Region, AccessKey: o.AccessKey, SecretKey: o.SecretKey,
		Endpoints: eps, RetryMode: mode, MaxRetries: retries,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Under heavy throttling and 5xx, many concurrent calls through one client all
// succeed: the SDK's default retry quota (500 tokens, 5 per throttled retry,
// 14 per other) would run dry after a few dozen retries and fail calls with
// "retry quota exceeded" although attempts were left.
func TestRetryer_noClientSideRetryQuota(t *testing.T) {
	t.Parallel()
	// Adaptive mode uses the same standard retryer underneath; it is left out
	// because it also slows the client down (by design), which makes the test slow.
	for mode, fault := range map[string]awsemu.Fault{"standard": {ServerErrorRate: 0.5}} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := emutest.Start(t, awsemu.Options{Seed: 7})
			e.SetFault("ssm.DescribeInstanceInformation", fault)
			c := clientsFor(t, e, mode, nil)
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			for g := 0; g < 40; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 5; i++ {
						if _, err := c.SSM.DescribeInstanceInformation(t.Context(), &ssm.DescribeInstanceInformationInput{}); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("call failed: %v", err)
			}
			calls := e.Calls()
			faults := calls["ssm.DescribeInstanceInformation#throttled"] + calls["ssm.DescribeInstanceInformation#5xx"]
			// 200 calls with half the attempts failing (each failed retry keeps
			// 14 of the quota's 500 tokens): the quota is exceeded several times over.
			if faults < 150 {
				t.Errorf("only %d faults were injected; the test does not exercise the quota", faults)
			}
		})
	}
}

// max_retries = 0 means one attempt; otherwise max_retries + 1 attempts, also
// when AWS_MAX_ATTEMPTS says otherwise (the SDK would wrap the retryer again).
func TestRetryer_maxRetriesWinsOverEnvironment(t *testing.T) {
	t.Setenv("AWS_MAX_ATTEMPTS", "7")
	e := emutest.Start(t, awsemu.Options{Seed: 7})
	e.SetFault("ssm.DescribeInstanceInformation", awsemu.Fault{ServerErrorRate: 1})
	for _, tc := range []struct {
		retries *int
		want    int64
	}{{ptr(0), 1}, {ptr(2), 3}, {nil, 7}} {
		e.ResetCalls()
		c := clientsFor(t, e, "standard", tc.retries)
		_, err := c.SSM.DescribeInstanceInformation(t.Context(), &ssm.DescribeInstanceInformationInput{})
		if err == nil {
			t.Fatal("want the 500")
		}
		if got := e.CallCount("ssm.DescribeInstanceInformation#5xx"); got != tc.want {
			t.Errorf("max_retries %v: %d attempts, want %d", tc.retries, got, tc.want)
		}
	}
}

func ptr(n int) *int { return &n }

// A call under a deadline stops retrying when the next backoff could end past
// the deadline, and returns the attempts' own error (HTTP 500) rather than a
// bare "context deadline exceeded".
func TestRetryer_stopsBeforeTheDeadlineWithTheCause(t *testing.T) {
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{Seed: 7})
	e.SetFault("ssm.DescribeInstanceInformation", awsemu.Fault{ServerErrorRate: 1})
	c := clientsFor(t, e, "", nil) // default: standard, 26 attempts
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.SSM.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{})
	took := time.Since(start)
	if err == nil {
		t.Fatal("want the 500")
	}
	if took > 3*time.Second+500*time.Millisecond {
		t.Errorf("call took %s with a 3s deadline", took)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("error %q does not carry the HTTP 500", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("error %q is not an API error", err)
	}
	if !strings.Contains(err.Error(), "DescribeInstanceInformation") {
		t.Errorf("error %q does not name the operation", err)
	}
	if e.CallCount("ssm.DescribeInstanceInformation#5xx") < 2 {
		t.Errorf("the call was not retried at all")
	}
}

// When the deadline ends an attempt in flight, the error still names what the
// attempt before it failed with.
func TestRetryer_interruptedCallKeepsTheLastCause(t *testing.T) {
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{Seed: 7})
	// Every attempt fails with 500 after 700 ms; retries wait at most 50 ms,
	// 100 ms, 200 ms, ... so the deadline falls inside the third attempt.
	e.SetFault("ssm.DescribeInstanceInformation", awsemu.Fault{ServerErrorRate: 1, Latency: 700 * time.Millisecond})
	c := clientsFor(t, e, "standard", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 1800*time.Millisecond)
	defer cancel()
	_, err := c.SSM.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{})
	if err == nil {
		t.Fatal("want an error")
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Errorf("error %q lost the HTTP 500 of the attempts", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q is not context.DeadlineExceeded", err)
	}
	var ie *awsclient.InterruptedCallError
	if !errors.As(err, &ie) {
		t.Errorf("error %q: want the deadline to have interrupted an attempt", err)
	}
}
