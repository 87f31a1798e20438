// Package poll is how the engines wait between calls. Sleep is a pause that
// ends early with its context and Backoff an interval that grows by a factor
// up to a cap: every waiting loop outside the emulator (the engines, the
// Session Manager channel's reconnects, the AWS lane's fixture and sweeper)
// pauses through them, so time.Sleep, time.NewTimer and time.After appear
// outside this package only in the emulator; a bound on a wait is a context
// deadline, not a timer. Tracker follows the calls of a wait that keep
// failing and says when to give up on them, with a CallError naming the
// operation, its last error and how long every call failed. It imports the
// standard library only: what an error means (transient, or only the context
// ending) and how to tell it in a message are the caller's to say.
package poll

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends (then it returns ctx.Err()). A d of zero or
// less returns at once, with ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff is a poll interval that starts at Interval and is multiplied by
// Factor after each Next, up to Max (0: no cap). A Factor below 1 keeps the
// interval constant.
type Backoff struct {
	Interval, Max time.Duration
	Factor        float64
}

// Next returns the interval to wait now and grows the next one.
func (b *Backoff) Next() time.Duration {
	d := b.Interval
	if b.Factor > 1 {
		b.Interval = time.Duration(float64(b.Interval) * b.Factor)
	}
	if b.Max > 0 && b.Interval > b.Max {
		b.Interval = b.Max
	}
	return d
}
