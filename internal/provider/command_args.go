package provider

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// The arguments that say what runs where and how, shared by the ssm_command_run
// resource and the ssm_command action: their model, documentation, validation
// and conversion to the engine's Spec are written once, here. Each schema adds
// what is its own (the resource's plan modifiers, defaults and lifecycle notes).

// commandArgs is the shared part of both models (embedded by value, as the
// framework's reflection requires).
type commandArgs struct {
	Commands         types.List           `tfsdk:"commands"`
	Script           types.String         `tfsdk:"script"`
	Interpreter      types.String         `tfsdk:"interpreter"`
	Parameters       types.Map            `tfsdk:"parameters"`
	DocumentName     types.String         `tfsdk:"document_name"`
	DocumentVersion  types.String         `tfsdk:"document_version"`
	WorkingDirectory types.String         `tfsdk:"working_directory"`
	ExecutionTimeout checkedDurationValue `tfsdk:"execution_timeout"`
	InstanceIDs      types.List           `tfsdk:"instance_ids"`
	Targets          []targetModel        `tfsdk:"targets"`
	MaxConcurrency   types.String         `tfsdk:"max_concurrency"`
	MaxErrors        types.String         `tfsdk:"max_errors"`
	Comment          types.String         `tfsdk:"comment"`
	DeliveryTimeout  checkedDurationValue `tfsdk:"delivery_timeout"`
	OutputS3Bucket   types.String         `tfsdk:"output_s3_bucket_name"`
	OutputS3Prefix   types.String         `tfsdk:"output_s3_key_prefix"`
	CloudWatchOutput []cloudWatchModel    `tfsdk:"cloudwatch_output"`
	AgentWaitTimeout checkedDurationValue `tfsdk:"agent_wait_timeout"`
	AllowFailure     types.Bool           `tfsdk:"allow_failure"`
	MaxUnreachable   types.String         `tfsdk:"max_unreachable"`
	AllowEmpty       types.Bool           `tfsdk:"allow_empty"`
}

// runArgKind is the type of a shared argument.
type runArgKind int

const (
	argString   runArgKind = iota
	argDuration            // a string of durationType
	argBool
	argStringList
	argParameters // map of lists of strings
)

// runArg is the documentation and validation of one shared argument.
type runArg struct {
	kind runArgKind
	doc  string
	str  []validator.String
	list []validator.List
	mp   []validator.Map
}

// runArgs documents and validates the shared arguments (blocks aside: see
// targetsDoc and cloudWatchDoc).
var runArgs = map[string]runArg{
	"commands": {kind: argStringList,
		doc: "Shell commands to run with `AWS-RunShellScript`, one per line of the script the agent writes. " +
			"Conflicts with `script` and with `parameters.commands`.",
		list: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.NoNullValues(), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
	},
	"script": {kind: argString,
		doc: "A script delivered byte-exact (quotes, `$`, backslashes, heredocs and non-ASCII text arrive " +
			"unchanged: it is sent base64-encoded and decoded on the instance), then run with `interpreter`. Load it with " +
			"`file()`, or write `$${` for a literal `${` inside an HCL string.",
		str: []validator.String{stringvalidator.LengthAtLeast(1), stringvalidator.ConflictsWith(path.MatchRoot("commands"))},
	},
	"interpreter": {kind: argString,
		doc: "Program that runs `script`, such as `bash`, `python3` or `/usr/bin/env node`. By default the " +
			"script's own `#!` line is honoured, else `/bin/sh` runs it.",
		str: []validator.String{stringvalidator.LengthAtLeast(1), stringvalidator.AlsoRequires(path.MatchRoot("script"))},
	},
	"parameters": {kind: argParameters,
		doc: "Document parameters, for documents other than the default or for parameters that have " +
			"no argument of their own. Each value is a list of strings, as SendCommand takes them.",
		mp: []validator.Map{mapvalidator.SizeAtLeast(1), mapvalidator.NoNullValues(), mapvalidator.ValueListsAre(listvalidator.NoNullValues())},
	},
	"document_name": {kind: argString,
		doc: "SSM document to run (name or ARN). Defaults to `AWS-RunShellScript`.",
		str: []validator.String{stringvalidator.RegexMatches(documentNamePattern, "must be 3 to 128 letters, digits and _-.:/ (a document name or ARN)")},
	},
	"document_version": {kind: argString,
		doc: "Document version: `$DEFAULT` (when unset), `$LATEST` or a version number.",
		str: []validator.String{stringvalidator.RegexMatches(documentVersionPat, "must be $DEFAULT, $LATEST or a version number")},
	},
	"working_directory": {kind: argString,
		doc: "Directory the commands run in on the instance (the document's `workingDirectory`).",
		str: []validator.String{stringvalidator.LengthBetween(1, 4096)},
	},
	"execution_timeout": {kind: argDuration,
		doc: "How long the commands may run on each instance before the agent kills them (`ExecutionTimedOut`), " +
			"as a Go duration up to `48h`, such as `10m`. Defaults to the document's (`1h` for AWS-RunShellScript).",
		str: []validator.String{durationBetween(time.Second, maxExecutionTimeout)},
	},
	"instance_ids": {kind: argStringList,
		doc:  "Instances to run on. Any number: more than 50 are sent as several commands. The order does not matter.",
		list: instanceIDListValidators(),
	},
	"max_concurrency": {kind: argString,
		doc: "How many instances run at once: a number such as `10` or a percentage such as `25%`. Defaults to AWS's `50`.",
		str: []validator.String{stringvalidator.RegexMatches(maxConcurrencyPattern, "must be a positive number such as 10, or a percentage from 1% to 100%")},
	},
	"max_errors": {kind: argString,
		doc: "How many failed invocations stop the run (the rest end `Terminated`): a number or a percentage. " +
			"Defaults to AWS's `0`, which stops after the first error.",
		str: []validator.String{stringvalidator.RegexMatches(maxErrorsPattern, "must be a number such as 0 or 3, or a percentage from 0% to 100%")},
	},
	"comment": {kind: argString,
		doc: "Comment shown in the Run Command history, up to 100 characters.",
		str: []validator.String{charsBetween(0, 100)},
	},
	"delivery_timeout": {kind: argDuration,
		doc: "How long SSM tries to deliver the command to an instance whose agent is offline before that " +
			"invocation ends `DeliveryTimedOut` (SendCommand's `TimeoutSeconds`), between `30s` and `720h`.",
		str: []validator.String{durationBetween(minDeliveryTimeout, maxDeliveryTimeout)},
	},
	"output_s3_bucket_name": {kind: argString,
		doc: "S3 bucket the agent writes the complete output to. Needed to keep output beyond the API's " +
			"24,000 (stdout) and 8,000 (stderr) characters; the instance role must be allowed to write to it.",
		str: []validator.String{stringvalidator.LengthBetween(3, 63)},
	},
	"output_s3_key_prefix": {kind: argString,
		doc: "Key prefix of the output objects.",
		str: []validator.String{stringvalidator.LengthAtMost(500), stringvalidator.AlsoRequires(path.MatchRoot("output_s3_bucket_name"))},
	},
	"agent_wait_timeout": {kind: argDuration,
		doc: "How long to wait, before sending, for the targets' SSM agents to be `Online` (and to retry SSM's " +
			"`InvalidInstanceId` for agents still registering), such as `10m`. Set it when the instances are created or given " +
			"an identity in the same apply. Defaults to `0s`: check once, and when an agent cannot receive the command " +
			"(instance stopped or terminated, agent `ConnectionLost` or never registered) fail at once, naming each instance " +
			"and why, without sending anything.",
		str: []validator.String{durationBetween(0, 24*time.Hour)},
	},
	"allow_failure": {kind: argBool,
		doc: "When true, failed invocations do not fail the apply: a warning names them. It also lets the run go on " +
			"when instances cannot receive the command (as `max_unreachable = \"100%\"`).",
	},
	"max_unreachable": {kind: argString,
		doc: "How many of the selected instances may be unreachable when the command is sent: a count such as `10` " +
			"or a percentage of the selected instances such as `25%` (rounded down). Defaults to `0`: every selected instance must " +
			"be able to receive the command, else the apply fails before anything is sent, naming each one and why. Before sending, " +
			"every target is checked: an instance is *unreachable* when it is stopped or stopping, or its agent is `ConnectionLost`, " +
			"`Inactive` or never registered; it is *gone* when it is terminated, shutting down or no longer exists. Gone instances " +
			"are left out and never count. Within the threshold the command goes to the reachable instances only, and one warning " +
			"names the others and why. This is not `max_errors`: SSM's MaxErrors counts failed executions " +
			"of a delivered command, and an instance that cannot receive it ends `DeliveryTimedOut` (after `delivery_timeout`, an " +
			"hour by default), which SSM does not count against MaxErrors. `allow_failure = true` also lets the run go on with the " +
			"reachable part.",
		str: []validator.String{maxUnreachable()},
	},
	"allow_empty": {kind: argBool,
		doc: "Whether `targets` that select no instance (a tag or resource group matching nothing, or only " +
			"terminated instances) are fine. Defaults to `false`: such a run fails at apply with an error naming the targets. " +
			"With `true` the apply succeeds and sends nothing.",
	},
}

const (
	targetsDoc = "Instances to run on by tag (`key = \"tag:Role\"`), tag key (`tag-key`), ids (`InstanceIds`) or " +
		"resource group (`resource-groups:Name`); up to 5 blocks, all of which must match. Conflicts with `instance_ids`."
	targetKeyDoc     = "Target key, such as `tag:Environment`."
	targetValuesDoc  = "Target values, up to 50."
	cloudWatchDoc    = "Send output to CloudWatch Logs too."
	cloudWatchOnDoc  = "Whether output goes to CloudWatch Logs. Defaults to true."
	cloudWatchLogDoc = "Log group; defaults to `/aws/ssm/<document name>`."
)

var (
	targetsValidators      = []validator.List{listvalidator.SizeAtMost(5)}
	targetKeyValidators    = []validator.String{targetKey()}
	targetValuesValidators = []validator.List{listvalidator.SizeBetween(1, 50), listvalidator.NoNullValues()}
	cloudWatchValidators   = []validator.List{listvalidator.SizeAtMost(1)}
	cloudWatchLogValidator = []validator.String{stringvalidator.LengthBetween(1, 512)}
)

// spec converts the arguments to the engine's Spec.
func (m *commandArgs) spec(ctx context.Context) (runcommand.Spec, diag.Diagnostics) {
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
		MaxUnreachable:     m.MaxUnreachable.ValueString(),
		AllowEmpty:         m.AllowEmpty.ValueBool(),
	}
	if s.DocumentName == "" {
		s.DocumentName = runcommand.DefaultDocument
	}
	if m.AllowFailure.ValueBool() {
		// allow_failure also lets the run go on with the reachable part.
		s.MaxUnreachable = "100%"
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
		s.CloudWatchLogEnabled = m.CloudWatchOutput[0].Enabled.IsNull() || m.CloudWatchOutput[0].Enabled.ValueBool()
		s.CloudWatchLogGroup = m.CloudWatchOutput[0].LogGroupName.ValueString()
	}
	return s, diags
}

// validateCommandArgs rejects commands given twice and parameters that the
// arguments would silently override, and empty command lists.
func validateCommandArgs(m *commandArgs, diags *diag.Diagnostics) {
	if m.Parameters.IsNull() || m.Parameters.IsUnknown() {
		return
	}
	params := m.Parameters.Elements()
	if _, ok := params["commands"]; ok && !m.Commands.IsNull() {
		diags.AddAttributeError(path.Root("parameters").AtMapKey("commands"), "commands given twice",
			"Set the commands either with the commands argument or with parameters.commands, not both.")
	}
	for name, arg := range map[string]struct {
		attr string
		set  bool
	}{
		"executionTimeout": {"execution_timeout", !m.ExecutionTimeout.IsNull()},
		"workingDirectory": {"working_directory", !m.WorkingDirectory.IsNull()},
	} {
		if _, ok := params[name]; ok && arg.set {
			diags.AddAttributeError(path.Root("parameters").AtMapKey(name), name+" given twice",
				fmt.Sprintf("parameters.%s and the %s argument both set the document's %s: keep one of them.", name, arg.attr, name))
		}
	}
	if v, ok := params["commands"]; ok {
		if l, ok := v.(types.List); ok && !l.IsUnknown() && !l.IsNull() && len(l.Elements()) == 0 {
			diags.AddAttributeError(path.Root("parameters").AtMapKey("commands"), "no commands",
				"parameters.commands is empty: give at least one command (AWS-RunShellScript requires it).")
		}
	}
}

// runClients are the engine's clients from the provider's.
func runClients(d *ProviderData) runcommand.Clients {
	return runcommand.Clients{SSM: d.SSM, S3: d.S3,
		Agents: &agentwait.Clients{SSM: d.SSM, EC2: d.EC2, IAM: d.IAM}}
}
