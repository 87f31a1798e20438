package ssmsession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/uuid"
)

// SSMAPI is the part of the SSM client a session needs.
type SSMAPI interface {
	StartSession(ctx context.Context, in *ssm.StartSessionInput, optFns ...func(*ssm.Options)) (*ssm.StartSessionOutput, error)
	ResumeSession(ctx context.Context, in *ssm.ResumeSessionInput, optFns ...func(*ssm.Options)) (*ssm.ResumeSessionOutput, error)
	TerminateSession(ctx context.Context, in *ssm.TerminateSessionInput, optFns ...func(*ssm.Options)) (*ssm.TerminateSessionOutput, error)
}

// Documents for port forwarding.
const (
	DocumentPortForwarding           = "AWS-StartPortForwardingSession"
	DocumentPortForwardingRemoteHost = "AWS-StartPortForwardingSessionToRemoteHost"
)

// Mode is how TCP connections travel over the data channel.
type Mode string

// Modes.
const (
	// ModeMux multiplexes any number of connections as smux streams.
	ModeMux Mode = "mux"
	// ModeBasic carries one connection at a time (agents up to 3.0.196.0).
	ModeBasic Mode = "basic"
)

// HandshakeError is a session the client could not agree on with the agent.
type HandshakeError struct {
	SessionID string
	Reason    string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("session %s handshake: %s", e.SessionID, e.Reason)
}

// RemotePortRefusedError means the agent could not connect to the remote port.
type RemotePortRefusedError struct {
	SessionID string
	Host      string
	Port      string
}

func (e *RemotePortRefusedError) Error() string {
	host := e.Host
	if host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("the agent could not connect to %s (session %s)", net.JoinHostPort(host, e.Port), e.SessionID)
}

// handshakeTimeout bounds the wait for the agent's handshake after the token.
const handshakeTimeout = 2 * time.Minute

// session is one started session: the data channel and the handshake state.
type session struct {
	api       SSMAPI
	id        string
	ch        *channel
	mu        sync.Mutex
	agentVer  string
	props     portProperties
	typ       string
	kmsAsked  bool
	complete  chan string // customer message
	port      portHandler
	portReady chan struct{}
}

// portHandler receives the port session's stream payloads after the handshake.
type portHandler interface {
	output(p []byte) error
	flag(f Flag)
}

func startSession(ctx context.Context, api SSMAPI, in *ssm.StartSessionInput) (*session, error) {
	out, err := api.StartSession(ctx, in)
	if err != nil {
		return nil, err
	}
	s := &session{
		api:       api,
		id:        aws.ToString(out.SessionId),
		complete:  make(chan string, 1),
		portReady: make(chan struct{}),
	}
	s.ch = newChannel(aws.ToString(out.StreamUrl), aws.ToString(out.TokenValue), uuid.NewString(), s.id, s.resumeToken)
	s.ch.onStream = s.onStream
	if err := s.ch.open(ctx); err != nil {
		_ = s.terminate()
		return nil, err
	}
	return s, nil
}

func (s *session) resumeToken(ctx context.Context) (string, error) {
	out, err := s.api.ResumeSession(ctx, &ssm.ResumeSessionInput{SessionId: aws.String(s.id)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.TokenValue), nil
}

// terminate ends the session with TerminateSession, whatever the caller's context.
func (s *session) terminate() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.api.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: aws.String(s.id)})
	s.ch.finish(errors.New("session terminated by the client"))
	return err
}

func (s *session) onStream(m *Message) error {
	switch m.PayloadType {
	case PayloadHandshakeRequest:
		return s.handshake(m.Payload)
	case PayloadHandshakeComplete:
		var hc handshakeComplete
		_ = json.Unmarshal(m.Payload, &hc)
		select {
		case s.complete <- hc.CustomerMessage:
		default:
		}
		// Stream data may follow at once: wait until the port side is set up so
		// that nothing is delivered before there is somewhere to put it.
		select {
		case <-s.portReady:
		case <-s.ch.Done():
		}
		return nil
	case PayloadOutput:
		if p := s.portHandler(); p != nil {
			return p.output(m.Payload)
		}
	case PayloadFlag:
		if f, ok := ParseFlag(m.Payload); ok {
			if p := s.portHandler(); p != nil {
				p.flag(f)
			}
		}
	}
	return nil
}

func (s *session) portHandler() portHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

func (s *session) handshake(payload []byte) error {
	var req handshakeRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return &HandshakeError{SessionID: s.id, Reason: "unreadable handshake request: " + err.Error()}
	}
	resp := handshakeResponse{ClientVersion: ClientVersion, ProcessedClientActions: []processedAction{}}
	s.mu.Lock()
	s.agentVer = req.AgentVersion
	for _, a := range req.RequestedClientActions {
		pa := processedAction{ActionType: a.ActionType}
		switch a.ActionType {
		case actionSessionType:
			var st sessionTypeRequest
			_ = json.Unmarshal(a.ActionParameters, &st)
			s.typ = st.SessionType
			if st.SessionType == "Port" {
				_ = json.Unmarshal(st.Properties, &s.props)
				pa.ActionStatus = actionSuccess
			} else {
				pa.ActionStatus = actionFailed
				pa.Error = fmt.Sprintf("Failed to process action SessionType: this client only forwards ports, not %q sessions", st.SessionType)
			}
		case actionKMSEncryption:
			s.kmsAsked = true
			pa.ActionStatus = actionFailed
			pa.Error = "Failed to process action KMSEncryption: this client does not encrypt session data with KMS"
		default:
			pa.ActionStatus = actionUnsupported
			pa.ActionResult = actionUnsupported
			pa.Error = "Unsupported action " + a.ActionType
		}
		if pa.Error != "" {
			resp.Errors = append(resp.Errors, pa.Error)
		}
		resp.ProcessedClientActions = append(resp.ProcessedClientActions, pa)
	}
	s.mu.Unlock()
	body, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	// The read loop must not block on the send window: send from a goroutine.
	go func() { _ = s.ch.send(context.Background(), PayloadHandshakeResponse, body) }()
	return nil
}

// waitHandshake waits for HandshakeComplete and checks what was agreed.
func (s *session) waitHandshake(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	select {
	case <-s.complete:
	case <-s.ch.Done():
		err := s.ch.Err()
		s.mu.Lock()
		kms := s.kmsAsked
		s.mu.Unlock()
		if kms {
			return &HandshakeError{SessionID: s.id, Reason: "the session preferences require KMS encryption of session data, which this client does not support; set kmsKeyId to empty in the preferences document or use the session-manager-plugin (" + err.Error() + ")"}
		}
		return err
	case <-hctx.Done():
		if err := ctx.Err(); err != nil {
			return err
		}
		return &HandshakeError{SessionID: s.id, Reason: fmt.Sprintf("no handshake from the agent within %s", handshakeTimeout)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.typ != "Port" {
		return &HandshakeError{SessionID: s.id, Reason: fmt.Sprintf("the agent opened a %q session, not a Port session", s.typ)}
	}
	if s.kmsAsked {
		return &HandshakeError{SessionID: s.id, Reason: "the session preferences require KMS encryption of session data, which this client does not support"}
	}
	return nil
}

func (s *session) agentVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agentVer
}

func (s *session) setPort(p portHandler) {
	s.mu.Lock()
	s.port = p
	s.mu.Unlock()
	close(s.portReady)
}
