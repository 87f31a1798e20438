package provider_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// devOverrideCLI builds the provider from this module into a temporary
// directory and returns a working directory and the environment that makes the
// Terraform CLI use that build (dev_overrides), as a developer would run it.
func devOverrideCLI(t *testing.T) (work string, env []string) {
	t.Helper()
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
	return filepath.Join(dir, "work"), append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
}

// TestAccCommandRun_sigintUnderChaos: SIGINT to `terraform apply` while a 60 s
// command runs, with every service throttling, failing, resetting and losing
// responses. The command is cancelled on the emulator (its process ends) and
// recorded in state with its id and status Cancelled; the next apply sends
// exactly one new command.
func TestAccCommandRun_sigintUnderChaos(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	acctest.PreCheck(t)
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{Seed: 11})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	pidFile := filepath.Join(e.Options().WorkDir, "instances", id, "sleeper.pid")
	work, env := devOverrideCLI(t)
	writeFile(t, filepath.Join(work, "main.tf"), `terraform {
  required_providers {
    ssm = { source = "terraform-ssm/ssm" }
  }
}
`+acctest.ProviderConfig(e)+fmt.Sprintf(`
variable "seconds" {
  type = number
}

resource "ssm_command_run" "test" {
  instance_ids = [%q]
  commands     = ["echo $$ > sleeper.pid", "sleep ${var.seconds}"]
}
`, id))
	terraform := func(args ...string) *exec.Cmd {
		cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
		cmd.Dir, cmd.Env = work, env
		return cmd
	}
	e.SetFault("*", chaosFault)

	// First apply: interrupted once the command runs on the instance.
	apply := terraform("apply", "-auto-approve", "-no-color", "-var", "seconds=60")
	var out bytes.Buffer
	apply.Stdout, apply.Stderr = &out, &out
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- apply.Wait() }()
	if err := emutest.WaitFor(2*time.Minute, func() error {
		if b, err := os.ReadFile(pidFile); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return nil
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
	interrupted := time.Now()
	if err := apply.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("interrupted apply succeeded:\n%s", out.String())
		}
	case <-time.After(90 * time.Second):
		_ = apply.Process.Kill()
		t.Fatalf("terraform apply still runs 90 s after SIGINT:\n%s", out.String())
	}
	t.Logf("apply ended %s after SIGINT", time.Since(interrupted).Round(100*time.Millisecond))
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("the apply's output does not say the run was interrupted:\n%s", out.String())
	}

	// The process on the instance was stopped, well before its 60 s.
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	emutest.Eventually(t, 10*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("process %d of the command still runs after the interrupt", pid)
		}
		return nil
	})

	// State records the command, Cancelled; so does the emulator.
	show := terraform("show", "-json")
	js, err := show.Output()
	if err != nil {
		t.Fatalf("terraform show: %v", err)
	}
	var state struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(js, &state); err != nil {
		t.Fatal(err)
	}
	var firstID string
	for _, r := range state.Values.RootModule.Resources {
		if r.Address != "ssm_command_run.test" {
			continue
		}
		ids, _ := r.Values["command_ids"].([]any)
		if len(ids) != 1 || r.Values["status"] != "Cancelled" {
			t.Fatalf("state after the interrupt: command_ids %v, status %v; want one id, Cancelled", r.Values["command_ids"], r.Values["status"])
		}
		firstID, _ = ids[0].(string)
	}
	if firstID == "" {
		t.Fatalf("ssm_command_run.test not in state after the interrupt:\n%s", js)
	}
	e.ClearFaults()
	commands := func() []string {
		t.Helper()
		var got []string
		p := ssm.NewListCommandsPaginator(ssm.NewFromConfig(emuConfig(e)), &ssm.ListCommandsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Commands {
				got = append(got, aws.ToString(c.CommandId)+":"+string(c.Status))
			}
		}
		return got
	}
	if got := commands(); len(got) != 1 || got[0] != firstID+":Cancelled" {
		t.Fatalf("emulator commands after the interrupt: %v, want only %s:Cancelled", got, firstID)
	}

	// The next apply (still under chaos) replaces the run: one new command.
	e.SetFault("*", chaosFault)
	if out, err := terraform("apply", "-auto-approve", "-no-color", "-var", "seconds=1").CombinedOutput(); err != nil {
		t.Fatalf("second apply: %v\n%s", err, out)
	}
	e.ClearFaults()
	got := commands()
	if len(got) != 2 {
		t.Fatalf("emulator commands after the second apply: %v, want the cancelled one and exactly one new", got)
	}
	for _, c := range got {
		if !strings.HasPrefix(c, firstID+":") && !strings.HasSuffix(c, ":Success") {
			t.Errorf("new command %s did not succeed", c)
		}
	}
	faults := 0
	for k, n := range e.Calls() {
		if strings.Contains(k, "#") {
			faults += int(n)
		}
	}
	if faults == 0 {
		t.Errorf("no fault fired: the chaos did not really hit (%v)", e.Calls())
	}
}
