package agentwait

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report is what WaitReport found: the online agents and why each other
// selected instance is not online.
type Report struct {
	// Online lists the online agents, sorted by instance id.
	Online []Agent
	// NotOnline explains each selected instance that is not online: first the
	// ones that can never come online during the wait (stopped, terminated), then
	// the ones still not online at the timeout.
	NotOnline []Diagnosis
	// NotDiagnosed is how many more instances were not online than NotOnline
	// explains (the diagnosis is bounded).
	NotDiagnosed int
	// NoTagMatch is set when no instance carries the selected tags at all.
	NoTagMatch bool
	// Want is how many agents the wait wanted online.
	Want int
	// Polls and Calls add up the polls and DescribeInstanceInformation calls made.
	Polls, Calls int
}

// WaitReport waits like Wait but never fails because agents are not online:
// for the instances that can still come online. Listed instances that can
// never come online during the wait (terminated, shutting down, stopped,
// stopping) are not waited for: they are set aside as soon as they are seen,
// and the wait goes on for the rest, all of them (spec.MinCount does not end it
// early), up to spec.Timeout. With only tags selecting, it waits for
// spec.MinCount agents (1 when 0). It returns the online agents and a diagnosis
// of every other selected instance it knows; an error only when the wait could
// not run (DescribeInstanceInformation failed, the context ended).
func WaitReport(ctx context.Context, c Clients, spec Spec) (*Report, error) {
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	ids := Distinct(spec.InstanceIDs)
	rep := &Report{Want: spec.MinCount}
	if len(ids) > 0 {
		rep.Want = len(ids)
	} else if rep.Want <= 0 {
		rep.Want = 1
	}
	var dead []Diagnosis
	for {
		s := spec
		s.InstanceIDs = ids
		if len(ids) > 0 {
			s.MinCount = 0 // every listed instance that can still come online
		}
		s.Timeout = time.Until(deadline)
		if s.Timeout < time.Second {
			s.Timeout = time.Second // one last poll
		}
		res, err := Wait(ctx, c, s)
		if res != nil {
			rep.Polls += res.Polls
			rep.Calls += res.Calls
		}
		var (
			ne *NeverOnlineError
			te *TimeoutError
		)
		switch {
		case err == nil:
			rep.Online = res.Online
		case errors.As(err, &ne):
			dead = append(dead, ne.Dead...)
			gone := map[string]bool{}
			for _, d := range ne.Dead {
				gone[d.InstanceID] = true
			}
			ids = slices.DeleteFunc(ids, func(id string) bool { return gone[id] })
			if len(ids) > 0 && len(ne.Dead) > 0 {
				continue // wait for the rest
			}
			if len(ne.Dead) == 0 {
				return rep, err // nothing set aside: would loop
			}
		case errors.As(err, &te):
			rep.Online = res.Online
			rep.NotOnline = te.Missing
			rep.NotDiagnosed = te.NotDiagnosed
			rep.NoTagMatch = te.NoTagMatch
		default:
			return rep, err
		}
		break
	}
	rep.NotOnline = append(dead, rep.NotOnline...)
	return rep, nil
}

// Message describes what is not online, naming every diagnosed instance, grouped
// by reason: "2 of the 3 selected SSM agents are Online ..." and one line per
// reason. Empty when nothing is missing.
func (r *Report) Message() string {
	if len(r.NotOnline) == 0 && r.NotDiagnosed == 0 && !r.NoTagMatch && len(r.Online) >= r.Want {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of the %d selected SSM agents wanted are Online.", len(r.Online), r.Want)
	if r.NoTagMatch {
		b.WriteString(" No instance carries the selected tags: check the tag keys and values (they are case-sensitive).")
	}
	if len(r.NotOnline) > 0 {
		b.WriteString(" Not online:")
		var order []string
		byReason := map[string][]string{}
		for _, d := range r.NotOnline {
			if len(byReason[d.Reason]) == 0 {
				order = append(order, d.Reason)
			}
			byReason[d.Reason] = append(byReason[d.Reason], d.InstanceID)
		}
		for _, reason := range order {
			b.WriteString("\n  - " + strings.Join(byReason[reason], ", ") + ": " + reason)
		}
	}
	if r.NotDiagnosed > 0 {
		fmt.Fprintf(&b, "\n  - and %d more instances, not diagnosed", r.NotDiagnosed)
	}
	return b.String()
}
