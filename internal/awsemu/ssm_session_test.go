package awsemu

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/gorilla/websocket"
	"github.com/xtaci/smux"
)

// A minimal client of the data channel for the emulator's own tests: it opens
// the stream URL with the token, acknowledges output in sequence, and keeps its
// own input until acknowledged so that it can send it again after a resume.
// The real session-manager-plugin is exercised by scripts/conformance.sh.
type testDC struct {
	t        *testing.T
	mu       sync.Mutex
	conn     *websocket.Conn
	seq      int64
	unacked  map[int64][]byte
	expected int64
	early    map[int64]*dcMessage
	out      chan *dcMessage
	closed   chan string
}

func dialTestDC(t *testing.T, url, token string) *testDC {
	c := &testDC{t: t, unacked: map[int64][]byte{}, early: map[int64]*dcMessage{}, out: make(chan *dcMessage, 100000), closed: make(chan string, 1)}
	c.connect(url, token)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go c.resend(stop)
	return c
}

// resend repeats unacknowledged input every 300 ms, as the plugin's
// ResendStreamDataMessageScheduler does (the agent leaves input unacknowledged
// while its plugin is not ready).
func (c *testDC) resend(stop chan struct{}) {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		for s := int64(0); s < c.seq; s++ {
			if raw, ok := c.unacked[s]; ok {
				_ = c.conn.WriteMessage(websocket.BinaryMessage, raw)
			}
		}
		c.mu.Unlock()
	}
}

func (c *testDC) connect(url, token string) {
	c.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		c.t.Fatalf("dial %s: %v", url, err)
	}
	open := dcOpenDataChannel{MessageSchemaVersion: "1.0", RequestID: "r", TokenValue: token, ClientID: "c", ClientVersion: "1.2.707.0"}
	if err := conn.WriteMessage(websocket.TextMessage, sessionJSON(open)); err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.conn = conn
	var again [][]byte
	for s := int64(0); s < c.seq; s++ {
		if raw, ok := c.unacked[s]; ok {
			again = append(again, raw)
		}
	}
	for _, raw := range again {
		_ = conn.WriteMessage(websocket.BinaryMessage, raw)
	}
	c.mu.Unlock()
	go c.read(conn)
}

func (c *testDC) read(conn *websocket.Conn) {
	for {
		_, raw, err := conn.ReadMessage()
		if err != nil {
			return
		}
		m, err := decodeDCMessage(raw)
		if err != nil {
			c.t.Errorf("bad message from the emulator: %v", err)
			return
		}
		switch m.MessageType {
		case dcAcknowledge:
			var a dcAckContent
			_ = json.Unmarshal(m.Payload, &a)
			c.mu.Lock()
			delete(c.unacked, a.SequenceNumber)
			c.mu.Unlock()
		case dcChannelClosed:
			var p dcChannelClosedPayload
			_ = json.Unmarshal(m.Payload, &p)
			select {
			case c.closed <- p.Output:
			default:
			}
		case dcOutputStreamData:
			ack := dcMessage{MessageType: dcAcknowledge, SchemaVersion: 1, CreatedDate: nowMillis(), Flags: 3, MessageID: newMessageID(),
				Payload: sessionJSON(dcAckContent{MessageType: m.MessageType, MessageID: uuidString(m.MessageID), SequenceNumber: m.SequenceNumber, IsSequentialMessage: true})}
			// In order: deliver it and what was buffered after it; early: buffer it
			// (as the plugin's IncomingMessageBuffer); repeated: drop it.
			c.mu.Lock()
			_ = conn.WriteMessage(websocket.BinaryMessage, ack.encode())
			var deliver []*dcMessage
			if m.SequenceNumber == c.expected {
				deliver = append(deliver, m)
				c.expected++
				for {
					b, ok := c.early[c.expected]
					if !ok {
						break
					}
					delete(c.early, c.expected)
					deliver = append(deliver, b)
					c.expected++
				}
			} else if m.SequenceNumber > c.expected {
				c.early[m.SequenceNumber] = m
			}
			c.mu.Unlock()
			for _, d := range deliver {
				c.out <- d
			}
		}
	}
}

func (c *testDC) send(pt uint32, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := dcMessage{MessageType: dcInputStreamData, SchemaVersion: 1, CreatedDate: nowMillis(), SequenceNumber: c.seq, MessageID: newMessageID(),
		PayloadType: pt, Payload: append([]byte(nil), payload...)}
	raw := m.encode()
	c.unacked[c.seq] = raw
	c.seq++
	_ = c.conn.WriteMessage(websocket.BinaryMessage, raw)
}

func (c *testDC) next(timeout time.Duration) *dcMessage {
	c.t.Helper()
	select {
	case m := <-c.out:
		return m
	case <-time.After(timeout):
		c.t.Fatal("no output from the emulator")
		return nil
	}
}

// handshake answers the agent's handshake request and returns its session type and agent version.
func (c *testDC) handshake() (sessionType, agentVersion string) {
	c.t.Helper()
	m := c.next(10 * time.Second)
	if m.PayloadType != ptHandshakeRequest {
		c.t.Fatalf("first output: payload type %d, want a handshake request", m.PayloadType)
	}
	var req struct {
		AgentVersion           string
		RequestedClientActions []struct {
			ActionType       string
			ActionParameters dcSessionTypeRequest
		}
	}
	if err := json.Unmarshal(m.Payload, &req); err != nil || len(req.RequestedClientActions) != 1 {
		c.t.Fatalf("handshake request %s: %v", m.Payload, err)
	}
	c.send(ptHandshakeResponse, []byte(`{"ClientVersion":"1.2.707.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1}],"Errors":null}`))
	if m := c.next(10 * time.Second); m.PayloadType != ptHandshakeComplete {
		c.t.Fatalf("want handshake complete, got payload type %d", m.PayloadType)
	}
	return req.RequestedClientActions[0].ActionParameters.SessionType, req.AgentVersion
}

// muxConn adapts the data channel to a net.Conn for an smux client: writes
// become Output messages, Output messages become reads.
func (c *testDC) muxConn() net.Conn {
	a, b := net.Pipe()
	go func() {
		buf := make([]byte, dcPacketSize)
		for {
			n, err := b.Read(buf)
			if err != nil {
				return
			}
			c.send(ptOutput, buf[:n])
		}
	}()
	go func() {
		for m := range c.out {
			if m.PayloadType == ptOutput {
				if _, err := b.Write(m.Payload); err != nil {
					return
				}
			}
		}
	}()
	return a
}

func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(conn, conn); _ = conn.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func startTestSession(t *testing.T, cl *ssm.Client, target, doc string, params map[string][]string) *ssm.StartSessionOutput {
	t.Helper()
	out, err := cl.StartSession(t.Context(), &ssm.StartSessionInput{Target: aws.String(target), DocumentName: aws.String(doc), Parameters: params})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Port forwarding with a current agent multiplexes: 20 concurrent connections
// through one session, byte-exact; then the WebSocket drops, the client
// resumes with a new token and a 2 MiB round trip loses nothing; TerminateSession
// closes the channel and moves the session to History.
func TestSessionPortMuxAndResume(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	ids, err := e.AddInstances(InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	cl := ssm.NewFromConfig(cfg)
	port := echoServer(t)
	s := startTestSession(t, cl, ids[0], "AWS-StartPortForwardingSession", map[string][]string{"portNumber": {port}})
	dc := dialTestDC(t, *s.StreamUrl, *s.TokenValue)
	if st, av := dc.handshake(); st != "Port" || av != agentVersion {
		t.Fatalf("handshake: session type %q agent %q", st, av)
	}
	// As the plugin configures it for agents newer than 3.1.1511.0.
	muxCfg := smux.DefaultConfig()
	muxCfg.KeepAliveDisabled = true
	mux, err := smux.Client(dc.muxConn(), muxCfg)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip := func(size int) error {
		st, err := mux.OpenStream()
		if err != nil {
			return err
		}
		defer st.Close()
		want := make([]byte, size)
		_, _ = rand.Read(want)
		go func() { _, _ = st.Write(want) }()
		got := make([]byte, size)
		if _, err := io.ReadFull(st, got); err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("echo differs")
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- roundTrip(64 << 10) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// Drop the WebSocket, resume, and carry on.
	dc.mu.Lock()
	_ = dc.conn.Close()
	dc.mu.Unlock()
	r, err := cl.ResumeSession(t.Context(), &ssm.ResumeSessionInput{SessionId: s.SessionId})
	if err != nil {
		t.Fatal(err)
	}
	if *r.TokenValue == *s.TokenValue {
		t.Fatal("ResumeSession returned the old token")
	}
	dc.mu.Lock()
	sentBefore := dc.seq
	dc.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- roundTrip(2 << 20) }()
	// Some of the round trip goes while disconnected: reconnect once it has sent input.
	eventually(t, 10*time.Second, func() error {
		dc.mu.Lock()
		defer dc.mu.Unlock()
		if dc.seq == sentBefore {
			return errors.New("the round trip sent nothing while disconnected")
		}
		return nil
	})
	dc.connect(*r.StreamUrl, *r.TokenValue)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("round trip after resume did not finish")
	}

	if _, err := cl.TerminateSession(t.Context(), &ssm.TerminateSessionInput{SessionId: s.SessionId}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dc.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("no channel_closed after TerminateSession")
	}
	hist, err := cl.DescribeSessions(t.Context(), &ssm.DescribeSessionsInput{State: ssmtypes.SessionStateHistory})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Sessions) != 1 || *hist.Sessions[0].SessionId != *s.SessionId || hist.Sessions[0].Status != ssmtypes.SessionStatusTerminated {
		t.Fatalf("history: %+v", hist.Sessions)
	}
	act, _ := cl.DescribeSessions(t.Context(), &ssm.DescribeSessionsInput{State: ssmtypes.SessionStateActive})
	if len(act.Sessions) != 0 {
		t.Fatalf("active sessions after terminate: %d", len(act.Sessions))
	}
}

// An agent of 3.0.196.0 or older forwards one connection: the raw bytes of the
// Output messages go to the port and back, no smux.
func TestSessionPortBasicOldAgent(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	ids, err := e.AddInstances(InstanceSpec{Count: 1, Ready: true, AgentVersion: "3.0.196.0"})
	if err != nil {
		t.Fatal(err)
	}
	cl := ssm.NewFromConfig(cfg)
	port := echoServer(t)
	s := startTestSession(t, cl, ids[0], "AWS-StartPortForwardingSessionToRemoteHost", map[string][]string{"host": {"127.0.0.1"}, "portNumber": {port}})
	dc := dialTestDC(t, *s.StreamUrl, *s.TokenValue)
	if _, av := dc.handshake(); av != "3.0.196.0" {
		t.Fatalf("agent version %q", av)
	}
	dc.send(ptOutput, []byte("plain bytes"))
	var got []byte
	for len(got) < len("plain bytes") {
		m := dc.next(10 * time.Second)
		got = append(got, m.Payload...)
	}
	if string(got) != "plain bytes" {
		t.Fatalf("echo %q", got)
	}
}

// Errors StartSession returns before any channel exists.
func TestSessionStartErrors(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	cl := ssm.NewFromConfig(cfg)
	ctx := t.Context()
	_, err := cl.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String("i-0123456789abcdef0")})
	var nc *ssmtypes.TargetNotConnected
	if !errors.As(err, &nc) {
		t.Fatalf("unknown target: %v", err)
	}
	ok, _ := e.AddInstances(InstanceSpec{Count: 1, Ready: true})
	_, err = cl.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String(ok[0]), DocumentName: aws.String("No-Such-Doc")})
	var inv *ssmtypes.InvalidDocument
	if !errors.As(err, &inv) {
		t.Fatalf("missing document: %v", err)
	}
	st, err := cl.GetConnectionStatus(ctx, &ssm.GetConnectionStatusInput{Target: aws.String(ok[0])})
	if err != nil || st.Status != ssmtypes.ConnectionStatusConnected {
		t.Fatalf("GetConnectionStatus: %v %v", st, err)
	}
}

// A shell session runs sh on a pty with the preferences' shell profile, writes
// its log to S3 and CloudWatch Logs when the shell exits; an idle session ends
// after the idle timeout (scaled by TimeScale).
func TestSessionShellLogsAndIdle(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.005}) // 20 minutes idle = 6 s
	ids, err := e.AddInstances(InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	e.mu.Lock()
	e.s3.buckets["logs-bucket"] = &s3Bucket{name: "logs-bucket", region: e.opts.Region, created: time.Now(), objects: map[string]*s3Object{}}
	e.logs.groups["/sessions"] = &logGroup{name: "/sessions", streams: map[string]*logStream{}}
	e.mu.Unlock()
	cl := ssm.NewFromConfig(cfg)
	prefs := `{"schemaVersion":"1.0","sessionType":"Standard_Stream","inputs":{"s3BucketName":"logs-bucket","s3KeyPrefix":"p",
"cloudWatchLogGroupName":"/sessions","idleSessionTimeout":"20","shellProfile":{"linux":"echo profile-ran"}}}`
	if _, err := cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("SSM-SessionManagerRunShell"), DocumentType: ssmtypes.DocumentTypeSession, Content: aws.String(prefs)}); err != nil {
		t.Fatal(err)
	}
	out, err := cl.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String(ids[0])})
	if err != nil {
		t.Fatal(err)
	}
	dc := dialTestDC(t, *out.StreamUrl, *out.TokenValue)
	var seen bytes.Buffer
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !bytes.Contains(seen.Bytes(), []byte(s)) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in %q", s, seen.String())
			}
			seen.Write(dc.next(20 * time.Second).Payload)
		}
	}
	waitFor("profile-ran\r\n")
	dc.send(ptOutput, []byte("echo shell-$((6*7))\r"))
	waitFor("shell-42")
	dc.send(ptOutput, []byte("exit\r"))
	select {
	case <-dc.closed:
	case <-time.After(20 * time.Second):
		t.Fatal("no channel_closed after exit")
	}
	e.mu.Lock()
	obj := e.s3.buckets["logs-bucket"].objects["p/"+*out.SessionId+".log"]
	var cw string
	if st := e.logs.groups["/sessions"].streams[*out.SessionId]; st != nil {
		for _, ev := range st.events {
			cw += ev.msg
		}
	}
	e.mu.Unlock()
	if obj == nil || !bytes.Contains(obj.data, []byte("shell-42")) {
		t.Fatalf("S3 session log missing or without the output")
	}
	if !bytes.Contains([]byte(cw), []byte("shell-42")) {
		t.Fatalf("CloudWatch session log %q", cw)
	}

	// Idle: a session nobody types into ends as Terminated.
	idle, err := cl.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String(ids[0])})
	if err != nil {
		t.Fatal(err)
	}
	dc2 := dialTestDC(t, *idle.StreamUrl, *idle.TokenValue)
	select {
	case <-dc2.closed:
	case <-time.After(30 * time.Second):
		t.Fatal("idle session not closed")
	}
	d, err := cl.DescribeSessions(ctx, &ssm.DescribeSessionsInput{State: ssmtypes.SessionStateHistory,
		Filters: []ssmtypes.SessionFilter{{Key: ssmtypes.SessionFilterKeySessionId, Value: idle.SessionId}}})
	if err != nil || len(d.Sessions) != 1 || d.Sessions[0].Status != ssmtypes.SessionStatusTerminated {
		t.Fatalf("idle session in history: %+v %v", d, err)
	}
}
