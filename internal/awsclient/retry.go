package awsclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// newRetryer is the SDK's standard or adaptive retryer with our attempt count
// and backoff cap, without the client-side retry quota (ratelimit.None, as
// hashicorp/aws configures it), wrapped so that it never sleeps past the
// caller's context deadline. See notes/aws-behaviour.md#retries-deadlines-and-lost-responses.
func newRetryer(mode aws.RetryMode, attempts int) aws.Retryer {
	std := func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = maxBackoff
		o.RateLimiter = ratelimit.None
		o.BaseDelay = baseDelay
	}
	var inner aws.RetryerV2
	if mode == aws.RetryModeAdaptive {
		inner = retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, std)
		})
	} else {
		inner = retry.NewStandard(std)
	}
	return &deadlineRetryer{RetryerV2: inner, maxBackoff: maxBackoff}
}

// baseDelay is the SDK's base backoff for errors other than throttling.
const baseDelay = 50 * time.Millisecond

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// deadlineRetryer refuses a retry whose backoff could end after the context
// deadline: the call then returns the attempt's own error (a throttling error,
// a 5xx, a connection error) instead of sleeping into the deadline and
// returning only "context deadline exceeded".
type deadlineRetryer struct {
	aws.RetryerV2
	maxBackoff time.Duration
}

// GetAttemptToken counts the attempts of the call (its per-call state is put in
// the context by callStateMiddleware).
func (r *deadlineRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if st := callStateFrom(ctx); st != nil {
		st.attempts++
	}
	return r.RetryerV2.GetAttemptToken(ctx)
}

// GetRetryToken is asked before every retry, with the error of the attempt
// that failed. The longest backoff the SDK chooses after attempt n is
// min(x * 2^(n-1), MaxBackoff), x being 1 s for throttling errors and the
// 50 ms base delay otherwise (ExponentialJitterBackoff's formula).
func (r *deadlineRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	st := callStateFrom(ctx)
	if st != nil {
		st.last = opErr
	}
	if deadline, ok := ctx.Deadline(); ok && st != nil {
		bound := r.maxBackoff
		if n := st.attempts; n >= 1 && n < 20 {
			x := baseDelay
			if throttles.IsErrorThrottle(opErr) == aws.TrueTernary {
				x = time.Second
			}
			bound = min(bound, x*time.Duration(1<<(n-1)))
		}
		if left := time.Until(deadline); left < bound {
			return nil, &RetryStoppedError{Left: max(left, 0).Round(time.Millisecond), Attempts: st.attempts}
		}
	}
	return r.RetryerV2.GetRetryToken(ctx, opErr)
}

// RetryStoppedError is joined to a call's last error when the SDK did not
// retry because the next attempt could start after the caller's deadline.
type RetryStoppedError struct {
	Left     time.Duration
	Attempts int
}

func (e *RetryStoppedError) Error() string {
	return fmt.Sprintf("not retried after %d attempt(s): only %s left before the deadline", e.Attempts, e.Left)
}

// callState is one API call's retry bookkeeping.
type callState struct {
	attempts int
	last     error // the last failed attempt the retryer saw
}

type callStateKey struct{}

func callStateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// callStateMiddleware gives each call its own state, and when the call ends
// because its context did (the deadline passed during an attempt or a
// backoff), adds the last attempt's error so the cause is not lost.
func callStateMiddleware(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("terraformProviderSSMCallState",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			cs := &callState{}
			out, md, err := next.HandleInitialize(context.WithValue(ctx, callStateKey{}, cs), in)
			if err != nil && ctx.Err() != nil && cs.last != nil && !errors.Is(err, cs.last) {
				err = &InterruptedCallError{Err: err, Last: cs.last}
			}
			return out, md, err
		}), middleware.Before)
}

// InterruptedCallError is a call ended by its context after at least one
// failed attempt: Err is the context's error as the SDK reports it, Last the
// failed attempt's error. errors.As finds either.
type InterruptedCallError struct {
	Err, Last error
}

func (e *InterruptedCallError) Error() string {
	return fmt.Sprintf("%v (the attempt before failed with: %v)", e.Err, e.Last)
}

// Unwrap returns both errors, the attempt's first: errors.As for an HTTP
// status or an API error code finds the attempt's, errors.Is still finds
// context.DeadlineExceeded.
func (e *InterruptedCallError) Unwrap() []error { return []error{e.Last, e.Err} }
