package provider_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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

// The life of a run after the first apply: what happens to a workspace when
// agents go offline, instances stop, or the instance list changes. A plan must
// never wait for agents, and a command must never run twice by accident.

// stopwatch times the steps of a test: lap returns the time since the last lap.
type stopwatch struct{ last time.Time }

func (s *stopwatch) start() { s.last = time.Now() }

func (s *stopwatch) within(what string, limit time.Duration) error {
	d := time.Since(s.last)
	if d > limit {
		return fmt.Errorf("%s took %s, want under %s (it must not wait for agents)", what, d.Round(time.Millisecond), limit)
	}
	return nil
}

// sendCount is a check that the emulator received exactly n SendCommand calls.
func sendCount(e *awsemu.Emulator, n int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := e.CallCount("ssm.SendCommand"); got != n {
			return fmt.Errorf("SendCommand called %d times, want %d", got, n)
		}
		return nil
	}
}

// stateFunc is a state check made of a function, for configurations with
// for_each, which the legacy Check functions cannot read.
type stateFunc func() error

func (f stateFunc) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f()
}

func sendCountCheck(e *awsemu.Emulator, n int64) statecheck.StateCheck {
	return stateFunc(func() error { return sendCount(e, n)(nil) })
}

// waitPing waits (bounded) until the emulator reports the agent with the ping
// status ("" for not listed).
func waitPing(t *testing.T, e *awsemu.Emulator, id, status string) {
	t.Helper()
	emutest.Eventually(t, 20*time.Second, func() error {
		if inst, ok := e.Instance(id); !ok || inst.PingStatus != status {
			return fmt.Errorf("agent of %s never became %q (ping status %q)", id, status, inst.PingStatus)
		}
		return nil
	})
}

// The recommended chain (role, profile, associations, a run that waits for its
// own agents) on fresh instances, then the managed policy detached out of band.
func TestAccCommandRun_lifecycleChain(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: 2 * time.Second, IAMPropagationDelay: time.Second})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3})
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_role" "test" {
  name   = "run-role"
  policy = "managed"
}

resource "ssm_instance_profile" "test" {
  name = "run-profile"
  role = ssm_instance_role.test.name
}

locals {
  ids = %s
}

# count rather than the examples' for_each: the test framework's destroy check
# cannot read for_each instances.
resource "ssm_instance_profile_association" "test" {
  count            = length(local.ids)
  instance_id      = local.ids[count.index]
  instance_profile = ssm_instance_profile.test.name
}

resource "ssm_command_run" "test" {
  instance_ids       = ssm_instance_profile_association.test[*].instance_id
  agent_wait_timeout = "2m"
  commands           = ["echo bootstrapped $AWS_SSM_INSTANCE_ID"]
}
`, quoteIDs(ids))
	detach := func() {
		_, err := iamClient(e).DetachRolePolicy(t.Context(), &iam.DetachRolePolicyInput{
			RoleName: aws.String("run-role"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			waitPing(t, e, id, awsemu.PingConnectionLost)
		}
	}
	var checks []statecheck.StateCheck
	for _, id := range ids {
		checks = append(checks, statecheck.ExpectKnownValue(cmdRes, invPath(id, "stdout"), knownvalue.StringExact("bootstrapped "+id+"\n")))
	}
	var sw stopwatch
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			// Destroyed while the agents were offline and the role drifted again.
			if err := sw.within("destroy", 45*time.Second); err != nil {
				return err
			}
			return sendCount(e, 1)(nil)
		},
		Steps: []resource.TestStep{
			// 1. The first apply waits for the agents and runs the command once.
			{Config: cfg, ConfigStateChecks: append(checks, sendCountCheck(e, 1))},
			// 2. The policy is detached out of band: the plan shows the role drift,
			// the apply repairs it, and neither waits for agents.
			{
				PreConfig: func() { detach(); sw.start() },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_instance_role.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionNoop),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					stateFunc(func() error { return sw.within("plan and apply of the role drift", 45*time.Second) }),
					sendCountCheck(e, 1),
				},
			},
			// 3. The next plan is empty.
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			// 4. Drifted again: a plan alone, quick; then the test's destroy runs
			// with the agents offline.
			{
				PreConfig:          func() { detach(); sw.start() },
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// One of three instances is stopped after the apply: nothing re-runs, plan and
// destroy are quick.
func TestAccCommandRun_stoppedInstance(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["echo once"]
}
`, quoteIDs(ids))
	var sw stopwatch
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if err := sw.within("destroy", 45*time.Second); err != nil {
				return err
			}
			return sendCount(e, 1)(nil)
		},
		Steps: []resource.TestStep{
			{Config: cfg, Check: sendCount(e, 1)},
			{
				PreConfig: func() {
					if err := e.SetInstanceState(ids[1], awsemu.StateStopped); err != nil {
						t.Fatal(err)
					}
					sw.start()
				},
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: resource.ComposeTestCheckFunc(
					func(*terraform.State) error { return sw.within("plan", 45*time.Second) },
					sendCount(e, 1),
					func(*terraform.State) error { sw.start(); return nil }),
			},
		},
	})
}

// An agent offline for 2 s while a plan runs changes nothing.
func TestAccCommandRun_agentBlip(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["echo once"]
}
`, quoteIDs(ids))
	commandTest(t,
		resource.TestStep{Config: cfg, Check: sendCount(e, 1)},
		resource.TestStep{
			PreConfig: func() {
				if err := e.SetAgentStopped(ids[0], true); err != nil {
					t.Fatal(err)
				}
				time.AfterFunc(2*time.Second, func() { _ = e.SetAgentStopped(ids[0], false) })
			},
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check:            sendCount(e, 1),
		},
	)
}

// Instances added later run the command on their own (waiting for the new agent
// only, while an old instance is stopped); reordering the ids and changing
// settings that do not decide what runs or where update in place and send
// nothing.
func TestAccCommandRun_addInstancesAndInPlace(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	// The fourth instance exists with an identity but is stopped until step 2.
	fourth := addInstances(t, e, awsemu.InstanceSpec{Ready: true, State: awsemu.StateStopped})[0]
	s3c := s3.NewFromConfig(emuConfig(e), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("run-output")}); err != nil {
		t.Fatal(err)
	}
	cfg := func(list []string, extra string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids       = %s
  agent_wait_timeout = "1m"
  commands           = ["echo run on $AWS_SSM_INSTANCE_ID"]
%s
}
`, quoteIDs(list), extra)
	}
	four := append(append([]string(nil), ids...), fourth)
	reordered := []string{fourth, ids[2], ids[0], ids[1]}
	settings := `
  comment               = "changed"
  output_limit          = 100
  max_concurrency       = "2"
  max_errors            = "1"
  execution_timeout     = "5m"
  delivery_timeout      = "10m"
  output_s3_bucket_name = "run-output"
  output_s3_key_prefix  = "runs"
  cloudwatch_output {
    enabled = true
  }
`
	var sw stopwatch
	commandTest(t,
		resource.TestStep{Config: cfg(ids, ""), Check: sendCount(e, 1)},
		resource.TestStep{
			PreConfig: func() {
				// An old instance is stopped: it must not be waited for or re-run.
				if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
					t.Fatal(err)
				}
				// The new instance starts; its agent registers 3 s later.
				e.SetDelays(3*time.Second, -1, -1)
				if err := e.SetInstanceState(fourth, awsemu.StateRunning); err != nil {
					t.Fatal(err)
				}
				sw.start()
			},
			Config: cfg(four, ""),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("target_count"), knownvalue.Int64Exact(4)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("completed_count"), knownvalue.Int64Exact(4)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("command_ids"), knownvalue.ListSizeExact(2)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Success")),
				statecheck.ExpectKnownValue(cmdRes, invPath(fourth, "stdout"), knownvalue.StringExact("run on "+fourth+"\n")),
				// The stopped instance keeps its recorded result.
				statecheck.ExpectKnownValue(cmdRes, invPath(ids[0], "stdout"), knownvalue.StringExact("run on "+ids[0]+"\n")),
			},
			Check: resource.ComposeTestCheckFunc(
				sendCount(e, 2),
				// Waited about the registration delay for the new agent only,
				// not the minute it would take to give up on the stopped one.
				func(*terraform.State) error { return sw.within("adding an instance", 40*time.Second) }),
		},
		// Reordered ids and changed settings: in place, nothing sent.
		resource.TestStep{
			Config: cfg(reordered, settings),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("target_count"), knownvalue.Int64Exact(4)),
			},
			Check: sendCount(e, 2),
		},
		resource.TestStep{
			Config:           cfg(reordered, settings),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		// Removing an instance forgets it, in place, and sends nothing.
		resource.TestStep{
			Config: cfg(reordered[:3], settings),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("target_count"), knownvalue.Int64Exact(3)),
			},
			Check: sendCount(e, 2),
		},
	)
}

// A run whose target cannot receive it fails at once, naming the instance and
// why, at create and in a destroy block; with agent_wait_timeout it waits for
// the agent and runs.
func TestAccCommandRun_notReadyFailsFast(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	stopped, lost := ids[0], ids[1]
	if err := e.SetInstanceState(stopped, awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAgentStopped(lost, true); err != nil {
		t.Fatal(err)
	}
	waitPing(t, e, lost, awsemu.PingConnectionLost)
	cfg := func(id, extra string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = [%q]
  commands     = ["echo ran"]
%s
}
`, id, extra)
	}
	var sw stopwatch
	commandTest(t,
		resource.TestStep{
			PreConfig:   sw.start,
			Config:      cfg(stopped, ""),
			ExpectError: regexp.MustCompile(`(?s)running command on .*cannot receive commands.*` + stopped + `.*stopped.*Nothing was sent.*agent_wait_timeout`),
		},
		resource.TestStep{
			PreConfig: func() {
				if err := sw.within("failing on a stopped instance", time.Minute); err != nil {
					t.Fatal(err)
				}
				sw.start()
			},
			Config:      cfg(lost, ""),
			ExpectError: regexp.MustCompile(`(?s)running command on .*cannot receive commands.*` + lost + `.*ConnectionLost`),
		},
		// Even with a wait asked for, a stopped instance is not waited for
		// (nothing starts it while the apply runs): the apply fails at once.
		resource.TestStep{
			PreConfig: func() {
				if err := sw.within("failing on a lost agent", time.Minute); err != nil {
					t.Fatal(err)
				}
				if e.CallCount("ssm.SendCommand") != 0 {
					t.Fatal("a command was sent to an instance that cannot receive it")
				}
				sw.start()
			},
			Config:      cfg(stopped, `  agent_wait_timeout = "2m"`),
			ExpectError: regexp.MustCompile(`(?s)running command on .*cannot receive commands.*` + stopped + `.*instance is stopped`),
		},
		// Started, its agent still registering: the wait covers that.
		resource.TestStep{
			PreConfig: func() {
				// Well under the 2m wait: a stopped instance is never waited for.
				if err := sw.within("failing on a stopped instance with agent_wait_timeout", 30*time.Second); err != nil {
					t.Fatal(err)
				}
				e.SetDelays(2*time.Second, -1, -1)
				if err := e.SetInstanceState(stopped, awsemu.StateRunning); err != nil {
					t.Fatal(err)
				}
			},
			Config: cfg(stopped, `  agent_wait_timeout = "2m"
  destroy {
    commands = ["echo destroyed"]
  }`),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, invPath(stopped, "stdout"), knownvalue.StringExact("ran\n")),
			},
			Check: sendCount(e, 1),
		},
		// Terraform destroys with what is in state: apply the configuration
		// without the wait first (in place, nothing sent).
		resource.TestStep{
			Config: cfg(stopped, `  destroy {
    commands = ["echo destroyed"]
  }`),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
			}},
			Check: sendCount(e, 1),
		},
		// The destroy commands cannot reach a stopped instance: the destroy fails
		// at once and says so in destroy terms.
		resource.TestStep{
			PreConfig: func() {
				if err := e.SetInstanceState(stopped, awsemu.StateStopped); err != nil {
					t.Fatal(err)
				}
				sw.start()
			},
			Config: cfg(stopped, `  destroy {
    commands = ["echo destroyed"]
  }`),
			Destroy:     true,
			ExpectError: regexp.MustCompile(`(?s)running destroy commands on .*cannot receive commands.*` + stopped + `.*stopped.*destroy.allow_failure`),
		},
		// Started again: the test's own destroy runs the destroy commands.
		resource.TestStep{
			PreConfig: func() {
				if err := sw.within("failing the destroy on a stopped instance", time.Minute); err != nil {
					t.Fatal(err)
				}
				if err := e.SetInstanceState(stopped, awsemu.StateRunning); err != nil {
					t.Fatal(err)
				}
				waitOnline(t, e, stopped)
			},
			Config: cfg(stopped, `  destroy {
    commands = ["echo destroyed"]
  }`),
			Check: sendCount(e, 1),
		},
	)
	if got := e.CallCount("ssm.SendCommand"); got != 2 {
		t.Errorf("SendCommand called %d times, want 2 (the run and the destroy commands)", got)
	}
}

// destroy.interpreter runs destroy.script only: with destroy.commands it is
// rejected at plan.
func TestAccCommandRun_destroyInterpreterNeedsScript(t *testing.T) {
	commandTest(t, resource.TestStep{
		Config: `provider "ssm" { region = "us-east-1" }
resource "ssm_command_run" "test" {
  instance_ids = ["i-0123456789abcdef0"]
  commands     = ["true"]
  destroy {
    interpreter = "python3"
    commands    = ["print(1)"]
  }
}
`,
		PlanOnly:    true,
		ExpectError: regexp.MustCompile(`destroy.interpreter needs destroy.script`),
	})
}

// The chain in examples/demo and the docs: no data-source gate in front of
// commands.
func TestExamples_noAgentGateBeforeCommands(t *testing.T) {
	for _, f := range []string{"../../examples/demo/main.tf", "../../examples/resources/ssm_command_run/resource.tf", "../../README.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "online_instance_ids") && strings.Contains(string(b), "ssm_command_run") {
			t.Errorf("%s passes ssm_agent_online's online_instance_ids to ssm_command_run: use agent_wait_timeout", f)
		}
	}
}

// An added instance on which the run fails is left out of the stored
// instance_ids, so the next plan runs the command on it again (and only on it).
func TestAccCommandRun_addedInstanceFails(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	bad := ids[2]
	cfg := func(list []string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["[ \"$AWS_SSM_INSTANCE_ID\" != \"%s\" ] || { echo broken >&2; exit 4; }", "echo ok"]
}
`, quoteIDs(list), bad)
	}
	commandTest(t,
		resource.TestStep{Config: cfg(ids[:2]), Check: sendCount(e, 1)},
		resource.TestStep{
			Config:      cfg(ids),
			ExpectError: regexp.MustCompile(`(?s)running command on instance ` + bad + ` added to instance_ids.*1 of 1 invocations failed.*` + bad + `.*exit code 4.*broken.*left out of the stored\s+instance_ids`),
		},
		// The failed instance is still to do: the plan updates in place again.
		resource.TestStep{
			Config: cfg(ids),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate),
			}},
			ExpectError: regexp.MustCompile(`(?s)running command on instance ` + bad + ` added to instance_ids.*1 of 1 invocations failed`),
		},
		resource.TestStep{
			Config: cfg(ids),
			PreConfig: func() {
				// Three sends: the first run, and one per attempt on the bad instance.
				if got := e.CallCount("ssm.SendCommand"); got != 3 {
					t.Errorf("SendCommand called %d times, want 3", got)
				}
			},
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		},
	)
}
