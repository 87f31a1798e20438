package ssmsession

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestMessageRoundTripAndLayout(t *testing.T) {
	id := uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff")
	m := &Message{Type: TypeInputStreamData, SchemaVersion: 1, CreatedDate: time.UnixMilli(1700000000123), Sequence: 42, Flags: 0, ID: id, PayloadType: PayloadOutput, Payload: []byte("hello")}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 120+5 {
		t.Fatalf("length %d, want 125", len(b))
	}
	if hl := binary.BigEndian.Uint32(b[0:4]); hl != 116 {
		t.Fatalf("header length %d, want 116", hl)
	}
	if got := string(b[4:36]); got != "input_stream_data               " {
		t.Fatalf("message type field %q: want space padding", got)
	}
	// The id's second half comes first on the wire.
	if !bytes.Equal(b[64:72], id[8:16]) || !bytes.Equal(b[72:80], id[0:8]) {
		t.Fatalf("message id bytes % x", b[64:80])
	}
	if seq := binary.BigEndian.Uint64(b[48:56]); seq != 42 {
		t.Fatalf("sequence %d", seq)
	}
	got, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != m.Type || got.Sequence != 42 || got.ID != id || got.PayloadType != PayloadOutput || string(got.Payload) != "hello" || !got.CreatedDate.Equal(m.CreatedDate) {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestParseMessageRejectsBadDigestAndLengths(t *testing.T) {
	m := &Message{Type: TypeOutputStreamData, SchemaVersion: 1, CreatedDate: time.Now(), ID: uuid.New(), PayloadType: PayloadOutput, Payload: []byte("data")}
	b, _ := m.Marshal()
	bad := append([]byte(nil), b...)
	bad[len(bad)-1] ^= 0xff
	if _, err := ParseMessage(bad); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("corrupt payload: %v", err)
	}
	if _, err := ParseMessage(b[:len(b)-1]); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := ParseMessage(b[:50]); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("short: %v", err)
	}
	// NUL padding (as other writers use) reads the same as spaces.
	nul := append([]byte(nil), b...)
	for i := 4 + len(TypeOutputStreamData); i < 36; i++ {
		nul[i] = 0
	}
	if got, err := ParseMessage(nul); err != nil || got.Type != TypeOutputStreamData {
		t.Fatalf("NUL padded type: %v %v", got, err)
	}
}

func TestFlagsAndVersions(t *testing.T) {
	if f, ok := ParseFlag(FlagPayload(FlagConnectToPortError)); !ok || f != FlagConnectToPortError {
		t.Fatal("flag round trip")
	}
	if !bytes.Equal(FlagPayload(FlagTerminateSession), []byte{0, 0, 0, 2}) {
		t.Fatal("flag encoding")
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"3.0.196.0", "3.0.196.0", 0}, {"3.0.197.0", "3.0.196.0", 1}, {"3.0.196", "3.0.196.0", 0}, {"2.3.1000.0", "3.0.196.0", -1}, {"3.10.0.0", "3.9.9.9", 1}} {
		if got, ok := CompareVersions(c.a, c.b); !ok || got != c.want {
			t.Errorf("CompareVersions(%s, %s) = %d, %v", c.a, c.b, got, ok)
		}
	}
	if _, ok := CompareVersions("latest", "1.0"); ok {
		t.Error("non-numeric version compared")
	}
	if newerThan("3.0.196.0", MuxAfterAgentVersion) || !newerThan("3.0.222.0", MuxAfterAgentVersion) {
		t.Error("mux threshold is strictly after 3.0.196.0")
	}
}
