package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
)

var _ datasource.DataSourceWithConfigure = (*managedInstancesDataSource)(nil)

func newManagedInstancesDataSource() datasource.DataSource { return &managedInstancesDataSource{} }

type managedInstancesDataSource struct{ data *ProviderData }

type managedInstancesModel struct {
	InstanceIDs   types.List `tfsdk:"instance_ids"`
	Tags          types.Map  `tfsdk:"tags"`
	PingStatuses  types.List `tfsdk:"ping_statuses"`
	PlatformTypes types.List `tfsdk:"platform_types"`
	IDs           types.List `tfsdk:"ids"`
	Instances     types.Map  `tfsdk:"instances"`
}

var managedInstanceAttrTypes = map[string]attr.Type{
	"instance_id":        types.StringType,
	"ping_status":        types.StringType,
	"last_ping_at":       timetypes.RFC3339Type{},
	"agent_version":      types.StringType,
	"is_latest_version":  types.BoolType,
	"platform_type":      types.StringType,
	"platform_name":      types.StringType,
	"platform_version":   types.StringType,
	"ip_address":         types.StringType,
	"computer_name":      types.StringType,
	"association_status": types.StringType,
	"resource_type":      types.StringType,
	"source_id":          types.StringType,
	"source_type":        types.StringType,
	"registered_at":      timetypes.RFC3339Type{},
}

func (d *managedInstancesDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_managed_instances"
}

func (d *managedInstancesDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	stringList := func(desc string, values ...string) schema.ListAttribute {
		return schema.ListAttribute{
			ElementType:         types.StringType,
			Optional:            true,
			MarkdownDescription: desc,
			Validators: []validator.List{
				listvalidator.SizeBetween(1, 100),
				listvalidator.NoNullValues(),
				listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(stringvalidator.OneOf(values...)),
			},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the managed nodes of the account and region as `DescribeInstanceInformation` reports them " +
			"(the fleet as it is: ping status, agent version, platform, last ping), optionally filtered. It reads once and never " +
			"waits: a node whose agent is `ConnectionLost` is listed with that status.\n\n" +
			"**When it runs.** Terraform reads a data source on every plan, refresh and destroy: each read lists the nodes " +
			"again, so the result changes whenever the fleet does, and resources that use it with `for_each` follow it.\n\n" +
			"**What is listed.** Managed nodes only: instances whose agent has registered with SSM. Stopped and terminated " +
			"instances are not listed (SSM does not return them), nor are instances whose agent never registered (no agent, " +
			"no instance profile or a role the agent cannot use); `ssm_agent_online` explains those.\n\n" +
			"**Filters and cost.** One `DescribeInstanceInformation` call per page of 50 nodes. With `instance_ids` (and no " +
			"`tags`), one call per 50 ids. Otherwise SSM pages through the account's managed nodes and filters each page (a page " +
			"can be empty while more follow), so a read costs one call per 50 managed nodes of the account and region, " +
			"whatever the filters. SSM cannot combine tag filters with other filter types: with `tags`, SSM filters by the " +
			"tags and this data source applies `instance_ids`, `ping_statuses` and `platform_types` to the nodes carrying " +
			"them.",
		Attributes: map[string]schema.Attribute{
			"instance_ids": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Keep only these nodes, such as `i-0123456789abcdef0`. Ids that are not managed nodes (stopped, or whose agent never registered) are left out.",
				Validators:          instanceIDListValidators(),
			},
			"tags": schema.MapAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Keep nodes carrying all of these tags (the SSM `tag:<key>` filter).",
				Validators:          tagSelectorValidators(),
			},
			"ping_statuses": stringList("Keep nodes whose agent reports one of these: `Online`, `ConnectionLost`, `Inactive` (deprecated by SSM).",
				"Online", "ConnectionLost", "Inactive"),
			"platform_types": stringList("Keep nodes of these platforms: `Linux`, `Windows`, `MacOS`.", "Linux", "Windows", "MacOS"),
			"ids": schema.ListAttribute{
				ElementType:         types.StringType,
				Computed:            true,
				MarkdownDescription: "Ids of the listed nodes, sorted. For `for_each`, use `toset(...ids)` or the `instances` map.",
			},
			"instances": schema.MapNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The listed nodes by instance id, as `DescribeInstanceInformation` reports them. Usable as `for_each` directly.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"instance_id":        str("The node's id."),
					"ping_status":        str("`Online`, `ConnectionLost` or `Inactive`: whether the agent is connected to SSM."),
					"last_ping_at":       schema.StringAttribute{CustomType: timetypes.RFC3339Type{}, Computed: true, MarkdownDescription: "When the agent last pinged SSM, RFC 3339 (null when SSM does not say)."},
					"agent_version":      str("Version of the SSM agent."),
					"is_latest_version":  schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the agent is the latest version SSM knows."},
					"platform_type":      str("`Linux`, `Windows` or `MacOS`."),
					"platform_name":      str("Operating system name, such as `Amazon Linux`."),
					"platform_version":   str("Operating system version."),
					"ip_address":         str("IP address the agent reports."),
					"computer_name":      str("Host name the agent reports."),
					"association_status": str("State Manager association status (`Success`, `Pending`, `Failed`); empty when the node has no association."),
					"resource_type":      str("`EC2Instance` or `ManagedInstance` (a hybrid node)."),
					"source_id":          str("Id of the node's source, such as the EC2 instance id."),
					"source_type":        str("Type of the node's source, such as `AWS::EC2::Instance` or `AWS::SSM::ManagedInstance`."),
					"registered_at":      schema.StringAttribute{CustomType: timetypes.RFC3339Type{}, Computed: true, MarkdownDescription: "When the agent registered, RFC 3339 (null when SSM does not say)."},
				}},
			},
		},
	}
}

func (d *managedInstancesDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (d *managedInstancesDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m managedInstancesModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.data == nil {
		return
	}
	var spec agentwait.ListSpec
	for _, l := range []struct {
		from types.List
		to   *[]string
	}{{m.InstanceIDs, &spec.InstanceIDs}, {m.PingStatuses, &spec.PingStatuses}, {m.PlatformTypes, &spec.PlatformTypes}} {
		if !l.from.IsNull() {
			resp.Diagnostics.Append(l.from.ElementsAs(ctx, l.to, false)...)
		}
	}
	if !m.Tags.IsNull() {
		resp.Diagnostics.Append(m.Tags.ElementsAs(ctx, &spec.Tags, false)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	listing, err := agentwait.List(ctx, d.data.SSM, spec)
	if err != nil {
		resp.Diagnostics.AddError("listing SSM managed instances",
			err.Error()+"\n\nThe provider's credentials need ssm:DescribeInstanceInformation in this region.")
		return
	}
	tflog.Debug(ctx, "listed managed instances", map[string]any{
		"instances": len(listing.Instances), "calls": listing.Calls, "client_side_filters": listing.ClientSide,
	})
	ids := make([]attr.Value, 0, len(listing.Instances))
	instances := make(map[string]attr.Value, len(listing.Instances))
	for _, a := range listing.Instances {
		ids = append(ids, types.StringValue(a.InstanceID))
		obj, diags := types.ObjectValue(managedInstanceAttrTypes, map[string]attr.Value{
			"instance_id":        types.StringValue(a.InstanceID),
			"ping_status":        types.StringValue(a.PingStatus),
			"last_ping_at":       rfc3339OrNull(a.LastPingAt),
			"agent_version":      types.StringValue(a.AgentVersion),
			"is_latest_version":  types.BoolValue(a.IsLatestVersion),
			"platform_type":      types.StringValue(a.PlatformType),
			"platform_name":      types.StringValue(a.PlatformName),
			"platform_version":   types.StringValue(a.PlatformVersion),
			"ip_address":         types.StringValue(a.IPAddress),
			"computer_name":      types.StringValue(a.ComputerName),
			"association_status": types.StringValue(a.AssociationStatus),
			"resource_type":      types.StringValue(a.ResourceType),
			"source_id":          types.StringValue(a.SourceID),
			"source_type":        types.StringValue(a.SourceType),
			"registered_at":      rfc3339OrNull(a.RegisteredAt),
		})
		resp.Diagnostics.Append(diags...)
		instances[a.InstanceID] = obj
	}
	var diags diag.Diagnostics
	m.IDs, diags = types.ListValue(types.StringType, ids)
	resp.Diagnostics.Append(diags...)
	m.Instances, diags = types.MapValue(types.ObjectType{AttrTypes: managedInstanceAttrTypes}, instances)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// rfc3339OrNull is t in UTC, or null for the zero time.
func rfc3339OrNull(t time.Time) timetypes.RFC3339 {
	if t.IsZero() {
		return timetypes.NewRFC3339Null()
	}
	return timetypes.NewRFC3339TimeValue(t.UTC())
}
