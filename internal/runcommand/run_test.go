package runcommand_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

func TestRun_successOnThreeInstances(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 3, nil)
	var mu sync.Mutex
	var progress []runcommand.Progress
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids,
		Parameters:  cmds(`echo "hello from $AWS_SSM_INSTANCE_ID"`, `echo warn >&2`),
		Comment:     "engine test",
		Progress: func(p runcommand.Progress) {
			mu.Lock()
			progress = append(progress, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CommandIDs) != 1 || len(res.CommandIDs[0]) != 36 {
		t.Fatalf("command ids = %v", res.CommandIDs)
	}
	if res.Status != "Success" || res.TargetCount != 3 || res.CompletedCount != 3 || res.ErrorCount != 0 {
		t.Errorf("result = %+v", res)
	}
	if res.RequestedAt.IsZero() || res.CompletedAt.Before(res.RequestedAt) {
		t.Errorf("requested %s, completed %s", res.RequestedAt, res.CompletedAt)
	}
	for _, id := range ids {
		inv := res.Invocations[id]
		if inv == nil {
			t.Fatalf("no invocation for %s", id)
		}
		if inv.Status != "Success" || inv.StatusDetails != "Success" || inv.ResponseCode != 0 {
			t.Errorf("%s: %+v", id, inv)
		}
		if want := "hello from " + id + "\n"; inv.Stdout != want {
			t.Errorf("%s stdout = %q, want %q", id, inv.Stdout, want)
		}
		if inv.Stderr != "warn\n" {
			t.Errorf("%s stderr = %q", id, inv.Stderr)
		}
		if inv.StdoutTruncated || inv.StderrTruncated {
			t.Errorf("%s marked truncated", id)
		}
		if inv.StartedAt.IsZero() || inv.FinishedAt.Before(inv.StartedAt) {
			t.Errorf("%s started %s finished %s", id, inv.StartedAt, inv.FinishedAt)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(progress) == 0 || progress[len(progress)-1].Completed != 3 || progress[len(progress)-1].Targets != 3 {
		t.Errorf("progress = %+v", progress)
	}
	// Short output comes with the listing: no per-instance calls.
	if n := e.CallCount("ssm.GetCommandInvocation"); n != 0 {
		t.Errorf("%d GetCommandInvocation calls for short output, want 0", n)
	}
	if n := e.CallCount("ssm.ListCommandInvocations"); n != 1 {
		t.Errorf("%d ListCommandInvocations calls, want 1", n)
	}
}

func TestRun_nonZeroExit(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 3, nil)
	bad := ids[1]
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids,
		MaxErrors:   "100%",
		Parameters: cmds(`if [ "$AWS_SSM_INSTANCE_ID" = "`+bad+`" ]; then`,
			`  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo "line $i" >&2; done; echo "disk full" >&2; exit 3`,
			`fi`, `echo fine`),
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FailedError", err)
	}
	if res == nil || len(res.CommandIDs) != 1 || fe.Result != res {
		t.Fatalf("result not returned with the error: %+v", res)
	}
	if len(fe.Failed) != 1 || fe.Failed[0].InstanceID != bad || fe.Failed[0].ResponseCode != 3 || fe.Failed[0].Status != "Failed" {
		t.Fatalf("failed = %+v", fe.Failed)
	}
	msg := err.Error()
	for _, want := range []string{"1 of 3 invocations failed", res.CommandIDs[0], bad, "exit code 3", "disk full", "line 12"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "line 2\n") {
		t.Errorf("error quotes more than the tail: %q", msg)
	}
	if res.Invocations[ids[0]].Stdout != "fine\n" {
		t.Errorf("successful invocation stdout = %q", res.Invocations[ids[0]].Stdout)
	}
}

func TestRun_failedErrorListsFirstFiveThenCount(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 8, nil)
	_, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, MaxErrors: "100%", Parameters: cmds(`echo "oops on $AWS_SSM_INSTANCE_ID"`, `exit 2`),
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 8 {
		t.Fatalf("err = %v", err)
	}
	for i := 1; i < len(fe.Failed); i++ {
		if fe.Failed[i-1].InstanceID >= fe.Failed[i].InstanceID {
			t.Errorf("failed not sorted by instance id")
		}
	}
	msg := err.Error()
	if !strings.Contains(msg, "8 of 8 invocations failed") || !strings.Contains(msg, "and 3 more failed") {
		t.Errorf("error = %q", msg)
	}
	if !strings.Contains(msg, "oops on "+fe.Failed[4].InstanceID) || strings.Contains(msg, fe.Failed[5].InstanceID) {
		t.Errorf("error should detail exactly the first five: %q", msg)
	}
}

func TestRun_executionTimedOut(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{TimeScale: 0.05}, false)
	ids := addReady(t, e, 1, nil)
	start := time.Now()
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids,
		Parameters:  map[string][]string{"commands": {"echo started", "sleep 30"}, "executionTimeout": {"1"}},
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FailedError", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %s: the timeout did not end the run", time.Since(start))
	}
	inv := res.Invocations[ids[0]]
	if inv.Status != "TimedOut" || inv.StatusDetails != "ExecutionTimedOut" || inv.ResponseCode != 137 {
		t.Errorf("invocation = %+v", inv)
	}
	if res.Status != "TimedOut" {
		t.Errorf("status = %s", res.Status)
	}
	if !strings.Contains(err.Error(), "TimedOut (ExecutionTimedOut), exit code 137") {
		t.Errorf("error = %q", err)
	}
}

func TestRun_deliveryTimedOutOnOfflineAgent(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{TimeScale: 0.02}, false)
	ids := addReady(t, e, 2, nil)
	if err := e.SetAgentStopped(ids[1], true); err != nil {
		t.Fatal(err)
	}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, MaxErrors: "100%", DeliveryTimeout: 30 * time.Second, Parameters: cmds("echo ok"),
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want *FailedError", err)
	}
	if inv := res.Invocations[ids[1]]; inv.Status != "TimedOut" || inv.StatusDetails != "DeliveryTimedOut" || inv.ResponseCode != -1 {
		t.Errorf("offline invocation = %+v", inv)
	}
	if inv := res.Invocations[ids[0]]; inv.Status != "Success" || inv.Stdout != "ok\n" {
		t.Errorf("online invocation = %+v", inv)
	}
	if !strings.Contains(err.Error(), "DeliveryTimedOut") {
		t.Errorf("error = %q", err)
	}
}

func TestRun_maxErrorsTerminates(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 6, nil)
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, MaxConcurrency: "1", MaxErrors: "0", Parameters: cmds("exit 1"),
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v", err)
	}
	terminated := 0
	for _, inv := range res.Invocations {
		if inv.StatusDetails == "Terminated" {
			terminated++
		}
	}
	if terminated != 5 || len(fe.Failed) != 6 || res.Status != "Failed" {
		t.Errorf("terminated = %d, failed = %d, status %s", terminated, len(fe.Failed), res.Status)
	}
	// The real failure is counted and shown first; the terminated ones apart.
	if fe.Failed[0].StatusDetails != "Failed" {
		t.Errorf("first failure shown is %s, want the real failure", fe.Failed[0].StatusDetails)
	}
	if got, want := fe.Summary(), "failed on 1 of 6 instances (5 not run: Terminated after MaxErrors)"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "1 of 6 invocations failed (5 not run: Terminated after MaxErrors)") ||
		!strings.Contains(msg, "- "+fe.Failed[0].InstanceID+": Failed, exit code 1") ||
		!strings.Contains(msg, ": not run, Terminated after MaxErrors") || !strings.Contains(msg, "and 2 more") {
		t.Errorf("error = %q", msg)
	}
}

func TestRun_cancelOnContextEnd(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 2, nil)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	res, err := runcommand.Run(ctx, c, runcommand.Spec{
		InstanceIDs: ids,
		Parameters:  cmds(`echo $$ > "`+dir+`/$AWS_SSM_INSTANCE_ID.pid"`, "sleep 60"),
	})
	var ce *runcommand.CancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *CancelledError", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !ce.CancelSent || ce.CancelErr != nil {
		t.Errorf("cancelled error = %+v", ce)
	}
	if res == nil || len(res.CommandIDs) != 1 || ce.Result != res {
		t.Fatalf("command id lost: %+v", res)
	}
	if n := e.CallCount("ssm.CancelCommand"); n != 1 {
		t.Errorf("CancelCommand calls = %d, want 1", n)
	}
	if !strings.Contains(err.Error(), res.CommandIDs[0]) || !strings.Contains(err.Error(), "CancelCommand sent") {
		t.Errorf("error = %q", err)
	}
	// Delivery ramps up (1 instance, then more as invocations finish), so only the
	// first instance has started when the context ends; the other is cancelled
	// before it runs.
	started := 0
	for _, id := range ids {
		if inv := res.Invocations[id]; inv == nil || inv.Status != "Cancelled" {
			t.Errorf("%s invocation after cancel = %+v", id, inv)
		}
		b, rerr := os.ReadFile(filepath.Join(dir, id+".pid"))
		if rerr != nil {
			continue
		}
		started++
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		emutest.Eventually(t, 5*time.Second, func() error {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("process %d of %s still running after cancel", pid, id)
			}
			return nil
		})
	}
	if started == 0 {
		t.Fatal("no process started: nothing to kill")
	}
}

func TestRun_splitsMoreThan50IDs(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 120, nil)
	polls := 0
	res, err := runcommand.Run(ctxTimeout(t, 2*time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, MaxConcurrency: "100%", Parameters: cmds(`echo "$AWS_SSM_INSTANCE_ID"`),
		Progress: func(runcommand.Progress) { polls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	// The three commands are waited for together: one ListCommands per poll
	// (three per poll if polled one by one), give or take one by-id call for a
	// command a listing did not show yet.
	if n := e.CallCount("ssm.ListCommands"); polls == 0 || n > int64(polls)+1 {
		t.Errorf("%d ListCommands calls for %d polls of 3 commands, want at most one per poll", n, polls)
	}
	if len(res.CommandIDs) != 3 || e.CallCount("ssm.SendCommand") != 3 {
		t.Fatalf("command ids = %v, SendCommand calls %d", res.CommandIDs, e.CallCount("ssm.SendCommand"))
	}
	if len(res.Invocations) != 120 || res.TargetCount != 120 || res.CompletedCount != 120 {
		t.Fatalf("%d invocations, target %d, completed %d", len(res.Invocations), res.TargetCount, res.CompletedCount)
	}
	for _, id := range ids {
		if inv := res.Invocations[id]; inv == nil || inv.Stdout != id+"\n" {
			t.Errorf("%s: %+v", id, inv)
		}
	}
}

func TestRun_tagTargetsOver200Instances(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{MaxProcesses: 16}, false)
	web := addReady(t, e, 210, map[string]string{"Role": "web"})
	addReady(t, e, 15, map[string]string{"Role": "db"})
	res, err := runcommand.Run(ctxTimeout(t, 3*time.Minute), c, runcommand.Spec{
		Targets:        []runcommand.Target{{Key: "tag:Role", Values: []string{"web"}}},
		MaxConcurrency: "100%",
		Parameters:     cmds("echo ok"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invocations) != 210 || res.TargetCount != 210 {
		t.Fatalf("%d invocations, target count %d, want 210", len(res.Invocations), res.TargetCount)
	}
	for _, id := range web {
		if inv := res.Invocations[id]; inv == nil || inv.Stdout != "ok\n" {
			t.Fatalf("%s: %+v", id, inv)
		}
	}
	// 5 pages of 50 to collect; no per-instance calls.
	if n := e.CallCount("ssm.ListCommandInvocations"); n != 5 {
		t.Errorf("ListCommandInvocations calls = %d, want 5", n)
	}
	if n := e.CallCount("ssm.GetCommandInvocation"); n != 0 {
		t.Errorf("GetCommandInvocation calls = %d, want 0", n)
	}
}

// bigOutput is what bigOutputCommand prints: n lines of 50 bytes.
func bigOutput(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%049d\n", i)
	}
	return b.String()
}

func bigOutputCommand(n int, stream string) string {
	redirect := ""
	if stream == "stderr" {
		redirect = " >&2"
	}
	return fmt.Sprintf(`i=0; while [ $i -lt %d ]; do printf '%%049d\n' $i%s; i=$((i+1)); done`, n, redirect)
}

func TestRun_outputBeyondAPICapsFromS3(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 2, nil)
	s3c := sdkS3(e)
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("run-output")}); err != nil {
		t.Fatal(err)
	}
	wantOut, wantErr := bigOutput(2000), bigOutput(400) // 100,000 and 20,000 bytes
	spec := runcommand.Spec{
		InstanceIDs:        ids,
		OutputS3BucketName: "run-output",
		OutputS3KeyPrefix:  "logs/run",
		OutputLimit:        200_000,
		Parameters:         cmds(bigOutputCommand(2000, "stdout"), bigOutputCommand(400, "stderr")),
	}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		inv := res.Invocations[id]
		if inv.Stdout != wantOut || inv.StdoutTruncated {
			t.Errorf("%s stdout: %d bytes (truncated %v), want %d complete", id, len(inv.Stdout), inv.StdoutTruncated, len(wantOut))
		}
		if inv.Stderr != wantErr || inv.StderrTruncated {
			t.Errorf("%s stderr: %d bytes (truncated %v), want %d complete", id, len(inv.Stderr), inv.StderrTruncated, len(wantErr))
		}
		if !strings.Contains(inv.StdoutURL, "logs/run/"+res.CommandIDs[0]+"/"+id+"/") {
			t.Errorf("stdout url = %q", inv.StdoutURL)
		}
	}
	if n := e.CallCount("s3.GetObject"); n != 4 {
		t.Errorf("S3 GetObject calls = %d, want 4", n)
	}

	// output_limit: at most OutputLimit bytes, marked truncated.
	spec.OutputLimit = 30_000
	res, err = runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		inv := res.Invocations[id]
		if inv.Stdout != wantOut[:30_000] || !inv.StdoutTruncated {
			t.Errorf("%s limited stdout: %d bytes (truncated %v), want the first 30000, truncated", id, len(inv.Stdout), inv.StdoutTruncated)
		}
		if inv.Stderr != wantErr || inv.StderrTruncated {
			t.Errorf("%s stderr under the limit: %d bytes, truncated %v", id, len(inv.Stderr), inv.StderrTruncated)
		}
	}

	// Without a bucket: what the agent reported (24,000 bytes ending with its
	// suffix, which is removed), honestly marked truncated.
	spec.OutputS3BucketName, spec.OutputS3KeyPrefix, spec.OutputLimit = "", "", 0
	res, err = runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if err != nil {
		t.Fatal(err)
	}
	inv := res.Invocations[ids[0]]
	if inv.Stdout != wantOut[:24000-len("--output truncated--")] || !inv.StdoutTruncated || inv.Stderr != wantErr[:8000] || !inv.StderrTruncated {
		t.Errorf("without bucket: stdout %d bytes (truncated %v), stderr %d (truncated %v)", len(inv.Stdout), inv.StdoutTruncated, len(inv.Stderr), inv.StderrTruncated)
	}
}

func TestRun_invocationVisibilityDelay(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 3, nil)
	// Long enough that a loaded machine still collects inside the window.
	e.SetDelays(-1, -1, 4*time.Second)
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{InstanceIDs: ids, Parameters: cmds("echo visible")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invocations) != 3 {
		t.Fatalf("%d invocations, want 3", len(res.Invocations))
	}
	if n := e.CallCount("ssm.ListCommandInvocations"); n < 2 {
		t.Errorf("ListCommandInvocations calls = %d: the empty list while invisible was not met", n)
	}
	for _, id := range ids {
		if res.Invocations[id].Stdout != "visible\n" {
			t.Errorf("%s: %+v", id, res.Invocations[id])
		}
	}
}

func TestRun_invalidInstanceIDRetriedWithinAgentWait(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{RegistrationDelay: time.Second}, false)
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 2, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, AgentWaitTimeout: 30 * time.Second, Parameters: cmds("echo registered"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.CallCount("ssm.SendCommand"); n < 2 {
		t.Errorf("SendCommand calls = %d: InvalidInstanceId was never seen", n)
	}
	if len(res.Invocations) != 2 || res.Invocations[ids[0]].Stdout != "registered\n" {
		t.Errorf("result = %+v", res.Invocations)
	}

	// Without agent wait the error names the instance.
	late, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	e.SetDelays(time.Hour, -1, -1)
	_, err = runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: late, AgentWaitTimeout: time.Second, Parameters: cmds("echo never"),
	})
	if err == nil || !strings.Contains(err.Error(), late[0]) || !strings.Contains(err.Error(), "InvalidInstanceId") {
		t.Errorf("err = %v, want InvalidInstanceId naming %s", err, late[0])
	}
}

func TestRun_throttlingAndServerErrors(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, true)
	ids := addReady(t, e, 60, nil)
	e.SetFault("ssm", awsemu.Fault{ThrottleRate: 0.3, ServerErrorRate: 0.05})
	res, err := runcommand.Run(ctxTimeout(t, 2*time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, MaxConcurrency: "100%", Parameters: cmds(`echo "$AWS_SSM_INSTANCE_ID"`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invocations) != 60 || len(res.CommandIDs) != 2 {
		t.Fatalf("%d invocations, %d commands", len(res.Invocations), len(res.CommandIDs))
	}
	for _, id := range ids {
		if res.Invocations[id].Stdout != id+"\n" {
			t.Errorf("%s: %+v", id, res.Invocations[id])
		}
	}
}

func TestRun_rejectsBadSpec(t *testing.T) {
	t.Parallel()
	c := runcommand.Clients{}
	for name, tc := range map[string]struct {
		spec runcommand.Spec
		want string
	}{
		"no target":  {runcommand.Spec{Parameters: cmds("true")}, "no target"},
		"both":       {runcommand.Spec{InstanceIDs: []string{"i-12345678"}, Targets: []runcommand.Target{{Key: "tag:a", Values: []string{"b"}}}, Parameters: cmds("true")}, "together"},
		"bad id":     {runcommand.Spec{InstanceIDs: []string{"web-1"}, Parameters: cmds("true")}, `"web-1" is not an instance id`},
		"dup id":     {runcommand.Spec{InstanceIDs: []string{"i-12345678", "i-12345678"}, Parameters: cmds("true")}, "more than once"},
		"no command": {runcommand.Spec{InstanceIDs: []string{"i-12345678"}}, "at least one command"},
		"delivery":   {runcommand.Spec{InstanceIDs: []string{"i-12345678"}, Parameters: cmds("true"), DeliveryTimeout: time.Second}, "delivery timeout"},
		"comment":    {runcommand.Spec{InstanceIDs: []string{"i-12345678"}, Parameters: cmds("true"), Comment: strings.Repeat("x", 101)}, "comment"},
	} {
		_, err := runcommand.Run(t.Context(), c, tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

func TestImport_roundTrip(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 2, nil)
	spec := runcommand.Spec{
		InstanceIDs: ids, Comment: "import me", MaxConcurrency: "2", MaxErrors: "1",
		DeliveryTimeout: 45 * time.Second, CloudWatchLogEnabled: true, CloudWatchLogGroup: "/runs",
		Parameters: map[string][]string{"commands": {`echo "imported $AWS_SSM_INSTANCE_ID"`}, "executionTimeout": {"120"}},
	}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, gotSpec, err := runcommand.Import(ctxTimeout(t, time.Minute), c, res.CommandIDs[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	if gotSpec.DocumentName != "AWS-RunShellScript" || gotSpec.Comment != spec.Comment || gotSpec.MaxConcurrency != "2" ||
		gotSpec.MaxErrors != "1" || gotSpec.DeliveryTimeout != spec.DeliveryTimeout || !gotSpec.CloudWatchLogEnabled ||
		gotSpec.CloudWatchLogGroup != "/runs" || strings.Join(gotSpec.InstanceIDs, ",") != strings.Join(ids, ",") ||
		len(gotSpec.Targets) != 0 || gotSpec.Parameters["commands"][0] != spec.Parameters["commands"][0] ||
		gotSpec.Parameters["executionTimeout"][0] != "120" {
		t.Errorf("imported spec = %+v", gotSpec)
	}
	if got.Status != res.Status || got.TargetCount != 2 || got.CompletedCount != 2 || !got.RequestedAt.Equal(res.RequestedAt) {
		t.Errorf("imported result = %+v, ran %+v", got, res)
	}
	for _, id := range ids {
		a, b := res.Invocations[id], got.Invocations[id]
		if b == nil || a.Stdout != b.Stdout || a.Status != b.Status || a.ResponseCode != b.ResponseCode || !a.FinishedAt.Equal(b.FinishedAt) {
			t.Errorf("%s: ran %+v, imported %+v", id, a, b)
		}
	}

	_, _, err = runcommand.Import(ctxTimeout(t, time.Minute), c, "00000000-0000-0000-0000-000000000000", 0)
	if !errors.Is(err, runcommand.ErrCommandNotFound) {
		t.Errorf("unknown id: err = %v, want ErrCommandNotFound", err)
	}
	_, _, err = runcommand.Import(ctxTimeout(t, time.Minute), c, "not-an-id", 0)
	if !errors.Is(err, runcommand.ErrCommandNotFound) {
		t.Errorf("malformed id: err = %v, want ErrCommandNotFound", err)
	}
}

// Without SDK retries, throttling and 5xx reach the engine: the wait and the
// collection poll through them instead of failing.
func TestRun_transientErrorsWhileWaitingAndCollecting(t *testing.T) {
	t.Parallel()
	e, _ := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 3, nil)
	cfg := emutest.Config(e)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	client := ssm.NewFromConfig(cfg)
	e.SetFault("ssm.ListCommands", awsemu.Fault{ThrottleRate: 0.6})
	// The first three collection calls fail (whenever the wait ends).
	e.SetFault("ssm.ListCommandInvocations", awsemu.Fault{ServerErrorRate: 1})
	counting := &errorCounter{SSMAPI: client, afterCollectErrs: func(n int) {
		if n == 3 {
			e.SetFault("ssm.ListCommandInvocations", awsemu.Fault{})
		}
	}}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), runcommand.Clients{SSM: counting}, runcommand.Spec{
		InstanceIDs: ids, Parameters: cmds("sleep 1", "echo done"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invocations) != 3 || res.Invocations[ids[2]].Stdout != "done\n" {
		t.Errorf("result = %+v", res.Invocations)
	}
	if counting.waitErrs == 0 || counting.collectErrs == 0 {
		t.Errorf("faults seen: %d while waiting, %d while collecting; want some of each (calls %v)", counting.waitErrs, counting.collectErrs, e.Calls())
	}
}

// errorCounter counts the errors the engine saw.
type errorCounter struct {
	runcommand.SSMAPI
	mu                    sync.Mutex
	waitErrs, collectErrs int
	afterCollectErrs      func(n int)
}

func (c *errorCounter) ListCommands(ctx context.Context, in *ssm.ListCommandsInput, opts ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error) {
	out, err := c.SSMAPI.ListCommands(ctx, in, opts...)
	if err != nil {
		c.mu.Lock()
		c.waitErrs++
		c.mu.Unlock()
	}
	return out, err
}

func (c *errorCounter) ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, opts ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error) {
	out, err := c.SSMAPI.ListCommandInvocations(ctx, in, opts...)
	if err != nil {
		c.mu.Lock()
		c.collectErrs++
		if c.afterCollectErrs != nil {
			c.afterCollectErrs(c.collectErrs)
		}
		c.mu.Unlock()
	}
	return out, err
}

// A SendCommand error on a later chunk cancels the commands already sent and
// keeps their ids.
func TestRun_sendErrorOnLaterChunkCancelsEarlierOnes(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 59, nil)
	e.SetDelays(time.Hour, -1, -1)
	late, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: append(ids, late...), Parameters: cmds("sleep 30"),
	})
	if err == nil || !strings.Contains(err.Error(), late[0]) {
		t.Fatalf("err = %v, want one naming %s", err, late[0])
	}
	if res == nil || len(res.CommandIDs) != 1 {
		t.Fatalf("result = %+v, want the first command's id", res)
	}
	if n := e.CallCount("ssm.CancelCommand"); n != 1 {
		t.Errorf("CancelCommand calls = %d, want 1", n)
	}
}

func TestProgress_String(t *testing.T) {
	if got := (runcommand.Progress{Targets: 1000, Completed: 12, Errors: 1}).String(); got != "12/1000 invocations complete, 1 failed" {
		t.Errorf("got %q", got)
	}
}
