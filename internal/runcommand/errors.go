package runcommand

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// ErrCommandNotFound: Import was given a command id SSM does not know (never
// existed, or its 30-day history expired).
var ErrCommandNotFound = errors.New("command not found")

// NotRegisteredError: SendCommand kept answering InvalidInstanceId (the
// instances are not registered with Systems Manager, or not in a state that
// takes commands) until the agent wait (Spec.AgentWaitTimeout) was over.
type NotRegisteredError struct {
	InstanceIDs []string
	// Waited is how long the send was retried; 0: it was tried once.
	Waited time.Duration
	// Err is SendCommand's last error.
	Err error
}

func (e *NotRegisteredError) Error() string {
	waited := ""
	if e.Waited > 0 {
		waited = fmt.Sprintf(" after waiting %s for their agents", e.Waited)
	}
	return fmt.Sprintf("sending command: instance(s) %s not registered with Systems Manager or not in a valid state%s (InvalidInstanceId); "+
		"check that each runs, has the SSM agent and an instance profile granting it: %v", strings.Join(e.InstanceIDs, ", "), waited, e.Err)
}

// Unwrap returns SendCommand's error.
func (e *NotRegisteredError) Unwrap() error { return e.Err }

// maxFailuresShown is how many failed invocations Error() describes in full.
const maxFailuresShown = 5

// Tail sizes of the output quoted in error messages.
const (
	tailLines = 10
	tailBytes = 1000
)

// notRunReason says why an unsuccessful invocation never ran its commands
// (stopped by MaxErrors, never delivered, cancelled), or "" for a real
// failure (Failed, TimedOut/ExecutionTimedOut: the commands ran and failed).
func notRunReason(inv *Invocation) string {
	switch inv.StatusDetails {
	case "Terminated":
		return "Terminated after MaxErrors"
	case "DeliveryTimedOut":
		return "DeliveryTimedOut, agent not reachable"
	case "Undeliverable":
		return "Undeliverable"
	case "InvalidPlatform":
		return "InvalidPlatform, document not for this platform"
	}
	if inv.Status == "Cancelled" {
		return "Cancelled"
	}
	return ""
}

// sortFailures orders real failures first, then the invocations that never
// ran, each by instance id.
func sortFailures(failed []*Invocation) {
	sort.SliceStable(failed, func(i, j int) bool {
		ri, rj := notRunReason(failed[i]) != "", notRunReason(failed[j]) != ""
		if ri != rj {
			return !ri
		}
		return failed[i].InstanceID < failed[j].InstanceID
	})
}

// counts splits e.Failed into real failures and the invocations that never
// ran, grouped by reason (in order of first appearance).
func (e *FailedError) counts() (ran []*Invocation, reasons []string, notRun map[string][]string) {
	notRun = map[string][]string{}
	for _, inv := range e.Failed {
		r := notRunReason(inv)
		if r == "" {
			ran = append(ran, inv)
			continue
		}
		if len(notRun[r]) == 0 {
			reasons = append(reasons, r)
		}
		notRun[r] = append(notRun[r], inv.InstanceID)
	}
	return ran, reasons, notRun
}

func (e *FailedError) total() int {
	if e.Result == nil {
		return len(e.Failed)
	}
	return max(len(e.Result.Invocations), e.Result.TargetCount)
}

// notRunText is "63 not run: Terminated after MaxErrors" or
// "3 not run: 2 Terminated after MaxErrors, 1 Cancelled".
func notRunText(reasons []string, notRun map[string][]string) string {
	n := 0
	var parts []string
	for _, r := range reasons {
		n += len(notRun[r])
		parts = append(parts, fmt.Sprintf("%d %s", len(notRun[r]), r))
	}
	if len(reasons) == 1 {
		return fmt.Sprintf("%d not run: %s", n, reasons[0])
	}
	return fmt.Sprintf("%d not run: %s", n, strings.Join(parts, "; "))
}

// reasonsText is "DeliveryTimedOut, agent not reachable" or
// "2 Terminated after MaxErrors; 1 Cancelled".
func reasonsText(reasons []string, notRun map[string][]string) string {
	if len(reasons) == 1 {
		return reasons[0]
	}
	var parts []string
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", len(notRun[r]), r))
	}
	return strings.Join(parts, "; ")
}

// Summary is "failed on 2 of 65 instances (63 not run: Terminated after
// MaxErrors)", or "did not run on 3 of 3 instances (...)" when no invocation
// ran and failed.
func (e *FailedError) Summary() string {
	ran, reasons, notRun := e.counts()
	total := e.total()
	switch {
	case len(e.Failed) == 0 && e.Result != nil:
		return "ended " + statusText(e.Result.Status, e.Result.StatusDetails)
	case len(ran) == 0:
		return fmt.Sprintf("did not run on %d of %d instances (%s)", len(e.Failed), total, reasonsText(reasons, notRun))
	case len(reasons) > 0:
		return fmt.Sprintf("failed on %d of %d instances (%s)", len(ran), total, notRunText(reasons, notRun))
	}
	return fmt.Sprintf("failed on %d of %d instances", len(ran), total)
}

func (e *FailedError) Error() string {
	var b strings.Builder
	ran, reasons, notRun := e.counts()
	total := e.total()
	switch {
	case len(e.Failed) == 0 && e.Result != nil:
		fmt.Fprintf(&b, "command ended %s", statusText(e.Result.Status, e.Result.StatusDetails))
	case len(ran) == 0:
		fmt.Fprintf(&b, "%d of %d invocations did not run (%s)", len(e.Failed), total, reasonsText(reasons, notRun))
	case len(reasons) > 0:
		fmt.Fprintf(&b, "%d of %d invocations failed (%s)", len(ran), total, notRunText(reasons, notRun))
	default:
		fmt.Fprintf(&b, "%d of %d invocations failed", len(ran), total)
	}
	if e.Result != nil && len(e.Result.CommandIDs) > 0 {
		fmt.Fprintf(&b, " (command %s)", strings.Join(e.Result.CommandIDs, ", "))
	}
	for i, inv := range ran {
		if i == maxFailuresShown {
			fmt.Fprintf(&b, "\nand %d more failed", len(ran)-maxFailuresShown)
			break
		}
		fmt.Fprintf(&b, "\n- %s: %s, exit code %d", inv.InstanceID, statusText(inv.Status, inv.StatusDetails), inv.ResponseCode)
		stream, text := "stderr", inv.Stderr
		if strings.TrimSpace(withoutAgentFailure(text)) == "" {
			stream, text = "stdout", inv.Stdout
		}
		if t := Tail(text, tailLines, tailBytes); t != "" {
			fmt.Fprintf(&b, "; last lines of %s:\n    %s", stream, strings.ReplaceAll(t, "\n", "\n    "))
		}
	}
	for _, r := range reasons {
		fmt.Fprintf(&b, "\n- %s: not run, %s", idList(notRun[r], 3), r)
	}
	return b.String()
}

// idList is "i-a, i-b and i-c" or "i-a, i-b, i-c and 58 more".
func idList(ids []string, show int) string {
	if len(ids) <= show+1 {
		if len(ids) == 1 {
			return ids[0]
		}
		return strings.Join(ids[:len(ids)-1], ", ") + " and " + ids[len(ids)-1]
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:show], ", "), len(ids)-show)
}

func statusText(status, details string) string {
	if details == "" || details == status {
		return status
	}
	return status + " (" + details + ")"
}

// Tail returns the last lines (at most n lines and max bytes, cut on a UTF-8
// boundary) of s without its trailing newline.
func Tail(s string, n, maxBytes int) string {
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return ""
	}
	if len(s) > maxBytes {
		cut := len(s) - maxBytes
		for cut < len(s) && !isRuneStart(s[cut]) {
			cut++
		}
		s = s[cut:]
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func (e *CancelledError) Error() string {
	var b strings.Builder
	b.WriteString("run interrupted")
	if e.Cause != nil {
		fmt.Fprintf(&b, " (%v)", e.Cause)
	}
	if e.Result != nil && len(e.Result.CommandIDs) > 0 {
		fmt.Fprintf(&b, ": command %s", strings.Join(e.Result.CommandIDs, ", "))
		switch {
		case e.CancelSent:
			b.WriteString(" cancelled (CancelCommand sent)")
		case e.CancelErr != nil:
			fmt.Fprintf(&b, " may still be running: CancelCommand failed: %v", e.CancelErr)
		default:
			b.WriteString(" had already finished (nothing to cancel)")
		}
		fmt.Fprintf(&b, "; %d/%d invocations complete, %d failed", e.Result.CompletedCount, e.Result.TargetCount, e.Result.ErrorCount)
	} else {
		b.WriteString(": no command was sent")
	}
	if e.LastErr != nil {
		fmt.Fprintf(&b, "; the last API error: %v", e.LastErr)
	}
	return b.String()
}

// Unwrap returns the cause (context.Canceled or context.DeadlineExceeded).
func (e *CancelledError) Unwrap() error { return e.Cause }

// errorCode is the AWS error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// fatalWhileWaiting: errors that polling again cannot fix. Everything else
// (throttling and 5xx the retryer gave up on, connection errors) is transient
// while waiting.
func fatalWhileWaiting(err error) bool {
	switch errorCode(err) {
	case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException",
		"InvalidClientTokenId", "ValidationException", "InvalidFilterKey":
		return true
	}
	return false
}
