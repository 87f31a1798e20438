package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/dynamicplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
)

var (
	_ resource.Resource              = (*remoteFileResource)(nil)
	_ resource.ResourceWithConfigure = (*remoteFileResource)(nil)
)

func newRemoteFileResource() resource.Resource { return &remoteFileResource{} }

// remoteFileResource fetches a file from an instance once and keeps it: Read
// makes no call, so plans need neither AWS nor the agent.
type remoteFileResource struct{ data *ProviderData }

type remoteFileModel struct {
	ID               types.String         `tfsdk:"id"`
	InstanceID       types.String         `tfsdk:"instance_id"`
	Path             types.String         `tfsdk:"path"`
	Encoding         types.String         `tfsdk:"encoding"`
	MaxSize          types.Int64          `tfsdk:"max_size"`
	StagingBucket    types.String         `tfsdk:"staging_bucket"`
	StagingKeyPrefix types.String         `tfsdk:"staging_key_prefix"`
	TriggersReplace  types.Dynamic        `tfsdk:"triggers_replace"`
	AgentWaitTimeout checkedDurationValue `tfsdk:"agent_wait_timeout"`
	Timeouts         timeouts.Value       `tfsdk:"timeouts"`

	Content       types.String `tfsdk:"content"`
	ContentBase64 types.String `tfsdk:"content_base64"`
	SHA256        types.String `tfsdk:"sha256"`
	Size          types.Int64  `tfsdk:"size"`
	CommandID     types.String `tfsdk:"command_id"`
}

func (r *remoteFileResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_remote_file"
}

// Shared descriptions of the arguments both forms have.
var (
	remoteFileInstanceDesc = "Instance to read the file from (Linux; the SSM agent must be `Online`, or come online within `agent_wait_timeout`)."
	remoteFilePathDesc     = "Absolute path of the file on the instance, such as `/etc/kubernetes/admin.conf`. Regular files only: a missing " +
		"file, a directory, a device or an unreadable file fails naming the path and the instance."
	remoteFileEncodingDesc = "`text` (default): the file must be UTF-8 and is returned in `content`. `base64`: any bytes, returned in " +
		"`content_base64` (use it for binary files). Only one of the two is set, so the file is held once."
	remoteFileMaxSizeDesc = fmt.Sprintf("Largest file accepted, in bytes. Defaults to %d (16 MiB), at most %d (256 MiB). The instance "+
		"checks the size before sending anything; a larger file fails naming its size.", int64(filecopy.DefaultFetchMaxSize), int64(filecopy.MaxFetchSize))
	remoteFileStagingKeyPrefixDesc = "Key prefix of the staged objects. Defaults to `" + filecopy.DefaultFetchKeyPrefix + "`."
	remoteFileAgentWaitDesc        = "How long to wait for the instance's SSM agent to be `Online` before sending, as for `ssm_command_run`. " +
		"Defaults to `0s`: check once. A stopped or terminated instance is never waited for."
)

func (r *remoteFileResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replaceStr := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keepStr := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Fetches a file from an instance once, through Systems Manager Run Command (no SSH, no SCP), and keeps it " +
			"in the state: the way back of `ssm_file`. Refresh and plan make **no AWS call and need no agent**: the file is fetched " +
			"again only when `instance_id`, `path`, `encoding` or `triggers_replace` change (or with `-replace`). " +
			fmt.Sprintf("Files up to %d bytes come back in the command's output (base64); larger ones are uploaded by the instance to ", filecopy.FetchInlineLimit) +
			"`staging_bucket` through a short-lived presigned PUT URL (the instance needs **no S3 permission**), read by the provider " +
			"and deleted. Size and sha256 are checked end to end.\n\n" +
			"**Not for secrets**: the content is stored in the state, and small files pass through the command's output, which " +
			"SSM keeps for 30 days. For a kubeconfig, a join token or a key use the ephemeral `ssm_remote_file`, which stores nothing.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: keepStr,
				MarkdownDescription: "`<instance_id>:<path>`."},
			"instance_id": schema.StringAttribute{Required: true, PlanModifiers: replaceStr,
				MarkdownDescription: remoteFileInstanceDesc + " Changing it fetches again.",
				Validators: []validator.String{stringvalidator.RegexMatches(instanceIDPattern,
					"must be an instance id such as i-0123456789abcdef0 (or mi-... for a hybrid node)")}},
			"path": schema.StringAttribute{Required: true, PlanModifiers: replaceStr,
				MarkdownDescription: remoteFilePathDesc + " Changing it fetches again.",
				Validators:          []validator.String{remotePath()}},
			"encoding": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(encodingText), PlanModifiers: replaceStr,
				MarkdownDescription: remoteFileEncodingDesc + " Changing it fetches again.",
				Validators:          []validator.String{stringvalidator.OneOf(encodingText, encodingBase64)}},
			"max_size": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(filecopy.DefaultFetchMaxSize),
				MarkdownDescription: remoteFileMaxSizeDesc + " Changing it fetches nothing; it applies to the next fetch.",
				Validators:          []validator.Int64{int64validator.Between(1, filecopy.MaxFetchSize)}},
			"staging_bucket": schema.StringAttribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("S3 bucket through which files above %d bytes come back. The provider's credentials need ", filecopy.FetchInlineLimit) +
					"`s3:PutObject` (to presign the instance's upload), `s3:GetObject`, `s3:DeleteObject` and `s3:ListBucket`; the instance " +
					"needs no S3 permission but must reach S3 over HTTPS. Without it a file above the limit fails, saying so. Changing it " +
					"fetches nothing.",
				Validators: []validator.String{stringvalidator.LengthBetween(3, 63)}},
			"staging_key_prefix": schema.StringAttribute{Optional: true,
				MarkdownDescription: remoteFileStagingKeyPrefixDesc,
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 512), stringvalidator.AlsoRequires(path.MatchRoot("staging_bucket"))}},
			"triggers_replace": schema.DynamicAttribute{Optional: true, PlanModifiers: []planmodifier.Dynamic{dynamicplanmodifier.RequiresReplace()},
				MarkdownDescription: "Any value; when it changes the file is fetched again (for example the id of the `ssm_command_run` " +
					"that writes it)."},
			"agent_wait_timeout": schema.StringAttribute{CustomType: durationType{}, Optional: true, PlanModifiers: []planmodifier.String{durationEquivalent()},
				MarkdownDescription: remoteFileAgentWaitDesc,
				Validators:          []validator.String{durationBetween(0, 24*time.Hour)}},
			"content": schema.StringAttribute{Computed: true, PlanModifiers: keepStr,
				MarkdownDescription: "The file as text (`encoding = \"text\"`), else null."},
			"content_base64": schema.StringAttribute{Computed: true, PlanModifiers: keepStr,
				MarkdownDescription: "The file in base64 (`encoding = \"base64\"`), else null."},
			"sha256":     schema.StringAttribute{Computed: true, PlanModifiers: keepStr, MarkdownDescription: "sha256 of the file (lower-case hex), as computed on the instance and checked on arrival."},
			"size":       schema.Int64Attribute{Computed: true, PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}, MarkdownDescription: "Size of the file in bytes."},
			"command_id": schema.StringAttribute{Computed: true, PlanModifiers: keepStr, MarkdownDescription: "Id of the command that read the file."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true,
				CreateDescription: "How long the fetch may take, agent wait included. Default " + shortDuration(defaultRemoteFileTimeout) + "."}),
		},
	}
}

func (r *remoteFileResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (m *remoteFileModel) args(diags *diag.Diagnostics) remoteFileArgs {
	wait, _ := goDuration(m.AgentWaitTimeout, diags)
	return remoteFileArgs{
		InstanceID: m.InstanceID.ValueString(), Path: m.Path.ValueString(), Encoding: m.Encoding.ValueString(),
		MaxSize: m.MaxSize.ValueInt64(), StagingBucket: m.StagingBucket.ValueString(), StagingKeyPrefix: m.StagingKeyPrefix.ValueString(),
		AgentWaitTimeout: wait,
	}
}

// Create fetches the file.
func (r *remoteFileResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan remoteFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultRemoteFileTimeout)
	resp.Diagnostics.Append(d...)
	a := plan.args(&resp.Diagnostics)
	if resp.Diagnostics.HasError() || r.data == nil {
		return
	}
	got, ok := fetchRemoteFile(ctx, r.data, a, timeout, &resp.Diagnostics)
	if !ok {
		return
	}
	plan.ID = types.StringValue(a.InstanceID + ":" + a.Path)
	plan.Content, plan.ContentBase64 = got.Content, got.ContentBase64
	plan.SHA256, plan.Size, plan.CommandID = types.StringValue(got.SHA256), types.Int64Value(got.Size), types.StringValue(got.CommandID)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read keeps the state as it is: the file was fetched once and is kept, so
// refresh makes no AWS call and needs no agent.
func (r *remoteFileResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

// Update stores the new settings (max_size, staging, agent wait, timeouts):
// they apply to the next fetch. Nothing is fetched.
func (r *remoteFileResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan remoteFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete forgets the file: the file on the instance is not touched.
func (r *remoteFileResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}
