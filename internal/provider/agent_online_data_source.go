package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/datasourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

var (
	_ datasource.DataSourceWithConfigure        = (*agentOnlineDataSource)(nil)
	_ datasource.DataSourceWithConfigValidators = (*agentOnlineDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig   = (*agentOnlineDataSource)(nil)
)

const defaultAgentOnlineTimeout = agentwait.DefaultTimeout

func newAgentOnlineDataSource() datasource.DataSource { return &agentOnlineDataSource{} }

type agentOnlineDataSource struct{ data *ProviderData }

type agentOnlineModel struct {
	InstanceIDs       types.List           `tfsdk:"instance_ids"`
	Tags              types.Map            `tfsdk:"tags"`
	MinCount          types.Int64          `tfsdk:"min_count"`
	Timeout           checkedDurationValue `tfsdk:"timeout"`
	OnUnreachable     types.String         `tfsdk:"on_unreachable"`
	OnlineInstanceIDs types.List           `tfsdk:"online_instance_ids"`
	NotOnline         types.Map            `tfsdk:"not_online"`
	Instances         types.Map            `tfsdk:"instances"`
}

var agentAttrTypes = map[string]attr.Type{
	"ping_status":       types.StringType,
	"agent_version":     types.StringType,
	"is_latest_version": types.BoolType,
	"platform_type":     types.StringType,
	"platform_name":     types.StringType,
	"platform_version":  types.StringType,
	"computer_name":     types.StringType,
	"ip_address":        types.StringType,
	"resource_type":     types.StringType,
	"last_ping_at":      timetypes.RFC3339Type{},
}

func (d *agentOnlineDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_agent_online"
}

func (d *agentOnlineDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Waits until the SSM agents of instances report `Online`, then returns them. It polls " +
			"`DescribeInstanceInformation` with back-off (at most one call per 50 instances per poll), fails at once when selected " +
			"instances are stopped, stopping, terminated or shutting down, and on timeout explains each instance that is not " +
			"online, in the order of the SSM troubleshooting checklist: does it exist and run, has it an instance profile, does " +
			"the profile's role allow the agent, was the agent seen.\n\n" +
			"**When it runs.** Terraform reads a data source on every plan, refresh and destroy, not only when it is created. " +
			"When its arguments are known at plan time (ids written out, or taken from resources that already exist) it waits " +
			"during *every* plan, and also before `terraform destroy` and `terraform import`; when they come from resources " +
			"created or changed in the same apply, it waits during that apply. So on day 2, an agent that is offline on purpose " +
			"(instance stopped, agent down for maintenance, permissions drifted) makes every plan and destroy of the workspace " +
			"fail after `timeout` (or at once for stopped instances), including the plan that would repair it.\n\n" +
			"**Day 2: two remedies.** (1) Put `depends_on` on the resources that give the instances their identity " +
			"(`ssm_instance_role`, `ssm_instance_profile`, `ssm_instance_profile_association`, or `ssm_default_host_management`): " +
			"when any of them has a change to apply — such as a repair of the role after its policy was detached outside " +
			"Terraform — Terraform defers the read to the apply, after the repair, so the plan does not wait and the apply " +
			"repairs and then waits. (2) `terraform destroy -refresh=false` destroys without reading data sources, so an " +
			"offline agent cannot block it. For gates that must never block a plan or a destroy, set " +
			"`on_unreachable = \"warn\"`: the read then waits (up to `timeout`) only for the instances that can still come " +
			"online (never for stopped or terminated ones), returns the online ones in `online_instance_ids`, and warns, " +
			"naming each other instance with its diagnosis (also in `not_online`).\n\n" +
			"**Use it** as a gate in front of things this provider does not run (a load balancer registration, another " +
			"provider's resource) and where failing while the agents are offline is what you want. **To run commands**, do not " +
			"gate `ssm_command_run` with it: give `ssm_command_run` the instance ids directly and set its `agent_wait_timeout`; " +
			"it waits for the agents only when it runs, and plans, refreshes and destroys never depend on them. Passing " +
			"`online_instance_ids` to `ssm_command_run` would also change its targets whenever the set of online agents changes.",
		Attributes: map[string]schema.Attribute{
			"instance_ids": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Instances to wait for, such as `i-0123456789abcdef0`. With `tags` too, only listed instances carrying the tags count.",
				Validators:          instanceIDListValidators(),
			},
			"tags": schema.MapAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Select instances carrying all of these tags (the SSM `tag:<key>` filter).",
				Validators:          tagSelectorValidators(),
			},
			"min_count": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "How many selected agents must be `Online`. Defaults to all listed `instance_ids`, or 1 when only `tags` select.",
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
			},
			"timeout": schema.StringAttribute{
				CustomType:          durationType{},
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("How long to wait, as a Go duration such as `90s` or `15m`. Defaults to `%s`.", shortDuration(defaultAgentOnlineTimeout)),
				Validators:          []validator.String{durationBetween(time.Second, 24*time.Hour)},
			},
			"on_unreachable": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "What to do when agents are not online: `fail` (the default) fails the read — at once when " +
					"selected instances are stopped or terminated, else at `timeout` — which fails the plan, apply or destroy " +
					"reading it; `warn` never fails for that: it waits (up to `timeout`) for every listed instance that can still " +
					"come online (with only `tags`, for `min_count` agents), skipping stopped, stopping, terminated and " +
					"shutting-down instances at once, then returns the online ones and warns, naming each instance that is not " +
					"online with its diagnosis. With `warn`, `min_count` does not end the wait early for `instance_ids`. API " +
					"errors (such as access denied) still fail.",
				Validators: []validator.String{stringvalidator.OneOf("fail", "warn")},
			},
			"not_online": schema.MapAttribute{
				ElementType: types.StringType,
				Computed:    true,
				MarkdownDescription: "With `on_unreachable = \"warn\"`: why each selected instance that is not online is not, by " +
					"instance id (the diagnosis is bounded to the first instances; the warning says how many more). Empty otherwise.",
			},
			"online_instance_ids": schema.ListAttribute{
				ElementType:         types.StringType,
				Computed:            true,
				MarkdownDescription: "Ids of the selected instances whose agents are `Online`, sorted.",
			},
			"instances": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Online agents by instance id, as `DescribeInstanceInformation` reports them.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"ping_status":       str("`Online`."),
					"agent_version":     str("Version of the SSM agent."),
					"is_latest_version": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the agent is the latest version."},
					"platform_type":     str("`Linux`, `Windows` or `MacOS`."),
					"platform_name":     str("Operating system name, such as `Amazon Linux`."),
					"platform_version":  str("Operating system version."),
					"computer_name":     str("Host name."),
					"ip_address":        str("IP address the agent reports."),
					"resource_type":     str("`EC2Instance` or `ManagedInstance`."),
					"last_ping_at":      schema.StringAttribute{CustomType: timetypes.RFC3339Type{}, Computed: true, MarkdownDescription: "When the agent last pinged, RFC 3339."},
				}},
			},
		},
	}
}

func (d *agentOnlineDataSource) ConfigValidators(context.Context) []datasource.ConfigValidator {
	return []datasource.ConfigValidator{
		datasourcevalidator.AtLeastOneOf(path.MatchRoot("instance_ids"), path.MatchRoot("tags")),
	}
}

func (d *agentOnlineDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m agentOnlineModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.MinCount.IsNull() || m.MinCount.IsUnknown() || m.InstanceIDs.IsNull() || m.InstanceIDs.IsUnknown() {
		return
	}
	if n := int64(len(m.InstanceIDs.Elements())); m.MinCount.ValueInt64() > n {
		resp.Diagnostics.AddAttributeError(path.Root("min_count"), "min_count exceeds the listed instances",
			minCountDetail(int(m.MinCount.ValueInt64()), int(n)))
	}
}

func (d *agentOnlineDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (d *agentOnlineDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m agentOnlineModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.data == nil {
		return
	}
	spec := agentwait.Spec{Timeout: defaultAgentOnlineTimeout}
	resp.Diagnostics.Append(m.InstanceIDs.ElementsAs(ctx, &spec.InstanceIDs, false)...)
	if !m.Tags.IsNull() {
		resp.Diagnostics.Append(m.Tags.ElementsAs(ctx, &spec.Tags, false)...)
	}
	if !m.MinCount.IsNull() {
		spec.MinCount = int(m.MinCount.ValueInt64())
	}
	if !m.Timeout.IsNull() {
		t, diags := m.Timeout.ValueGoDuration()
		resp.Diagnostics.Append(diags...)
		spec.Timeout = t
	}
	if resp.Diagnostics.HasError() {
		return
	}
	spec.Progress = func(online, want int) {
		tflog.Info(ctx, fmt.Sprintf("%d/%d SSM agents online", online, want), map[string]any{"online": online, "want": want})
	}
	clients := agentwait.Clients{SSM: d.data.SSM, EC2: d.data.EC2, IAM: d.data.IAM}
	var online []agentwait.Agent
	notOnline := map[string]attr.Value{}
	if m.OnUnreachable.ValueString() == "warn" {
		rep, err := agentwait.WaitReport(ctx, clients, spec)
		if err != nil {
			addAgentWaitError(&resp.Diagnostics, spec, err)
			return
		}
		online = rep.Online
		for _, dg := range rep.NotOnline {
			notOnline[dg.InstanceID] = types.StringValue(dg.Reason)
		}
		if msg := rep.Message(); msg != "" {
			resp.Diagnostics.AddWarning("waiting for the "+nameAgents+" of "+agentSelection(spec)+": some are not online",
				msg+"\n\non_unreachable = \"warn\": the read goes on with the online ones (online_instance_ids). Start the "+
					"instances or fix what is named above; stopped and terminated instances are not waited for.")
		}
	} else {
		res, err := agentwait.Wait(ctx, clients, spec)
		if err != nil {
			addAgentWaitError(&resp.Diagnostics, spec, err)
			return
		}
		online = res.Online
	}
	ids := make([]attr.Value, 0, len(online))
	instances := make(map[string]attr.Value, len(online))
	for _, a := range online {
		ids = append(ids, types.StringValue(a.InstanceID))
		obj, diags := types.ObjectValue(agentAttrTypes, map[string]attr.Value{
			"ping_status":       types.StringValue(a.PingStatus),
			"agent_version":     types.StringValue(a.AgentVersion),
			"is_latest_version": types.BoolValue(a.IsLatestVersion),
			"platform_type":     types.StringValue(a.PlatformType),
			"platform_name":     types.StringValue(a.PlatformName),
			"platform_version":  types.StringValue(a.PlatformVersion),
			"computer_name":     types.StringValue(a.ComputerName),
			"ip_address":        types.StringValue(a.IPAddress),
			"resource_type":     types.StringValue(a.ResourceType),
			"last_ping_at":      timetypes.NewRFC3339TimeValue(a.LastPingAt.UTC()),
		})
		resp.Diagnostics.Append(diags...)
		instances[a.InstanceID] = obj
	}
	var diags diag.Diagnostics
	m.OnlineInstanceIDs, diags = types.ListValue(types.StringType, ids)
	resp.Diagnostics.Append(diags...)
	m.Instances, diags = types.MapValue(types.ObjectType{AttrTypes: agentAttrTypes}, instances)
	resp.Diagnostics.Append(diags...)
	m.NotOnline, diags = types.MapValue(types.StringType, notOnline)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// addAgentWaitError turns the waiter's error into one diagnostic: what was
// waited for, then why it failed and what to do.
func addAgentWaitError(diags *diag.Diagnostics, spec agentwait.Spec, err error) {
	summary := "waiting for the " + nameAgents + " of " + agentSelection(spec)
	var (
		te *agentwait.TimeoutError
		ne *agentwait.NeverOnlineError
		mc *agentwait.MinCountError
	)
	switch {
	case errors.As(err, &te):
		diags.AddError(summary, "The wait timed out: "+err.Error()+
			"\n\nFix what is named above, or wait longer with a larger timeout."+identityAdvice(err))
	case errors.As(err, &ne):
		diags.AddError(summary, err.Error()+
			"\n\nStart the instances or select running ones, or lower min_count, or set on_unreachable = \"warn\" to go on "+
			"with the online ones. Terraform reads this data source on every plan and destroy: terraform destroy -refresh=false "+
			"skips the read; to run commands, prefer ssm_command_run's agent_wait_timeout, which waits only when the command runs.")
	case errors.As(err, &mc):
		diags.AddAttributeError(path.Root("min_count"), summary, minCountDetail(mc.MinCount, mc.Listed))
	default:
		diags.AddError(summary, err.Error())
	}
}

func minCountDetail(minCount, listed int) string {
	return fmt.Sprintf("min_count %d is more than the %d instances instance_ids lists, so the wait could never succeed. "+
		"Lower min_count or list more instances.", minCount, listed)
}

// agentSelection names the instances a wait selects: "instance i-0abc",
// "3 instances", "instances with tag:Role = web".
func agentSelection(spec agentwait.Spec) string {
	var targets []runcommand.Target
	for _, k := range slices.Sorted(maps.Keys(spec.Tags)) {
		targets = append(targets, runcommand.Target{Key: "tag:" + k, Values: []string{spec.Tags[k]}})
	}
	if len(spec.InstanceIDs) > 0 && len(targets) > 0 {
		return targetText(spec.InstanceIDs, nil) + " with " + strings.TrimPrefix(targetText(nil, targets), "instances with ")
	}
	return targetText(spec.InstanceIDs, targets)
}
