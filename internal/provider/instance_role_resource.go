package provider

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
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
				MarkdownDescription: "S3 buckets Run Command may write output to (`s3:PutObject` on their objects, `s3:GetEncryptionConfiguration` on the buckets).",
				Validators:          []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(s3BucketARN())},
			},
			"cloudwatch_log_group_arns": schema.SetAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "CloudWatch Logs groups Run Command and Session Manager may log to (`logs:CreateLogStream`, `logs:PutLogEvents`, `logs:DescribeLogStreams`, `logs:CreateLogGroup`).",
				Validators:          []validator.Set{setvalidator.SizeAtLeast(1), setvalidator.ValueStringsAre(logGroupARN())},
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

// roleSpec is what the model asks for, as plain Go values.
type roleSpec struct {
	trust, inline string // inline "" when none
	managed       []string
}

func (r *instanceRoleResource) partition() string {
	if r.data == nil || r.data.Partition == "" {
		return "aws"
	}
	return r.data.Partition
}

// spec computes the documents and attachments; ok is false when inputs are unknown.
func (r *instanceRoleResource) spec(ctx context.Context, m *instanceRoleModel, diags *diag.Diagnostics) (s roleSpec, ok bool) {
	if m.Policy.IsUnknown() || m.OutputBucketARNs.IsUnknown() || m.LogGroupARNs.IsUnknown() || m.KMSKeyARN.IsUnknown() || m.AdditionalPolicyARNs.IsUnknown() {
		return s, false
	}
	s.trust = iamx.TrustPolicy(r.partition()).JSON()
	g := iamx.Grants{
		OutputBucketARNs: stringSet(ctx, m.OutputBucketARNs, diags),
		LogGroupARNs:     stringSet(ctx, m.LogGroupARNs, diags),
		KMSKeyARN:        m.KMSKeyARN.ValueString(),
	}
	if doc, ok := iamx.InstanceRolePolicy(m.Policy.ValueString() == policyMinimal, g); ok {
		s.inline = doc.JSON()
	}
	if m.Policy.ValueString() != policyMinimal {
		s.managed = append(s.managed, iamx.ManagedCorePolicyARN(r.partition()))
	}
	s.managed = append(s.managed, stringSet(ctx, m.AdditionalPolicyARNs, diags)...)
	sort.Strings(s.managed)
	s.managed = slices.Compact(s.managed)
	return s, true
}

func setValue(list []string) types.Set {
	vals := make([]attr.Value, len(list))
	for i, s := range list {
		vals[i] = types.StringValue(s)
	}
	return types.SetValueMust(types.StringType, vals)
}

func strOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
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
	if s, ok := r.spec(ctx, &plan, &resp.Diagnostics); ok {
		plan.AssumeRolePolicy = types.StringValue(s.trust)
		plan.InlinePolicy = strOrNull(s.inline)
		plan.ManagedPolicyARNs = setValue(s.managed)
	}
	if plan.Tags.IsUnknown() {
		plan.TagsAll = types.MapUnknown(types.StringType)
	} else if r.data != nil {
		plan.TagsAll = mapValue(mergeTags(r.data.DefaultTags, stringMap(ctx, plan.Tags, &resp.Diagnostics)))
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func tagList(m map[string]string) []iamtypes.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]iamtypes.Tag, len(keys))
	for i, k := range keys {
		out[i] = iamtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])}
	}
	return out
}

func (r *instanceRoleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s, _ := r.spec(ctx, &plan, &resp.Diagnostics)
	tags := stringMap(ctx, plan.TagsAll, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	if plan.Name.IsUnknown() || plan.Name.IsNull() {
		prefix := "terraform-"
		if !plan.NamePrefix.IsNull() {
			prefix = plan.NamePrefix.ValueString()
		}
		name = prefixedUniqueName(prefix)
	}
	in := &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		AssumeRolePolicyDocument: aws.String(s.trust),
		Path:                     aws.String(plan.Path.ValueString()),
		MaxSessionDuration:       aws.Int32(int32(plan.MaxSessionDuration.ValueInt64())),
		Description:              plan.Description.ValueStringPointer(),
		PermissionsBoundary:      plan.PermissionsBoundary.ValueStringPointer(),
	}
	if len(tags) > 0 {
		in.Tags = tagList(tags)
	}
	c := r.data.IAM
	if _, err := iamx.CreateRole(ctx, c, in); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("creating SSM instance role (%s)", name), createErrorDetail(err, "ssm_instance_role", "role", name))
		return
	}
	tflog.Debug(ctx, "created IAM role", map[string]any{"role": name})
	// Saved at once, so a failure below leaves a tainted role to clean up, not an orphan.
	plan.ID, plan.Name = types.StringValue(name), types.StringValue(name)
	if s.inline != "" {
		if err := iamx.PutInlinePolicy(ctx, c, name, instanceRolePolicyName, s.inline); err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("creating SSM instance role (%s): putting inline policy", name), err.Error())
		}
	}
	for _, a := range s.managed {
		if resp.Diagnostics.HasError() {
			break
		}
		if err := iamx.AttachPolicy(ctx, c, name, a); err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("creating SSM instance role (%s): attaching %s", name, a), err.Error())
		}
	}
	role, err := iamx.FindRoleByName(ctx, c, name)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading SSM instance role (%s)", name), err.Error())
		role = &iamtypes.Role{}
	}
	plan.ARN = types.StringValue(aws.ToString(role.Arn))
	plan.UniqueID = types.StringValue(aws.ToString(role.RoleId))
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
		tflog.Warn(ctx, "IAM role gone, removing it from state", map[string]any{"role": name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading SSM instance role (%s)", name), err.Error())
		return
	}
	importing := state.Policy.IsNull()
	if importing {
		r.inferFromRole(st, &state)
	}
	role := st.Role
	state.Name = types.StringValue(aws.ToString(role.RoleName))
	state.ARN = types.StringValue(aws.ToString(role.Arn))
	state.UniqueID = types.StringValue(aws.ToString(role.RoleId))
	state.Path = types.StringValue(aws.ToString(role.Path))
	state.Description = strOrNull(aws.ToString(role.Description))
	state.MaxSessionDuration = types.Int64Value(int64(aws.ToInt32(role.MaxSessionDuration)))
	if role.PermissionsBoundary != nil {
		state.PermissionsBoundary = strOrNull(aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn))
	} else {
		state.PermissionsBoundary = types.StringNull()
	}
	want, _ := r.spec(ctx, &state, &resp.Diagnostics)
	state.AssumeRolePolicy = types.StringValue(keepIfEquivalent(st.Trust, want.trust))
	state.InlinePolicy = strOrNull(keepIfEquivalent(st.Inline[instanceRolePolicyName], want.inline))
	var managed []string
	for _, a := range st.Attached {
		if importing || slices.Contains(want.managed, a) {
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
	c := r.data.IAM
	fail := func(doing string, err error) bool {
		if err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("updating SSM instance role (%s): %s", name, doing), err.Error())
		}
		return err != nil
	}
	s, _ := r.spec(ctx, &plan, &resp.Diagnostics)
	if !plan.Description.Equal(state.Description) || !plan.MaxSessionDuration.Equal(state.MaxSessionDuration) {
		_, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(name),
			Description: aws.String(plan.Description.ValueString()), MaxSessionDuration: aws.Int32(int32(plan.MaxSessionDuration.ValueInt64()))})
		if fail("updating description and session duration", err) {
			return
		}
	}
	if !plan.PermissionsBoundary.Equal(state.PermissionsBoundary) {
		var err error
		if plan.PermissionsBoundary.IsNull() {
			_, err = c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String(name)})
		} else {
			_, err = c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String(name), PermissionsBoundary: plan.PermissionsBoundary.ValueStringPointer()})
		}
		if fail("setting the permissions boundary", err) {
			return
		}
	}
	if state.AssumeRolePolicy.ValueString() != s.trust {
		_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(s.trust)})
		if fail("restoring the trust policy", err) {
			return
		}
	}
	if state.InlinePolicy.ValueString() != s.inline {
		var err error
		if s.inline == "" {
			err = iamx.DeleteInlinePolicy(ctx, c, name, instanceRolePolicyName)
		} else {
			err = iamx.PutInlinePolicy(ctx, c, name, instanceRolePolicyName, s.inline)
		}
		if fail("putting the inline policy", err) {
			return
		}
	}
	var had []string
	resp.Diagnostics.Append(state.ManagedPolicyARNs.ElementsAs(ctx, &had, false)...)
	for _, a := range s.managed {
		if !slices.Contains(had, a) && fail("attaching "+a, iamx.AttachPolicy(ctx, c, name, a)) {
			return
		}
	}
	for _, a := range had {
		if !slices.Contains(s.managed, a) && fail("detaching "+a, iamx.DetachPolicy(ctx, c, name, a)) {
			return
		}
	}
	set, remove := tagChanges(stringMap(ctx, state.TagsAll, &resp.Diagnostics), stringMap(ctx, plan.TagsAll, &resp.Diagnostics))
	if len(remove) > 0 {
		_, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(name), TagKeys: remove})
		if fail("removing tags", err) {
			return
		}
	}
	if len(set) > 0 {
		_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(name), Tags: tagList(set)})
		if fail("setting tags", err) {
			return
		}
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
		resp.Diagnostics.AddError(fmt.Sprintf("deleting SSM instance role (%s)", state.ID.ValueString()), err.Error())
	}
}

func (r *instanceRoleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
	importNamePrefix(ctx, req.ID, resp)
}
