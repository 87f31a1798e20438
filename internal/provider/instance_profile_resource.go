package provider

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
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
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true}),
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
	if plan.Tags.IsUnknown() {
		plan.TagsAll = types.MapUnknown(types.StringType)
	} else {
		plan.TagsAll = mapValue(mergeTags(r.data.DefaultTags, stringMap(ctx, plan.Tags, &resp.Diagnostics)))
	}
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
	name := plan.Name.ValueString()
	if plan.Name.IsUnknown() || plan.Name.IsNull() {
		prefix := "terraform-"
		if !plan.NamePrefix.IsNull() {
			prefix = plan.NamePrefix.ValueString()
		}
		name = prefixedUniqueName(prefix)
	}
	c := r.data.IAM
	in := &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name), Path: aws.String(plan.Path.ValueString())}
	if len(tags) > 0 {
		in.Tags = tagList(tags)
	}
	summary := fmt.Sprintf("creating SSM instance profile (%s)", name)
	if _, err := iamx.CreateInstanceProfile(ctx, c, in); err != nil {
		resp.Diagnostics.AddError(summary, createErrorDetail(err, "ssm_instance_profile", "instance profile", name))
		return
	}
	plan.ID, plan.Name = types.StringValue(name), types.StringValue(name)
	tflog.Debug(ctx, "created IAM instance profile", map[string]any{"instance_profile": name})
	save := func() {
		// A partly created profile is saved (and tainted by the error) so it is not orphaned.
		plan.ARN, plan.UniqueID = types.StringValue(plan.ARN.ValueString()), types.StringValue(plan.UniqueID.ValueString())
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
	if err := iamx.WaitInstanceProfileExists(ctx, c, name, timeout); err != nil {
		resp.Diagnostics.AddError(summary, "waiting for the new profile to be visible: "+err.Error())
		save()
		return
	}
	if err := iamx.AddRoleToInstanceProfile(ctx, c, name, plan.Role.ValueString()); err != nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("adding role %s: %s", plan.Role.ValueString(), err))
		save()
		return
	}
	p, err := iamx.WaitInstanceProfileReady(ctx, c, name, timeout)
	if err != nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("waiting for the profile to be ready for EC2 (timeout %s): %s", shortDuration(timeout), err))
		save()
		return
	}
	plan.ARN, plan.UniqueID = types.StringValue(aws.ToString(p.Arn)), types.StringValue(aws.ToString(p.InstanceProfileId))
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *instanceProfileResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceProfileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	p, err := iamx.FindInstanceProfileByName(ctx, r.data.IAM, name)
	if iamx.IsNotFound(err) {
		tflog.Warn(ctx, "IAM instance profile gone, removing it from state", map[string]any{"instance_profile": name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading SSM instance profile (%s)", name), err.Error())
		return
	}
	state.Name = types.StringValue(aws.ToString(p.InstanceProfileName))
	state.ARN = types.StringValue(aws.ToString(p.Arn))
	state.UniqueID = types.StringValue(aws.ToString(p.InstanceProfileId))
	state.Path = types.StringValue(aws.ToString(p.Path))
	state.Role = types.StringNull()
	if len(p.Roles) > 0 {
		state.Role = types.StringValue(aws.ToString(p.Roles[0].RoleName))
	}
	actual := map[string]string{}
	for _, t := range iamx.WithoutMarker(p.Tags) {
		actual[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	prior := stringMap(ctx, state.Tags, &resp.Diagnostics)
	state.Tags = ownTags(actual, r.data.DefaultTags, prior, state.Tags.IsNull())
	state.TagsAll = mapValue(actual)
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
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	c := r.data.IAM
	summary := fmt.Sprintf("updating SSM instance profile (%s)", name)
	if !plan.Role.Equal(state.Role) {
		if !state.Role.IsNull() {
			if err := iamx.RemoveRoleFromInstanceProfile(ctx, c, name, state.Role.ValueString()); err != nil {
				resp.Diagnostics.AddError(summary, err.Error())
				return
			}
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := iamx.AddRoleToInstanceProfile(ctx, c, name, plan.Role.ValueString()); err != nil {
			resp.Diagnostics.AddError(summary, fmt.Sprintf("adding role %s: %s", plan.Role.ValueString(), err))
			return
		}
	}
	set, remove := tagChanges(stringMap(ctx, state.TagsAll, &resp.Diagnostics), stringMap(ctx, plan.TagsAll, &resp.Diagnostics))
	if len(remove) > 0 {
		if _, err := c.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: aws.String(name), TagKeys: remove}); err != nil {
			resp.Diagnostics.AddError(summary, "removing tags: "+err.Error())
			return
		}
	}
	if len(set) > 0 {
		if _, err := c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(name), Tags: tagList(set)}); err != nil {
			resp.Diagnostics.AddError(summary, "setting tags: "+err.Error())
			return
		}
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
		resp.Diagnostics.AddError(fmt.Sprintf("deleting SSM instance profile (%s)", state.ID.ValueString()), err.Error())
	}
}

func (r *instanceProfileResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
	importNamePrefix(ctx, req.ID, resp)
}
