package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/ephemeral/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
)

var (
	_ ephemeral.EphemeralResource              = (*remoteFileEphemeral)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*remoteFileEphemeral)(nil)
)

func newRemoteFileEphemeral() ephemeral.EphemeralResource { return &remoteFileEphemeral{} }

// remoteFileEphemeral fetches a file from an instance during each Terraform
// operation that needs it and stores nothing: for secrets.
type remoteFileEphemeral struct{ data *ProviderData }

type remoteFileEphemeralModel struct {
	InstanceID       types.String         `tfsdk:"instance_id"`
	Path             types.String         `tfsdk:"path"`
	Encoding         types.String         `tfsdk:"encoding"`
	MaxSize          types.Int64          `tfsdk:"max_size"`
	StagingBucket    types.String         `tfsdk:"staging_bucket"`
	StagingKeyPrefix types.String         `tfsdk:"staging_key_prefix"`
	AgentWaitTimeout checkedDurationValue `tfsdk:"agent_wait_timeout"`
	Timeouts         timeouts.Value       `tfsdk:"timeouts"`

	Content       types.String `tfsdk:"content"`
	ContentBase64 types.String `tfsdk:"content_base64"`
	SHA256        types.String `tfsdk:"sha256"`
	Size          types.Int64  `tfsdk:"size"`
}

func (r *remoteFileEphemeral) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_remote_file"
}

func (r *remoteFileEphemeral) Schema(ctx context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Fetches a file from an instance through Systems Manager Run Command during each Terraform operation " +
			"that needs it (plan and apply), and **stores nothing**: the content is in neither the plan nor the state. For " +
			"secrets, such as a kubeconfig feeding the `kubernetes` provider, a cluster join token or a generated key. Needs " +
			"Terraform 1.10 or later, or OpenTofu 1.11 or later.\n\n" +
			"The file always comes back through `staging_bucket`: the instance uploads it with a short-lived presigned PUT URL " +
			"(it needs **no S3 permission**), the provider reads it and deletes the object at once; it never travels in the " +
			"command's output, which SSM keeps for 30 days. Size and sha256 are checked end to end. Each operation runs one " +
			"command, so the instance's agent must be online whenever Terraform plans or applies a configuration that uses it.",
		Attributes: map[string]schema.Attribute{
			"instance_id": schema.StringAttribute{Required: true, MarkdownDescription: remoteFileInstanceDesc,
				Validators: []validator.String{stringvalidator.RegexMatches(instanceIDPattern,
					"must be an instance id such as i-0123456789abcdef0 (or mi-... for a hybrid node)")}},
			"path": schema.StringAttribute{Required: true, MarkdownDescription: remoteFilePathDesc,
				Validators: []validator.String{remotePath()}},
			"encoding": schema.StringAttribute{Optional: true, MarkdownDescription: remoteFileEncodingDesc,
				Validators: []validator.String{stringvalidator.OneOf(encodingText, encodingBase64)}},
			"max_size": schema.Int64Attribute{Optional: true, MarkdownDescription: remoteFileMaxSizeDesc,
				Validators: []validator.Int64{int64validator.Between(1, filecopy.MaxFetchSize)}},
			"staging_bucket": schema.StringAttribute{Required: true,
				MarkdownDescription: "S3 bucket through which the file comes back, whatever its size. The provider's credentials need " +
					"`s3:PutObject` (to presign the instance's upload), `s3:GetObject`, `s3:DeleteObject` and `s3:ListBucket`; the " +
					"instance needs no S3 permission but must reach S3 over HTTPS. The object exists only while the provider reads it.",
				Validators: []validator.String{stringvalidator.LengthBetween(3, 63)}},
			"staging_key_prefix": schema.StringAttribute{Optional: true, MarkdownDescription: remoteFileStagingKeyPrefixDesc,
				Validators: []validator.String{stringvalidator.LengthBetween(1, 512)}},
			"agent_wait_timeout": schema.StringAttribute{CustomType: durationType{}, Optional: true, MarkdownDescription: remoteFileAgentWaitDesc,
				Validators: []validator.String{durationBetween(0, 24*time.Hour)}},
			"content": schema.StringAttribute{Computed: true, Sensitive: true,
				MarkdownDescription: "The file as text (`encoding = \"text\"`, the default), else null."},
			"content_base64": schema.StringAttribute{Computed: true, Sensitive: true,
				MarkdownDescription: "The file in base64 (`encoding = \"base64\"`), else null."},
			"sha256": schema.StringAttribute{Computed: true, MarkdownDescription: "sha256 of the file (lower-case hex), checked on arrival."},
			"size":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Size of the file in bytes."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.BlockWithOpts(ctx, timeouts.Opts{
				OpenDescription: fmt.Sprintf("How long the fetch may take, agent wait included. Default %s.", shortDuration(defaultRemoteFileTimeout))}),
		},
	}
}

func (r *remoteFileEphemeral) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// Open fetches the file. Terraform keeps the result in memory for the
// operation only.
func (r *remoteFileEphemeral) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m remoteFileEphemeralModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Open(ctx, defaultRemoteFileTimeout)
	resp.Diagnostics.Append(d...)
	wait, _ := goDuration(m.AgentWaitTimeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || r.data == nil {
		return
	}
	enc := m.Encoding.ValueString()
	if enc == "" {
		enc = encodingText
	}
	got, ok := fetchRemoteFile(ctx, r.data, remoteFileArgs{
		InstanceID: m.InstanceID.ValueString(), Path: m.Path.ValueString(), Encoding: enc, MaxSize: m.MaxSize.ValueInt64(),
		Secret: true, StagingBucket: m.StagingBucket.ValueString(), StagingKeyPrefix: m.StagingKeyPrefix.ValueString(),
		AgentWaitTimeout: wait,
	}, timeout, &resp.Diagnostics)
	if !ok {
		return
	}
	m.Content, m.ContentBase64 = got.Content, got.ContentBase64
	m.SHA256, m.Size = types.StringValue(got.SHA256), types.Int64Value(got.Size)
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
}
