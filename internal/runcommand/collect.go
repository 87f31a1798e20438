package runcommand

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// Output caps and markers of the agent and the API
// (notes/aws-behaviour.md#agent-output).
const (
	// apiStdoutCap: the agent cuts stdout (and stderr) at 24,000 bytes, ending the
	// cut with agentTruncSuffix; StandardOutputContent of this many bytes or more
	// may be incomplete.
	apiStdoutCap = 24000
	// apiStderrCap: StandardErrorContent is documented as the first 8,000
	// characters, so this many bytes or more may be incomplete.
	apiStderrCap     = 8000
	agentTruncSuffix = "--output truncated--"
	// pluginOutputTrust: a plugin Output (ListCommandInvocations Details, cut by the
	// agent within 2,500 bytes) shorter than this many bytes is taken as complete.
	pluginOutputTrust = 2400
	// errorMarker separates stdout from stderr in a plugin's Output; the
	// truncation markers end a stream the agent cut there.
	errorMarker          = "\n----------ERROR-------\n"
	truncatedMarker      = "---Output truncated---"
	errorTruncatedMarker = "---Error truncated----"
	invocationsPage      = 50
	// collectSettle: how long a terminal command's invocation list may stay short
	// of its TargetCount (eventual consistency) before it is taken as complete.
	collectSettle = 30 * time.Second
)

// fetchTask is output still to read for one invocation: GetCommandInvocation,
// then S3 when a stream hit the API cap and an output bucket is set.
type fetchTask struct {
	inv            *Invocation
	commandID      string
	document       string
	plugins        []pluginRef
	bucket, prefix string
}

// pluginRef is one step of an invocation as ListCommandInvocations gave it.
type pluginRef struct {
	name   string // PluginName for GetCommandInvocation; "" for single-step documents
	listed string // the step's Name as listed (plugin name for 1.2, step name for 2.x)
	s3Dir  string // last element of the step's OutputS3KeyPrefix (plugin name without ':')
	output string // the step's Output as listed
}

// collectAll lists every command's invocations (ListCommandInvocations pages,
// Details=true) into res, then fetches output where the plugin Output is not
// enough. With untilComplete it lists again (after a pause) while a command
// shows fewer invocations than its TargetCount or non-terminal ones (eventual
// consistency), until ctx ends; transient errors are retried the same way.
func collectAll(ctx context.Context, c Clients, spec Spec, res *Result, states []*cmdState, untilComplete bool) error {
	var tasks []fetchTask
	for _, st := range states {
		start := time.Now()
		for attempt := 0; ; attempt++ {
			lctx, finish := spec.track.Begin(ctx, "ListCommandInvocations")
			invs, ts, err := listInvocations(lctx, c.SSM, spec, st)
			stop := finish(err)
			// A listing short of TargetCount is waited for, but not forever: after
			// collectSettle with every listed invocation terminal it is taken as is.
			settled := err == nil && time.Since(start) > collectSettle && complete(invs, &cmdState{})
			if err == nil && (!untilComplete || complete(invs, st) || settled) {
				for _, inv := range invs {
					res.Invocations[inv.InstanceID] = inv
				}
				tasks = append(tasks, ts...)
				break
			}
			if err != nil && (!untilComplete || ctx.Err() != nil || stop != nil || spec.track == nil && fatalWhileWaiting(err)) {
				aggregate(res, states)
				if stop != nil {
					err = stop
				}
				return fmt.Errorf("listing invocations of command %s: %w", st.id, err)
			}
			if err := poll.Sleep(ctx, nextInterval(spec, attempt, time.Since(start), Progress{})); err != nil {
				aggregate(res, states)
				return err
			}
		}
	}
	fetchOutputs(ctx, c, spec, tasks)
	aggregate(res, states)
	for _, inv := range res.Invocations {
		if inv.FinishedAt.After(res.CompletedAt) {
			res.CompletedAt = inv.FinishedAt
		}
	}
	if res.CompletedAt.IsZero() && allDone(states) {
		res.CompletedAt = time.Now().UTC()
	}
	return ctx.Err()
}

func complete(invs []*Invocation, st *cmdState) bool {
	if len(invs) < st.target {
		return false
	}
	for _, inv := range invs {
		if !invocationTerminal(inv.Status) {
			return false
		}
	}
	return true
}

func invocationTerminal(status string) bool {
	switch status {
	case "Success", "Failed", "TimedOut", "Cancelled":
		return true
	}
	return false
}

// listInvocations reads every page of one command's invocations.
func listInvocations(ctx context.Context, api SSMAPI, spec Spec, st *cmdState) ([]*Invocation, []fetchTask, error) {
	var invs []*Invocation
	var tasks []fetchTask
	in := &ssm.ListCommandInvocationsInput{CommandId: aws.String(st.id), Details: true, MaxResults: aws.Int32(invocationsPage)}
	for {
		out, err := api.ListCommandInvocations(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		for _, ci := range out.CommandInvocations {
			inv, plugins, ok := toInvocation(ci, spec.OutputLimit)
			invs = append(invs, inv)
			if !ok {
				tasks = append(tasks, fetchTask{inv: inv, commandID: st.id, document: spec.DocumentName, plugins: plugins, bucket: st.bucket, prefix: st.prefix})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return invs, tasks, nil
		}
		in.NextToken = out.NextToken
	}
}

// toInvocation converts a listed invocation. ok is false when its output must
// still be fetched (plugin Output truncated or ambiguous, or several steps).
func toInvocation(ci ssmtypes.CommandInvocation, limit int) (inv *Invocation, plugins []pluginRef, ok bool) {
	inv = &Invocation{
		InstanceID:    aws.ToString(ci.InstanceId),
		Status:        string(ci.Status),
		StatusDetails: aws.ToString(ci.StatusDetails),
		ResponseCode:  -1,
		StdoutURL:     aws.ToString(ci.StandardOutputUrl),
		StderrURL:     aws.ToString(ci.StandardErrorUrl),
	}
	ps := ci.CommandPlugins
	if len(ps) == 0 {
		return inv, nil, true
	}
	inv.StartedAt = validTime(ps[0].ResponseStartDateTime)
	inv.FinishedAt = validTime(ps[len(ps)-1].ResponseFinishDateTime)
	inv.ResponseCode = int(ps[len(ps)-1].ResponseCode)
	for _, p := range ps {
		if p.Status != ssmtypes.CommandPluginStatusSuccess && p.Status != ssmtypes.CommandPluginStatusPending {
			inv.ResponseCode = int(p.ResponseCode)
			break
		}
	}
	if inv.StdoutURL == "" {
		inv.StdoutURL = aws.ToString(ps[0].StandardOutputUrl)
	}
	if inv.StderrURL == "" {
		inv.StderrURL = aws.ToString(ps[0].StandardErrorUrl)
	}
	for _, p := range ps {
		ref := pluginRef{listed: aws.ToString(p.Name), output: aws.ToString(p.Output)}
		if pre := strings.TrimRight(aws.ToString(p.OutputS3KeyPrefix), "/"); pre != "" {
			ref.s3Dir = path.Base(pre)
		}
		if len(ps) > 1 {
			ref.name = ref.listed
		}
		plugins = append(plugins, ref)
	}
	if len(ps) > 1 {
		return inv, plugins, false
	}
	stdout, stderr, complete := splitPluginOutput(aws.ToString(ps[0].Output))
	if !complete {
		return inv, plugins, false
	}
	inv.Stdout, inv.StdoutTruncated = clip(stdout, limit)
	inv.Stderr, inv.StderrTruncated = clip(stderr, limit)
	return inv, nil, true
}

// splitPluginOutput splits a plugin's Output ("stdout" or
// "stdout\n----------ERROR-------\nstderr") when it is known to be complete.
func splitPluginOutput(out string) (stdout, stderr string, complete bool) {
	if len(out) >= pluginOutputTrust || strings.Contains(out, truncatedMarker) || strings.Contains(out, errorTruncatedMarker) {
		return "", "", false
	}
	switch strings.Count(out, errorMarker) {
	case 0:
		return out, "", true
	case 1:
		i := strings.Index(out, errorMarker)
		return out[:i], out[i+len(errorMarker):], true
	}
	return "", "", false
}

func validTime(t *time.Time) time.Time {
	if t == nil || t.Year() < 2000 {
		return time.Time{}
	}
	return t.UTC()
}

// clip cuts s to at most limit bytes on a UTF-8 boundary.
func clip(s string, limit int) (string, bool) {
	limit = max(limit, 0) // NoOutput
	if len(s) <= limit {
		return s, false
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	// A copy: a slice would keep the whole (up to 24,000-character) response alive.
	return strings.Clone(s[:cut]), true
}

// fetchOutputs runs the tasks with at most spec.FetchConcurrency in flight.
// Each task writes only its own invocation. Failures leave what the listing gave
// and mark the stream truncated.
func fetchOutputs(ctx context.Context, c Clients, spec Spec, tasks []fetchTask) {
	if len(tasks) == 0 {
		return
	}
	work := make(chan fetchTask)
	var wg sync.WaitGroup
	for w := 0; w < min(spec.FetchConcurrency, len(tasks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range work {
				fetchOne(ctx, c, spec.OutputLimit, t)
			}
		}()
	}
	for _, t := range tasks {
		if ctx.Err() != nil {
			t.inv.StdoutTruncated, t.inv.StderrTruncated = true, true
			continue
		}
		work <- t
	}
	close(work)
	wg.Wait()
}

// limitedBuilder keeps at most limit bytes (on a UTF-8 boundary).
type limitedBuilder struct {
	b         strings.Builder
	limit     int
	truncated bool
}

func (l *limitedBuilder) add(s string, truncated bool) {
	room := l.limit - l.b.Len()
	kept, cut := clip(s, max(room, 0))
	l.b.WriteString(kept)
	l.truncated = l.truncated || cut || truncated
}

func fetchOne(ctx context.Context, c Clients, limit int, t fetchTask) {
	out := limitedBuilder{limit: limit}
	errb := limitedBuilder{limit: limit}
	for _, p := range t.plugins {
		in := &ssm.GetCommandInvocationInput{CommandId: aws.String(t.commandID), InstanceId: aws.String(t.inv.InstanceID)}
		if p.name != "" {
			in.PluginName = aws.String(p.name)
		}
		gi, err := getInvocation(ctx, c.SSM, in)
		if err != nil {
			out.truncated, errb.truncated = true, true
			continue
		}
		so, se := aws.ToString(gi.StandardOutputContent), aws.ToString(gi.StandardErrorContent)
		// The agent cuts by bytes (notes/aws-behaviour.md#agent-output).
		soCapped := len(so) >= apiStdoutCap
		seCapped := len(se) >= apiStderrCap
		if so == "" && gi.Status != ssmtypes.CommandInvocationStatusSuccess && gi.Status != ssmtypes.CommandInvocationStatusFailed {
			// StandardOutputContent is empty unless the status is Success or Failed
			// (TimedOut, Cancelled): keep what the listing gave, and read S3 when
			// there is a bucket (notes/aws-behaviour.md#agent-output).
			var complete bool
			so, complete = pluginStdout(p.output)
			soCapped = !complete
		}
		if soCapped && t.bucket != "" && c.S3 != nil {
			key := s3Key(aws.ToString(gi.StandardOutputUrl), t, p, "stdout")
			if full, trunc, err := readS3(ctx, c.S3, t.bucket, key, limit-out.b.Len()); err == nil {
				so, soCapped = full, trunc
			} else {
				t.inv.OutputError = s3ReadError(t.bucket, key, err)
			}
		}
		if seCapped && t.bucket != "" && c.S3 != nil {
			key := s3Key(aws.ToString(gi.StandardErrorUrl), t, p, "stderr")
			if full, trunc, err := readS3(ctx, c.S3, t.bucket, key, limit-errb.b.Len()); err == nil {
				se, seCapped = full, trunc
			} else {
				t.inv.OutputError = s3ReadError(t.bucket, key, err)
			}
		}
		if soCapped {
			so = stripAgentCut(so)
		}
		if seCapped {
			se = stripAgentCut(se)
		}
		out.add(so, soCapped)
		errb.add(se, seCapped)
		if gi.ExecutionStartDateTime != nil && t.inv.StartedAt.IsZero() {
			if ts, err := time.Parse(time.RFC3339Nano, aws.ToString(gi.ExecutionStartDateTime)); err == nil {
				t.inv.StartedAt = ts.UTC()
			}
		}
	}
	t.inv.Stdout, t.inv.StdoutTruncated = out.b.String(), out.truncated
	t.inv.Stderr, t.inv.StderrTruncated = errb.b.String(), errb.truncated
}

// pluginStdout is the stdout part of a plugin's Output, and whether it is
// known to be complete.
func pluginStdout(output string) (string, bool) {
	if stdout, _, ok := splitPluginOutput(output); ok {
		return stdout, true
	}
	if i := strings.Index(output, "\n"+truncatedMarker); i >= 0 {
		return output[:i], false
	}
	if i := strings.Index(output, errorMarker); i >= 0 {
		return output[:i], false
	}
	return output, false
}

// withoutAgentFailure is stderr without the line the agent appends when the
// shell fails ("failed to run commands: exit status 2",
// notes/aws-behaviour.md#agent-exit-codes), to tell whether the script itself
// wrote anything there.
func withoutAgentFailure(stderr string) string {
	i := strings.LastIndex(stderr, "failed to run commands: ")
	if i < 0 || strings.Contains(stderr[i:], "\n") {
		return stderr
	}
	return stderr[:i]
}

// stripAgentCut removes the agent's truncation suffix from a stream it cut,
// with the U+FFFD left where its byte cut split a UTF-8 sequence (at most 3).
func stripAgentCut(s string) string {
	t, ok := strings.CutSuffix(s, agentTruncSuffix)
	if !ok {
		return s
	}
	for i := 0; i < 3; i++ {
		var cut bool
		if t, cut = strings.CutSuffix(t, "\uFFFD"); !cut {
			break
		}
	}
	return t
}

// getInvocation is GetCommandInvocation with a few retries for
// InvocationDoesNotExist (eventual consistency) and transient errors.
func getInvocation(ctx context.Context, api SSMAPI, in *ssm.GetCommandInvocationInput) (*ssm.GetCommandInvocationOutput, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var out *ssm.GetCommandInvocationOutput
		out, err = api.GetCommandInvocation(ctx, in)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil || fatalWhileWaiting(err) {
			return nil, err
		}
		if serr := poll.Sleep(ctx, time.Duration(attempt+1)*500*time.Millisecond); serr != nil {
			return nil, err
		}
	}
	return nil, err
}

// s3Key finds the object key of a stream: from the output URL (path-style
// https://s3.<region>.amazonaws.com/<bucket>/<key> or virtual-hosted
// https://<bucket>.s3.<region>.amazonaws.com/<key>), else the agent's layout
// <prefix>/<CommandId>/<InstanceId>/<plugin name>/<step name>/<stream>, both
// names without ':'; the step is the plugin id for schema 1.2 documents
// ("0.aws:runShellScript") and the step name for 2.x
// (notes/aws-behaviour.md#s3-output-keys).
func s3Key(rawURL string, t fetchTask, p pluginRef, stream string) string {
	if u, err := url.Parse(rawURL); err == nil && rawURL != "" {
		up := u.Path
		if strings.HasPrefix(up, "/"+t.bucket+"/") {
			return strings.TrimPrefix(up, "/"+t.bucket+"/")
		}
		if strings.HasPrefix(u.Host, t.bucket+".") && len(up) > 1 {
			return up[1:]
		}
	}
	noColon := func(s string) string { return strings.ReplaceAll(s, ":", "") }
	dir := p.s3Dir
	if dir == "" {
		dir = documentPluginDir(t.document)
		if strings.Contains(p.listed, ":") {
			dir = noColon(p.listed)
		}
	}
	step := "0." + dir // 1.2: the listed name is the plugin name
	if p.listed != "" && noColon(p.listed) != dir {
		step = noColon(p.listed) // 2.x: the listed name is the step name
	}
	parts := []string{}
	for _, s := range []string{t.prefix, t.commandID, t.inv.InstanceID, dir, step, stream} {
		if s = strings.Trim(s, "/"); s != "" {
			parts = append(parts, s)
		}
	}
	return path.Join(parts...)
}

// documentPluginDir is the plugin folder of the AWS documents the provider runs.
func documentPluginDir(document string) string {
	if document == "AWS-RunPowerShellScript" {
		return "awsrunPowerShellScript"
	}
	return "awsrunShellScript"
}

// readS3 reads at most limit bytes of an object (a Range request for limit+1
// bytes tells whether there is more).
func readS3(ctx context.Context, api S3API, bucket, key string, limit int) (string, bool, error) {
	if limit <= 0 {
		return "", true, nil
	}
	out, err := api.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(fmt.Sprintf("bytes=0-%d", limit)),
	})
	if err != nil {
		if errorCode(err) == "InvalidRange" { // empty object
			return "", false, nil
		}
		return "", false, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, int64(limit)+1))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	s, cut := clip(string(b), limit)
	return s, cut, nil
}
