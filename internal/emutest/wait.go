package emutest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// Eventually waits until cond returns nil, checking it again and again, and
// fails the test with cond's last error when within passes first. Call it from
// the test's goroutine: cond may end the test itself (t.Fatal) when what it
// waits for can no longer happen, such as a process that exited early.
func Eventually(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	if err := WaitFor(within, cond); err != nil {
		t.Fatal(err)
	}
}

// WaitFor calls cond until it returns nil, then returns nil; when within passes
// first it returns cond's last error, saying how long it waited. Between calls
// it pauses with poll.Sleep, 5 ms at first, doubling to 100 ms, so a condition
// that holds soon is seen at once and a slow one is not polled hard; cond is
// checked once more at the bound.
//
// Tests wait on conditions, not on time (notes/architecture.md#the-rules-each-package-keeps):
// this pause between checks, and its copy for the emulator's own tests
// (internal/awsemu/helpers_test.go), is the only sleep in the tests but for the
// few tests about wall time, which say so where they sleep. WaitFor is safe to
// call from any goroutine.
func WaitFor(within time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	pause := poll.Backoff{Interval: 5 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 2}
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if poll.Sleep(ctx, pause.Next()) != nil {
			if err = cond(); err == nil {
				return nil
			}
			return fmt.Errorf("still waiting after %s: %w", within, err)
		}
	}
}
