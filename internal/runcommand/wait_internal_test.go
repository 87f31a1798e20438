package runcommand

import (
	"testing"
	"time"
)

func TestNextInterval_fastFirstPollsThenBackoffAndCap(t *testing.T) {
	s := withDefaults(Spec{})
	// The first second: every MinInterval (lag bound 20% of elapsed).
	if d := nextInterval(s, 3, 600*time.Millisecond, Progress{}); d != s.MinInterval {
		t.Errorf("early interval = %s", d)
	}
	// Later: at most a fifth of the elapsed time...
	if d := nextInterval(s, 20, 10*time.Second, Progress{}); d != 2*time.Second {
		t.Errorf("interval at 10 s = %s, want 2s", d)
	}
	// ...and never more than MaxInterval.
	if d := nextInterval(s, 50, time.Hour, Progress{}); d != s.MaxInterval {
		t.Errorf("interval at 1 h = %s", d)
	}
	// Backoff still bounds a young run's growth.
	if d := nextInterval(s, 1, time.Hour, Progress{}); d != time.Duration(float64(s.MinInterval)*s.Backoff) {
		t.Errorf("second interval = %s", d)
	}
}

func TestNextInterval_paceOfTheRun(t *testing.T) {
	s := withDefaults(Spec{})
	// 100 of 1,000 done 4 s after sending: the rest should take ~36 s; the next
	// poll waits half of it, within the cap.
	if d := nextInterval(s, 20, 4*time.Second, Progress{Targets: 1000, Completed: 100}); d != s.MaxInterval {
		t.Errorf("interval at 10%% done = %s, want the cap %s", d, s.MaxInterval)
	}
	// 900 of 1,000 done at 9 s: ~1 s to go, half of it is less than the lag bound
	// (1.8 s), which wins.
	if d := nextInterval(s, 20, 9*time.Second, Progress{Targets: 1000, Completed: 900}); d != 1800*time.Millisecond {
		t.Errorf("interval at 90%% done = %s, want 1.8s", d)
	}
	// 2 of 4 done at 1 s: half of the estimated 1 s.
	if d := nextInterval(s, 20, time.Second, Progress{Targets: 4, Completed: 2}); d != 500*time.Millisecond {
		t.Errorf("interval at half done = %s, want 500ms", d)
	}
	// Nothing done yet, or everything: the lag bound alone.
	if d := nextInterval(s, 20, 10*time.Second, Progress{Targets: 1000}); d != 2*time.Second {
		t.Errorf("interval with none done = %s, want 2s", d)
	}
	// 10,000 targets: the cap is two MaxIntervals.
	if d := nextInterval(s, 50, time.Hour, Progress{Targets: 10000, Completed: 10}); d != 2*s.MaxInterval {
		t.Errorf("interval for 10,000 targets = %s, want %s", d, 2*s.MaxInterval)
	}
	if d := nextInterval(s, 50, time.Hour, Progress{Targets: 5000, Completed: 10}); d != s.MaxInterval {
		t.Errorf("interval for 5,000 targets = %s, want %s", d, s.MaxInterval)
	}
}
