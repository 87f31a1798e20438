package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// maxUnreachable validates a max_unreachable value at plan time: a count or a
// percentage (runcommand.ParseMaxUnreachable).
func maxUnreachable() validator.String { return maxUnreachableValidator{} }

type maxUnreachableValidator struct{}

func (maxUnreachableValidator) Description(context.Context) string {
	return "must be a count such as 0 or 10, or a percentage from 0% to 100%"
}

func (v maxUnreachableValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v maxUnreachableValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, _, err := runcommand.ParseMaxUnreachable(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid max_unreachable",
			fmt.Sprintf("%s: max_unreachable %s.", err, v.Description(ctx)))
	}
}

// addNotReachedWarning warns once, naming the instances a run was not sent to
// because they could not receive it (gone ones are not named: there is
// nothing to do about them).
func addNotReachedWarning(diags *diag.Diagnostics, phase runPhase, spec runcommand.Spec, res *runcommand.Result, next string) {
	if res == nil {
		return
	}
	var lines []runcommand.Skipped
	for _, s := range res.NotReached {
		if !s.Gone {
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 {
		return
	}
	var b strings.Builder
	ran := "the command ran"
	if phase == phaseDestroy {
		ran = "the destroy commands ran"
	}
	fmt.Fprintf(&b, "%d instance(s) could not receive the command, so it was not sent to them (%s on the %d others):", len(lines), ran, len(res.Invocations))
	order, byReason := groupSkipped(lines)
	for _, r := range order {
		fmt.Fprintf(&b, "\n  - %s: %s", compactIDs(byReason[r]), r)
	}
	b.WriteString("\n\n" + next)
	diags.AddWarning(phase.doing(spec), b.String())
}

func groupSkipped(ss []runcommand.Skipped) ([]string, map[string][]string) {
	var order []string
	by := map[string][]string{}
	for _, s := range ss {
		if len(by[s.Reason]) == 0 {
			order = append(order, s.Reason)
		}
		by[s.Reason] = append(by[s.Reason], s.InstanceID)
	}
	return order, by
}

// compactIDs lists ids on one line, at most 20, then how many more.
func compactIDs(ids []string) string {
	const show = 20
	if len(ids) <= show {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:show], ", "), len(ids)-show)
}

// The re-run hand-off. A create that partly fails is saved tainted, and the
// next apply replaces it: Terraform deletes the tainted object, then creates
// the new one, in the same provider process, and gives Create no prior state.
// So Delete of a run that did not succeed everywhere (and has no destroy block,
// whose commands would undo the run on the instances where it succeeded)
// leaves the instances where it succeeded here, under a key made of everything
// that decides what runs and where; a Create with the same key takes them and
// runs only on the others. A changed run (commands, script, document,
// parameters, targets, instance_ids, triggers_replace, ...) has another key and
// runs everywhere, as does a successful run replaced on purpose (-replace):
// nothing is handed off for it.

// handOffTTL bounds how long a hand-off waits for its Create.
const handOffTTL = time.Hour

type handOff struct {
	succeeded  map[string]invocationModel
	commandIDs []string
	at         time.Time
}

var handOffs = struct {
	sync.Mutex
	m map[string][]handOff
}{m: map[string][]handOff{}}

// runKey is the hash of what decides what runs and where.
func (m *commandRunModel) runKey(ctx context.Context) string {
	ids := stringsOf(ctx, m.InstanceIDs)
	sort.Strings(ids)
	var targets []string
	for _, t := range m.Targets {
		targets = append(targets, t.Key.ValueString()+"="+strings.Join(stringsOf(ctx, t.Values), ","))
	}
	sort.Strings(targets)
	parts := []any{
		m.Commands.String(), m.Script.String(), m.Interpreter.String(), m.Parameters.String(),
		m.DocumentName.String(), m.DocumentVersion.String(), m.WorkingDirectory.String(),
		ids, targets, m.TriggersReplace.String(),
	}
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// leaveHandOff is called by Delete: a run that did not succeed everywhere
// leaves its successful instances for a following Create of the same run.
func leaveHandOff(ctx context.Context, m *commandRunModel) {
	if len(m.Destroy) > 0 {
		return
	}
	invs, diags := m.invocationMap()
	if diags.HasError() {
		return
	}
	succeeded := map[string]invocationModel{}
	for id, inv := range invs {
		if inv.Status.ValueString() == "Success" {
			succeeded[id] = inv
		}
	}
	if len(succeeded) == len(invs) && len(stringsOf(ctx, m.Pending)) == 0 && m.Status.ValueString() == "Success" {
		return // a successful run replaced on purpose runs everywhere again
	}
	if len(succeeded) == 0 {
		return
	}
	key := m.runKey(ctx)
	handOffs.Lock()
	defer handOffs.Unlock()
	handOffs.m[key] = append(handOffs.m[key], handOff{succeeded: succeeded, commandIDs: stringsOf(ctx, m.CommandIDs), at: time.Now()})
}

// takeHandOff is called by Create: the instances where the same run already
// succeeded, if a tainted object of it was just deleted.
func takeHandOff(ctx context.Context, m *commandRunModel) (handOff, bool) {
	key := m.runKey(ctx)
	handOffs.Lock()
	defer handOffs.Unlock()
	for k, hs := range handOffs.m {
		var keep []handOff
		for _, h := range hs {
			if time.Since(h.at) < handOffTTL {
				keep = append(keep, h)
			}
		}
		handOffs.m[k] = keep
		if len(keep) == 0 {
			delete(handOffs.m, k)
		}
	}
	hs := handOffs.m[key]
	if len(hs) == 0 {
		return handOff{}, false
	}
	h := hs[0]
	handOffs.m[key] = hs[1:]
	return h, true
}

// ids returns the instances taken over from a deleted tainted object, for
// Spec.SkipInstanceIDs (mergeHandOff records their results in the model).
func (h handOff) ids() []string {
	ids := make([]string, 0, len(h.succeeded))
	for id := range h.succeeded {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// mergeHandOff adds the taken-over successful invocations and command ids to
// a Create's recorded result.
func (m *commandRunModel) mergeHandOff(ctx context.Context, h handOff, res *runcommand.Result) diag.Diagnostics {
	var diags, d diag.Diagnostics
	invs, d := m.invocationMap()
	diags.Append(d...)
	for id, inv := range h.succeeded {
		if _, ok := invs[id]; !ok {
			invs[id] = inv
		}
	}
	ids := append(nonNil(append([]string(nil), res.CommandIDs...)), h.commandIDs...)
	m.CommandIDs, d = types.ListValueFrom(ctx, types.StringType, ids)
	diags.Append(d...)
	if len(res.CommandIDs) == 0 && len(h.commandIDs) > 0 {
		m.ID = types.StringValue(h.commandIDs[0])
	}
	status, details := m.Status, m.StatusDetails
	diags.Append(m.mergeResult(ctx, nil, invs)...)
	m.Status, m.StatusDetails = status, details
	return diags
}
