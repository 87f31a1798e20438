package ssmsession

import (
	"strconv"
	"strings"
)

// ClientVersion is the client version this engine reports in the token
// handshake and the handshake response. The agent chooses its port-forwarding mode
// from it: smux from client 1.1.70, smux keep-alive disabled after 1.2.331.0. The
// engine behaves as plugin versions after 1.2.331.0 do, so it reports one.
const ClientVersion = "1.2.650.0"

// Agent versions that change what the client does.
const (
	// MuxAfterAgentVersion: agents newer than this multiplex TCP connections
	// with smux; older ones carry one connection at a time.
	MuxAfterAgentVersion = "3.0.196.0"
	// smuxKeepAliveOffAfterAgentVersion: agents newer than this run smux with
	// keep-alive disabled, and so does the client.
	smuxKeepAliveOffAfterAgentVersion = "3.1.1511.0"
	// PortForwardingMinAgentVersion is the oldest agent that can forward ports.
	PortForwardingMinAgentVersion = "2.3.672.0"
	// RemoteHostMinAgentVersion is the oldest agent that runs
	// AWS-StartPortForwardingSessionToRemoteHost.
	RemoteHostMinAgentVersion = "3.1.1374.0"
)

// CompareVersions compares dotted numeric versions: -1, 0 or 1. ok is false
// when either is not a dotted list of numbers.
func CompareVersions(a, b string) (cmp int, ok bool) {
	pa, oka := versionParts(a)
	pb, okb := versionParts(b)
	if !oka || !okb {
		return 0, false
	}
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

func versionParts(v string) ([]int, bool) {
	if v == "" {
		return nil, false
	}
	fs := strings.Split(v, ".")
	out := make([]int, len(fs))
	for i, f := range fs {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// newerThan reports whether version v is strictly newer than base; an
// unparseable version is not.
func newerThan(v, base string) bool {
	c, ok := CompareVersions(v, base)
	return ok && c > 0
}
