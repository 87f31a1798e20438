package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

type commandRunModel struct {
	ID               types.String         `tfsdk:"id"`
	Commands         types.List           `tfsdk:"commands"`
	Script           types.String         `tfsdk:"script"`
	Interpreter      types.String         `tfsdk:"interpreter"`
	Parameters       types.Map            `tfsdk:"parameters"`
	DocumentName     types.String         `tfsdk:"document_name"`
	DocumentVersion  types.String         `tfsdk:"document_version"`
	WorkingDirectory types.String         `tfsdk:"working_directory"`
	ExecutionTimeout timetypes.GoDuration `tfsdk:"execution_timeout"`
	InstanceIDs      types.List           `tfsdk:"instance_ids"`
	Targets          []targetModel        `tfsdk:"targets"`
	MaxConcurrency   types.String         `tfsdk:"max_concurrency"`
	MaxErrors        types.String         `tfsdk:"max_errors"`
	Comment          types.String         `tfsdk:"comment"`
	DeliveryTimeout  timetypes.GoDuration `tfsdk:"delivery_timeout"`
	OutputS3Bucket   types.String         `tfsdk:"output_s3_bucket_name"`
	OutputS3Prefix   types.String         `tfsdk:"output_s3_key_prefix"`
	CloudWatchOutput []cloudWatchModel    `tfsdk:"cloudwatch_output"`
	TriggersReplace  types.Dynamic        `tfsdk:"triggers_replace"`
	AgentWaitTimeout timetypes.GoDuration `tfsdk:"agent_wait_timeout"`
	AllowFailure     types.Bool           `tfsdk:"allow_failure"`
	OutputLimit      types.Int64          `tfsdk:"output_limit"`
	Destroy          []destroyModel       `tfsdk:"destroy"`
	Timeouts         timeouts.Value       `tfsdk:"timeouts"`

	CommandIDs     types.List   `tfsdk:"command_ids"`
	Status         types.String `tfsdk:"status"`
	StatusDetails  types.String `tfsdk:"status_details"`
	TargetCount    types.Int64  `tfsdk:"target_count"`
	CompletedCount types.Int64  `tfsdk:"completed_count"`
	ErrorCount     types.Int64  `tfsdk:"error_count"`
	RequestedAt    types.String `tfsdk:"requested_at"`
	CompletedAt    types.String `tfsdk:"completed_at"`
	Invocations    types.Map    `tfsdk:"invocations"`
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
	ExecutionTimeout timetypes.GoDuration `tfsdk:"execution_timeout"`
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

// spec converts the planned run to the engine's Spec.
func (m *commandRunModel) spec(ctx context.Context) (runcommand.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := runcommand.Spec{
		DocumentName:       m.DocumentName.ValueString(),
		DocumentVersion:    m.DocumentVersion.ValueString(),
		Parameters:         map[string][]string{},
		MaxConcurrency:     m.MaxConcurrency.ValueString(),
		MaxErrors:          m.MaxErrors.ValueString(),
		Comment:            m.Comment.ValueString(),
		OutputS3BucketName: m.OutputS3Bucket.ValueString(),
		OutputS3KeyPrefix:  m.OutputS3Prefix.ValueString(),
		OutputLimit:        int(m.OutputLimit.ValueInt64()),
	}
	if !m.Parameters.IsNull() {
		diags.Append(m.Parameters.ElementsAs(ctx, &s.Parameters, false)...)
	}
	var commands []string
	if !m.Commands.IsNull() {
		diags.Append(m.Commands.ElementsAs(ctx, &commands, false)...)
	}
	if !m.Script.IsNull() {
		commands = runcommand.ScriptCommands(m.Script.ValueString(), m.Interpreter.ValueString())
	}
	if len(commands) > 0 {
		s.Parameters["commands"] = commands
	}
	if wd := m.WorkingDirectory.ValueString(); wd != "" {
		s.Parameters["workingDirectory"] = []string{wd}
	}
	if d, ok := goDuration(m.ExecutionTimeout, &diags); ok {
		s.Parameters["executionTimeout"] = []string{strconv.Itoa(int(d.Seconds()))}
	}
	if d, ok := goDuration(m.DeliveryTimeout, &diags); ok {
		s.DeliveryTimeout = d
	}
	if d, ok := goDuration(m.AgentWaitTimeout, &diags); ok {
		s.AgentWaitTimeout = d
	}
	if !m.InstanceIDs.IsNull() {
		diags.Append(m.InstanceIDs.ElementsAs(ctx, &s.InstanceIDs, false)...)
	}
	for _, t := range m.Targets {
		var values []string
		diags.Append(t.Values.ElementsAs(ctx, &values, false)...)
		s.Targets = append(s.Targets, runcommand.Target{Key: t.Key.ValueString(), Values: values})
	}
	if len(m.CloudWatchOutput) == 1 {
		s.CloudWatchLogEnabled = m.CloudWatchOutput[0].Enabled.ValueBool()
		s.CloudWatchLogGroup = m.CloudWatchOutput[0].LogGroupName.ValueString()
	}
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
	s.Comment = "destroy"
	if c := m.Comment.ValueString(); c != "" && len(c)+len(" (destroy)") <= 100 {
		s.Comment = c + " (destroy)"
	}
	return s, diags
}

func goDuration(v timetypes.GoDuration, diags *diag.Diagnostics) (time.Duration, bool) {
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
	m.ID = types.StringValue(res.CommandIDs[0])
	var d diag.Diagnostics
	m.CommandIDs, d = types.ListValueFrom(ctx, types.StringType, res.CommandIDs)
	diags.Append(d...)
	m.Status = types.StringValue(res.Status)
	m.StatusDetails = types.StringValue(res.StatusDetails)
	m.TargetCount = types.Int64Value(int64(res.TargetCount))
	m.CompletedCount = types.Int64Value(int64(res.CompletedCount))
	m.ErrorCount = types.Int64Value(int64(res.ErrorCount))
	m.RequestedAt = rfc3339(res.RequestedAt)
	m.CompletedAt = rfc3339(res.CompletedAt)
	invs := make(map[string]attr.Value, len(res.Invocations))
	for id, inv := range res.Invocations {
		obj, d := types.ObjectValue(invocationAttrTypes, map[string]attr.Value{
			"status":           types.StringValue(inv.Status),
			"status_details":   types.StringValue(inv.StatusDetails),
			"response_code":    types.Int64Value(int64(inv.ResponseCode)),
			"stdout":           types.StringValue(inv.Stdout),
			"stderr":           types.StringValue(inv.Stderr),
			"stdout_truncated": types.BoolValue(inv.StdoutTruncated),
			"stderr_truncated": types.BoolValue(inv.StderrTruncated),
			"stdout_url":       types.StringValue(inv.StdoutURL),
			"stderr_url":       types.StringValue(inv.StderrURL),
			"started_at":       rfc3339(inv.StartedAt),
			"finished_at":      rfc3339(inv.FinishedAt),
		})
		diags.Append(d...)
		invs[id] = obj
	}
	m.Invocations, d = types.MapValue(types.ObjectType{AttrTypes: invocationAttrTypes}, invs)
	diags.Append(d...)
	return diags
}

// copyResult keeps the recorded run across an in-place update.
func (m *commandRunModel) copyResult(from *commandRunModel) {
	m.ID, m.CommandIDs, m.Status, m.StatusDetails = from.ID, from.CommandIDs, from.Status, from.StatusDetails
	m.TargetCount, m.CompletedCount, m.ErrorCount = from.TargetCount, from.CompletedCount, from.ErrorCount
	m.RequestedAt, m.CompletedAt, m.Invocations = from.RequestedAt, from.CompletedAt, from.Invocations
}

// importedModel rebuilds state from a command found by id.
func importedModel(ctx context.Context, spec *runcommand.Spec, res *runcommand.Result, diags *diag.Diagnostics) *commandRunModel {
	m := &commandRunModel{
		Commands: types.ListNull(types.StringType), Script: types.StringNull(), Interpreter: types.StringNull(),
		Parameters:       types.MapNull(types.ListType{ElemType: types.StringType}),
		DocumentName:     types.StringValue(spec.DocumentName),
		DocumentVersion:  optString(nonDefault(spec.DocumentVersion, "$DEFAULT")),
		WorkingDirectory: types.StringNull(),
		ExecutionTimeout: timetypes.NewGoDurationNull(),
		InstanceIDs:      types.ListNull(types.StringType),
		MaxConcurrency:   optString(nonDefault(spec.MaxConcurrency, "50")),
		MaxErrors:        optString(nonDefault(spec.MaxErrors, "0")),
		Comment:          optString(spec.Comment),
		DeliveryTimeout:  timetypes.NewGoDurationNull(),
		OutputS3Bucket:   optString(spec.OutputS3BucketName),
		OutputS3Prefix:   optString(spec.OutputS3KeyPrefix),
		TriggersReplace:  types.DynamicNull(),
		AgentWaitTimeout: timetypes.NewGoDurationNull(),
		AllowFailure:     types.BoolValue(false),
		OutputLimit:      types.Int64Value(runcommand.DefaultOutputLimit),
		Timeouts:         timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "delete": types.StringType})},
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
				m.ExecutionTimeout = timetypes.NewGoDurationValue(time.Duration(secs) * time.Second)
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
		m.DeliveryTimeout = timetypes.NewGoDurationValue(spec.DeliveryTimeout)
	}
	if spec.CloudWatchLogEnabled {
		m.CloudWatchOutput = []cloudWatchModel{{Enabled: types.BoolValue(true), LogGroupName: optString(spec.CloudWatchLogGroup)}}
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

func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
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

// addRunError turns an engine error into one diagnostic that says what happened
// and what to do next.
func addRunError(diags *diag.Diagnostics, what string, err error, allowFailure bool, timeout time.Duration) {
	var fe *runcommand.FailedError
	var ce *runcommand.CancelledError
	switch {
	case errors.As(err, &fe):
		summary := what + " " + fe.Summary()
		detail := fe.Error() + fmt.Sprintf("\n\nCommand id: %s. Each instance's status, exit code and output are in the resource's `invocations` attribute.", fe.Result.CommandIDs[0])
		if allowFailure {
			diags.AddWarning(summary, detail+" allow_failure is set, so the apply goes on.")
			return
		}
		diags.AddError(summary, detail+" The resource is saved tainted: fix the cause and apply again to re-run it, or set allow_failure = true.")
	case errors.As(err, &ce):
		diags.AddError(what+" was interrupted", cancelledDetail(ce, timeout))
	default:
		detail := err.Error()
		var ae *runcommand.APICallError
		if errors.As(err, &ae) && ae.For > 0 {
			detail += fmt.Sprintf("\n\nAWS kept failing for %s, so the run stopped waiting; the command ids and what is known are saved in state. Check the endpoint and the service's health, then apply again.", shortDuration(ae.For.Round(time.Second)))
		}
		diags.AddError(what+" failed", detail)
	}
}

// cancelledDetail says why a run was interrupted, what became of the command and
// what kept it from finishing.
func cancelledDetail(ce *runcommand.CancelledError, timeout time.Duration) string {
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
	fmt.Fprintf(&b, " Command ids: %s; what is known is saved in state (status %s).", strings.Join(ce.Result.CommandIDs, ", "), status)
	return b.String()
}

// addNoTargetWarning warns when targets matched no instance: SSM ends such a
// command Success (NoInstancesInTag) with target_count 0, so nothing ran.
func addNoTargetWarning(diags *diag.Diagnostics, what string, spec runcommand.Spec, res *runcommand.Result) {
	if res == nil || len(spec.Targets) == 0 || res.TargetCount > 0 || len(res.Invocations) > 0 {
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
	diags.AddWarning(what+" matched no instance",
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
	diags.AddWarning("Command output could not be read whole from S3",
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
