package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/action"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// The progress lines of a finished run: one per unsuccessful instance, in
// instance id order, with status, exit code and the tail of stderr (stdout
// when stderr is empty), at most progressFailuresShown of them and a count of
// the rest.
func TestFailureLines(t *testing.T) {
	res := &runcommand.Result{Invocations: map[string]*runcommand.Invocation{
		"i-ok": {InstanceID: "i-ok", Status: "Success"},
		"i-a":  {InstanceID: "i-a", Status: "Failed", StatusDetails: "Failed", ResponseCode: 3, Stderr: "one\ntwo\n"},
		"i-b":  {InstanceID: "i-b", Status: "TimedOut", StatusDetails: "ExecutionTimedOut", ResponseCode: 137, Stdout: "still going"},
		"i-c":  {InstanceID: "i-c", Status: "InProgress"},
	}}
	got := failureLines(res)
	want := []string{
		"i-a: Failed (Failed), exit code 3; last lines of stderr:\n  one\n  two",
		"i-b: TimedOut (ExecutionTimedOut), exit code 137; last lines of stdout:\n  still going",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("failureLines = %q, want %q", got, want)
	}
	if failureLines(nil) != nil {
		t.Error("failureLines(nil) is not empty")
	}

	many := &runcommand.Result{Invocations: map[string]*runcommand.Invocation{}}
	for i := range progressFailuresShown + 7 {
		id := fmt.Sprintf("i-%03d", i)
		many.Invocations[id] = &runcommand.Invocation{InstanceID: id, Status: "Failed", StatusDetails: "Failed", ResponseCode: 1}
	}
	got = failureLines(many)
	if len(got) != progressFailuresShown+1 || got[len(got)-1] != "and 7 more instances where it did not succeed" ||
		!strings.HasPrefix(got[0], "i-000: ") {
		t.Errorf("failureLines of %d failures = %q", len(many.Invocations), got)
	}
}

// The progress queue keeps the order, and never blocks the run: not when
// Terraform stops reading (SendProgress blocks forever, as the framework's
// does once the stream is gone), and flush returns once the context ends.
func TestProgressQueue(t *testing.T) {
	var got []string
	send, flush := progressQueue(t.Context(), func(e action.InvokeProgressEvent) { got = append(got, e.Message) })
	for i := range 5 {
		send(fmt.Sprint(i))
	}
	flush()
	if strings.Join(got, ",") != "0,1,2,3,4" {
		t.Errorf("sent %q, want 0 to 4 in order", got)
	}

	ctx, cancel := context.WithCancel(t.Context())
	blocked := make(chan struct{})
	send, flush = progressQueue(ctx, func(action.InvokeProgressEvent) { <-blocked })
	done := make(chan struct{})
	go func() {
		for i := range 1000 { // more than the queue holds: the extra ones are dropped
			send(fmt.Sprint(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("send blocked while Terraform was not reading")
	}
	cancel()
	flushed := make(chan struct{})
	go func() { flush(); close(flushed) }()
	select {
	case <-flushed:
	case <-time.After(10 * time.Second):
		t.Fatal("flush blocked after the context ended")
	}
	close(blocked)
}
