package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

type commandRunModel struct {
	commandArgs
	ID              types.String   `tfsdk:"id"`
	TriggersReplace types.Dynamic  `tfsdk:"triggers_replace"`
	OutputLimit     types.Int64    `tfsdk:"output_limit"`
	Destroy         []destroyModel `tfsdk:"destroy"`
	Timeouts        timeouts.Value `tfsdk:"timeouts"`

	CommandIDs     types.List   `tfsdk:"command_ids"`
	Status         types.String `tfsdk:"status"`
	StatusDetails  types.String `tfsdk:"status_details"`
	TargetCount    types.Int64  `tfsdk:"target_count"`
	CompletedCount types.Int64  `tfsdk:"completed_count"`
	ErrorCount     types.Int64  `tfsdk:"error_count"`
	RequestedAt    types.String `tfsdk:"requested_at"`
	CompletedAt    types.String `tfsdk:"completed_at"`
	Invocations    types.Map    `tfsdk:"invocations"`
	Pending        types.List   `tfsdk:"pending_instance_ids"`
}

type targetModel struct {
	Key    types.String `tfsdk:"key"`
	Values types.List   `tfsdk:"values"`
}

type cloudWatchModel struct {
	Enabled      types.Bool   `tfsdk:"enabled"`
	LogGroupName types.String `tfsdk:"log_group_name"`
}

type destroyModel struct {
	Commands         types.List           `tfsdk:"commands"`
	Script           types.String         `tfsdk:"script"`
	Interpreter      types.String         `tfsdk:"interpreter"`
	ExecutionTimeout checkedDurationValue `tfsdk:"execution_timeout"`
	AllowFailure     types.Bool           `tfsdk:"allow_failure"`
}

var invocationAttrTypes = map[string]attr.Type{
	"status":           types.StringType,
	"status_details":   types.StringType,
	"response_code":    types.Int64Type,
	"stdout":           types.StringType,
	"stderr":           types.StringType,
	"stdout_truncated": types.BoolType,
	"stderr_truncated": types.BoolType,
	"stdout_url":       types.StringType,
	"stderr_url":       types.StringType,
	"started_at":       types.StringType,
	"finished_at":      types.StringType,
}

// invocationsDoc documents the invocations attribute and each of its
// objects' attributes (a map of objects has no nested schema to carry them).
const invocationsDoc = "Results by instance id, each an object of:\n" +
	"  - `status` (String): `Success`, `Failed`, `TimedOut`, `Cancelled`, ..., or `NotReached` for an instance the command was not sent to because it could not receive it (see `max_unreachable`; `status_details` says why, `response_code` is -1).\n" +
	"  - `status_details` (String): `Success`, `Failed`, `ExecutionTimedOut`, `DeliveryTimedOut`, `Terminated`, `Undeliverable`, `InvalidPlatform`, ...\n" +
	"  - `response_code` (Number): exit code as the SSM agent reports it: the script's exit status; -1 when the command never reached the agent or its agent never reported (not delivered, cancelled before delivery, or the instance stopped while it ran: `DeliveryTimedOut`) and when the shell was killed by a signal (status `Failed`); 137 when the agent killed it (`TimedOut` after `executionTimeout`, `Cancelled` after a cancel), and also when the script itself exits 137, for example because the out-of-memory killer ended its last command (the agent then reports `TimedOut`); 1 when a cancel reached the agent before the script started.\n" +
	"  - `stdout` (String): standard output, up to `output_limit` bytes.\n" +
	"  - `stderr` (String): standard error, up to `output_limit` bytes.\n" +
	"  - `stdout_truncated` (Boolean): whether stdout was longer than what is kept.\n" +
	"  - `stderr_truncated` (Boolean): whether stderr was longer than what is kept.\n" +
	"  - `stdout_url` (String): S3 URL of the complete stdout, when an output bucket is set.\n" +
	"  - `stderr_url` (String): S3 URL of the complete stderr, when an output bucket is set.\n" +
	"  - `started_at` (String): when the instance started running the command, RFC 3339.\n" +
	"  - `finished_at` (String): when it finished, RFC 3339.\n\n" +
	"  The nested schema lists the same attributes with their types."

// spec converts the planned run to the engine's Spec.
func (m *commandRunModel) spec(ctx context.Context) (runcommand.Spec, diag.Diagnostics) {
	s, diags := m.commandArgs.spec(ctx)
	s.OutputLimit = outputLimit(m.OutputLimit)
	return s, diags
}

// destroySpec is the destroy block's run on the same targets.
func (m *commandRunModel) destroySpec(ctx context.Context) (runcommand.Spec, diag.Diagnostics) {
	s, diags := m.spec(ctx)
	d := m.Destroy[0]
	s.DocumentName, s.DocumentVersion = runcommand.DefaultDocument, ""
	s.Parameters = map[string][]string{}
	if !d.Commands.IsNull() {
		var commands []string
		diags.Append(d.Commands.ElementsAs(ctx, &commands, false)...)
		s.Parameters["commands"] = commands
	} else {
		s.Parameters["commands"] = runcommand.ScriptCommands(d.Script.ValueString(), d.Interpreter.ValueString())
	}
	if wd := m.WorkingDirectory.ValueString(); wd != "" {
		s.Parameters["workingDirectory"] = []string{wd}
	}
	if t, ok := goDuration(d.ExecutionTimeout, &diags); ok {
		s.Parameters["executionTimeout"] = []string{strconv.Itoa(int(t.Seconds()))}
	}
	s.MaxUnreachable = m.MaxUnreachable.ValueString()
	if d.AllowFailure.ValueBool() {
		s.MaxUnreachable = "100%"
	}
	s.AllowEmpty = true // nothing left to clean up is not an error at destroy
	s.Comment = "destroy"
	if c := m.Comment.ValueString(); c != "" && len(c)+len(" (destroy)") <= 100 {
		s.Comment = c + " (destroy)"
	}
	return s, diags
}

func goDuration(v checkedDurationValue, diags *diag.Diagnostics) (time.Duration, bool) {
	if v.IsNull() || v.IsUnknown() {
		return 0, false
	}
	d, dd := v.ValueGoDuration()
	diags.Append(dd...)
	return d, !dd.HasError()
}

func rfc3339(t time.Time) types.String {
	if t.IsZero() {
		return types.StringValue("")
	}
	return types.StringValue(t.UTC().Format(time.RFC3339Nano))
}

// setResult records the engine's result in the model's computed attributes.
func (m *commandRunModel) setResult(ctx context.Context, res *runcommand.Result) diag.Diagnostics {
	var diags diag.Diagnostics
	if len(res.CommandIDs) > 0 {
		m.ID = types.StringValue(res.CommandIDs[0])
	} else {
		m.ID = types.StringValue(notSentID())
	}
	var d diag.Diagnostics
	m.CommandIDs, d = types.ListValueFrom(ctx, types.StringType, nonNil(res.CommandIDs))
	diags.Append(d...)
	m.Status = types.StringValue(res.Status)
	m.StatusDetails = types.StringValue(res.StatusDetails)
	m.TargetCount = types.Int64Value(int64(res.TargetCount))
	m.CompletedCount = types.Int64Value(int64(res.CompletedCount))
	m.ErrorCount = types.Int64Value(int64(res.ErrorCount))
	m.RequestedAt = rfc3339(res.RequestedAt)
	m.CompletedAt = rfc3339(res.CompletedAt)
	invs := make(map[string]invocationModel, len(res.Invocations))
	for id, inv := range res.Invocations {
		invs[id] = invocationOf(inv)
	}
	for _, s := range res.NotReached {
		if !s.Gone {
			invs[s.InstanceID] = notReachedInvocation(s)
		}
	}
	m.Invocations, d = invocationsValue(invs)
	diags.Append(d...)
	m.Pending, d = types.ListValueFrom(ctx, types.StringType, unreachedIDs(res))
	diags.Append(d...)
	return diags
}

// StatusNotReached is the recorded status of an instance the command was not
// sent to because it could not receive it (within max_unreachable); its
// status_details say why.
const StatusNotReached = "NotReached"

func notReachedInvocation(s runcommand.Skipped) invocationModel {
	return invocationModel{
		Status: types.StringValue(StatusNotReached), StatusDetails: types.StringValue(s.Reason),
		ResponseCode: types.Int64Value(-1), Stdout: types.StringValue(""), Stderr: types.StringValue(""),
		StdoutTruncated: types.BoolValue(false), StderrTruncated: types.BoolValue(false),
		StdoutURL: types.StringValue(""), StderrURL: types.StringValue(""),
		StartedAt: types.StringValue(""), FinishedAt: types.StringValue(""),
	}
}

// unreachedIDs lists the instances of a result that were not reached and are
// not gone, sorted.
func unreachedIDs(res *runcommand.Result) []string {
	out := []string{}
	if res == nil {
		return out
	}
	for _, s := range res.NotReached {
		if !s.Gone {
			out = append(out, s.InstanceID)
		}
	}
	sort.Strings(out)
	return out
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// notSentID is the id of a run that sent nothing (every selected instance was
// unreachable within max_unreachable, or gone, or an allowed empty
// selection): there is no command id to record.
func notSentID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "not-sent-" + hex.EncodeToString(b[:])
}

// invocationModel is one entry of the invocations attribute.
type invocationModel struct {
	Status          types.String `tfsdk:"status"`
	StatusDetails   types.String `tfsdk:"status_details"`
	ResponseCode    types.Int64  `tfsdk:"response_code"`
	Stdout          types.String `tfsdk:"stdout"`
	Stderr          types.String `tfsdk:"stderr"`
	StdoutTruncated types.Bool   `tfsdk:"stdout_truncated"`
	StderrTruncated types.Bool   `tfsdk:"stderr_truncated"`
	StdoutURL       types.String `tfsdk:"stdout_url"`
	StderrURL       types.String `tfsdk:"stderr_url"`
	StartedAt       types.String `tfsdk:"started_at"`
	FinishedAt      types.String `tfsdk:"finished_at"`
}

// invocationsValue builds the invocations attribute directly: the reflection
// of types.MapValueFrom allocated about 50 KB per invocation (half a GiB for
// 10,000 instances), which set the provider's peak memory on large fleets.
func invocationsValue(invs map[string]invocationModel) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	objType := types.ObjectType{AttrTypes: invocationAttrTypes}
	elems := make(map[string]attr.Value, len(invs))
	for id, inv := range invs {
		obj, d := types.ObjectValue(invocationAttrTypes, map[string]attr.Value{
			"status":           inv.Status,
			"status_details":   inv.StatusDetails,
			"response_code":    inv.ResponseCode,
			"stdout":           inv.Stdout,
			"stderr":           inv.Stderr,
			"stdout_truncated": inv.StdoutTruncated,
			"stderr_truncated": inv.StderrTruncated,
			"stdout_url":       inv.StdoutURL,
			"stderr_url":       inv.StderrURL,
			"started_at":       inv.StartedAt,
			"finished_at":      inv.FinishedAt,
		})
		diags.Append(d...)
		elems[id] = obj
	}
	m, d := types.MapValue(objType, elems)
	diags.Append(d...)
	return m, diags
}

func invocationOf(inv *runcommand.Invocation) invocationModel {
	return invocationModel{
		Status:          types.StringValue(inv.Status),
		StatusDetails:   types.StringValue(inv.StatusDetails),
		ResponseCode:    types.Int64Value(int64(inv.ResponseCode)),
		Stdout:          types.StringValue(inv.Stdout),
		Stderr:          types.StringValue(inv.Stderr),
		StdoutTruncated: types.BoolValue(inv.StdoutTruncated),
		StderrTruncated: types.BoolValue(inv.StderrTruncated),
		StdoutURL:       types.StringValue(inv.StdoutURL),
		StderrURL:       types.StringValue(inv.StderrURL),
		StartedAt:       rfc3339(inv.StartedAt),
		FinishedAt:      rfc3339(inv.FinishedAt),
	}
}

// invocationMap is the recorded invocations by instance id.
func (m *commandRunModel) invocationMap() (map[string]invocationModel, diag.Diagnostics) {
	invs := map[string]invocationModel{}
	if m.Invocations.IsNull() || m.Invocations.IsUnknown() {
		return invs, nil
	}
	var diags diag.Diagnostics
	for id, v := range m.Invocations.Elements() {
		obj, ok := v.(types.Object)
		if !ok {
			diags.AddError("reading the recorded invocations", fmt.Sprintf("invocations[%q] is a %T, not an object", id, v))
			continue
		}
		a := obj.Attributes()
		str := func(k string) types.String { s, _ := a[k].(types.String); return s }
		bl := func(k string) types.Bool { b, _ := a[k].(types.Bool); return b }
		code, _ := a["response_code"].(types.Int64)
		invs[id] = invocationModel{
			Status: str("status"), StatusDetails: str("status_details"), ResponseCode: code,
			Stdout: str("stdout"), Stderr: str("stderr"),
			StdoutTruncated: bl("stdout_truncated"), StderrTruncated: bl("stderr_truncated"),
			StdoutURL: str("stdout_url"), StderrURL: str("stderr_url"),
			StartedAt: str("started_at"), FinishedAt: str("finished_at"),
		}
	}
	return invs, diags
}

// invocationFinished: the invocation reached a final status.
func invocationFinished(status string) bool {
	return status != "" && !unfinishedStatus(status)
}

// mergeResult records a run on added instances (res may be nil when only
// instances were removed) on top of what the state recorded: invs holds the
// merged invocations. Counts are recomputed from them; the overall status is
// the new run's when it did not succeed, else the recorded one.
func (m *commandRunModel) mergeResult(ctx context.Context, res *runcommand.Result, invs map[string]invocationModel) diag.Diagnostics {
	var diags, d diag.Diagnostics
	if res != nil && len(res.CommandIDs) > 0 {
		ids := stringsOf(ctx, m.CommandIDs)
		m.CommandIDs, d = types.ListValueFrom(ctx, types.StringType, append(ids, res.CommandIDs...))
		diags.Append(d...)
		if res.Status != "Success" || m.Status.ValueString() == "" {
			m.Status, m.StatusDetails = types.StringValue(res.Status), types.StringValue(res.StatusDetails)
		}
		m.CompletedAt = rfc3339(res.CompletedAt)
	}
	completed, errs := 0, 0
	for _, inv := range invs {
		if st := inv.Status.ValueString(); invocationFinished(st) && st != StatusNotReached {
			completed++
		}
		if st, det := inv.Status.ValueString(), inv.StatusDetails.ValueString(); st == "Failed" && det != "Undeliverable" && det != "InvalidPlatform" && det != "AccessDenied" ||
			det == "ExecutionTimedOut" {
			errs++
		}
	}
	targets := 0
	for _, inv := range invs {
		if inv.Status.ValueString() != StatusNotReached {
			targets++
		}
	}
	m.TargetCount, m.CompletedCount, m.ErrorCount = types.Int64Value(int64(targets)), types.Int64Value(int64(completed)), types.Int64Value(int64(errs))
	m.Invocations, d = invocationsValue(invs)
	diags.Append(d...)
	return diags
}

// idChanges lists the ids in to that are not in from (in to's order), and the
// ids in from that are not in to.
func idChanges(from, to []string) (added, removed []string) {
	inFrom, inTo := map[string]bool{}, map[string]bool{}
	for _, id := range from {
		inFrom[id] = true
	}
	for _, id := range to {
		inTo[id] = true
		if !inFrom[id] {
			added = append(added, id)
		}
	}
	for _, id := range from {
		if !inTo[id] {
			removed = append(removed, id)
		}
	}
	return added, removed
}

// copyResult keeps the recorded run across an in-place update.
func (m *commandRunModel) copyResult(from *commandRunModel) {
	m.ID, m.CommandIDs, m.Status, m.StatusDetails = from.ID, from.CommandIDs, from.Status, from.StatusDetails
	m.TargetCount, m.CompletedCount, m.ErrorCount = from.TargetCount, from.CompletedCount, from.ErrorCount
	m.RequestedAt, m.CompletedAt, m.Invocations = from.RequestedAt, from.CompletedAt, from.Invocations
	m.Pending = from.Pending
}

// importedModel rebuilds state from a command found by id.
func importedModel(ctx context.Context, spec *runcommand.Spec, res *runcommand.Result, diags *diag.Diagnostics) *commandRunModel {
	m := &commandRunModel{
		commandArgs: commandArgs{
			Commands: types.ListNull(types.StringType), Script: types.StringNull(), Interpreter: types.StringNull(),
			Parameters:       types.MapNull(types.ListType{ElemType: types.StringType}),
			DocumentName:     types.StringValue(spec.DocumentName),
			DocumentVersion:  strOrNull(nonDefault(spec.DocumentVersion, "$DEFAULT")),
			WorkingDirectory: types.StringNull(),
			ExecutionTimeout: durationNull(),
			InstanceIDs:      types.ListNull(types.StringType),
			MaxConcurrency:   strOrNull(nonDefault(spec.MaxConcurrency, "50")),
			MaxErrors:        strOrNull(nonDefault(spec.MaxErrors, "0")),
			Comment:          strOrNull(spec.Comment),
			DeliveryTimeout:  durationNull(),
			OutputS3Bucket:   strOrNull(spec.OutputS3BucketName),
			OutputS3Prefix:   strOrNull(spec.OutputS3KeyPrefix),
			AgentWaitTimeout: durationNull(),
			AllowFailure:     types.BoolValue(false),
			MaxUnreachable:   types.StringNull(),
			AllowEmpty:       types.BoolNull(),
		},
		TriggersReplace: types.DynamicNull(),
		Pending:         types.ListValueMust(types.StringType, []attr.Value{}),
		OutputLimit:     types.Int64Value(runcommand.DefaultOutputLimit),
		Timeouts:        timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType})},
	}
	params := map[string][]string{}
	for k, v := range spec.Parameters {
		params[k] = v
	}
	if spec.DocumentName == runcommand.DefaultDocument {
		if c, ok := params["commands"]; ok {
			m.Commands, _ = types.ListValueFrom(ctx, types.StringType, c)
			delete(params, "commands")
		}
		if wd, ok := params["workingDirectory"]; ok && len(wd) == 1 {
			if wd[0] != "" {
				m.WorkingDirectory = types.StringValue(wd[0])
			}
			delete(params, "workingDirectory")
		}
		if et, ok := params["executionTimeout"]; ok && len(et) == 1 {
			if secs, err := strconv.Atoi(et[0]); err == nil && secs != 3600 {
				m.ExecutionTimeout = durationOf(time.Duration(secs) * time.Second)
			}
			delete(params, "executionTimeout")
		}
	}
	if len(params) > 0 {
		var d diag.Diagnostics
		m.Parameters, d = types.MapValueFrom(ctx, types.ListType{ElemType: types.StringType}, params)
		diags.Append(d...)
	}
	if len(spec.InstanceIDs) > 0 {
		m.InstanceIDs, _ = types.ListValueFrom(ctx, types.StringType, spec.InstanceIDs)
	}
	for _, t := range spec.Targets {
		values, _ := types.ListValueFrom(ctx, types.StringType, t.Values)
		m.Targets = append(m.Targets, targetModel{Key: types.StringValue(t.Key), Values: values})
	}
	if spec.DeliveryTimeout > 0 && spec.DeliveryTimeout != defaultDeliveryTimeout {
		m.DeliveryTimeout = durationOf(spec.DeliveryTimeout)
	}
	if spec.CloudWatchLogEnabled {
		m.CloudWatchOutput = []cloudWatchModel{{Enabled: types.BoolValue(true), LogGroupName: strOrNull(spec.CloudWatchLogGroup)}}
	}
	diags.Append(m.setResult(ctx, res)...)
	return m
}

// AWS's SendCommand defaults, which ListCommands reports whether or not they
// were set: an imported run leaves them unset, as a configuration would.
const defaultDeliveryTimeout = time.Hour

func nonDefault(v, def string) string {
	if v == def {
		return ""
	}
	return v
}

// progressLogger logs the run's progress at INFO, so TF_LOG=INFO shows a long
// fleet run moving.
func progressLogger(ctx context.Context) func(runcommand.Progress) {
	last := runcommand.Progress{Targets: -1}
	return func(p runcommand.Progress) {
		if p == last {
			return
		}
		last = p
		tflog.Info(ctx, p.String(),
			map[string]any{"completed": p.Completed, "targets": p.Targets, "errors": p.Errors})
	}
}

// runPhase says which run an error belongs to, so that its messages speak of it.
type runPhase int

const (
	phaseCreate  runPhase = iota // the run, at create
	phaseUpdate                  // the run on instances added to instance_ids
	phaseDestroy                 // the destroy block's commands
	phaseAction                  // the ssm_command action's run, which stores nothing
)

// doing is the summary of a phase's diagnostics: "running command on 3
// instances".
func (p runPhase) doing(spec runcommand.Spec) string {
	on := targetText(spec.InstanceIDs, spec.Targets)
	switch p {
	case phaseUpdate:
		return "running command on " + on + " added to instance_ids"
	case phaseDestroy:
		return "running destroy commands on " + on
	}
	return "running command on " + on
}

// addRunError turns an engine error into one diagnostic that says what was
// being run where, what happened and what to do next.
func addRunError(diags *diag.Diagnostics, phase runPhase, spec runcommand.Spec, err error, allowFailure bool, timeout time.Duration) {
	summary := phase.doing(spec)
	var (
		fe *runcommand.FailedError
		ce *runcommand.CancelledError
		nr *agentwait.NotReadyError
		ur *runcommand.NotRegisteredError
		ue *runcommand.UnreachableError
		ee *runcommand.EmptySelectionError
	)
	switch {
	case errors.As(err, &ue):
		next := "Nothing was sent. Start the instances or repair their agents, raise max_unreachable (such as \"25%\") or set allow_failure = true " +
			"to run on the reachable ones and record the others (the next apply runs on them), or " + agentWaitTimeoutAdvice + "."
		switch phase {
		case phaseAction:
			next = "Nothing was sent. Start the instances or repair their agents, raise max_unreachable (such as \"25%\") or set " +
				"allow_failure = true to run on the reachable ones, or " + agentWaitTimeoutAdvice + "."
		case phaseDestroy:
			next = "The resource stays in state. Start the instances or repair their agents and destroy again, or raise " +
				"max_unreachable or set destroy.allow_failure = true (applied first, so that it is stored) to run the destroy " +
				"commands on the reachable instances and forget the others (whatever the run left on them stays)."
		case phaseUpdate:
			next = "Nothing was sent to the instances this update runs on; the next apply tries again. " + strings.TrimPrefix(next, "Nothing was sent. ")
		}
		diags.AddError(summary, ue.Error()+"\n\n"+next+identityAdvice(err))
	case errors.As(err, &ee):
		diags.AddError(summary, sentence(ee.Error())+".\n\nCheck the tag keys and values (they are case-sensitive), the resource "+
			"group's name, and that the instances are managed by SSM. Set allow_empty = true if an empty selection is fine.")
	case errors.As(err, &fe):
		detail := fe.Error() + fmt.Sprintf("\n\nCommand id: %s.", fe.Result.CommandIDs[0])
		switch phase {
		case phaseAction:
			if allowFailure {
				diags.AddWarning(summary, detail+" allow_failure is set, so the apply goes on.")
				return
			}
			diags.AddError(summary, detail+" The action stores nothing: fix the cause and invoke it again "+
				"(terraform apply -invoke=action.ssm_command.NAME), or set allow_failure = true.")
			return
		case phaseDestroy:
			if allowFailure {
				diags.AddWarning(summary, detail+" destroy.allow_failure is set, so the resource is removed anyway.")
				return
			}
			diags.AddError(summary, detail+" The resource stays in state, so the next destroy runs the destroy commands again. "+
				"Fix the cause, or set destroy.allow_failure = true to remove the resource anyway. Terraform destroys with what is "+
				"in state: a changed destroy block takes effect only after an apply has stored it.")
			return
		case phaseUpdate:
			detail += " Each added instance's status, exit code and output are in the resource's `invocations` attribute."
			if allowFailure {
				diags.AddWarning(summary, detail+" allow_failure is set, so the apply goes on.")
				return
			}
			diags.AddError(summary, detail+" The instances where it did not succeed are left out of the stored instance_ids, "+
				"so the next apply runs the command on them again; or set allow_failure = true.")
			return
		}
		detail += " Each instance's status, exit code and output are in the resource's `invocations` attribute."
		if allowFailure {
			diags.AddWarning(summary, detail+" allow_failure is set, so the apply goes on.")
			return
		}
		diags.AddError(summary, detail+" The resource is saved tainted: fix the cause and apply again to re-run it, or set allow_failure = true.")
	case errors.As(err, &nr):
		next := "Nothing was sent. Start the instances or repair their agents, or " + agentWaitTimeoutAdvice + "."
		switch phase {
		case phaseDestroy:
			if allowFailure {
				diags.AddWarning(summary, nr.Error()+"\n\nThe destroy commands were not sent; destroy.allow_failure is set, so the resource is removed anyway.")
				return
			}
			next = "Nothing was sent and the resource stays in state. Start the instances or repair their agents and destroy again, " +
				"or set destroy.allow_failure = true (applied first, so that it is stored) to remove the resource without running them."
		case phaseUpdate:
			next = "Nothing was sent to the added instances; they are left out of the stored instance_ids, so the next apply tries again. " +
				"Start the instances or repair their agents, or " + agentWaitTimeoutAdvice + "."
		}
		diags.AddError(summary, nr.Error()+"\n\n"+next+identityAdvice(err))
	case errors.As(err, &ce):
		diags.AddError(summary, cancelledDetail(ce, timeout, phase != phaseAction))
	case errors.As(err, &ur):
		diags.AddError(summary, err.Error()+"\n\nWhen the agents are still registering, raise agent_wait_timeout (such as \"10m\") to wait for them.")
	case errors.Is(err, runcommand.ErrOutputBucketMissing):
		diags.AddError(summary, err.Error()+"\n\n"+outputBucketMissingNext)
	default:
		detail := err.Error()
		var ae *poll.CallError
		if errors.As(err, &ae) && ae.For > 0 {
			detail += fmt.Sprintf("\n\nAWS kept failing for %s, so the run stopped waiting; the command ids and what is known are saved in state. Check the endpoint and the service's health, then apply again.", shortDuration(ae.For.Round(time.Second)))
		}
		diags.AddError(summary, detail)
	}
}

// outputLimit maps output_limit to the engine's: 0 keeps nothing (the engine
// takes 0 as "default").
func outputLimit(v types.Int64) int {
	if !v.IsNull() && !v.IsUnknown() && v.ValueInt64() == 0 {
		return runcommand.NoOutput
	}
	return int(v.ValueInt64())
}

// cancelledDetail says why a run was interrupted, what became of the command and
// what kept it from finishing.
func cancelledDetail(ce *runcommand.CancelledError, timeout time.Duration, stored bool) string {
	var b strings.Builder
	if errors.Is(ce.Cause, context.DeadlineExceeded) {
		fmt.Fprintf(&b, "The timeout of %s was reached (raise it with a timeouts block).", shortDuration(timeout))
	} else {
		b.WriteString("Terraform was interrupted.")
	}
	if ce.LastErr != nil {
		fmt.Fprintf(&b, " What kept the run from finishing: %v.", ce.LastErr)
	}
	sent := ce.Result != nil && len(ce.Result.CommandIDs) > 0
	switch {
	case !sent:
		b.WriteString(" No command was sent, so nothing runs on the instances and nothing needed cancelling.")
		return b.String()
	case ce.CancelSent:
		b.WriteString(" CancelCommand was sent, so the command stops on every instance.")
	case ce.CancelErr != nil:
		fmt.Fprintf(&b, " CancelCommand could not be sent (%s): cancel the command by hand (aws ssm cancel-command --command-id %s).",
			awsclient.Cause(ce.CancelErr), ce.Result.CommandIDs[0])
	default:
		b.WriteString(" The command had already finished on every instance, so nothing needed cancelling.")
	}
	status := ce.Result.Status
	if status == "" {
		status = "unknown"
	}
	if !stored {
		fmt.Fprintf(&b, " Command ids: %s (status %s).", strings.Join(ce.Result.CommandIDs, ", "), status)
		return b.String()
	}
	fmt.Fprintf(&b, " Command ids: %s; what is known is saved in state (status %s).", strings.Join(ce.Result.CommandIDs, ", "), status)
	return b.String()
}

// addNoTargetWarning warns when targets matched no instance: SSM ends such a
// command Success (NoInstancesInTag) with target_count 0, so nothing ran.
func addNoTargetWarning(diags *diag.Diagnostics, phase runPhase, spec runcommand.Spec, res *runcommand.Result) {
	if res == nil || len(spec.Targets) == 0 || res.TargetCount > 0 || len(res.Invocations) > 0 || len(res.NotReached) > 0 {
		return
	}
	if len(res.CommandIDs) == 0 {
		var sel []string
		for _, t := range spec.Targets {
			sel = append(sel, t.Key+" = "+strings.Join(t.Values, ", "))
		}
		diags.AddWarning(phase.doing(spec), fmt.Sprintf("The targets (%s) select no instance, so nothing was sent; allow_empty is set, so the apply goes on.",
			strings.Join(sel, "; ")))
		return
	}
	var sel []string
	for _, t := range spec.Targets {
		sel = append(sel, t.Key+" = "+strings.Join(t.Values, ", "))
	}
	details := res.StatusDetails
	if details == "" {
		details = res.Status
	}
	diags.AddWarning(phase.doing(spec),
		fmt.Sprintf("The targets (%s) matched no instance, so nothing ran (SSM: %s, target_count 0). Check the tag keys and values (they are case-sensitive) and that the instances are managed by SSM.",
			strings.Join(sel, "; "), details))
}

// addOutputWarnings warns about output that could not be read whole from S3
// (for example the bucket was deleted during the run).
func addOutputWarnings(diags *diag.Diagnostics, res *runcommand.Result) {
	if res == nil {
		return
	}
	var lines []string
	for _, id := range sortedInvocationIDs(res) {
		if msg := res.Invocations[id].OutputError; msg != "" {
			lines = append(lines, id+": "+msg)
		}
	}
	if len(lines) == 0 {
		return
	}
	diags.AddWarning(fmt.Sprintf("reading the output of command %s from S3", strings.Join(res.CommandIDs, ", ")),
		"The output beyond the API's 24,000/8,000 characters is kept in the output bucket, but reading it failed:\n"+
			strings.Join(lines, "\n")+"\nThe saved stdout/stderr are cut; the *_truncated attributes say so. Check that the bucket still exists and that the provider may read it.")
}

func sortedInvocationIDs(res *runcommand.Result) []string {
	ids := make([]string, 0, len(res.Invocations))
	for id := range res.Invocations {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
