package awsemu

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Tests of the simulated agent against what the real agent does
// (notes/aws-behaviour.md#agent-output, #agent-exit-codes, #s3-output-keys).

func TestAgentPrefixAndPluginOutput(t *testing.T) {
	if got := agentPrefix("abc", 24000); got != "abc" {
		t.Errorf("short: %q", got)
	}
	s := strings.Repeat("x", 24000) // len == limit: cut too (the agent compares with <)
	if got := agentPrefix(s, 24000); len(got) != 24000 || !strings.HasSuffix(got, "x--output truncated--") {
		t.Errorf("at the limit: %d bytes, ends %q", len(got), got[len(got)-30:])
	}
	if got := agentPrefix(s, 5); got != "--out" {
		t.Errorf("tiny limit: %q", got)
	}
	// The plugin Output: whole when it fits, else both streams cut with markers.
	if got := agentPluginOutput("out", "err"); got != "out\n----------ERROR-------\nerr" {
		t.Errorf("fits: %q", got)
	}
	got := agentPluginOutput(strings.Repeat("o", 3000), strings.Repeat("e", 3000))
	if len(got) > 2500 || !strings.Contains(got, "o\n---Output truncated---\n----------ERROR-------\ne") || !strings.HasSuffix(got, "e\n---Error truncated----") {
		t.Errorf("both cut: %d bytes %q", len(got), got)
	}
	got = agentPluginOutput("short", strings.Repeat("e", 3000))
	if len(got) != 2500 || !strings.HasPrefix(got, "short\n----------ERROR-------\n") || !strings.HasSuffix(got, "\n---Error truncated----") {
		t.Errorf("stderr cut: %d bytes", len(got))
	}
	got = agentPluginOutput(strings.Repeat("o", 3000), "")
	if len(got) != 2500 || !strings.HasSuffix(got, "o\n---Output truncated---") {
		t.Errorf("stdout cut: %d bytes", len(got))
	}
}

// Multi-byte output cut at 24,000 bytes: the agent cuts bytes, not characters.
func TestSSMAgentTruncatesBytes(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	// stdout: "a" then 12,500 "é" (25,001 bytes); the cut at 23,980 bytes splits an "é".
	// stderr: 9,000 "é" (18,000 bytes, under the agent's cut, over the API's 8,000 characters).
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell(
		`printf a; i=0; while [ $i -lt 12500 ]; do printf 'é'; i=$((i+1)); done`,
		`i=0; while [ $i -lt 9000 ]; do printf 'é' >&2; i=$((i+1)); done`,
	)})
	waitCommand(t, cl, *c.CommandId, 20*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	out := aws.ToString(inv.StandardOutputContent)
	want := "a" + strings.Repeat("é", 11989) + "\uFFFD" + agentTruncSuffix
	if out != want {
		t.Fatalf("stdout: %d bytes, ends %q; want %d bytes ending %q", len(out), out[max(0, len(out)-40):], len(want), want[len(want)-40:])
	}
	if se := aws.ToString(inv.StandardErrorContent); se != strings.Repeat("é", 8000) {
		t.Fatalf("stderr: %d bytes, %d characters; want 8000 characters", len(se), len([]rune(se)))
	}
	li, err := cl.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: c.CommandId, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	o := aws.ToString(li.CommandInvocations[0].CommandPlugins[0].Output)
	if !strings.Contains(o, "\n---Output truncated---\n----------ERROR-------\n") || !strings.HasSuffix(o, "\n---Error truncated----") || len(o) > 2500+6 {
		t.Fatalf("plugin Output: %d bytes %q", len(o), o[max(0, len(o)-60):])
	}
}

// Exit statuses as the agent on Unix maps them.
func TestSSMAgentExitCodes(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	for _, tc := range []struct {
		name, script       string
		status, details    string
		code               int32
		stderr             string
		commandStatusCheck ssmtypes.CommandStatus
	}{
		// A child killed by SIGKILL (as the OOM killer does) leaves the shell with
		// 137, which the agent takes for its own timeout kill.
		{"oom-style 137", `sh -c 'kill -9 $$'`, "TimedOut", "ExecutionTimedOut", 137, "", ssmtypes.CommandStatusTimedOut},
		{"exit 137", `exit 137`, "TimedOut", "ExecutionTimedOut", 137, "", ssmtypes.CommandStatusTimedOut},
		// The shell itself killed by a signal: exit code -1, Failed, and the
		// agent's "failed to run commands" line in stderr.
		{"signal-killed shell", `kill -9 $$`, "Failed", "Failed", -1, "failed to run commands: signal: killed", ssmtypes.CommandStatusFailed},
		{"exit 4", `echo no >&2; exit 4`, "Failed", "Failed", 4, "no\nfailed to run commands: exit status 4", ssmtypes.CommandStatusFailed},
	} {
		c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell(tc.script)})
		done := waitCommand(t, cl, *c.CommandId, 20*time.Second)
		inv := invocation(t, cl, *c.CommandId, ids[0])
		if string(inv.Status) != tc.status || aws.ToString(inv.StatusDetails) != tc.details || inv.ResponseCode != tc.code ||
			!stderrMatches(aws.ToString(inv.StandardErrorContent), tc.stderr) || done.Status != tc.commandStatusCheck {
			t.Errorf("%s: invocation %s/%s %d stderr %q, command %s", tc.name, inv.Status, aws.ToString(inv.StatusDetails), inv.ResponseCode,
				aws.ToString(inv.StandardErrorContent), done.Status)
		}
	}
}

// stderrMatches: want exactly, or for want "" anything the shell said (such as
// "Killed") without the agent's failure line.
func stderrMatches(got, want string) bool {
	if want == "" {
		return !strings.Contains(got, "failed to run commands")
	}
	return got == want
}

// A cancel the agent receives before the plugin starts gives Cancelled with
// exit code 1; a cancel before delivery leaves -1.
func TestSSMAgentCancelBeforeStart(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{MaxProcesses: 1})
	ids := onlineInstances(t, e, InstanceSpec{Count: 3})
	ctx := t.Context()
	busy := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids[:1], Parameters: shell("echo $$ > busy.pid", "exec sleep 30")})
	waitPidFile(t, filepath.Join(e.instanceDir(ids[0]), "busy.pid"))
	// The host's only process slot is taken: this one is delivered (InProgress)
	// but its plugin cannot start.
	queued := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids[1:2], Parameters: shell("echo never")})
	eventually(t, 10*time.Second, func() error {
		if st := invocationStatus(t, cl, *queued.CommandId); st != ssmtypes.CommandInvocationStatusInProgress {
			return fmt.Errorf("queued invocation %s, want InProgress", st)
		}
		return nil
	})
	if _, err := cl.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: queued.CommandId}); err != nil {
		t.Fatal(err)
	}
	waitCommand(t, cl, *queued.CommandId, 10*time.Second)
	inv := invocation(t, cl, *queued.CommandId, ids[1])
	if inv.Status != ssmtypes.CommandInvocationStatusCancelled || inv.ResponseCode != 1 || aws.ToString(inv.StandardOutputContent) != "" {
		t.Fatalf("cancel before start: %s %d %q", inv.Status, inv.ResponseCode, aws.ToString(inv.StandardOutputContent))
	}
	// Not delivered (agent stopped): the service cancels, no exit code.
	if err := e.SetAgentStopped(ids[2], true); err != nil {
		t.Fatal(err)
	}
	pending := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids[2:], Parameters: shell("echo never")})
	if _, err := cl.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: pending.CommandId}); err != nil {
		t.Fatal(err)
	}
	waitCommand(t, cl, *pending.CommandId, 10*time.Second)
	if inv := invocation(t, cl, *pending.CommandId, ids[2]); inv.Status != ssmtypes.CommandInvocationStatusCancelled || inv.ResponseCode != -1 {
		t.Fatalf("cancel before delivery: %s %d", inv.Status, inv.ResponseCode)
	}
	if _, err := cl.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: busy.CommandId}); err != nil {
		t.Fatal(err)
	}
}

func invocationStatus(t *testing.T, cl *ssm.Client, cmdID string) ssmtypes.CommandInvocationStatus {
	t.Helper()
	li, err := cl.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: aws.String(cmdID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(li.CommandInvocations) == 0 {
		return ""
	}
	return li.CommandInvocations[0].Status
}

// GetCommandInvocation of a timed-out invocation: StandardOutputContent is
// empty (only Success and Failed carry it), stderr is there, the plugin Output
// and S3 keep what the script wrote.
func TestSSMTimedOutInvocationOutput(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.05})
	cl, s3c := ssm.NewFromConfig(cfg), s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	ctx := t.Context()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("timed-out")}); err != nil {
		t.Fatal(err)
	}
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, OutputS3BucketName: aws.String("timed-out"), Parameters: map[string][]string{
		"commands": {"echo partial", "echo warn >&2", "sleep 60"}, "executionTimeout": {"20"},
	}})
	waitCommand(t, cl, *c.CommandId, 20*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if inv.Status != ssmtypes.CommandInvocationStatusTimedOut || aws.ToString(inv.StandardOutputContent) != "" || aws.ToString(inv.StandardErrorContent) != "warn\n" {
		t.Fatalf("GetCommandInvocation: %s stdout %q stderr %q", inv.Status, aws.ToString(inv.StandardOutputContent), aws.ToString(inv.StandardErrorContent))
	}
	li, err := cl.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: c.CommandId, Details: true})
	if err != nil {
		t.Fatal(err)
	}
	if o := aws.ToString(li.CommandInvocations[0].CommandPlugins[0].Output); o != "partial\n\n----------ERROR-------\nwarn\n" {
		t.Fatalf("plugin Output %q", o)
	}
	key := fmt.Sprintf("%s/%s/awsrunShellScript/0.awsrunShellScript/stdout", *c.CommandId, ids[0])
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("timed-out"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(b) != "partial\n" {
		t.Fatalf("S3 stdout %q", b)
	}
}

// S3 keys: <prefix>/<command>/<instance>/<plugin>/<step>/<stream>, names
// without ':'; the step is the plugin id for 1.2 documents and the step name
// for 2.x. Uploads are text/plain with bucket-owner-full-control.
func TestSSMOutputS3Keys(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	cl, s3c := ssm.NewFromConfig(cfg), s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	win := onlineInstances(t, e, InstanceSpec{Count: 1, Platform: "Windows"})
	ctx := t.Context()
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("keys")}); err != nil {
		t.Fatal(err)
	}
	content := `{"schemaVersion":"2.2","description":"two steps","mainSteps":[
	{"action":"aws:runShellScript","name":"first","inputs":{"runCommand":["echo one"]}},
	{"action":"aws:runShellScript","name":"second","inputs":{"runCommand":["echo two"]}}]}`
	if _, err := cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("TwoSteps"), Content: aws.String(content), DocumentType: ssmtypes.DocumentTypeCommand}); err != nil {
		t.Fatal(err)
	}
	shellCmd := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, OutputS3BucketName: aws.String("keys"), OutputS3KeyPrefix: aws.String("pre/fix"), Parameters: shell("echo hi")})
	twoCmd := send(t, cl, &ssm.SendCommandInput{DocumentName: aws.String("TwoSteps"), InstanceIds: ids, OutputS3BucketName: aws.String("keys"), OutputS3KeyPrefix: aws.String("pre")})
	psCmd := send(t, cl, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunPowerShellScript"), InstanceIds: win, OutputS3BucketName: aws.String("keys"), Parameters: shell("Write-Output hi")})
	for _, c := range []*ssmtypes.Command{shellCmd, twoCmd, psCmd} {
		waitCommand(t, cl, *c.CommandId, 20*time.Second)
	}
	for _, key := range []string{
		"pre/fix/" + *shellCmd.CommandId + "/" + ids[0] + "/awsrunShellScript/0.awsrunShellScript/stdout",
		"pre/" + *twoCmd.CommandId + "/" + ids[0] + "/awsrunShellScript/first/stdout",
		// No pwsh on the emulator host: the step fails with a message on stderr.
		*psCmd.CommandId + "/" + win[0] + "/awsrunPowerShellScript/0.awsrunPowerShellScript/stderr",
	} {
		h, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keys"), Key: aws.String(key)})
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if aws.ToString(h.ContentType) != "text/plain" {
			t.Errorf("%s: content type %q", key, aws.ToString(h.ContentType))
		}
		e.mu.Lock()
		acl := e.s3.buckets["keys"].objects[key].acl
		e.mu.Unlock()
		if acl != "bucket-owner-full-control" {
			t.Errorf("%s: ACL %q", key, acl)
		}
	}
	// Each step of the 2.x document has its own output.
	for step, want := range map[string]string{"first": "one\n", "second": "two\n"} {
		key := "pre/" + *twoCmd.CommandId + "/" + ids[0] + "/awsrunShellScript/" + step + "/stdout"
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("keys"), Key: aws.String(key)})
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if string(b) != want {
			t.Errorf("%s: %q, want %q", key, b, want)
		}
		gi, err := cl.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: twoCmd.CommandId, InstanceId: aws.String(ids[0]), PluginName: aws.String(step)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(gi.StandardOutputContent) != want || aws.ToString(gi.PluginName) != step || !strings.HasSuffix(aws.ToString(gi.StandardOutputUrl), key) {
			t.Errorf("GetCommandInvocation %s: %q %q %q", step, aws.ToString(gi.StandardOutputContent), aws.ToString(gi.PluginName), aws.ToString(gi.StandardOutputUrl))
		}
	}
	// An empty stream is not uploaded.
	if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("keys"),
		Key: aws.String("pre/fix/" + *shellCmd.CommandId + "/" + ids[0] + "/awsrunShellScript/0.awsrunShellScript/stderr")}); err == nil {
		t.Error("empty stderr uploaded")
	}
	inv := invocation(t, cl, *shellCmd.CommandId, ids[0])
	if !strings.HasSuffix(aws.ToString(inv.StandardOutputUrl), "/keys/pre/fix/"+*shellCmd.CommandId+"/"+ids[0]+"/awsrunShellScript/0.awsrunShellScript/stdout") {
		t.Errorf("StandardOutputUrl %q", aws.ToString(inv.StandardOutputUrl))
	}
}

// An instance stopped while it runs a command: the agent dies with it and
// reports nothing. The invocation stays InProgress and, the instance staying
// down, ends DeliveryTimedOut when the command expires: never Success.
func TestSSMInstanceStoppedMidCommand(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.05})
	cl, ec := ssm.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	dir := e.instanceDir(ids[0])
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, TimeoutSeconds: aws.Int32(30), Parameters: map[string][]string{
		"commands": {"echo $$ > sh.pid", "sleep 5", "echo finished > done"}, "executionTimeout": {"30"},
	}})
	pid := waitPidFile(t, filepath.Join(dir, "sh.pid"))
	if _, err := ec.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error {
		if !processGone(pid) {
			return fmt.Errorf("the script (pid %d) outlived its instance", pid)
		}
		return nil
	})
	if st := invocationStatus(t, cl, *c.CommandId); st != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("right after the stop: %s, want InProgress (the agent reported nothing)", st)
	}
	done := waitCommand(t, cl, *c.CommandId, 20*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if inv.Status != ssmtypes.CommandInvocationStatusTimedOut || aws.ToString(inv.StatusDetails) != "DeliveryTimedOut" || inv.ResponseCode != -1 ||
		done.Status == ssmtypes.CommandStatusSuccess {
		t.Fatalf("invocation %s/%s %d, command %s", inv.Status, aws.ToString(inv.StatusDetails), inv.ResponseCode, done.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		t.Fatal("the script ran to its end")
	}
}

// The same, with the instance started again before the command expires: the
// agent resumes the in-progress document and runs the plugin again.
func TestSSMInstanceRestartedMidCommand(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{TimeScale: 0.2})
	cl, ec := ssm.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	dir := e.instanceDir(ids[0])
	c := send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, TimeoutSeconds: aws.Int32(120), Parameters: map[string][]string{
		"commands": {"echo run >> runs", "[ $(wc -l < runs) -ge 2 ] && exit 0", "echo $$ > sh.pid", "sleep 60"}, "executionTimeout": {"120"},
	}})
	waitPidFile(t, filepath.Join(dir, "sh.pid"))
	ctx := t.Context()
	if _, err := ec.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	waitState(t, e, ids[0], StateStopped)
	if _, err := ec.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	waitCommand(t, cl, *c.CommandId, 30*time.Second)
	inv := invocation(t, cl, *c.CommandId, ids[0])
	if inv.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("resumed invocation: %s/%s %d", inv.Status, aws.ToString(inv.StatusDetails), inv.ResponseCode)
	}
}

func waitState(t *testing.T, e *Emulator, id, state string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		if inst, _ := e.Instance(id); inst.State != state {
			return fmt.Errorf("instance %s is %s, want %s", id, inst.State, state)
		}
		return nil
	})
}
