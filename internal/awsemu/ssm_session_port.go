package awsemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/xtaci/smux"
)

// The agent's port plugin (agent/session/plugins/port: port.go, port_mux.go,
// port_basic.go). Local port forwarding multiplexes the client's TCP
// connections over the data channel with smux when both sides can: the agent
// when it is newer than 3.0.196.0 (the plugin's
// TCPMultiplexingSupportedAfterThisAgentVersion: older agents have no mux
// code), and the client when it is 1.1.70 or newer (the agent's
// muxSupportedClientVersion). Otherwise one TCP connection at a time: the
// agent dials when the session starts and again on the first data after a
// DisconnectToPort flag. smux keep-alive is off when the client is newer than
// 1.2.331.0 and the agent newer than 3.1.1511.0.

const (
	agentMuxAfter          = "3.0.196.0"
	agentKeepAliveOffAfter = "3.1.1511.0"
	clientMuxFrom          = "1.1.70"
	clientKeepAliveOffFrom = "1.2.331.0"
)

// compareVersions compares dotted numeric versions (missing parts are 0).
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// deniedRemoteIPs: the agent's default Mgs.DeniedPortForwardingRemoteIPs
// (agent/appconfig/constants.go DefaultDeniedPortForwardingRemoteIPs: instance
// metadata, Amazon DNS, time sync and other link-local service addresses).
var deniedRemoteIPs = []string{"169.254.169.254", "fd00:ec2::254", "169.254.169.253", "fd00:ec2::253",
	"169.254.169.123", "fd00:ec2::123", "169.254.169.250", "169.254.169.251", "fd00:ec2::240"}

type portProps struct {
	host, port, typ string
	addresses       []string
}

func portPropsOf(m map[string]any) portProps {
	str := func(k string) string { s, _ := m[k].(string); return s }
	return portProps{host: str("host"), port: str("portNumber"), typ: str("type")}
}

// dial connects to the destination as the agent's DialCall does: localhost
// without a host, else each resolved address in turn.
func (p portProps) dial() (net.Conn, error) {
	if p.host == "" {
		return net.Dial("tcp", net.JoinHostPort("localhost", p.port))
	}
	var first error
	for _, a := range p.addresses {
		c, err := net.Dial("tcp", net.JoinHostPort(a, p.port))
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = errors.New("missing address")
	}
	return nil, first
}

func flagPayload(f uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, f)
	return b
}

func readFlag(p []byte) uint32 {
	if len(p) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (c *dataChannel) runPort() error {
	s := c.sess
	if err := c.doHandshake("Port", s.props); err != nil {
		return err
	}
	p := portPropsOf(s.props)
	if p.port == "" {
		return agentFailf("Port number is empty in session properties. %v", s.props)
	}
	if p.host != "" {
		addrs, err := net.LookupHost(p.host)
		if err == nil {
			for _, a := range addrs {
				for _, d := range deniedRemoteIPs {
					if net.ParseIP(a).Equal(net.ParseIP(d)) {
						return agentFailf("Forwarding to IP address %s is forbidden.", p.host)
					}
				}
			}
			p.addresses = addrs
		}
	}
	cv := c.getClientVersion()
	if p.typ == "LocalPortForwarding" && compareVersions(c.agentVersion, agentMuxAfter) > 0 && compareVersions(cv, clientMuxFrom) >= 0 {
		return c.runPortMux(p, cv)
	}
	return c.runPortBasic(p)
}

func (c *dataChannel) runPortMux(p portProps, clientVersion string) error {
	agentSide, muxSide := net.Pipe()
	cfg := smux.DefaultConfig()
	if compareVersions(c.agentVersion, agentKeepAliveOffAfter) > 0 && compareVersions(clientVersion, clientKeepAliveOffFrom) > 0 {
		cfg.KeepAliveDisabled = true
	}
	srv, err := smux.Server(muxSide, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = srv.Close(); _ = agentSide.Close() }()
	c.setHandler(func(m *dcMessage) error {
		switch m.PayloadType {
		case ptOutput:
			if _, err := agentSide.Write(m.Payload); err != nil {
				return err
			}
		case ptFlag:
			if readFlag(m.Payload) == flagTerminateSession {
				go c.end(sessTerminated, "")
			}
		}
		return nil
	})
	go func() { // mux frames to the client
		buf := make([]byte, dcPacketSize)
		for {
			n, err := agentSide.Read(buf)
			if err != nil {
				return
			}
			if c.send(ptOutput, buf[:n]) != nil {
				return
			}
		}
	}()
	go func() {
		<-c.done
		_ = srv.Close()
		_ = agentSide.Close()
	}()
	for {
		st, err := srv.AcceptStream()
		if err != nil {
			return nil
		}
		go func() {
			conn, err := p.dial()
			if err != nil {
				_ = c.send(ptFlag, flagPayload(flagConnectToPortError))
				_ = st.Close()
				return
			}
			pipeBoth(st, conn)
		}()
	}
}

func pipeBoth(a, b io.ReadWriteCloser) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { _, _ = io.Copy(a, b); _ = a.Close(); wg.Done() }()
	go func() { _, _ = io.Copy(b, a); _ = b.Close(); wg.Done() }()
	wg.Wait()
}

func (c *dataChannel) runPortBasic(p portProps) error {
	var mu sync.Mutex
	cond := sync.NewCond(&mu)
	conn, err := p.dial()
	if err != nil {
		return agentFailf("Unable to connect to specified port: %v", err)
	}
	c.setHandler(func(m *dcMessage) error {
		switch m.PayloadType {
		case ptOutput:
			mu.Lock()
			if conn == nil {
				nc, err := p.dial()
				if err != nil {
					mu.Unlock()
					go c.end(sessFailed, fmt.Sprintf("Unable to connect to specified port: %v", err))
					return err
				}
				conn = nc
				cond.Broadcast()
			}
			cur := conn
			mu.Unlock()
			_, _ = cur.Write(m.Payload)
		case ptFlag:
			switch readFlag(m.Payload) {
			case flagDisconnectToPort:
				mu.Lock()
				if conn != nil {
					_ = conn.Close()
					conn = nil
				}
				mu.Unlock()
			case flagTerminateSession:
				go c.end(sessTerminated, "")
			}
		}
		return nil
	})
	go func() {
		<-c.done
		mu.Lock()
		if conn != nil {
			_ = conn.Close()
		}
		cond.Broadcast()
		mu.Unlock()
	}()
	buf := make([]byte, dcPacketSize)
	for {
		mu.Lock()
		for conn == nil && !c.isClosed() {
			cond.Wait()
		}
		cur := conn
		mu.Unlock()
		if c.isClosed() {
			return nil
		}
		n, readFailed := readSome(cur, buf)
		if n > 0 {
			if err := c.send(ptOutput, buf[:n]); err != nil {
				return err // the session has ended: run's end is a no-op
			}
		}
		if readFailed {
			_ = cur.Close()
			if p.typ != "LocalPortForwarding" {
				// AWS-StartSSHSession and other stream forwarding: the session ends with the connection.
				c.end(sessTerminated, "")
				return nil
			}
			mu.Lock()
			if conn == cur {
				conn = nil
			}
			mu.Unlock()
		}
	}
}

func (c *dataChannel) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// agentFailure is a message the agent reports verbatim (its capitalisation and
// punctuation are the agent's) when a plugin cannot start.
type agentFailure string

func (a agentFailure) Error() string { return string(a) }

func agentFailf(format string, args ...any) error { return agentFailure(fmt.Sprintf(format, args...)) }

// readSome reads once; failed reports an error or the end of the connection.
func readSome(r io.Reader, buf []byte) (n int, failed bool) {
	n, err := r.Read(buf)
	return n, err != nil
}
