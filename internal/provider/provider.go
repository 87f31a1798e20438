// Package provider is the Terraform layer of terraform-provider-ssm: schemas,
// models, conversion and diagnostics. The logic lives in Terraform-free packages.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
)

// Address is the provider's registry address.
const Address = "registry.terraform.io/terraform-ssm/ssm"

var (
	_ provider.Provider                       = (*ssmProvider)(nil)
	_ provider.ProviderWithActions            = (*ssmProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*ssmProvider)(nil)
	_ provider.ProviderWithListResources      = (*ssmProvider)(nil)
)

// New returns a constructor of the provider at a version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &ssmProvider{version: version} }
}

// Plan-time rules of the provider's own arguments.
var (
	regionPattern      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

const (
	minAssumeRoleDuration = 15 * time.Minute
	maxAssumeRoleDuration = 12 * time.Hour
)

type ssmProvider struct {
	version string
}

// ProviderData is what Configure hands to every resource and data source.
type ProviderData struct {
	*awsclient.Clients
	// DefaultTags are merged into the tags of every taggable resource.
	DefaultTags map[string]string
}

type providerModel struct {
	Region                 types.String       `tfsdk:"region"`
	Profile                types.String       `tfsdk:"profile"`
	SharedConfigFiles      types.List         `tfsdk:"shared_config_files"`
	SharedCredentialsFiles types.List         `tfsdk:"shared_credentials_files"`
	AccessKey              types.String       `tfsdk:"access_key"`
	SecretKey              types.String       `tfsdk:"secret_key"`
	Token                  types.String       `tfsdk:"token"`
	AssumeRole             []assumeRoleModel  `tfsdk:"assume_role"`
	Endpoints              []endpointsModel   `tfsdk:"endpoints"`
	MaxRetries             types.Int64        `tfsdk:"max_retries"`
	RetryMode              types.String       `tfsdk:"retry_mode"`
	S3UsePathStyle         types.Bool         `tfsdk:"s3_use_path_style"`
	DefaultTags            []defaultTagsModel `tfsdk:"default_tags"`
}

type assumeRoleModel struct {
	RoleARN     types.String         `tfsdk:"role_arn"`
	SessionName types.String         `tfsdk:"session_name"`
	ExternalID  types.String         `tfsdk:"external_id"`
	Duration    checkedDurationValue `tfsdk:"duration"`
}

type endpointsModel struct {
	EC2  types.String `tfsdk:"ec2"`
	IAM  types.String `tfsdk:"iam"`
	Logs types.String `tfsdk:"logs"`
	S3   types.String `tfsdk:"s3"`
	SSM  types.String `tfsdk:"ssm"`
	STS  types.String `tfsdk:"sts"`
}

type defaultTagsModel struct {
	Tags types.Map `tfsdk:"tags"`
}

func (p *ssmProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "ssm"
	resp.Version = p.version
}

func (p *ssmProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	endpointAttr := func(svc, env string) schema.StringAttribute {
		return schema.StringAttribute{
			Optional: true,
			MarkdownDescription: fmt.Sprintf("Base URL of the %s API, for example `http://127.0.0.1:4566` for the bundled emulator. "+
				"Defaults to `AWS_ENDPOINT_URL_%s`, then `AWS_ENDPOINT_URL`, then the AWS endpoint of the region.", svc, env),
			Validators: []validator.String{endpointURL()},
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Run commands, scripts and file copies on EC2 instances through AWS Systems Manager instead of SSH, " +
			"and give instances the identity the SSM agent needs. Credentials and region are resolved like the AWS CLI and the " +
			"`hashicorp/aws` provider: provider arguments first, then environment variables, then shared config and credentials files.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "AWS region, for example `us-east-1`. Defaults to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the profile's region.",
				Validators:          []validator.String{stringvalidator.RegexMatches(regionPattern, "must be an AWS region name such as us-east-1")},
			},
			"profile": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Named profile of the shared config and credentials files. Defaults to `AWS_PROFILE`.",
			},
			"shared_config_files": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Paths of shared config files. Defaults to `AWS_CONFIG_FILE`, then `~/.aws/config`.",
				Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"shared_credentials_files": schema.ListAttribute{
				ElementType:         types.StringType,
				Optional:            true,
				MarkdownDescription: "Paths of shared credentials files. Defaults to `AWS_SHARED_CREDENTIALS_FILE`, then `~/.aws/credentials`.",
				Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"access_key": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Access key id of static credentials. Defaults to `AWS_ACCESS_KEY_ID`. Requires `secret_key`.",
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.AlsoRequires(path.MatchRoot("secret_key")),
				},
			},
			"secret_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Secret access key of static credentials. Defaults to `AWS_SECRET_ACCESS_KEY`. Requires `access_key`.",
				Validators: []validator.String{
					stringvalidator.LengthAtLeast(1),
					stringvalidator.AlsoRequires(path.MatchRoot("access_key")),
				},
			},
			"token": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Session token of temporary static credentials. Defaults to `AWS_SESSION_TOKEN`. Requires `access_key` and `secret_key`.",
				Validators: []validator.String{
					stringvalidator.AlsoRequires(path.MatchRoot("access_key"), path.MatchRoot("secret_key")),
				},
			},
			"max_retries": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("How many times an API call is retried after throttling, 5xx errors and connection failures, with backoff. "+
					"Defaults to `AWS_MAX_ATTEMPTS` minus one, else %d.", awsclient.DefaultMaxRetries),
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
			"retry_mode": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Retry mode of the AWS SDK: `standard` (the default), or `adaptive`, which also slows the client down " +
					"when AWS throttles it. Defaults to `AWS_RETRY_MODE`, else `standard`.",
				Validators: []validator.String{stringvalidator.OneOf("standard", "adaptive")},
			},
			"s3_use_path_style": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Address S3 buckets path-style (`http://host/bucket/key`) instead of as a host name. Needed by most " +
					"S3-compatible endpoints, including the bundled emulator when it is reached by host name. Defaults to `AWS_S3_USE_PATH_STYLE`, else `false`.",
			},
		},
		Blocks: map[string]schema.Block{
			"assume_role": schema.ListNestedBlock{
				MarkdownDescription: "Assume an IAM role with the credentials found, and use the role's temporary credentials for every call.",
				Validators:          []validator.List{listvalidator.SizeAtMost(1)},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"role_arn": schema.StringAttribute{
							Required:            true,
							MarkdownDescription: "ARN of the role to assume, for example `arn:aws:iam::123456789012:role/deployer`.",
							Validators:          []validator.String{roleARN()},
						},
						"session_name": schema.StringAttribute{
							Optional:            true,
							MarkdownDescription: "Session name recorded in CloudTrail. Defaults to `terraform-provider-ssm-<timestamp>`.",
							Validators: []validator.String{
								stringvalidator.LengthBetween(2, 64),
								stringvalidator.RegexMatches(sessionNamePattern, "may contain only letters, digits and the characters +=,.@-"),
							},
						},
						"external_id": schema.StringAttribute{
							Optional:            true,
							MarkdownDescription: "External id the role's trust policy requires, if any.",
							Validators: []validator.String{
								stringvalidator.LengthBetween(2, 1224),
								stringvalidator.RegexMatches(externalIDPattern, "may contain only letters, digits and the characters +=,.@:/-"),
							},
						},
						"duration": schema.StringAttribute{
							CustomType:          durationType{},
							Optional:            true,
							MarkdownDescription: "How long the assumed credentials last, as a Go duration between `15m` and `12h`, for example `1h`. Defaults to `15m`.",
							Validators:          []validator.String{durationBetween(minAssumeRoleDuration, maxAssumeRoleDuration)},
						},
					},
				},
			},
			"endpoints": schema.ListNestedBlock{
				MarkdownDescription: "Custom endpoints per service, for the bundled emulator, VPC endpoints or S3-compatible stores. " +
					"The SDK's `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` environment variables apply where this block sets nothing.",
				Validators: []validator.List{listvalidator.SizeAtMost(1)},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"ec2":  endpointAttr("EC2", "EC2"),
						"iam":  endpointAttr("IAM", "IAM"),
						"logs": endpointAttr("CloudWatch Logs", "CLOUDWATCH_LOGS"),
						"s3":   endpointAttr("S3", "S3"),
						"ssm":  endpointAttr("Systems Manager", "SSM"),
						"sts":  endpointAttr("STS", "STS"),
					},
				},
			},
			"default_tags": schema.ListNestedBlock{
				MarkdownDescription: "Tags added to every taggable resource of this provider; a resource's own `tags` win on conflicts.",
				Validators:          []validator.List{listvalidator.SizeAtMost(1)},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"tags": schema.MapAttribute{
							ElementType:         types.StringType,
							Optional:            true,
							MarkdownDescription: "Tag keys and values.",
							Validators:          []validator.Map{mapvalidator.NoNullValues()},
						},
					},
				},
			},
		},
	}
}

func (p *ssmProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s, diags := m.settings(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	s.UserAgent = []awsclient.UserAgentProduct{{Name: "terraform-provider-ssm", Version: p.version}}
	if req.TerraformVersion != "" {
		s.UserAgent = append(s.UserAgent, awsclient.UserAgentProduct{Name: "Terraform", Version: req.TerraformVersion})
	}
	s.RequestLogger = func(ctx context.Context, fields map[string]any) {
		tflog.Debug(ctx, "AWS API call", fields)
	}
	clients, err := awsclient.New(ctx, s, nil)
	if errors.Is(err, awsclient.ErrNoRegion) {
		resp.Diagnostics.AddAttributeError(path.Root("region"), "configuring the SSM provider",
			"No AWS region is set: set the provider's region argument or the AWS_REGION environment variable, or use a profile that names one.")
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("configuring the SSM provider", err.Error()+
			"\n\nCheck the provider's region and credentials arguments, or the AWS_* environment variables and shared files they fall back to.")
		return
	}
	data := &ProviderData{Clients: clients, DefaultTags: map[string]string{}}
	if len(m.DefaultTags) == 1 && !m.DefaultTags[0].Tags.IsNull() {
		resp.Diagnostics.Append(m.DefaultTags[0].Tags.ElementsAs(ctx, &data.DefaultTags, false)...)
	}
	tflog.Debug(ctx, "configured SSM provider", map[string]any{"region": clients.Region, "partition": clients.Partition})
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
	resp.ListResourceData = data
	resp.ActionData = data
}

// settings converts the model to plain Go settings.
func (m *providerModel) settings(ctx context.Context) (awsclient.Settings, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := awsclient.Settings{
		Region:         m.Region.ValueString(),
		Profile:        m.Profile.ValueString(),
		AccessKey:      m.AccessKey.ValueString(),
		SecretKey:      m.SecretKey.ValueString(),
		Token:          m.Token.ValueString(),
		RetryMode:      m.RetryMode.ValueString(),
		S3UsePathStyle: m.S3UsePathStyle.ValueBool() || envBool("AWS_S3_USE_PATH_STYLE"),
		Endpoints:      map[string]string{},
	}
	if !m.SharedConfigFiles.IsNull() {
		diags.Append(m.SharedConfigFiles.ElementsAs(ctx, &s.SharedConfigFiles, false)...)
	}
	if !m.SharedCredentialsFiles.IsNull() {
		diags.Append(m.SharedCredentialsFiles.ElementsAs(ctx, &s.SharedCredentialsFiles, false)...)
	}
	if !m.MaxRetries.IsNull() {
		n := int(m.MaxRetries.ValueInt64())
		s.MaxRetries = &n
	}
	if len(m.AssumeRole) == 1 {
		ar := m.AssumeRole[0]
		s.AssumeRole = &awsclient.AssumeRole{
			RoleARN:     ar.RoleARN.ValueString(),
			SessionName: ar.SessionName.ValueString(),
			ExternalID:  ar.ExternalID.ValueString(),
		}
		if !ar.Duration.IsNull() {
			d, dd := ar.Duration.ValueGoDuration()
			diags.Append(dd...)
			s.AssumeRole.Duration = d
		}
	}
	if len(m.Endpoints) == 1 {
		e := m.Endpoints[0]
		for svc, v := range map[string]types.String{"ec2": e.EC2, "iam": e.IAM, "logs": e.Logs, "s3": e.S3, "ssm": e.SSM, "sts": e.STS} {
			if u := strings.TrimSpace(v.ValueString()); u != "" {
				s.Endpoints[svc] = u
			}
		}
	}
	return s, diags
}

func envBool(name string) bool {
	b, _ := strconv.ParseBool(os.Getenv(name))
	return b
}

func (p *ssmProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newInstanceRoleResource,
		newInstanceProfileResource,
		newInstanceProfileAssociationResource,
		newCommandRunResource,
		newDefaultHostManagementResource,
		newSessionPreferencesResource,
		newFileResource,
		newRemoteFileResource,
	}
}

// EphemeralResources are read during each operation and stored nowhere
// (Terraform 1.10 or later, OpenTofu 1.11 or later).
func (p *ssmProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{newRemoteFileEphemeral, newPortForwardEphemeral}
}

// ListResources are the list resources of `terraform query` (Terraform 1.14
// and later), each named as the managed resource it lists.
func (p *ssmProvider) ListResources(_ context.Context) []func() list.ListResource {
	return []func() list.ListResource{newInstanceProfileAssociationList}
}

// Actions are supported by Terraform 1.14 and later.
func (p *ssmProvider) Actions(_ context.Context) []func() action.Action {
	return []func() action.Action{newCommandAction}
}

func (p *ssmProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newAgentOnlineDataSource, newManagedInstancesDataSource, newOperatorPolicyDataSource}
}
