package runcommand_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// Engine tests of what the real agent and API do with output and exit codes
// (notes/aws-behaviour.md#agent-output, #agent-exit-codes).

func makeBucket(t *testing.T, e *awsemu.Emulator, name string) {
	t.Helper()
	if _, err := sdkS3(e).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
}

// Multi-byte output cut at 24,000 bytes (12,001 characters here) is truncated:
// without a bucket it is marked so, with one the whole output comes from S3.
func TestRun_multiByteOutputAtTheCut(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	makeBucket(t, e, "mb-out")
	full := "a" + strings.Repeat("é", 12000) // 24,001 bytes
	spec := runcommand.Spec{InstanceIDs: ids, OutputLimit: 100_000,
		Parameters: cmds(`printf a; i=0; while [ $i -lt 12000 ]; do printf 'é'; i=$((i+1)); done`)}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if err != nil {
		t.Fatal(err)
	}
	inv := res.Invocations[ids[0]]
	// The agent kept 23,980 bytes, splitting an "é"; its suffix and the broken
	// character are not output.
	if want := "a" + strings.Repeat("é", 11989); inv.Stdout != want || !inv.StdoutTruncated {
		t.Errorf("without bucket: %d bytes (truncated %v), want %d bytes, truncated", len(inv.Stdout), inv.StdoutTruncated, len(want))
	}
	spec.OutputS3BucketName = "mb-out"
	res, err = runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if inv := res.Invocations[ids[0]]; inv.Stdout != full || inv.StdoutTruncated {
		t.Errorf("with bucket: %d bytes (truncated %v), want the whole %d bytes", len(inv.Stdout), inv.StdoutTruncated, len(full))
	}
	if n := e.CallCount("s3.GetObject"); n != 1 {
		t.Errorf("S3 GetObject calls = %d, want 1", n)
	}
}

// A timed-out invocation keeps what the script wrote: GetCommandInvocation's
// empty StandardOutputContent does not replace it.
func TestRun_timedOutInvocationKeepsOutput(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{TimeScale: 0.05}, false)
	ids := addReady(t, e, 1, nil)
	makeBucket(t, e, "to-out")
	big := bigOutput(100) // 5,000 bytes: more than the plugin Output holds
	for _, tc := range []struct {
		name, bucket, script, want string
		truncated                  bool
	}{
		{"small, from the listing", "", "echo partial", "partial\n", false},
		{"large, no bucket: what the listing holds", "", bigOutputCommand(100, "stdout"), "", true},
		{"large, from S3", "to-out", bigOutputCommand(100, "stdout"), big, false},
	} {
		res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
			InstanceIDs: ids, OutputS3BucketName: tc.bucket,
			Parameters: map[string][]string{"commands": {tc.script, "sleep 60"}, "executionTimeout": {"20"}},
		})
		var fe *runcommand.FailedError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: err = %v, want *FailedError", tc.name, err)
		}
		inv := res.Invocations[ids[0]]
		if inv.Status != "TimedOut" || inv.StdoutTruncated != tc.truncated {
			t.Errorf("%s: %s, truncated %v", tc.name, inv.Status, inv.StdoutTruncated)
		}
		switch {
		case tc.want != "" && inv.Stdout != tc.want:
			t.Errorf("%s: stdout %d bytes %q, want %d bytes", tc.name, len(inv.Stdout), inv.Stdout[:min(40, len(inv.Stdout))], len(tc.want))
		case tc.want == "" && (len(inv.Stdout) < 2000 || !strings.HasPrefix(big, inv.Stdout)):
			t.Errorf("%s: stdout %d bytes, want the start of the output the listing gave", tc.name, len(inv.Stdout))
		}
	}
}

// Exit codes as the agent reports them, through the engine.
func TestRun_agentExitCodes(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	for _, tc := range []struct {
		name, script, status, details string
		code                          int
	}{
		{"oom-style 137", `sh -c 'kill -9 $$'`, "TimedOut", "ExecutionTimedOut", 137},
		{"signal-killed shell", `kill -9 $$`, "Failed", "Failed", -1},
	} {
		res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{InstanceIDs: ids, Parameters: cmds(tc.script)})
		var fe *runcommand.FailedError
		if !errors.As(err, &fe) {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		inv := res.Invocations[ids[0]]
		if inv.Status != tc.status || inv.StatusDetails != tc.details || inv.ResponseCode != tc.code {
			t.Errorf("%s: %s/%s %d", tc.name, inv.Status, inv.StatusDetails, inv.ResponseCode)
		}
	}
}

// A cancel that reaches the agent before the plugin starts: Cancelled, exit
// code 1, as the engine reports it after the caller gives up.
func TestRun_cancelBeforePluginStarts(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{MaxProcesses: 1}, false)
	ids := addReady(t, e, 2, nil)
	// Take the host's only process slot.
	ssmc := sdkSSM(e)
	busy, err := ssmc.SendCommand(t.Context(), &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids[:1], Parameters: cmds("sleep 30"),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Frees the slot; best effort, the test's outcome is settled by then.
		_, _ = ssmc.CancelCommand(t.Context(), &ssm.CancelCommandInput{CommandId: busy.Command.CommandId})
	}()
	// The slot is taken once the busy command's process runs.
	emutest.Eventually(t, 10*time.Second, func() error {
		if running, _ := e.ProcessStats(); running != 1 {
			return errors.New("the busy command's process did not start")
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	res, err := runcommand.Run(ctx, c, runcommand.Spec{InstanceIDs: ids[1:], Parameters: cmds("echo never")})
	var ce *runcommand.CancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *CancelledError", err)
	}
	// The engine's own report stops at the cancel; the invocation's end is read back.
	emutest.Eventually(t, 10*time.Second, func() error {
		gi, err := ssmc.GetCommandInvocation(t.Context(), &ssm.GetCommandInvocationInput{
			CommandId: aws.String(res.CommandIDs[0]), InstanceId: aws.String(ids[1])})
		if err != nil {
			t.Fatal(err)
		}
		if gi.Status != "Cancelled" {
			return fmt.Errorf("status %s, want Cancelled", gi.Status)
		}
		if gi.ResponseCode != 1 {
			t.Errorf("exit code %d, want 1", gi.ResponseCode)
		}
		return nil
	})
}

// A 2.x document with two steps, the second failing: each step's stdout and
// stderr once, in order, read per step (GetCommandInvocation with PluginName),
// the failing step's exit code, and the run failed.
func TestRun_twoStepDocumentOutput(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	content := `{"schemaVersion":"2.2","description":"two steps","mainSteps":[
	{"action":"aws:runShellScript","name":"first","inputs":{"runCommand":["echo one","echo first err >&2"]}},
	{"action":"aws:runShellScript","name":"second","inputs":{"runCommand":["echo two","echo second err >&2","exit 4"]}}]}`
	if _, err := sdkSSM(e).CreateDocument(t.Context(), &ssm.CreateDocumentInput{
		Name: aws.String("TwoSteps"), Content: aws.String(content), DocumentType: "Command"}); err != nil {
		t.Fatal(err)
	}
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{DocumentName: "TwoSteps", InstanceIDs: ids})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 1 {
		t.Fatalf("err = %v, want a FailedError naming the one instance", err)
	}
	inv := res.Invocations[ids[0]]
	if inv.Stdout != "one\ntwo\n" || inv.StdoutTruncated {
		t.Errorf("stdout %q (truncated %v), want \"one\\ntwo\\n\"", inv.Stdout, inv.StdoutTruncated)
	}
	// The agent adds its own line for a failing shell step.
	if inv.Stderr != "first err\nsecond err\nfailed to run commands: exit status 4" || inv.ResponseCode != 4 || inv.Status != "Failed" {
		t.Errorf("stderr %q, response code %d, status %s: want both steps' stderr, 4, Failed", inv.Stderr, inv.ResponseCode, inv.Status)
	}
	if n := e.CallCount("ssm.GetCommandInvocation"); n < 2 {
		t.Errorf("%d GetCommandInvocation calls, want one per step at least", n)
	}
}
