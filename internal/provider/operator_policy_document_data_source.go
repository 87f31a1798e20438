package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/sessionprefs"
)

var (
	_ datasource.DataSourceWithConfigure      = (*operatorPolicyDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*operatorPolicyDataSource)(nil)
)

var (
	accountIDPattern   = regexp.MustCompile(`^\d{12}$`)
	defaultDocuments   = []string{"AWS-RunPowerShellScript", "AWS-RunShellScript"}
	sessionOwnerSimple = regexp.MustCompile(`^[\w+=,.@:${}-]+$`)
)

func newOperatorPolicyDataSource() datasource.DataSource { return &operatorPolicyDataSource{} }

type operatorPolicyDataSource struct{ data *ProviderData }

type operatorPolicyModel struct {
	AccountID          types.String `tfsdk:"account_id"`
	Partition          types.String `tfsdk:"partition"`
	Regions            types.List   `tfsdk:"regions"`
	DocumentNames      types.List   `tfsdk:"document_names"`
	InstanceARNs       types.List   `tfsdk:"instance_arns"`
	InstanceTags       types.Map    `tfsdk:"instance_tags"`
	Diagnosis          types.Bool   `tfsdk:"diagnosis"`
	Sessions           types.Bool   `tfsdk:"sessions"`
	SessionDocuments   types.List   `tfsdk:"session_documents"`
	SessionOwner       types.String `tfsdk:"session_owner"`
	SessionKMSKeyARN   types.String `tfsdk:"session_kms_key_arn"`
	StagingBucketName  types.String `tfsdk:"staging_bucket_name"`
	StagingKeyPrefix   types.String `tfsdk:"staging_key_prefix"`
	OutputS3BucketName types.String `tfsdk:"output_s3_bucket_name"`
	OutputS3KeyPrefix  types.String `tfsdk:"output_s3_key_prefix"`
	JSON               types.String `tfsdk:"json"`
}

func (d *operatorPolicyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_operator_policy_document"
}

func (d *operatorPolicyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	bucket := checkWith{"S3 bucket name", sessionprefs.ValidateBucketName}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A least-privilege IAM policy (JSON) for the people and pipelines that run this provider's commands " +
			"and open sessions: `ssm:SendCommand` only with the listed documents and only on the listed instances (optionally only " +
			"those carrying `instance_tags`), the reads the provider makes while it waits and collects results, `ssm:CancelCommand`, " +
			"the IAM reads `ssm_agent_online` uses to explain an offline agent, and optionally Session Manager (start sessions on " +
			"the same instances, resume and terminate only one's own) and the S3 objects `ssm_file` stages. Every regional call is " +
			"limited to `regions` (`aws:RequestedRegion`); IAM calls are global and are not. ARNs use the partition of the regions. " +
			"Reading it makes at most one call, `sts:GetCallerIdentity` (which needs no permission), when `account_id` is not set.\n\n" +
			"**What an operator holding it can see and do beyond their own runs.** IAM cannot limit `ssm:ListCommands`, " +
			"`ssm:ListCommandInvocations`, `ssm:GetCommandInvocation` or `ssm:CancelCommand` to some commands: the Service " +
			"Authorization Reference lists no resource type and no condition key for them that names a command's instances, " +
			"document or sender, so the policy grants them on `*` (in `regions` only). Whoever holds it can therefore list every " +
			"command of the account in those regions, including other people's and other pipelines', read each command's " +
			"parameters as sent (the `commands` of `ssm_command_run`, the inline `content` of `ssm_file`, base64, and any " +
			"`parameters`), read the first 24,000 characters of every invocation's output, and cancel any command that is " +
			"still running. SSM keeps command history for 30 days. Put nothing secret in `commands`, `parameters` or inline " +
			"`content` (the `ssm_file` page says how its secrets stay out of the history).",
		Attributes: map[string]schema.Attribute{
			"account_id": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Account whose instances, documents and sessions the policy names. Default: the caller's account (`sts:GetCallerIdentity`).",
				Validators:          []validator.String{stringvalidator.RegexMatches(accountIDPattern, "must be 12 digits")}},
			"partition": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Partition of the ARNs (`aws`, `aws-cn` or `aws-us-gov`): the partition of `regions`."},
			"regions": schema.ListAttribute{ElementType: types.StringType, Optional: true, Computed: true,
				MarkdownDescription: "Regions the operator may work in, all of one partition. Default: the provider's region.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(knownRegion{})}},
			"document_names": schema.ListAttribute{ElementType: types.StringType, Optional: true, Computed: true,
				MarkdownDescription: "Documents `ssm:SendCommand` may run. Default: `AWS-RunShellScript` and `AWS-RunPowerShellScript`, " +
					"which `ssm_command_run` and `ssm_file` use. Names beginning with `AWS-` are AWS's; others are the account's.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(
					stringvalidator.RegexMatches(regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`), "must be a document name (3 to 128 letters, digits, _, - and .)"))}},
			"instance_arns": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Instances commands and sessions may reach, as ARNs or ARN patterns such as " +
					"`arn:aws:ec2:*:111122223333:instance/*`. Default: every EC2 instance of the account.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(
					ec2InstanceARNPattern())}},
			"instance_tags": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Commands and sessions reach only instances carrying all these tags (`ssm:resourceTag/<key>`). " +
					"A command sent to an instance without them is denied.",
				Validators: []validator.Map{mapvalidator.SizeAtLeast(1), mapvalidator.KeysAre(stringvalidator.LengthBetween(1, 128))}},
			"diagnosis": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Include the IAM reads (`iam:GetInstanceProfile`, `iam:GetRole`, role and policy reads) that " +
					"`ssm_agent_online` uses to say why an agent is offline (default `true`). Without them the diagnosis says which check it could not make."},
			"sessions": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Include Session Manager: `ssm:StartSession` on the same instances and the session documents, " +
					"`ssm:ResumeSession` and `ssm:TerminateSession` on the caller's own sessions only (default `false`)."},
			"session_documents": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Session documents sessions may use (default `[\"SSM-SessionManagerRunShell\"]`: shell sessions, whose preferences " +
					"`ssm_session_preferences` writes). `ssm_port_forward` uses `AWS-StartPortForwardingSession`, and " +
					"`AWS-StartPortForwardingSessionToRemoteHost` with `remote_host`; SSH through Session Manager (`ProxyCommand` with `aws ssm start-session`) uses `AWS-StartSSHSession`. " +
					"Names beginning with `AWS-` are AWS's (no account in their ARN); others are the account's. " +
					"A session that names no document uses `SSM-SessionManagerRunShell`, and is denied when it is not listed. Only with `sessions = true`.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(checkWith{"SSM document name", sessionprefs.ValidateSessionDocumentName}),
					listvalidator.AlsoRequires(path.MatchRoot("sessions"))}},
			"session_owner": schema.StringAttribute{Optional: true,
				MarkdownDescription: "How a session id begins for the caller, as an IAM policy variable: `${aws:username}` (the default, " +
					"IAM users) or `${aws:userid}` for federated callers. Write `$${aws:username}` in HCL so Terraform does not interpolate it.",
				Validators: []validator.String{stringvalidator.RegexMatches(sessionOwnerSimple, "must be an IAM policy variable or a plain name")}},
			"session_kms_key_arn": schema.StringAttribute{Optional: true,
				MarkdownDescription: "ARN of the KMS key that encrypts session data (`ssm_session_preferences.kms_key_id`): starting a session " +
					"then needs `kms:GenerateDataKey` on it. Only with `sessions = true`.",
				Validators: []validator.String{kmsKeyARN(), stringvalidator.AlsoRequires(path.MatchRoot("sessions"))}},
			"staging_bucket_name": schema.StringAttribute{Optional: true,
				MarkdownDescription: "S3 bucket `ssm_file` stages files in: the policy may put, get and delete objects under `staging_key_prefix` there, " +
					"and list the bucket under that prefix (`s3:ListBucket` with an `s3:prefix` condition), which the cleanup of copies an interrupted apply left behind needs.",
				Validators: []validator.String{bucket}},
			"staging_key_prefix": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Key prefix of the staged objects (default: the whole bucket).",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 1024), stringvalidator.AlsoRequires(path.MatchRoot("staging_bucket_name"))}},
			"output_s3_bucket_name": schema.StringAttribute{Optional: true,
				MarkdownDescription: "S3 bucket commands write their output to (`ssm_command_run.output_s3_bucket_name`): the policy may read the objects back " +
					"(`s3:GetObject`), which `ssm_command_run` does when an output is longer than SSM returns, and check that the bucket exists " +
					"before sending (`HeadBucket`, which needs `s3:ListBucket` on the bucket and so also lets the operator list its keys).",
				Validators: []validator.String{bucket}},
			"output_s3_key_prefix": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Key prefix of the command output (default: the whole bucket).",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 1024), stringvalidator.AlsoRequires(path.MatchRoot("output_s3_bucket_name"))}},
			"json": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The policy document, for `aws_iam_policy.policy` or `aws_iam_role_policy.policy`."},
		},
	}
}

func (d *operatorPolicyDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig: all regions in one partition.
func (d *operatorPolicyDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m operatorPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Regions.IsNull() || m.Regions.IsUnknown() {
		return
	}
	var regions []types.String
	resp.Diagnostics.Append(m.Regions.ElementsAs(ctx, &regions, false)...)
	first := map[string]string{}
	for _, r := range regions {
		if r.IsUnknown() || r.IsNull() {
			continue
		}
		p, known := awsclient.PartitionOfKnownRegion(r.ValueString())
		if !known {
			continue // reported by the element validator
		}
		first[p] = r.ValueString()
	}
	if len(first) > 1 {
		var parts []string
		for p, r := range first {
			parts = append(parts, fmt.Sprintf("%s (%s)", r, p))
		}
		sort.Strings(parts)
		resp.Diagnostics.AddAttributeError(path.Root("regions"), "regions of several partitions",
			fmt.Sprintf("regions mixes partitions: %s. One policy names ARNs of one partition: use one data source per partition.", strings.Join(parts, ", ")))
	}
}

func (d *operatorPolicyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m operatorPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.data == nil {
		return
	}
	spec := iamx.OperatorPolicySpec{
		Diagnosis: m.Diagnosis.IsNull() || m.Diagnosis.ValueBool(), Sessions: m.Sessions.ValueBool(),
		SessionOwner:     m.SessionOwner.ValueString(),
		SessionKMSKeyARN: m.SessionKMSKeyARN.ValueString(),
		StagingBucket:    m.StagingBucketName.ValueString(), StagingPrefix: m.StagingKeyPrefix.ValueString(),
		OutputBucket: m.OutputS3BucketName.ValueString(), OutputPrefix: m.OutputS3KeyPrefix.ValueString(),
	}
	if m.Regions.IsNull() {
		spec.Regions = []string{d.data.Region}
	} else {
		resp.Diagnostics.Append(m.Regions.ElementsAs(ctx, &spec.Regions, false)...)
	}
	if !m.SessionDocuments.IsNull() {
		resp.Diagnostics.Append(m.SessionDocuments.ElementsAs(ctx, &spec.SessionDocuments, false)...)
	}
	spec.Documents = defaultDocuments
	if !m.DocumentNames.IsNull() {
		resp.Diagnostics.Append(m.DocumentNames.ElementsAs(ctx, &spec.Documents, false)...)
	}
	if !m.InstanceARNs.IsNull() {
		resp.Diagnostics.Append(m.InstanceARNs.ElementsAs(ctx, &spec.InstanceARNs, false)...)
	}
	if !m.InstanceTags.IsNull() {
		resp.Diagnostics.Append(m.InstanceTags.ElementsAs(ctx, &spec.InstanceTags, false)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	summary := "building the " + nameOperatorPolicy
	partition, known := awsclient.PartitionOfKnownRegion(spec.Regions[0])
	if !known {
		resp.Diagnostics.AddAttributeError(path.Root("regions"), summary,
			fmt.Sprintf("The provider's region %q is not a region this policy knows: set regions.", spec.Regions[0]))
		return
	}
	spec.Partition = partition
	spec.AccountID = m.AccountID.ValueString()
	if m.AccountID.IsNull() {
		account, err := iamx.CallerAccountID(ctx, d.data.STS)
		if err != nil {
			resp.Diagnostics.AddError(summary, err.Error()+"\n\nSet account_id, or check the provider's credentials.")
			return
		}
		spec.AccountID = account
	}
	doc, err := iamx.OperatorPolicy(spec)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	m.AccountID, m.Partition = types.StringValue(spec.AccountID), types.StringValue(spec.Partition)
	var diags diag.Diagnostics
	m.Regions, diags = types.ListValueFrom(ctx, types.StringType, spec.Regions)
	resp.Diagnostics.Append(diags...)
	m.DocumentNames, diags = types.ListValueFrom(ctx, types.StringType, spec.Documents)
	resp.Diagnostics.Append(diags...)
	m.JSON = types.StringValue(doc.JSON())
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
