package agentwait_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
)

// WaitReport sets stopped and terminated instances aside at once, waits for the
// rest (one registering late), and reports each missing instance by reason,
// without an error.
func TestWaitReport_setsAsideTheImpossibleAndWaitsForTheRest(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{RegistrationDelay: time.Second})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 5, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	if err := e.SetInstanceState(ids[1], awsemu.StateTerminated); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAgentStopped(ids[2], true); err != nil { // never comes online: waited for until the timeout
		t.Fatal(err)
	}
	rep, err := agentwait.WaitReport(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: 5 * time.Second, MinCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	var online []string
	for _, a := range rep.Online {
		online = append(online, a.InstanceID)
	}
	if strings.Join(online, ",") != strings.Join(slices.Sorted(slices.Values(ids[3:])), ",") {
		t.Errorf("online %v, want %v", online, ids[3:])
	}
	reasons := map[string]string{}
	for _, d := range rep.NotOnline {
		reasons[d.InstanceID] = d.Reason
	}
	// ids[2] was waited for until the timeout, then diagnosed (its agent is not running).
	for id, want := range map[string]string{ids[0]: "instance is stopped", ids[1]: "instance is terminated", ids[2]: "agent"} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("%s: reason %q, want it to mention %q", id, reasons[id], want)
		}
	}
	msg := rep.Message()
	for _, id := range ids[:3] {
		if !strings.Contains(msg, id) {
			t.Errorf("message does not name %s:\n%s", id, msg)
		}
	}
	if !strings.HasPrefix(msg, "2 of the 5 selected SSM agents wanted are Online.") {
		t.Errorf("message: %s", msg)
	}
}

// Only stopped or terminated instances: WaitReport returns at once with no
// online agent.
func TestWaitReport_allImpossibleReturnsAtOnce(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 2, Ready: true, State: awsemu.StateStopped})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := agentwait.WaitReport(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Polls != 1 {
		t.Errorf("%d polls: instances that can never come online are set aside at the first", rep.Polls)
	}
	if len(rep.Online) != 0 || len(rep.NotOnline) != 2 {
		t.Errorf("online %v, not online %v", rep.Online, rep.NotOnline)
	}
}
