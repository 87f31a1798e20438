package awsemu

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// The Session Manager data channel's binary message, as the agent and the
// session-manager-plugin frame it (notes/aws-behaviour.md#session-data-channel).
// Every field is big-endian; the message type is a 32-byte field padded with
// spaces; the message id is a UUID written least significant half first; the
// header length field counts the bytes before the payload length field (116).
const (
	dcHeaderLength  = 116 // offset of the payload length field
	dcPayloadOffset = dcHeaderLength + 4

	dcInputStreamData  = "input_stream_data"
	dcOutputStreamData = "output_stream_data"
	dcAcknowledge      = "acknowledge"
	dcChannelClosed    = "channel_closed"
	dcStartPublication = "start_publication"
	dcPausePublication = "pause_publication"
)

// Payload types of stream data messages.
const (
	ptOutput            uint32 = 1
	ptError             uint32 = 2
	ptSize              uint32 = 3
	ptParameter         uint32 = 4
	ptHandshakeRequest  uint32 = 5
	ptHandshakeResponse uint32 = 6
	ptHandshakeComplete uint32 = 7
	ptFlag              uint32 = 10
	ptStdErr            uint32 = 11
	ptExitCode          uint32 = 12
)

// Flag payload values (a big-endian uint32 in a ptFlag message).
const (
	flagDisconnectToPort   uint32 = 1
	flagTerminateSession   uint32 = 2
	flagConnectToPortError uint32 = 3
)

// dcMessage is one data channel message.
type dcMessage struct {
	MessageType    string
	SchemaVersion  uint32
	CreatedDate    uint64 // milliseconds since the epoch
	SequenceNumber int64
	Flags          uint64
	MessageID      [16]byte
	PayloadType    uint32
	Payload        []byte
}

func newMessageID() [16]byte {
	var id [16]byte
	_, _ = rand.Read(id[:])
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// uuidString formats a message id the way the plugin prints it in
// acknowledgements (lower-case, hyphenated).
func uuidString(id [16]byte) string {
	h := hex.EncodeToString(id[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// encode serializes the message; the payload digest is the SHA-256 of the payload.
func (m *dcMessage) encode() []byte {
	out := make([]byte, dcPayloadOffset+len(m.Payload))
	binary.BigEndian.PutUint32(out[0:4], dcHeaderLength)
	copy(out[4:36], bytes.Repeat([]byte{' '}, 32))
	copy(out[4:36], m.MessageType)
	binary.BigEndian.PutUint32(out[36:40], m.SchemaVersion)
	binary.BigEndian.PutUint64(out[40:48], m.CreatedDate)
	binary.BigEndian.PutUint64(out[48:56], uint64(m.SequenceNumber))
	binary.BigEndian.PutUint64(out[56:64], m.Flags)
	copy(out[64:72], m.MessageID[8:16])
	copy(out[72:80], m.MessageID[0:8])
	sum := sha256.Sum256(m.Payload)
	copy(out[80:112], sum[:])
	binary.BigEndian.PutUint32(out[112:116], m.PayloadType)
	binary.BigEndian.PutUint32(out[116:120], uint32(len(m.Payload)))
	copy(out[120:], m.Payload)
	return out
}

// decodeDCMessage parses and validates a message as the agent does: a header
// length, a message type and a created date must be present and the payload
// digest must match.
func decodeDCMessage(b []byte) (*dcMessage, error) {
	if len(b) < dcPayloadOffset {
		return nil, fmt.Errorf("message of %d bytes is shorter than the header", len(b))
	}
	hl := binary.BigEndian.Uint32(b[0:4])
	if hl == 0 || int(hl)+4 > len(b) {
		return nil, errors.New("invalid header length")
	}
	m := &dcMessage{
		MessageType:    string(bytes.TrimSpace(bytes.Trim(b[4:36], "\x00"))),
		SchemaVersion:  binary.BigEndian.Uint32(b[36:40]),
		CreatedDate:    binary.BigEndian.Uint64(b[40:48]),
		SequenceNumber: int64(binary.BigEndian.Uint64(b[48:56])),
		Flags:          binary.BigEndian.Uint64(b[56:64]),
		PayloadType:    binary.BigEndian.Uint32(b[112:116]),
	}
	copy(m.MessageID[8:16], b[64:72])
	copy(m.MessageID[0:8], b[72:80])
	n := binary.BigEndian.Uint32(b[116:120])
	m.Payload = b[hl+4:]
	if m.MessageType == dcStartPublication || m.MessageType == dcPausePublication {
		return m, nil
	}
	if m.MessageType == "" {
		return nil, errors.New("MessageType is missing")
	}
	if m.CreatedDate == 0 {
		return nil, errors.New("CreatedDate is missing")
	}
	if n != 0 {
		if int(n) != len(m.Payload) {
			return nil, errors.New("payload length does not match")
		}
		sum := sha256.Sum256(m.Payload)
		if !bytes.Equal(sum[:], b[80:112]) {
			return nil, errors.New("payload Hash is not valid")
		}
	}
	return m, nil
}

func nowMillis() uint64 { return uint64(time.Now().UnixMilli()) }

// dcAckContent is the JSON payload of an acknowledge message.
type dcAckContent struct {
	MessageType         string `json:"AcknowledgedMessageType"`
	MessageID           string `json:"AcknowledgedMessageId"`
	SequenceNumber      int64  `json:"AcknowledgedMessageSequenceNumber"`
	IsSequentialMessage bool   `json:"IsSequentialMessage"`
}

// dcOpenDataChannel is the first (text) WebSocket message a client sends.
type dcOpenDataChannel struct {
	MessageSchemaVersion string `json:"MessageSchemaVersion"`
	RequestID            string `json:"RequestId"`
	TokenValue           string `json:"TokenValue"`
	ClientID             string `json:"ClientId"`
	ClientVersion        string `json:"ClientVersion"`
}

// Handshake payloads (JSON).
type dcHandshakeRequest struct {
	AgentVersion           string            `json:"AgentVersion"`
	RequestedClientActions []dcRequestAction `json:"RequestedClientActions"`
}

type dcRequestAction struct {
	ActionType       string `json:"ActionType"`
	ActionParameters any    `json:"ActionParameters"`
}

type dcSessionTypeRequest struct {
	SessionType string `json:"SessionType"`
	Properties  any    `json:"Properties"`
}

type dcHandshakeResponse struct {
	ClientVersion          string `json:"ClientVersion"`
	ProcessedClientActions []struct {
		ActionType   string `json:"ActionType"`
		ActionStatus int    `json:"ActionStatus"`
		Error        string `json:"Error"`
	} `json:"ProcessedClientActions"`
	Errors []string `json:"Errors"`
}

type dcHandshakeComplete struct {
	HandshakeTimeToComplete time.Duration `json:"HandshakeTimeToComplete"`
	CustomerMessage         string        `json:"CustomerMessage"`
}

type dcChannelClosedPayload struct {
	MessageID     string `json:"MessageId"`
	CreatedDate   string `json:"CreatedDate"`
	DestinationID string `json:"DestinationId"`
	SessionID     string `json:"SessionId"`
	MessageType   string `json:"MessageType"`
	SchemaVersion int    `json:"SchemaVersion"`
	Output        string `json:"Output"`
}
