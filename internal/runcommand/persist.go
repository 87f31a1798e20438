package runcommand

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
)

// DefaultPersistentErrorLimit: how long transient errors (throttling, 5xx,
// connection errors) may answer every call of a wait or a collection before
// the run gives up on them.
const DefaultPersistentErrorLimit = 2 * time.Minute

// errTracker remembers the API errors of one run's waiting and collecting:
// the last one (named when the deadline is reached) and since when every call
// failed. See notes/aws-behaviour.md#retries-deadlines-and-lost-responses.
type errTracker struct {
	mu    sync.Mutex
	limit time.Duration
	last  *APICallError
	since time.Time
}

// APICallError is an API error with the operation that returned it.
type APICallError struct {
	Operation string
	Err       error
	// For is how long every call had been failing when the run gave up on a
	// transient error (0 when the error is not transient).
	For time.Duration
}

func (e *APICallError) Error() string {
	if e.For > 0 {
		return fmt.Sprintf("every %s call failed for %s; the last error: %s", e.Operation, e.For.Round(time.Second), awsclient.Cause(e.Err))
	}
	return fmt.Sprintf("%s failed: %s", e.Operation, awsclient.Cause(e.Err))
}

// Unwrap returns the API error.
func (e *APICallError) Unwrap() error { return e.Err }

// begin starts a call of op: the context it returns also ends when transient
// errors would have lasted the limit (the SDK's retries inside one call count
// too), and finish records the call's outcome and returns non-nil when the run
// must stop: an error that is not transient, or transient errors that lasted
// the limit. A nil tracker bounds nothing and stops on nothing.
func (t *errTracker) begin(ctx context.Context, op string) (context.Context, func(error) *APICallError) {
	if t == nil {
		return ctx, func(error) *APICallError { return nil }
	}
	start := time.Now()
	t.mu.Lock()
	since := t.since
	t.mu.Unlock()
	if since.IsZero() {
		since = start
	}
	cctx, cancel := context.WithDeadline(ctx, since.Add(t.limit))
	return cctx, func(err error) *APICallError {
		cancel()
		if err == nil {
			t.ok()
			return nil
		}
		if ctx.Err() != nil {
			_ = t.failed(op, err) // keep the cause, if the call had one
			return nil            //nolint:nilerr // the run was interrupted: the caller reports that, with the cause kept here
		}
		t.mu.Lock()
		if t.since.IsZero() && (awsclient.Transient(err) || awsclient.ContextOnly(err)) {
			t.since = start
		}
		t.mu.Unlock()
		return t.failed(op, err)
	}
}

// failed records err from op and returns non-nil when the run must stop: err
// is not transient, or transient errors have lasted the limit.
func (t *errTracker) failed(op string, err error) *APICallError {
	if t == nil || err == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !awsclient.ContextOnly(err) {
		t.last = &APICallError{Operation: op, Err: err}
		if !awsclient.Transient(err) {
			return t.last
		}
		if t.since.IsZero() {
			t.since = time.Now()
		}
	}
	if d := time.Since(t.since); !t.since.IsZero() && d >= t.limit && t.last != nil {
		return &APICallError{Operation: t.last.Operation, Err: t.last.Err, For: d}
	}
	return nil
}

// ok records a successful call.
func (t *errTracker) ok() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.since = time.Time{}
	t.mu.Unlock()
}

// lastError is the last API error seen, or nil.
func (t *errTracker) lastError() *APICallError {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

// failing: the last call failed (no call succeeded since the last error).
func (t *errTracker) failing() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.since.IsZero() || t.last != nil && !awsclient.Transient(t.last.Err)
}
