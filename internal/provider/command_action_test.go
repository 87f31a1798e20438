package provider_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// The ssm_command action, driven through the real Terraform CLI (>= 1.14):
// terraform-plugin-testing 1.16 has no test step for actions (-invoke, or
// action_trigger progress), so these tests run TF_ACC_TERRAFORM_PATH
// themselves against a provider binary built once for all of them
// (dev_overrides), as a developer would.

// actionEnv is one subtest's emulator and Terraform working directory.
type actionEnv struct {
	t    *testing.T
	e    *awsemu.Emulator
	work string
	env  []string
}

// TestAccCommandAction runs the action's acceptance tests, in parallel, on
// one provider build.
func TestAccCommandAction(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	cli := acctest.DetectCLI(t)
	if !cli.Actions() {
		t.Skipf("%s has no actions: the ssm_command action needs Terraform 1.14 or later "+
			"(set TF_ACC_TERRAFORM_PATH to one, such as bin/terraform-1.15.9)", cli)
	}
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "terraform-provider-ssm"), ".")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rc := filepath.Join(dir, "dev.tfrc")
	writeFile(t, rc, `provider_installation {
  dev_overrides {
    "terraform-ssm/ssm" = "`+bin+`"
  }
  direct {}
}
`)
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	newEnv := func(t *testing.T) *actionEnv {
		return &actionEnv{t: t, e: emutest.Start(t, awsemu.Options{}), work: t.TempDir(), env: env}
	}
	for name, test := range map[string]func(*testing.T, *actionEnv){
		"invokeTagFleet":       testActionInvokeTagFleet,
		"triggerAfterUpdate":   testActionTriggerAfterUpdate,
		"failure":              testActionFailure,
		"interrupt":            testActionInterrupt,
		"offlineAgentWithinMU": testActionOfflineAgent,
		"planTimeValidation":   testActionValidation,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			test(t, newEnv(t))
			t.Logf("%s took %s", name, time.Since(start).Round(100*time.Millisecond))
		})
	}
}

// config writes main.tf: the provider block for the emulator, then body.
func (a *actionEnv) config(body string) {
	a.t.Helper()
	writeFile(a.t, filepath.Join(a.work, "main.tf"), `terraform {
  required_providers {
    ssm = { source = "terraform-ssm/ssm" }
  }
}
`+acctest.ProviderConfig(a.e)+body)
}

func (a *actionEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
	cmd.Dir, cmd.Env = a.work, a.env
	return cmd
}

// terraform runs the CLI and returns its combined output.
func (a *actionEnv) terraform(args ...string) (string, error) {
	out, err := a.command(args...).CombinedOutput()
	return string(out), err
}

// mustTerraform runs the CLI and fails the test if it fails.
func (a *actionEnv) mustTerraform(args ...string) string {
	a.t.Helper()
	out, err := a.terraform(args...)
	if err != nil {
		a.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// fleet adds n running instances with Online agents and the given tags.
func (a *actionEnv) fleet(n int, tags map[string]string) []string {
	a.t.Helper()
	ids := addInstances(a.t, a.e, awsemu.InstanceSpec{Count: n, Ready: true, Tags: tags})
	for _, id := range ids {
		waitOnline(a.t, a.e, id)
	}
	sort.Strings(ids)
	return ids
}

// dir is an instance's directory on the emulator, where its commands run.
func (a *actionEnv) dir(id string) string {
	return filepath.Join(a.e.Options().WorkDir, "instances", id)
}

// lines is the lines of a file in an instance's directory (none if missing).
func (a *actionEnv) lines(id, name string) []string {
	b, err := os.ReadFile(filepath.Join(a.dir(id), name))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// commands lists the emulator's commands whose commands parameter contains
// marker, oldest first.
func (a *actionEnv) commands(marker string) []ssmtypes.Command {
	a.t.Helper()
	var got []ssmtypes.Command
	p := ssm.NewListCommandsPaginator(ssm.NewFromConfig(emuConfig(a.e)), &ssm.ListCommandsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			a.t.Fatal(err)
		}
		for _, c := range page.Commands {
			if strings.Contains(strings.Join(c.Parameters["commands"], "\n"), marker) {
				got = append(got, c)
			}
		}
	}
	sort.Slice(got, func(i, j int) bool {
		return aws.ToTime(got[i].RequestedDateTime).Before(aws.ToTime(got[j].RequestedDateTime))
	})
	return got
}

// invocationStatuses is a command's invocations' statuses by instance id.
func (a *actionEnv) invocationStatuses(id string) map[string]string {
	a.t.Helper()
	out, err := ssm.NewFromConfig(emuConfig(a.e)).ListCommandInvocations(context.Background(),
		&ssm.ListCommandInvocationsInput{CommandId: aws.String(id)})
	if err != nil {
		a.t.Fatal(err)
	}
	st := map[string]string{}
	for _, inv := range out.CommandInvocations {
		st[aws.ToString(inv.InstanceId)] = string(inv.Status)
	}
	return st
}

// noState checks that nothing is in state: the action stores nothing.
func (a *actionEnv) noState(want ...string) {
	a.t.Helper()
	out := strings.Fields(a.mustTerraform("state", "list"))
	sort.Strings(out)
	sort.Strings(want)
	if strings.Join(out, " ") != strings.Join(want, " ") {
		a.t.Errorf("terraform state list = %v, want %v", out, want)
	}
}

// mustMatch checks that out matches each pattern, a space in which matches
// any white space (Terraform wraps diagnostics to 80 columns).
func mustMatch(t *testing.T, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(strings.ReplaceAll(p, " ", `\s+`)).MatchString(out) {
			t.Errorf("the output does not match %q:\n%s", p, out)
		}
	}
}

// -invoke runs the command on every instance carrying the tag, and only on
// them, once; the CLI shows its progress; nothing is stored.
func testActionInvokeTagFleet(t *testing.T, a *actionEnv) {
	web := a.fleet(3, map[string]string{"Role": "web"})
	other := a.fleet(1, map[string]string{"Role": "db"})
	a.config(`
action "ssm_command" "restart" {
  config {
    commands = ["echo restarted >> restarts.log"]
    targets {
      key    = "tag:Role"
      values = ["web"]
    }
  }
}
`)
	out := a.mustTerraform("apply", "-auto-approve", "-no-color", "-invoke=action.ssm_command.restart")
	t.Logf("terraform apply -invoke:\n%s", out)
	mustMatch(t, out,
		`running command on instances with tag:Role = web`,
		`3/3 instances done, 0 failed`,
		`command [0-9a-f-]{36}: 3 of 3 instances succeeded`)
	cmds := a.commands("restarts.log")
	if len(cmds) != 1 {
		t.Fatalf("the emulator has %d commands of the action, want 1", len(cmds))
	}
	c := cmds[0]
	if c.Status != ssmtypes.CommandStatusSuccess || c.TargetCount != 3 || c.CompletedCount != 3 {
		t.Errorf("command %s: %s, %d targets, %d completed; want Success, 3, 3", aws.ToString(c.CommandId), c.Status, c.TargetCount, c.CompletedCount)
	}
	st := a.invocationStatuses(aws.ToString(c.CommandId))
	for _, id := range web {
		if st[id] != "Success" {
			t.Errorf("invocation on %s: %q, want Success", id, st[id])
		}
		if got := a.lines(id, "restarts.log"); len(got) != 1 {
			t.Errorf("%s ran the command %d times, want once", id, len(got))
		}
	}
	if _, ok := st[other[0]]; ok || len(a.lines(other[0], "restarts.log")) != 0 {
		t.Errorf("the command ran on %s, which does not carry the tag", other[0])
	}
	a.noState()
}

// An action_trigger on an ssm_file's after_update runs the action exactly
// once per update of the file (one command, to every instance of the
// action), not when the file is created, and not on an apply that changes
// nothing.
func testActionTriggerAfterUpdate(t *testing.T, a *actionEnv) {
	ids := a.fleet(2, nil)
	conf := func(content string) {
		a.config(fmt.Sprintf(`
action "ssm_command" "reload" {
  config {
    instance_ids = %s
    commands     = ["cat %s >> reloads.log"]
  }
}

resource "ssm_file" "conf" {
  instance_ids = [%q]
  destination  = %q
  content      = %q

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.ssm_command.reload]
    }
  }
}
`, quoteIDs(ids), filepath.Join(a.dir(ids[0]), "app.conf"), ids[0], filepath.Join(a.dir(ids[0]), "app.conf"), content+"\n"))
	}
	reloads := func(want ...string) {
		t.Helper()
		for _, id := range ids {
			if got := a.lines(id, "reloads.log"); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s reloaded %v, want %v", id, got, want)
			}
		}
	}
	conf("v1")
	a.mustTerraform("apply", "-auto-approve", "-no-color")
	reloads() // created: not an update
	if n := len(a.commands("reloads.log")); n != 0 {
		t.Fatalf("%d reload commands after the create, want none", n)
	}

	conf("v2")
	out := a.mustTerraform("apply", "-auto-approve", "-no-color")
	t.Logf("apply of v2:\n%s", out)
	mustMatch(t, out, `Action started: action.ssm_command.reload \(triggered by ssm_file.conf\)`, `2/2 instances done, 0 failed`)
	reloads("v2")
	if n := len(a.commands("reloads.log")); n != 1 {
		t.Errorf("%d reload commands after one update, want 1", n)
	}

	out = a.mustTerraform("apply", "-auto-approve", "-no-color")
	mustMatch(t, out, `No changes`)
	reloads("v2")
	if n := len(a.commands("reloads.log")); n != 1 {
		t.Errorf("%d reload commands after a no-op apply, want still 1", n)
	}

	conf("v3")
	a.mustTerraform("apply", "-auto-approve", "-no-color")
	reloads("v2", "v3")
	if n := len(a.commands("reloads.log")); n != 2 {
		t.Errorf("%d reload commands after the second update, want 2", n)
	}
	a.noState(`ssm_file.conf`)
}

// A command that fails on one instance fails the apply with the per-instance
// diagnosis (status, exit code, stderr tail), which progress showed too.
func testActionFailure(t *testing.T, a *actionEnv) {
	ids := a.fleet(3, nil)
	bad := ids[1]
	writeFile(t, filepath.Join(a.dir(bad), "broken"), "x")
	a.config(fmt.Sprintf(`
action "ssm_command" "check" {
  config {
    instance_ids = %s
    max_errors   = "1"
    commands     = ["if [ -f broken ]; then echo \"config check failed on $(pwd)\" >&2; exit 3; fi", "echo ok"]
  }
}
`, quoteIDs(ids)))
	out, err := a.terraform("apply", "-auto-approve", "-no-color", "-invoke=action.ssm_command.check")
	t.Logf("terraform apply -invoke:\n%s", out)
	if err == nil {
		t.Fatalf("the apply succeeded though the command failed on %s", bad)
	}
	mustMatch(t, out,
		`3/3 instances done, 1 failed`,
		regexp.QuoteMeta(bad)+`: Failed \(Failed\), exit code 3; last lines of stderr:\s+config check failed on`,
		`Error: Error when invoking action`,
		`running command on 3 instances: 1 of 3 invocations failed \(command [0-9a-f-]{36}\)`,
		`- `+regexp.QuoteMeta(bad)+`: Failed, exit code 3; last lines of stderr:\s+config check failed on`,
		`The action stores nothing`)
	cmds := a.commands("config check failed")
	if len(cmds) != 1 || cmds[0].Status != ssmtypes.CommandStatusFailed {
		t.Fatalf("the emulator's commands: %d, want 1 Failed", len(cmds))
	}
	a.noState()
}

// SIGINT to terraform apply -invoke while the command runs cancels it: the
// emulator shows it Cancelled and its process stopped.
func testActionInterrupt(t *testing.T, a *actionEnv) {
	ids := a.fleet(2, nil)
	a.config(fmt.Sprintf(`
action "ssm_command" "slow" {
  config {
    instance_ids = %s
    commands     = ["echo $$ > sleeper.pid", "sleep 60"]
  }
}
`, quoteIDs(ids)))
	apply := a.command("apply", "-auto-approve", "-no-color", "-invoke=action.ssm_command.slow")
	var out bytes.Buffer
	apply.Stdout, apply.Stderr = &out, &out
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- apply.Wait() }()
	pidFile := func(id string) string { return filepath.Join(a.dir(id), "sleeper.pid") }
	if err := emutest.WaitFor(2*time.Minute, func() error {
		// SSM ramps concurrency up (1, then doubling as invocations
		// finish): the first runs alone, the other waits its turn.
		for _, id := range ids {
			if b, err := os.ReadFile(pidFile(id)); err == nil && len(bytes.TrimSpace(b)) > 0 {
				return nil
			}
		}
		select {
		case err := <-done:
			t.Fatalf("terraform apply ended (%v) before the command ran:\n%s", err, out.String())
		default:
		}
		return errors.New("the command has not started")
	}); err != nil {
		_ = apply.Process.Kill()
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if err := apply.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Logf("terraform apply -invoke ended after SIGINT: %v", err)
	case <-time.After(90 * time.Second):
		_ = apply.Process.Kill()
		t.Fatalf("terraform apply still runs 90 s after SIGINT:\n%s", out.String())
	}
	t.Logf("interrupted terraform apply -invoke:\n%s", out.String())
	mustMatch(t, out.String(), `Interrupt received`)
	for _, id := range ids {
		b, err := os.ReadFile(pidFile(id))
		if os.IsNotExist(err) {
			continue // never started
		}
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err != nil {
			t.Fatal(err)
		}
		emutest.Eventually(t, 10*time.Second, func() error {
			if syscall.Kill(pid, 0) == nil {
				return fmt.Errorf("process %d of the command on %s still runs after the interrupt", pid, id)
			}
			return nil
		})
	}
	cmds := a.commands("sleeper.pid")
	if len(cmds) != 1 {
		t.Fatalf("the emulator has %d commands of the action, want 1", len(cmds))
	}
	id := aws.ToString(cmds[0].CommandId)
	// CancelCommand is asynchronous: Cancelling until every agent has stopped it.
	emutest.Eventually(t, 30*time.Second, func() error {
		if cmds = a.commands("sleeper.pid"); cmds[0].Status != ssmtypes.CommandStatusCancelled {
			return fmt.Errorf("command %s is %s after the interrupt, want Cancelled", id, cmds[0].Status)
		}
		return nil
	})
	st := a.invocationStatuses(id)
	for _, inst := range ids {
		if st[inst] != "Cancelled" {
			t.Errorf("invocation on %s: %q, want Cancelled", inst, st[inst])
		}
	}
	if n := a.e.CallCount("ssm.CancelCommand"); n != 1 {
		t.Errorf("CancelCommand called %d times, want once", n)
	}
	a.noState()
}

// A tag fleet with one agent offline: within max_unreachable the action
// warns, naming the instance and why, and runs on the others.
func testActionOfflineAgent(t *testing.T, a *actionEnv) {
	ids := a.fleet(4, map[string]string{"Role": "app"})
	down := ids[2]
	if err := a.e.SetAgentStopped(down, true); err != nil {
		t.Fatal(err)
	}
	waitPing(t, a.e, down, awsemu.PingConnectionLost)
	a.config(`
action "ssm_command" "deploy" {
  config {
    commands        = ["echo deployed >> deploys.log"]
    max_unreachable = "1"
    max_errors      = "1"
    targets {
      key    = "tag:Role"
      values = ["app"]
    }
  }
}
`)
	out := a.mustTerraform("apply", "-auto-approve", "-no-color", "-invoke=action.ssm_command.deploy")
	t.Logf("terraform apply -invoke:\n%s", out)
	mustMatch(t, out,
		`Warning: Warning when invoking action`,
		`running command on instances with tag:Role = app: 1 instance\(s\) could not receive the command, so it was not sent to them \(the command ran on the 3 others\)`,
		regexp.QuoteMeta(down)+`: .*ConnectionLost`,
		`command [0-9a-f-]{36}: 3 of 3 instances succeeded`)
	for _, id := range ids {
		want := 1
		if id == down {
			want = 0
		}
		if got := len(a.lines(id, "deploys.log")); got != want {
			t.Errorf("%s ran the command %d times, want %d", id, got, want)
		}
	}
	cmds := a.commands("deploys.log")
	if len(cmds) != 1 {
		t.Fatalf("the emulator has %d commands of the action, want 1", len(cmds))
	}
	st := a.invocationStatuses(aws.ToString(cmds[0].CommandId))
	for _, id := range ids {
		if id != down && st[id] != "Success" {
			t.Errorf("invocation on %s: %q, want Success", id, st[id])
		}
	}
	// Sent by tag, SSM targets the offline agent too; the run cancels that
	// invocation right after sending, before it can be delivered.
	if st[down] == "Success" {
		t.Errorf("invocation on the offline %s: Success", down)
	}
	a.noState()
}

// Bad arguments fail terraform validate, before anything runs: the action
// shares the resource's validators.
func testActionValidation(t *testing.T, a *actionEnv) {
	a.config(`
action "ssm_command" "bad" {
  config {
    instance_ids    = ["i-0123456789abcdef0"]
    commands        = ["true"]
    max_unreachable = "lots"
    targets {
      key    = "tag:Role"
      values = ["web"]
    }
  }
}
`)
	out, err := a.terraform("validate", "-no-color")
	if err == nil {
		t.Fatalf("terraform validate accepted the bad action:\n%s", out)
	}
	mustMatch(t, out, `invalid max_unreachable`, `instance_ids`, `targets`)
	if n := a.e.CallCount("ssm.SendCommand"); n != 0 {
		t.Errorf("SendCommand called %d times by validate", n)
	}
}
