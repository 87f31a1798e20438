package ssmsession

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/xtaci/smux"
)

// PortSpec says what to forward.
type PortSpec struct {
	// Target is the managed instance id.
	Target string
	// RemotePort is the port to reach on the instance or, with RemoteHost, on
	// that host through the instance.
	RemotePort int
	// RemoteHost, when set, uses AWS-StartPortForwardingSessionToRemoteHost.
	RemoteHost string
	// LocalAddress is the loopback address to listen on; "127.0.0.1:0" when empty
	// (a free port). Anything not loopback is refused.
	LocalAddress string
	// Reason is recorded with the session.
	Reason string
}

// Forwarder is an open port-forwarding session with its local listener.
type Forwarder struct {
	s        *session
	target   string
	ln       net.Listener
	mode     Mode
	mux      *smux.Session
	pipe     net.Conn // agent end of the pipe smux runs over
	refused  atomic.Int64
	flagSeen chan struct{}
	closing  atomic.Bool
	once     sync.Once
	closeErr error

	basicMu   sync.Mutex
	basicConn net.Conn
}

// ErrNotLoopback refuses a local address that is not loopback.
var ErrNotLoopback = errors.New("the local address must be a loopback address")

// StartPortForwarding starts a port session, waits for the agent's handshake,
// listens on the loopback address and, with a multiplexing agent, proves the
// tunnel carries bytes by opening and closing one connection to the remote port.
// On any failure the session is terminated.
func StartPortForwarding(ctx context.Context, api SSMAPI, spec PortSpec) (*Forwarder, error) {
	local := spec.LocalAddress
	if local == "" {
		local = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(local)
	if err != nil {
		return nil, fmt.Errorf("local address %q: %w", local, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%w, not %q", ErrNotLoopback, host)
	}
	in := &ssm.StartSessionInput{
		Target:       aws.String(spec.Target),
		DocumentName: aws.String(DocumentPortForwarding),
		Parameters:   map[string][]string{"portNumber": {strconv.Itoa(spec.RemotePort)}},
	}
	if spec.RemoteHost != "" {
		in.DocumentName = aws.String(DocumentPortForwardingRemoteHost)
		in.Parameters["host"] = []string{spec.RemoteHost}
	}
	if spec.Reason != "" {
		in.Reason = aws.String(spec.Reason)
	}
	// Listen first: a busy local port fails before a session exists.
	ln, err := net.Listen("tcp", local)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", local, err)
	}
	s, err := startSession(ctx, api, in)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	f := &Forwarder{s: s, target: spec.Target, ln: ln, flagSeen: make(chan struct{}, 1)}
	fail := func(err error) (*Forwarder, error) {
		_ = f.Close()
		return nil, err
	}
	if err := s.waitHandshake(ctx); err != nil {
		return fail(err)
	}
	if s.props.Type == "LocalPortForwarding" && newerThan(s.agentVersion(), MuxAfterAgentVersion) {
		if err := f.startMux(); err != nil {
			return fail(err)
		}
	} else {
		f.mode = ModeBasic
		s.setPort(f)
	}
	if f.mode == ModeMux {
		if err := f.probe(ctx, spec); err != nil {
			return fail(err)
		}
	}
	go f.accept()
	go func() {
		// The session ended on the far side: stop taking connections.
		<-s.ch.Done()
		_ = f.ln.Close()
	}()
	return f, nil
}

// Addr is the local listener's address.
func (f *Forwarder) Addr() *net.TCPAddr {
	if a, ok := f.ln.Addr().(*net.TCPAddr); ok {
		return a
	}
	return &net.TCPAddr{}
}

// SessionID is the Session Manager session id.
func (f *Forwarder) SessionID() string { return f.s.id }

// Mode is how connections are carried.
func (f *Forwarder) Mode() Mode { return f.mode }

// AgentVersion is the version the agent reported in the handshake.
func (f *Forwarder) AgentVersion() string { return f.s.agentVersion() }

// Done is closed when the session has ended, by Close or on the far side.
func (f *Forwarder) Done() <-chan struct{} { return f.s.ch.Done() }

// Err says why the session ended, once Done is closed.
func (f *Forwarder) Err() error { return f.s.ch.Err() }

// Stats are counters for tests and benchmarks.
type Stats struct {
	Resumes int
	Resends int
}

// Stats returns the data channel's counters.
func (f *Forwarder) Stats() Stats {
	f.s.ch.mu.Lock()
	defer f.s.ch.mu.Unlock()
	return Stats{Resumes: f.s.ch.resumes, Resends: f.s.ch.resends}
}

// Close stops listening, terminates the session with TerminateSession and closes
// the data channel. Connections in flight are cut.
func (f *Forwarder) Close() error {
	f.once.Do(func() {
		f.closing.Store(true)
		_ = f.ln.Close()
		f.closeErr = f.s.terminate()
		if f.mux != nil {
			_ = f.mux.Close()
		}
		if f.pipe != nil {
			_ = f.pipe.Close()
		}
		f.basicMu.Lock()
		if f.basicConn != nil {
			_ = f.basicConn.Close()
		}
		f.basicMu.Unlock()
	})
	return f.closeErr
}

func (f *Forwarder) startMux() error {
	local, agent := net.Pipe()
	cfg := smux.DefaultConfig()
	if newerThan(f.s.agentVersion(), smuxKeepAliveOffAfterAgentVersion) {
		cfg.KeepAliveDisabled = true
	}
	ms, err := smux.Client(local, cfg)
	if err != nil {
		return err
	}
	f.mode, f.mux, f.pipe = ModeMux, ms, agent
	f.s.setPort(f)
	go f.pumpToAgent()
	return nil
}

// pumpToAgent sends what smux writes as Output messages of at most 1024 bytes.
func (f *Forwarder) pumpToAgent() {
	buf := make([]byte, streamPayloadSize)
	for {
		n, err := f.pipe.Read(buf)
		if n > 0 {
			p := make([]byte, n)
			copy(p, buf[:n])
			if f.s.ch.send(context.Background(), PayloadOutput, p) != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// output is a payload from the agent.
func (f *Forwarder) output(p []byte) error {
	if f.mode == ModeMux {
		if _, err := f.pipe.Write(p); err != nil && !f.closing.Load() {
			return fmt.Errorf("session %s: writing to the stream multiplexer: %w", f.s.id, err)
		}
		return nil
	}
	f.basicMu.Lock()
	c := f.basicConn
	f.basicMu.Unlock()
	if c != nil {
		_, _ = c.Write(p) // a closed local connection drops what was still on its way
	}
	return nil
}

func (f *Forwarder) flag(fl Flag) {
	if fl == FlagConnectToPortError {
		f.refused.Add(1)
		select {
		case f.flagSeen <- struct{}{}:
		default:
		}
	}
}

// ConnectErrors counts the agent's "could not connect to the port" flags.
func (f *Forwarder) ConnectErrors() int64 { return f.refused.Load() }

// probe opens one stream and half-closes it. The agent dials the remote port for
// it: on failure it sends the ConnectToPortError flag and then closes the
// stream; on success it closes the stream once our side has ended. Either way
// the stream's end arrives after any flag.
func (f *Forwarder) probe(ctx context.Context, spec PortSpec) error {
	st, err := f.mux.OpenStream()
	if err != nil {
		return fmt.Errorf("session %s: opening a probe stream: %w", f.s.id, err)
	}
	defer st.Close()
	if err := st.CloseWrite(); err != nil {
		return fmt.Errorf("session %s: closing the probe stream: %w", f.s.id, err)
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, st)
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	case <-f.s.ch.Done():
		return f.s.ch.Err()
	}
	if f.refused.Load() > 0 {
		return &RemotePortRefusedError{SessionID: f.s.id, Host: spec.RemoteHost, Port: strconv.Itoa(spec.RemotePort)}
	}
	return nil
}

func (f *Forwarder) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		if f.mode == ModeMux {
			st, err := f.mux.OpenStream()
			if err != nil {
				_ = c.Close()
				continue
			}
			go splice(c, st)
			continue
		}
		f.serveBasic(c)
	}
}

// serveBasic carries one connection; the next waits in the listen queue. When
// the local side ends, the agent is told to drop its connection to the port; it
// dials again on the next bytes.
func (f *Forwarder) serveBasic(c net.Conn) {
	f.basicMu.Lock()
	f.basicConn = c
	f.basicMu.Unlock()
	buf := make([]byte, streamPayloadSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			p := make([]byte, n)
			copy(p, buf[:n])
			if f.s.ch.send(context.Background(), PayloadOutput, p) != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	f.basicMu.Lock()
	f.basicConn = nil
	f.basicMu.Unlock()
	_ = c.Close()
	if !f.closing.Load() {
		_ = f.s.ch.send(context.Background(), PayloadFlag, FlagPayload(FlagDisconnectToPort))
	}
}

func splice(a net.Conn, b *smux.Stream) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(b, a)
		_ = b.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(a, b)
		if tc, ok := a.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	wg.Wait()
	_ = a.Close()
	_ = b.Close()
}

// Target is the instance the session runs on.
func (f *Forwarder) Target() string { return f.target }
