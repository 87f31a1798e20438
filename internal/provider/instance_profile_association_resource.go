package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

var (
	_ resource.ResourceWithConfigure   = (*instanceProfileAssociationResource)(nil)
	_ resource.ResourceWithImportState = (*instanceProfileAssociationResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*instanceProfileAssociationResource)(nil)
	_ resource.ResourceWithIdentity    = (*instanceProfileAssociationResource)(nil)
)

// instanceProfileAssociationIdentity is the association's resource identity
// (Terraform 1.12 and later: import blocks by identity, and `terraform query`
// results): the instance id, which is also its import id.
type instanceProfileAssociationIdentity struct {
	InstanceID types.String `tfsdk:"instance_id"`
}

// ec2InstanceIDPattern matches EC2 instance ids (not managed-instance mi- ids:
// only EC2 instances take instance profiles).
var ec2InstanceIDPattern = regexp.MustCompile(`^i-(\w{8}|\w{17})$`)

const (
	// defaultAssociationTimeout covers IAM propagation (about 10 s, retried) and
	// the associating state, with terraform-provider-aws's ec2PropagationTimeout.
	defaultAssociationTimeout  = 5 * time.Minute
	defaultDisassociateTimeout = 2 * time.Minute
)

func newInstanceProfileAssociationResource() resource.Resource {
	return &instanceProfileAssociationResource{}
}

type instanceProfileAssociationResource struct{ data *ProviderData }

type instanceProfileAssociationModel struct {
	ID                 types.String   `tfsdk:"id"`
	InstanceID         types.String   `tfsdk:"instance_id"`
	InstanceProfile    types.String   `tfsdk:"instance_profile"`
	ReplaceExisting    types.Bool     `tfsdk:"replace_existing"`
	RestoreOnDestroy   types.Bool     `tfsdk:"restore_on_destroy"`
	PreviousProfileARN types.String   `tfsdk:"previous_instance_profile_arn"`
	AssociationID      types.String   `tfsdk:"association_id"`
	InstanceProfileARN types.String   `tfsdk:"instance_profile_arn"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func (r *instanceProfileAssociationResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance_profile_association"
}

func (r *instanceProfileAssociationResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Gives an existing EC2 instance an instance profile, the way the migration guide's \"attach a role " +
			"to an existing instance\" step does, without replacing the instance. It retries EC2's `Invalid IAM Instance Profile` " +
			"error while a new profile propagates, waits until the association is `associated`, and disassociates on destroy. " +
			"An instance holds one profile: an existing association is replaced (`replace_existing`, the default) — on stopped " +
			"instances by disassociating and associating, since EC2 replaces only on running ones. An association replaced or " +
			"removed out of band shows in the plan and is restored by apply.\n\n" +
			"**Destroy puts back what the instance had** (`restore_on_destroy`, the default): the profile this resource " +
			"replaced, recorded in `previous_instance_profile_arn`, is associated again, so applications using the old role " +
			"keep their credentials; an instance that had no profile is left without one. An association that already named " +
			"the configured profile (adopted at create, or imported) replaced nothing: destroy disassociates it, like roles and " +
			"profiles that are imported and then destroyed. When the previous profile was deleted meanwhile (or lost its role), destroy removes " +
			"the association and warns, naming the profile: the instance then has no profile. With `restore_on_destroy = false` " +
			"destroy always disassociates.\n\n" +
			"The agent picks up the new credentials within minutes; gate later steps on `data.ssm_agent_online`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The instance id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"instance_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Id of the EC2 instance (`i-...`), running or stopped. Changing it replaces the association.",
				Validators:          []validator.String{stringvalidator.RegexMatches(ec2InstanceIDPattern, "must be an EC2 instance id such as i-0123456789abcdef0")},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"instance_profile": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name or ARN of the instance profile, such as `ssm_instance_profile.this.name`.",
				Validators:          []validator.String{instanceProfileNameOrARN()},
				PlanModifiers:       []planmodifier.String{profileEquivalent("instance_profile_arn")},
			},
			"replace_existing": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Replace another profile the instance already has (default `true`). With `false`, create fails " +
					"and names the existing association instead.",
			},
			"restore_on_destroy": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "What destroy does: `true` (the default) puts back the profile the instance had before this " +
					"resource (`previous_instance_profile_arn`), or disassociates when it had none; `false` disassociates. Changing " +
					"it changes nothing in AWS.",
			},
			"previous_instance_profile_arn": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "ARN of the profile this resource replaced at create (the instance's profile before it). Null " +
					"when it replaced none: the instance had no profile or already had this one, or the association was imported. " +
					"Destroy puts it back when `restore_on_destroy` is true.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"association_id":       schema.StringAttribute{Computed: true, MarkdownDescription: "Id of the association (`iip-assoc-...`)."},
			"instance_profile_arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the associated instance profile."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true,
				CreateDescription: "How long associating may take, retries while a new profile reaches EC2 included. Default " + shortDuration(defaultAssociationTimeout) + ".",
				UpdateDescription: "How long replacing the association with another profile may take. Default " + shortDuration(defaultAssociationTimeout) + ".",
				DeleteDescription: "How long disassociating may take. Default " + shortDuration(defaultDisassociateTimeout) + "."}),
		},
	}
}

func (r *instanceProfileAssociationResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{Attributes: map[string]identityschema.Attribute{
		"instance_id": identityschema.StringAttribute{RequiredForImport: true,
			Description: "Id of the EC2 instance (`i-...`) whose instance profile association this is."},
	}}
}

func (r *instanceProfileAssociationResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan keeps the association's id and ARN unless the profile changes.
func (r *instanceProfileAssociationResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state instanceProfileAssociationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.InstanceProfile.Equal(state.InstanceProfile) {
		plan.AssociationID, plan.InstanceProfileARN = state.AssociationID, state.InstanceProfileARN
	} else {
		plan.AssociationID, plan.InstanceProfileARN = types.StringUnknown(), types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *instanceProfileAssociationResource) associate(ctx context.Context, m *instanceProfileAssociationModel, replace bool, timeout time.Duration, summary string, diags interface {
	AddError(string, string)
}) bool {
	id, profile := m.InstanceID.ValueString(), m.InstanceProfile.ValueString()
	a, previous, err := iamx.AssociateReplacing(ctx, r.data.EC2, id, profile, replace, timeout)
	var existing *iamx.ExistingAssociationError
	switch {
	case errors.As(err, &existing):
		diags.AddError(summary, fmt.Sprintf("Instance %s already has instance profile %s (association %s), and replace_existing is false.\n\n"+
			"Set replace_existing = true to replace it, or import the association with: terraform import <address> %s",
			id, existing.ProfileARN, existing.AssociationID, id))
		return false
	case err != nil && iamx.IsProfilePropagation(err):
		diags.AddError(summary, fmt.Sprintf("%s\n\nA new instance profile can take a while to reach EC2; the wait lasted up to %s "+
			"(see the timeouts block).", err, shortDuration(timeout)))
		return false
	case err != nil:
		diags.AddError(summary, err.Error())
		return false
	}
	m.ID = types.StringValue(id)
	m.AssociationID = types.StringValue(aws.ToString(a.AssociationId))
	m.InstanceProfileARN = types.StringValue(iamx.AssociationProfileARN(a))
	if m.PreviousProfileARN.IsUnknown() { // create: what the instance had before
		m.PreviousProfileARN = strOrNull(previous)
	}
	tflog.Debug(ctx, "associated instance profile", map[string]any{"instance_id": id, "association_id": m.AssociationID.ValueString()})
	return true
}

func (r *instanceProfileAssociationResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceProfileAssociationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultAssociationTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	summary := fmt.Sprintf("creating %s (%s, profile %s)", nameProfileAssociation, plan.InstanceID.ValueString(), plan.InstanceProfile.ValueString())
	if r.associate(ctx, &plan, plan.ReplaceExisting.ValueBool(), timeout, summary, &resp.Diagnostics) {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		resp.Diagnostics.Append(resp.Identity.Set(ctx, instanceProfileAssociationIdentity{InstanceID: plan.InstanceID})...)
	}
}

func (r *instanceProfileAssociationResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceProfileAssociationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id := state.ID.ValueString()
	a, err := iamx.FindAssociationByInstanceID(ctx, r.data.EC2, id)
	if iamx.IsNotFound(err) {
		addNotFoundWarning(&resp.Diagnostics, nameProfileAssociation, id,
			fmt.Sprintf("Instance %s has no instance profile association (or the instance is gone).", id))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(doing("reading", nameProfileAssociation, id), err.Error())
		return
	}
	arn := iamx.AssociationProfileARN(a)
	state.InstanceID = types.StringValue(id)
	state.AssociationID = types.StringValue(aws.ToString(a.AssociationId))
	state.InstanceProfileARN = types.StringValue(arn)
	if state.ReplaceExisting.IsNull() {
		state.ReplaceExisting = types.BoolValue(true) // imported
	}
	if state.RestoreOnDestroy.IsNull() {
		state.RestoreOnDestroy = types.BoolValue(true) // imported, or a state from before the attribute
	}
	// Keep the configured spelling (name or ARN) while it names the same profile.
	if cur := state.InstanceProfile.ValueString(); state.InstanceProfile.IsNull() || !iamx.ProfileMatches(arn, cur) {
		if strings.HasPrefix(cur, "arn:") {
			state.InstanceProfile = types.StringValue(arn)
		} else {
			state.InstanceProfile = types.StringValue(iamx.ProfileNameFromARN(arn))
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	// Also gives states written before the resource had an identity one.
	resp.Diagnostics.Append(resp.Identity.Set(ctx, instanceProfileAssociationIdentity{InstanceID: state.InstanceID})...)
}

func (r *instanceProfileAssociationResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state instanceProfileAssociationModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultAssociationTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.PreviousProfileARN = state.PreviousProfileARN // what the instance had before this resource
	if !plan.InstanceProfile.Equal(state.InstanceProfile) {
		summary := fmt.Sprintf("updating %s (%s, profile %s)", nameProfileAssociation, plan.InstanceID.ValueString(), plan.InstanceProfile.ValueString())
		// The association is this resource's: replacing it is what the change asks for.
		if !r.associate(ctx, &plan, true, timeout, summary, &resp.Diagnostics) {
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, instanceProfileAssociationIdentity{InstanceID: plan.InstanceID})...)
}

func (r *instanceProfileAssociationResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state instanceProfileAssociationModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultDisassociateTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, previous := state.ID.ValueString(), state.PreviousProfileARN.ValueString()
	summary := doing("deleting", nameProfileAssociation, id)
	if !state.RestoreOnDestroy.ValueBool() || previous == "" {
		if err := iamx.Disassociate(ctx, r.data.EC2, id, timeout); err != nil && !iamx.IsNotFound(err) {
			resp.Diagnostics.AddError(summary, err.Error())
		}
		return
	}
	err := iamx.RestoreProfile(ctx, r.data.EC2, r.data.IAM, id, previous, timeout)
	var gone *iamx.ProfileGoneError
	switch {
	case errors.As(err, &gone) && errors.Unwrap(err) == nil:
		resp.Diagnostics.AddWarning(summary, fmt.Sprintf("Instance %s had instance profile %s before this resource replaced it, "+
			"but that profile %s, so it cannot be put back: the association was removed and the instance now has no instance "+
			"profile. Associate another profile if its applications need AWS credentials.", id, previous, gone.Reason))
	case err != nil:
		resp.Diagnostics.AddError(summary, fmt.Sprintf("putting back instance profile %s, which the instance had before this "+
			"resource: %s\n\nRetry the destroy, or set restore_on_destroy = false (apply, then destroy) to only disassociate.", previous, err))
	default:
		tflog.Debug(ctx, "put the previous instance profile back", map[string]any{"instance_id": id, "profile": previous})
	}
}

func (r *instanceProfileAssociationResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	// By import id (terraform import, or an import block with id) or by
	// identity (an import block with identity, as terraform query generates).
	id := req.ID
	if id == "" && req.Identity != nil {
		var ident instanceProfileAssociationIdentity
		resp.Diagnostics.Append(req.Identity.Get(ctx, &ident)...)
		if resp.Diagnostics.HasError() {
			return
		}
		id = ident.InstanceID.ValueString()
	}
	if !ec2InstanceIDPattern.MatchString(id) {
		resp.Diagnostics.AddError(doing("importing", nameProfileAssociation, id),
			fmt.Sprintf("%q is not an EC2 instance id: import the association by the id of its instance, such as i-0123456789abcdef0.", id))
		return
	}
	// The imported association is what this resource manages (as one adopted at
	// create with the same profile): destroy disassociates it. Nothing was
	// replaced, so previous_instance_profile_arn stays null.
	_, err := iamx.FindAssociationByInstanceID(ctx, r.data.EC2, id)
	if iamx.IsNotFound(err) {
		resp.Diagnostics.AddError(doing("importing", nameProfileAssociation, id),
			fmt.Sprintf("Instance %s has no instance profile association (or does not exist): there is nothing to import.", id))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(doing("importing", nameProfileAssociation, id), err.Error())
		return
	}
	resource.ImportStatePassthroughWithIdentity(ctx, path.Root("id"), path.Root("instance_id"), req, resp)
}
