package provider_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// A run imported by id with durations written differently in the configuration
// ("2m" for 2m0s, "600s" for 10m0s) plans nothing.
func TestAccCommandRun_importDurationsWrittenDifferently(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Ready: true})
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids       = %s
  commands           = ["echo hi"]
  execution_timeout  = "2m"
  delivery_timeout   = "600s"
}
`, quoteIDs(ids))
	commandTest(t,
		resource.TestStep{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("execution_timeout"), knownvalue.StringExact("2m")),
		}},
		resource.TestStep{Config: cfg, ResourceName: cmdRes, ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateIdFunc: idOf(cmdRes)},
	)
}

// A run imported while it still runs ends with its final status: the refresh
// after it finished reads it again.
func TestAccCommandRun_importInProgressEndsFinal(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Ready: true})
	waitOnline(t, e, ids[0])
	c := ssmClient(e)
	ctx := t.Context()
	// The command runs until the test lets it finish (a machine under load must
	// not let it end before the import).
	gate := filepath.Join(t.TempDir(), "finish")
	wait := fmt.Sprintf("while [ ! -f %s ]; do sleep 0.1; done", gate)
	out, err := c.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids,
		Parameters: map[string][]string{"commands": {wait, "echo done"}}})
	if err != nil {
		t.Fatal(err)
	}
	cmdID := aws.ToString(out.Command.CommandId)
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = [%q, "echo done"]
}
`, quoteIDs(ids), wait)
	commandTest(t,
		resource.TestStep{Config: cfg, ResourceName: cmdRes, ImportState: true, ImportStateId: cmdID, ImportStatePersist: true,
			ImportStateCheck: func(s []*terraform.InstanceState) error {
				if st := s[0].Attributes["status"]; st != "InProgress" && st != "Pending" {
					return fmt.Errorf("imported status %q, want the run still unfinished", st)
				}
				return nil
			}},
		resource.TestStep{
			PreConfig: func() {
				if err := os.WriteFile(gate, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				emutest.Eventually(t, time.Minute, func() error {
					l, err := c.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(cmdID)})
					if err != nil {
						return err
					}
					if len(l.Commands) != 1 {
						return fmt.Errorf("ListCommands lists %d commands, want 1", len(l.Commands))
					}
					if st := l.Commands[0].Status; st != "Success" {
						return fmt.Errorf("command %s, not finished with Success", st)
					}
					return nil
				})
			},
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Success")),
				statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "stdout"), knownvalue.StringExact("done\n")),
			},
		},
	)
}

// output_limit = 0 keeps no output, only whether there was some.
func TestAccCommandRun_outputLimitZeroKeepsNothing(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Ready: true})
	commandTest(t, resource.TestStep{
		Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["echo secret-ish", "echo err >&2"]
  output_limit = 0
}
`, quoteIDs(ids)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "status"), knownvalue.StringExact("Success")),
			statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "stdout"), knownvalue.StringExact("")),
			statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "stderr"), knownvalue.StringExact("")),
			statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "stdout_truncated"), knownvalue.Bool(true)),
			statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "stderr_truncated"), knownvalue.Bool(true)),
		},
	})
}
