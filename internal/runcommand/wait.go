package runcommand

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// lagFraction bounds how late the wait notices the end of a run: the poll
// interval is never more than this fraction of the time since sending (and never
// less than MinInterval), so a 1 s command is seen at most ~MinInterval late and a
// 10 min command at most ~MaxInterval late.
const lagFraction = 0.2

// Once part of a run's targets have completed, the wait also uses the run's own
// pace: the rest is estimated to take elapsed × remaining / completed, and the
// next poll waits up to half of that (etaFraction), never beyond the cap. A fleet
// whose instances finish steadily is then polled a few times instead of once per
// growing lag interval; a straggler (the estimate falls below the lag bound) is
// polled as before.
const etaFraction = 0.5

// targetsPerMaxInterval: the cap on the interval grows by MaxInterval per this
// many targets. Collecting a run's results costs one ListCommandInvocations call
// per 50 targets, so for 5,000 targets or more the status polls would otherwise
// be a large part of the run's calls, while noticing the end of a run that big
// another 10 s later changes little.
const targetsPerMaxInterval = 5000

// invalidCommandGrace: how long after sending InvalidCommandId is taken for
// eventual consistency rather than an error.
const invalidCommandGrace = time.Minute

// cmdState is what the last poll said about one command.
type cmdState struct {
	id                           string
	status, details              string
	target, completed, errors    int
	requested                    time.Time
	documentName, bucket, prefix string
	done                         bool
}

func (st *cmdState) update(cmd *ssmtypes.Command) {
	st.status, st.details = string(cmd.Status), aws.ToString(cmd.StatusDetails)
	st.target, st.completed, st.errors = int(cmd.TargetCount), int(cmd.CompletedCount), int(cmd.ErrorCount)
	if cmd.RequestedDateTime != nil {
		st.requested = *cmd.RequestedDateTime
	}
	st.documentName = aws.ToString(cmd.DocumentName)
	st.bucket, st.prefix = aws.ToString(cmd.OutputS3BucketName), aws.ToString(cmd.OutputS3KeyPrefix)
	st.done = commandTerminal(st.status)
}

// commandTerminal: Pending, InProgress, Delayed and Cancelling are not terminal;
// every other status is (Success, Failed, TimedOut, Cancelled, and whatever new
// terminal value AWS adds).
func commandTerminal(status string) bool {
	switch status {
	case "", "Pending", "InProgress", "Delayed", "Cancelling":
		return false
	}
	return true
}

// nextInterval is the wait before poll n (0-based), elapsed after sending, with
// the run's last known progress p: MinInterval growing by Backoff up to the cap,
// and at most lagFraction of the elapsed time (but at least MinInterval); or,
// when longer, etaFraction of the time the remaining targets are estimated to
// take at the pace so far. The cap is MaxInterval, one more MaxInterval per
// targetsPerMaxInterval targets.
func nextInterval(s Spec, n int, elapsed time.Duration, p Progress) time.Duration {
	limit := float64(s.MaxInterval) * float64(max(1, (p.Targets+targetsPerMaxInterval-1)/targetsPerMaxInterval))
	d := float64(s.MinInterval)
	for i := 0; i < n && d < limit; i++ {
		d *= s.Backoff
	}
	d = min(d, max(float64(s.MinInterval), lagFraction*float64(elapsed)))
	if done := p.Completed; done > 0 && p.Targets > done {
		d = max(d, etaFraction*float64(elapsed)*float64(p.Targets-done)/float64(done))
	}
	return time.Duration(min(d, limit))
}

// waitCommands polls ListCommands until every command is terminal. One command
// is polled by id. Several (a run split by 50 instance ids) are polled together
// with one InvokedAfter-filtered listing, one call per 50 commands, falling back
// to by-id calls for commands the listing did not show (another caller's many
// commands in between). Transient errors (throttling or 5xx left over by the SDK
// retryer, connection errors) and not-yet-visible commands are polled through
// until ctx ends.
func waitCommands(ctx context.Context, api SSMAPI, spec Spec, states []*cmdState, sentAt time.Time) error {
	for n := 0; ; n++ {
		if allDone(states) {
			return nil
		}
		if err := poll.Sleep(ctx, nextInterval(spec, n, time.Since(sentAt), progressOf(states))); err != nil {
			return err
		}
		pending := map[string]*cmdState{}
		for _, st := range states {
			if !st.done {
				pending[st.id] = st
			}
		}
		if len(pending) > 1 {
			if err := pollListing(ctx, api, spec.track, pending, sentAt); err != nil {
				return err
			}
		}
		for _, st := range states {
			if st.done || pending[st.id] == nil {
				continue
			}
			lctx, finish := spec.track.Begin(ctx, "ListCommands")
			out, err := api.ListCommands(lctx, &ssm.ListCommandsInput{CommandId: aws.String(st.id)})
			if err := waitError(ctx, finish, err, st.id, sentAt); err != nil {
				return err
			}
			if out == nil {
				continue // transient: poll again
			}
			if len(out.Commands) == 0 {
				continue // not visible yet
			}
			st.update(&out.Commands[0])
		}
		if spec.Progress != nil {
			spec.Progress(progressOf(states))
		}
	}
}

// progressOf sums the commands' last known counts.
func progressOf(states []*cmdState) Progress {
	var p Progress
	for _, st := range states {
		p.Targets += st.target
		p.Completed += st.completed
		p.Errors += st.errors
	}
	return p
}

// pollListing updates the pending commands from ListCommands pages filtered to
// commands requested since the run started (newest first), and removes the ones
// it saw from pending. It reads at most one page per 50 pending commands plus
// one; what it does not see is left for by-id calls.
func pollListing(ctx context.Context, api SSMAPI, track *poll.Tracker, pending map[string]*cmdState, sentAt time.Time) error {
	since := sentAt
	for _, st := range pending {
		if !st.requested.IsZero() && st.requested.Before(since) {
			since = st.requested // the service's clock, not ours
		}
	}
	since = since.Add(-time.Second).UTC().Truncate(time.Second)
	p := ssm.NewListCommandsPaginator(api, &ssm.ListCommandsInput{
		MaxResults: aws.Int32(MaxInstanceIDsPerCommand),
		Filters:    []ssmtypes.CommandFilter{{Key: ssmtypes.CommandFilterKeyInvokedAfter, Value: aws.String(since.Format(time.RFC3339))}},
	})
	for pages := 0; p.HasMorePages() && len(pending) > 0 && pages <= len(pending)/MaxInstanceIDsPerCommand+1; pages++ {
		lctx, finish := track.Begin(ctx, "ListCommands")
		out, err := p.NextPage(lctx)
		if werr := waitError(ctx, finish, err, "", sentAt); werr != nil {
			return werr
		}
		if err != nil {
			return nil //nolint:nilerr // transient: the by-id calls or the next poll go on
		}
		for i := range out.Commands {
			if st := pending[aws.ToString(out.Commands[i].CommandId)]; st != nil {
				st.update(&out.Commands[i])
				delete(pending, st.id)
			}
		}
	}
	return nil
}

// waitError decides whether an error while waiting ends the wait (returned) or
// is transient (nil): InvalidCommandId right after sending (eventual
// consistency), throttling, 5xx and connection errors are, until they have
// lasted Spec.PersistentErrorLimit.
func waitError(ctx context.Context, finish func(error) *poll.CallError, err error, id string, sentAt time.Time) error {
	if err == nil || errorCode(err) == "InvalidCommandId" && time.Since(sentAt) <= invalidCommandGrace {
		_ = finish(nil)
		return ctx.Err()
	}
	stop := finish(err)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if stop == nil && fatalWhileWaiting(err) {
		stop = &poll.CallError{Operation: "ListCommands", Err: err, Describe: awsclient.Cause}
	}
	if stop == nil {
		return nil
	}
	if id == "" {
		return fmt.Errorf("waiting for commands: %w", stop)
	}
	return fmt.Errorf("waiting for command %s: %w", id, stop)
}

func allDone(states []*cmdState) bool {
	for _, st := range states {
		if !st.done {
			return false
		}
	}
	return true
}

// aggregate sets the Result's command-level fields from the states: counts are
// summed, the status is the worst one.
func aggregate(res *Result, states []*cmdState) {
	res.TargetCount, res.CompletedCount, res.ErrorCount = 0, 0, 0
	rank := func(s string) int {
		switch s {
		case "Success":
			return 0
		case "Cancelled":
			return 2
		case "TimedOut":
			return 3
		case "Failed":
			return 4
		case "":
			return -1
		}
		if !commandTerminal(s) {
			return 5 // still running outranks everything
		}
		return 1
	}
	best := -2
	for _, st := range states {
		res.TargetCount += st.target
		res.CompletedCount += st.completed
		res.ErrorCount += st.errors
		if !st.requested.IsZero() && (res.RequestedAt.IsZero() || st.requested.Before(res.RequestedAt)) {
			res.RequestedAt = st.requested
		}
		if r := rank(st.status); r > best {
			best = r
			res.Status, res.StatusDetails = st.status, st.details
		}
	}
}

// String is the progress line the provider logs: "12/1000 invocations
// complete, 1 failed".
func (p Progress) String() string {
	return fmt.Sprintf("%d/%d invocations complete, %d failed", p.Completed, p.Targets, p.Errors)
}
