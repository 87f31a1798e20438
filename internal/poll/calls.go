package poll

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// CallError is the error of a call a wait made, with the operation that
// returned it: the wait ended at once on an error that calling again cannot
// cure, or, with For, after every call had failed for that long.
type CallError struct {
	Operation string
	Err       error
	// For is how long every call had been failing when the wait gave up on
	// errors that calling again might have cured (0: it stopped at once).
	For time.Duration
	// Describe, when set, is how the message tells Err (a short text of an
	// SDK error, say); nil uses Err.Error().
	Describe func(error) string
}

func (e *CallError) Error() string {
	cause := "no error"
	switch {
	case e.Err != nil && e.Describe != nil:
		cause = e.Describe(e.Err)
	case e.Err != nil:
		cause = e.Err.Error()
	}
	if e.For > 0 {
		return fmt.Sprintf("every %s call failed for %s; the last error: %s", e.Operation, e.For.Round(time.Second), cause)
	}
	return fmt.Sprintf("%s failed: %s", e.Operation, cause)
}

// Unwrap returns the call's error.
func (e *CallError) Unwrap() error { return e.Err }

// Tracker follows the failing calls of a wait (or of several waits that share
// one limit): the last error, to name when the wait ends another way, and
// since when every call has failed. An error that Transient says calling again
// may cure is polled through until such errors have lasted Limit; any other
// ends the wait at once. A call that gets no answer at all before the limit
// (its context, bounded by Begin, ends) counts as failing too. A nil *Tracker
// bounds nothing and stops on nothing. It is safe for concurrent use.
type Tracker struct {
	// Limit is how long every call may fail before the wait stops (0: no
	// limit).
	Limit time.Duration
	// Transient reports whether calling again may cure err (nil: no error is
	// transient).
	Transient func(err error) bool
	// ContextOnly reports whether err says only that the call's context ended,
	// with no answer or connection error behind it (nil: errors.Is
	// context.Canceled or context.DeadlineExceeded).
	ContextOnly func(err error) bool
	// Describe is given to the CallErrors the tracker makes.
	Describe func(error) string

	mu    sync.Mutex
	last  *CallError
	since time.Time // zero: the last call did not fail (or failed for good)
}

func (t *Tracker) transient(err error) bool { return t.Transient != nil && t.Transient(err) }

func (t *Tracker) contextOnly(err error) bool {
	if t.ContextOnly != nil {
		return t.ContextOnly(err)
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Begin starts a call of op. The context it returns also ends when failing
// calls would have lasted the limit (retries inside the call count too). The
// func it returns records the call's outcome and returns non-nil when the wait
// must stop: an error that is not transient, or failures that lasted the limit.
// When ctx itself has ended it records the error (keeping a cause, if the call
// had one) and returns nil: the caller reports the interruption.
func (t *Tracker) Begin(ctx context.Context, op string) (context.Context, func(error) *CallError) {
	if t == nil {
		return ctx, func(error) *CallError { return nil }
	}
	start := time.Now()
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if t.Limit > 0 {
		t.mu.Lock()
		since := t.since
		t.mu.Unlock()
		if since.IsZero() {
			since = start
		}
		cctx, cancel = context.WithDeadline(ctx, since.Add(t.Limit))
	}
	return cctx, func(err error) *CallError {
		cancel()
		if err == nil {
			t.ok()
			return nil
		}
		if ctx.Err() != nil {
			_ = t.Failed(op, err)
			return nil //nolint:nilerr // interrupted: the caller reports that, with the cause kept here
		}
		contextOnly := t.contextOnly(err)
		t.mu.Lock()
		if t.since.IsZero() && (contextOnly || t.transient(err)) {
			t.since = start
		}
		if contextOnly && t.last == nil {
			// No answer within the limit: that is what failed.
			t.last = t.callError(op, err, 0)
		}
		t.mu.Unlock()
		return t.Failed(op, err)
	}
}

// Failed records err from op and returns non-nil when the wait must stop: err
// is not transient, or failures have lasted the limit. An error that says only
// that the context ended is not recorded.
func (t *Tracker) Failed(op string, err error) *CallError {
	if t == nil || err == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.contextOnly(err) {
		t.last = t.callError(op, err, 0)
		if !t.transient(err) {
			return t.last
		}
		if t.since.IsZero() {
			t.since = time.Now()
		}
	}
	if d := time.Since(t.since); t.Limit > 0 && !t.since.IsZero() && d >= t.Limit && t.last != nil {
		return t.callError(t.last.Operation, t.last.Err, d)
	}
	return nil
}

func (t *Tracker) callError(op string, err error, d time.Duration) *CallError {
	return &CallError{Operation: op, Err: err, For: d, Describe: t.Describe}
}

// ok records a call that succeeded.
func (t *Tracker) ok() {
	t.mu.Lock()
	t.since = time.Time{}
	t.mu.Unlock()
}

// Last is the last error recorded, or nil.
func (t *Tracker) Last() *CallError {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// Failing reports whether the last call failed: no call succeeded since the
// last error.
func (t *Tracker) Failing() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.since.IsZero() || t.last != nil && !t.transient(t.last.Err) && !t.contextOnly(t.last.Err)
}
