// Package poll is how the engines wait between calls: Sleep (a pause that ends
// early with its context) and Backoff (an interval that grows by a factor up
// to a cap). Every engine's waiting loop (iamx, agentwait, runcommand) pauses
// through it, so that no package keeps its own timer code. It has no AWS or
// Terraform dependency.
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
