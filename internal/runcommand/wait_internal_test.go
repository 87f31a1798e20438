package runcommand

import (
	"testing"
	"time"
)

func TestNextInterval_fastFirstPollsThenBackoffAndCap(t *testing.T) {
	s := withDefaults(Spec{})
	// The first second: every MinInterval (lag bound 20% of elapsed).
	if d := nextInterval(s, 3, 600*time.Millisecond); d != s.MinInterval {
		t.Errorf("early interval = %s", d)
	}
	// Later: at most a fifth of the elapsed time...
	if d := nextInterval(s, 20, 10*time.Second); d != 2*time.Second {
		t.Errorf("interval at 10 s = %s, want 2s", d)
	}
	// ...and never more than MaxInterval.
	if d := nextInterval(s, 50, time.Hour); d != s.MaxInterval {
		t.Errorf("interval at 1 h = %s", d)
	}
	// Backoff still bounds a young run's growth.
	if d := nextInterval(s, 1, time.Hour); d != time.Duration(float64(s.MinInterval)*s.Backoff) {
		t.Errorf("second interval = %s", d)
	}
}
