package runcommand

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// reInstanceID is SendCommand's InstanceIds member pattern (notes/aws-behaviour.md#sendcommand).
var reInstanceID = regexp.MustCompile(`^(i-(\w{8}|\w{17})|mi-\w{17})$`)

// reIDInMessage finds instance ids in an InvalidInstanceId message
// ("Instances [[i-…, i-…]] not in a valid state for account …").
var reIDInMessage = regexp.MustCompile(`\b(i-\w{8}(\w{9})?|mi-\w{17})\b`)

// Run sends the command (several commands of at most 50 instance ids each when
// more ids are given), waits for it as a whole, collects every invocation and
// fetches output up to spec.OutputLimit.
//
// Errors: a validation or SendCommand error (Result nil, or holding the ids
// already sent); *CancelledError when ctx ends first (CancelCommand sent with a
// fresh context); *FailedError when an invocation did not succeed. In the last
// two cases the Result is returned too.
func Run(ctx context.Context, c Clients, spec Spec) (*Result, error) {
	spec = withDefaults(spec)
	if err := Validate(spec); err != nil {
		return nil, err
	}
	if c.SSM == nil {
		return nil, errors.New("runcommand: no SSM client")
	}
	spec.track = newTracker(spec.PersistentErrorLimit)
	if err := checkOutputBucket(ctx, c, spec); err != nil {
		return nil, err
	}
	res := &Result{Invocations: map[string]*Invocation{}}
	var states []*cmdState
	p := &plan{}
	if c.Agents != nil {
		// A command sent to an agent that cannot receive it waits out its whole
		// delivery timeout (an hour by default): check first, send only to the
		// ready ones, and say why not for the others.
		var err error
		spec, p, err = readiness(ctx, c, spec, res)
		if err != nil {
			if ctx.Err() != nil {
				return res, interrupted(ctx, c, spec, res, nil)
			}
			return res, err
		}
		if p == nil {
			// Nothing to send: every selected instance is unreachable (within
			// the threshold) or gone, or an allowed empty selection. Status
			// stays "" and CommandIDs empty.
			return res, nil
		}
	}
	for _, in := range sendInputs(spec) {
		if spec.BeforeSend != nil {
			ids := in.InstanceIds
			if len(ids) == 0 {
				ids = p.ready
			}
			extra, err := spec.BeforeSend(ctx, ids)
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			if err != nil {
				if ctx.Err() != nil {
					return res, interrupted(ctx, c, spec, res, states)
				}
				if len(states) > 0 {
					if _, cerr := cancelAll(ctx, c.SSM, states); cerr != nil {
						return res, fmt.Errorf("preparing the command: %w (cancelling the %d command(s) already sent also failed: %v)", err, len(states), cerr)
					}
				}
				return res, fmt.Errorf("preparing the command: %w", err)
			}
			if len(extra) > 0 {
				params := make(map[string][]string, len(in.Parameters)+len(extra))
				for k, v := range in.Parameters {
					params[k] = v
				}
				for k, v := range extra {
					params[k] = v
				}
				in.Parameters = params
			}
		}
		cmd, err := send(ctx, c.SSM, spec, in)
		if err != nil {
			if ctx.Err() != nil {
				_ = spec.track.Failed("SendCommand", err) // the cause, if AWS or the network gave one
				return res, interrupted(ctx, c, spec, res, states)
			}
			if len(states) > 0 {
				// Stop the commands already sent: the run as a whole failed.
				_, cerr := cancelAll(ctx, c.SSM, states)
				if cerr != nil {
					return res, fmt.Errorf("%w (cancelling the %d command(s) already sent also failed: %v)", err, len(states), cerr)
				}
			}
			return res, err
		}
		st := &cmdState{id: aws.ToString(cmd.CommandId)}
		st.update(cmd)
		states = append(states, st)
		res.CommandIDs = append(res.CommandIDs, st.id)
		if len(p.cancel) > 0 && len(in.Targets) > 0 {
			if err := cancelUnreachable(ctx, c.SSM, st.id, p.cancel); err != nil {
				// They would wait out the delivery timeout: stop the run.
				if ctx.Err() != nil {
					return res, interrupted(ctx, c, spec, res, states)
				}
				_, _ = cancelAll(ctx, c.SSM, states)
				return res, err
			}
		}
	}
	sentAt := time.Now()
	aggregate(res, states)

	if err := waitCommands(ctx, c.SSM, spec, states, sentAt); err != nil {
		if ctx.Err() != nil {
			err = interrupted(ctx, c, spec, res, states)
		}
		markIncomplete(res)
		return res, err
	}
	if err := collectAll(ctx, c, spec, res, states, true); err != nil {
		if ctx.Err() != nil {
			err = interrupted(ctx, c, spec, res, states)
		}
		settleNotReached(res)
		markIncomplete(res)
		return res, err
	}
	settleNotReached(res)
	if len(spec.Targets) > 0 && res.TargetCount == 0 && len(res.Invocations) == 0 && !spec.AllowEmpty {
		// A selection the check could not resolve (a resource group) matched nothing.
		return res, &EmptySelectionError{Targets: spec.Targets}
	}
	return res, failure(res)
}

// markIncomplete: a run whose invocations could not all be read is never
// recorded as Success.
func markIncomplete(res *Result) {
	if res.Status != string(ssmtypes.CommandStatusSuccess) {
		return
	}
	known := 0
	for _, inv := range res.Invocations {
		if invocationTerminal(inv.Status) {
			known++
		}
	}
	if known < res.TargetCount || len(res.Invocations) == 0 && res.TargetCount > 0 {
		res.Status, res.StatusDetails = string(ssmtypes.CommandStatusFailed), "Incomplete"
	}
}

// failure is a *FailedError when an invocation (or the command) did not succeed.
func failure(res *Result) error {
	var failed []*Invocation
	for _, inv := range res.Invocations {
		if inv.Status != string(ssmtypes.CommandInvocationStatusSuccess) {
			failed = append(failed, inv)
		}
	}
	if len(failed) == 0 && (res.Status == "" || res.Status == string(ssmtypes.CommandStatusSuccess)) {
		return nil
	}
	sortFailures(failed)
	return &FailedError{Result: res, Failed: failed}
}

func withDefaults(s Spec) Spec {
	if s.DocumentName == "" {
		s.DocumentName = DefaultDocument
	}
	if s.OutputLimit == 0 {
		s.OutputLimit = DefaultOutputLimit
	}
	if s.MinInterval <= 0 {
		s.MinInterval = DefaultMinInterval
	}
	if s.MaxInterval <= 0 {
		s.MaxInterval = DefaultMaxInterval
	}
	if s.MaxInterval < s.MinInterval {
		s.MaxInterval = s.MinInterval
	}
	if s.Backoff < 1 {
		s.Backoff = DefaultBackoff
	}
	if s.FetchConcurrency <= 0 {
		s.FetchConcurrency = DefaultFetchWorkers
	}
	if s.PersistentErrorLimit <= 0 {
		s.PersistentErrorLimit = DefaultPersistentErrorLimit
	}
	if s.SendLookupWindow <= 0 {
		s.SendLookupWindow = DefaultSendLookupWindow
	}
	return s
}

// Validate checks what SendCommand would reject with a less helpful message.
// The provider validates at plan time; this is the engine's own guard.
func Validate(s Spec) error {
	var errs []string
	switch {
	case len(s.InstanceIDs) == 0 && len(s.Targets) == 0:
		errs = append(errs, "no target: set instance ids or targets")
	case len(s.InstanceIDs) > 0 && len(s.Targets) > 0:
		errs = append(errs, "instance ids and targets cannot be used together")
	}
	seen := map[string]bool{}
	for _, id := range s.InstanceIDs {
		if !reInstanceID.MatchString(id) {
			errs = append(errs, fmt.Sprintf("%q is not an instance id (i-xxxxxxxx, i-xxxxxxxxxxxxxxxxx or mi-xxxxxxxxxxxxxxxxx)", id))
		}
		if seen[id] {
			errs = append(errs, fmt.Sprintf("instance id %s is listed more than once", id))
		}
		seen[id] = true
	}
	if len(s.Targets) > 5 {
		errs = append(errs, fmt.Sprintf("%d targets given, at most 5 are allowed", len(s.Targets)))
	}
	for _, t := range s.Targets {
		if t.Key == "" || len(t.Values) == 0 {
			errs = append(errs, fmt.Sprintf("target %q needs a key and at least one value", t.Key))
		}
	}
	if n := len([]rune(s.Comment)); n > 100 {
		errs = append(errs, fmt.Sprintf("comment is %d characters, at most 100 are allowed", n))
	}
	if s.DeliveryTimeout != 0 && (s.DeliveryTimeout < 30*time.Second || s.DeliveryTimeout > 2592000*time.Second) {
		errs = append(errs, fmt.Sprintf("delivery timeout %s is outside 30s..720h", s.DeliveryTimeout))
	}
	if (s.DocumentName == "" || s.DocumentName == DefaultDocument) && len(s.Parameters["commands"]) == 0 {
		errs = append(errs, "AWS-RunShellScript needs at least one command (parameter \"commands\")")
	}
	if len(errs) > 0 {
		return errors.New("invalid run: " + strings.Join(errs, "; "))
	}
	return nil
}

// readySpec is what must be Online before the run is sent: the listed ids, or
// the registered agents matching tag targets. Other target kinds (resource
// groups, tag-key) are not checked.
func readySpec(s Spec) agentwait.ReadySpec {
	rs := agentwait.ReadySpec{InstanceIDs: s.InstanceIDs, Wait: s.AgentWaitTimeout}
	for _, t := range s.Targets {
		switch {
		case strings.EqualFold(t.Key, "InstanceIds"):
			rs.InstanceIDs = append(rs.InstanceIDs, t.Values...)
		case strings.HasPrefix(t.Key, "tag:"):
			if rs.TagValues == nil {
				rs.TagValues = map[string][]string{}
			}
			rs.TagValues[strings.TrimPrefix(t.Key, "tag:")] = t.Values
		default:
			return agentwait.ReadySpec{}
		}
	}
	if len(rs.InstanceIDs) > 0 && len(rs.TagValues) > 0 {
		rs.TagValues = nil // the ids bound the selection
	}
	return rs
}

// sendInputs is one SendCommand input per command: ids in chunks of 50, or the
// targets.
func sendInputs(s Spec) []*ssm.SendCommandInput {
	base := func() *ssm.SendCommandInput {
		in := &ssm.SendCommandInput{
			DocumentName: aws.String(s.DocumentName),
			Parameters:   s.Parameters,
		}
		if s.DocumentVersion != "" {
			in.DocumentVersion = aws.String(s.DocumentVersion)
		}
		if s.MaxConcurrency != "" {
			in.MaxConcurrency = aws.String(s.MaxConcurrency)
		}
		if s.MaxErrors != "" {
			in.MaxErrors = aws.String(s.MaxErrors)
		}
		if s.Comment != "" {
			in.Comment = aws.String(s.Comment)
		}
		if s.DeliveryTimeout > 0 {
			in.TimeoutSeconds = aws.Int32(int32(s.DeliveryTimeout / time.Second))
		}
		if s.OutputS3BucketName != "" {
			in.OutputS3BucketName = aws.String(s.OutputS3BucketName)
			if s.OutputS3KeyPrefix != "" {
				in.OutputS3KeyPrefix = aws.String(s.OutputS3KeyPrefix)
			}
		}
		if s.CloudWatchLogEnabled || s.CloudWatchLogGroup != "" {
			in.CloudWatchOutputConfig = &ssmtypes.CloudWatchOutputConfig{CloudWatchOutputEnabled: s.CloudWatchLogEnabled}
			if s.CloudWatchLogGroup != "" {
				in.CloudWatchOutputConfig.CloudWatchLogGroupName = aws.String(s.CloudWatchLogGroup)
			}
		}
		return in
	}
	if len(s.Targets) > 0 {
		in := base()
		for _, t := range s.Targets {
			in.Targets = append(in.Targets, ssmtypes.Target{Key: aws.String(t.Key), Values: t.Values})
		}
		return []*ssm.SendCommandInput{in}
	}
	var ins []*ssm.SendCommandInput
	for i := 0; i < len(s.InstanceIDs); i += MaxInstanceIDsPerCommand {
		in := base()
		in.InstanceIds = s.InstanceIDs[i:min(i+MaxInstanceIDsPerCommand, len(s.InstanceIDs))]
		ins = append(ins, in)
	}
	return ins
}

// send calls SendCommand, retrying InvalidInstanceId (agents still registering)
// until spec.AgentWaitTimeout has passed. The input gets a run token in its
// comment, so that a lost response is not sent twice (idempotent.go).
func send(ctx context.Context, api SSMAPI, spec Spec, in *ssm.SendCommandInput) (*ssmtypes.Command, error) {
	since := time.Now()
	deadline := since.Add(spec.AgentWaitTimeout)
	intervals := poll.Backoff{Interval: max(spec.MinInterval, 500*time.Millisecond), Max: 5 * time.Second, Factor: spec.Backoff}
	in.Comment = aws.String(withRunToken(aws.ToString(in.Comment), newRunToken()))
	for {
		cmd, err := sendIdempotent(ctx, api, in, since, spec.SendLookupWindow)
		if err == nil {
			return cmd, nil
		}
		if errorCode(err) != "InvalidInstanceId" || ctx.Err() != nil {
			return nil, fmt.Errorf("sending command: %w", explainSendError(err, spec))
		}
		wait := intervals.Next()
		if time.Now().Add(wait).After(deadline) {
			ids := reIDInMessage.FindAllString(err.Error(), -1)
			if len(ids) == 0 {
				ids = in.InstanceIds
			}
			return nil, &NotRegisteredError{InstanceIDs: agentwait.Distinct(ids), Waited: spec.AgentWaitTimeout, Err: err}
		}
		if err := poll.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// interrupted cancels every command with a fresh context, collects what is known
// and returns the *CancelledError.
func interrupted(ctx context.Context, c Clients, spec Spec, res *Result, states []*cmdState) error {
	ce := &CancelledError{Result: res, Cause: context.Cause(ctx), LastErr: spec.track.Last()}
	if ce.Cause == nil {
		ce.Cause = ctx.Err()
	}
	if len(states) == 0 {
		return ce
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer cancel()
	sent, err := cancelAll(cctx, c.SSM, states)
	ce.CancelErr = err
	ce.CancelSent = sent > 0 && err == nil
	ce.NothingToCancel = sent == 0 && err == nil
	if ce.LastErr != nil && spec.track.Failing() {
		// The API was failing when the deadline came: asking again would only
		// add its retries to the time the user set.
		aggregate(res, states)
		return ce
	}
	// Give the cancellation a moment to land, then collect what is known.
	wctx, wcancel := context.WithTimeout(cctx, min(CancelTimeout/3, 5*time.Second))
	_ = waitCommands(wctx, c.SSM, spec, states, time.Now())
	wcancel()
	gctx, gcancel := context.WithTimeout(context.WithoutCancel(ctx), CancelTimeout)
	defer gcancel()
	_ = collectAll(gctx, c, spec, res, states, false)
	return ce
}

// cancelAll sends CancelCommand for every command not known to be finished and
// returns how many were sent.
func cancelAll(ctx context.Context, api SSMAPI, states []*cmdState) (int, error) {
	var errs []error
	sent := 0
	for _, st := range states {
		if st.done {
			continue
		}
		if _, err := api.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String(st.id)}); err != nil {
			errs = append(errs, fmt.Errorf("cancelling command %s: %w", st.id, err))
			continue
		}
		sent++
	}
	return sent, errors.Join(errs...)
}
