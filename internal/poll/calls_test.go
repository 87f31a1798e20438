package poll_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

var (
	errBusy   = errors.New("busy")   // transient in these tests
	errDenied = errors.New("denied") // not transient
)

func newTracker(limit time.Duration) *poll.Tracker {
	return &poll.Tracker{
		Limit:     limit,
		Transient: func(err error) bool { return errors.Is(err, errBusy) },
		Describe:  func(err error) string { return "<" + err.Error() + ">" },
	}
}

func TestCallErrorSaysWhatFailedAndForHowLong(t *testing.T) {
	t.Parallel()
	at := &poll.CallError{Operation: "ListCommands", Err: errDenied}
	if got, want := at.Error(), "ListCommands failed: denied"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	long := &poll.CallError{Operation: "ListCommands", Err: errBusy, For: 2*time.Minute + 400*time.Millisecond,
		Describe: func(err error) string { return "short " + err.Error() }}
	if got, want := long.Error(), "every ListCommands call failed for 2m0s; the last error: short busy"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(long, errBusy) {
		t.Errorf("a CallError does not unwrap to its error")
	}
	if got := (&poll.CallError{Operation: "X"}).Error(); strings.Contains(got, "<nil>") {
		t.Errorf("a CallError without an error says %q", got)
	}
}

func TestTrackerStopsAtOnceOnAnErrorPollingCannotCure(t *testing.T) {
	t.Parallel()
	tr := newTracker(time.Hour)
	_, finish := tr.Begin(t.Context(), "DescribeInstanceInformation")
	stop := finish(errDenied)
	if stop == nil || stop.For != 0 || !errors.Is(stop, errDenied) || stop.Operation != "DescribeInstanceInformation" {
		t.Fatalf("stop = %v, want DescribeInstanceInformation's error at once", stop)
	}
	if got := stop.Error(); got != "DescribeInstanceInformation failed: <denied>" {
		t.Errorf("the tracker's CallError does not use its Describe: %q", got)
	}
	if !tr.Failing() || tr.Last() == nil {
		t.Errorf("Failing() = %v, Last() = %v after a failed call", tr.Failing(), tr.Last())
	}
}

func TestTrackerGivesUpOnTransientErrorsAfterTheLimit(t *testing.T) {
	t.Parallel()
	limit := 150 * time.Millisecond
	tr := newTracker(limit)
	start := time.Now()
	for i := 0; ; i++ {
		_, finish := tr.Begin(t.Context(), "ListCommandInvocations")
		stop := finish(errBusy)
		if stop == nil {
			if time.Since(start) > 10*limit {
				t.Fatalf("still no stop after %s of transient errors", time.Since(start))
			}
			if err := poll.Sleep(t.Context(), 20*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if stop.For < limit || !errors.Is(stop, errBusy) || stop.Operation != "ListCommandInvocations" {
			t.Fatalf("stop = %v (for %s), want the busy error after at least %s", stop, stop.For, limit)
		}
		if i == 0 {
			t.Errorf("the first transient error stopped the wait")
		}
		return
	}
}

func TestTrackerSuccessEndsTheFailingStreak(t *testing.T) {
	t.Parallel()
	tr := newTracker(time.Hour)
	_, finish := tr.Begin(t.Context(), "ListCommands")
	if stop := finish(errBusy); stop != nil {
		t.Fatalf("a transient error stopped the wait: %v", stop)
	}
	if !tr.Failing() {
		t.Errorf("not failing after a transient error")
	}
	_, finish = tr.Begin(t.Context(), "ListCommands")
	if stop := finish(nil); stop != nil {
		t.Fatalf("a success stopped the wait: %v", stop)
	}
	if tr.Failing() {
		t.Errorf("still failing after a success")
	}
	if last := tr.Last(); last == nil || !errors.Is(last, errBusy) {
		t.Errorf("Last() = %v, want the busy error kept", last)
	}
}

// A call that gets no answer before the limit is cut by Begin's context and
// ends the wait, naming the context error.
func TestTrackerBoundsACallThatNeverAnswers(t *testing.T) {
	t.Parallel()
	limit := 100 * time.Millisecond
	tr := newTracker(limit)
	cctx, finish := tr.Begin(t.Context(), "ListCommands")
	deadline, ok := cctx.Deadline()
	if !ok || time.Until(deadline) > limit {
		t.Fatalf("the call's context has no deadline within the limit (%v, %v)", deadline, ok)
	}
	<-cctx.Done()
	stop := finish(cctx.Err())
	if stop == nil || stop.For < limit || !errors.Is(stop, context.DeadlineExceeded) {
		t.Fatalf("stop = %v, want the deadline after %s", stop, limit)
	}
}

// When the wait's own context ends, finish does not stop the wait (the caller
// reports the interruption) but keeps the call's cause, not the bare context
// error.
func TestTrackerKeepsTheCauseWhenTheWaitIsInterrupted(t *testing.T) {
	t.Parallel()
	tr := newTracker(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	_, finish := tr.Begin(ctx, "SendCommand")
	cancel()
	if stop := finish(errDenied); stop != nil {
		t.Errorf("finish after the wait ended = %v, want nil", stop)
	}
	_, finish = tr.Begin(ctx, "ListCommands")
	if stop := finish(context.Canceled); stop != nil {
		t.Errorf("finish after the wait ended = %v, want nil", stop)
	}
	if last := tr.Last(); last == nil || last.Operation != "SendCommand" || !errors.Is(last, errDenied) {
		t.Errorf("Last() = %v, want SendCommand's denied error", last)
	}
	if stop := tr.Failed("SendCommand", context.Canceled); stop != nil {
		t.Errorf("Failed(context.Canceled) = %v, want nil", stop)
	}
}

func TestTrackerWithoutLimitAndNilTracker(t *testing.T) {
	t.Parallel()
	tr := newTracker(0)
	ctx := t.Context()
	cctx, finish := tr.Begin(ctx, "ListCommands")
	if _, ok := cctx.Deadline(); ok {
		t.Errorf("a tracker without a limit bounds the call")
	}
	if stop := finish(errBusy); stop != nil {
		t.Errorf("a tracker without a limit stopped on a transient error: %v", stop)
	}

	var none *poll.Tracker
	cctx, finish = none.Begin(ctx, "ListCommands")
	if cctx != ctx || finish(errDenied) != nil || none.Failed("X", errDenied) != nil || none.Last() != nil || none.Failing() {
		t.Errorf("a nil tracker bounds or stops something")
	}
}
