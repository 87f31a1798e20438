package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

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
	summary := doing("opening", "port forward to "+remoteText(spec), targetOrTags(spec.Target, tags))
	tflog.Debug(ctx, "starting port forwarding session", map[string]any{"instance_id": spec.Target, "remote_port": spec.RemotePort, "remote_host": spec.RemoteHost})
	fw, err := ssmsession.Open(ctx, ssmsession.Clients{
		SSM: e.data.SSM, STS: e.data.STS,
		Agents: agentwait.Clients{SSM: e.data.SSM, EC2: e.data.EC2, IAM: e.data.IAM},
	}, ssmsession.OpenSpec{PortSpec: spec, InstanceTags: tags, AgentWait: wait})
	if err != nil {
		addOpenError(&resp.Diagnostics, summary, tags, wait, err)
		return
	}
	spec.Target = fw.Target()
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
		err = ssmsession.Terminate(ctx, e.data.SSM, p.SessionID)
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

func targetOrTags(id string, tags map[string]string) string {
	if id != "" {
		return id
	}
	return "instance with " + strings.TrimPrefix(agentSelection(agentwait.Spec{Tags: tags}), "instances with ")
}

func sessionAgentText(err error) string {
	var nr *agentwait.NotReadyError
	if errors.As(err, &nr) {
		return "The instance cannot take a session now: " + nr.Error() + "\n\nStart the instance or repair its agent as named above, " +
			"or set agent_wait_timeout (such as \"5m\") when the instance is created or given an identity in the same apply."
	}
	return sentence(err.Error()) + "."
}

func remoteText(s ssmsession.PortSpec) string {
	if s.RemoteHost != "" {
		return net.JoinHostPort(s.RemoteHost, strconv.Itoa(s.RemotePort))
	}
	return "port " + strconv.Itoa(s.RemotePort)
}

// addOpenError names the cause of a failed Open and what to do.
func addOpenError(diags *diag.Diagnostics, summary string, tags map[string]string, wait time.Duration, err error) {
	var (
		refused *ssmsession.RemotePortRefusedError
		hs      *ssmsession.HandshakeError
		old     *ssmsession.AgentTooOldError
		denied  *ssmsession.DeniedError
		nodoc   *ssmsession.DocumentMissingError
		offline *ssmsession.AgentOfflineError
		nr      *agentwait.NotReadyError
		te      *agentwait.TimeoutError
		ne      *agentwait.NeverOnlineError
	)
	switch {
	case errors.As(err, &refused):
		diags.AddError(summary, "Remote port refused: "+refused.Error()+". The session started but nothing accepts connections there: "+
			"start the service, check remote_port (and remote_host), and the security groups and host firewall between the "+
			"instance and that port. The session was terminated.")
	case errors.As(err, &hs):
		diags.AddError(summary, sentence(hs.Error())+". The session was terminated.")
	case errors.As(err, &old):
		diags.AddError(summary, "Agent too old: "+old.Error()+". Update the agent (for example with the AWS-UpdateSSMAgent document "+
			"through ssm_command_run), or pick an instance with a newer one.")
	case errors.As(err, &denied):
		diags.AddError(summary, fmt.Sprintf("Session denied: %s is not allowed ssm:StartSession on instance %s with document %s "+
			"(%s).\n\nAllow ssm:StartSession on both the instance and the document for this principal, and check the policy's "+
			"conditions (such as ssm:resourceTag/...), permission boundaries and SCPs. ssm_operator_policy_document with sessions = "+
			"true and session_documents = [\"%s\"] writes such a policy; closing the tunnel needs ssm:TerminateSession on the session too.",
			denied.Principal, denied.InstanceID, denied.Document, denied.Message, denied.Document))
	case errors.As(err, &nodoc):
		diags.AddError(summary, "Document missing: Session Manager has no document "+nodoc.Document+" ("+nodoc.Message+"). It is an "+
			"AWS-owned document in every commercial Region: check the provider's region and endpoints.")
	case errors.As(err, &offline):
		detail := "Agent offline: Session Manager cannot reach the SSM agent of " + offline.InstanceID + " (" + offline.Message + ")."
		if offline.Diagnosis != nil {
			detail += "\n\n" + sessionAgentText(offline.Diagnosis) + identityAdvice(offline.Diagnosis)
		} else {
			detail += " The agent reports Online: its role may lack what sessions need (ssmmessages:CreateControlChannel, " +
				"CreateDataChannel, OpenControlChannel, OpenDataChannel), or its connection to the ssmmessages endpoint is blocked."
		}
		diags.AddError(summary, detail)
	case errors.As(err, &nr):
		diags.AddError(summary, "Agent offline: "+sessionAgentText(err)+identityAdvice(err))
	case errors.As(err, &te), errors.As(err, &ne):
		addAgentWaitError(diags, agentwait.Spec{Tags: tags, MinCount: 1, Timeout: max(wait, ssmsession.TagPickWait)}, err)
	default:
		diags.AddError(summary, sentence(err.Error())+".")
	}
}
