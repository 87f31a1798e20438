package runcommand

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
)

// ParseMaxUnreachable checks a MaxUnreachable value: a count ("0", "10") or a
// percentage ("25%", at most "100%"). "" is "0".
func ParseMaxUnreachable(s string) (n int, percent bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	num := strings.TrimSuffix(s, "%")
	percent = num != s
	v, err := strconv.Atoi(num)
	if err != nil || v < 0 || strings.TrimSpace(num) != num || (len(num) > 1 && num[0] == '0') {
		return 0, false, fmt.Errorf("%q is neither a count (like \"10\") nor a percentage (like \"25%%\")", s)
	}
	if percent && v > 100 {
		return 0, false, fmt.Errorf("%q is more than 100%%", s)
	}
	return v, percent, nil
}

// AllowedUnreachable is how many of total selected instances MaxUnreachable
// lets be unreachable: the count, or the percentage of total rounded down (as
// SendCommand rounds MaxErrors percentages). An invalid value allows none.
func AllowedUnreachable(maxUnreachable string, total int) int {
	n, percent, err := ParseMaxUnreachable(maxUnreachable)
	switch {
	case err != nil:
		return 0
	case percent:
		return int(math.Floor(float64(total) * float64(n) / 100))
	}
	return n
}

func (e *UnreachableError) Error() string {
	var b strings.Builder
	if e.Waited > 0 {
		fmt.Fprintf(&b, "%d of %d instances still cannot receive commands after waiting %s for their SSM agents", len(e.Unreachable), e.Total, e.Waited)
	} else {
		fmt.Fprintf(&b, "%d of %d instances cannot receive commands now", len(e.Unreachable), e.Total)
	}
	fmt.Fprintf(&b, ", more than the %d allowed (max unreachable %q); nothing was sent:", e.Allowed, cmpOr(e.MaxUnreachable, "0"))
	writeSkipped(&b, e.Unreachable)
	if len(e.Gone) > 0 {
		fmt.Fprintf(&b, "\n(%d selected instances are gone and were left out: %s)", len(e.Gone), idList(skippedIDs(e.Gone), 5))
	}
	return b.String()
}

// Unwrap returns the readiness check's *agentwait.NotReadyError, so callers
// that explain its diagnoses keep working.
func (e *UnreachableError) Unwrap() error { return e.notReady }

// IDs lists the unreachable instances.
func (e *UnreachableError) IDs() []string { return skippedIDs(e.Unreachable) }

func (e *EmptySelectionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the targets %s select no instance", targetsText(e.Targets))
	if len(e.Gone) > 0 {
		fmt.Fprintf(&b, " that still exists (%d are terminated or gone: %s)", len(e.Gone), idList(skippedIDs(e.Gone), 5))
	}
	b.WriteString(" that can run the command; nothing was sent")
	return b.String()
}

// targetsText is "tag:Fleet = big; tag:Env = prod, test".
func targetsText(ts []Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Key + " = " + strings.Join(t.Values, ", ")
	}
	return strings.Join(parts, "; ")
}

// writeSkipped writes one line per reason: "  - i-a, i-b and 3 more: reason".
func writeSkipped(b *strings.Builder, ss []Skipped) {
	var order []string
	ids := map[string][]string{}
	for _, s := range ss {
		if len(ids[s.Reason]) == 0 {
			order = append(order, s.Reason)
		}
		ids[s.Reason] = append(ids[s.Reason], s.InstanceID)
	}
	for _, r := range order {
		fmt.Fprintf(b, "\n  - %s: %s", idList(ids[r], 5), r)
	}
}

func skippedIDs(ss []Skipped) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.InstanceID
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func toSkipped(ds []agentwait.Diagnosis, gone bool) []Skipped {
	out := make([]Skipped, len(ds))
	for i, d := range ds {
		out[i] = Skipped{InstanceID: d.InstanceID, Reason: d.Reason, Gone: gone}
	}
	return out
}

// readiness runs the check before sending. It returns the spec to send (the
// ready instances only, by id, when some selected ones are not ready) and
// whether anything is left to send; res.NotReached gets the others. Targets
// the check cannot resolve (resource groups, tag-key) are sent as given.
func readiness(ctx context.Context, c Clients, spec Spec, res *Result) (Spec, *plan, error) {
	rs := readySpec(spec)
	if len(rs.InstanceIDs) == 0 && len(rs.TagValues) == 0 {
		return spec, &plan{}, nil
	}
	r, err := agentwait.Classify(ctx, *c.Agents, rs)
	if err != nil {
		return spec, nil, err
	}
	total := r.Total()
	skipped := 0
	if len(spec.SkipInstanceIDs) > 0 {
		skip := map[string]bool{}
		for _, id := range spec.SkipInstanceIDs {
			skip[id] = true
		}
		keepID := func(ids []string) []string {
			var out []string
			for _, id := range ids {
				if !skip[id] {
					out = append(out, id)
				}
			}
			return out
		}
		keepD := func(ds []agentwait.Diagnosis) []agentwait.Diagnosis {
			var out []agentwait.Diagnosis
			for _, d := range ds {
				if !skip[d.InstanceID] {
					out = append(out, d)
				}
			}
			return out
		}
		n := len(r.Ready) + len(r.Unreachable) + len(r.Gone)
		r.Ready, r.Unreachable, r.Gone = keepID(r.Ready), keepD(r.Unreachable), keepD(r.Gone)
		skipped = n - len(r.Ready) - len(r.Unreachable) - len(r.Gone)
	}
	gone := toSkipped(r.Gone, true)
	unreachable := toSkipped(r.Unreachable, false)
	if total == 0 && len(spec.Targets) > 0 && !spec.AllowEmpty {
		return spec, nil, &EmptySelectionError{Targets: spec.Targets, Gone: gone}
	}
	if allowed := AllowedUnreachable(spec.MaxUnreachable, total); len(unreachable) > allowed {
		return spec, nil, &UnreachableError{Total: total, Unreachable: unreachable, Gone: gone,
			MaxUnreachable: spec.MaxUnreachable, Allowed: allowed, Waited: r.Waited,
			notReady: &agentwait.NotReadyError{Waited: r.Waited, Total: total, Missing: r.Unreachable}}
	}
	res.NotReached = append(append(res.NotReached, unreachable...), gone...)
	sort.Slice(res.NotReached, func(i, j int) bool { return res.NotReached[i].InstanceID < res.NotReached[j].InstanceID })
	if len(r.Ready) == 0 {
		return spec, nil, nil
	}
	p := &plan{ready: r.Ready}
	switch {
	case len(unreachable) == 0 && len(gone) == 0 && skipped == 0:
		// Everything selected is ready: send as given.
	case len(spec.Targets) > 0 && skipped == 0:
		// A tag selection: one SendCommand by targets still reaches exactly
		// the ready instances and the registered unreachable ones, which are
		// cancelled right after sending (CancelCommand by id, 50 per call), so
		// none waits out its delivery timeout. Stopped instances are not
		// managed nodes, so tag targets do not include them
		// (notes/aws-behaviour.md#partly-reachable-fleets-max_unreachable).
		p.cancel = r.Registered
	default:
		// Send by instance id to the ready ones only.
		spec.Targets = nil
		spec.InstanceIDs = r.Ready
	}
	return spec, p, nil
}

// plan is what the readiness check decided: the ready instances (nil when
// the selection was not resolved) and the registered unreachable ones to
// cancel right after a send by targets.
type plan struct {
	ready  []string
	cancel []string
}

// cancelUnreachable cancels the invocations of registered but unreachable
// instances right after a send by targets.
func cancelUnreachable(ctx context.Context, api SSMAPI, commandID string, ids []string) error {
	for i := 0; i < len(ids); i += MaxInstanceIDsPerCommand {
		in := &ssm.CancelCommandInput{CommandId: aws.String(commandID), InstanceIds: ids[i:min(i+MaxInstanceIDsPerCommand, len(ids))]}
		if _, err := api.CancelCommand(ctx, in); err != nil {
			return fmt.Errorf("cancelling command %s on the unreachable instances: %w", commandID, err)
		}
	}
	return nil
}

// settleNotReached reconciles the collected invocations with the instances
// the readiness check left out: an invocation of such an instance that never
// ran (cancelled right after sending, or still pending) is dropped, so the
// instance stays in NotReached only; one that ran anyway (its agent came back
// before the cancel landed) is kept as a real result and leaves NotReached.
// The aggregated status is then that of the invocations kept.
func settleNotReached(res *Result) {
	if len(res.NotReached) == 0 {
		return
	}
	var keep []Skipped
	dropped := 0
	for _, s := range res.NotReached {
		inv := res.Invocations[s.InstanceID]
		switch {
		case inv == nil:
			keep = append(keep, s)
		case inv.Status == "Cancelled" || inv.Status == "Pending" || inv.Status == "Delayed" || inv.Status == "Cancelling" ||
			inv.StatusDetails == "DeliveryTimedOut" || inv.StatusDetails == "Undeliverable":
			delete(res.Invocations, s.InstanceID)
			dropped++
			keep = append(keep, s)
		}
	}
	res.NotReached = keep
	if dropped == 0 {
		return
	}
	res.TargetCount = max(res.TargetCount-dropped, len(res.Invocations))
	res.CompletedCount = min(res.CompletedCount, res.TargetCount)
	ok := true
	for _, inv := range res.Invocations {
		if inv.Status != string(ssmtypes.CommandInvocationStatusSuccess) {
			ok = false
		}
	}
	if ok && len(res.Invocations) > 0 {
		res.Status, res.StatusDetails = string(ssmtypes.CommandStatusSuccess), "Success"
	}
}
