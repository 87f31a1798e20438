package ssmsession

// A test-side agent peer: enough of the agent's data channel and port plugin to
// exercise the client's framing, handshake, acknowledgements, retransmission,
// resume and both port modes without the emulator. Emulator-backed tests live in
// session_emu_test.go.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/xtaci/smux"
)

type fakeSSM struct {
	srv          *httptest.Server
	agentVersion string
	props        portProperties
	target       string // host:port the agent dials
	dropEvery    int    // drop every Nth first transmission in both directions
	kms          bool

	mu         sync.Mutex
	token      string
	terminated bool
	resumes    int
	peer       *agentPeer
}

func newFakeSSM(agentVersion, target string) *fakeSSM {
	f := &fakeSSM{agentVersion: agentVersion, target: target}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serveWS))
	return f
}

func (f *fakeSSM) Close() {
	f.mu.Lock()
	p := f.peer
	f.mu.Unlock()
	if p != nil {
		p.stop()
	}
	f.srv.Close()
}

func (f *fakeSSM) StartSession(ctx context.Context, in *ssm.StartSessionInput, _ ...func(*ssm.Options)) (*ssm.StartSessionOutput, error) {
	typ := "LocalPortForwarding"
	f.mu.Lock()
	defer f.mu.Unlock()
	f.token = uuid.NewString()
	f.props = portProperties{PortNumber: in.Parameters["portNumber"][0], Type: typ}
	if h := in.Parameters["host"]; len(h) > 0 {
		f.props.Host = h[0]
	}
	return &ssm.StartSessionOutput{SessionId: aws.String("user-0123456789abcdef0"), StreamUrl: aws.String("ws" + strings.TrimPrefix(f.srv.URL, "http") + "/stream"), TokenValue: aws.String(f.token)}, nil
}

func (f *fakeSSM) ResumeSession(ctx context.Context, in *ssm.ResumeSessionInput, _ ...func(*ssm.Options)) (*ssm.ResumeSessionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resumes++
	if f.terminated {
		return &ssm.ResumeSessionOutput{SessionId: in.SessionId}, nil
	}
	f.token = uuid.NewString()
	return &ssm.ResumeSessionOutput{SessionId: in.SessionId, TokenValue: aws.String(f.token)}, nil
}

func (f *fakeSSM) TerminateSession(ctx context.Context, in *ssm.TerminateSessionInput, _ ...func(*ssm.Options)) (*ssm.TerminateSessionOutput, error) {
	f.mu.Lock()
	f.terminated = true
	p := f.peer
	f.mu.Unlock()
	if p != nil {
		p.stop()
	}
	return &ssm.TerminateSessionOutput{SessionId: in.SessionId}, nil
}

var upgrader = websocket.Upgrader{}

func (f *fakeSSM) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	_, first, err := ws.ReadMessage()
	if err != nil {
		_ = ws.Close()
		return
	}
	var open openDataChannelInput
	_ = json.Unmarshal(first, &open)
	f.mu.Lock()
	if open.TokenValue != f.token || f.terminated {
		f.mu.Unlock()
		_ = ws.Close()
		return
	}
	p := f.peer
	if p == nil {
		p = newAgentPeer(f)
		f.peer = p
	}
	f.mu.Unlock()
	p.attach(ws, open.ClientVersion)
}

// agentPeer is the agent end of one session.
type agentPeer struct {
	f       *fakeSSM
	wmu     sync.Mutex
	mu      sync.Mutex
	ws      *websocket.Conn
	outSeq  int64
	unacked map[int64][]byte
	inExp   int64
	inBuf   map[int64]*Message
	started bool
	sent    atomic.Int64
	recv    atomic.Int64
	done    chan struct{}
	once    sync.Once

	// port plugin
	clientVersion string
	toSmux        net.Conn // our end of the pipe the smux server runs over
	basic         net.Conn
	basicMu       sync.Mutex
}

func newAgentPeer(f *fakeSSM) *agentPeer {
	return &agentPeer{f: f, unacked: map[int64][]byte{}, inBuf: map[int64]*Message{}, done: make(chan struct{})}
}

func (p *agentPeer) stop() {
	p.once.Do(func() {
		close(p.done)
		p.mu.Lock()
		ws := p.ws
		p.mu.Unlock()
		if ws != nil {
			_ = ws.Close()
		}
		if p.toSmux != nil {
			_ = p.toSmux.Close()
		}
	})
}

func (p *agentPeer) write(raw []byte) {
	p.mu.Lock()
	ws := p.ws
	p.mu.Unlock()
	if ws == nil {
		return
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = ws.WriteMessage(websocket.BinaryMessage, raw)
}

func (p *agentPeer) attach(ws *websocket.Conn, clientVersion string) {
	p.mu.Lock()
	old := p.ws
	p.ws = ws
	first := !p.started
	p.started = true
	p.clientVersion = clientVersion
	var resend [][]byte
	for seq := int64(0); seq < p.outSeq; seq++ {
		if raw, ok := p.unacked[seq]; ok {
			resend = append(resend, raw)
		}
	}
	p.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	if first {
		req, _ := json.Marshal(map[string]any{
			"AgentVersion": p.f.agentVersion,
			"RequestedClientActions": func() []map[string]any {
				a := []map[string]any{{"ActionType": "SessionType", "ActionParameters": map[string]any{"SessionType": "Port", "Properties": p.f.props}}}
				if p.f.kms {
					a = append(a, map[string]any{"ActionType": "KMSEncryption", "ActionParameters": map[string]any{"KMSKeyId": "alias/x"}})
				}
				return a
			}(),
		})
		p.send(PayloadHandshakeRequest, req)
	}
	for _, raw := range resend {
		p.write(raw)
	}
	go p.resendLoop(ws)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		m, err := ParseMessage(data)
		if err != nil {
			panic(fmt.Sprintf("agent peer: client sent a malformed message: %v", err))
		}
		switch m.Type {
		case TypeAcknowledge:
			var a acknowledgeContent
			_ = json.Unmarshal(m.Payload, &a)
			p.mu.Lock()
			delete(p.unacked, a.SequenceNumber)
			p.mu.Unlock()
		case TypeInputStreamData:
			if n := p.f.dropEvery; n > 0 && p.recv.Add(1)%int64(n) == 0 {
				continue // lost on the way: the client must resend it
			}
			p.inbound(m)
		}
	}
}

func (p *agentPeer) resendLoop(ws *websocket.Conn) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		p.mu.Lock()
		if p.ws != ws {
			p.mu.Unlock()
			return
		}
		var raws [][]byte
		for seq := int64(0); seq < p.outSeq; seq++ {
			if raw, ok := p.unacked[seq]; ok {
				raws = append(raws, raw)
			}
		}
		p.mu.Unlock()
		for _, r := range raws {
			p.write(r)
		}
	}
}

func (p *agentPeer) ack(m *Message) {
	c, _ := json.Marshal(acknowledgeContent{MessageType: m.Type, MessageID: m.ID.String(), SequenceNumber: m.Sequence, IsSequentialMessage: true})
	a := &Message{Type: TypeAcknowledge, SchemaVersion: 1, CreatedDate: time.Now(), Flags: 3, ID: uuid.New(), Payload: c}
	raw, _ := a.Marshal()
	p.write(raw)
}

func (p *agentPeer) inbound(m *Message) {
	p.ack(m)
	p.mu.Lock()
	if m.Sequence != p.inExp {
		if m.Sequence > p.inExp {
			p.inBuf[m.Sequence] = m
		}
		p.mu.Unlock()
		return
	}
	var ready []*Message
	ready = append(ready, m)
	p.inExp++
	for {
		n, ok := p.inBuf[p.inExp]
		if !ok {
			break
		}
		delete(p.inBuf, p.inExp)
		ready = append(ready, n)
		p.inExp++
	}
	p.mu.Unlock()
	for _, r := range ready {
		p.deliver(r)
	}
}

// send frames an output_stream_data message; with dropEvery it "loses" some
// first transmissions so the client sees gaps and reorders.
func (p *agentPeer) send(pt PayloadType, payload []byte) {
	p.mu.Lock()
	m := &Message{Type: TypeOutputStreamData, SchemaVersion: 1, CreatedDate: time.Now(), Sequence: p.outSeq, ID: uuid.New(), PayloadType: pt, Payload: payload}
	p.outSeq++
	raw, _ := m.Marshal()
	p.unacked[m.Sequence] = raw
	p.mu.Unlock()
	if n := p.f.dropEvery; n > 0 && p.sent.Add(1)%int64(n) == 0 {
		return
	}
	p.write(raw)
}

func (p *agentPeer) deliver(m *Message) {
	switch m.PayloadType {
	case PayloadHandshakeResponse:
		var r handshakeResponse
		_ = json.Unmarshal(m.Payload, &r)
		if len(r.Errors) > 0 {
			cc, _ := json.Marshal(channelClosed{Output: "handshake failed: " + strings.Join(r.Errors, "; ")})
			c := &Message{Type: TypeChannelClosed, SchemaVersion: 1, CreatedDate: time.Now(), ID: uuid.New(), Payload: cc}
			raw, _ := c.Marshal()
			p.write(raw)
			return
		}
		p.startPort(r.ClientVersion)
		hc, _ := json.Marshal(handshakeComplete{HandshakeTimeToComplete: time.Millisecond})
		p.send(PayloadHandshakeComplete, hc)
	case PayloadOutput:
		if p.toSmux != nil {
			_, _ = p.toSmux.Write(m.Payload)
			return
		}
		p.basicMu.Lock()
		if p.basic == nil {
			c, err := net.Dial("tcp", p.f.target)
			if err != nil {
				p.basicMu.Unlock()
				return
			}
			p.basic = c
			go p.pumpBasic(c)
		}
		c := p.basic
		p.basicMu.Unlock()
		_, _ = c.Write(m.Payload)
	case PayloadFlag:
		f, _ := ParseFlag(m.Payload)
		if f == FlagDisconnectToPort {
			p.basicMu.Lock()
			if p.basic != nil {
				_ = p.basic.Close()
				p.basic = nil
			}
			p.basicMu.Unlock()
		}
	}
}

func (p *agentPeer) pumpBasic(c net.Conn) {
	buf := make([]byte, streamPayloadSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			p.send(PayloadOutput, append([]byte(nil), buf[:n]...))
		}
		if err != nil {
			return
		}
	}
}

func (p *agentPeer) startPort(clientVersion string) {
	if c, ok := CompareVersions(p.f.agentVersion, MuxAfterAgentVersion); !ok || c <= 0 {
		return // basic: dial on the first bytes
	}
	a, b := net.Pipe()
	p.toSmux = a
	cfg := smux.DefaultConfig()
	cfg.KeepAliveDisabled = newerThan(clientVersion, "1.2.331.0")
	srv, err := smux.Server(b, cfg)
	if err != nil {
		panic(err)
	}
	go func() {
		buf := make([]byte, streamPayloadSize)
		for {
			n, err := a.Read(buf)
			if n > 0 {
				p.send(PayloadOutput, append([]byte(nil), buf[:n]...))
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		for {
			st, err := srv.AcceptStream()
			if err != nil {
				return
			}
			c, err := net.Dial("tcp", p.f.target)
			if err != nil {
				p.send(PayloadFlag, FlagPayload(FlagConnectToPortError))
				_ = st.Close()
				continue
			}
			go func() {
				go func() { _, _ = io.Copy(c, st); _ = c.Close() }()
				_, _ = io.Copy(st, c)
				_ = st.Close()
			}()
		}
	}()
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }
