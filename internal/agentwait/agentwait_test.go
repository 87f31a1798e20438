package agentwait_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

func newEmulator(t testing.TB, opts awsemu.Options) (*awsemu.Emulator, agentwait.Clients) {
	t.Helper()
	e := emutest.Start(t, opts)
	cfg := emutest.Config(e)
	return e, agentwait.Clients{SSM: ssm.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg)}
}

// The wait notices registration at most one poll interval late, and spends one
// DescribeInstanceInformation call per poll for up to 50 ids.
func TestWait_detectsRegistrationWithinOneStep(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{RegistrationDelay: 2 * time.Second})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 3, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := time.Now()
	if len(res.Online) != 3 {
		t.Fatalf("online = %d, want 3", len(res.Online))
	}
	var registered time.Time
	for _, id := range ids {
		inst, _ := e.Instance(id)
		if inst.RegisteredAt.After(registered) {
			registered = inst.RegisteredAt
		}
	}
	// One step late at most, plus the emulator's 50 ms fleet tick and call latency.
	if late := done.Sub(registered); late > res.LastInterval+150*time.Millisecond {
		t.Errorf("noticed registration %s after it happened; last poll interval was %s", late, res.LastInterval)
	}
	if res.Calls != res.Polls {
		t.Errorf("%d calls for %d polls of 3 ids, want one call per poll", res.Calls, res.Polls)
	}
	if got := e.CallCount("ssm.DescribeInstanceInformation"); got != int64(res.Calls) {
		t.Errorf("emulator counted %d DescribeInstanceInformation calls, the waiter %d", got, res.Calls)
	}
}

func TestWait_manyIDsAreChunked(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 120, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Online) != 120 {
		t.Fatalf("online = %d, want 120", len(res.Online))
	}
	if perPoll := float64(res.Calls) / float64(res.Polls); perPoll > 3 {
		t.Errorf("%.1f DescribeInstanceInformation calls per poll for 120 ids, want at most ceil(120/50) = 3", perPoll)
	}
}

func TestWait_tagsAndMinCount(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	if _, err := e.AddInstances(awsemu.InstanceSpec{Count: 120, Ready: true, Tags: map[string]string{"Role": "web"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddInstances(awsemu.InstanceSpec{Count: 30, Ready: true, Tags: map[string]string{"Role": "db"}}); err != nil {
		t.Fatal(err)
	}
	res, err := agentwait.Wait(t.Context(), c, agentwait.Spec{Tags: map[string]string{"Role": "web"}, MinCount: 120, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Online) != 120 {
		t.Fatalf("online = %d, want the 120 web instances", len(res.Online))
	}
}

func TestWait_failsFastOnTerminated(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetInstanceState(ids[1], awsemu.StateTerminated); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: 5 * time.Minute})
	var ne *agentwait.NeverOnlineError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want NeverOnlineError", err)
	}
	if !strings.Contains(err.Error(), ids[1]+": instance is terminated") {
		t.Errorf("error does not name the terminated instance: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to fail, want seconds", d)
	}
}

func TestWait_honoursCancellation(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids, _ := e.AddInstances(awsemu.InstanceSpec{Count: 1})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := agentwait.Wait(ctx, c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute, MinInterval: 10 * time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("returned %s after start, want right after the 300ms cancel", d)
	}
}

// BenchmarkWait reports DescribeInstanceInformation calls per poll cycle and the
// detection latency (time from the last agent's registration to Wait returning)
// for fleets of 1, 50 and 500 instances, from the emulator's counters and clocks.
func BenchmarkWait(b *testing.B) {
	for _, n := range []int{1, 50, 500} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			var calls, polls int
			var latency time.Duration
			for i := 0; i < b.N; i++ {
				e, c := newEmulator(b, awsemu.Options{RegistrationDelay: time.Second})
				ids, err := e.AddInstances(awsemu.InstanceSpec{Count: n, Ready: true})
				if err != nil {
					b.Fatal(err)
				}
				e.ResetCalls()
				res, err := agentwait.Wait(b.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				done := time.Now()
				var registered time.Time
				for _, id := range ids {
					inst, _ := e.Instance(id)
					if inst.RegisteredAt.After(registered) {
						registered = inst.RegisteredAt
					}
				}
				latency += done.Sub(registered)
				calls += int(e.CallCount("ssm.DescribeInstanceInformation"))
				polls += res.Polls
				_ = e.Close()
			}
			b.ReportMetric(float64(calls)/float64(polls), "calls/poll")
			b.ReportMetric(float64(calls)/float64(b.N), "calls/op")
			b.ReportMetric(float64(latency.Milliseconds())/float64(b.N), "detect-ms")
		})
	}
}

// Distinct drops repeats and keeps the order ids were listed in.
func TestDistinctKeepsTheFirstOrder(t *testing.T) {
	t.Parallel()
	got := agentwait.Distinct([]string{"i-b", "i-a", "i-b", "i-c", "i-a"})
	if want := []string{"i-b", "i-a", "i-c"}; !slices.Equal(got, want) {
		t.Errorf("Distinct = %v, want %v", got, want)
	}
	if got := agentwait.Distinct(nil); len(got) != 0 {
		t.Errorf("Distinct(nil) = %v", got)
	}
}
