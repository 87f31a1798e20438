package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/defaulthost"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

var (
	_ resource.ResourceWithConfigure   = (*defaultHostManagementResource)(nil)
	_ resource.ResourceWithImportState = (*defaultHostManagementResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*defaultHostManagementResource)(nil)
)

// defaultDHMCRoleName is the role name the AWS console's Quick Setup uses.
const defaultDHMCRoleName = "AWSSystemsManagerDefaultEC2InstanceManagementRole"

// defaultDHMCRolePath is the path AWS's documented setup puts that role under
// (notes/aws-behaviour.md#default-host-management).
const defaultDHMCRolePath = "/service-role/"

// reImportID is "<account id>/<region>".
var reImportID = regexp.MustCompile(`^(\d{12})/([a-z]{2}(-[a-z]+)+-\d+)$`)

func newDefaultHostManagementResource() resource.Resource { return &defaultHostManagementResource{} }

type defaultHostManagementResource struct{ data *ProviderData }

type defaultHostManagementModel struct {
	ID           types.String `tfsdk:"id"`
	RoleName     types.String `tfsdk:"role_name"`
	RolePath     types.String `tfsdk:"role_path"`
	CreateRole   types.Bool   `tfsdk:"create_role"`
	RoleARN      types.String `tfsdk:"role_arn"`
	SettingValue types.String `tfsdk:"setting_value"`
	RoleReady    types.Bool   `tfsdk:"role_ready"`
	PrevSetting  types.String `tfsdk:"previous_setting_value"`
	RoleExisted  types.Bool   `tfsdk:"role_existed"`
}

func (r *defaultHostManagementResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_default_host_management"
}

func (r *defaultHostManagementResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Default Host Management Configuration for the provider's account and region: Systems Manager " +
			"gives the SSM agents of EC2 instances **without an instance profile** (or whose profile's role SSM refuses) the " +
			"credentials of one IAM role, so a whole account is managed without associating profiles instance by instance. " +
			"This resource creates that role (trusted by `ssm.amazonaws.com`, with the AWS managed policy " +
			"`AmazonSSMManagedEC2InstanceDefaultPolicy`) or uses an existing one, and points the SSM service setting " +
			"`/ssm/managed-instance/default-ec2-instance-management-role` at it; destroy resets the setting (Default Host " +
			"Management off) and deletes a role it created. Instances need SSM Agent 3.2.582.0 or later and IMDSv2. " +
			"Changes made outside Terraform (setting reset or pointed elsewhere, policy detached, role deleted) show in the " +
			"plan and are repaired by apply. There is one such setting per account and region: create fails when it is " +
			"already on with another role (import it instead).\n\n" +
			"**Destroy leaves what was there before Terraform**: a setting that was already on with this role when the " +
			"resource took it over (at create, or by import; `previous_setting_value`) stays on, and a role that already " +
			"existed (`role_existed`) is kept, even with `create_role = true`. Only what this resource turned on and created " +
			"is turned off and deleted. To turn off a setting that was adopted, run `aws ssm reset-service-setting` after the " +
			"destroy.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "`<account id>/<region>` of the setting; the import id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"role_name": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(defaultDHMCRoleName),
				MarkdownDescription: "Name of the IAM role agents get (default `" + defaultDHMCRoleName + "`, as the console's " +
					"Quick Setup names it). IAM names are case-insensitive. Changing it replaces the resource.",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, maxRoleNameLen),
					stringvalidator.RegexMatches(iamNamePattern, "may contain only letters, digits and the characters +=,.@_-"),
				},
				PlanModifiers: []planmodifier.String{requiresReplaceUnlessCaseOnly()},
			},
			"role_path": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "Path of the role: `/` or `/` + printable ASCII + `/`. The setting names the role by path and " +
					"name. Unset, it is the path of the role when a role named `role_name` already exists (so adopting or importing " +
					"the setting AWS's documented setup made plans no change), else `" + defaultDHMCRolePath + "`, where AWS's " +
					"documented setup puts `" + defaultDHMCRoleName + "`; once known it is kept from the state while it is unset " +
					"(a state written by a provider version whose default was `/` keeps `/`: nothing is replaced). Setting it to " +
					"another path than the state's replaces the resource.",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 512),
					stringvalidator.RegexMatches(iamPathPattern, "must be / or begin and end with / and contain only printable ASCII characters"),
				},
				PlanModifiers: []planmodifier.String{requiresReplaceWhenConfigured()},
			},
			"create_role": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Whether this resource manages the role: `true` (the default) creates it (or adopts and repairs " +
					"an existing one) and deletes it on destroy when it created it; `false` uses an existing role as it is, fails " +
					"when it does not let the agent work, and keeps it on destroy. Import sets `true`.",
			},
			"role_arn": schema.StringAttribute{
				Computed: true, MarkdownDescription: "ARN of the role.",
			},
			"setting_value": schema.StringAttribute{
				Computed: true, MarkdownDescription: "Value of the service setting: the role's path without the leading `/`, then its name.",
			},
			"previous_setting_value": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The setting's value when this resource took it over: at import, or at create when Default " +
					"Host Management was already on with this role (as after AWS's documented setup). Null when it was off. " +
					"Destroy puts it back (leaves Default Host Management on with that role) instead of turning it off.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"role_existed": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: "Whether the role existed before this resource (adopted at create, or imported). Destroy " +
					"deletes only a role this resource created, so such a role is kept.",
				PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
			},
			"role_ready": schema.BoolAttribute{
				Computed: true, MarkdownDescription: "Whether the role exists, trusts `ssm.amazonaws.com` and lets the agent register " +
					"and take commands (refreshed on every read; `false` plans a repair).",
			},
		},
	}
}

func (r *defaultHostManagementResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan plans what apply makes true: the setting names the configured role
// and the role is ready. Drift in either then shows as an in-place update.
func (r *defaultHostManagementResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan defaultHostManagementModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *defaultHostManagementModel
	if !req.State.Raw.IsNull() {
		state = &defaultHostManagementModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	sameRole := state != nil && !plan.RoleName.IsUnknown() && strings.EqualFold(state.RoleName.ValueString(), plan.RoleName.ValueString())
	// An unset role_path keeps the state's path for the same role (so a state
	// with the old default "/" is not replaced); otherwise apply finds it (the
	// existing role's path, else defaultDHMCRolePath).
	var configPath types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("role_path"), &configPath)...)
	if configPath.IsNull() {
		if sameRole && state.RolePath.ValueString() != "" {
			plan.RolePath = state.RolePath
		} else {
			plan.RolePath = types.StringUnknown()
		}
	}
	if plan.RoleName.IsUnknown() || plan.RolePath.IsUnknown() {
		plan.SettingValue = types.StringUnknown()
	} else {
		plan.SettingValue = types.StringValue(defaulthost.Value(plan.RolePath.ValueString(), plan.RoleName.ValueString()))
	}
	plan.RoleReady = types.BoolValue(true)
	if plan.RoleARN.IsUnknown() && sameRole && state.RoleARN.ValueString() != "" && state.RolePath.Equal(plan.RolePath) {
		plan.RoleARN = state.RoleARN
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *defaultHostManagementResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan defaultHostManagementModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	summary := doing("turning on", nameDefaultHost, "role "+plan.RoleName.ValueString())
	if !r.resolvePath(ctx, &plan, summary, &resp.Diagnostics) {
		return
	}
	value := defaulthost.Value(plan.RolePath.ValueString(), plan.RoleName.ValueString())
	cur, err := defaulthost.Get(ctx, r.data.SSM)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if cur.On() && !strings.EqualFold(cur.Value, value) {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("Default Host Management is already on in account %s, region %s, with role %s. "+
			"There is one setting per account and region: import it (terraform import <address> %s) to manage it, "+
			"or turn it off first (aws ssm reset-service-setting --setting-id %s).", cur.Account, cur.Region, cur.Value, cur.ID(), defaulthost.SettingID))
		return
	}
	plan.PrevSetting = types.StringNull()
	if cur.On() {
		plan.PrevSetting = types.StringValue(cur.Value) // on already, with this role: taken over
	}
	_, err = iamx.LookupRole(ctx, r.data.IAM, plan.RoleName.ValueString())
	switch {
	case iamx.IsNotFound(err):
		plan.RoleExisted = types.BoolValue(false)
	case err != nil:
		resp.Diagnostics.AddError(summary, fmt.Sprintf("reading IAM role %s: %s", plan.RoleName.ValueString(), err))
		return
	default:
		plan.RoleExisted = types.BoolValue(true)
	}
	r.apply(ctx, &plan, cur, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// resolvePath settles an unset role_path: the path of the existing role named
// role_name, else defaultDHMCRolePath.
func (r *defaultHostManagementResource) resolvePath(ctx context.Context, plan *defaultHostManagementModel, summary string, diags interface {
	AddError(string, string)
}) bool {
	if !plan.RolePath.IsUnknown() && !plan.RolePath.IsNull() {
		return true
	}
	name := plan.RoleName.ValueString()
	role, err := iamx.LookupRole(ctx, r.data.IAM, name)
	switch {
	case iamx.IsNotFound(err):
		plan.RolePath = types.StringValue(defaultDHMCRolePath)
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("reading IAM role %s to find its path: %s", name, err))
		return false
	default:
		plan.RolePath = types.StringValue(role.Path)
	}
	return true
}

// apply makes the role ready (or checks an existing one) and sets the setting,
// then records what it finds.
func (r *defaultHostManagementResource) apply(ctx context.Context, plan *defaultHostManagementModel, cur *defaulthost.Setting, summary string, diags interface {
	AddError(string, string)
	HasError() bool
}) {
	name, rolePath := plan.RoleName.ValueString(), plan.RolePath.ValueString()
	if plan.CreateRole.ValueBool() {
		if _, err := defaulthost.EnsureRole(ctx, r.data.IAM, name, rolePath, cur.Partition, r.data.DefaultTags); err != nil {
			detail := err.Error()
			if defaulthost.IsWrongPath(err) {
				detail += ": set role_path to the role's path, or choose another role_name"
			}
			diags.AddError(summary, detail)
			return
		}
	} else {
		problems, err := defaulthost.RoleProblems(ctx, r.data.IAM, name)
		switch {
		case iamx.IsNotFound(err):
			diags.AddError(summary, fmt.Sprintf("IAM role %s does not exist: create it, or set create_role = true to let this resource create it.", name))
			return
		case err != nil:
			diags.AddError(summary, fmt.Sprintf("checking IAM role %s: %s", name, err))
			return
		case len(problems) > 0:
			diags.AddError(summary, fmt.Sprintf("IAM role %s cannot serve Default Host Management: %s. Attach the AWS managed policy %s "+
				"and let ssm.amazonaws.com assume it, or set create_role = true to let this resource repair it.", name, strings.Join(problems, "; "), defaulthost.PolicyName))
			return
		}
	}
	value := defaulthost.Value(rolePath, name)
	if cur.Value != value {
		if err := defaulthost.Set(ctx, r.data.SSM, value); err != nil {
			diags.AddError(summary, err.Error())
			return
		}
	}
	plan.ID = types.StringValue(cur.ID())
	r.refresh(ctx, plan, summary, diags)
}

// refresh reads the setting and the role into m.
func (r *defaultHostManagementResource) refresh(ctx context.Context, m *defaultHostManagementModel, summary string, diags interface {
	AddError(string, string)
	HasError() bool
}) {
	cur, err := defaulthost.Get(ctx, r.data.SSM)
	if err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	m.SettingValue = types.StringValue(cur.Value)
	name := m.RoleName.ValueString()
	role, err := iamx.LookupRole(ctx, r.data.IAM, name)
	switch {
	case iamx.IsNotFound(err):
		m.RoleARN, m.RoleReady = types.StringValue(""), types.BoolValue(false)
		return
	case err != nil:
		diags.AddError(summary, fmt.Sprintf("reading IAM role %s: %s", name, err))
		return
	}
	m.RoleARN = types.StringValue(role.ARN)
	problems, err := defaulthost.RoleProblems(ctx, r.data.IAM, name)
	if err != nil && !iamx.IsNotFound(err) {
		diags.AddError(summary, fmt.Sprintf("checking IAM role %s: %s", name, err))
		return
	}
	m.RoleReady = types.BoolValue(err == nil && len(problems) == 0 && role.Path == m.RolePath.ValueString())
}

func (r *defaultHostManagementResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state defaultHostManagementModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.refresh(ctx, &state, doing("reading", nameDefaultHost, state.ID.ValueString()), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *defaultHostManagementResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan defaultHostManagementModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state defaultHostManagementModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.PrevSetting, plan.RoleExisted = state.PrevSetting, state.RoleExisted
	summary := doing("updating", nameDefaultHost, plan.ID.ValueString())
	if !r.resolvePath(ctx, &plan, summary, &resp.Diagnostics) {
		return
	}
	cur, err := defaulthost.Get(ctx, r.data.SSM)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	r.apply(ctx, &plan, cur, summary, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *defaultHostManagementResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state defaultHostManagementModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	summary := doing("turning off", nameDefaultHost, state.ID.ValueString())
	value := defaulthost.Value(state.RolePath.ValueString(), state.RoleName.ValueString())
	cur, err := defaulthost.Get(ctx, r.data.SSM)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	prev := state.PrevSetting.ValueString()
	switch {
	case strings.EqualFold(cur.Value, value) && prev != "":
		// On before this resource: put the value it had back (the same role: leave it on).
		if cur.Value != prev {
			if err := defaulthost.Set(ctx, r.data.SSM, prev); err != nil {
				resp.Diagnostics.AddError(summary, err.Error())
				return
			}
		}
		tflog.Debug(ctx, "Default Host Management was on before this resource: left on", map[string]any{"setting_value": prev})
	case strings.EqualFold(cur.Value, value):
		if err := defaulthost.Reset(ctx, r.data.SSM); err != nil {
			resp.Diagnostics.AddError(summary, err.Error())
			return
		}
	case cur.On():
		resp.Diagnostics.AddWarning(summary, fmt.Sprintf("The setting now names role %s, not %s: it was changed outside Terraform and is left as it is.", cur.Value, value))
	}
	if state.CreateRole.ValueBool() && !state.RoleExisted.ValueBool() {
		if err := iamx.DeleteRole(ctx, r.data.IAM, state.RoleName.ValueString(), iamx.PropagationTimeout); err != nil {
			resp.Diagnostics.AddError(summary, err.Error())
		}
	}
}

func (r *defaultHostManagementResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	summary := doing("importing", nameDefaultHost, req.ID)
	m := reImportID.FindStringSubmatch(req.ID)
	if m == nil {
		resp.Diagnostics.AddError(summary,
			fmt.Sprintf("The import id %q is not <account id>/<region> (for example 123456789012/us-east-1).", req.ID))
		return
	}
	cur, err := defaulthost.Get(ctx, r.data.SSM)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if cur.Account != m[1] || cur.Region != m[2] {
		resp.Diagnostics.AddError(summary,
			fmt.Sprintf("The provider is configured for account %s, region %s, not %s: import with a provider for that account and region.", cur.Account, cur.Region, req.ID))
		return
	}
	if !cur.On() {
		resp.Diagnostics.AddError(summary,
			fmt.Sprintf("Default Host Management is off in account %s, region %s: there is nothing to import. Apply the configuration to turn it on.", cur.Account, cur.Region))
		return
	}
	rolePath, name := defaulthost.ParseValue(cur.Value)
	tflog.Debug(ctx, "importing Default Host Management", map[string]any{"setting_value": cur.Value})
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), cur.ID())...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("role_name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("role_path"), rolePath)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("create_role"), true)...)
	// What the account had before Terraform, which destroy leaves in place.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("previous_setting_value"), cur.Value)...)
	_, err = iamx.LookupRole(ctx, r.data.IAM, name)
	if err != nil && !iamx.IsNotFound(err) {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("reading IAM role %s: %s", name, err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("role_existed"), err == nil)...)
}

// requiresReplaceWhenConfigured replaces the resource when role_path is set to
// another path than the state's; an unset role_path never replaces (ModifyPlan
// keeps the state's path or finds it at apply).
func requiresReplaceWhenConfigured() planmodifier.String {
	return stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !req.ConfigValue.IsNull() && !req.ConfigValue.IsUnknown() && !req.StateValue.IsNull() &&
			req.ConfigValue.ValueString() != req.StateValue.ValueString()
	}, "Setting role_path to another path than the state's replaces the resource.", "Setting `role_path` to another path than the state's replaces the resource.")
}

// requiresReplaceUnlessCaseOnly replaces the resource when an IAM name changes
// other than in letter case (IAM names are case-insensitive).
func requiresReplaceUnlessCaseOnly() planmodifier.String {
	return stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !strings.EqualFold(req.StateValue.ValueString(), req.PlanValue.ValueString())
	}, "Changing the name (other than its letter case) replaces the resource.", "Changing the name (other than its letter case) replaces the resource.")
}
