package awsemu

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The agent's end of a session's data channel (agent/session/datachannel in
// amazon-ssm-agent): output_stream_data messages numbered from 0, kept until
// the client acknowledges them and sent again after a timeout or a
// reconnection; input_stream_data delivered in sequence order, acknowledged
// (again when repeated), buffered when early, and left unacknowledged while
// the plugin is not ready so that the client sends it again.

var errNotReady = errors.New("handler not ready")

const (
	dcPacketSize    = 1024 // mgsConfig.StreamDataPayloadSize
	dcWindow        = 2000 // unacknowledged output messages before the sender waits
	dcResendAfter   = 1 * time.Second
	dcInBufCapacity = 10000
)

type dcPending struct {
	seq  int64
	raw  []byte
	sent time.Time
}

type dataChannel struct {
	e            *Emulator
	sess         *ssmSession
	agentVersion string

	mu            sync.Mutex
	cond          *sync.Cond
	conn          *websocket.Conn
	wmu           sync.Mutex // serializes writes to conn
	nextSeq       int64
	unacked       []*dcPending
	expected      int64
	inbuf         map[int64]*dcMessage
	closed        bool
	closeOutput   string
	clientVersion string
	handler       func(m *dcMessage) error
	lastActivity  time.Time
	attached      chan struct{}
	attachOnce    sync.Once
	done          chan struct{}
	handshake     chan *dcHandshakeResponse
}

func newDataChannel(e *Emulator, s *ssmSession, agentVersion string) *dataChannel {
	c := &dataChannel{e: e, sess: s, agentVersion: agentVersion, inbuf: map[int64]*dcMessage{},
		attached: make(chan struct{}), done: make(chan struct{}), handshake: make(chan *dcHandshakeResponse, 1),
		lastActivity: time.Now()}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// serveDataChannel upgrades a stream URL request and attaches the WebSocket to
// its session once the client's token checks out.
func (e *Emulator) serveDataChannel(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, DataChannelPath)
	e.mu.Lock()
	s := e.ssm.sessions[id]
	e.mu.Unlock()
	if s == nil {
		http.Error(w, "session not found", http.StatusNotFound)
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	mt, first, err := conn.ReadMessage()
	var open dcOpenDataChannel
	if err != nil || mt != websocket.TextMessage || json.Unmarshal(first, &open) != nil {
		_ = conn.Close()
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	e.mu.Lock()
	ok := s.active() && open.TokenValue != "" && open.TokenValue == s.token
	if ok {
		s.Status = sessConnected
	}
	e.mu.Unlock()
	if !ok {
		_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "invalid token"))
		_ = conn.Close()
		return
	}
	e.count("ssmmessages", "OpenDataChannel")
	s.ch.attach(conn, open.ClientVersion)
}

// attach makes conn the channel's WebSocket, resends what is unacknowledged and
// reads from it until it drops.
func (c *dataChannel) attach(conn *websocket.Conn, clientVersion string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = conn.Close()
		return
	}
	if old := c.conn; old != nil {
		_ = old.Close()
	}
	c.conn = conn
	if c.clientVersion == "" {
		c.clientVersion = clientVersion
	}
	// The unacknowledged output goes first, in order: hold the write lock
	// before new output can reach the new socket.
	c.wmu.Lock()
	for _, p := range c.unacked {
		p.sent = time.Now()
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := conn.WriteMessage(websocket.BinaryMessage, p.raw); err != nil {
			_ = conn.Close()
			break
		}
	}
	c.wmu.Unlock()
	c.mu.Unlock()
	c.attachOnce.Do(func() { close(c.attached) })
	c.cond.Broadcast()
	c.readLoop(conn)
}

func (c *dataChannel) write(conn *websocket.Conn, raw []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := conn.WriteMessage(websocket.BinaryMessage, raw); err != nil {
		_ = conn.Close()
	}
}

func (c *dataChannel) readLoop(conn *websocket.Conn) {
	defer func() {
		_ = conn.Close()
		c.mu.Lock()
		dropped := c.conn == conn && !c.closed
		if c.conn == conn {
			c.conn = nil
		}
		c.mu.Unlock()
		if dropped {
			c.e.mu.Lock()
			if c.sess.Status == sessConnected {
				c.sess.Status = sessDisconnect
			}
			c.e.mu.Unlock()
		}
	}()
	for {
		mt, raw, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if mt != websocket.BinaryMessage {
			continue
		}
		m, err := decodeDCMessage(raw)
		if err != nil {
			continue // the agent logs and drops a message it cannot parse
		}
		switch m.MessageType {
		case dcAcknowledge:
			var ack dcAckContent
			if json.Unmarshal(m.Payload, &ack) == nil {
				c.acknowledged(ack.SequenceNumber)
			}
		case dcInputStreamData:
			c.input(conn, m)
		}
	}
}

func (c *dataChannel) acknowledged(seq int64) {
	c.mu.Lock()
	for i, p := range c.unacked {
		if p.seq == seq {
			c.unacked = append(c.unacked[:i], c.unacked[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	c.cond.Broadcast()
}

func (c *dataChannel) ack(conn *websocket.Conn, m *dcMessage) {
	a := dcMessage{MessageType: dcAcknowledge, SchemaVersion: 1, CreatedDate: nowMillis(), Flags: 3, MessageID: newMessageID(),
		Payload: sessionJSON(dcAckContent{MessageType: m.MessageType, MessageID: uuidString(m.MessageID), SequenceNumber: m.SequenceNumber, IsSequentialMessage: true})}
	c.write(conn, a.encode())
}

// input handles one input_stream_data message as the agent's
// handleStreamDataMessage does.
func (c *dataChannel) input(conn *websocket.Conn, m *dcMessage) {
	c.mu.Lock()
	expected := c.expected
	c.mu.Unlock()
	switch {
	case m.SequenceNumber == expected:
		if err := c.process(m); errors.Is(err, errNotReady) {
			return
		}
		c.ack(conn, m)
		c.mu.Lock()
		c.expected++
		for {
			next, ok := c.inbuf[c.expected]
			if !ok {
				break
			}
			delete(c.inbuf, c.expected)
			c.mu.Unlock()
			if err := c.process(next); errors.Is(err, errNotReady) {
				c.mu.Lock()
				c.inbuf[next.SequenceNumber] = next
				break
			}
			c.mu.Lock()
			c.expected++
		}
		c.mu.Unlock()
	case m.SequenceNumber > expected:
		c.mu.Lock()
		room := len(c.inbuf) < dcInBufCapacity
		if room {
			c.inbuf[m.SequenceNumber] = m
		}
		c.mu.Unlock()
		if room {
			c.ack(conn, m)
		}
	default:
		c.ack(conn, m)
	}
}

func (c *dataChannel) process(m *dcMessage) error {
	c.mu.Lock()
	c.lastActivity = time.Now()
	h := c.handler
	c.mu.Unlock()
	if m.PayloadType == ptHandshakeResponse {
		var r dcHandshakeResponse
		if json.Unmarshal(m.Payload, &r) == nil {
			c.mu.Lock()
			if r.ClientVersion != "" {
				c.clientVersion = r.ClientVersion
			}
			c.mu.Unlock()
			select {
			case c.handshake <- &r:
			default:
			}
		}
		return nil
	}
	if h == nil {
		return errNotReady
	}
	return h(m)
}

func (c *dataChannel) setHandler(h func(m *dcMessage) error) {
	c.mu.Lock()
	c.handler = h
	c.mu.Unlock()
}

// send queues one output_stream_data message, waiting while the client has too
// many unacknowledged.
func (c *dataChannel) send(payloadType uint32, payload []byte) error {
	c.mu.Lock()
	for !c.closed && len(c.unacked) >= dcWindow {
		c.cond.Wait()
	}
	if c.closed {
		c.mu.Unlock()
		return errors.New("session closed")
	}
	if payloadType == ptOutput {
		c.lastActivity = time.Now()
	}
	m := dcMessage{MessageType: dcOutputStreamData, SchemaVersion: 1, CreatedDate: nowMillis(), SequenceNumber: c.nextSeq,
		MessageID: newMessageID(), PayloadType: payloadType, Payload: append([]byte(nil), payload...)}
	c.nextSeq++
	p := &dcPending{seq: m.SequenceNumber, raw: m.encode(), sent: time.Now()}
	c.unacked = append(c.unacked, p)
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		c.write(conn, p.raw)
	}
	return nil
}

// close ends the channel: the client gets channel_closed (with output, as the
// Message Gateway Service sends it) and the plugin stops.
func (c *dataChannel) close(output string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.closeOutput = output
	conn := c.conn
	c.mu.Unlock()
	c.cond.Broadcast()
	close(c.done)
	if conn != nil {
		m := dcMessage{MessageType: dcChannelClosed, SchemaVersion: 1, CreatedDate: nowMillis(), MessageID: newMessageID(),
			Payload: sessionJSON(dcChannelClosedPayload{MessageID: uuidString(newMessageID()), CreatedDate: time.Now().UTC().Format(time.RFC3339),
				SessionID: c.sess.ID, MessageType: dcChannelClosed, SchemaVersion: 1, Output: output})}
		go func() {
			c.write(conn, m.encode())
			time.Sleep(200 * time.Millisecond)
			c.wmu.Lock()
			_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			c.wmu.Unlock()
			_ = conn.Close()
		}()
	}
}

// end finishes the session from the agent's side (plugin done, idle, limit).
func (c *dataChannel) end(status, output string) {
	c.e.mu.Lock()
	c.e.endSessionLocked(c.sess, status, output)
	c.e.mu.Unlock()
}

// run is the agent: it waits for the client, does the handshake the plugin
// needs, starts the plugin, and enforces the idle and maximum session times.
func (c *dataChannel) run() {
	go c.resendLoop()
	select {
	case <-c.attached:
	case <-c.done:
		return
	case <-time.After(c.e.scaled(10 * time.Minute)):
		// GUESS: a session nobody connects to ends after ten minutes.
		c.end(sessTerminated, "")
		return
	}
	s := c.sess
	// The agent opens the session's data channel with its instance role.
	c.e.mu.Lock()
	dataOK := c.e.agentMayLocked(s.Target, "ssmmessages:CreateDataChannel", "*") && c.e.agentMayLocked(s.Target, "ssmmessages:OpenDataChannel", "*")
	c.e.mu.Unlock()
	if !dataOK {
		c.end(sessFailed, "Setting up data channel with id "+s.ID+" failed: AccessDeniedException")
		return
	}
	go c.timeouts()
	var err error
	switch s.sessType {
	case "Port":
		err = c.runPort()
	case "Standard_Stream", "InteractiveCommands":
		err = c.runShell()
	default:
		err = errors.New("unsupported session type " + s.sessType)
	}
	if err != nil {
		c.end(sessFailed, err.Error())
	}
}

// doHandshake sends the handshake request for the session type and waits for
// the client's response, then completes it (agent datachannel.PerformHandshake).
func (c *dataChannel) doHandshake(sessionType string, props any) error {
	start := time.Now()
	req := dcHandshakeRequest{AgentVersion: c.agentVersion, RequestedClientActions: []dcRequestAction{{
		ActionType: "SessionType", ActionParameters: dcSessionTypeRequest{SessionType: sessionType, Properties: props}}}}
	if err := c.send(ptHandshakeRequest, sessionJSON(req)); err != nil {
		return err
	}
	select {
	case r := <-c.handshake:
		if len(r.Errors) > 0 {
			return errors.New("handshake failed: " + strings.Join(r.Errors, "; "))
		}
	case <-c.done:
		return errors.New("session closed during handshake")
	case <-time.After(c.e.scaled(1500 * time.Second)):
		return errors.New("handshake timed out")
	}
	return c.send(ptHandshakeComplete, sessionJSON(dcHandshakeComplete{HandshakeTimeToComplete: time.Since(start)}))
}

func (c *dataChannel) resendLoop() {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		c.mu.Lock()
		conn := c.conn
		var again [][]byte
		now := time.Now()
		for _, p := range c.unacked {
			if now.Sub(p.sent) >= dcResendAfter {
				p.sent = now
				again = append(again, p.raw)
			}
		}
		c.mu.Unlock()
		if conn != nil {
			for _, raw := range again {
				c.write(conn, raw)
			}
		}
	}
}

// timeouts ends the session after the preferences' idle timeout without data
// and after their maximum session duration.
func (c *dataChannel) timeouts() {
	p := c.sess.prefs
	idle := c.e.scaled(time.Duration(p.IdleSessionTimeout) * time.Minute)
	var maxC <-chan time.Time
	if p.MaxSessionDuration > 0 {
		maxC = time.After(c.e.scaled(time.Duration(p.MaxSessionDuration) * time.Minute))
	}
	tick := time.NewTicker(idle/10 + time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-maxC:
			c.end(sessTerminated, "Session exceeded the maximum session duration.")
			return
		case <-tick.C:
			c.mu.Lock()
			last := c.lastActivity
			c.mu.Unlock()
			if time.Since(last) >= idle {
				c.end(sessTerminated, "Your session timed out due to inactivity and has been terminated.")
				return
			}
		}
	}
}

func (c *dataChannel) getClientVersion() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clientVersion
}
