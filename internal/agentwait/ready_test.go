package agentwait_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

func readyInstances(t *testing.T, e *awsemu.Emulator, spec awsemu.InstanceSpec) []string {
	t.Helper()
	ids, err := e.AddInstances(spec)
	if err != nil {
		t.Fatal(err)
	}
	emutest.Eventually(t, 10*time.Second, func() error {
		for _, id := range ids {
			if inst, _ := e.Instance(id); inst.PingStatus != awsemu.PingOnline {
				return fmt.Errorf("agent of %s never came online (ping status %q)", id, inst.PingStatus)
			}
		}
		return nil
	})
	return ids
}

// Online agents pass with one DescribeInstanceInformation call.
func TestReady_onlinePassesWithOneCall(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	e.ResetCalls()
	if err := agentwait.Ready(t.Context(), c, agentwait.ReadySpec{InstanceIDs: ids}); err != nil {
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
	err := agentwait.Ready(t.Context(), c, agentwait.ReadySpec{InstanceIDs: ids})
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

// With a wait, an instance that is starting (its agent still registering)
// passes; a stopped or a terminated one fails at once: nothing starts a
// stopped instance while the wait runs (nothing waits for what
// cannot come).
func TestReady_waitsForStartingInstanceButNotStoppedOrTerminated(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
	if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := agentwait.Ready(t.Context(), c, agentwait.ReadySpec{InstanceIDs: ids, Wait: time.Minute})
	var nr *agentwait.NotReadyError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), ids[0]+": instance is stopped") {
		t.Fatalf("err = %v, want a NotReadyError naming the stopped instance", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("waited %s for a stopped instance", d)
	}

	e.SetDelays(time.Second, -1, -1)
	if err := e.SetInstanceState(ids[0], awsemu.StateRunning); err != nil {
		t.Fatal(err)
	}
	if err := agentwait.Ready(t.Context(), c, agentwait.ReadySpec{InstanceIDs: ids, Wait: time.Minute}); err != nil {
		t.Fatalf("starting instance: %v", err)
	}

	if err := e.SetInstanceState(ids[1], awsemu.StateTerminated); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	err = agentwait.Ready(t.Context(), c, agentwait.ReadySpec{InstanceIDs: ids, Wait: time.Minute})
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), ids[1]+": instance is terminated") {
		t.Fatalf("err = %v, want a NotReadyError naming the terminated instance", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("waited %s for a terminated instance", d)
	}
}

// Classify sorts the selection: Online agents are ready; stopped instances
// and lost agents are unreachable, each with its reason; terminated and
// nonexistent instances are gone. With a wait, only the agents that can still
// come online are waited for (a stopped instance ends the wait at once).
func TestClassify(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids := readyInstances(t, e, awsemu.InstanceSpec{Count: 5, Ready: true, Tags: map[string]string{"Fleet": "c"}})
	sort.Strings(ids)
	if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAgentStopped(ids[1], true); err != nil {
		t.Fatal(err)
	}
	if err := e.SetInstanceState(ids[2], awsemu.StateTerminated); err != nil {
		t.Fatal(err)
	}
	missing := "i-0123456789abcdef0"
	start := time.Now()
	r, err := agentwait.Classify(t.Context(), c, agentwait.ReadySpec{InstanceIDs: append(append([]string(nil), ids...), missing), Wait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %s", d)
	}
	if strings.Join(r.Ready, ",") != strings.Join(ids[3:], ",") {
		t.Errorf("ready = %v, want %v", r.Ready, ids[3:])
	}
	if len(r.Unreachable) != 2 || r.Unreachable[0].InstanceID != ids[0] || !strings.Contains(r.Unreachable[0].Reason, "stopped") ||
		r.Unreachable[1].InstanceID != ids[1] || !strings.Contains(r.Unreachable[1].Reason, "ConnectionLost") {
		t.Errorf("unreachable = %+v", r.Unreachable)
	}
	var gone []string
	for _, d := range r.Gone {
		gone = append(gone, d.InstanceID)
	}
	sort.Strings(gone)
	want := []string{ids[2], missing}
	sort.Strings(want)
	if strings.Join(gone, ",") != strings.Join(want, ",") {
		t.Errorf("gone = %v, want %v", r.Gone, want)
	}
	// By tag: the stopped instance is found through EC2 (its agent is not
	// listed), the terminated one is not selected at all.
	r, err = agentwait.Classify(t.Context(), c, agentwait.ReadySpec{TagValues: map[string][]string{"Fleet": {"c"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Ready) != 2 || len(r.Unreachable) != 2 || len(r.Gone) != 0 {
		t.Errorf("by tag: %+v", r)
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
	if err := agentwait.Ready(t.Context(), c, spec); err != nil {
		t.Fatalf("an untargeted lost agent failed the check: %v", err)
	}
	if err := e.SetAgentStopped(api[0], true); err != nil {
		t.Fatal(err)
	}
	err := agentwait.Ready(t.Context(), c, spec)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 instances") || !strings.Contains(err.Error(), api[0]) {
		t.Fatalf("err = %v, want the lost agent %s named", err, api[0])
	}
	_ = web
}
