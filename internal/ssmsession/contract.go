package ssmsession

import (
	"encoding/json"
	"time"
)

// openDataChannelInput is the first (text) WebSocket message: it presents the
// session token.
type openDataChannelInput struct {
	MessageSchemaVersion string `json:"MessageSchemaVersion"`
	RequestID            string `json:"RequestId"`
	TokenValue           string `json:"TokenValue"`
	ClientID             string `json:"ClientId"`
	ClientVersion        string `json:"ClientVersion"`
}

// acknowledgeContent is the JSON payload of an acknowledge message.
type acknowledgeContent struct {
	MessageType         string `json:"AcknowledgedMessageType"`
	MessageID           string `json:"AcknowledgedMessageId"`
	SequenceNumber      int64  `json:"AcknowledgedMessageSequenceNumber"`
	IsSequentialMessage bool   `json:"IsSequentialMessage"`
}

// channelClosed is the JSON payload of a channel_closed message.
type channelClosed struct {
	MessageID     string `json:"MessageId"`
	CreatedDate   string `json:"CreatedDate"`
	DestinationID string `json:"DestinationId"`
	SessionID     string `json:"SessionId"`
	MessageType   string `json:"MessageType"`
	SchemaVersion int    `json:"SchemaVersion"`
	Output        string `json:"Output"`
}

// Handshake action types and statuses.
const (
	actionKMSEncryption = "KMSEncryption"
	actionSessionType   = "SessionType"

	actionSuccess     = 1
	actionFailed      = 2
	actionUnsupported = 3
)

type handshakeRequest struct {
	AgentVersion           string            `json:"AgentVersion"`
	RequestedClientActions []requestedAction `json:"RequestedClientActions"`
}

type requestedAction struct {
	ActionType       string          `json:"ActionType"`
	ActionParameters json.RawMessage `json:"ActionParameters"`
}

type processedAction struct {
	ActionType   string `json:"ActionType"`
	ActionStatus int    `json:"ActionStatus"`
	ActionResult any    `json:"ActionResult"`
	Error        string `json:"Error"`
}

type handshakeResponse struct {
	ClientVersion          string            `json:"ClientVersion"`
	ProcessedClientActions []processedAction `json:"ProcessedClientActions"`
	Errors                 []string          `json:"Errors"`
}

type handshakeComplete struct {
	HandshakeTimeToComplete time.Duration `json:"HandshakeTimeToComplete"`
	CustomerMessage         string        `json:"CustomerMessage"`
}

// sessionTypeRequest is the parameter of the SessionType action.
type sessionTypeRequest struct {
	SessionType string          `json:"SessionType"`
	Properties  json.RawMessage `json:"Properties"`
}

// portProperties are the Port session type's properties (the document's
// properties with its parameters substituted).
type portProperties struct {
	PortNumber string `json:"portNumber"`
	Host       string `json:"host"`
	Type       string `json:"type"`
}
