package agentwait

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	pollpkg "github.com/terraform-ssm/terraform-provider-ssm/internal/poll" // agentwait has its own poll function
)

// ReadySpec says which agents must be able to receive a command now: what a
// Run Command sender checks before SendCommand, so that a command is never left
// waiting out its delivery timeout on an instance that cannot run it.
type ReadySpec struct {
	// InstanceIDs must all be Online.
	InstanceIDs []string
	// TagValues selects by tag as Run Command's tag targets do: an agent matches
	// when, for every key, its tag has one of the values. Every registered agent
	// that matches must be Online (instances whose agents never registered are
	// not targeted by SSM at all, so they are not waited for).
	TagValues map[string][]string
	// Wait is how long to wait for agents that are not Online yet. 0 checks once.
	Wait time.Duration
	// Poll schedule while waiting (zero: the Wait defaults).
	MinInterval, MaxInterval time.Duration
	// FailFastEvery is how many polls pass between checks for instances that
	// can never come online (0: DefaultFailFastEvery), as Spec.FailFastEvery.
	FailFastEvery int
}

// intervals is the poll schedule while waiting: MinInterval (zero:
// DefaultMinInterval) growing by DefaultBackoff up to MaxInterval (zero:
// DefaultMaxInterval).
func (s ReadySpec) intervals() pollpkg.Backoff {
	b := pollpkg.Backoff{Interval: s.MinInterval, Max: s.MaxInterval, Factor: DefaultBackoff}
	if b.Interval <= 0 {
		b.Interval = DefaultMinInterval
	}
	if b.Max <= 0 {
		b.Max = DefaultMaxInterval
	}
	return b
}

// failFastEvery returns n, or DefaultFailFastEvery when n is not positive.
func failFastEvery(n int) int {
	if n <= 0 {
		return DefaultFailFastEvery
	}
	return n
}

// NotReadyError: some selected agents could not receive a command (within
// Wait, when waiting). Nothing was sent.
type NotReadyError struct {
	Waited  time.Duration
	Total   int // how many selected agents were checked
	Missing []Diagnosis
	// More is how many further instances were not ready but not diagnosed
	// (diagnosis is bounded).
	More int
}

func (e *NotReadyError) Error() string {
	var b strings.Builder
	n := len(e.Missing) + e.More
	if e.Waited > 0 {
		fmt.Fprintf(&b, "%d of %d instances still cannot receive commands after waiting %s for their SSM agents:", n, e.Total, e.Waited)
	} else {
		fmt.Fprintf(&b, "%d of %d instances cannot receive commands now:", n, e.Total)
	}
	for _, d := range e.Missing {
		b.WriteString("\n  - " + d.String())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n  - and %d more", e.More)
	}
	return b.String()
}

// Ready returns nil once every selected agent is Online. Without Wait it checks
// once; with Wait it polls (one DescribeInstanceInformation call per 50 ids per
// poll) and fails at once when a selected instance is terminated, shutting
// down, stopped or stopping (checked on the first poll and every
// FailFastEvery-th). Agents that are not ready make a *NotReadyError explaining
// each instance, in the order Diagnose uses; a DescribeInstanceInformation
// failure is returned wrapped, and the context's error when it ends first.
func Ready(ctx context.Context, c Clients, spec ReadySpec) error {
	ids := Distinct(spec.InstanceIDs)
	if len(ids) == 0 && len(spec.TagValues) == 0 {
		return nil
	}
	intervals := spec.intervals()
	start := time.Now()
	deadline := start.Add(spec.Wait)
	for polls := 1; ; polls++ {
		agents, err := readyPoll(ctx, c.SSM, ids, spec.TagValues)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("checking the SSM agents of the targets (DescribeInstanceInformation): %w", err)
		}
		notReady, total := notOnline(ids, agents)
		if len(notReady) == 0 {
			return nil
		}
		last := spec.Wait <= 0 || !time.Now().Add(intervals.Interval).Before(deadline)
		if !last && c.EC2 != nil && (polls == 1 || polls%failFastEvery(spec.FailFastEvery) == 0) {
			// Waiting cannot help an instance that is gone, stopped or stopping
			// (nothing starts it while the wait runs).
			if dead := deadInstances(ctx, c.EC2, notReady, true); len(dead) > 0 {
				return &NotReadyError{Waited: time.Since(start).Round(time.Second), Total: total, Missing: dead}
			}
		}
		if last {
			if spec.Wait > 0 {
				if err := pollpkg.Sleep(ctx, time.Until(deadline)); err != nil {
					return err
				}
				if agents, err = readyPoll(ctx, c.SSM, ids, spec.TagValues); err == nil {
					if notReady, total = notOnline(ids, agents); len(notReady) == 0 {
						return nil
					}
				}
			}
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), diagnoseBudget)
			defer cancel()
			e := &NotReadyError{Waited: spec.Wait, Total: total, Missing: Diagnose(dctx, c, notReady, agents)}
			e.More = len(notReady) - len(e.Missing)
			return e
		}
		if err := pollpkg.Sleep(ctx, intervals.Next()); err != nil {
			return err
		}
	}
}

// notOnline lists the selected agents that are not Online (listed ids, or the
// registered agents of a tag selection) and how many were selected.
func notOnline(ids []string, agents map[string]Agent) ([]string, int) {
	if len(ids) > 0 {
		return missingIDs(ids, agents), len(ids)
	}
	var out []string
	for id, a := range agents {
		if a.PingStatus != string(ssmtypes.PingStatusOnline) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, len(agents)
}

// readyPoll lists the agents of the listed ids, or of the tag selection.
func readyPoll(ctx context.Context, api SSMAPI, ids []string, tags map[string][]string) (map[string]Agent, error) {
	if len(ids) > 0 {
		agents, _, err := poll(ctx, api, ids, nil)
		return agents, err
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var filters []ssmtypes.InstanceInformationStringFilter
	for _, k := range keys {
		filters = append(filters, ssmtypes.InstanceInformationStringFilter{Key: aws.String("tag:" + k), Values: tags[k]})
	}
	out := map[string]Agent{}
	p := ssm.NewDescribeInstanceInformationPaginator(api, &ssm.DescribeInstanceInformationInput{
		Filters: filters, MaxResults: aws.Int32(idsPerCall),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, ii := range page.InstanceInformationList {
			a := agentOf(ii)
			out[a.InstanceID] = a
		}
	}
	return out, nil
}
