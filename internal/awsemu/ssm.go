package awsemu

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ssmState is the SSM side of the emulator: documents, commands and their
// invocations. It is guarded by e.mu like everything else; the runner goroutines
// of one state take e.mu for every change and stop when closed is set.
type ssmState struct {
	docs     map[string]*ssmDocument // custom (account-owned) documents by name
	commands map[string]*ssmCommand
	order    []*ssmCommand          // in send order
	settings map[string]*ssmSetting // customised service settings by id

	sessions     map[string]*ssmSession // Session Manager sessions (ssm_session.go)
	sessionOrder []*ssmSession

	closed bool
	stopCh chan struct{} // closed by cancelAllLocked

	// Host-process accounting (atomics: read by tests without e.mu).
	procRunning atomic.Int64
	procPeak    atomic.Int64
}

func newSSMState() *ssmState {
	return &ssmState{
		docs:     map[string]*ssmDocument{},
		commands: map[string]*ssmCommand{},
		settings: map[string]*ssmSetting{},
		sessions: map[string]*ssmSession{},
		stopCh:   make(chan struct{}),
	}
}

// cancelAllLocked kills every running command process (Reset, Close). The runner
// goroutines see closed/stopCh and exit promptly; the state is discarded.
func (s *ssmState) cancelAllLocked() {
	if s.closed {
		return
	}
	s.closed = true
	close(s.stopCh)
	for _, ss := range s.sessionOrder {
		if ss.active() {
			ss.Status, ss.End = sessTerminated, time.Now().UTC()
			ss.ch.close("")
		}
	}
	for _, c := range s.order {
		for _, inv := range c.invs {
			inv.killLocked("closed")
		}
	}
}

func (s *ssmState) procStarted() {
	n := s.procRunning.Add(1)
	for {
		p := s.procPeak.Load()
		if n <= p || s.procPeak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (s *ssmState) procEnded() { s.procRunning.Add(-1) }

// ProcessStats reports how many command processes run now on the host and the
// most that ever ran at once (since the last Reset).
func (e *Emulator) ProcessStats() (running, peak int) {
	e.mu.Lock()
	s := e.ssm
	e.mu.Unlock()
	return int(s.procRunning.Load()), int(s.procPeak.Load())
}

// killProcessGroup sends SIGKILL to a process group.
func killProcessGroup(pgid int) {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

var ssmOps = map[string]jsonHandler{}

func init() {
	for k, v := range map[string]jsonHandler{
		"DescribeInstanceInformation":  ssmDescribeInstanceInformation,
		"DescribeInstanceProperties":   ssmDescribeInstanceProperties,
		"SendCommand":                  ssmSendCommand,
		"GetCommandInvocation":         ssmGetCommandInvocation,
		"ListCommandInvocations":       ssmListCommandInvocations,
		"ListCommands":                 ssmListCommands,
		"CancelCommand":                ssmCancelCommand,
		"CreateDocument":               ssmCreateDocument,
		"GetDocument":                  ssmGetDocument,
		"UpdateDocument":               ssmUpdateDocument,
		"DescribeDocument":             ssmDescribeDocument,
		"DeleteDocument":               ssmDeleteDocument,
		"UpdateDocumentDefaultVersion": ssmUpdateDocumentDefaultVersion,
		"ListDocuments":                ssmListDocuments,
		"GetServiceSetting":            ssmGetServiceSetting,
		"UpdateServiceSetting":         ssmUpdateServiceSetting,
		"ResetServiceSetting":          ssmResetServiceSetting,
		"GetParameter":                 ssmGetParameter,
	} {
		ssmOps[k] = v
	}
}

// ---- shared validation helpers ----

var (
	reInstanceID   = regexp.MustCompile(`(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)`)
	reDocumentARN  = regexp.MustCompile(`^[a-zA-Z0-9_\-.:/]{3,128}$`)
	reDocumentName = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`)
	reDocVersion   = regexp.MustCompile(`^([$]LATEST|[$]DEFAULT|[1-9][0-9]*)$`)
	reDocVersionNo = regexp.MustCompile(`^[1-9][0-9]*$`)
	reMaxConc      = regexp.MustCompile(`^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`)
	reMaxErrors    = regexp.MustCompile(`^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`)
	reTargetKey    = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=\-@]*|resource-groups:ResourceTypeFilters|resource-groups:Name)$`)
)

// validationErr renders the real "1 validation error detected" message.
func validationErr(value any, member, constraint string) *APIError {
	return apiErr(400, "ValidationException", "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func lenErr(value any, member string, lo, hi int, n int) *APIError {
	if n < lo {
		return validationErr(value, member, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	}
	return validationErr(value, member, fmt.Sprintf("Member must have length less than or equal to %d", hi))
}

func rangeErr(value int, member string, lo, hi int) *APIError {
	if value < lo {
		return validationErr(value, member, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	return validationErr(value, member, fmt.Sprintf("Member must have value less than or equal to %d", hi))
}

// pageToken encodes a list offset as an opaque NextToken.
func pageToken(kind string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("awsemu:" + kind + ":" + strconv.Itoa(offset)))
}

// ssmPageParams checks a MaxResults in [lo, hi] (def when absent) and decodes the
// NextToken of a paginated SSM list operation.
func ssmPageParams(maxResults *int, lo, hi, def int, kind, token string) (int, int, *APIError) {
	pageSize := def
	if maxResults != nil {
		if *maxResults < lo || *maxResults > hi {
			return 0, 0, rangeErr(*maxResults, "maxResults", lo, hi)
		}
		pageSize = *maxResults
	}
	start, aerr := parsePageToken(kind, token)
	return pageSize, start, aerr
}

// parsePageToken decodes a NextToken made by pageToken; "" means the start.
func parsePageToken(kind, tok string) (int, *APIError) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	rest, ok := strings.CutPrefix(string(b), "awsemu:"+kind+":")
	n, perr := strconv.Atoi(rest)
	if err != nil || !ok || perr != nil || n < 0 {
		return 0, apiErr(400, "InvalidNextToken", "The specified token is not valid.")
	}
	return n, nil
}

// truncRunes keeps the first n characters of s.
func truncRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
