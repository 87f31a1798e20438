package agentwait_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
)

func readyInstances(t *testing.T, e *awsemu.Emulator, spec awsemu.InstanceSpec) []string {
	t.Helper()
	ids, err := e.AddInstances(spec)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range ids {
		for {
			if inst, _ := e.Instance(id); inst.PingStatus == awsemu.PingOnline {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent of %s never came online", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return ids
}

// Online agents pass with one DescribeInstanceInformation call.
func TestReady_onlinePassesWithOneCall(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	e.ResetCalls()
	if err := agentwait.Ready(context.Background(), c, agentwait.ReadySpec{InstanceIDs: ids}); err != nil {
		t.Fatal(err)
	}
	if got := e.CallCount("ssm.DescribeInstanceInformation"); got != 1 {
		t.Errorf("DescribeInstanceInformation called %d times, want 1", got)
	}
}

// Without a wait, a stopped instance and a lost agent fail at once, each named
// with its reason.
func TestReady_notReadyFailsAtOnce(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAgentStopped(ids[1], true); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := agentwait.Ready(context.Background(), c, agentwait.ReadySpec{InstanceIDs: ids})
	var nr *agentwait.NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("err = %v, want *NotReadyError", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	msg := nr.Error()
	for _, want := range []string{"2 of 3 instances cannot receive commands now", ids[0] + ": instance is stopped", ids[1] + ": agent registered but is ConnectionLost"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, ids[2]) {
		t.Errorf("the online instance is named:\n%s", msg)
	}
}

// With a wait, a stopped instance that is started in time passes; a
// terminated one fails at once.
func TestReady_waitsForStartedInstanceButNotTerminated(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
	if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(time.Second, func() { _ = e.SetInstanceState(ids[0], awsemu.StateRunning) })
	if err := agentwait.Ready(context.Background(), c, agentwait.ReadySpec{InstanceIDs: ids, Wait: time.Minute}); err != nil {
		t.Fatalf("started instance: %v", err)
	}

	if err := e.SetInstanceState(ids[1], awsemu.StateTerminated); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := agentwait.Ready(context.Background(), c, agentwait.ReadySpec{InstanceIDs: ids, Wait: time.Minute})
	var nr *agentwait.NotReadyError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), ids[1]+": instance is terminated") {
		t.Fatalf("err = %v, want a NotReadyError naming the terminated instance", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("waited %s for a terminated instance", d)
	}
}

// Tag targets: every registered agent carrying the tags must be Online; a
// tag value list matches any of its values.
func TestReady_tagTargets(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	web := readyInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true, Tags: map[string]string{"Role": "web"}})
	api := readyInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Role": "api"}})
	other := readyInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Role": "db"}})
	if err := e.SetAgentStopped(other[0], true); err != nil {
		t.Fatal(err)
	}
	spec := agentwait.ReadySpec{TagValues: map[string][]string{"Role": {"web", "api"}}}
	if err := agentwait.Ready(context.Background(), c, spec); err != nil {
		t.Fatalf("an untargeted lost agent failed the check: %v", err)
	}
	if err := e.SetAgentStopped(api[0], true); err != nil {
		t.Fatal(err)
	}
	err := agentwait.Ready(context.Background(), c, spec)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 instances") || !strings.Contains(err.Error(), api[0]) {
		t.Fatalf("err = %v, want the lost agent %s named", err, api[0])
	}
	_ = web
}
