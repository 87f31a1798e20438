// Package ssmsession speaks the Session Manager data channel as the
// session-manager-plugin does: StartSession, the WebSocket to the session's stream
// URL, the token handshake, the binary message framing with sequence numbers,
// acknowledgements and retransmission, the session-type handshake, resume after a
// dropped WebSocket, and port forwarding over it (smux streams for agents that
// multiplex, one connection at a time for older agents). It has no Terraform types.
//
// The wire facts it relies on are written down, with their sources, in
// notes/aws-behaviour.md under "Session Manager data channel".
package ssmsession

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Message types carried in the 32-byte MessageType field.
const (
	TypeInputStreamData  = "input_stream_data"
	TypeOutputStreamData = "output_stream_data"
	TypeAcknowledge      = "acknowledge"
	TypeChannelClosed    = "channel_closed"
	TypeStartPublication = "start_publication"
	TypePausePublication = "pause_publication"
)

// PayloadType says what a stream message's payload holds.
type PayloadType uint32

// Payload types.
const (
	PayloadOutput            PayloadType = 1
	PayloadError             PayloadType = 2
	PayloadSize              PayloadType = 3
	PayloadParameter         PayloadType = 4
	PayloadHandshakeRequest  PayloadType = 5
	PayloadHandshakeResponse PayloadType = 6
	PayloadHandshakeComplete PayloadType = 7
	PayloadEncChallengeReq   PayloadType = 8
	PayloadEncChallengeResp  PayloadType = 9
	PayloadFlag              PayloadType = 10
	PayloadStdErr            PayloadType = 11
	PayloadExitCode          PayloadType = 12
)

// Flag is the 4-byte big-endian payload of a PayloadFlag message.
type Flag uint32

// Flags.
const (
	FlagDisconnectToPort   Flag = 1
	FlagTerminateSession   Flag = 2
	FlagConnectToPortError Flag = 3
)

// Header layout: every field big-endian at a fixed offset; HeaderLength holds the
// offset of PayloadLength (116) and the payload starts 4 bytes after it.
const (
	offHeaderLength  = 0
	offMessageType   = 4
	lenMessageType   = 32
	offSchemaVersion = 36
	offCreatedDate   = 40
	offSequence      = 48
	offFlags         = 56
	offMessageID     = 64
	offDigest        = 80
	offPayloadType   = 112
	offPayloadLength = 116
	offPayload       = 120
)

// Message is one framed data channel message.
type Message struct {
	Type          string
	SchemaVersion uint32
	CreatedDate   time.Time // milliseconds on the wire
	Sequence      int64
	Flags         uint64
	ID            uuid.UUID
	PayloadType   PayloadType
	Payload       []byte
}

// Marshal frames m. The payload digest is the SHA-256 of the payload; the message
// type is padded with spaces; the message id is written with its second half first.
func (m *Message) Marshal() ([]byte, error) {
	if len(m.Type) > lenMessageType {
		return nil, fmt.Errorf("message type %q is longer than %d bytes", m.Type, lenMessageType)
	}
	b := make([]byte, offPayload+len(m.Payload))
	binary.BigEndian.PutUint32(b[offHeaderLength:], offPayloadLength)
	copy(b[offMessageType:offMessageType+lenMessageType], bytes.Repeat([]byte{' '}, lenMessageType))
	copy(b[offMessageType:], m.Type)
	binary.BigEndian.PutUint32(b[offSchemaVersion:], m.SchemaVersion)
	binary.BigEndian.PutUint64(b[offCreatedDate:], uint64(m.CreatedDate.UnixMilli()))
	binary.BigEndian.PutUint64(b[offSequence:], uint64(m.Sequence))
	binary.BigEndian.PutUint64(b[offFlags:], m.Flags)
	copy(b[offMessageID:], m.ID[8:16])
	copy(b[offMessageID+8:], m.ID[0:8])
	sum := sha256.Sum256(m.Payload)
	copy(b[offDigest:], sum[:])
	binary.BigEndian.PutUint32(b[offPayloadType:], uint32(m.PayloadType))
	binary.BigEndian.PutUint32(b[offPayloadLength:], uint32(len(m.Payload)))
	copy(b[offPayload:], m.Payload)
	return b, nil
}

// ErrBadMessage wraps every framing error.
var ErrBadMessage = errors.New("malformed data channel message")

// ParseMessage reads a framed message and checks its length fields and, for a
// non-empty payload, its digest, as the plugin's Validate does.
func ParseMessage(b []byte) (*Message, error) {
	if len(b) < offPayload {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the %d-byte header", ErrBadMessage, len(b), offPayload)
	}
	hl := binary.BigEndian.Uint32(b[offHeaderLength:])
	m := &Message{
		Type:          strings.TrimSpace(string(bytes.Trim(b[offMessageType:offMessageType+lenMessageType], "\x00"))),
		SchemaVersion: binary.BigEndian.Uint32(b[offSchemaVersion:]),
		CreatedDate:   time.UnixMilli(int64(binary.BigEndian.Uint64(b[offCreatedDate:]))),
		Sequence:      int64(binary.BigEndian.Uint64(b[offSequence:])),
		Flags:         binary.BigEndian.Uint64(b[offFlags:]),
		PayloadType:   PayloadType(binary.BigEndian.Uint32(b[offPayloadType:])),
	}
	copy(m.ID[8:16], b[offMessageID:offMessageID+8])
	copy(m.ID[0:8], b[offMessageID+8:offMessageID+16])
	if m.Type == TypeStartPublication || m.Type == TypePausePublication {
		return m, nil
	}
	if hl == 0 || int(hl)+4 > len(b) {
		return nil, fmt.Errorf("%w: header length %d in a %d-byte message", ErrBadMessage, hl, len(b))
	}
	pl := binary.BigEndian.Uint32(b[offPayloadLength:])
	start := int(hl) + 4
	if uint64(start)+uint64(pl) != uint64(len(b)) {
		return nil, fmt.Errorf("%w: payload length %d does not match the %d bytes after the header", ErrBadMessage, pl, len(b)-start)
	}
	m.Payload = b[start:]
	if m.Type == "" {
		return nil, fmt.Errorf("%w: message type is missing", ErrBadMessage)
	}
	if pl != 0 {
		sum := sha256.Sum256(m.Payload)
		if !bytes.Equal(sum[:], b[offDigest:offDigest+32]) {
			return nil, fmt.Errorf("%w: payload digest does not match (%s, sequence %d)", ErrBadMessage, m.Type, m.Sequence)
		}
	}
	return m, nil
}

// FlagPayload encodes a flag as its 4-byte big-endian payload.
func FlagPayload(f Flag) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(f))
	return b
}

// ParseFlag decodes a flag payload.
func ParseFlag(p []byte) (Flag, bool) {
	if len(p) != 4 {
		return 0, false
	}
	return Flag(binary.BigEndian.Uint32(p)), true
}
