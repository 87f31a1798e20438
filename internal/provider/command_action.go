package provider

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/action/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/actionvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

var (
	_ action.ActionWithConfigure        = (*commandAction)(nil)
	_ action.ActionWithConfigValidators = (*commandAction)(nil)
	_ action.ActionWithValidateConfig   = (*commandAction)(nil)
)

// The ssm_command action: the run of ssm_command_run (same arguments, same
// engine, same diagnostics) as a Terraform action, invoked on demand
// (terraform apply -invoke) or by another resource's action_trigger. It
// reports progress to the CLI while it runs and stores nothing.

func newCommandAction() action.Action { return &commandAction{} }

type commandAction struct{ data *ProviderData }

type commandActionModel struct {
	commandArgs
	Timeouts timeouts.Value `tfsdk:"timeouts"`
}

// Failure tails sent as progress: as many lines as the failure diagnostic
// shows, fewer bytes (a progress line should stay readable), for the first
// 20 instances.
const (
	progressTailLines = 10
	progressTailBytes = 500
	// progressFailuresShown bounds the failure messages of a large fleet.
	progressFailuresShown = 20
)

// commandActionDocs adds to the shared documentation what is the action's own.
var commandActionDocs = map[string]string{
	"instance_ids": " Before sending, every listed instance is checked: see `max_unreachable` and `agent_wait_timeout`. " +
		"Terminated instances are left out without an error.",
	"comment": " The provider appends a run token (` [tf:` and 10 characters `]`) so that a send retried after a lost " +
		"response is recognised, never run twice; a comment longer than 84 characters is cut to make room.",
	"max_unreachable": " The action stores nothing: a later invocation runs on every selected instance again.",
	"agent_wait_timeout": " Only explicit instance ids and `tag:` targets are checked; stopped, stopping, shutting-down and " +
		"terminated instances are never waited for.",
}

func (a *commandAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_command"
}

func (a *commandAction) Schema(ctx context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	attrs := make(map[string]schema.Attribute, len(runArgs))
	for name, arg := range runArgs {
		doc := arg.doc + commandActionDocs[name]
		switch arg.kind {
		case argString:
			attrs[name] = schema.StringAttribute{Optional: true, MarkdownDescription: doc, Validators: arg.str}
		case argDuration:
			attrs[name] = schema.StringAttribute{CustomType: durationType{}, Optional: true, MarkdownDescription: doc, Validators: arg.str}
		case argBool:
			attrs[name] = schema.BoolAttribute{Optional: true, MarkdownDescription: doc}
		case argStringList:
			attrs[name] = schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: doc, Validators: arg.list}
		case argParameters:
			attrs[name] = schema.MapAttribute{ElementType: types.ListType{ElemType: types.StringType}, Optional: true,
				MarkdownDescription: doc, Validators: arg.mp}
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Runs a command, a script or any SSM document on one instance or a whole fleet through " +
			"Systems Manager Run Command, as a Terraform action (Terraform 1.14 and later): on demand with " +
			"`terraform apply -invoke=action.ssm_command.NAME`, or after another resource changes with a `lifecycle { action_trigger { ... } }` " +
			"block on that resource. It takes the arguments of `ssm_command_run` and runs the same way (the targets are checked " +
			"before sending, `Delayed` is waited through, `max_errors` and `max_unreachable` decide what a partial fleet may do), but " +
			"stores nothing: every invocation sends a new command to every selected instance.\n\n" +
			"While it runs it reports progress to the CLI (instances done and failed, then each failed instance's status, exit " +
			"code and last lines of stderr). When instances fail, the apply fails with one diagnostic naming each of them with its " +
			"exit code and the last lines of its output; with `allow_failure = true` it only warns. An interrupted apply (Ctrl-C) " +
			"or the `timeouts.invoke` deadline cancels the command on every instance.",
		Attributes: attrs,
		Blocks: map[string]schema.Block{
			"targets": schema.ListNestedBlock{
				MarkdownDescription: targetsDoc,
				Validators:          targetsValidators,
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"key": schema.StringAttribute{Required: true, MarkdownDescription: targetKeyDoc, Validators: targetKeyValidators},
					"values": schema.ListAttribute{ElementType: types.StringType, Required: true, MarkdownDescription: targetValuesDoc,
						Validators: targetValuesValidators},
				}},
			},
			"cloudwatch_output": schema.ListNestedBlock{
				MarkdownDescription: cloudWatchDoc,
				Validators:          cloudWatchValidators,
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"enabled":        schema.BoolAttribute{Optional: true, MarkdownDescription: cloudWatchOnDoc},
					"log_group_name": schema.StringAttribute{Optional: true, MarkdownDescription: cloudWatchLogDoc, Validators: cloudWatchLogValidator},
				}},
			},
			"timeouts": timeouts.BlockWithOpts(ctx, timeouts.Opts{
				InvokeDescription: "How long the run may take, agent wait included, before it is cancelled, as a Go duration. Default " +
					shortDuration(defaultCommandCreateTimeout) + ".",
			}),
		},
	}
}

func (a *commandAction) ConfigValidators(context.Context) []action.ConfigValidator {
	return []action.ConfigValidator{
		actionvalidator.ExactlyOneOf(path.MatchRoot("instance_ids"), path.MatchRoot("targets")),
		actionvalidator.AtLeastOneOf(path.MatchRoot("commands"), path.MatchRoot("script"), path.MatchRoot("parameters")),
		actionvalidator.Conflicting(path.MatchRoot("script"), path.MatchRoot("parameters")),
	}
}

func (a *commandAction) ValidateConfig(ctx context.Context, req action.ValidateConfigRequest, resp *action.ValidateConfigResponse) {
	var m commandActionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateCommandArgs(&m.commandArgs, &resp.Diagnostics)
}

func (a *commandAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// Invoke runs the command and waits for it, sending progress while it runs.
// The context ends when Terraform is interrupted (or at timeouts.invoke): the
// engine then cancels the command.
func (a *commandAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	var m commandActionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := m.Timeouts.Invoke(ctx, defaultCommandCreateTimeout)
	resp.Diagnostics.Append(diags...)
	spec, diags := m.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if a.data == nil {
		resp.Diagnostics.AddError(phaseAction.doing(spec), "The provider is not configured: it must be, to run the command.")
		return
	}
	send, flush := progressQueue(ctx, resp.SendProgress)
	defer flush()
	send(phaseAction.doing(spec))
	spec.Progress = progressSender(ctx, send)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := runcommand.Run(rctx, runClients(a.data), spec)
	for _, line := range failureLines(res) {
		send(line)
	}
	addOutputWarnings(&resp.Diagnostics, res)
	addNotReachedWarning(&resp.Diagnostics, phaseAction, spec, res,
		"The action stores nothing: invoke it again once they can receive the command to run it on them (it then runs on every selected instance).")
	if err != nil {
		addRunError(&resp.Diagnostics, phaseAction, spec, err, m.AllowFailure.ValueBool(), timeout)
		return
	}
	addNoTargetWarning(&resp.Diagnostics, phaseAction, spec, res)
	if res != nil && len(res.CommandIDs) > 0 {
		send(fmt.Sprintf("command %s: %d of %d instances succeeded", strings.Join(res.CommandIDs, ", "), successes(res), len(res.Invocations)))
	}
}

// progressQueue sends progress messages in order from a goroutine of its own,
// so that the run never blocks on them: the framework's SendProgress blocks
// until the event is streamed, and once Terraform has stopped the provider
// (Ctrl-C) nothing streams any more, while the engine must still go on to
// cancel the command. flush waits until the queued messages are sent (or the
// context ends), so that they reach Terraform before the completion event.
func progressQueue(ctx context.Context, sendProgress func(action.InvokeProgressEvent)) (send func(string), flush func()) {
	queue := make(chan string, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msg := range queue {
			if sendProgress == nil || ctx.Err() != nil {
				continue
			}
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				sendProgress(action.InvokeProgressEvent{Message: msg})
			}()
			select {
			case <-sent:
			case <-ctx.Done():
			}
		}
	}()
	var once sync.Once
	send = func(msg string) {
		select {
		case queue <- msg:
		default: // Terraform is not reading: drop rather than stall the run
		}
	}
	flush = func() {
		once.Do(func() {
			close(queue)
			<-done
		})
	}
	return send, flush
}

// progressSender logs the run's progress (as ssm_command_run does) and sends
// each change to Terraform: "2/5 instances done, 1 failed".
func progressSender(ctx context.Context, send func(string)) func(runcommand.Progress) {
	logger := progressLogger(ctx)
	last := runcommand.Progress{Targets: -1}
	return func(p runcommand.Progress) {
		logger(p)
		if p == last {
			return
		}
		last = p
		send(fmt.Sprintf("%d/%d instances done, %d failed", p.Completed, p.Targets, p.Errors))
	}
}

// failureLines are the progress lines of a finished run's unsuccessful
// invocations, by instance id: status, exit code and the last lines of stderr
// (of stdout when stderr is empty).
func failureLines(res *runcommand.Result) []string {
	if res == nil {
		return nil
	}
	var out []string
	more := 0
	for _, id := range sortedInvocationIDs(res) {
		inv := res.Invocations[id]
		if inv.Status == "Success" || unfinishedStatus(inv.Status) {
			continue
		}
		if len(out) == progressFailuresShown {
			more++
			continue
		}
		line := fmt.Sprintf("%s: %s (%s), exit code %d", id, inv.Status, inv.StatusDetails, inv.ResponseCode)
		stream, text := "stderr", inv.Stderr
		if strings.TrimSpace(text) == "" {
			stream, text = "stdout", inv.Stdout
		}
		if t := runcommand.Tail(text, progressTailLines, progressTailBytes); t != "" {
			line += fmt.Sprintf("; last lines of %s:\n  %s", stream, strings.ReplaceAll(t, "\n", "\n  "))
		}
		out = append(out, line)
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("and %d more instances where it did not succeed", more))
	}
	return out
}

func successes(res *runcommand.Result) int {
	n := 0
	for _, inv := range res.Invocations {
		if inv.Status == "Success" {
			n++
		}
	}
	return n
}
