package provider_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// Fleets as they are. Each command below appends a line to a log in
// the instance's home directory on the emulator (what ran where, and how
// often), which the tests compare with the state.

// runLog is the lines the instance's commands appended to $HOME/ran.log.
func runLog(e *awsemu.Emulator, id string) []string {
	b, err := os.ReadFile(filepath.Join(e.Options().WorkDir, "instances", id, "ran.log"))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// expectRunLogs checks that each instance's log holds exactly want[id] lines
// (instances not in want: none).
func expectRunLogs(e *awsemu.Emulator, ids []string, want map[string]string) error {
	for _, id := range ids {
		got := strings.Join(runLog(e, id), " ")
		if got != want[id] {
			return fmt.Errorf("instance %s ran %q, want %q", id, got, want[id])
		}
	}
	return nil
}

// invocationCount is how many invocations of a command SSM reports that were
// not cancelled before they ran: a by-tag run cancels, right after sending,
// the invocations of registered agents it knows cannot receive it.
func invocationCount(e *awsemu.Emulator, commandID string) (int, error) {
	api := ssm.NewFromConfig(emuConfig(e))
	p := ssm.NewListCommandInvocationsPaginator(api, &ssm.ListCommandInvocationsInput{CommandId: aws.String(commandID)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return 0, err
		}
		for _, inv := range page.CommandInvocations {
			if inv.Status != ssmtypes.CommandInvocationStatusCancelled {
				n++
			}
		}
	}
	return n, nil
}

// stateID is the state's id of the command run, for checks outside statecheck.
func stateID(s *terraform.State) string {
	return s.RootModule().Resources[cmdRes].Primary.ID
}

// notReachedChecks: the 10 instances are recorded NotReached with a reason and
// pending; the others ran.
func notReachedChecks(down, up []string, reason string) []statecheck.StateCheck {
	checks := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("pending_instance_ids"), knownvalue.ListSizeExact(len(down))),
		statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("target_count"), knownvalue.Int64Exact(int64(len(up)))),
	}
	for _, id := range down {
		checks = append(checks,
			statecheck.ExpectKnownValue(cmdRes, invPath(id, "status"), knownvalue.StringExact("NotReached")),
			statecheck.ExpectKnownValue(cmdRes, invPath(id, "status_details"), knownvalue.StringRegexp(regexp.MustCompile(reason))))
	}
	for _, id := range up {
		checks = append(checks, statecheck.ExpectKnownValue(cmdRes, invPath(id, "stdout"), knownvalue.StringExact("ran "+id+"\n")))
	}
	return checks
}

const ranCommand = `["echo run >> \"$HOME/ran.log\"", "echo ran $AWS_SSM_INSTANCE_ID"]`

// A 50-instance tag fleet with 10 agents down (5 instances stopped, 5 agents
// ConnectionLost): 10% fails before sending; 25% runs on exactly the 40,
// records the 10 with their reasons and warns naming them; once they are back
// the next apply runs on those 10 only.
func TestAccCommandRun_partlyReachableTagFleet(t *testing.T) {
	rec := &acctest.DiagnosticsRecorder{}
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 50, Ready: true, Tags: map[string]string{"Fleet": "big"}})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	sort.Strings(ids)
	down, up := ids[:10], ids[10:]
	for i, id := range down {
		var err error
		if i < 5 {
			err = e.SetInstanceState(id, awsemu.StateStopped)
		} else {
			err = e.SetAgentStopped(id, true)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := func(threshold string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  commands        = %s
  max_unreachable = %q
  targets {
    key    = "tag:Fleet"
    values = ["big"]
  }
}
`, ranCommand, threshold)
	}
	once := map[string]string{}
	for _, id := range up {
		once[id] = "run"
	}
	var firstID string
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		Steps: []resource.TestStep{
			{
				Config:      cfg("10%"),
				ExpectError: regexp.MustCompile(`(?s)10 of 50 instances cannot receive commands now, more than the 5 allowed.*instance is stopped.*ConnectionLost.*max_unreachable`),
			},
			{
				PreConfig: func() {
					if n := e.CallCount("ssm.SendCommand"); n != 0 {
						t.Fatalf("SendCommand called %d times over the threshold", n)
					}
				},
				Config:            cfg("25%"),
				ConfigStateChecks: notReachedChecks(down, up, `instance is stopped|ConnectionLost`),
				// The 10 pending instances keep an update planned.
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeTestCheckFunc(
					func(s *terraform.State) error {
						firstID = stateID(s)
						if n, err := invocationCount(e, firstID); err != nil || n != 40 {
							return fmt.Errorf("command %s has %d invocations (%v), want 40", firstID, n, err)
						}
						return expectRunLogs(e, ids, once)
					}),
			},
			// Still down: every plan shows the pending instances' update.
			{
				Config:             cfg("25%"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				PreConfig: func() {
					for i, id := range down {
						var err error
						if i < 5 {
							err = e.SetInstanceState(id, awsemu.StateRunning)
						} else {
							err = e.SetAgentStopped(id, false)
						}
						if err != nil {
							t.Fatal(err)
						}
						waitOnline(t, e, id)
					}
				},
				Config: cfg("25%"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: append(notReachedChecks(nil, ids, ""),
					statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("command_ids"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Success"))),
				Check: func(s *terraform.State) error {
					ids2 := s.RootModule().Resources[cmdRes].Primary.Attributes["command_ids.1"]
					if n, err := invocationCount(e, ids2); err != nil || n != 10 {
						return fmt.Errorf("the second command %s has %d invocations (%v), want 10", ids2, n, err)
					}
					all := map[string]string{}
					for _, id := range ids {
						all[id] = "run"
					}
					return expectRunLogs(e, ids, all)
				},
			},
			{
				Config:           cfg("25%"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
	phrases := []string{"10 instance(s) could not receive the command", "pending_instance_ids"}
	phrases = append(phrases, down...)
	expectWarning(t, rec, "running command on instances with tag:Fleet = big", phrases...)
}

// The same by instance ids, with a destroy block: 10% fails, 25% runs on the
// 40, the next apply on the 10 once started. At destroy with 10 stopped again,
// the default fails naming them before sending anything; with
// destroy.allow_failure the cleanup runs on the 40 and a warning names the 10.
func TestAccCommandRun_partlyReachableInstanceIDs(t *testing.T) {
	rec := &acctest.DiagnosticsRecorder{}
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 50, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	down, up := ids[:10], ids[10:]
	setDown := func(state string) {
		for _, id := range down {
			if err := e.SetInstanceState(id, state); err != nil {
				t.Fatal(err)
			}
		}
		if state == awsemu.StateRunning {
			for _, id := range down {
				waitOnline(t, e, id)
			}
		}
	}
	setDown(awsemu.StateStopped)
	cfg := func(threshold, destroyAllow string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids       = %s
  commands           = %s
  max_unreachable    = %q
  agent_wait_timeout = "10m"
  destroy {
    commands      = ["echo cleanup >> \"$HOME/ran.log\""]
    allow_failure = %s
  }
}
`, quoteIDs(ids), ranCommand, threshold, destroyAllow)
	}
	both := map[string]string{}
	for _, id := range ids {
		both[id] = "run"
	}
	var sw stopwatch
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		CheckDestroy: func(*terraform.State) error {
			want := map[string]string{}
			for _, id := range up {
				want[id] = "run cleanup"
			}
			for _, id := range down {
				want[id] = "run"
			}
			return expectRunLogs(e, ids, want)
		},
		Steps: []resource.TestStep{
			{
				// agent_wait_timeout = "10m" does not wait for stopped instances.
				PreConfig:   sw.start,
				Config:      cfg("10%", "false"),
				ExpectError: regexp.MustCompile(`(?s)10 of 50 instances cannot receive commands now.*instance is stopped`),
			},
			{
				PreConfig: func() {
					if err := sw.within("failing on stopped instances with agent_wait_timeout = 10m", 30*time.Second); err != nil {
						t.Fatal(err)
					}
				},
				Config:             cfg("25%", "false"),
				ConfigStateChecks:  notReachedChecks(down, up, `instance is stopped`),
				ExpectNonEmptyPlan: true,
				Check: func(s *terraform.State) error {
					if n, err := invocationCount(e, stateID(s)); err != nil || n != 40 {
						return fmt.Errorf("command has %d invocations (%v), want 40", n, err)
					}
					return sendCount(e, 1)(s)
				},
			},
			{
				// Back to the strict default too: Terraform destroys with what is
				// in state, so the destroy below runs with max_unreachable = "0".
				PreConfig: func() { setDown(awsemu.StateRunning) },
				Config:    cfg("0", "false"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: notReachedChecks(nil, ids, ""),
				Check: func(s *terraform.State) error {
					id2 := s.RootModule().Resources[cmdRes].Primary.Attributes["command_ids.1"]
					if n, err := invocationCount(e, id2); err != nil || n != 10 {
						return fmt.Errorf("the second command has %d invocations (%v), want 10", n, err)
					}
					return expectRunLogs(e, ids, both)
				},
			},
			{
				PreConfig: func() {
					setDown(awsemu.StateStopped)
					e.ResetCalls()
				},
				Config:      cfg("0", "false"),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)running destroy commands on 50 instances.*10 of 50 instances cannot receive commands.*instance is stopped.*destroy.allow_failure`),
			},
			{
				PreConfig: func() {
					if n := e.CallCount("ssm.SendCommand"); n != 0 {
						t.Fatalf("the failed destroy sent %d commands", n)
					}
					if err := expectRunLogs(e, ids, both); err != nil {
						t.Fatal(err)
					}
				},
				// Stored first (in place, nothing sent); the test's destroy then
				// runs the cleanup on the 40.
				Config: cfg("0", "true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
				}},
				Check: sendCount(e, 0),
			},
		},
	})
	phrases := append([]string{"10 instance(s) could not receive the command", "destroy.allow_failure is set"}, down...)
	expectWarning(t, rec, "running destroy commands on 50 instances", phrases...)
}

// Nothing waits for what cannot come: a destroy whose targets include a
// stopped and a terminated instance, with agent_wait_timeout = "10m", ends
// within 30 s both when it fails (default: naming the stopped one) and when
// destroy.allow_failure skips it. The bound is on wall time because wall time
// is what this rule is about (the wait it replaces was 10 minutes).
func TestAccCommandRun_destroyDoesNotWaitForStoppedOrTerminated(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	stopped, terminated, fine := ids[0], ids[1], ids[2]
	cfg := func(allow string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids       = %s
  commands           = %s
  agent_wait_timeout = "10m"
  destroy {
    commands      = ["echo cleanup >> \"$HOME/ran.log\""]
    allow_failure = %s
  }
}
`, quoteIDs(ids), ranCommand, allow)
	}
	var sw stopwatch
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if err := sw.within("destroy with a stopped and a terminated instance", 30*time.Second); err != nil {
				return err
			}
			return expectRunLogs(e, ids, map[string]string{stopped: "run", terminated: "run", fine: "run cleanup"})
		},
		Steps: []resource.TestStep{
			{Config: cfg("false")},
			{
				PreConfig: func() {
					if err := e.SetInstanceState(stopped, awsemu.StateStopped); err != nil {
						t.Fatal(err)
					}
					if err := e.SetInstanceState(terminated, awsemu.StateTerminated); err != nil {
						t.Fatal(err)
					}
					sw.start()
				},
				Config:  cfg("false"),
				Destroy: true,
				// The terminated instance is gone: it is not named as a problem.
				ExpectError: regexp.MustCompile(`(?s)1 of 2 instances cannot receive commands now.*` + stopped + `: instance is stopped.*destroy.allow_failure`),
			},
			{
				PreConfig: func() {
					if err := sw.within("failing the destroy", 30*time.Second); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg("true"),
				Check:  func(*terraform.State) error { sw.start(); return nil },
			},
		},
	})
}

// Reordered instance_ids (a list from a data source whose order varies) plan
// no change: plan -detailed-exitcode would return 0.
func TestAccCommandRun_reorderedInstanceIDsNoChange(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	cfg := func(list []string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["echo once"]
}
`, quoteIDs(list))
	}
	reordered := []string{ids[2], ids[0], ids[1]}
	commandTest(t,
		resource.TestStep{Config: cfg(ids), Check: sendCount(e, 1)},
		resource.TestStep{
			Config:           cfg(reordered),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check:            sendCount(e, 1),
		},
		resource.TestStep{Config: cfg(reordered), PlanOnly: true},
	)
}

// A run that failed on 2 of 5 instances is saved tainted; re-applied after the
// cause is fixed, the replacement runs on exactly those 2 (one new command with
// 2 invocations) and records all 5 as succeeded. Changing triggers_replace then
// runs everywhere again.
func TestAccCommandRun_rerunOnlyWhereItFailed(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 5, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	okDir := t.TempDir()
	for _, id := range ids[:3] {
		if err := os.WriteFile(filepath.Join(okDir, id), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := func(trigger string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids     = %s
  commands         = ["echo run >> \"$HOME/ran.log\"", "[ -e %s/\"$AWS_SSM_INSTANCE_ID\" ] || { echo not ready >&2; exit 3; }", "echo ran $AWS_SSM_INSTANCE_ID"]
  max_errors       = "100%%"
  triggers_replace = %q
}
`, quoteIDs(ids), okDir, trigger)
	}
	once, twice := map[string]string{}, map[string]string{}
	for i, id := range ids {
		once[id], twice[id] = "run", "run"
		if i >= 3 {
			twice[id] = "run run"
		}
	}
	commandTest(t,
		resource.TestStep{
			Config:      cfg("a"),
			ExpectError: regexp.MustCompile(`(?s)2 of 5 invocations failed.*not ready.*saved tainted`),
		},
		resource.TestStep{
			PreConfig: func() {
				if err := expectRunLogs(e, ids, once); err != nil {
					t.Fatal(err)
				}
				for _, id := range ids[3:] {
					if err := os.WriteFile(filepath.Join(okDir, id), nil, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			},
			Config: cfg("a"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionDestroyBeforeCreate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Success")),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("command_ids"), knownvalue.ListSizeExact(2)),
				statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "status"), knownvalue.StringExact("Success")),
				statecheck.ExpectKnownValue(cmdRes, invPath(ids[4], "stdout"), knownvalue.StringExact("ran "+ids[4]+"\n")),
			},
			Check: func(s *terraform.State) error {
				if n, err := invocationCount(e, stateID(s)); err != nil || n != 2 {
					return fmt.Errorf("the new command %s has %d invocations (%v), want exactly 2", stateID(s), n, err)
				}
				return expectRunLogs(e, ids, twice)
			},
		},
		resource.TestStep{
			Config: cfg("b"),
			Check: func(s *terraform.State) error {
				if n, err := invocationCount(e, stateID(s)); err != nil || n != 5 {
					return fmt.Errorf("after a triggers_replace change the command has %d invocations (%v), want 5", n, err)
				}
				return nil
			},
		},
	)
}

// allow_failure also lets a run go on with the reachable part: the stopped
// instance is recorded NotReached and pending, with a warning, and the apply
// succeeds although max_unreachable is the strict default.
func TestAccCommandRun_allowFailureRunsOnReachablePart(t *testing.T) {
	rec := &acctest.DiagnosticsRecorder{}
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids  = %s
  commands      = %s
  allow_failure = true
}
`, quoteIDs(ids), ranCommand),
			ConfigStateChecks:  notReachedChecks(ids[:1], ids[1:], `instance is stopped`),
			ExpectNonEmptyPlan: true,
		}},
	})
	expectWarning(t, rec, "running command on 2 instances", "1 instance(s) could not receive the command", ids[0])
}
