package runcommand

import (
	"context"
	"fmt"
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
func readiness(ctx context.Context, c Clients, spec Spec, res *Result) (Spec, []string, bool, error) {
	rs := readySpec(spec)
	if len(rs.InstanceIDs) == 0 && len(rs.TagValues) == 0 {
		return spec, nil, true, nil
	}
	r, err := agentwait.Classify(ctx, *c.Agents, rs)
	if err != nil {
		return spec, nil, false, err
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
		return spec, nil, false, &EmptySelectionError{Targets: spec.Targets, Gone: gone}
	}
	if allowed := AllowedUnreachable(spec.MaxUnreachable, total); len(unreachable) > allowed {
		return spec, nil, false, &UnreachableError{Total: total, Unreachable: unreachable, Gone: gone,
			MaxUnreachable: spec.MaxUnreachable, Allowed: allowed, Waited: r.Waited,
			notReady: &agentwait.NotReadyError{Waited: r.Waited, Total: total, Missing: r.Unreachable}}
	}
	res.NotReached = append(append(res.NotReached, unreachable...), gone...)
	sort.Slice(res.NotReached, func(i, j int) bool { return res.NotReached[i].InstanceID < res.NotReached[j].InstanceID })
	if len(r.Ready) == 0 {
		return spec, nil, false, nil
	}
	if len(unreachable) > 0 || len(gone) > 0 || skipped > 0 {
		// Send by instance id to the ready ones only: SendCommand would
		// otherwise leave each unreachable one Delayed until its delivery
		// timeout (an hour by default).
		spec.Targets = nil
		spec.InstanceIDs = r.Ready
	}
	return spec, r.Ready, true, nil
}
