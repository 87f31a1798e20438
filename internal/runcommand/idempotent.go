package runcommand

// SendCommand has no idempotency token, so a retry after a lost response would
// run the command twice. Each SendCommand of a run therefore carries a random
// run token at the end of its Comment, the SDK's own retries are switched off
// for that call, and the engine retries itself: after an error that may hide a
// created command, it looks for a command carrying the token (ListCommands
// since just before the first attempt) and adopts it. Run Command is
// eventually consistent, so ListCommands may not show a command the moment it
// is created: the engine keeps looking for Spec.SendLookupWindow after the
// failed attempt before it sends again. See
// notes/aws-behaviour.md#retries-deadlines-and-lost-responses.

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

const (
	// maxComment is SendCommand's Comment limit in characters.
	maxComment = 100
	// runTokenChars is the length of the random part of a run token.
	runTokenChars = 10
	// lookupSkew widens the ListCommands window before the first attempt, for a
	// client clock behind the service's (SigV4 tolerates 5 minutes of skew).
	lookupSkew = 5 * time.Minute
	// DefaultSendLookupWindow is Spec.SendLookupWindow's default: how long
	// after a SendCommand attempt that may have created a command the engine
	// keeps looking for it in ListCommands before sending again. It bounds
	// the lag of ListCommands behind SendCommand that the engine tolerates
	// (no AWS source states one; see notes/aws-behaviour.md).
	DefaultSendLookupWindow = 15 * time.Second
	// lookupFirstGap and lookupMaxGap: the gaps between those lookups.
	lookupFirstGap = 250 * time.Millisecond
	lookupMaxGap   = 2 * time.Second
)

// reRunToken matches a run token at the end of a comment: " [tf:xxxxxxxxxx]".
var reRunToken = regexp.MustCompile(` ?\[tf:[a-z2-7]{10}\]$`)

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRunToken returns 10 random base32 characters (50 bits).
func newRunToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return strings.ToLower(tokenEncoding.EncodeToString(b))[:runTokenChars]
}

// withRunToken appends the token to the comment. A comment too long to carry it
// is cut to make room: the full comment stays in the Terraform state, the
// Run Command history shows it cut.
func withRunToken(comment, token string) string {
	tag := "[tf:" + token + "]"
	if comment == "" {
		return tag
	}
	r := []rune(comment)
	if room := maxComment - len(tag) - 1; len(r) > room {
		comment = strings.TrimRight(string(r[:room]), " ")
	}
	return comment + " " + tag
}

// StripRunToken removes the run token the engine appended to a comment.
func StripRunToken(comment string) string {
	return reRunToken.ReplaceAllString(comment, "")
}

// sendIdempotent sends in (whose Comment carries a run token) with the SDK's
// retries switched off for this one call, and retries itself as the client's
// retryer would (same retryable errors, attempts and back-off). After a
// retryable error other than throttling or a failed dial (both say nothing was
// done; a 5xx, a reset or a lost response may hide a created command) it
// looks for the command the attempt may have created, for window after the
// attempt failed, and adopts it; only when ListCommands, read at least window
// after the failure, does not show it is the command sent again. since is the
// time of the run's first attempt.
func sendIdempotent(ctx context.Context, api SSMAPI, in *ssm.SendCommandInput, since time.Time, window time.Duration) (*ssmtypes.Command, error) {
	var rt aws.Retryer
	oneAttempt := func(o *ssm.Options) {
		if o.Retryer != nil {
			rt = o.Retryer
			o.Retryer = retry.AddWithMaxAttempts(o.Retryer, 1)
		}
	}
	throttle := retry.IsErrorThrottles(retry.DefaultThrottles)
	for attempt := 1; ; attempt++ {
		out, err := api.SendCommand(ctx, in, oneAttempt)
		failedAt := time.Now()
		if err == nil {
			if out.Command == nil || out.Command.CommandId == nil {
				return nil, errors.New("SendCommand returned no command id")
			}
			return out.Command, nil
		}
		if rt == nil {
			rt = retry.NewStandard()
		}
		if ctx.Err() != nil {
			return interruptedSend(ctx, api, in, since, failedAt, window, err)
		}
		if !rt.IsErrorRetryable(err) {
			return nil, err
		}
		refused := throttle.IsErrorThrottle(err) == aws.TrueTernary || neverSent(err)
		if !refused {
			cmd, lerr := lookForSent(ctx, api, in, since, failedAt.Add(window))
			if cmd != nil {
				return cmd, nil
			}
			if ctx.Err() != nil {
				return interruptedSend(ctx, api, in, since, failedAt, window, err)
			}
			if lerr != nil {
				return nil, fmt.Errorf("%w; it may have been sent nonetheless, and looking for it failed: %v (look for the comment %q in the Run Command history)",
					err, lerr, aws.ToString(in.Comment))
			}
		}
		if attempt >= rt.MaxAttempts() {
			return nil, fmt.Errorf("%w (after %d attempts)", err, attempt)
		}
		if refused {
			// After a lookup the window has already spaced the attempts.
			delay, derr := rt.RetryDelay(attempt, err)
			if derr != nil {
				return nil, err
			}
			if poll.Sleep(ctx, delay) != nil {
				return nil, err // interrupted: SendCommand's error is the cause to report
			}
		}
	}
}

// neverSent: err says the request never reached the service (no connection
// could be made), so it created nothing.
func neverSent(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial")
}

// interruptedSend: the run was interrupted while the request may have reached
// SSM. It looks for the command with a fresh context (for the lookup window,
// within CancelTimeout), so that it is cancelled, not orphaned; err stands
// when it is not found.
func interruptedSend(ctx context.Context, api SSMAPI, in *ssm.SendCommandInput, since, failedAt time.Time, window time.Duration, err error) (*ssmtypes.Command, error) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	if cmd, _ := lookForSent(lctx, api, in, since, failedAt.Add(window)); cmd != nil {
		return cmd, nil
	}
	return nil, err
}

// lookForSent calls findSent until it finds the command or until a lookup
// that started at or after until has succeeded (ListCommands lags behind
// SendCommand by less than the window, the engine assumes: after that, a
// command it does not show was not created). Lookup errors before until are
// retried; the last one is returned when ctx ends first or the final lookup
// fails.
func lookForSent(ctx context.Context, api SSMAPI, in *ssm.SendCommandInput, since, until time.Time) (*ssmtypes.Command, error) {
	gaps := poll.Backoff{Interval: lookupFirstGap, Max: lookupMaxGap, Factor: 2}
	for {
		started := time.Now()
		cmd, err := findSent(ctx, api, in, since)
		if cmd != nil {
			return cmd, nil
		}
		if !started.Before(until) {
			return nil, err
		}
		if serr := poll.Sleep(ctx, min(gaps.Next(), time.Until(until))); serr != nil {
			if err == nil {
				err = serr
			}
			return nil, err
		}
	}
}

// findSent returns the command in created, if ListCommands shows one with the
// same comment (hence run token) and targets, requested since the first
// attempt; nil if there is none.
func findSent(ctx context.Context, api SSMAPI, in *ssm.SendCommandInput, since time.Time) (*ssmtypes.Command, error) {
	p := ssm.NewListCommandsPaginator(api, &ssm.ListCommandsInput{
		Filters: []ssmtypes.CommandFilter{{
			Key:   ssmtypes.CommandFilterKeyInvokedAfter,
			Value: aws.String(since.Add(-lookupSkew).UTC().Format(time.RFC3339)),
		}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListCommands: %w", err)
		}
		for i := range page.Commands {
			if c := &page.Commands[i]; sameSend(c, in) {
				return c, nil
			}
		}
	}
	return nil, nil
}

// sameSend: the command carries the input's comment (with its run token) and
// was sent to the same instances or targets.
func sameSend(c *ssmtypes.Command, in *ssm.SendCommandInput) bool {
	if aws.ToString(c.Comment) != aws.ToString(in.Comment) || !reRunToken.MatchString(aws.ToString(in.Comment)) {
		return false
	}
	if len(in.InstanceIds) > 0 {
		a, b := slices.Clone(c.InstanceIds), slices.Clone(in.InstanceIds)
		slices.Sort(a)
		slices.Sort(b)
		return slices.Equal(a, b)
	}
	return slices.EqualFunc(c.Targets, in.Targets, func(x, y ssmtypes.Target) bool {
		return aws.ToString(x.Key) == aws.ToString(y.Key) && slices.Equal(x.Values, y.Values)
	})
}
