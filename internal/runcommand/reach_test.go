package runcommand_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// A fleet with stopped agents, a stopped instance and a terminated one: over
// MaxUnreachable nothing is sent; within it the command goes to the ready ones
// only, the others are in NotReached with their reasons, the terminated one
// never counts, and BeforeSend sees exactly the ids each command goes to.
func TestRun_maxUnreachable(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	c = withAgents(e, c)
	ids := addReady(t, e, 10, map[string]string{"Fleet": "reach"})
	for _, id := range ids[:2] {
		if err := e.SetAgentStopped(id, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.SetInstanceState(ids[2], "stopped"); err != nil {
		t.Fatal(err)
	}
	if err := e.SetInstanceState(ids[3], "terminated"); err != nil {
		t.Fatal(err)
	}
	unreachable := sorted(ids[:3])
	ready := sorted(ids[4:])
	tags := []runcommand.Target{{Key: "tag:Fleet", Values: []string{"reach"}}}

	for name, spec := range map[string]runcommand.Spec{
		"ids":  {InstanceIDs: ids, Parameters: cmds("echo x")},
		"tags": {Targets: tags, Parameters: cmds("echo x")},
	} {
		// 3 of 9 (the terminated one does not count) is over 30% (2).
		spec.MaxUnreachable = "30%"
		_, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
		var ue *runcommand.UnreachableError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: err = %v, want an UnreachableError", name, err)
		}
		if got := ue.IDs(); strings.Join(got, ",") != strings.Join(unreachable, ",") || ue.Total != 9 || ue.Allowed != 2 {
			t.Errorf("%s: unreachable %v of %d (allowed %d), want %v of 9 (2)", name, got, ue.Total, ue.Allowed, unreachable)
		}
		if !strings.Contains(err.Error(), "instance is stopped") || !strings.Contains(err.Error(), "ConnectionLost") {
			t.Errorf("%s: error lacks the reasons: %v", name, err)
		}
		if n := e.CallCount("ssm.SendCommand"); n != 0 {
			t.Fatalf("%s: SendCommand called %d times over the threshold", name, n)
		}

		spec.MaxUnreachable = "3"
		var mu sync.Mutex
		var sentTo []string
		spec.BeforeSend = func(_ context.Context, got []string) (map[string][]string, error) {
			mu.Lock()
			defer mu.Unlock()
			sentTo = append(sentTo, got...)
			return map[string][]string{"commands": {"echo before-send"}}, nil
		}
		res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(res.Invocations) != 6 {
			t.Errorf("%s: %d invocations, want 6", name, len(res.Invocations))
		}
		for _, id := range ids[4:] {
			inv := res.Invocations[id]
			if inv == nil || inv.Status != "Success" || strings.TrimSpace(inv.Stdout) != "before-send" {
				t.Errorf("%s: %s: %+v", name, id, inv)
			}
		}
		if name == "tags" {
			// One command by targets; the two lost agents (registered, so
			// targeted) are cancelled at once; the stopped one is not targeted.
			if n, c := e.CallCount("ssm.SendCommand"), e.CallCount("ssm.CancelCommand"); n != 1 || c != 1 || len(res.CommandIDs) != 1 {
				t.Errorf("tags: %d SendCommand, %d CancelCommand, commands %v; want 1, 1, one command", n, c, res.CommandIDs)
			}
			if res.Status != "Success" || res.TargetCount != 6 {
				t.Errorf("tags: status %s, target count %d; want Success, 6", res.Status, res.TargetCount)
			}
		}
		sort.Strings(sentTo)
		if strings.Join(sentTo, ",") != strings.Join(ready, ",") {
			t.Errorf("%s: BeforeSend saw %v, want %v", name, sentTo, ready)
		}
		// By id the terminated instance is reported as gone; a tag selection
		// does not select it at all.
		want := map[string]bool{ids[0]: false, ids[1]: false, ids[2]: false}
		if name == "ids" {
			want[ids[3]] = true
		}
		if len(res.NotReached) != len(want) {
			t.Fatalf("%s: NotReached = %+v", name, res.NotReached)
		}
		for _, s := range res.NotReached {
			if gone, ok := want[s.InstanceID]; !ok || s.Gone != gone || s.Reason == "" {
				t.Errorf("%s: NotReached has %+v", name, s)
			}
		}
		e.ResetCalls()
	}
}

// A tag that matches nothing is an error naming it, unless AllowEmpty.
func TestRun_emptySelection(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	c = withAgents(e, c)
	addReady(t, e, 1, map[string]string{"Fleet": "other"})
	spec := runcommand.Spec{Targets: []runcommand.Target{{Key: "tag:Fleet", Values: []string{"nothing"}}}, Parameters: cmds("echo x")}
	_, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	var ee *runcommand.EmptySelectionError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "tag:Fleet = nothing") {
		t.Fatalf("err = %v, want an EmptySelectionError naming the tag", err)
	}
	spec.AllowEmpty = true
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if err != nil || len(res.Invocations) != 0 {
		t.Fatalf("AllowEmpty: %+v, %v", res, err)
	}
	if n := e.CallCount("ssm.SendCommand"); n != 0 {
		t.Errorf("SendCommand called %d times", n)
	}
}

func sorted(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	return out
}

func TestParseMaxUnreachable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 0, "0": 0, "10": 10, "25%": 12, "100%": 50, "0%": 0} {
		if _, _, err := runcommand.ParseMaxUnreachable(in); err != nil {
			t.Errorf("%q: %v", in, err)
		}
		if got := runcommand.AllowedUnreachable(in, 50); got != want {
			t.Errorf("%q of 50 = %d, want %d", in, got, want)
		}
	}
	for _, in := range []string{"-1", "x", "101%", "1.5", " 1", "%", "01"} {
		if _, _, err := runcommand.ParseMaxUnreachable(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
