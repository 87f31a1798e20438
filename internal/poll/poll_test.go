package poll_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

func TestSleepEndsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	start := time.Now()
	if err := poll.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context: %v, want context.Canceled", err)
	}
	if waited := time.Since(start); waited > time.Minute {
		t.Errorf("Sleep waited %s on a cancelled context", waited)
	}
	if err := poll.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(0) on a cancelled context: %v", err)
	}
	if err := poll.Sleep(t.Context(), -time.Second); err != nil {
		t.Errorf("Sleep(-1s): %v", err)
	}
	if err := poll.Sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("Sleep(1ms): %v", err)
	}
}

func TestBackoffGrowsToItsCap(t *testing.T) {
	t.Parallel()
	b := poll.Backoff{Interval: 100 * time.Millisecond, Max: time.Second, Factor: 2}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	ms := time.Millisecond
	want := []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("intervals %v, want %v", got, want)
		}
	}
	flat := poll.Backoff{Interval: time.Second}
	first, second := flat.Next(), flat.Next()
	if first != time.Second || second != time.Second {
		t.Errorf("a Backoff without a factor gave %s then %s, want its interval each time", first, second)
	}
}
