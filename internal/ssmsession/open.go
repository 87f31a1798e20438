package ssmsession

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
)

// OpenSSMAPI is the SSM client Open needs: sessions and the agent's record.
type OpenSSMAPI interface {
	SSMAPI
	DescribeInstanceInformation(ctx context.Context, in *ssm.DescribeInstanceInformationInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstanceInformationOutput, error)
}

// STSAPI names the caller in an access-denied error.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Clients are what Open uses.
type Clients struct {
	SSM    OpenSSMAPI
	STS    STSAPI
	Agents agentwait.Clients
}

// OpenSpec is a port forward to open, with how to find and wait for the agent.
type OpenSpec struct {
	PortSpec
	// InstanceTags picks an instance carrying all these tags whose agent is
	// Online (the lowest id), when PortSpec.Target is empty.
	InstanceTags map[string]string
	// AgentWait is how long to wait for the agent to be Online; 0 checks once
	// (with InstanceTags: polls for TagPickWait).
	AgentWait time.Duration
}

// TagPickWait is how long a tag selection is polled when AgentWait is 0.
const TagPickWait = 5 * time.Second

// AgentTooOldError: the agent cannot run the session the spec asks for.
type AgentTooOldError struct {
	InstanceID, Version, Need, What string
}

func (e *AgentTooOldError) Error() string {
	return fmt.Sprintf("the SSM Agent on %s is version %s; %s needs %s or later", e.InstanceID, e.Version, e.What, e.Need)
}

// DeniedError: StartSession was refused for lack of permission.
type DeniedError struct {
	Principal, InstanceID, Document, Message string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("session denied: %s may not call ssm:StartSession on %s with document %s: %s", e.Principal, e.InstanceID, e.Document, e.Message)
}

// DocumentMissingError: Session Manager does not know the document.
type DocumentMissingError struct {
	Document, Message string
}

func (e *DocumentMissingError) Error() string {
	return fmt.Sprintf("document missing: %s (%s)", e.Document, e.Message)
}

// AgentOfflineError: StartSession answered TargetNotConnected. Diagnosis is
// the agent check made then (a *agentwait.NotReadyError), or nil when the agent
// reports Online.
type AgentOfflineError struct {
	InstanceID, Message string
	Diagnosis           error
}

func (e *AgentOfflineError) Error() string {
	s := fmt.Sprintf("agent offline: Session Manager cannot reach the SSM agent of %s (%s)", e.InstanceID, e.Message)
	if e.Diagnosis != nil {
		s += ": " + e.Diagnosis.Error()
	}
	return s
}

func (e *AgentOfflineError) Unwrap() error { return e.Diagnosis }

// Open finds the agent (waiting as asked), checks that its version can run the
// session, and starts the port forward. Failures are typed: agentwait's
// *NotReadyError and *TimeoutError, *AgentTooOldError, *DeniedError,
// *DocumentMissingError, *AgentOfflineError, *RemotePortRefusedError,
// *HandshakeError.
func Open(ctx context.Context, c Clients, spec OpenSpec) (*Forwarder, error) {
	id, version, err := pickAgent(ctx, c, spec)
	if err != nil {
		return nil, err
	}
	spec.Target = id
	if cmp, ok := CompareVersions(version, PortForwardingMinAgentVersion); ok && cmp < 0 {
		return nil, &AgentTooOldError{InstanceID: id, Version: version, Need: PortForwardingMinAgentVersion, What: "port forwarding"}
	}
	if cmp, ok := CompareVersions(version, RemoteHostMinAgentVersion); spec.RemoteHost != "" && ok && cmp < 0 {
		return nil, &AgentTooOldError{InstanceID: id, Version: version, Need: RemoteHostMinAgentVersion, What: "forwarding to a remote host (" + DocumentPortForwardingRemoteHost + ")"}
	}
	fw, err := StartPortForwarding(ctx, c.SSM, spec.PortSpec)
	if err == nil {
		return fw, nil
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return nil, err
	}
	doc := DocumentPortForwarding
	if spec.RemoteHost != "" {
		doc = DocumentPortForwardingRemoteHost
	}
	switch api.ErrorCode() {
	case "AccessDeniedException":
		return nil, &DeniedError{Principal: principal(ctx, c.STS), InstanceID: id, Document: doc, Message: api.ErrorMessage()}
	case "InvalidDocument":
		return nil, &DocumentMissingError{Document: doc, Message: api.ErrorMessage()}
	case "TargetNotConnected":
		e := &AgentOfflineError{InstanceID: id, Message: api.ErrorMessage()}
		if rerr := agentwait.Ready(ctx, c.Agents, agentwait.ReadySpec{InstanceIDs: []string{id}}); rerr != nil {
			e.Diagnosis = rerr
		}
		return nil, e
	}
	return nil, err
}

// Terminate ends a session by id (for a tunnel this process no longer holds).
func Terminate(ctx context.Context, api SSMAPI, sessionID string) error {
	_, err := api.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: aws.String(sessionID)})
	return err
}

func principal(ctx context.Context, api STSAPI) string {
	if api == nil {
		return "the caller"
	}
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "the caller"
	}
	return aws.ToString(out.Arn)
}

func pickAgent(ctx context.Context, c Clients, spec OpenSpec) (id, version string, err error) {
	if spec.Target == "" {
		ws := agentwait.Spec{Tags: spec.InstanceTags, MinCount: 1, Timeout: spec.AgentWait}
		if ws.Timeout <= 0 {
			ws.Timeout = TagPickWait
		}
		res, err := agentwait.Wait(ctx, c.Agents, ws)
		if err != nil {
			return "", "", err
		}
		a := res.Online[0]
		return a.InstanceID, a.AgentVersion, nil
	}
	if err := agentwait.Ready(ctx, c.Agents, agentwait.ReadySpec{InstanceIDs: []string{spec.Target}, Wait: spec.AgentWait}); err != nil {
		return "", "", err
	}
	out, err := c.SSM.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{spec.Target}}},
	})
	if err != nil {
		return "", "", fmt.Errorf("reading the SSM agent of %s (DescribeInstanceInformation): %w", spec.Target, err)
	}
	if len(out.InstanceInformationList) == 0 {
		return spec.Target, "", nil
	}
	return spec.Target, aws.ToString(out.InstanceInformationList[0].AgentVersion), nil
}
