package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/list"
	listschema "github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

var (
	_ list.ListResourceWithConfigure = (*instanceProfileAssociationList)(nil)
)

// newInstanceProfileAssociationList lists the instance profile associations
// of the account and region for `terraform query`: each result is an
// ssm_instance_profile_association identity (its instance id), from which
// `terraform query -generate-config-out` writes import blocks and resources.
func newInstanceProfileAssociationList() list.ListResource { return &instanceProfileAssociationList{} }

type instanceProfileAssociationList struct{ data *ProviderData }

type instanceProfileAssociationListModel struct {
	InstanceIDs     types.List   `tfsdk:"instance_ids"`
	Tags            types.Map    `tfsdk:"tags"`
	InstanceProfile types.String `tfsdk:"instance_profile"`
}

func (l *instanceProfileAssociationList) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance_profile_association"
}

func (l *instanceProfileAssociationList) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = listschema.Schema{
		MarkdownDescription: "Lists the instance profile associations of EC2 instances in the provider's account and region " +
			"(those in state `associated`), for `terraform query`: each result is an `ssm_instance_profile_association` " +
			"identified by its instance id, so `terraform query -generate-config-out=FILE` writes an import block and a " +
			"resource for each, to bring a fleet's existing associations under management. The generated resources keep the " +
			"defaults `replace_existing = true` and `restore_on_destroy = true`; as for any imported association, nothing was " +
			"replaced, so destroy disassociates. Filters combine: every set one must match. Calls: one " +
			"`DescribeIamInstanceProfileAssociations` per 1,000 associations, plus with `tags` one `DescribeInstances` per " +
			"1,000 tagged instances.",
		Attributes: map[string]listschema.Attribute{
			"instance_ids": listschema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Only the associations of these instances.",
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.NoNullValues(),
					listvalidator.ValueStringsAre(stringvalidator.RegexMatches(ec2InstanceIDPattern, "must be an EC2 instance id such as i-0123456789abcdef0")),
				},
			},
			"tags": listschema.MapAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Only the associations of instances carrying all of these tags.",
				Validators:          tagSelectorValidators(),
			},
			"instance_profile": listschema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Only the associations of this instance profile (name or ARN).",
				Validators:          []validator.String{instanceProfileNameOrARN()},
			},
		},
	}
}

func (l *instanceProfileAssociationList) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	l.data = providerData(req.ProviderData, &resp.Diagnostics)
}

var associationTimeoutsType = map[string]attr.Type{"create": types.StringType, "update": types.StringType, "delete": types.StringType}

func (l *instanceProfileAssociationList) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var cfg instanceProfileAssociationListModel
	diags := req.Config.Get(ctx, &cfg)
	if diags.HasError() || l.data == nil {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	spec := iamx.AssociationListSpec{Profile: cfg.InstanceProfile.ValueString()}
	if !cfg.InstanceIDs.IsNull() {
		diags.Append(cfg.InstanceIDs.ElementsAs(ctx, &spec.InstanceIDs, false)...)
	}
	if !cfg.Tags.IsNull() {
		diags.Append(cfg.Tags.ElementsAs(ctx, &spec.Tags, false)...)
	}
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	found, err := iamx.ListAssociations(ctx, l.data.EC2, spec)
	if err != nil {
		diags.AddError("listing "+nameProfileAssociation+"s", err.Error()+
			"\n\nThe provider's credentials need ec2:DescribeIamInstanceProfileAssociations (and ec2:DescribeInstances with tags).")
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	stream.Results = func(push func(list.ListResult) bool) {
		for i, a := range found {
			if req.Limit > 0 && int64(i) >= req.Limit {
				return
			}
			name := iamx.ProfileNameFromARN(a.ProfileARN)
			res := req.NewListResult(ctx)
			res.DisplayName = fmt.Sprintf("%s (instance profile %s)", a.InstanceID, name)
			res.Diagnostics.Append(res.Identity.Set(ctx, instanceProfileAssociationIdentity{InstanceID: types.StringValue(a.InstanceID)})...)
			if req.IncludeResource {
				res.Diagnostics.Append(res.Resource.Set(ctx, associationModelOf(a, name))...)
			}
			if !push(res) {
				return
			}
		}
	}
}

// associationModelOf is the state an import of the association gives (see
// ImportState and Read): the profile by name, the defaults, nothing replaced.
func associationModelOf(a iamx.ListedAssociation, profileName string) *instanceProfileAssociationModel {
	return &instanceProfileAssociationModel{
		ID:                 types.StringValue(a.InstanceID),
		InstanceID:         types.StringValue(a.InstanceID),
		InstanceProfile:    types.StringValue(profileName),
		ReplaceExisting:    types.BoolValue(true),
		RestoreOnDestroy:   types.BoolValue(true),
		PreviousProfileARN: types.StringNull(),
		AssociationID:      types.StringValue(a.AssociationID),
		InstanceProfileARN: types.StringValue(a.ProfileARN),
		Timeouts:           timeouts.Value{Object: types.ObjectNull(associationTimeoutsType)},
	}
}
