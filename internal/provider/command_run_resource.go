package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/dynamicplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

var (
	_ resource.ResourceWithConfigure        = (*commandRunResource)(nil)
	_ resource.ResourceWithImportState      = (*commandRunResource)(nil)
	_ resource.ResourceWithConfigValidators = (*commandRunResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*commandRunResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*commandRunResource)(nil)
)

const (
	defaultCommandCreateTimeout = 60 * time.Minute
	defaultCommandDeleteTimeout = 30 * time.Minute
	maxExecutionTimeout         = 48 * time.Hour   // AWS-RunShellScript executionTimeout ceiling
	minDeliveryTimeout          = 30 * time.Second // SendCommand TimeoutSeconds range
	maxDeliveryTimeout          = 2592000 * time.Second
)

// Patterns from the SSM API model (notes/aws-behaviour.md#sendcommand).
var (
	maxConcurrencyPattern = regexp.MustCompile(`^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`)
	maxErrorsPattern      = regexp.MustCompile(`^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`)
	documentNamePattern   = regexp.MustCompile(`^[a-zA-Z0-9_\-.:/]{3,128}$`)
	documentVersionPat    = regexp.MustCompile(`^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$`)
)

func newCommandRunResource() resource.Resource { return &commandRunResource{} }

type commandRunResource struct{ data *ProviderData }

func (r *commandRunResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_command_run"
}

func (r *commandRunResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replaceStr := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	replaceList := []planmodifier.List{listplanmodifier.RequiresReplace()}
	keepStr := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	keepInt := []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}
	computedStr := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc, PlanModifiers: keepStr}
	}
	computedInt := func(desc string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: desc, PlanModifiers: keepInt}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs a command, a script or any SSM document on one instance or a whole fleet through " +
			"Systems Manager Run Command, blocks until every invocation has finished, and keeps each instance's result in state. " +
			"It replaces `null_resource` + `local-exec` + `aws ssm send-command` + polling loops, and gets their details right: " +
			"`Delayed` and `Cancelling` are not final, invocations that are not visible yet right after sending are waited for, " +
			"output past the API's 24,000-character cap is read whole from S3 when an output bucket is set, waiting costs one API " +
			"call per poll whatever the fleet size, and an interrupted or timed-out apply cancels the command.\n\n" +
			"Before sending, it checks every target: agents `Online` are ready; stopped instances and agents that are `ConnectionLost` " +
			"or never registered are unreachable; terminated instances are gone and simply left out. By default (`max_unreachable = \"0\"`) " +
			"one unreachable instance fails the apply at once, naming each and why, before anything is sent; a higher `max_unreachable` " +
			"(or `allow_failure`) runs on the reachable part, records the others as `NotReached` and runs on them at the next apply. " +
			"A tag or resource group that selects nothing is an error unless `allow_empty = true`. Set `agent_wait_timeout` to wait " +
			"for agents of instances created in the same apply (this replaces an `ssm_agent_online` gate, and costs nothing on later " +
			"plans); stopped and terminated instances are never waited for.\n\n" +
			"The run is a fact: reading the resource makes no API call (Run Command history expires after 30 days), so plans, " +
			"refreshes and destroys do not depend on the agents being online (a destroy does only when a `destroy` block has commands to " +
			"run, and then never waits for stopped or terminated instances). What runs and where decide whether it runs again:\n\n" +
			"- **Replaces (runs again on every target):** a change to `commands`, `script`, `interpreter`, `parameters`, " +
			"`document_name`, `document_version`, `working_directory`, `targets` or `triggers_replace`.\n" +
			"- **Updates in place, runs on the added instances only:** instances added to `instance_ids`. Removed instances are " +
			"forgotten; reordering changes nothing (the plan is empty).\n" +
			"- **Updates in place, runs nothing:** every other argument (`comment`, `max_concurrency`, `max_errors`, " +
			"`execution_timeout`, `delivery_timeout`, `output_limit`, the output bucket and CloudWatch settings, `agent_wait_timeout`, " +
			"`allow_failure`, `max_unreachable`, `allow_empty`, `destroy`, `timeouts`); the new values apply to the next run (added " +
			"instances, pending instances, or the destroy commands).\n" +
			"- **Updates in place, runs on the pending instances only:** while `pending_instance_ids` lists instances that could " +
			"not receive the command (see `max_unreachable`), every plan shows an update that runs it on them.\n\n" +
			"When some instances fail, the apply fails with one diagnostic naming them, and the resource is saved tainted. The " +
			"next apply replaces it and runs the command **only on the instances where it did not succeed**: the deleted tainted " +
			"object hands its successful instances to the new one within the same `terraform apply` (the new state keeps their " +
			"results and the old command ids after the new ones). This holds when the run itself is unchanged (same commands, " +
			"script, document, parameters, working directory, targets or instance ids, and `triggers_replace`) and has no " +
			"`destroy` block (whose commands, run by the replacement, undo the run on every instance). A changed run, a " +
			"`triggers_replace` change, `-replace` of a successful run, or `create_before_destroy` runs everywhere. When added " +
			"instances fail during an update, only they run again on the next apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: keepStr,
				MarkdownDescription: "Command id of the run (the first of `command_ids`)."},
			"commands": schema.ListAttribute{
				ElementType: types.StringType, Optional: true, PlanModifiers: replaceList,
				MarkdownDescription: runArgs["commands"].doc,
				Validators:          runArgs["commands"].list,
			},
			"script": schema.StringAttribute{
				Optional: true, PlanModifiers: replaceStr,
				MarkdownDescription: runArgs["script"].doc,
				Validators:          runArgs["script"].str,
			},
			"interpreter": schema.StringAttribute{
				Optional: true, PlanModifiers: replaceStr,
				MarkdownDescription: runArgs["interpreter"].doc,
				Validators:          runArgs["interpreter"].str,
			},
			"parameters": schema.MapAttribute{
				ElementType: types.ListType{ElemType: types.StringType}, Optional: true,
				PlanModifiers:       []planmodifier.Map{mapplanmodifier.RequiresReplace()},
				MarkdownDescription: runArgs["parameters"].doc,
				Validators:          runArgs["parameters"].mp,
			},
			"document_name": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(runcommand.DefaultDocument), PlanModifiers: replaceStr,
				MarkdownDescription: runArgs["document_name"].doc,
				Validators:          runArgs["document_name"].str,
			},
			"document_version": schema.StringAttribute{
				Optional: true, PlanModifiers: replaceStr,
				MarkdownDescription: runArgs["document_version"].doc,
				Validators:          runArgs["document_version"].str,
			},
			"working_directory": schema.StringAttribute{
				Optional: true, PlanModifiers: replaceStr,
				MarkdownDescription: runArgs["working_directory"].doc,
				Validators:          runArgs["working_directory"].str,
			},
			"execution_timeout": schema.StringAttribute{
				CustomType: durationType{}, Optional: true, PlanModifiers: []planmodifier.String{durationEquivalent()},
				MarkdownDescription: runArgs["execution_timeout"].doc +
					" Changing it updates in place and applies to the next run.",
				Validators: runArgs["execution_timeout"].str,
			},
			"instance_ids": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: runArgs["instance_ids"].doc + " " +
					"Adding instances updates in place and runs the command on the added instances only; removing instances forgets " +
					"their results (the `destroy` commands do not run on them); reordering plans no change (the stored order is kept). " +
					"Before sending, every listed instance is checked: see `max_unreachable` and `agent_wait_timeout`. Terminated " +
					"instances are left out of the run and of the `destroy` commands without an error.",
				Validators: runArgs["instance_ids"].list,
			},
			"max_concurrency": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: runArgs["max_concurrency"].doc +
					" Changing it updates in place and applies to the next run.",
				Validators: runArgs["max_concurrency"].str,
			},
			"max_errors": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: runArgs["max_errors"].doc +
					" Changing it updates in place and applies to the next run.",
				Validators: runArgs["max_errors"].str,
			},
			"comment": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: runArgs["comment"].doc + " Changing it updates in place. " +
					"The provider appends a run token (` [tf:` and 10 characters `]`) so that a send retried after a lost response is " +
					"recognised, never run twice; in the history, a comment longer than 84 characters is cut to make room (the state " +
					"keeps it whole).",
				Validators: runArgs["comment"].str,
			},
			"delivery_timeout": schema.StringAttribute{
				CustomType: durationType{}, Optional: true, PlanModifiers: []planmodifier.String{durationEquivalent()},
				MarkdownDescription: runArgs["delivery_timeout"].doc,
				Validators:          runArgs["delivery_timeout"].str,
			},
			"output_s3_bucket_name": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: runArgs["output_s3_bucket_name"].doc + " Changing it " +
					"updates in place and applies to the next run.",
				Validators: runArgs["output_s3_bucket_name"].str,
			},
			"output_s3_key_prefix": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: runArgs["output_s3_key_prefix"].doc,
				Validators:          runArgs["output_s3_key_prefix"].str,
			},
			"triggers_replace": schema.DynamicAttribute{
				Optional: true, PlanModifiers: []planmodifier.Dynamic{dynamicplanmodifier.RequiresReplace()},
				MarkdownDescription: "Any value; when it changes the command runs again (for example a hash of a file the command uses).",
			},
			"agent_wait_timeout": schema.StringAttribute{
				CustomType: durationType{}, Optional: true, PlanModifiers: []planmodifier.String{durationEquivalent()},
				MarkdownDescription: runArgs["agent_wait_timeout"].doc + " Also applies to the `destroy` commands. Only explicit instance ids and " +
					"`tag:` targets are checked; for tags, every registered agent carrying them, and every EC2 instance carrying them that " +
					"is stopped, stopping or pending, counts. Only instances that can still come online are waited for: stopped, " +
					"stopping, shutting-down and terminated instances never are, so neither a run nor a destroy waits for them.",
				Validators: runArgs["agent_wait_timeout"].str,
			},
			"allow_failure": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "When true, failed invocations do not fail the apply: results are recorded and a warning names them. It also lets the run go on when instances cannot receive the command (as `max_unreachable = \"100%\"`).",
			},
			"max_unreachable": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: runArgs["max_unreachable"].doc + " Each unreachable " +
					"one is recorded in `invocations` with status `NotReached` and the reason in `status_details`, and listed in " +
					"`pending_instance_ids`. Also applies to the `destroy` commands. Changing it updates in place.",
				Validators: runArgs["max_unreachable"].str,
			},
			"allow_empty": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Whether `targets` that select no instance (a tag or resource group matching nothing, or only " +
					"terminated instances) are fine. Defaults to `false`: such a run fails at apply with an error naming the targets, " +
					"and nothing is recorded as run. With `true` the apply succeeds, sends nothing and records status `NotSent`.",
			},
			"pending_instance_ids": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Instances selected by the last apply on which the command has not run yet because they could " +
					"not receive it (see `max_unreachable`). While it is not empty, every plan shows an in-place update of this " +
					"resource, which runs the command on these instances only (those that are gone by then are dropped).",
			},
			"output_limit": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(runcommand.DefaultOutputLimit),
				MarkdownDescription: fmt.Sprintf("Most bytes of stdout and of stderr kept in state per instance (the end is cut); `0` keeps none. Defaults to %d. "+
					"Changing it updates in place and applies to the next run; stored output is kept as it is.", runcommand.DefaultOutputLimit),
				Validators: []validator.Int64{int64validator.Between(0, 16<<20)},
			},
			"command_ids":     schema.ListAttribute{ElementType: types.StringType, Computed: true, PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()}, MarkdownDescription: "Every command sent: one per 50 instance ids."},
			"status":          computedStr("Overall status: `Success`, `Failed`, `TimedOut`, `Cancelled` (or `InProgress` if the apply was interrupted), or `NotSent` when nothing was sent (every selected instance unreachable within `max_unreachable`, or an empty selection with `allow_empty`). Instances not reached do not change it: see `pending_instance_ids`."),
			"status_details":  computedStr("Overall status details, such as `Success`, `Failed` or `Incomplete`."),
			"target_count":    computedInt("How many instances the command was sent to (instances not reached are not counted)."),
			"completed_count": computedInt("How many invocations finished."),
			"error_count":     computedInt("How many invocations failed or timed out."),
			"requested_at":    computedStr("When the command was sent, RFC 3339."),
			"completed_at":    computedStr("When the last invocation finished, RFC 3339."),
			// A map of objects, not a MapNestedAttribute: the framework's plan
			// modification visits each element of a nested map by copying the
			// whole map (quadratic: seconds per plan at 10,000 instances), and
			// these results have no per-attribute plan behaviour of their own.
			// The type, and so every reference and stored state, is the same.
			"invocations": schema.MapAttribute{
				Computed: true, PlanModifiers: []planmodifier.Map{mapplanmodifier.UseStateForUnknown()},
				ElementType:         types.ObjectType{AttrTypes: invocationAttrTypes},
				MarkdownDescription: invocationsDoc,
			},
		},
		Blocks: map[string]schema.Block{
			"targets": schema.ListNestedBlock{
				MarkdownDescription: targetsDoc,
				PlanModifiers:       replaceList,
				Validators:          targetsValidators,
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"key": schema.StringAttribute{Required: true, MarkdownDescription: targetKeyDoc, Validators: targetKeyValidators},
					"values": schema.ListAttribute{ElementType: types.StringType, Required: true, MarkdownDescription: targetValuesDoc,
						Validators: targetValuesValidators},
				}},
			},
			"cloudwatch_output": schema.ListNestedBlock{
				MarkdownDescription: cloudWatchDoc + " Changing it updates in place and applies to the next run.",
				Validators:          cloudWatchValidators,
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true), MarkdownDescription: cloudWatchOnDoc},
					"log_group_name": schema.StringAttribute{Optional: true, MarkdownDescription: cloudWatchLogDoc,
						Validators: cloudWatchLogValidator},
				}},
			},
			"destroy": schema.ListNestedBlock{
				MarkdownDescription: "Commands run on the same targets when the resource is destroyed (for example to deregister a node). " +
					"Terraform destroys with what is in state, so a changed `destroy` block takes effect only after an apply has stored it. " +
					"The targets are checked first, as for the run itself: gone (terminated) instances are skipped, unreachable ones count " +
					"against `max_unreachable` (or are skipped with `allow_failure`), and `agent_wait_timeout` waits only for instances " +
					"that can still come online, never for stopped or terminated ones.",
				Validators: []validator.List{listvalidator.SizeAtMost(1)},
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"commands": schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Shell commands to run at destroy.",
						Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.NoNullValues(), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}},
					"script": schema.StringAttribute{Optional: true, MarkdownDescription: "A script to run at destroy, delivered byte-exact.",
						Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
					"interpreter": schema.StringAttribute{Optional: true, MarkdownDescription: "Program that runs the destroy `script` (only with `script`)."},
					"execution_timeout": schema.StringAttribute{CustomType: durationType{}, Optional: true,
						MarkdownDescription: "Execution timeout of the destroy commands.", Validators: []validator.String{durationBetween(time.Second, maxExecutionTimeout)}},
					"allow_failure": schema.BoolAttribute{Optional: true, MarkdownDescription: "When true, failed destroy commands only warn and the resource is removed anyway; targets that cannot receive them are skipped with a warning naming them, and the destroy commands run on the others. Without it, unreachable targets beyond `max_unreachable` fail the destroy before anything is sent. Terminated instances are always skipped silently."},
				}},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true,
				CreateDescription: "How long the run may take, agent wait included, before it is cancelled, as a Go duration. Default " + shortDuration(defaultCommandCreateTimeout) + ".",
				UpdateDescription: "How long the run on instances added to `instance_ids` may take. Default " + shortDuration(defaultCommandCreateTimeout) + ".",
				DeleteDescription: "How long the `destroy` commands may take. Default " + shortDuration(defaultCommandDeleteTimeout) + "."}),
		},
	}
}

func (r *commandRunResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("instance_ids"), path.MatchRoot("targets")),
		resourcevalidator.AtLeastOneOf(path.MatchRoot("commands"), path.MatchRoot("script"), path.MatchRoot("parameters")),
		resourcevalidator.Conflicting(path.MatchRoot("script"), path.MatchRoot("parameters")),
	}
}

func (r *commandRunResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m commandRunModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateCommandArgs(&m.commandArgs, &resp.Diagnostics)
	if len(m.Destroy) == 1 {
		d := m.Destroy[0]
		if d.Commands.IsNull() == d.Script.IsNull() && !d.Commands.IsUnknown() && !d.Script.IsUnknown() {
			resp.Diagnostics.AddAttributeError(path.Root("destroy"), "destroy needs commands or a script",
				"Set exactly one of destroy.commands and destroy.script.")
		}
		if !d.Interpreter.IsNull() && d.Script.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("destroy").AtListIndex(0).AtName("interpreter"), "destroy.interpreter needs destroy.script",
				"destroy.interpreter runs destroy.script; destroy.commands always run with /bin/sh. Move the commands into destroy.script, or remove destroy.interpreter.")
		}
	}
}

func (r *commandRunResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (r *commandRunResource) clients() runcommand.Clients { return runClients(r.data) }

func (r *commandRunResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan commandRunModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultCommandCreateTimeout)
	resp.Diagnostics.Append(diags...)
	spec, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec.Progress = progressLogger(ctx)
	h, handedOff := takeHandOff(ctx, &plan)
	if handedOff {
		// The replacement of a tainted object of the same run: run only where
		// it did not succeed.
		spec.SkipInstanceIDs = h.ids()
		spec.InstanceIDs = without(spec.InstanceIDs, spec.SkipInstanceIDs)
		tflog.Info(ctx, "re-running only where the replaced run did not succeed", map[string]any{"succeeded": len(spec.SkipInstanceIDs)})
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var res *runcommand.Result
	var err error
	if len(spec.InstanceIDs) > 0 || len(spec.Targets) > 0 {
		res, err = runcommand.Run(ctx, r.clients(), spec)
	} else {
		res = &runcommand.Result{Invocations: map[string]*runcommand.Invocation{}}
	}
	if res != nil && (len(res.CommandIDs) > 0 || err == nil) {
		resp.Diagnostics.Append(plan.setResult(ctx, res)...)
		if len(res.CommandIDs) == 0 {
			plan.Status, plan.StatusDetails = types.StringValue(statusNotSent), types.StringValue(notSentDetails(res))
		}
		if handedOff {
			resp.Diagnostics.Append(plan.mergeHandOff(ctx, h, res)...)
		}
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		addOutputWarnings(&resp.Diagnostics, res)
		addNotReachedWarning(&resp.Diagnostics, phaseCreate, spec, res,
			"They are recorded in `invocations` with status NotReached and listed in `pending_instance_ids`: the next apply runs the command on them (and only on them).")
	}
	if err != nil {
		addRunError(&resp.Diagnostics, phaseCreate, spec, err, plan.AllowFailure.ValueBool(), timeout)
		return
	}
	addNoTargetWarning(&resp.Diagnostics, phaseCreate, spec, res)
}

// statusNotSent is the recorded status of a run that sent nothing.
const statusNotSent = "NotSent"

func notSentDetails(res *runcommand.Result) string {
	if len(res.NotReached) > 0 {
		return "no selected instance could receive the command"
	}
	return "the targets selected no instance"
}

// without is ids minus drop, in ids' order.
func without(ids, drop []string) []string {
	if len(drop) == 0 {
		return ids
	}
	skip := map[string]bool{}
	for _, id := range drop {
		skip[id] = true
	}
	var out []string
	for _, id := range ids {
		if !skip[id] {
			out = append(out, id)
		}
	}
	return out
}

// Read makes no API call once the run is final: the run is a fact recorded in
// state, and Run Command history expires after 30 days. A run recorded unfinished
// (imported while it ran) is read again until it is final.
func (r *commandRunResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	// Only a run recorded unfinished is read again; every other refresh keeps
	// the state as it is (resp.State starts as a copy of it) without
	// converting the per-instance results, which are 10,000 entries for a
	// fleet of that size.
	var status types.String
	var commandIDs types.List
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("status"), &status)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("command_ids"), &commandIDs)...)
	if resp.Diagnostics.HasError() || !unfinishedStatus(status.ValueString()) || len(commandIDs.Elements()) > 1 {
		return
	}
	var state commandRunModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.refreshUnfinished(ctx, &state, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// ModifyPlan marks the recorded results unknown when instances are added to or
// removed from instance_ids (the update runs on the added ones and forgets the
// removed ones), or when pending_instance_ids is not empty (the update runs on
// them). A reordered instance_ids keeps the stored order, so it plans no change.
func (r *commandRunResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	// Only the attributes the decision needs are read and written: the plan
	// and the state each hold the per-instance results (10,000 entries for a
	// fleet of that size), which converting whole would cost every plan.
	var planID types.String
	var planIDs, stateIDs, statePending types.List
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("id"), &planID)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("instance_ids"), &planIDs)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("instance_ids"), &stateIDs)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("pending_instance_ids"), &statePending)...)
	if resp.Diagnostics.HasError() || planID.IsUnknown() {
		return // replaced: everything computed is unknown already
	}
	rerun := len(stringsOf(ctx, statePending)) > 0
	if planIDs.IsUnknown() {
		rerun = true
	} else {
		added, removed := idChanges(stringsOf(ctx, stateIDs), stringsOf(ctx, planIDs))
		if len(added) > 0 || len(removed) > 0 {
			rerun = true
		} else if !planIDs.Equal(stateIDs) {
			// Only the order differs: the order has no meaning, so keep the
			// stored value (Terraform accepts the prior value for a
			// configured one) and plan no change.
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("instance_ids"), stateIDs)...)
		}
	}
	if !rerun {
		// Each SetAttribute rebuilds the whole planned value: set only what differs.
		var planPending types.List
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("pending_instance_ids"), &planPending)...)
		if !planPending.Equal(statePending) {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("pending_instance_ids"), statePending)...)
		}
		return
	}
	// invocations first: each SetAttribute rebuilds the whole planned value,
	// which is small once the per-instance results are unknown.
	for _, a := range []struct {
		name string
		v    attr.Value
	}{
		{"invocations", types.MapUnknown(types.ObjectType{AttrTypes: invocationAttrTypes})},
		{"command_ids", types.ListUnknown(types.StringType)},
		{"status", types.StringUnknown()},
		{"status_details", types.StringUnknown()},
		{"completed_at", types.StringUnknown()},
		{"target_count", types.Int64Unknown()},
		{"completed_count", types.Int64Unknown()},
		{"error_count", types.Int64Unknown()},
		{"pending_instance_ids", types.ListUnknown(types.StringType)},
	} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(a.name), a.v)...)
	}
}

// Update never re-runs the command on instances that have run it: it runs it on
// instances added to instance_ids and on the pending ones (with the planned
// arguments) and forgets the removed ones; everything else is stored for the
// next run.
func (r *commandRunResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state commandRunModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.copyResult(&state)
	oldIDs, newIDs := stringsOf(ctx, state.InstanceIDs), stringsOf(ctx, plan.InstanceIDs)
	added, removed := idChanges(oldIDs, newIDs)
	pending := stringsOf(ctx, state.Pending)
	if len(newIDs) > 0 {
		pending = intersect(pending, newIDs) // pending instances removed from instance_ids are forgotten
	}
	if len(added) == 0 && len(removed) == 0 && len(pending) == 0 {
		if plan.Pending.IsUnknown() {
			plan.Pending = state.Pending
		}
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	invs, diags := plan.invocationMap()
	resp.Diagnostics.Append(diags...)
	for _, id := range removed {
		delete(invs, id)
	}
	runOn := append(append([]string(nil), added...), without(pending, added)...)
	var (
		res     *runcommand.Result
		err     error
		timeout time.Duration
		spec    runcommand.Spec
	)
	if len(runOn) > 0 {
		timeout, diags = plan.Timeouts.Update(ctx, defaultCommandCreateTimeout)
		resp.Diagnostics.Append(diags...)
		spec, diags = plan.spec(ctx)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		if !plan.AllowFailure.ValueBool() {
			// The threshold is taken of the whole selection, not of this run's part.
			total := len(newIDs)
			if total == 0 {
				total = len(invs)
			}
			spec.MaxUnreachable = strconv.Itoa(runcommand.AllowedUnreachable(plan.MaxUnreachable.ValueString(), total))
		}
		spec.InstanceIDs, spec.Targets = runOn, nil
		spec.Progress = progressLogger(ctx)
		rctx, cancel := context.WithTimeout(ctx, timeout)
		res, err = runcommand.Run(rctx, r.clients(), spec)
		cancel()
	}
	// Added instances on which the run did not succeed stay out of the stored
	// list, so the next apply runs it on them again; pending ones on which it
	// did not succeed stay pending.
	done := map[string]bool{}
	for _, id := range oldIDs {
		done[id] = true
	}
	isAdded := map[string]bool{}
	for _, id := range added {
		isAdded[id] = true
	}
	stillPending := map[string]bool{}
	for _, id := range pending {
		stillPending[id] = true
	}
	if res != nil {
		for id, inv := range res.Invocations {
			invs[id] = invocationOf(inv)
			ok := inv.Status == "Success" || (err != nil && plan.AllowFailure.ValueBool() && invocationFinished(inv.Status))
			if ok {
				done[id] = true
				delete(stillPending, id)
			}
		}
		for _, sk := range res.NotReached {
			done[sk.InstanceID] = true
			if sk.Gone {
				delete(invs, sk.InstanceID)
				delete(stillPending, sk.InstanceID)
				continue
			}
			invs[sk.InstanceID] = notReachedInvocation(sk)
			stillPending[sk.InstanceID] = true
		}
	}
	if err == nil {
		for _, id := range added {
			done[id] = true
		}
	}
	var kept []string
	for _, id := range newIDs {
		if done[id] {
			kept = append(kept, id)
		}
	}
	if len(kept) != len(newIDs) {
		plan.InstanceIDs, diags = types.ListValueFrom(ctx, types.StringType, kept)
		resp.Diagnostics.Append(diags...)
	}
	pendingIDs := make([]string, 0, len(stillPending))
	for id := range stillPending {
		pendingIDs = append(pendingIDs, id)
	}
	sort.Strings(pendingIDs)
	plan.Pending, diags = types.ListValueFrom(ctx, types.StringType, pendingIDs)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(plan.mergeResult(ctx, res, invs)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	addNotReachedWarning(&resp.Diagnostics, phaseUpdate, spec, res,
		"They are recorded in `invocations` with status NotReached and listed in `pending_instance_ids`: the next apply runs the command on them (and only on them).")
	if err != nil {
		addRunError(&resp.Diagnostics, phaseUpdate, spec, err, plan.AllowFailure.ValueBool(), timeout)
	}
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

// Delete runs the destroy commands, if any, on the run's targets: not on
// pending instances (the run never reached them), never waiting for stopped
// or terminated ones, skipping gone ones and, within max_unreachable or with
// destroy.allow_failure, unreachable ones. Without a destroy block it calls
// nothing, and a run that did not succeed everywhere leaves its successful
// instances for a following Create of the same run (the replacement of a
// tainted object: see leaveHandOff).
func (r *commandRunResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state commandRunModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if len(state.Destroy) == 0 {
		leaveHandOff(ctx, &state)
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultCommandDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	spec, diags := state.destroySpec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if pending := stringsOf(ctx, state.Pending); len(pending) > 0 {
		spec.SkipInstanceIDs = pending
		spec.InstanceIDs = without(spec.InstanceIDs, pending)
		if len(spec.InstanceIDs) == 0 && len(spec.Targets) == 0 {
			return // the run reached no instance: nothing to clean up
		}
	}
	spec.Progress = progressLogger(ctx)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := runcommand.Run(ctx, r.clients(), spec)
	allowFailure := state.Destroy[0].AllowFailure.ValueBool()
	next := "The destroy commands were not sent to them; the resource is removed anyway (whatever the run left on them stays)."
	if allowFailure {
		next = "destroy.allow_failure is set, so " + strings.ToLower(next[:1]) + next[1:]
	}
	addNotReachedWarning(&resp.Diagnostics, phaseDestroy, spec, res, next)
	if err != nil {
		addRunError(&resp.Diagnostics, phaseDestroy, spec, err, allowFailure, timeout)
	}
}

func (r *commandRunResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	summary := doing("importing", nameCommandRun, req.ID)
	if !commandIDPattern.MatchString(req.ID) {
		resp.Diagnostics.AddError(summary,
			fmt.Sprintf("%q is not a Run Command command id (36 characters, such as 0b2d5f3c-1a2b-4c3d-9e8f-0123456789ab). Import with: terraform import ssm_command_run.NAME COMMAND_ID", req.ID))
		return
	}
	if r.data == nil {
		resp.Diagnostics.AddError(summary, "The provider is not configured: it must be, to read the command.")
		return
	}
	res, spec, err := runcommand.Import(ctx, r.clients(), req.ID, runcommand.DefaultOutputLimit)
	if err != nil {
		if errors.Is(err, runcommand.ErrCommandNotFound) {
			resp.Diagnostics.AddError(summary,
				fmt.Sprintf("SSM has no command %s in this account and region. Run Command keeps history for 30 days.", req.ID))
			return
		}
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	m := importedModel(ctx, spec, res, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

var commandIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
