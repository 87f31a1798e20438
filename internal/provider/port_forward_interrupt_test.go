package provider_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// TestAccPortForward_sigint: SIGINT to `terraform apply` while a tunnel is open
// (a command that depends on it is running) leaves no session Active and
// nothing listening on the tunnel's port.
func TestAccPortForward_sigint(t *testing.T) {
	skipWithoutEphemeral(t)
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	web := privateEndpoint(t)
	local := freePort(t)
	pidFile := filepath.Join(e.Options().WorkDir, "instances", id, "sleeper.pid")
	work, env := devOverrideCLI(t)
	writeFile(t, filepath.Join(work, "main.tf"), `terraform {
  required_providers {
    ssm = { source = "terraform-ssm/ssm" }
  }
}
`+acctest.ProviderConfig(e)+fmt.Sprintf(`
ephemeral "ssm_port_forward" "web" {
  instance_id = %[1]q
  remote_port = %[2]d
  local_port  = %[3]d
}

resource "ssm_command_run" "test" {
  instance_ids = [%[1]q]
  commands     = ["echo $$ > sleeper.pid", "sleep 60"]
  depends_on   = [ephemeral.ssm_port_forward.web]
}
`, id, web, local))
	apply := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "apply", "-auto-approve", "-no-color")
	apply.Dir, apply.Env = work, env
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
	if active := sessionsByState(t, e, ssmtypes.SessionStateActive); len(active) != 1 {
		t.Fatalf("while the apply runs: Active sessions %v, want the tunnel's one", active)
	}
	if err := checkNotListening(local)(nil); err == nil {
		t.Fatalf("the tunnel does not listen on 127.0.0.1:%d while the apply runs", local)
	}
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
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("the apply's output does not say the run was interrupted:\n%s", out.String())
	}
	// The CLI has exited: its provider process is gone, and with it the tunnel.
	if active := sessionsByState(t, e, ssmtypes.SessionStateActive); len(active) > 0 {
		t.Fatalf("sessions still Active after the interrupted apply: %v\n%s", active, out.String())
	}
	if err := checkAllTerminated(t, e, 2)(nil); err != nil {
		t.Fatal(err)
	}
	if err := checkNotListening(local)(nil); err != nil {
		t.Fatal(err)
	}
}
