package provider

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

var (
	_ resource.ResourceWithConfigure   = (*instanceRoleResource)(nil)
	_ resource.ResourceWithImportState = (*instanceRoleResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*instanceRoleResource)(nil)
)

// instanceRolePolicyName is the inline policy the resource manages.
const instanceRolePolicyName = "ssm-instance-role"

const (
	policyManaged = "managed"
	policyMinimal = "minimal"
)

func newInstanceRoleResource() resource.Resource { return &instanceRoleResource{} }

type instanceRoleResource struct{ data *ProviderData }

type instanceRoleModel struct {
	ID                   types.String `tfsdk:"id"`
	ARN                  types.String `tfsdk:"arn"`
	UniqueID             types.String `tfsdk:"unique_id"`
	Name                 types.String `tfsdk:"name"`
	NamePrefix           types.String `tfsdk:"name_prefix"`
	Path                 types.String `tfsdk:"path"`
	Description          types.String `tfsdk:"description"`
	PermissionsBoundary  types.String `tfsdk:"permissions_boundary"`
	MaxSessionDuration   types.Int64  `tfsdk:"max_session_duration"`
	Policy               types.String `tfsdk:"policy"`
	OutputBucketARNs     types.Set    `tfsdk:"output_bucket_arns"`
	LogGroupARNs         types.Set    `tfsdk:"cloudwatch_log_group_arns"`
	KMSKeyARN            types.String `tfsdk:"kms_key_arn"`
	AdditionalPolicyARNs types.Set    `tfsdk:"additional_policy_arns"`
	Tags                 types.Map    `tfsdk:"tags"`
	TagsAll              types.Map    `tfsdk:"tags_all"`
	AssumeRolePolicy     types.String `tfsdk:"assume_role_policy"`
	InlinePolicy         types.String `tfsdk:"inline_policy"`
	ManagedPolicyARNs    types.Set    `tfsdk:"managed_policy_arns"`
}

func (r *instanceRoleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance_role"
}

func (r *instanceRoleResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computedStr := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An IAM role for EC2 instances that lets the SSM agent register and take commands: trusted by " +
			"`ec2.amazonaws.com`, with either the AWS managed policy `AmazonSSMManagedInstanceCore` (`policy = \"managed\"`) or " +
			"an inline least-privilege policy (`policy = \"minimal\"`). The minimal policy includes `ssm:UpdateInstanceInformation`: " +
			"the \"minimal\" policy often copied from migration guides omits it, and without it an agent never registers, so the " +
			"instance never shows up as managed.\n\n" +
			"Drift in the trust policy, in the inline policy `" + instanceRolePolicyName + "` or in the managed policies this resource " +
			"attaches shows in the plan and is repaired by apply. Managed policies attached by others are left alone (so " +
			"`aws_iam_role_policy_attachment` can add more) but detached on destroy. Put the role into an instance profile with " +
			"`ssm_instance_profile`.",
		Attributes: map[string]schema.Attribute{
			"id":        computedStr("Name of the role."),
			"arn":       computedStr("ARN of the role."),
			"unique_id": computedStr("Stable unique id of the role (`AROA...`)."),
			"name": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Name of the role: 1 to 64 letters, digits and `+=,.@_-`. Conflicts with `name_prefix`; " +
					"when neither is set, a unique name starting with `terraform-` is generated. Changing it replaces the role.",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, maxRoleNameLen),
					stringvalidator.RegexMatches(iamNamePattern, "may contain only letters, digits and the characters +=,.@_-"),
					stringvalidator.ConflictsWith(path.MatchRoot("name_prefix")),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), iamNameEquivalent(), stringplanmodifier.RequiresReplace()},
			},
			"name_prefix": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Creates a unique name beginning with this prefix (at most %d characters). "+
					"Conflicts with `name`.", maxRoleNameLen-uniqueSuffixLen),
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, maxRoleNameLen-uniqueSuffixLen),
					stringvalidator.RegexMatches(iamNamePattern, "may contain only letters, digits and the characters +=,.@_-"),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"path": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("/"),
				MarkdownDescription: "Path of the role: `/` (the default) or `/` + printable ASCII + `/`, such as `/ssm/`, at most 512 characters. Changing it replaces the role.",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 512),
					stringvalidator.RegexMatches(iamPathPattern, "must be / or begin and end with / and contain only printable ASCII characters"),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"description": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Description of the role, at most 1000 characters.",
				Validators:          []validator.String{charsBetween(1, 1000)},
			},
			"permissions_boundary": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "ARN of the managed policy that bounds the role's permissions.",
				Validators:          []validator.String{iamPolicyARN()},
			},
			"max_session_duration": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(3600),
				MarkdownDescription: "Maximum session duration of the role in seconds, 3600 (the default) to 43200.",
				Validators:          []validator.Int64{int64validator.Between(3600, 43200)},
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"policy": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(policyManaged),
				MarkdownDescription: "What the agent gets: `managed` (the default) attaches the AWS managed policy " +
					"`AmazonSSMManagedInstanceCore`; `minimal` puts an inline policy allowing exactly the agent's actions " +
					"(`ssm:UpdateInstanceInformation`, `ssmmessages:*` channel actions and `ec2messages:*`): enough for Run Command and " +
					"Session Manager. State Manager associations, Inventory and Patch Manager need more: use `managed` or `additional_policy_arns` for them.",
				Validators: []validator.String{stringvalidator.OneOf(policyManaged, policyMinimal)},
			},
			"output_bucket_arns": schema.SetAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "S3 buckets Run Command and Session Manager may write output to (`s3:PutObject` and `s3:PutObjectAcl` on their objects, " +
					"`s3:GetEncryptionConfiguration` on the buckets), as ARNs or IAM patterns such as `arn:aws:s3:::ssm-command-output-*`, which land in the policy as given.",
				Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(s3BucketARN())},
			},
			"cloudwatch_log_group_arns": schema.SetAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "CloudWatch Logs groups Run Command and Session Manager may log to (`logs:CreateLogStream`, `logs:PutLogEvents`, `logs:DescribeLogStreams`, `logs:CreateLogGroup`), " +
					"as ARNs or IAM patterns such as `arn:aws:logs:us-east-1:111122223333:log-group:/aws/ssm/*`, which land in the policy as given. The role also gets " +
					"`logs:DescribeLogGroups` (an action IAM grants only on `*`): the agent looks its group up with it, and refuses a session " +
					"whose preferences require an encrypted log group when it cannot.",
				Validators: []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(logGroupARN())},
			},
			"kms_key_arn": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "KMS key the agent may decrypt with (`kms:Decrypt`), for encrypted sessions or output.",
				Validators:          []validator.String{kmsKeyARN()},
			},
			"additional_policy_arns": schema.SetAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "More managed policies to attach, such as `arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy`.",
				Validators:          []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(iamPolicyARN())},
			},
			"tags": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Tags of the role. Merged with the provider's `default_tags`; these win on conflicts.",
				Validators:          tagMapValidators(),
			},
			"tags_all": schema.MapAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "All tags of the role: the provider's `default_tags` merged with `tags`.",
			},
			"assume_role_policy": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The role's trust policy (JSON). Built by the provider; compared by meaning, not by text.",
			},
			"inline_policy": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The inline policy `" + instanceRolePolicyName + "` (JSON): the agent's actions in `minimal` mode " +
					"plus the optional grants; null when there is nothing to grant. Compared by meaning, not by text.",
			},
			"managed_policy_arns": schema.SetAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "Managed policies this resource attaches: `AmazonSSMManagedInstanceCore` in `managed` mode and `additional_policy_arns`.",
			},
		},
	}
}

func (r *instanceRoleResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (r *instanceRoleResource) partition() string {
	if r.data == nil || r.data.Partition == "" {
		return "aws"
	}
	return r.data.Partition
}

// policies are the trust policy, inline policy and managed policies the model
// asks for, as an iamx.RoleSpec; ok is false while an input is unknown.
func (r *instanceRoleResource) policies(ctx context.Context, m *instanceRoleModel, diags *diag.Diagnostics) (s iamx.RoleSpec, ok bool) {
	if m.Policy.IsUnknown() || m.OutputBucketARNs.IsUnknown() || m.LogGroupARNs.IsUnknown() || m.KMSKeyARN.IsUnknown() || m.AdditionalPolicyARNs.IsUnknown() {
		return s, false
	}
	s.TrustPolicy = iamx.TrustPolicy(r.partition()).JSON()
	g := iamx.Grants{
		OutputBucketARNs: stringSet(ctx, m.OutputBucketARNs, diags),
		LogGroupARNs:     stringSet(ctx, m.LogGroupARNs, diags),
		KMSKeyARN:        m.KMSKeyARN.ValueString(),
	}
	if doc, ok := iamx.InstanceRolePolicy(m.Policy.ValueString() == policyMinimal, g); ok {
		s.InlinePolicies = map[string]string{instanceRolePolicyName: doc.JSON()}
	}
	if m.Policy.ValueString() != policyMinimal {
		s.ManagedPolicyARNs = append(s.ManagedPolicyARNs, iamx.ManagedCorePolicyARN(r.partition()))
	}
	s.ManagedPolicyARNs = append(s.ManagedPolicyARNs, stringSet(ctx, m.AdditionalPolicyARNs, diags)...)
	sort.Strings(s.ManagedPolicyARNs)
	s.ManagedPolicyARNs = slices.Compact(s.ManagedPolicyARNs)
	return s, true
}

// spec is the role a plan asks for (name: the role's, tags: tags_all).
func (r *instanceRoleResource) spec(ctx context.Context, name string, m *instanceRoleModel, diags *diag.Diagnostics) iamx.RoleSpec {
	s, _ := r.policies(ctx, m, diags)
	s.Name, s.Path = name, m.Path.ValueString()
	s.Description, s.PermissionsBoundary = m.Description.ValueString(), m.PermissionsBoundary.ValueString()
	s.MaxSessionDuration = int(m.MaxSessionDuration.ValueInt64())
	s.Tags = stringMap(ctx, m.TagsAll, diags)
	return s
}

// recorded is the role as the state records it.
func recorded(ctx context.Context, m *instanceRoleModel, diags *diag.Diagnostics) iamx.RoleSpec {
	s := iamx.RoleSpec{
		Name: m.ID.ValueString(), Path: m.Path.ValueString(), Description: m.Description.ValueString(),
		PermissionsBoundary: m.PermissionsBoundary.ValueString(), MaxSessionDuration: int(m.MaxSessionDuration.ValueInt64()),
		TrustPolicy: m.AssumeRolePolicy.ValueString(), ManagedPolicyARNs: stringSet(ctx, m.ManagedPolicyARNs, diags),
		Tags: stringMap(ctx, m.TagsAll, diags),
	}
	if inline := m.InlinePolicy.ValueString(); inline != "" {
		s.InlinePolicies = map[string]string{instanceRolePolicyName: inline}
	}
	return s
}

func (r *instanceRoleResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan instanceRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if s, ok := r.policies(ctx, &plan, &resp.Diagnostics); ok {
		plan.AssumeRolePolicy = types.StringValue(s.TrustPolicy)
		plan.InlinePolicy = strOrNull(s.InlinePolicies[instanceRolePolicyName])
		plan.ManagedPolicyARNs = setValue(s.ManagedPolicyARNs)
	}
	if r.data != nil {
		plan.TagsAll = tagsAllPlan(ctx, plan.Tags, r.data.DefaultTags, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *instanceRoleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := nameFromPlan(plan.Name, plan.NamePrefix)
	spec := r.spec(ctx, name, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	summary := doing("creating", nameInstanceRole, name)
	role, err := iamx.CreateRoleFromSpec(ctx, r.data.IAM, spec)
	if role == nil {
		resp.Diagnostics.AddError(summary, createErrorDetail(err, "ssm_instance_role", "role", name))
		return
	}
	tflog.Debug(ctx, "created IAM role", map[string]any{"role": name})
	plan.ID, plan.Name = types.StringValue(name), types.StringValue(name)
	plan.ARN, plan.UniqueID = types.StringValue(role.ARN), types.StringValue(role.ID)
	if err != nil {
		// The role exists: it is saved (and tainted by the error), so it is not orphaned.
		resp.Diagnostics.AddError(summary, err.Error())
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *instanceRoleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	st, err := iamx.ReadRole(ctx, r.data.IAM, name)
	if iamx.IsNotFound(err) {
		addNotFoundWarning(&resp.Diagnostics, nameInstanceRole, name, fmt.Sprintf("The IAM role %s does not exist.", name))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(doing("reading", nameInstanceRole, name), err.Error())
		return
	}
	importing := state.Policy.IsNull()
	if importing {
		r.inferFromRole(st, &state)
	}
	role := st.Info
	state.Name = types.StringValue(role.Name)
	state.ARN = types.StringValue(role.ARN)
	state.UniqueID = types.StringValue(role.ID)
	state.Path = types.StringValue(role.Path)
	state.Description = strOrNull(role.Description)
	state.MaxSessionDuration = types.Int64Value(int64(role.MaxSessionDuration))
	state.PermissionsBoundary = strOrNull(role.PermissionsBoundary)
	want, _ := r.policies(ctx, &state, &resp.Diagnostics)
	state.AssumeRolePolicy = types.StringValue(keepIfEquivalent(st.Trust, want.TrustPolicy))
	state.InlinePolicy = strOrNull(keepIfEquivalent(st.Inline[instanceRolePolicyName], want.InlinePolicies[instanceRolePolicyName]))
	var managed []string
	for _, a := range st.Attached {
		if importing || slices.Contains(want.ManagedPolicyARNs, a) {
			managed = append(managed, a)
		}
	}
	sort.Strings(managed)
	state.ManagedPolicyARNs = setValue(managed)
	prior := stringMap(ctx, state.Tags, &resp.Diagnostics)
	state.Tags = ownTags(st.Tags, r.data.DefaultTags, prior, state.Tags.IsNull())
	state.TagsAll = mapValue(st.Tags)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// keepIfEquivalent returns want when actual means the same, so that formatting
// never shows as a diff; else the actual document, for the plan to show.
func keepIfEquivalent(actual, want string) string {
	if actual == "" {
		return ""
	}
	if want != "" && iamx.Equivalent(actual, want) {
		return want
	}
	if n, err := iamx.Normalize(actual); err == nil {
		return n
	}
	return actual
}

// inferFromRole fills the arguments of an imported role from what it holds.
func (r *instanceRoleResource) inferFromRole(st *iamx.RoleState, m *instanceRoleModel) {
	core := iamx.ManagedCorePolicyARN(r.partition())
	m.Policy = types.StringValue(policyManaged)
	if !slices.Contains(st.Attached, core) {
		m.Policy = types.StringValue(policyMinimal)
	}
	var additional []string
	for _, a := range st.Attached {
		if a != core {
			additional = append(additional, a)
		}
	}
	m.AdditionalPolicyARNs = types.SetNull(types.StringType)
	if len(additional) > 0 {
		m.AdditionalPolicyARNs = setValue(additional)
	}
	m.OutputBucketARNs, m.LogGroupARNs, m.KMSKeyARN = types.SetNull(types.StringType), types.SetNull(types.StringType), types.StringNull()
	doc, err := iamx.ParsePolicy(st.Inline[instanceRolePolicyName])
	if err != nil {
		return
	}
	for _, s := range doc.Statement {
		switch s.Sid {
		case "OutputBuckets":
			m.OutputBucketARNs = setValue(s.Resource)
		case "LogGroups":
			m.LogGroupARNs = setValue(s.Resource)
		case "KMSDecrypt":
			if len(s.Resource) == 1 {
				m.KMSKeyARN = types.StringValue(s.Resource[0])
			}
		}
	}
}

func (r *instanceRoleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state instanceRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	from, to := recorded(ctx, &state, &resp.Diagnostics), r.spec(ctx, name, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := iamx.UpdateRoleFromSpec(ctx, r.data.IAM, from, to); err != nil {
		resp.Diagnostics.AddError(doing("updating", nameInstanceRole, name), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *instanceRoleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state instanceRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := iamx.DeleteRole(ctx, r.data.IAM, state.ID.ValueString(), iamx.PropagationTimeout); err != nil {
		resp.Diagnostics.AddError(doing("deleting", nameInstanceRole, state.ID.ValueString()), err.Error())
	}
}

func (r *instanceRoleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
	importNamePrefix(ctx, req.ID, resp)
}
