package provider

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
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
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

var (
	_ resource.ResourceWithConfigure        = (*fileResource)(nil)
	_ resource.ResourceWithConfigValidators = (*fileResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*fileResource)(nil)
	_ resource.ResourceWithModifyPlan       = (*fileResource)(nil)
)

const (
	defaultFileTimeout = 30 * time.Minute
	// driftPrefix starts the sha256 stored when verify_on_read found the file
	// different (or missing) on some instance, so that the plan shows a change.
	driftPrefix = "drifted from "
)

var fileModePattern = regexp.MustCompile(`^0?[0-7]{3}$|^[0-7]{4}$`)

func newFileResource() resource.Resource { return &fileResource{} }

type fileResource struct{ data *ProviderData }

type fileModel struct {
	ID               types.String         `tfsdk:"id"`
	InstanceIDs      types.List           `tfsdk:"instance_ids"`
	Targets          []targetModel        `tfsdk:"targets"`
	Content          types.String         `tfsdk:"content"`
	ContentBase64    types.String         `tfsdk:"content_base64"`
	Source           types.String         `tfsdk:"source"`
	ContentWO        types.String         `tfsdk:"content_wo"`
	ContentWOVersion types.Int64          `tfsdk:"content_wo_version"`
	Destination      types.String         `tfsdk:"destination"`
	Platform         types.String         `tfsdk:"platform"`
	Mode             types.String         `tfsdk:"mode"`
	Owner            types.String         `tfsdk:"owner"`
	Group            types.String         `tfsdk:"group"`
	StagingBucket    types.String         `tfsdk:"staging_bucket"`
	StagingKeyPrefix types.String         `tfsdk:"staging_key_prefix"`
	KeepOnDestroy    types.Bool           `tfsdk:"keep_on_destroy"`
	MaxUnreachable   types.String         `tfsdk:"max_unreachable"`
	AllowEmpty       types.Bool           `tfsdk:"allow_empty"`
	Forget           types.Bool           `tfsdk:"forget_unreachable"`
	VerifyOnRead     types.Bool           `tfsdk:"verify_on_read"`
	AgentWaitTimeout checkedDurationValue `tfsdk:"agent_wait_timeout"`
	Timeouts         timeouts.Value       `tfsdk:"timeouts"`

	SHA256     types.String `tfsdk:"sha256"`
	Size       types.Int64  `tfsdk:"size"`
	CommandIDs types.List   `tfsdk:"command_ids"`
	Pending    types.Map    `tfsdk:"pending_instances"`
}

func (r *fileResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_file"
}

func (r *fileResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replaceStr := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Copies a file to one instance or a fleet through Systems Manager Run Command, without SSH or SCP. " +
			fmt.Sprintf("Payloads up to %d bytes travel inline in the command (base64, so they are in the Run Command history); larger ones, "+
				"and `content_wo` always, are uploaded once to `staging_bucket` ", filecopy.DefaultInlineThreshold) +
			"and each instance downloads them through a presigned URL made after its agent was found ready, valid as long as the command can run " +
			"(with `curl`, else `wget`, else `python3`); " +
			"the staged object is deleted after the copy, whether it succeeded or not. On each instance the file is written to a temporary " +
			"file beside `destination`, checked against its sha256, given `mode`/`owner`/`group`, then renamed over the destination: " +
			"a failed copy leaves the previous file as it was. Missing parent directories are created `0755`.\n\n" +
			"A change of the content, `mode`, `owner` or `group` copies again in place; adding or removing `instance_ids` updates in place " +
			"(copies to the added ones, removes the file from the removed ones); a change of `destination`, `platform` or `targets` " +
			"replaces the resource (the old file is removed unless `keep_on_destroy`). Destroy removes the file. Instances that are " +
			"terminated are forgotten; instances that cannot receive a command now are handled by `max_unreachable` (copy) and " +
			"`forget_unreachable` (removal).",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The destination.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"instance_ids": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				PlanModifiers: []planmodifier.List{sameInstanceSet{}},
				MarkdownDescription: "Instances to copy to (any number: more than 50 are sent as several commands). The order does not " +
					"matter: a reordered list is no change. Adding instances updates in place and copies to the added ones only; " +
					"removing instances updates in place and removes the file from the removed ones only (a terminated one is just " +
					"dropped; a stopped or offline one fails the apply unless `forget_unreachable`). Conflicts with `targets`.",
				Validators: instanceIDListValidators(),
			},
			"content": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The file's content as UTF-8 text. Stored in state (Terraform shows it as sensitive when it " +
					"comes from a sensitive value); use `content_wo` for secrets. Exactly one of `content`, `content_base64`, `source`, `content_wo`."},
			"content_base64": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The file's content, base64-encoded (for binary content such as `filebase64(...)`)."},
			"source": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Path of a local file to copy (relative to the working directory). It must exist at plan time: it is read then to " +
					"compute its sha256 (a changed file copies again), and streamed to the staging bucket when it is large, never held in memory."},
			"content_wo": schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
				MarkdownDescription: "Write-only content, for secrets: never stored in the plan or state (Terraform 1.11 or later), and " +
					"never sent inside the command: whatever its size it is staged in `staging_bucket` (required with `content_wo`) and " +
					"downloaded through a presigned URL; the object is deleted after the copy, so the URL left in the command history " +
					"leads nowhere. Terraform cannot see it change: bump `content_wo_version` to copy it again."},
			"content_wo_version": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "Any number; changing it copies `content_wo` again.",
				Validators:          []validator.Int64{int64validator.AlsoRequires(path.MatchRoot("content_wo"))}},
			"destination": schema.StringAttribute{Required: true, PlanModifiers: replaceStr,
				MarkdownDescription: "Absolute path of the file on the instances, such as `/etc/app/app.conf` (or `C:\\app\\app.conf` on " +
					"Windows). Missing parent directories are created with mode `0755`, owned by the agent's user (root); existing ones " +
					"are left as they are. Changing it replaces the resource."},
			"platform": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(filecopy.PlatformLinux), PlanModifiers: replaceStr,
				MarkdownDescription: "`linux` (default; `AWS-RunShellScript`, also for macOS) or `windows` (`AWS-RunPowerShellScript`). " +
					"The Windows script is checked by its text and structure in this provider's tests, not run: see the Windows section of this page.",
				Validators: []validator.String{stringvalidator.OneOf(filecopy.PlatformLinux, filecopy.PlatformWindows)}},
			"mode": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Octal permissions such as `0644` or `0600`. When unset the file gets `0644`. Linux only.",
				Validators:          []validator.String{stringvalidator.RegexMatches(fileModePattern, "must be octal permissions such as 0644, 0600 or 0755")}},
			"owner": schema.StringAttribute{Optional: true, MarkdownDescription: "Owner (user name or uid) of the file. Linux only; the agent runs as root.",
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$`), "must be a user name or uid")}},
			"group": schema.StringAttribute{Optional: true, MarkdownDescription: "Group (name or gid) of the file. Linux only.",
				Validators: []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$`), "must be a group name or gid")}},
			"staging_bucket": schema.StringAttribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("S3 bucket for payloads above %d bytes and for `content_wo` (required with it). The provider's credentials need `s3:PutObject`, "+
					"`s3:GetObject` (to presign), `s3:DeleteObject` and `s3:ListBucket`; the instances need no S3 permission (the URL is presigned) "+
					"but must reach S3 over HTTPS.", filecopy.DefaultInlineThreshold),
				Validators: []validator.String{stringvalidator.LengthBetween(3, 63)}},
			"staging_key_prefix": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Key prefix of the staged objects. Defaults to `" + filecopy.DefaultKeyPrefix + "`.",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 512), stringvalidator.AlsoRequires(path.MatchRoot("staging_bucket"))}},
			"keep_on_destroy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "When true, destroying (or replacing) the resource leaves the file on the instances."},
			"max_unreachable": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("0"),
				MarkdownDescription: "How many targets may be unreachable when the file is copied: a count such as `3` or a percentage of the " +
					"selected instances such as `25%`, as for `ssm_command_run`. Unreachable means the instance is stopped or stopping, or " +
					"its agent is `ConnectionLost`, inactive or not registered. Within the threshold the file is copied to the others, " +
					"the apply warns naming the skipped ones, and they are recorded in `pending_instances`: the next apply copies to " +
					"exactly those (once they are back). Over it the apply fails before anything is sent. Terminated instances never " +
					"count: they are dropped. Defaults to `0`. It does not apply to removal: see `forget_unreachable`.",
				Validators: []validator.String{stringvalidator.RegexMatches(maxErrorsPattern, "must be a number such as 0 or 3, or a percentage from 0% to 100%")}},
			"allow_empty": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "When true, `targets` that select no instance (or only terminated ones) copy nothing and the apply " +
					"succeeds with a warning. Defaults to `false`: an empty selection fails the apply, naming the targets, as for `ssm_command_run`."},
			"forget_unreachable": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "What removing the file (destroy, replacement, or instances removed from `instance_ids`) does on " +
					"instances that are stopped or whose agent is offline. `false` (default): the apply or destroy fails within seconds, " +
					"naming them, and nothing is removed anywhere. `true`: they are forgotten with a warning and keep the file; the file " +
					"is removed from the others. Terminated instances are always forgotten: they hold nothing to remove. Terraform " +
					"destroys with the stored value, so set it and apply (an in-place update that sends nothing) before a destroy."},
			"verify_on_read": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "When true, every refresh checks the file's sha256 on all targets (one command for all of them) and " +
					"plans a new copy when it differs or is missing somewhere. Needs the agents to be online at plan time; when they " +
					"are not, the refresh warns and keeps the state. Not with `content_wo`: no digest of a secret is kept to compare with."},
			"agent_wait_timeout": schema.StringAttribute{CustomType: durationType{}, Optional: true, PlanModifiers: []planmodifier.String{durationEquivalent()},
				MarkdownDescription: "How long to wait for the targets' SSM agents to be `Online` before sending, as for `ssm_command_run`. " +
					"Defaults to `0s`: check once. Stopped, stopping and terminated instances are never waited for (a copy, a removal and a " +
					"destroy decide about them at once: see `max_unreachable` and `forget_unreachable`).",
				Validators: []validator.String{durationBetween(0, 24*time.Hour)}},
			"sha256": schema.StringAttribute{Computed: true, MarkdownDescription: "sha256 of the content (lower-case hex), checked on every instance the " +
				"file was copied to (instances in `pending_instances` do not have it). Null with `content_wo`: no digest of a secret is kept " +
				"(the copy is still checked, against a digest of the secret behind random bytes that only the staged object holds). " +
				"After a refresh with `verify_on_read` that found the file changed or missing somewhere, it reads `drifted from <sha256>: ` and the instances, " +
				"and the next plan copies again."},
			"size":        schema.Int64Attribute{Computed: true, MarkdownDescription: "Size of the content in bytes (null with `content_wo`)."},
			"command_ids": schema.ListAttribute{ElementType: types.StringType, Computed: true, MarkdownDescription: "Commands of the last copy."},
			"pending_instances": schema.MapAttribute{ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Instances that do not have the current file, by instance id, with the reason: unreachable at the last " +
					"copy (within `max_unreachable`), or their copy failed in the last update. While it is not empty every plan shows an " +
					"update, and the apply copies to these instances only (to all of them when the content, `mode`, `owner` or `group` changed)."},
		},
		Blocks: map[string]schema.Block{
			"targets": schema.ListNestedBlock{
				MarkdownDescription: "Instances to copy to by tag (`key = \"tag:Role\"`), tag key, ids or resource group, as for " +
					"`ssm_command_run`; up to 5 blocks. Changing them replaces the resource. Conflicts with `instance_ids`.",
				PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplace()},
				Validators:    []validator.List{listvalidator.SizeAtMost(5)},
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"key": schema.StringAttribute{Required: true, MarkdownDescription: "Target key, such as `tag:Environment`.",
						Validators: []validator.String{targetKey()}},
					"values": schema.ListAttribute{ElementType: types.StringType, Required: true, MarkdownDescription: "Target values, up to 50.",
						Validators: []validator.List{listvalidator.SizeBetween(1, 50)}},
				}},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true, Read: true,
				CreateDescription: "How long the copy may take, agent wait included. Default " + shortDuration(defaultFileTimeout) + ".",
				UpdateDescription: "How long a new copy may take. Default " + shortDuration(defaultFileTimeout) + ".",
				DeleteDescription: "How long removing the file may take. Default " + shortDuration(defaultFileTimeout) + ".",
				ReadDescription:   "How long the `verify_on_read` check may take. Default " + shortDuration(defaultFileTimeout) + "."}),
		},
	}
}

// sameInstanceSet plans the stored instance_ids when the configured ones are
// the same set in another order, so that a reordered list is no change at all
// (the plan is empty).
type sameInstanceSet struct{}

func (sameInstanceSet) Description(context.Context) string {
	return "A reordered list of the same instances is no change."
}
func (m sameInstanceSet) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }
func (sameInstanceSet) PlanModifyList(ctx context.Context, req planmodifier.ListRequest, resp *planmodifier.ListResponse) {
	if req.StateValue.IsNull() || req.PlanValue.IsNull() || req.PlanValue.IsUnknown() || req.StateValue.Equal(req.PlanValue) {
		return
	}
	from, to := stringsOf(ctx, req.StateValue), stringsOf(ctx, req.PlanValue)
	if added, removed := idChanges(from, to); len(added) == 0 && len(removed) == 0 && len(from) == len(to) {
		resp.PlanValue = req.StateValue
	}
}

func (r *fileResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("instance_ids"), path.MatchRoot("targets")),
		resourcevalidator.ExactlyOneOf(path.MatchRoot("content"), path.MatchRoot("content_base64"), path.MatchRoot("source"), path.MatchRoot("content_wo")),
	}
}

// ValidateConfig checks at plan time what the copy would otherwise fail on:
// the destination, the source file, base64, and a payload too large to travel
// inline without a staging bucket.
func (r *fileResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m fileModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	platform := m.Platform.ValueString()
	if !m.Destination.IsUnknown() && !m.Platform.IsUnknown() {
		if err := filecopy.ValidateDestination(m.Destination.ValueString(), platform); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("destination"), "invalid destination",
				fmt.Sprintf("destination: %v. Give the absolute path of the file on the instances, such as /etc/app/app.conf.", err))
		}
	}
	if platform == filecopy.PlatformWindows {
		for _, a := range []struct {
			name string
			v    types.String
		}{{"mode", m.Mode}, {"owner", m.Owner}, {"group", m.Group}} {
			if !a.v.IsNull() {
				resp.Diagnostics.AddAttributeError(path.Root(a.name), a.name+" is Linux only",
					a.name+" cannot be applied on Windows (platform = \"windows\"): remove it.")
			}
		}
	}
	if !m.ContentWO.IsNull() && m.StagingBucket.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("staging_bucket"), "staging_bucket required with content_wo",
			"content_wo is a secret, and a secret never travels inside a command: SSM keeps every command's parameters in its "+
				"history for 30 days, readable by anyone allowed ssm:ListCommands, and inline content would be there (base64). "+
				"With staging_bucket the secret is uploaded to S3, each instance downloads it through a short-lived presigned URL, "+
				"and the object is deleted after the copy. Set staging_bucket to a bucket the provider's credentials can write to, "+
				"or use content for values that are not secret.")
	}
	if !m.ContentWO.IsNull() && m.VerifyOnRead.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("verify_on_read"), "verify_on_read cannot check content_wo",
			"verify_on_read compares each instance's sha256 of the file with the one in state, and prints it in the command's "+
				"output, which SSM keeps for 30 days: for a secret both would be a digest anyone could test guesses against. "+
				"The provider keeps no digest of content_wo. Remove verify_on_read (a changed content_wo_version copies the secret again).")
	}
	size, attr, known := int64(0), "", true
	switch {
	case !m.Content.IsNull():
		size, attr, known = int64(len(m.Content.ValueString())), "content", !m.Content.IsUnknown()
	case !m.ContentWO.IsNull():
		size, attr, known = int64(len(m.ContentWO.ValueString())), "content_wo", !m.ContentWO.IsUnknown()
	case !m.ContentBase64.IsNull():
		attr, known = "content_base64", !m.ContentBase64.IsUnknown()
		if known {
			b, err := base64.StdEncoding.DecodeString(m.ContentBase64.ValueString())
			if err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("content_base64"), "invalid content_base64",
					fmt.Sprintf("content_base64 is not valid base64 (%v): encode the content with base64encode() or filebase64().", err))
				return
			}
			size = int64(len(b))
		}
	case !m.Source.IsNull():
		attr, known = "source", !m.Source.IsUnknown()
		if known {
			fi, err := os.Stat(m.Source.ValueString())
			switch {
			case err != nil:
				resp.Diagnostics.AddAttributeError(path.Root("source"), "source file not readable",
					fmt.Sprintf("source: %v. Give the path of an existing local file (relative paths are relative to the working directory; use path.module for files beside the configuration).", err))
				return
			case !fi.Mode().IsRegular():
				resp.Diagnostics.AddAttributeError(path.Root("source"), "source is not a file",
					fmt.Sprintf("source: %s is not a regular file: give the path of a file.", m.Source.ValueString()))
				return
			}
			size = fi.Size()
		}
	}
	if known && attr != "" && attr != "content_wo" && filecopy.NeedsStaging(size, 0) && m.StagingBucket.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("staging_bucket"), "staging_bucket required",
			fmt.Sprintf("The content given in %s is %d bytes; above %d bytes a file is staged in S3 and downloaded by the instances "+
				"through a short-lived presigned URL. Set staging_bucket to a bucket the provider's credentials can write to.",
				attr, size, filecopy.DefaultInlineThreshold))
	}
}

func (r *fileResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (r *fileResource) clients() filecopy.Clients {
	return filecopy.NewClients(runcommand.Clients{SSM: r.data.SSM, S3: r.data.S3,
		Agents: &agentwait.Clients{SSM: r.data.SSM, EC2: r.data.EC2, IAM: r.data.IAM}}, r.data.S3)
}

// payload is the content to copy, from the configuration (content_wo is only
// there). ok is false while a value is unknown.
func (m *fileModel) payload() (p filecopy.Payload, ok bool, err error) {
	switch {
	case m.Content.IsUnknown() || m.ContentBase64.IsUnknown() || m.Source.IsUnknown() || m.ContentWO.IsUnknown():
		return p, false, nil
	case !m.Content.IsNull():
		p.Data = []byte(m.Content.ValueString())
	case !m.ContentBase64.IsNull():
		p.Data, err = base64.StdEncoding.DecodeString(m.ContentBase64.ValueString())
	case !m.Source.IsNull():
		p.Path = m.Source.ValueString()
	case !m.ContentWO.IsNull():
		p.Data = []byte(m.ContentWO.ValueString())
	default:
		return p, false, nil
	}
	return p, err == nil, err
}

func (m *fileModel) target(ctx context.Context, diags *diag.Diagnostics) filecopy.Target {
	var t filecopy.Target
	if !m.InstanceIDs.IsNull() {
		diags.Append(m.InstanceIDs.ElementsAs(ctx, &t.InstanceIDs, false)...)
	}
	for _, tg := range m.Targets {
		var values []string
		diags.Append(tg.Values.ElementsAs(ctx, &values, false)...)
		t.Targets = append(t.Targets, runcommand.Target{Key: tg.Key.ValueString(), Values: values})
	}
	return t
}

func (m *fileModel) mode() string {
	if m.Platform.ValueString() == filecopy.PlatformWindows {
		return ""
	}
	if m.Mode.IsNull() || m.Mode.ValueString() == "" {
		return "0644"
	}
	return m.Mode.ValueString()
}

func (m *fileModel) agentWait(diags *diag.Diagnostics) time.Duration {
	d, _ := goDuration(m.AgentWaitTimeout, diags)
	return d
}

func (m *fileModel) reach() filecopy.Reach {
	return filecopy.Reach{MaxUnreachable: m.MaxUnreachable.ValueString(), AllowEmpty: m.AllowEmpty.ValueBool()}
}

// removalReach: removing the file never counts a terminated instance, and an
// unreachable one only with forget_unreachable (then any number of them).
func (m *fileModel) removalReach() filecopy.Reach {
	r := filecopy.Reach{MaxUnreachable: "0", AllowEmpty: true}
	if m.Forget.ValueBool() {
		r.MaxUnreachable = "100%"
	}
	return r
}

// contentChanged: what copies the file again to every target.
func contentChanged(plan, state *fileModel) bool {
	return !plan.SHA256.Equal(state.SHA256) || !plan.Mode.Equal(state.Mode) || !plan.Owner.Equal(state.Owner) ||
		!plan.Group.Equal(state.Group) || !plan.ContentWOVersion.Equal(state.ContentWOVersion)
}

// keptPending is the stored pending_instances still targeted by the plan
// (instances removed from instance_ids are no longer pending).
func keptPending(ctx context.Context, state, plan *fileModel, diags *diag.Diagnostics) map[string]string {
	pending := stringMap(ctx, state.Pending, diags)
	if plan.InstanceIDs.IsNull() {
		return pending
	}
	in := map[string]bool{}
	for _, id := range stringsOf(ctx, plan.InstanceIDs) {
		in[id] = true
	}
	for id := range pending {
		if !in[id] {
			delete(pending, id)
		}
	}
	return pending
}

// pendingValue is pending_instances for a map that may be empty: the stored
// null stays null, so that a state written before the attribute existed plans
// no change.
func pendingValue(pending map[string]string, stored types.Map) types.Map {
	if len(pending) == 0 && stored.IsNull() {
		return stored
	}
	return mapValue(pending)
}

// ModifyPlan computes the planned sha256 and size from the configuration (a
// changed source file shows as a change), and plans a copy only when the
// content, content_wo_version, mode, owner or group changed, instances were
// added, some instances are still pending, or the last refresh found drift.
func (r *fileResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config, state fileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	hasState := !req.State.Raw.IsNull()
	if hasState {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	p, ok, err := config.payload()
	if err != nil {
		return // reported by ValidateConfig
	}
	plan.SHA256, plan.Size = types.StringUnknown(), types.Int64Unknown()
	if ok {
		sum, size, err := p.Digest()
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("source"), fmt.Sprintf("reading source file (%s)", p.Path), fmt.Sprintf("Computing its sha256 failed: %v.", err))
			return
		}
		plan.SHA256, plan.Size = types.StringValue(sum), types.Int64Value(size)
		// Nothing computed from a secret is kept (a digest lets anyone who
		// reads the plan or the state test guesses, and the size narrows
		// them): only its version triggers a new copy.
		if !config.ContentWO.IsNull() {
			plan.SHA256, plan.Size = types.StringNull(), types.Int64Null()
		}
	}
	if hasState && !plan.ID.IsUnknown() {
		added, _ := idChanges(stringsOf(ctx, state.InstanceIDs), stringsOf(ctx, plan.InstanceIDs))
		pending := keptPending(ctx, &state, &plan, &resp.Diagnostics)
		if contentChanged(&plan, &state) || len(added) > 0 || len(pending) > 0 || plan.InstanceIDs.IsUnknown() {
			plan.CommandIDs, plan.Pending = types.ListUnknown(types.StringType), types.MapUnknown(types.StringType)
		} else {
			plan.CommandIDs, plan.Pending = state.CommandIDs, pendingValue(pending, state.Pending)
		}
	} else {
		plan.CommandIDs, plan.Pending = types.ListUnknown(types.StringType), types.MapUnknown(types.StringType)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// where names the file's destination and instances for a summary, joined by
// prep: "/etc/motd to 3 instances", "/etc/motd on instance i-0abc".
func (m *fileModel) where(ctx context.Context, prep string, diags *diag.Diagnostics) string {
	t := m.target(ctx, diags)
	return m.Destination.ValueString() + " " + prep + " " + targetText(t.InstanceIDs, t.Targets)
}

// copyTo copies the content to t (the plan's targets, or only some instances
// of them) and stores sha256, size and command ids in plan. It reports its
// diagnostics and returns the instances of this run that do not have the file
// now (skipped as unreachable, or whose copy failed), and whether the run got
// as far as sending (true also when some invocations failed).
func (r *fileResource) copyTo(ctx context.Context, plan, config *fileModel, t filecopy.Target, reach filecopy.Reach, timeout time.Duration, diags *diag.Diagnostics) (map[string]string, bool) {
	summary := "copying " + plan.Destination.ValueString() + " to " + targetText(t.InstanceIDs, t.Targets)
	p, ok, err := config.payload()
	if err != nil || !ok {
		diags.AddError(summary, fmt.Sprintf("The content is not known or not valid at apply time: %v.", err))
		return nil, false
	}
	spec := filecopy.Spec{
		Target: t, Payload: p, Destination: plan.Destination.ValueString(),
		Mode: plan.mode(), Owner: plan.Owner.ValueString(), Group: plan.Group.ValueString(), Platform: plan.Platform.ValueString(),
		Secret:        !config.ContentWO.IsNull(),
		StagingBucket: plan.StagingBucket.ValueString(), StagingKeyPrefix: plan.StagingKeyPrefix.ValueString(),
		Reach:            reach,
		AgentWaitTimeout: plan.agentWait(diags), Comment: "ssm_file " + truncate(plan.Destination.ValueString(), 80),
	}
	if s := plan.SHA256.ValueString(); !plan.SHA256.IsUnknown() && !strings.HasPrefix(s, driftPrefix) && config.ContentWO.IsNull() {
		spec.SHA256 = s
	}
	if diags.HasError() {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.clients()
	if spec.StagingBucket != "" {
		if n, err := filecopy.CleanupStaging(ctx, c, spec.StagingBucket, spec.StagingKeyPrefix, spec.Destination, plan.target(ctx, diags)); err != nil {
			addCleanupWarning(diags, spec.Destination, spec.StagingBucket, err)
		} else if n > 0 {
			diags.AddWarning(cleanupSummary(spec.Destination, spec.StagingBucket),
				fmt.Sprintf("%d object(s) left in s3://%s by an earlier interrupted copy of %s were deleted.", n, spec.StagingBucket, spec.Destination))
		}
	}
	tflog.Debug(ctx, "copying file", map[string]any{"destination": spec.Destination, "secret": spec.Secret,
		"instance_ids": t.InstanceIDs, "targets": len(t.Targets)})
	res, err := filecopy.Copy(ctx, c, spec)
	var fe *runcommand.FailedError
	if err != nil && !errors.As(err, &fe) {
		addFileError(diags, summary, "", err, timeout)
		return nil, false
	}
	plan.SHA256, plan.Size = types.StringValue(res.SHA256), types.Int64Value(res.Size)
	if spec.Secret {
		plan.SHA256, plan.Size = types.StringNull(), types.Int64Null()
	}
	ids, d := types.ListValueFrom(ctx, types.StringType, append([]string{}, res.Run.CommandIDs...))
	diags.Append(d...)
	plan.CommandIDs = ids
	plan.ID = plan.Destination
	plan.ContentWO = types.StringNull()
	pending := map[string]string{}
	var skipped []string
	for _, sk := range res.Run.NotReached {
		if !sk.Gone {
			pending[sk.InstanceID] = "not reached: " + sk.Reason
			skipped = append(skipped, sk.InstanceID+": "+sk.Reason)
		}
	}
	if len(skipped) > 0 {
		diags.AddWarning(summary+": "+strconv.Itoa(len(skipped))+" instance(s) not reached",
			"These instances could not receive the command and were skipped (within max_unreachable = "+plan.MaxUnreachable.ValueString()+
				"):\n  - "+strings.Join(skipped, "\n  - ")+"\n\nThey are recorded in pending_instances: the next apply copies the file to "+
				"exactly these instances once they are back (start them or repair their agents). Remove them from instance_ids if they are gone for good.")
	}
	if len(res.Run.CommandIDs) == 0 && len(skipped) == 0 {
		diags.AddWarning(summary+": no instance selected",
			"The targets selected no instance that exists (allow_empty = true), so nothing was copied. The next content change copies to the instances selected then.")
	}
	if fe != nil {
		for _, inv := range fe.Failed {
			pending[inv.InstanceID] = failedReason(inv)
		}
		addFileError(diags, summary, "", err, timeout)
	}
	return pending, true
}

// failedReason says in one line why an invocation did not copy the file.
func failedReason(inv *runcommand.Invocation) string {
	why := inv.Status
	if inv.StatusDetails != "" && inv.StatusDetails != inv.Status {
		why += " (" + inv.StatusDetails + ")"
	}
	if inv.ResponseCode > 0 {
		why += fmt.Sprintf(", exit %d", inv.ResponseCode)
	}
	if tail := strings.TrimSpace(inv.Stderr); tail != "" {
		lines := strings.Split(tail, "\n")
		why += ": " + truncate(strings.TrimSpace(lines[len(lines)-1]), 200)
	}
	return "copy failed: " + why
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)
	return "..." + string(r[len(r)-n+3:])
}

// Create copies to every target. A copy that failed on some instances stores
// nothing: the next apply copies to every target again (the file is written
// whole or not at all, so writing it again where it arrived is harmless).
func (r *fileResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config fileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultFileTimeout)
	resp.Diagnostics.Append(diags...)
	pending, ran := r.copyTo(ctx, &plan, &config, plan.target(ctx, &resp.Diagnostics), plan.reach(), timeout, &resp.Diagnostics)
	if !ran || resp.Diagnostics.HasError() {
		return
	}
	plan.Pending = mapValue(pending)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read makes no API call unless verify_on_read is set; then one command checks
// the sha256 on every target.
func (r *fileResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state fileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.VerifyOnRead.ValueBool() && r.data != nil {
		timeout, diags := state.Timeouts.Read(ctx, defaultFileTimeout)
		resp.Diagnostics.Append(diags...)
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		t := state.target(ctx, &resp.Diagnostics)
		dest := state.Destination.ValueString()
		sums, res, err := filecopy.Verify(rctx, r.clients(), t, dest, state.Platform.ValueString(), state.agentWait(&resp.Diagnostics),
			filecopy.Reach{AllowEmpty: true})
		var fe *runcommand.FailedError
		if err != nil && !errors.As(err, &fe) {
			resp.Diagnostics.AddWarning("verifying "+state.where(ctx, "on", &resp.Diagnostics),
				fmt.Sprintf("verify_on_read: checking the file's sha256 on the instances failed, so drift is not known and the state is kept: %v", err))
		} else {
			want := state.SHA256.ValueString()
			if rest, ok := strings.CutPrefix(want, driftPrefix); ok {
				want, _, _ = strings.Cut(rest, ":")
			}
			// Pending instances are already planned for a copy; gone ones
			// hold nothing to check.
			skip := stringMap(ctx, state.Pending, &resp.Diagnostics)
			if res != nil {
				for _, sk := range res.NotReached {
					skip[sk.InstanceID] = sk.Reason
				}
			}
			var drift []string
			for id, s := range sums {
				if _, ok := skip[id]; ok {
					continue
				}
				if s != want && s != "" {
					if s == filecopy.Missing {
						drift = append(drift, id+" missing")
					} else {
						drift = append(drift, id+" sha256 "+s)
					}
				}
			}
			for _, id := range t.InstanceIDs {
				if _, ok := skip[id]; ok {
					continue
				}
				if _, ok := sums[id]; !ok {
					drift = append(drift, id+" did not answer")
				}
			}
			sort.Strings(drift)
			state.SHA256 = types.StringValue(want)
			if len(drift) > 0 {
				state.SHA256 = types.StringValue(driftPrefix + want + ": " + strings.Join(drift, ", "))
			}
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update removes the file from instances removed from instance_ids, then
// copies: to every target when the content, mode, owner or group changed (or
// drift was found), else to the added and the pending instances only. When
// nothing is to be copied it only stores the new arguments.
func (r *fileResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state fileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultFileTimeout)
	resp.Diagnostics.Append(diags...)
	added, removed := idChanges(stringsOf(ctx, state.InstanceIDs), stringsOf(ctx, plan.InstanceIDs))
	if len(removed) > 0 {
		if !plan.KeepOnDestroy.ValueBool() && !r.remove(ctx, &plan, filecopy.Target{InstanceIDs: removed}, timeout, &resp.Diagnostics,
			"Nothing was removed and the state is unchanged: start the instances or repair their agents, or set "+
				"forget_unreachable = true in the same configuration to forget them (they keep the file), then apply again.") {
			resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
			return
		}
		// From here on the state no longer holds the removed instances (and
		// not yet the added ones).
		gone := map[string]bool{}
		for _, id := range removed {
			gone[id] = true
		}
		kept := []string{}
		for _, id := range stringsOf(ctx, state.InstanceIDs) {
			if !gone[id] {
				kept = append(kept, id)
			}
		}
		ids, d := types.ListValueFrom(ctx, types.StringType, kept)
		resp.Diagnostics.Append(d...)
		state.InstanceIDs = ids
		state.Pending = pendingValue(keptPending(ctx, &state, &plan, &resp.Diagnostics), state.Pending)
	}
	if !plan.CommandIDs.IsUnknown() {
		plan.SHA256, plan.Size, plan.CommandIDs = state.SHA256, state.Size, state.CommandIDs
		plan.Pending = state.Pending
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	t, reach := plan.target(ctx, &resp.Diagnostics), plan.reach()
	if !contentChanged(&plan, &state) {
		// The same file: only where it is not yet. max_unreachable still
		// bounds the whole selection: of the listed instances, or, for a tag
		// selection (whose pending instances were accepted when they were
		// skipped), any number of the pending ones.
		only := append([]string(nil), added...)
		for id := range keptPending(ctx, &state, &plan, &resp.Diagnostics) {
			only = append(only, id)
		}
		sort.Strings(only)
		if len(only) == 0 {
			// Planned while instance_ids were unknown, and nothing turned out
			// to be new.
			plan.SHA256, plan.Size, plan.CommandIDs = state.SHA256, state.Size, state.CommandIDs
			plan.Pending = mapValue(nil)
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			return
		}
		if len(t.InstanceIDs) > 0 {
			reach.MaxUnreachable = strconv.Itoa(runcommand.AllowedUnreachable(reach.MaxUnreachable, len(t.InstanceIDs)))
		} else {
			reach.MaxUnreachable = "100%"
		}
		t = filecopy.Target{InstanceIDs: only}
	}
	pending, ran := r.copyTo(ctx, &plan, &config, t, reach, timeout, &resp.Diagnostics)
	if !ran {
		// Keep what was there: the next plan shows the change again.
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	if len(plan.CommandIDs.Elements()) == 0 && !contentChanged(&plan, &state) {
		plan.CommandIDs = state.CommandIDs
	}
	// A failed update keeps the new content in state with the instances that
	// do not have it: the next apply copies to those only.
	plan.Pending = mapValue(pending)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// remove deletes the file on t; terminated instances are dropped, stopped or
// offline ones fail the removal (next says what to do) unless
// forget_unreachable, which forgets them with a warning.
func (r *fileResource) remove(ctx context.Context, m *fileModel, t filecopy.Target, timeout time.Duration, diags *diag.Diagnostics, next string) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	summary := "removing " + m.Destination.ValueString() + " from " + targetText(t.InstanceIDs, t.Targets)
	res, err := filecopy.Remove(ctx, r.clients(), t, m.Destination.ValueString(), m.Platform.ValueString(), m.agentWait(diags), m.removalReach())
	if err != nil {
		var ue *runcommand.UnreachableError
		if errors.As(err, &ue) {
			diags.AddError(summary, err.Error()+"\n\n"+next)
			return false
		}
		addFileError(diags, summary, "The file stays where the removal failed. Fix the cause and apply (or destroy) again; "+
			"or set keep_on_destroy = true (applied first, so that it is stored) to leave the file on the instances.", err, timeout)
		return false
	}
	var forgot []string
	if res != nil {
		for _, sk := range res.NotReached {
			if !sk.Gone {
				forgot = append(forgot, sk.InstanceID+": "+sk.Reason)
			}
		}
	}
	if len(forgot) > 0 {
		diags.AddWarning(summary+": "+strconv.Itoa(len(forgot))+" instance(s) forgotten",
			"forget_unreachable is set, so these instances, which could not receive the removal, were forgotten and still hold "+
				m.Destination.ValueString()+":\n  - "+strings.Join(forgot, "\n  - ")+"\n\nRemove the file there yourself once they are back, if it matters.")
	}
	return true
}

func (r *fileResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state fileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultFileTimeout)
	resp.Diagnostics.Append(diags...)
	c := r.clients()
	t := state.target(ctx, &resp.Diagnostics)
	dest := state.Destination.ValueString()
	if b := state.StagingBucket.ValueString(); b != "" {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		if _, err := filecopy.CleanupStaging(cctx, c, b, state.StagingKeyPrefix.ValueString(), dest, t); err != nil {
			addCleanupWarning(&resp.Diagnostics, dest, b, err)
		}
		cancel()
	}
	if state.KeepOnDestroy.ValueBool() {
		return
	}
	r.remove(ctx, &state, t, timeout, &resp.Diagnostics,
		"Nothing was removed and the resource stays in state. Start the instances or repair their agents and destroy again; or, "+
			"to forget them (they keep the file) and remove the file from the others, set forget_unreachable = true, apply it "+
			"(an in-place update that sends nothing), then destroy again.")
}

func cleanupSummary(dest, bucket string) string {
	return fmt.Sprintf("removing leftover staged objects of %s (s3://%s)", dest, bucket)
}

// addCleanupWarning says that staged objects an interrupted copy left could
// not be deleted.
func addCleanupWarning(diags *diag.Diagnostics, dest, bucket string, err error) {
	diags.AddWarning(cleanupSummary(dest, bucket), err.Error()+
		"\n\nThe next apply or destroy tries again. Check that the provider's credentials allow s3:ListBucket and s3:DeleteObject on the bucket.")
}

// addFileError turns an engine error into one diagnostic that says what was
// being done where (summary), what happened and what to do next. next, when
// set, replaces the advice of a failed copy (for a removal).
func addFileError(diags *diag.Diagnostics, summary, next string, err error, timeout time.Duration) {
	var (
		fe *runcommand.FailedError
		ce *runcommand.CancelledError
		nr *agentwait.NotReadyError
		ur *runcommand.NotRegisteredError
		un *runcommand.UnreachableError
		es *runcommand.EmptySelectionError
		ns *filecopy.NeedsStagingError
		ch *filecopy.ChangedError
		se *filecopy.StagingError
	)
	after := func(def string) string {
		if next != "" {
			return next
		}
		return def
	}
	switch {
	case errors.As(err, &fe):
		diags.AddError(summary, fe.Error()+"\n\n"+after("On those instances the previous file (if any) was left as it was: the new one is only renamed over it "+
			"after its sha256 matched. Fix the cause and apply again.")+stagingNote(err))
	case errors.As(err, &un):
		diags.AddError(summary, un.Error()+"\n\nNothing was sent. Start the instances or repair their agents; or raise max_unreachable "+
			"(now "+strconv.Quote(orZero(un.MaxUnreachable))+") to copy to the others now and to these once they are back; or "+agentWaitTimeoutAdvice+"."+
			strings.TrimSuffix(" "+next, " ")+identityAdvice(err))
	case errors.As(err, &es):
		diags.AddError(summary, es.Error()+"\n\nNothing was sent, and nothing is recorded as copied. Check the tag key and values "+
			"(tags are case-sensitive; a tag key is written tag:Key) and that the instances run an SSM agent; set allow_empty = true "+
			"if an empty selection is expected."+strings.TrimSuffix(" "+next, " "))
	case errors.As(err, &nr):
		diags.AddError(summary, nr.Error()+"\n\nNothing was sent. Start the instances or repair their agents, or "+agentWaitTimeoutAdvice+"."+
			strings.TrimSuffix(" "+next, " ")+identityAdvice(err))
	case errors.As(err, &ce):
		why := fmt.Sprintf("Terraform was interrupted (%v).", ce.Cause)
		if errors.Is(ce.Cause, context.DeadlineExceeded) {
			why = fmt.Sprintf("The timeout of %s was reached (raise it with a timeouts block).", shortDuration(timeout))
		}
		diags.AddError(summary, why+" "+sentence(ce.Error())+". "+after("No instance was left with a partial file.")+stagingNote(err))
	case errors.As(err, &ur):
		diags.AddError(summary, err.Error()+"\n\nWhen the agents are still registering, raise agent_wait_timeout (such as \"10m\") to wait for them."+
			strings.TrimSuffix(" "+next, " "))
	case errors.As(err, &ns):
		diags.AddAttributeError(path.Root("staging_bucket"), summary, ns.Error()+".")
	case errors.As(err, &ch):
		diags.AddError(summary, "The "+strings.TrimPrefix(ch.Error(), "the ")+": run plan and apply again.")
	case errors.As(err, &se):
		diags.AddError(summary, "Staging in S3 failed: "+se.Error()+"\n\nCheck that the bucket exists in the provider's region and that the "+
			"provider's credentials allow s3:PutObject, s3:GetObject and s3:DeleteObject on it."+strings.TrimSuffix(" "+next, " "))
	default:
		diags.AddError(summary, err.Error()+strings.TrimSuffix("\n\n"+next, "\n\n"))
	}
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// stagingNote mentions a staged object that could not be deleted.
func stagingNote(err error) string {
	var se *filecopy.StagingError
	if errors.As(err, &se) {
		return "\n\nAlso: " + se.Error() + "; the next apply or destroy deletes it."
	}
	return ""
}
