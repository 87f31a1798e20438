package runcommand

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// ErrCommandNotFound: Import was given a command id SSM does not know (never
// existed, or its 30-day history expired).
var ErrCommandNotFound = errors.New("command not found")

// maxFailuresShown is how many failed invocations Error() describes in full.
const maxFailuresShown = 5

// Tail sizes of the output quoted in error messages.
const (
	tailLines = 10
	tailBytes = 1000
)

func (e *FailedError) Error() string {
	var b strings.Builder
	total := 0
	if e.Result != nil {
		total = len(e.Result.Invocations)
		if e.Result.TargetCount > total {
			total = e.Result.TargetCount
		}
	}
	switch {
	case len(e.Failed) == 0 && e.Result != nil:
		fmt.Fprintf(&b, "command ended %s", statusText(e.Result.Status, e.Result.StatusDetails))
	case total > 0:
		fmt.Fprintf(&b, "%d of %d invocations failed", len(e.Failed), total)
	default:
		fmt.Fprintf(&b, "%d invocations failed", len(e.Failed))
	}
	if e.Result != nil && len(e.Result.CommandIDs) > 0 {
		fmt.Fprintf(&b, " (command %s)", strings.Join(e.Result.CommandIDs, ", "))
	}
	for i, inv := range e.Failed {
		if i == maxFailuresShown {
			fmt.Fprintf(&b, "\nand %d more", len(e.Failed)-maxFailuresShown)
			break
		}
		fmt.Fprintf(&b, "\n- %s: %s, exit code %d", inv.InstanceID, statusText(inv.Status, inv.StatusDetails), inv.ResponseCode)
		stream, text := "stderr", inv.Stderr
		if strings.TrimSpace(text) == "" {
			stream, text = "stdout", inv.Stdout
		}
		if t := Tail(text, tailLines, tailBytes); t != "" {
			fmt.Fprintf(&b, "; last lines of %s:\n    %s", stream, strings.ReplaceAll(t, "\n", "\n    "))
		}
	}
	return b.String()
}

func statusText(status, details string) string {
	if details == "" || details == status {
		return status
	}
	return status + " (" + details + ")"
}

// Tail returns the last lines (at most n lines and max bytes, cut on a UTF-8
// boundary) of s without its trailing newline.
func Tail(s string, n, max int) string {
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return ""
	}
	if len(s) > max {
		cut := len(s) - max
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
