package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-framework-validators/ephemeralvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/ssmsession"
)

var (
	_ ephemeral.EphemeralResourceWithConfigure        = (*portForwardEphemeral)(nil)
	_ ephemeral.EphemeralResourceWithClose            = (*portForwardEphemeral)(nil)
	_ ephemeral.EphemeralResourceWithConfigValidators = (*portForwardEphemeral)(nil)
)

// tagPickWait is how long a tag selection is polled for an Online agent when
// agent_wait_timeout is 0, so that the diagnosis has something to say.
const tagPickWait = 5 * time.Second

func newPortForwardEphemeral() ephemeral.EphemeralResource { return &portForwardEphemeral{} }

type portForwardEphemeral struct{ data *ProviderData }

type portForwardModel struct {
	InstanceID       types.String         `tfsdk:"instance_id"`
	InstanceTags     types.Map            `tfsdk:"instance_tags"`
	RemotePort       types.Int64          `tfsdk:"remote_port"`
	RemoteHost       types.String         `tfsdk:"remote_host"`
	LocalPort        types.Int64          `tfsdk:"local_port"`
	AgentWaitTimeout checkedDurationValue `tfsdk:"agent_wait_timeout"`
	Reason           types.String         `tfsdk:"reason"`
	LocalHost        types.String         `tfsdk:"local_host"`
	LocalAddress     types.String         `tfsdk:"local_address"`
	SessionID        types.String         `tfsdk:"session_id"`
	AgentVersion     types.String         `tfsdk:"agent_version"`
	Multiplexed      types.Bool           `tfsdk:"multiplexed"`
}

// forwarders holds the open tunnels of this provider process: Terraform opens
// and closes an ephemeral resource in the same process, and Close finds its
// tunnel by the session id kept in private data.
var forwarders = struct {
	sync.Mutex
	m map[string]*ssmsession.Forwarder
}{m: map[string]*ssmsession.Forwarder{}}

const privateSessionKey = "session"

type portForwardPrivate struct {
	SessionID string `json:"session_id"`
}

func (e *portForwardEphemeral) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_port_forward"
}

func (e *portForwardEphemeral) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Session Manager port-forwarding tunnel that lives for one Terraform operation, without SSH, a bastion " +
			"or the session-manager-plugin binary: the provider starts a session (`AWS-StartPortForwardingSession`, or " +
			"`AWS-StartPortForwardingSessionToRemoteHost` with `remote_host`) and listens on a loopback port. Configure another " +
			"provider (a database, Kubernetes, Vault ...) with `local_host`/`local_port` to reach a private endpoint during plan " +
			"and apply. Needs Terraform 1.10 or later, or OpenTofu 1.11 or later. Nothing of it is stored in state or plan; the " +
			"session is terminated when Terraform closes the resource at the end of the operation.",
		Attributes: map[string]schema.Attribute{
			"instance_id": schema.StringAttribute{
				Optional: true, Computed: true,
				MarkdownDescription: "The managed instance that forwards (an EC2 instance id or an `mi-` hybrid id). Exactly one of " +
					"`instance_id` and `instance_tags`; with tags, this is the instance picked.",
				Validators: []validator.String{stringvalidator.RegexMatches(instanceIDPattern, "must be an instance id such as i-0123456789abcdef0 or mi-0123456789abcdef0")},
			},
			"instance_tags": schema.MapAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Pick an instance carrying all these tags whose SSM agent is `Online` (the lowest instance id).",
				Validators:          []validator.Map{mapvalidator.SizeAtLeast(1)},
			},
			"remote_port": schema.Int64Attribute{
				Required:            true,
				MarkdownDescription: "The port to reach: on the instance itself, or on `remote_host` through it.",
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"remote_host": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "A host the instance can reach (such as an RDS or EKS endpoint); uses " +
					"`AWS-StartPortForwardingSessionToRemoteHost`, which needs SSM Agent 3.1.1374.0 or later on the instance.",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 253)},
			},
			"local_port": schema.Int64Attribute{
				Optional: true, Computed: true,
				MarkdownDescription: "The loopback port to listen on. Defaults to a free port chosen when the tunnel opens.",
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"agent_wait_timeout": schema.StringAttribute{
				CustomType: durationType{}, Optional: true,
				MarkdownDescription: "How long to wait for the instance's SSM agent to be `Online`, such as `5m`. Defaults to `0s`: check " +
					"once and, when the agent cannot take a session, fail at once naming the cause (as `ssm_command_run` does). With " +
					"`instance_tags` and `0s`, the tagged agents are polled for a few seconds.",
				Validators: []validator.String{durationBetween(0, 24*time.Hour)},
			},
			"reason": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Recorded with the session (StartSession `Reason`), visible in the session history.",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 256)},
			},
			"local_host": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The loopback address the tunnel listens on: `127.0.0.1`.",
			},
			"local_address": schema.StringAttribute{
				Computed: true, MarkdownDescription: "`local_host:local_port`, for providers that take one address.",
			},
			"session_id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The Session Manager session id.",
			},
			"agent_version": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The SSM Agent version the instance reported in the session handshake.",
			},
			"multiplexed": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: "Whether connections are multiplexed (agents after 3.0.196.0). Older agents carry one " +
					"connection at a time: others wait until it closes.",
			},
		},
	}
}

func (e *portForwardEphemeral) ConfigValidators(context.Context) []ephemeral.ConfigValidator {
	return []ephemeral.ConfigValidator{
		ephemeralvalidator.ExactlyOneOf(path.MatchRoot("instance_id"), path.MatchRoot("instance_tags")),
	}
}

func (e *portForwardEphemeral) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	e.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func (e *portForwardEphemeral) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m portForwardModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || e.data == nil {
		return
	}
	wait := time.Duration(0)
	if d, ok := goDuration(m.AgentWaitTimeout, &resp.Diagnostics); ok {
		wait = d
	}
	var tags map[string]string
	if !m.InstanceTags.IsNull() {
		resp.Diagnostics.Append(m.InstanceTags.ElementsAs(ctx, &tags, false)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	spec := ssmsession.PortSpec{
		Target:     m.InstanceID.ValueString(),
		RemotePort: int(m.RemotePort.ValueInt64()),
		RemoteHost: m.RemoteHost.ValueString(),
		Reason:     m.Reason.ValueString(),
	}
	if !m.LocalPort.IsNull() && !m.LocalPort.IsUnknown() {
		spec.LocalAddress = net.JoinHostPort("127.0.0.1", strconv.FormatInt(m.LocalPort.ValueInt64(), 10))
	}
	what := "port forward to " + remoteText(spec)
	agent, ok := e.pickAgent(ctx, spec.Target, tags, wait, &resp.Diagnostics)
	if !ok {
		return
	}
	spec.Target = agent.InstanceID
	summary := doing("opening", what, spec.Target)
	if c, ok := ssmsession.CompareVersions(agent.AgentVersion, ssmsession.PortForwardingMinAgentVersion); ok && c < 0 {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("The SSM Agent on %s is version %s; port forwarding needs %s or later. "+
			"Update the agent (for example with the AWS-UpdateSSMAgent document through ssm_command_run).", spec.Target, agent.AgentVersion, ssmsession.PortForwardingMinAgentVersion))
		return
	}
	if c, ok := ssmsession.CompareVersions(agent.AgentVersion, ssmsession.RemoteHostMinAgentVersion); spec.RemoteHost != "" && ok && c < 0 {
		resp.Diagnostics.AddAttributeError(path.Root("remote_host"), summary, fmt.Sprintf("The SSM Agent on %s is version %s; forwarding to a "+
			"remote host (AWS-StartPortForwardingSessionToRemoteHost) needs %s or later. Update the agent (for example with the "+
			"AWS-UpdateSSMAgent document through ssm_command_run), or forward to a port on the instance itself.",
			spec.Target, agent.AgentVersion, ssmsession.RemoteHostMinAgentVersion))
		return
	}
	tflog.Debug(ctx, "starting port forwarding session", map[string]any{"instance_id": spec.Target, "remote_port": spec.RemotePort, "remote_host": spec.RemoteHost})
	fw, err := ssmsession.StartPortForwarding(ctx, e.data.SSM, spec)
	if err != nil {
		e.addStartError(ctx, &resp.Diagnostics, summary, spec, err)
		return
	}
	forwarders.Lock()
	forwarders.m[fw.SessionID()] = fw
	forwarders.Unlock()
	priv, _ := json.Marshal(portForwardPrivate{SessionID: fw.SessionID()})
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateSessionKey, priv)...)
	if fw.Mode() == ssmsession.ModeBasic {
		resp.Diagnostics.AddWarning(summary+": one connection at a time", fmt.Sprintf("The SSM Agent on %s is version %s, which does not "+
			"multiplex connections (agents after %s do): the tunnel carries one TCP connection at a time and further connections "+
			"wait until it closes. Update the agent for concurrent connections.", spec.Target, fw.AgentVersion(), ssmsession.MuxAfterAgentVersion))
	}
	addr := fw.Addr()
	m.InstanceID = types.StringValue(spec.Target)
	m.LocalHost = types.StringValue(addr.IP.String())
	m.LocalPort = types.Int64Value(int64(addr.Port))
	m.LocalAddress = types.StringValue(addr.String())
	m.SessionID = types.StringValue(fw.SessionID())
	m.AgentVersion = types.StringValue(fw.AgentVersion())
	m.Multiplexed = types.BoolValue(fw.Mode() == ssmsession.ModeMux)
	tflog.Info(ctx, "port forwarding open", map[string]any{"session_id": fw.SessionID(), "local_address": addr.String()})
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
}

func (e *portForwardEphemeral) Close(ctx context.Context, req ephemeral.CloseRequest, resp *ephemeral.CloseResponse) {
	raw, diags := req.Private.GetKey(ctx, privateSessionKey)
	resp.Diagnostics.Append(diags...)
	var p portForwardPrivate
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil || p.SessionID == "" {
		return
	}
	forwarders.Lock()
	fw := forwarders.m[p.SessionID]
	delete(forwarders.m, p.SessionID)
	forwarders.Unlock()
	var err error
	if fw != nil {
		err = fw.Close()
	} else if e.data != nil {
		// Opened by another provider process: end the session all the same.
		_, err = e.data.SSM.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: aws.String(p.SessionID)})
	}
	if err != nil {
		resp.Diagnostics.AddWarning(doing("terminating", "port forwarding session", p.SessionID),
			"TerminateSession failed: "+err.Error()+"\n\nThe local listener is closed. The session ends on its own when Session "+
				"Manager's idle timeout passes, or end it with: aws ssm terminate-session --session-id "+p.SessionID)
	}
}

// CloseAllPortForwards ends every tunnel this process holds (for the provider's
// shutdown).
func CloseAllPortForwards() {
	forwarders.Lock()
	all := forwarders.m
	forwarders.m = map[string]*ssmsession.Forwarder{}
	forwarders.Unlock()
	for _, fw := range all {
		_ = fw.Close()
	}
}

// pickAgent checks the instance's agent (waiting up to wait), or picks an Online
// one among the tagged instances, and returns what DescribeInstanceInformation
// says of it.
func (e *portForwardEphemeral) pickAgent(ctx context.Context, id string, tags map[string]string, wait time.Duration, diags *diag.Diagnostics) (agentwait.Agent, bool) {
	clients := agentwait.Clients{SSM: e.data.SSM, EC2: e.data.EC2, IAM: e.data.IAM}
	if id != "" {
		if err := agentwait.Ready(ctx, clients, agentwait.ReadySpec{InstanceIDs: []string{id}, Wait: wait}); err != nil {
			diags.AddError(doing("waiting for", "the SSM agent", id), sessionAgentText(err)+identityAdvice(err))
			return agentwait.Agent{}, false
		}
		out, err := e.data.SSM.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{
			Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{id}}},
		})
		if err != nil || len(out.InstanceInformationList) == 0 {
			diags.AddError(doing("reading", "the SSM agent", id), fmt.Sprintf("DescribeInstanceInformation: %v", err))
			return agentwait.Agent{}, false
		}
		ii := out.InstanceInformationList[0]
		return agentwait.Agent{InstanceID: id, AgentVersion: aws.ToString(ii.AgentVersion), PingStatus: string(ii.PingStatus)}, true
	}
	spec := agentwait.Spec{Tags: tags, MinCount: 1, Timeout: wait}
	if wait <= 0 {
		spec.Timeout = tagPickWait
	}
	res, err := agentwait.Wait(ctx, clients, spec)
	if err != nil {
		addAgentWaitError(diags, spec, err)
		return agentwait.Agent{}, false
	}
	return res.Online[0], true
}

func sessionAgentText(err error) string {
	var nr *agentwait.NotReadyError
	if errors.As(err, &nr) {
		return "The instance cannot take a session now: " + nr.Error() + "\n\nStart the instance or repair its agent as named above, " +
			"or set agent_wait_timeout (such as \"5m\") when the instance is created or given an identity in the same apply."
	}
	return err.Error()
}

func remoteText(s ssmsession.PortSpec) string {
	if s.RemoteHost != "" {
		return net.JoinHostPort(s.RemoteHost, strconv.Itoa(s.RemotePort))
	}
	return "port " + strconv.Itoa(s.RemotePort)
}

// addStartError names the cause of a failed StartPortForwarding and what to do.
func (e *portForwardEphemeral) addStartError(ctx context.Context, diags *diag.Diagnostics, summary string, spec ssmsession.PortSpec, err error) {
	var (
		api     smithy.APIError
		refused *ssmsession.RemotePortRefusedError
		hs      *ssmsession.HandshakeError
	)
	doc := ssmsession.DocumentPortForwarding
	if spec.RemoteHost != "" {
		doc = ssmsession.DocumentPortForwardingRemoteHost
	}
	switch {
	case errors.As(err, &refused):
		diags.AddError(summary, "Remote port refused: "+refused.Error()+". The session started but nothing accepts connections there: "+
			"start the service, check remote_port (and remote_host), and the instance's security groups and host firewall for that "+
			"connection. The session was terminated.")
	case errors.As(err, &hs):
		diags.AddError(summary, sentence(hs.Error())+". The session was terminated.")
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "AccessDeniedException":
			diags.AddError(summary, fmt.Sprintf("Session denied: %s is not allowed ssm:StartSession on instance %s with document %s "+
				"(%s).\n\nAllow ssm:StartSession on both the instance and the document ARN (arn:%s:ssm:%s::document/%s) for this "+
				"principal, and check the conditions (such as ssm:resourceTag/...) and any permission boundary or SCP; "+
				"ssm_operator_policy_document with sessions = true writes such a policy.",
				e.principal(ctx), spec.Target, doc, api.ErrorMessage(), e.data.Partition, e.data.Region, doc))
		case "InvalidDocument":
			diags.AddError(summary, fmt.Sprintf("Document missing: Session Manager has no document %s in %s (%s). It is an AWS-owned "+
				"document in every commercial Region; check the provider's region and that the endpoint is Systems Manager.", doc, e.data.Region, api.ErrorMessage()))
		case "TargetNotConnected":
			detail := "Agent offline: Session Manager cannot reach the SSM agent of " + spec.Target + " (" + api.ErrorMessage() + ")."
			if rerr := agentwait.Ready(ctx, agentwait.Clients{SSM: e.data.SSM, EC2: e.data.EC2, IAM: e.data.IAM},
				agentwait.ReadySpec{InstanceIDs: []string{spec.Target}}); rerr != nil {
				detail += "\n\n" + sessionAgentText(rerr) + identityAdvice(rerr)
			} else {
				detail += " The agent reports Online: it may not have the permissions sessions need (ssmmessages:* on the instance role), " +
					"or its connection to the ssmmessages endpoint is blocked."
			}
			diags.AddError(summary, detail)
		default:
			diags.AddError(summary, "StartSession: "+err.Error())
		}
	default:
		diags.AddError(summary, sentence(err.Error())+".")
	}
}

// principal names the caller for an access-denied diagnostic.
func (e *portForwardEphemeral) principal(ctx context.Context) string {
	out, err := e.data.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "the provider's principal"
	}
	return aws.ToString(out.Arn)
}
