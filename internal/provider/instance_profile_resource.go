package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

var (
	_ resource.ResourceWithConfigure   = (*instanceProfileResource)(nil)
	_ resource.ResourceWithImportState = (*instanceProfileResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*instanceProfileResource)(nil)
)

const defaultProfileCreateTimeout = iamx.PropagationTimeout

func newInstanceProfileResource() resource.Resource { return &instanceProfileResource{} }

type instanceProfileResource struct{ data *ProviderData }

type instanceProfileModel struct {
	ID         types.String   `tfsdk:"id"`
	ARN        types.String   `tfsdk:"arn"`
	UniqueID   types.String   `tfsdk:"unique_id"`
	Name       types.String   `tfsdk:"name"`
	NamePrefix types.String   `tfsdk:"name_prefix"`
	Path       types.String   `tfsdk:"path"`
	Role       types.String   `tfsdk:"role"`
	Tags       types.Map      `tfsdk:"tags"`
	TagsAll    types.Map      `tfsdk:"tags_all"`
	Timeouts   timeouts.Value `tfsdk:"timeouts"`
}

func (r *instanceProfileResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance_profile"
}

func (r *instanceProfileResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computedStr := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc,
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}}
	}
	nameRule := stringvalidator.RegexMatches(iamNamePattern, "may contain only letters, digits and the characters +=,.@_-")
	resp.Schema = schema.Schema{
		MarkdownDescription: "An IAM instance profile holding one role, usually an `ssm_instance_role`. Create returns only when " +
			"the profile is ready for EC2: IAM is eventually consistent, and EC2 rejects a profile for about ten seconds after " +
			"it is created (`Invalid IAM Instance Profile name`), so the provider waits as `hashicorp/aws` does and " +
			"`ssm_instance_profile_association` retries what remains of that window. A role removed from the profile out of " +
			"band shows in the plan and is put back by apply.",
		Attributes: map[string]schema.Attribute{
			"id":        computedStr("Name of the instance profile."),
			"arn":       computedStr("ARN of the instance profile: what `aws_instance.iam_instance_profile` and `ssm_instance_profile_association` accept."),
			"unique_id": computedStr("Stable unique id of the instance profile (`AIPA...`)."),
			"name": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Name of the instance profile: 1 to 128 letters, digits and `+=,.@_-`. Conflicts with `name_prefix`; " +
					"when neither is set, a unique name starting with `terraform-` is generated. Changing it replaces the profile.",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, maxProfileNameLen), nameRule,
					stringvalidator.ConflictsWith(path.MatchRoot("name_prefix")),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), iamNameEquivalent(), stringplanmodifier.RequiresReplace()},
			},
			"name_prefix": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Creates a unique name beginning with this prefix (at most %d characters). "+
					"Conflicts with `name`.", maxProfileNameLen-uniqueSuffixLen),
				Validators:    []validator.String{stringvalidator.LengthBetween(1, maxProfileNameLen-uniqueSuffixLen), nameRule},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"path": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString("/"),
				MarkdownDescription: "Path of the instance profile: `/` (the default) or `/` + printable ASCII + `/`. Changing it replaces the profile.",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 512),
					stringvalidator.RegexMatches(iamPathPattern, "must be / or begin and end with / and contain only printable ASCII characters"),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"role": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of the role the profile holds (an instance profile holds exactly one), such as `ssm_instance_role.this.name`.",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, maxRoleNameLen), nameRule},
				PlanModifiers:       []planmodifier.String{iamNameEquivalent()},
			},
			"tags": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Tags of the instance profile. Merged with the provider's `default_tags`; these win on conflicts.",
				Validators:          tagMapValidators(),
			},
			"tags_all": schema.MapAttribute{
				ElementType: types.StringType, Computed: true,
				MarkdownDescription: "All tags of the instance profile: the provider's `default_tags` merged with `tags`.",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true,
				CreateDescription: "How long creating the profile may take, waiting until IAM has propagated it included. Default " + shortDuration(defaultProfileCreateTimeout) + ".",
				UpdateDescription: "How long changing the profile's role or tags may take, propagation included. Default " + shortDuration(defaultProfileCreateTimeout) + "."}),
		},
	}
}

func (r *instanceProfileResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (r *instanceProfileResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan instanceProfileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.TagsAll = tagsAllPlan(ctx, plan.Tags, r.data.DefaultTags, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *instanceProfileResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceProfileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultProfileCreateTimeout)
	resp.Diagnostics.Append(diags...)
	tags := stringMap(ctx, plan.TagsAll, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := nameFromPlan(plan.Name, plan.NamePrefix)
	summary := doing("creating", nameInstanceProfile, name)
	p, err := iamx.CreateProfileFromSpec(ctx, r.data.IAM,
		iamx.ProfileSpec{Name: name, Path: plan.Path.ValueString(), Role: plan.Role.ValueString(), Tags: tags}, timeout)
	if p == nil {
		resp.Diagnostics.AddError(summary, createErrorDetail(err, "ssm_instance_profile", "instance profile", name))
		return
	}
	tflog.Debug(ctx, "created IAM instance profile", map[string]any{"instance_profile": name})
	plan.ID, plan.Name = types.StringValue(name), types.StringValue(name)
	plan.ARN, plan.UniqueID = types.StringValue(p.ARN), types.StringValue(p.ID)
	if err != nil {
		// The profile exists: it is saved (and tainted by the error), so it is not orphaned.
		resp.Diagnostics.AddError(summary, err.Error())
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *instanceProfileResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceProfileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	p, err := iamx.LookupInstanceProfile(ctx, r.data.IAM, name)
	if iamx.IsNotFound(err) {
		addNotFoundWarning(&resp.Diagnostics, nameInstanceProfile, name, fmt.Sprintf("The IAM instance profile %s does not exist.", name))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(doing("reading", nameInstanceProfile, name), err.Error())
		return
	}
	state.Name = types.StringValue(p.Name)
	state.ARN = types.StringValue(p.ARN)
	state.UniqueID = types.StringValue(p.ID)
	state.Path = types.StringValue(p.Path)
	state.Role = types.StringNull()
	if len(p.Roles) > 0 {
		state.Role = types.StringValue(p.Roles[0])
	}
	prior := stringMap(ctx, state.Tags, &resp.Diagnostics)
	state.Tags = ownTags(p.Tags, r.data.DefaultTags, prior, state.Tags.IsNull())
	state.TagsAll = mapValue(p.Tags)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *instanceProfileResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state instanceProfileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultProfileCreateTimeout)
	resp.Diagnostics.Append(diags...)
	name := state.ID.ValueString()
	from := iamx.ProfileSpec{Name: name, Role: state.Role.ValueString(), Tags: stringMap(ctx, state.TagsAll, &resp.Diagnostics)}
	to := iamx.ProfileSpec{Name: name, Role: plan.Role.ValueString(), Tags: stringMap(ctx, plan.TagsAll, &resp.Diagnostics)}
	if resp.Diagnostics.HasError() {
		return
	}
	if err := iamx.UpdateProfileFromSpec(ctx, r.data.IAM, from, to, timeout); err != nil {
		resp.Diagnostics.AddError(doing("updating", nameInstanceProfile, name), err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *instanceProfileResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state instanceProfileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := iamx.DeleteInstanceProfile(ctx, r.data.IAM, state.ID.ValueString(), iamx.PropagationTimeout); err != nil {
		resp.Diagnostics.AddError(doing("deleting", nameInstanceProfile, state.ID.ValueString()), err.Error())
	}
}

func (r *instanceProfileResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
	importNamePrefix(ctx, req.ID, resp)
}
