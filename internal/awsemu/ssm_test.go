package awsemu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// newSSMTest starts an emulator and returns it with an SSM client.
func newSSMTest(t testing.TB, opts Options) (*Emulator, *ssm.Client) {
	t.Helper()
	e, cfg := newTestEmulator(t, opts)
	return e, ssm.NewFromConfig(cfg)
}

// onlineInstances adds Ready instances and waits until their agents are Online.
func onlineInstances(t testing.TB, e *Emulator, spec InstanceSpec) []string {
	t.Helper()
	spec.Ready = true
	ids, err := e.AddInstances(spec)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		for _, id := range ids {
			if inst, _ := e.Instance(id); inst.PingStatus != PingOnline {
				return fmt.Errorf("instance %s did not come Online (PingStatus %q)", id, inst.PingStatus)
			}
		}
		return nil
	})
	return ids
}

func send(t testing.TB, cl *ssm.Client, in *ssm.SendCommandInput) *ssmtypes.Command {
	t.Helper()
	if in.DocumentName == nil {
		in.DocumentName = aws.String("AWS-RunShellScript")
	}
	out, err := cl.SendCommand(t.Context(), in)
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	return out.Command
}

func shell(cmds ...string) map[string][]string { return map[string][]string{"commands": cmds} }

// waitCommand polls ListCommands until the command is terminal.
func waitCommand(t testing.TB, cl *ssm.Client, id string, within time.Duration) ssmtypes.Command {
	t.Helper()
	var c ssmtypes.Command
	eventually(t, within, func() error {
		out, err := cl.ListCommands(t.Context(), &ssm.ListCommandsInput{CommandId: aws.String(id)})
		if err != nil {
			t.Fatalf("ListCommands: %v", err)
		}
		if len(out.Commands) != 1 {
			t.Fatalf("ListCommands returned %d commands", len(out.Commands))
		}
		c = out.Commands[0]
		switch c.Status {
		case ssmtypes.CommandStatusPending, ssmtypes.CommandStatusInProgress, ssmtypes.CommandStatusCancelling:
			return fmt.Errorf("command %s still %s", id, c.Status)
		}
		return nil
	})
	return c
}

func invocation(t testing.TB, cl *ssm.Client, cmdID, instID string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	out, err := cl.GetCommandInvocation(t.Context(), &ssm.GetCommandInvocationInput{CommandId: aws.String(cmdID), InstanceId: aws.String(instID)})
	if err != nil {
		t.Fatalf("GetCommandInvocation: %v", err)
	}
	return out
}

// processGone reports whether pid no longer runs (absent or a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndex(s, ")")
	return i >= 0 && len(s) > i+2 && s[i+2] == 'Z'
}

func waitPidFile(t testing.TB, path string) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return nil
			}
		}
		return fmt.Errorf("pid file %s never written", path)
	})
	return pid
}

func ssmAPICode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestSSMSendCommandValidation(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 2})
	unregistered, _ := e.AddInstances(InstanceSpec{Count: 1}) // no profile: never registers
	many := make([]string, 51)
	for i := range many {
		many[i] = "i-" + strings.Repeat("0", 16) + strconv.Itoa(i%10)
	}
	ok := func(in *ssm.SendCommandInput) *ssm.SendCommandInput {
		if in.DocumentName == nil {
			in.DocumentName = aws.String("AWS-RunShellScript")
		}
		if in.InstanceIds == nil && in.Targets == nil {
			in.InstanceIds = ids[:1]
		}
		if in.Parameters == nil {
			in.Parameters = shell("true")
		}
		return in
	}
	cases := []struct {
		name string
		in   *ssm.SendCommandInput
		code string
		typ  any
	}{
		{"bad document name", ok(&ssm.SendCommandInput{DocumentName: aws.String("x!")}), "ValidationException", &ssmtypes.ValidationException{}},
		{"unknown document", ok(&ssm.SendCommandInput{DocumentName: aws.String("No-Such-Doc")}), "InvalidDocument", &ssmtypes.InvalidDocument{}},
		{"bad document version", ok(&ssm.SendCommandInput{DocumentVersion: aws.String("v1")}), "InvalidDocumentVersion", &ssmtypes.InvalidDocumentVersion{}},
		{"missing document version", ok(&ssm.SendCommandInput{DocumentVersion: aws.String("7")}), "InvalidDocumentVersion", &ssmtypes.InvalidDocumentVersion{}},
		{"too many instance ids", ok(&ssm.SendCommandInput{InstanceIds: many}), "ValidationException", &ssmtypes.ValidationException{}},
		{"ill-formed instance id", ok(&ssm.SendCommandInput{InstanceIds: []string{"i-123"}}), "ValidationException", &ssmtypes.ValidationException{}},
		{"too many targets", ok(&ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag:a"), Values: []string{"1"}}, {Key: aws.String("tag:b"), Values: []string{"1"}}, {Key: aws.String("tag:c"), Values: []string{"1"}}, {Key: aws.String("tag:d"), Values: []string{"1"}}, {Key: aws.String("tag:e"), Values: []string{"1"}}, {Key: aws.String("tag:f"), Values: []string{"1"}}}}), "ValidationException", &ssmtypes.ValidationException{}},
		{"target values > 50", ok(&ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag:a"), Values: many}}}), "ValidationException", &ssmtypes.ValidationException{}},
		{"bad target key", ok(&ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("a|b"), Values: []string{"1"}}}}), "ValidationException", &ssmtypes.ValidationException{}},
		{"missing commands", ok(&ssm.SendCommandInput{Parameters: map[string][]string{"workingDirectory": {"/"}}}), "InvalidParameters", &ssmtypes.InvalidParameters{}},
		{"unknown parameter", ok(&ssm.SendCommandInput{Parameters: map[string][]string{"commands": {"true"}, "bogus": {"1"}}}), "InvalidParameters", &ssmtypes.InvalidParameters{}},
		{"executionTimeout 0", ok(&ssm.SendCommandInput{Parameters: map[string][]string{"commands": {"true"}, "executionTimeout": {"0"}}}), "InvalidParameters", &ssmtypes.InvalidParameters{}},
		{"executionTimeout 172801", ok(&ssm.SendCommandInput{Parameters: map[string][]string{"commands": {"true"}, "executionTimeout": {"172801"}}}), "InvalidParameters", &ssmtypes.InvalidParameters{}},
		{"workingDirectory too long", ok(&ssm.SendCommandInput{Parameters: map[string][]string{"commands": {"true"}, "workingDirectory": {strings.Repeat("d", 4097)}}}), "InvalidParameters", &ssmtypes.InvalidParameters{}},
		{"TimeoutSeconds 29", ok(&ssm.SendCommandInput{TimeoutSeconds: aws.Int32(29)}), "ValidationException", &ssmtypes.ValidationException{}},
		{"TimeoutSeconds too big", ok(&ssm.SendCommandInput{TimeoutSeconds: aws.Int32(2592001)}), "ValidationException", &ssmtypes.ValidationException{}},
		{"MaxConcurrency 0", ok(&ssm.SendCommandInput{MaxConcurrency: aws.String("0")}), "ValidationException", &ssmtypes.ValidationException{}},
		{"MaxConcurrency 101%", ok(&ssm.SendCommandInput{MaxConcurrency: aws.String("101%")}), "ValidationException", &ssmtypes.ValidationException{}},
		{"MaxErrors -1", ok(&ssm.SendCommandInput{MaxErrors: aws.String("-1")}), "ValidationException", &ssmtypes.ValidationException{}},
		{"Comment too long", ok(&ssm.SendCommandInput{Comment: aws.String(strings.Repeat("c", 101))}), "ValidationException", &ssmtypes.ValidationException{}},
		{"bucket name too short", ok(&ssm.SendCommandInput{OutputS3BucketName: aws.String("ab")}), "ValidationException", &ssmtypes.ValidationException{}},
		{"bucket missing", ok(&ssm.SendCommandInput{OutputS3BucketName: aws.String("no-such-bucket")}), "InvalidOutputFolder", &ssmtypes.InvalidOutputFolder{}},
		{"duplicate ids", ok(&ssm.SendCommandInput{InstanceIds: []string{ids[0], ids[0]}}), "DuplicateInstanceId", &ssmtypes.DuplicateInstanceId{}},
		{"unknown instance", ok(&ssm.SendCommandInput{InstanceIds: []string{"i-0123456789abcdef0"}}), "InvalidInstanceId", &ssmtypes.InvalidInstanceId{}},
		{"unregistered instance", ok(&ssm.SendCommandInput{InstanceIds: unregistered}), "InvalidInstanceId", &ssmtypes.InvalidInstanceId{}},
		{"no ids nor targets", &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), Parameters: shell("true")}, "ValidationException", &ssmtypes.ValidationException{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cl.SendCommand(t.Context(), tc.in)
			if err == nil {
				t.Fatal("want an error")
			}
			if got := ssmAPICode(err); got != tc.code {
				t.Fatalf("code %q, want %q (%v)", got, tc.code, err)
			}
			var typed bool
			switch tc.typ.(type) {
			case *ssmtypes.ValidationException:
				var x *ssmtypes.ValidationException
				typed = errors.As(err, &x)
			case *ssmtypes.InvalidDocument:
				var x *ssmtypes.InvalidDocument
				typed = errors.As(err, &x)
			case *ssmtypes.InvalidDocumentVersion:
				var x *ssmtypes.InvalidDocumentVersion
				typed = errors.As(err, &x)
			case *ssmtypes.InvalidParameters:
				var x *ssmtypes.InvalidParameters
				typed = errors.As(err, &x)
			case *ssmtypes.InvalidOutputFolder:
				var x *ssmtypes.InvalidOutputFolder
				typed = errors.As(err, &x)
			case *ssmtypes.DuplicateInstanceId:
				var x *ssmtypes.DuplicateInstanceId
				typed = errors.As(err, &x)
			case *ssmtypes.InvalidInstanceId:
				var x *ssmtypes.InvalidInstanceId
				typed = errors.As(err, &x)
			}
			if !typed {
				t.Fatalf("error %T is not the typed %T", err, tc.typ)
			}
		})
	}
	// The InvalidInstanceId message names the instance the way AWS does.
	_, err := cl.SendCommand(t.Context(), ok(&ssm.SendCommandInput{InstanceIds: unregistered}))
	want := "Instances [[" + unregistered[0] + "]] not in a valid state for account 123456789012"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("message %v, want %q", err, want)
	}
	// The ValidationException message has the real shape.
	_, err = cl.SendCommand(t.Context(), ok(&ssm.SendCommandInput{TimeoutSeconds: aws.Int32(29)}))
	if err == nil || !strings.Contains(err.Error(), "1 validation error detected: Value '29' at 'timeoutSeconds' failed to satisfy constraint") {
		t.Fatalf("message %v", err)
	}
}

func TestSSMCommandSuccess(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("echo hello", "uname -s", "echo $AWS_SSM_INSTANCE_ID", "pwd"), Comment: aws.String("hi")})
	if len(*c.CommandId) != 36 || c.Status != ssmtypes.CommandStatusPending || aws.ToString(c.MaxConcurrency) != "50" || aws.ToString(c.MaxErrors) != "0" ||
		c.TargetCount != 1 || aws.ToString(c.DocumentVersion) != "$DEFAULT" || c.RequestedDateTime == nil || c.ExpiresAfter == nil {
		t.Fatalf("unexpected command %+v", c)
	}
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	if done.Status != ssmtypes.CommandStatusSuccess || aws.ToString(done.StatusDetails) != "Success" || done.CompletedCount != 1 || done.ErrorCount != 0 {
		t.Fatalf("command %s/%s completed %d", done.Status, aws.ToString(done.StatusDetails), done.CompletedCount)
	}
	inv := invocation(t, cl, *c.CommandId, ids[0])
	want := "hello\nLinux\n" + ids[0] + "\n" + e.instanceDir(ids[0]) + "\n"
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess || inv.ResponseCode != 0 || aws.ToString(inv.StandardOutputContent) != want {
		t.Fatalf("invocation %s %d %q, want %q", inv.Status, inv.ResponseCode, aws.ToString(inv.StandardOutputContent), want)
	}
	if aws.ToString(inv.PluginName) != "aws:runShellScript" || !strings.HasPrefix(aws.ToString(inv.ExecutionElapsedTime), "PT") ||
		!strings.HasSuffix(aws.ToString(inv.ExecutionStartDateTime), "Z") || aws.ToString(inv.ExecutionEndDateTime) == "" ||
		aws.ToString(inv.StandardOutputUrl) != "" || aws.ToString(inv.Comment) != "hi" {
		t.Fatalf("invocation fields %+v", inv)
	}
	// Details: CommandPlugins with the combined output.
	li, err := cl.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: c.CommandId, Details: true})
	if err != nil || len(li.CommandInvocations) != 1 || len(li.CommandInvocations[0].CommandPlugins) != 1 {
		t.Fatalf("ListCommandInvocations: %v %+v", err, li)
	}
	p := li.CommandInvocations[0].CommandPlugins[0]
	if aws.ToString(p.Name) != "aws:runShellScript" || aws.ToString(p.Output) != want || p.ResponseCode != 0 || p.ResponseFinishDateTime == nil {
		t.Fatalf("plugin %+v", p)
	}
}

func TestSSMCommandFailedAndWorkingDirectory(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	if err := os.MkdirAll(filepath.Join(e.instanceDir(ids[0]), "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("echo out", "echo oops >&2", "exit 3")})
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if done.Status != ssmtypes.CommandStatusFailed || done.ErrorCount != 1 || inv.Status != ssmtypes.CommandInvocationStatusFailed ||
		aws.ToString(inv.StatusDetails) != "Failed" || inv.ResponseCode != 3 || aws.ToString(inv.StandardErrorContent) != "oops\nfailed to run commands: exit status 3" || aws.ToString(inv.StandardOutputContent) != "out\n" {
		t.Fatalf("command %s, invocation %s/%s %d %q", done.Status, inv.Status, aws.ToString(inv.StatusDetails), inv.ResponseCode, aws.ToString(inv.StandardErrorContent))
	}
	// A relative workingDirectory is relative to the instance directory.
	c = send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: map[string][]string{"commands": {"pwd"}, "workingDirectory": {"sub"}}})
	waitCommand(t, cl, *c.CommandId, 10*time.Second)
	if got := aws.ToString(invocation(t, cl, *c.CommandId, ids[0]).StandardOutputContent); got != filepath.Join(e.instanceDir(ids[0]), "sub")+"\n" {
		t.Fatalf("pwd %q", got)
	}
	// A missing one fails like the agent.
	c = send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: map[string][]string{"commands": {"pwd"}, "workingDirectory": {"/no/such/dir"}}})
	waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv = invocation(t, cl, *c.CommandId, ids[0])
	if inv.Status != ssmtypes.CommandInvocationStatusFailed || !strings.Contains(aws.ToString(inv.StandardErrorContent), "/no/such/dir") {
		t.Fatalf("missing workingDirectory: %s %q", inv.Status, aws.ToString(inv.StandardErrorContent))
	}
}

func TestSSMExecutionTimeout(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{TimeScale: 0.05})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	dir := e.instanceDir(ids[0])
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: map[string][]string{
		"commands":         {"sleep 30 & echo $! > bg.pid", "echo $$ > sh.pid", "wait"},
		"executionTimeout": {"1"},
	}})
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if done.Status != ssmtypes.CommandStatusTimedOut || aws.ToString(done.StatusDetails) != "ExecutionTimedOut" ||
		inv.Status != ssmtypes.CommandInvocationStatusTimedOut || aws.ToString(inv.StatusDetails) != "ExecutionTimedOut" || inv.ResponseCode != 137 {
		t.Fatalf("command %s/%s invocation %s/%s %d", done.Status, aws.ToString(done.StatusDetails), inv.Status, aws.ToString(inv.StatusDetails), inv.ResponseCode)
	}
	for _, f := range []string{"bg.pid", "sh.pid"} {
		pid := waitPidFile(t, filepath.Join(dir, f))
		eventually(t, 2*time.Second, func() error {
			if !processGone(pid) {
				return fmt.Errorf("process %d (%s) still runs", pid, f)
			}
			return nil
		})
	}
}

func TestSSMDeliveryTimeout(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{TimeScale: 0.05})
	ids := onlineInstances(t, e, InstanceSpec{Count: 2})
	if err := e.SetAgentStopped(ids[1], true); err != nil {
		t.Fatal(err)
	}
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, TimeoutSeconds: aws.Int32(30), MaxErrors: aws.String("1"), Parameters: shell("echo ok")})
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[1])
	if inv.Status != ssmtypes.CommandInvocationStatusTimedOut || aws.ToString(inv.StatusDetails) != "DeliveryTimedOut" || inv.ResponseCode != -1 ||
		aws.ToString(inv.ExecutionStartDateTime) != "" {
		t.Fatalf("invocation %s/%s %d", inv.Status, aws.ToString(inv.StatusDetails), inv.ResponseCode)
	}
	if done.DeliveryTimedOutCount != 1 || done.CompletedCount != 2 || done.ErrorCount != 0 || aws.ToString(done.StatusDetails) != "Incomplete" {
		t.Fatalf("command %s/%s counts %d/%d/%d", done.Status, aws.ToString(done.StatusDetails), done.CompletedCount, done.ErrorCount, done.DeliveryTimedOutCount)
	}
	// All undelivered: TimedOut/DeliveryTimedOut.
	c = send(t, cl, &ssm.SendCommandInput{InstanceIds: ids[1:], TimeoutSeconds: aws.Int32(30), Parameters: shell("echo ok")})
	done = waitCommand(t, cl, *c.CommandId, 10*time.Second)
	if done.Status != ssmtypes.CommandStatusTimedOut || aws.ToString(done.StatusDetails) != "DeliveryTimedOut" {
		t.Fatalf("command %s/%s", done.Status, aws.ToString(done.StatusDetails))
	}
}

func TestSSMCancelCommand(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("echo $$ > sleep.pid", "exec sleep 30")})
	pid := waitPidFile(t, filepath.Join(e.instanceDir(ids[0]), "sleep.pid"))
	if processGone(pid) {
		t.Fatal("sleep not running")
	}
	if _, err := cl.CancelCommand(t.Context(), &ssm.CancelCommandInput{CommandId: c.CommandId}); err != nil {
		t.Fatal(err)
	}
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if done.Status != ssmtypes.CommandStatusCancelled || inv.Status != ssmtypes.CommandInvocationStatusCancelled || inv.ResponseCode != 137 {
		t.Fatalf("command %s invocation %s %d", done.Status, inv.Status, inv.ResponseCode)
	}
	if !processGone(pid) {
		t.Fatalf("process %d survived CancelCommand", pid)
	}
	// Errors.
	_, err := cl.CancelCommand(t.Context(), &ssm.CancelCommandInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000")})
	var ic *ssmtypes.InvalidCommandId
	if !errors.As(err, &ic) {
		t.Fatalf("unknown command: %v", err)
	}
	_, err = cl.CancelCommand(t.Context(), &ssm.CancelCommandInput{CommandId: aws.String("short")})
	if ssmAPICode(err) != "ValidationException" {
		t.Fatalf("short id: %v", err)
	}
	_, err = cl.CancelCommand(t.Context(), &ssm.CancelCommandInput{CommandId: c.CommandId, InstanceIds: []string{ids[0], ids[0]}})
	var dup *ssmtypes.DuplicateInstanceId
	if !errors.As(err, &dup) {
		t.Fatalf("duplicate ids: %v", err)
	}
}

func TestSSMMaxErrorsTerminated(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 3})
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, MaxConcurrency: aws.String("1"), MaxErrors: aws.String("0"), Parameters: shell("exit 1")})
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	if done.Status != ssmtypes.CommandStatusFailed || done.ErrorCount != 1 || done.CompletedCount != 3 {
		t.Fatalf("command %s errors %d completed %d", done.Status, done.ErrorCount, done.CompletedCount)
	}
	var failed, terminated int
	for _, id := range ids {
		inv := invocation(t, cl, *c.CommandId, id)
		switch aws.ToString(inv.StatusDetails) {
		case "Failed":
			failed++
		case "Terminated":
			terminated++
			if inv.Status != ssmtypes.CommandInvocationStatusCancelled || inv.ResponseCode != -1 {
				t.Fatalf("terminated invocation %s %d", inv.Status, inv.ResponseCode)
			}
		}
	}
	if failed != 1 || terminated != 2 {
		t.Fatalf("failed %d terminated %d", failed, terminated)
	}
}

func TestSSMInvalidPlatform(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	win := onlineInstances(t, e, InstanceSpec{Count: 1, Platform: "Windows"})
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: win, Parameters: shell("echo hi")})
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, win[0])
	if done.Status != ssmtypes.CommandStatusFailed || inv.Status != ssmtypes.CommandInvocationStatusFailed || aws.ToString(inv.StatusDetails) != "InvalidPlatform" || done.ErrorCount != 0 {
		t.Fatalf("command %s, invocation %s/%s errors %d", done.Status, inv.Status, aws.ToString(inv.StatusDetails), done.ErrorCount)
	}
}

func TestSSMOutputCaps(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell(
		`i=0; while [ $i -lt 300 ]; do printf '%0100d' 0; i=$((i+1)); done`,
		`i=0; while [ $i -lt 100 ]; do printf '%0100d' 1 >&2; i=$((i+1)); done`,
	)})
	waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if so := aws.ToString(inv.StandardOutputContent); len(so) != 24000 || !strings.HasSuffix(so, "0--output truncated--") {
		t.Fatalf("stdout %d bytes, want 24000 ending with the agent's suffix", len(so))
	}
	if n := len(aws.ToString(inv.StandardErrorContent)); n != 8000 {
		t.Fatalf("stderr %d chars, want 8000", n)
	}
	li, err := cl.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: c.CommandId, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(aws.ToString(li.CommandInvocations[0].CommandPlugins[0].Output)); n != 2500 {
		t.Fatalf("Output %d chars, want 2500", n)
	}
	// Without Details there are no plugins.
	li, _ = cl.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: c.CommandId})
	if len(li.CommandInvocations[0].CommandPlugins) != 0 {
		t.Fatal("plugins without Details")
	}
}

func TestSSMInvocationVisibilityDelay(t *testing.T) {
	t.Parallel()
	const delay = 400 * time.Millisecond
	e, cl := newSSMTest(t, Options{InvocationVisibilityDelay: delay})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	sent := time.Now()
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("echo hi")})
	_, err := cl.GetCommandInvocation(t.Context(), &ssm.GetCommandInvocationInput{CommandId: c.CommandId, InstanceId: aws.String(ids[0])})
	var idne *ssmtypes.InvocationDoesNotExist
	if !errors.As(err, &idne) {
		t.Fatalf("want InvocationDoesNotExist, got %v", err)
	}
	li, err := cl.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: c.CommandId})
	if err != nil || len(li.CommandInvocations) != 0 {
		t.Fatalf("want an empty list: %v %d", err, len(li.CommandInvocations))
	}
	lc, err := cl.ListCommands(t.Context(), &ssm.ListCommandsInput{CommandId: c.CommandId})
	if err != nil || len(lc.Commands) != 1 {
		t.Fatalf("ListCommands must show the command: %v", err)
	}
	// The invocation shows once the delay has passed, never before.
	eventually(t, 10*time.Second, func() error {
		_, err := cl.GetCommandInvocation(t.Context(), &ssm.GetCommandInvocationInput{CommandId: c.CommandId, InstanceId: aws.String(ids[0])})
		if errors.As(err, &idne) {
			return err
		}
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(sent); waited < delay {
			t.Fatalf("invocation visible %s after SendCommand, before the %s delay", waited, delay)
		}
		return nil
	})
	waitCommand(t, cl, *c.CommandId, 10*time.Second)
	if inv := invocation(t, cl, *c.CommandId, ids[0]); aws.ToString(inv.StandardOutputContent) != "hi\n" {
		t.Fatalf("stdout %q", aws.ToString(inv.StandardOutputContent))
	}
}

func TestSSMReadErrors(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("true")})
	ctx := t.Context()
	unknown := aws.String("00000000-0000-4000-8000-000000000000")
	_, err := cl.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String("abc"), InstanceId: aws.String(ids[0])})
	if ssmAPICode(err) != "ValidationException" {
		t.Fatalf("short id: %v", err)
	}
	_, err = cl.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: unknown, InstanceId: aws.String(ids[0])})
	if ssmAPICode(err) != "InvocationDoesNotExist" {
		t.Fatalf("unknown command: %v", err)
	}
	_, err = cl.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: c.CommandId, InstanceId: aws.String("i-0123456789abcdef0")})
	if ssmAPICode(err) != "InvocationDoesNotExist" {
		t.Fatalf("other instance: %v", err)
	}
	_, err = cl.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: c.CommandId, InstanceId: aws.String(ids[0]), PluginName: aws.String("nope")})
	if ssmAPICode(err) != "InvalidPluginName" {
		t.Fatalf("plugin: %v", err)
	}
	_, err = cl.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: unknown})
	var ic *ssmtypes.InvalidCommandId
	if !errors.As(err, &ic) {
		t.Fatalf("ListCommandInvocations unknown: %v", err)
	}
	_, err = cl.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: unknown})
	if !errors.As(err, &ic) {
		t.Fatalf("ListCommands unknown: %v", err)
	}
	_, err = cl.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{Filters: []ssmtypes.CommandFilter{{Key: ssmtypes.CommandFilterKeyExecutionStage, Value: aws.String("Complete")}}})
	var fk *ssmtypes.InvalidFilterKey
	if !errors.As(err, &fk) {
		t.Fatalf("ExecutionStage on invocations: %v", err)
	}
	_, err = cl.ListCommands(ctx, &ssm.ListCommandsInput{MaxResults: aws.Int32(51)})
	if ssmAPICode(err) != "ValidationException" {
		t.Fatalf("MaxResults 51: %v", err)
	}
	_, err = cl.ListCommands(ctx, &ssm.ListCommandsInput{NextToken: aws.String("garbage")})
	var nt *ssmtypes.InvalidNextToken
	if !errors.As(err, &nt) {
		t.Fatalf("bad token: %v", err)
	}
	waitCommand(t, cl, *c.CommandId, 10*time.Second)
	lc, err := cl.ListCommands(ctx, &ssm.ListCommandsInput{Filters: []ssmtypes.CommandFilter{{Key: ssmtypes.CommandFilterKeyExecutionStage, Value: aws.String("Complete")}, {Key: ssmtypes.CommandFilterKeyStatus, Value: aws.String("Success")}}})
	if err != nil || len(lc.Commands) != 1 {
		t.Fatalf("filters: %v %d", err, len(lc.Commands))
	}
	lc, _ = cl.ListCommands(ctx, &ssm.ListCommandsInput{Filters: []ssmtypes.CommandFilter{{Key: ssmtypes.CommandFilterKeyExecutionStage, Value: aws.String("Executing")}}})
	if len(lc.Commands) != 0 {
		t.Fatalf("Executing: %d", len(lc.Commands))
	}
}

func TestSSMListCommandsOrderAndPaging(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 3})
	var sent []string
	for i := 0; i < 3; i++ {
		sent = append(sent, *send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("true")}).CommandId)
	}
	var got []string
	var token *string
	for {
		out, err := cl.ListCommands(t.Context(), &ssm.ListCommandsInput{MaxResults: aws.Int32(2), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out.Commands {
			got = append(got, *c.CommandId)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join([]string{sent[2], sent[1], sent[0]}, ",") {
		t.Fatalf("order %v, sent %v", got, sent)
	}
	for _, id := range sent {
		waitCommand(t, cl, id, 10*time.Second)
	}
	// Invocations paged 2 at a time: 9 in all.
	p := ssm.NewListCommandInvocationsPaginator(cl, &ssm.ListCommandInvocationsInput{MaxResults: aws.Int32(2)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.CommandInvocations)
	}
	if n != 9 {
		t.Fatalf("%d invocations, want 9", n)
	}
	// By instance.
	li, _ := cl.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{InstanceId: aws.String(ids[1])})
	if len(li.CommandInvocations) != 3 {
		t.Fatalf("by instance: %d", len(li.CommandInvocations))
	}
}

func TestSSMTagTargets(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	web := onlineInstances(t, e, InstanceSpec{Count: 3, Tags: map[string]string{"Role": "web"}})
	onlineInstances(t, e, InstanceSpec{Count: 2, Tags: map[string]string{"Role": "db"}})
	c := send(t, cl, &ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag:Role"), Values: []string{"web"}}}, Parameters: shell("echo web")})
	if c.TargetCount != 3 || len(c.InstanceIds) != 0 || len(c.Targets) != 1 {
		t.Fatalf("targets: count %d ids %v", c.TargetCount, c.InstanceIds)
	}
	done := waitCommand(t, cl, *c.CommandId, 10*time.Second)
	if done.Status != ssmtypes.CommandStatusSuccess || done.CompletedCount != 3 {
		t.Fatalf("command %s %d", done.Status, done.CompletedCount)
	}
	for _, id := range web {
		if got := aws.ToString(invocation(t, cl, *c.CommandId, id).StandardOutputContent); got != "web\n" {
			t.Fatalf("%s: %q", id, got)
		}
	}
	c = send(t, cl, &ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag-key"), Values: []string{"Role"}}}, Parameters: shell("true")})
	if c.TargetCount != 5 {
		t.Fatalf("tag-key: %d", c.TargetCount)
	}
	c = send(t, cl, &ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag:Role"), Values: []string{"none"}}}, Parameters: shell("true")})
	if c.TargetCount != 0 || c.Status != ssmtypes.CommandStatusSuccess || aws.ToString(c.StatusDetails) != "NoInstancesInTag" {
		t.Fatalf("no match: %d %s %s", c.TargetCount, c.Status, aws.ToString(c.StatusDetails))
	}
	// InstanceIds targets: an unknown instance is Undeliverable, not counted.
	c = send(t, cl, &ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("InstanceIds"), Values: []string{web[0], "i-0123456789abcdef0"}}}, Parameters: shell("true")})
	done = waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, "i-0123456789abcdef0")
	if done.Status != ssmtypes.CommandStatusSuccess || aws.ToString(inv.StatusDetails) != "Undeliverable" || inv.Status != ssmtypes.CommandInvocationStatusFailed {
		t.Fatalf("undeliverable: command %s invocation %s/%s", done.Status, inv.Status, aws.ToString(inv.StatusDetails))
	}
}

func TestSSMHostProcessBound(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{MaxProcesses: 4})
	ids := onlineInstances(t, e, InstanceSpec{Count: 100, Tags: map[string]string{"fleet": "big"}})
	c := send(t, cl, &ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag:fleet"), Values: []string{"big"}}}, MaxConcurrency: aws.String("50"), Parameters: shell("sleep 0.02; echo ok")})
	if c.TargetCount != int32(len(ids)) {
		t.Fatalf("targets %d", c.TargetCount)
	}
	done := waitCommand(t, cl, *c.CommandId, 60*time.Second)
	if done.Status != ssmtypes.CommandStatusSuccess || done.CompletedCount != 100 {
		t.Fatalf("command %s completed %d", done.Status, done.CompletedCount)
	}
	running, peak := e.ProcessStats()
	if peak > 4 || peak < 2 || running != 0 {
		t.Fatalf("peak %d running %d, want 2..4 and 0", peak, running)
	}
}

func TestSSMCustomCommandDocument(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	ctx := t.Context()
	content := `{"schemaVersion":"2.2","description":"greet","parameters":{"who":{"type":"String","default":"world","allowedPattern":"^[a-z]+$"}},
	"mainSteps":[{"action":"aws:runShellScript","name":"greet","inputs":{"runCommand":["echo hello {{ who }}"]}}]}`
	if _, err := cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Greet"), Content: aws.String(content), DocumentType: ssmtypes.DocumentTypeCommand}); err != nil {
		t.Fatal(err)
	}
	c := send(t, cl, &ssm.SendCommandInput{DocumentName: aws.String("Greet"), InstanceIds: ids, Parameters: map[string][]string{"who": {"emulator"}}})
	waitCommand(t, cl, *c.CommandId, 10*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if aws.ToString(inv.StandardOutputContent) != "hello emulator\n" || aws.ToString(inv.PluginName) != "greet" {
		t.Fatalf("custom doc: %q %q", aws.ToString(inv.StandardOutputContent), aws.ToString(inv.PluginName))
	}
	_, err := cl.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("Greet"), InstanceIds: ids, Parameters: map[string][]string{"who": {"Bad!"}}})
	var ip *ssmtypes.InvalidParameters
	if !errors.As(err, &ip) {
		t.Fatalf("allowedPattern: %v", err)
	}
}

func TestSSMResetKillsProcesses(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	dir := e.instanceDir(ids[0])
	send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("echo $$ > sleep.pid", "exec sleep 30")})
	pid := waitPidFile(t, dir+"/sleep.pid")
	e.Reset()
	eventually(t, 5*time.Second, func() error {
		if !processGone(pid) {
			return errors.New("Reset left the process running")
		}
		if running, _ := e.ProcessStats(); running != 0 {
			return fmt.Errorf("process count %d, not back to 0", running)
		}
		return nil
	})
}

// A script that exits 0 but leaves a background job holding its output open
// succeeds, with the output written before it exited, as on the real agent
// (which reads the shell's exit code and its output files); the job is killed
// with the script's process group.
func TestRunnerBackgroundJobHoldingOutput(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("echo before", "sleep 60 &", "exit 0")})
	got := waitCommand(t, cl, aws.ToString(c.CommandId), 30*time.Second)
	if got.Status != ssmtypes.CommandStatusSuccess {
		t.Fatalf("command status %s, want Success", got.Status)
	}
	inv := invocation(t, cl, aws.ToString(c.CommandId), ids[0])
	if inv.ResponseCode != 0 || !strings.Contains(aws.ToString(inv.StandardOutputContent), "before") {
		t.Fatalf("invocation: code %d, stdout %q", inv.ResponseCode, aws.ToString(inv.StandardOutputContent))
	}
}
