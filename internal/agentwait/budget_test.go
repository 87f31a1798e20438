package agentwait_test

import (
	"errors"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
)

// Ready bounds its diagnosis as Wait does (10 s, no longer a literal 30 s):
// with EC2 and IAM answering only after 25 s, the failure comes back after
// the budget, not after the slow calls. About wall time: it measures how long
// Ready takes.
func TestReady_diagnosisBudgetIsWaits(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true})
	if err := e.SetAgentStopped(ids[0], true); err != nil {
		t.Fatal(err)
	}
	e.SetFault("ec2", awsemu.Fault{Latency: 25 * time.Second})
	e.SetFault("iam", awsemu.Fault{Latency: 25 * time.Second})
	start := time.Now()
	err := agentwait.Ready(t.Context(), c, agentwait.ReadySpec{InstanceIDs: ids})
	took := time.Since(start)
	var nr *agentwait.NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("err = %v, want *NotReadyError", err)
	}
	if took > 20*time.Second {
		t.Errorf("Ready took %s with slow diagnosis calls, want about the 10 s budget", took)
	}
}

// Ready's fail-fast interval is configurable as Wait's is: with FailFastEvery 1
// it checks EC2 for instances that cannot come online on every poll, by
// default on the first and every fourth.
func TestReady_failFastEveryIsConfigurable(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true})
	if err := e.SetAgentStopped(ids[0], true); err != nil { // running instance, agent lost: worth waiting for
		t.Fatal(err)
	}
	checks := func(every int) (polls, ec2Calls int64) {
		t.Helper()
		e.ResetCalls()
		err := agentwait.Ready(t.Context(), c, agentwait.ReadySpec{InstanceIDs: ids, Wait: 2 * time.Second,
			MinInterval: 100 * time.Millisecond, MaxInterval: 100 * time.Millisecond, FailFastEvery: every})
		var nr *agentwait.NotReadyError
		if !errors.As(err, &nr) {
			t.Fatalf("err = %v, want *NotReadyError", err)
		}
		return e.CallCount("ssm.DescribeInstanceInformation"), e.CallCount("ec2.DescribeInstances")
	}
	polls1, calls1 := checks(1)
	pollsDef, callsDef := checks(0)
	// The final diagnosis adds its own EC2 reads in both runs (at most 2 here).
	if calls1 < polls1-2 {
		t.Errorf("FailFastEvery 1: %d EC2 reads in %d polls, want one per poll", calls1, polls1)
	}
	if callsDef > pollsDef/4+4 {
		t.Errorf("default: %d EC2 reads in %d polls, want about one per 4 polls", callsDef, pollsDef)
	}
}
