package ssmsession

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// Data channel tuning, as the plugin's config package sets it.
const (
	streamPayloadSize    = 1024
	resendInterval       = 100 * time.Millisecond
	resendMaxAttempts    = 3000 // five minutes of resends at resendInterval
	defaultRTT           = 100 * time.Millisecond
	defaultRTO           = 200 * time.Millisecond
	maxRTO               = time.Second
	clockGranularity     = 10 * time.Millisecond
	incomingBufferCap    = 10000
	reconnectAttempts    = 5
	reconnectBaseBackoff = 100 * time.Millisecond
	reconnectMaxBackoff  = 5 * time.Second
	// sendWindow bounds the messages sent and not yet acknowledged; a sender
	// blocks beyond it instead of dropping the oldest as the plugin's buffer does.
	sendWindow = 2048
)

// ChannelClosedError is a channel_closed message from the service: the session
// ended on the far side.
type ChannelClosedError struct {
	SessionID string
	Output    string
}

func (e *ChannelClosedError) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("session %s was closed by Session Manager", e.SessionID)
	}
	return fmt.Sprintf("session %s was closed by Session Manager: %s", e.SessionID, e.Output)
}

// ErrSessionEnded is returned by a resume that the service answered without a
// token: the session timed out or was terminated.
var ErrSessionEnded = errors.New("the session ended (ResumeSession returned no token)")

type pending struct {
	seq      int64
	raw      []byte
	lastSent time.Time
	attempts int
}

// channel is one session's data channel: it survives WebSocket drops by
// resuming and retransmitting what the peer has not acknowledged.
type channel struct {
	url       string
	clientID  string
	sessionID string
	resume    func(ctx context.Context) (string, error)
	dialer    *websocket.Dialer
	onStream  func(m *Message) error // in-order stream messages, on the read goroutine

	wmu sync.Mutex // one writer on the WebSocket at a time
	smu sync.Mutex // keeps sequence order and write order the same

	mu         sync.Mutex
	token      string
	ws         *websocket.Conn
	outSeq     int64
	unacked    map[int64]*pending
	order      []int64 // sequence numbers of unacked, ascending
	srtt       float64
	rttvar     float64
	rto        time.Duration
	inExpected int64
	inBuf      map[int64]*Message
	resumes    int
	resends    int

	window chan struct{}
	// life ends when the channel does (finish, after err is set): Done, the
	// loops and the reconnect pauses wait on it.
	life      context.Context
	end       context.CancelFunc
	closeOnce sync.Once
	err       error
}

func newChannel(url, token, clientID, sessionID string, resume func(context.Context) (string, error)) *channel {
	life, end := context.WithCancel(context.Background())
	return &channel{
		url:       url,
		token:     token,
		clientID:  clientID,
		sessionID: sessionID,
		resume:    resume,
		dialer:    &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 30 * time.Second},
		unacked:   map[int64]*pending{},
		inBuf:     map[int64]*Message{},
		srtt:      float64(defaultRTT),
		rto:       defaultRTO,
		window:    make(chan struct{}, sendWindow),
		life:      life,
		end:       end,
	}
}

// open dials the stream URL, presents the token and starts the read and resend
// loops.
func (c *channel) open(ctx context.Context) error {
	ws, err := c.connect(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ws = ws
	c.mu.Unlock()
	go c.readLoop(ws)
	go c.resendLoop()
	return nil
}

func (c *channel) connect(ctx context.Context) (*websocket.Conn, error) {
	ws, resp, err := c.dialer.DialContext(ctx, c.url, nil)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("opening the data channel WebSocket: %w", err)
	}
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	in, err := json.Marshal(openDataChannelInput{
		MessageSchemaVersion: "1.0",
		RequestID:            uuid.NewString(),
		TokenValue:           token,
		ClientID:             c.clientID,
		ClientVersion:        ClientVersion,
	})
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	c.wmu.Lock()
	err = ws.WriteMessage(websocket.TextMessage, in)
	c.wmu.Unlock()
	if err != nil {
		_ = ws.Close()
		return nil, fmt.Errorf("sending the session token: %w", err)
	}
	return ws, nil
}

// Done is closed when the channel has ended; Err says why.
func (c *channel) Done() <-chan struct{} { return c.life.Done() }

func (c *channel) Err() error {
	<-c.life.Done()
	return c.err
}

func (c *channel) finish(err error) {
	c.closeOnce.Do(func() {
		c.err = err
		c.end()
		c.mu.Lock()
		ws := c.ws
		c.mu.Unlock()
		if ws != nil {
			c.wmu.Lock()
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			c.wmu.Unlock()
			_ = ws.Close()
		}
	})
}

func (c *channel) write(raw []byte) {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	if ws == nil {
		return
	}
	c.wmu.Lock()
	err := ws.WriteMessage(websocket.BinaryMessage, raw)
	c.wmu.Unlock()
	if err != nil {
		// The read loop sees the same broken connection and resumes; what was not
		// acknowledged is sent again then.
		_ = ws.Close()
	}
}

// send frames payload as the next input_stream_data message, keeps it until the
// peer acknowledges it, and writes it.
func (c *channel) send(ctx context.Context, pt PayloadType, payload []byte) error {
	select {
	case c.window <- struct{}{}:
	case <-c.life.Done():
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
	c.smu.Lock()
	defer c.smu.Unlock()
	c.mu.Lock()
	m := &Message{
		Type:          TypeInputStreamData,
		SchemaVersion: 1,
		CreatedDate:   time.Now(),
		Sequence:      c.outSeq,
		ID:            uuid.New(),
		PayloadType:   pt,
		Payload:       payload,
	}
	raw, err := m.Marshal()
	if err != nil {
		c.mu.Unlock()
		<-c.window
		return err
	}
	c.unacked[m.Sequence] = &pending{seq: m.Sequence, raw: raw, lastSent: time.Now()}
	c.order = append(c.order, m.Sequence)
	c.outSeq++
	c.mu.Unlock()
	c.write(raw)
	return nil
}

func (c *channel) sendAck(m *Message) {
	content, _ := json.Marshal(acknowledgeContent{
		MessageType:         m.Type,
		MessageID:           m.ID.String(),
		SequenceNumber:      m.Sequence,
		IsSequentialMessage: true,
	})
	ack := &Message{
		Type:          TypeAcknowledge,
		SchemaVersion: 1,
		CreatedDate:   time.Now(),
		Flags:         3,
		ID:            uuid.New(),
		Payload:       content,
	}
	raw, err := ack.Marshal()
	if err == nil {
		c.write(raw)
	}
}

func (c *channel) readLoop(ws *websocket.Conn) {
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			select {
			case <-c.life.Done():
				return
			default:
			}
			if ws, err = c.reconnect(); err != nil {
				c.finish(err)
				return
			}
			continue
		}
		if kind != websocket.BinaryMessage {
			continue
		}
		if err := c.handle(data); err != nil {
			c.finish(err)
			return
		}
	}
}

// reconnect resumes the session (a fresh token from ResumeSession), dials the
// same stream URL again and resends everything not yet acknowledged.
func (c *channel) reconnect() (*websocket.Conn, error) {
	pauses := poll.Backoff{Interval: reconnectBaseBackoff, Max: reconnectMaxBackoff, Factor: 2}
	var last error
	for attempt := 0; attempt < reconnectAttempts; attempt++ {
		if attempt > 0 {
			if poll.Sleep(c.life, pauses.Next()) != nil {
				return nil, c.err
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		token, err := c.resume(ctx)
		if err != nil {
			cancel()
			last = fmt.Errorf("resuming session %s: %w", c.sessionID, err)
			continue
		}
		if token == "" {
			cancel()
			return nil, ErrSessionEnded
		}
		c.mu.Lock()
		c.token = token
		c.mu.Unlock()
		ws, err := c.connect(ctx)
		cancel()
		if err != nil {
			last = err
			continue
		}
		c.mu.Lock()
		c.ws = ws
		c.resumes++
		raws := make([][]byte, 0, len(c.order))
		for _, seq := range c.order {
			p := c.unacked[seq]
			p.lastSent = time.Now()
			raws = append(raws, p.raw)
		}
		c.mu.Unlock()
		for _, raw := range raws {
			c.write(raw)
		}
		return ws, nil
	}
	return nil, last
}

func (c *channel) handle(data []byte) error {
	m, ok := parseOrDrop(data)
	if !ok {
		// A corrupt message is not acknowledged; the peer sends it again.
		return nil
	}
	switch m.Type {
	case TypeAcknowledge:
		var a acknowledgeContent
		if err := json.Unmarshal(m.Payload, &a); err == nil {
			c.acknowledged(a.SequenceNumber)
		}
	case TypeOutputStreamData:
		return c.streamMessage(m)
	case TypeChannelClosed:
		var cc channelClosed
		_ = json.Unmarshal(m.Payload, &cc)
		return &ChannelClosedError{SessionID: c.sessionID, Output: cc.Output}
	}
	return nil
}

func (c *channel) acknowledged(seq int64) {
	c.mu.Lock()
	p, ok := c.unacked[seq]
	if !ok {
		c.mu.Unlock()
		return
	}
	delete(c.unacked, seq)
	for i, s := range c.order {
		if s == seq {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	if p.attempts == 0 {
		// Karn: only first transmissions measure the round trip.
		rtt := float64(time.Since(p.lastSent))
		c.rttvar = 0.75*c.rttvar + 0.25*math.Abs(c.srtt-rtt)
		c.srtt = 0.875*c.srtt + 0.125*rtt
		c.rto = min(time.Duration(c.srtt+math.Max(float64(clockGranularity), 4*c.rttvar)), maxRTO)
	}
	c.mu.Unlock()
	<-c.window
}

// streamMessage delivers stream messages in sequence order, buffering those that
// arrive early and acknowledging each one it keeps.
func (c *channel) streamMessage(m *Message) error {
	c.mu.Lock()
	expected := c.inExpected
	c.mu.Unlock()
	switch {
	case m.Sequence < expected:
		// Already delivered: the peer missed our acknowledgement.
		c.sendAck(m)
		return nil
	case m.Sequence > expected:
		c.mu.Lock()
		if len(c.inBuf) < incomingBufferCap {
			c.inBuf[m.Sequence] = m
			c.mu.Unlock()
			c.sendAck(m)
			return nil
		}
		c.mu.Unlock()
		return nil
	}
	if err := c.onStream(m); err != nil {
		return err
	}
	c.sendAck(m)
	for {
		c.mu.Lock()
		c.inExpected++
		next, ok := c.inBuf[c.inExpected]
		if ok {
			delete(c.inBuf, c.inExpected)
		}
		c.mu.Unlock()
		if !ok {
			return nil
		}
		if err := c.onStream(next); err != nil {
			return err
		}
	}
}

func (c *channel) resendLoop() {
	t := time.NewTicker(resendInterval)
	defer t.Stop()
	for {
		select {
		case <-c.life.Done():
			return
		case <-t.C:
		}
		var raws [][]byte
		c.mu.Lock()
		now := time.Now()
		for _, seq := range c.order {
			p := c.unacked[seq]
			if now.Sub(p.lastSent) <= c.rto {
				continue
			}
			if p.attempts >= resendMaxAttempts {
				c.mu.Unlock()
				c.finish(fmt.Errorf("session %s: message %d was not acknowledged after %d resends", c.sessionID, seq, resendMaxAttempts))
				return
			}
			p.attempts++
			p.lastSent = now
			c.resends++
			raws = append(raws, p.raw)
			if len(raws) == 64 {
				break
			}
		}
		c.mu.Unlock()
		for _, raw := range raws {
			c.write(raw)
		}
	}
}

// dropConnection closes the WebSocket under the channel, as a network fault
// would; the read loop resumes. Tests use it.
func (c *channel) dropConnection() {
	c.mu.Lock()
	ws := c.ws
	c.mu.Unlock()
	if ws != nil {
		_ = ws.UnderlyingConn().Close()
	}
}

// parseOrDrop parses a message, reporting only whether it was well formed.
func parseOrDrop(data []byte) (*Message, bool) {
	m, err := ParseMessage(data)
	return m, err == nil
}
