package provider_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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

const cmdRes = "ssm_command_run.test"

func invPath(id, attr string) tfjsonpath.Path {
	return tfjsonpath.New("invocations").AtMapKey(id).AtMapKey(attr)
}

func commandTest(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps:                    steps,
	})
}

func TestAccCommandRun_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["echo hello from $AWS_SSM_INSTANCE_ID", "uname -s"]
  comment      = "acceptance"
}
`, quoteIDs(ids))
	var checks []statecheck.StateCheck
	for _, id := range ids {
		checks = append(checks,
			statecheck.ExpectKnownValue(cmdRes, invPath(id, "status"), knownvalue.StringExact("Success")),
			statecheck.ExpectKnownValue(cmdRes, invPath(id, "response_code"), knownvalue.Int64Exact(0)),
			statecheck.ExpectKnownValue(cmdRes, invPath(id, "stdout"), knownvalue.StringExact("hello from "+id+"\nLinux\n")),
		)
	}
	checks = append(checks,
		statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Success")),
		statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("target_count"), knownvalue.Int64Exact(3)),
		statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("completed_count"), knownvalue.Int64Exact(3)),
		statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("error_count"), knownvalue.Int64Exact(0)),
		statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("id"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f-]{36}$`))),
	)
	commandTest(t,
		resource.TestStep{Config: cfg, ConfigStateChecks: checks},
		// Read makes no API call and an unchanged configuration plans nothing.
		resource.TestStep{
			PreConfig: func() { e.ResetCalls() },
			Config:    cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				for op, n := range e.Calls() {
					if strings.HasPrefix(op, "ssm.") && n > 0 {
						return fmt.Errorf("refresh/plan called %s %d times; Read must make no API call", op, n)
					}
				}
				return nil
			},
		},
		resource.TestStep{
			ResourceName:            cmdRes,
			ImportState:             true,
			ImportStateVerify:       true,
			ImportStateVerifyIgnore: []string{"allow_failure", "output_limit", "timeouts"},
		},
	)
}

func TestAccCommandRun_failure(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = [%q]
  commands     = ["echo partial work", "echo disk full >&2", "exit 3"]
}
`, id)
	commandTest(t,
		resource.TestStep{
			Config:      cfg,
			ExpectError: regexp.MustCompile(`(?s)running command on instance ` + id + `.*1 of 1 invocations failed.*` + id + `.*Failed.*exit code 3.*disk full.*Command id: [0-9a-f-]{36}.*tainted`),
		},
		// The failed run is in state (tainted), so the next plan replaces it.
		resource.TestStep{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionReplace)},
			},
			ExpectError: regexp.MustCompile(`exit code 3`),
		},
	)
}

func TestAccCommandRun_allowFailure(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	cfg := func(allow bool) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids  = [%q]
  commands      = ["exit 7"]
  allow_failure = %t
}
`, id, allow)
	}
	commandTest(t,
		resource.TestStep{
			Config: cfg(true),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, invPath(id, "status"), knownvalue.StringExact("Failed")),
				statecheck.ExpectKnownValue(cmdRes, invPath(id, "response_code"), knownvalue.Int64Exact(7)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Failed")),
			},
		},
		// allow_failure updates in place: no re-run.
		resource.TestStep{
			Config: cfg(false),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionUpdate)},
			},
		},
	)
}

func TestAccCommandRun_timeoutsAndStatuses(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{TimeScale: 0.02})
	running := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	offline := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	waitOnline(t, e, offline)
	if err := e.SetAgentStopped(offline, true); err != nil {
		t.Fatal(err)
	}
	failing := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true, Tags: map[string]string{"Group": "failing"}})
	t.Run("execution timed out", func(t *testing.T) {
		commandTest(t, resource.TestStep{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids      = [%q]
  commands          = ["sleep 30"]
  execution_timeout = "60s"
}
`, running),
			ExpectError: regexp.MustCompile(`(?s)` + running + `.*TimedOut.*ExecutionTimedOut.*exit code 137`),
		})
	})
	// An offline agent is not sent the command (it would wait out the delivery
	// timeout as DeliveryTimedOut, which the engine's own tests cover): the run
	// fails before sending, naming the instance.
	t.Run("offline agent", func(t *testing.T) {
		commandTest(t, resource.TestStep{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids     = [%q]
  commands         = ["echo never"]
  delivery_timeout = "60s"
}
`, offline),
			ExpectError: regexp.MustCompile(`(?s)running command on .*cannot receive commands.*` + offline + `.*ConnectionLost.*Nothing was sent`),
		})
	})
	t.Run("max errors terminated", func(t *testing.T) {
		commandTest(t, resource.TestStep{
			Config: acctest.ProviderConfig(e) + `
resource "ssm_command_run" "test" {
  targets {
    key    = "tag:Group"
    values = ["failing"]
  }
  commands        = ["exit 1"]
  max_concurrency = "1"
  max_errors      = "0"
  allow_failure   = true
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("target_count"), knownvalue.Int64Exact(3)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("invocations"), knownvalue.MapSizeExact(3)),
			},
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[cmdRes].Primary.Attributes
				terminated := 0
				for _, id := range failing {
					if attrs["invocations."+id+".status_details"] == "Terminated" {
						terminated++
					}
				}
				if terminated != 2 {
					return fmt.Errorf("%d invocations Terminated, want 2 (max_errors 0 stops after the first failure)", terminated)
				}
				return nil
			},
		})
	})
}

// TestAccCommandRun_interruptCancels: a Terraform timeout cancels the command,
// and the process on the instance is killed.
func TestAccCommandRun_interruptCancels(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	pidFile := filepath.Join(e.Options().WorkDir, "instances", id, "sleeper.pid")
	commandTest(t, resource.TestStep{
		Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = [%q]
  commands     = ["echo $$ > sleeper.pid", "sleep 120"]
  timeouts {
    create = "3s"
  }
}
`, id),
		ExpectError: regexp.MustCompile(`(?s)running command on .*The timeout of 3s was reached.*CancelCommand\s+was sent.*Command ids:\s+[0-9a-f-]{36}`),
	})
	if n := e.CallCount("ssm.CancelCommand"); n < 1 {
		t.Fatalf("CancelCommand called %d times, want 1", n)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	emutest.Eventually(t, 5*time.Second, func() error {
		if syscall.Kill(pid, 0) == nil {
			return fmt.Errorf("process %d on the instance still runs after the cancel", pid)
		}
		return nil
	})
}

func TestAccCommandRun_fleets(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{MaxProcesses: 16})
	addInstances(t, e, awsemu.InstanceSpec{Count: 200, Ready: true, Tags: map[string]string{"Fleet": "big"}})
	many := addInstances(t, e, awsemu.InstanceSpec{Count: 120, Ready: true})
	t.Run("tag targets over 200 instances", func(t *testing.T) {
		commandTest(t, resource.TestStep{
			Config: acctest.ProviderConfig(e) + `
resource "ssm_command_run" "test" {
  targets {
    key    = "tag:Fleet"
    values = ["big"]
  }
  commands        = ["echo ok"]
  max_concurrency = "100%"
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("target_count"), knownvalue.Int64Exact(200)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("completed_count"), knownvalue.Int64Exact(200)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("invocations"), knownvalue.MapSizeExact(200)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Success")),
			},
		})
	})
	t.Run("120 explicit ids are split", func(t *testing.T) {
		commandTest(t, resource.TestStep{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids    = %s
  commands        = ["echo split"]
  max_concurrency = "100%%"
}
`, quoteIDs(many)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("command_ids"), knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("invocations"), knownvalue.MapSizeExact(120)),
				statecheck.ExpectKnownValue(cmdRes, invPath(many[119], "stdout"), knownvalue.StringExact("split\n")),
			},
		})
	})
}

func TestAccCommandRun_output(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	cfg := emuConfig(e)
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("run-output")}); err != nil {
		t.Fatal(err)
	}
	// 30,000 lines of "line NNNNN" (11 bytes each) = 330,000 bytes of stdout.
	const gen = `i=0; while [ $i -lt 30000 ]; do printf 'line %05d\n' $i; i=$((i+1)); done`
	t.Run("beyond the API cap through S3", func(t *testing.T) {
		commandTest(t, resource.TestStep{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
provider "ssm" {
  alias             = "pathstyle"
  region            = "us-east-1"
  access_key        = "test"
  secret_key        = "test"
  s3_use_path_style = true
  endpoints {
    s3  = %[1]q
    ssm = %[1]q
  }
}

resource "ssm_command_run" "test" {
  provider              = ssm.pathstyle
  instance_ids          = [%[2]q]
  commands              = [%[3]q]
  output_s3_bucket_name = "run-output"
  output_s3_key_prefix  = "runs"
  output_limit          = 1000000
}
`, e.URL(), id, gen),
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[cmdRes].Primary.Attributes
				out := attrs["invocations."+id+".stdout"]
				if len(out) != 330000 || !strings.HasSuffix(out, "line 29999\n") {
					return fmt.Errorf("stdout has %d bytes ending %q, want all 330000 through S3", len(out), out[max(0, len(out)-20):])
				}
				if attrs["invocations."+id+".stdout_truncated"] != "false" {
					return errors.New("stdout marked truncated")
				}
				if !strings.Contains(attrs["invocations."+id+".stdout_url"], "run-output") {
					return fmt.Errorf("stdout_url = %q", attrs["invocations."+id+".stdout_url"])
				}
				return nil
			},
		})
	})
	t.Run("output_limit", func(t *testing.T) {
		commandTest(t, resource.TestStep{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = [%q]
  commands     = [%q]
  output_limit = 100
}
`, id, gen),
			Check: func(s *terraform.State) error {
				attrs := s.RootModule().Resources[cmdRes].Primary.Attributes
				if out := attrs["invocations."+id+".stdout"]; len(out) > 100 {
					return fmt.Errorf("stdout has %d bytes, output_limit is 100", len(out))
				}
				if attrs["invocations."+id+".stdout_truncated"] != "true" {
					return errors.New("stdout not marked truncated")
				}
				return nil
			},
		})
	})
}

func TestAccCommandRun_script(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	// Runs, then prints itself back: quotes, $, backslashes, a heredoc and UTF-8
	// must arrive byte-exact.
	script := "#!/bin/sh\n# 'single' \"double\" $HOME ${PATH} `date` \\back\\slash\\n ünïcödé ✓ 日本\ncat <<'EOF'\nliteral $HOME \\t \"q\" 'q'\nEOF\nprintf '%s\\n' \"done: $((1+2))\"\ncat \"$0\"\n"
	want := "literal $HOME \\t \"q\" 'q'\ndone: 3\n" + script
	commandTest(t, resource.TestStep{
		Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = [%[1]q]
  script       = %[2]q
}

resource "ssm_command_run" "python" {
  instance_ids = [%[1]q]
  interpreter  = "python3"
  script       = "import sys\nprint('py', sys.version_info[0], 'ü')\n"
}
`, id, hclEscape(script)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(cmdRes, invPath(id, "stdout"), knownvalue.StringExact(want)),
			statecheck.ExpectKnownValue("ssm_command_run.python", invPath(id, "stdout"), knownvalue.StringExact("py 3 ü\n")),
		},
	})
}

// hclEscape keeps ${ and %{ literal inside a quoted HCL string.
func hclEscape(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
}

func TestAccCommandRun_triggersAndDestroy(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	dir := filepath.Join(e.Options().WorkDir, "instances", id)
	cfg := func(trigger string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids     = [%q]
  commands         = ["echo run >> runs.log"]
  triggers_replace = { version = %q }
  destroy {
    commands = ["echo destroyed > destroyed.txt"]
  }
}
`, id, trigger)
	}
	runs := func(want int) func(*terraform.State) error {
		return func(*terraform.State) error {
			b, _ := os.ReadFile(filepath.Join(dir, "runs.log"))
			if got := strings.Count(string(b), "run\n"); got != want {
				return fmt.Errorf("command ran %d times, want %d", got, want)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			b, err := os.ReadFile(filepath.Join(dir, "destroyed.txt"))
			if err != nil || string(b) != "destroyed\n" {
				return fmt.Errorf("destroy commands did not run: %v %q", err, b)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: cfg("1"), Check: runs(1)},
			{Config: cfg("1"), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}, Check: runs(1)},
			{Config: cfg("2"), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(cmdRes, plancheck.ResourceActionReplace)}}, Check: runs(2)},
		},
	})
}

func TestAccCommandRun_throttling(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 5, Ready: true})
	e.SetFault("ssm", awsemu.Fault{ThrottleRate: 0.3, ServerErrorRate: 0.05})
	commandTest(t, resource.TestStep{
		Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["echo survived"]
}
`, quoteIDs(ids)),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("Success")),
			statecheck.ExpectKnownValue(cmdRes, invPath(ids[4], "stdout"), knownvalue.StringExact("survived\n")),
		},
		Check: func(*terraform.State) error {
			calls := e.Calls()
			if calls["ssm.SendCommand#throttled"]+calls["ssm.ListCommands#throttled"]+calls["ssm.ListCommandInvocations#throttled"] == 0 {
				return errors.New("no throttling was injected: the test proves nothing")
			}
			// Every SendCommand the emulator handled created a command; the
			// throttled and failed ones were refused before handling.
			handled := calls["ssm.SendCommand"] - calls["ssm.SendCommand#throttled"] - calls["ssm.SendCommand#5xx"] -
				calls["ssm.SendCommand#reset"] - calls["ssm.SendCommand#denied"]
			if handled != 1 {
				return fmt.Errorf("SendCommand handled %d times (%v), want exactly 1 (no duplicates from retries)", handled, calls)
			}
			return nil
		},
	})
}

func TestAccCommandRun_invalidInput(t *testing.T) {
	long := strings.Repeat("c", 101)
	cases := []struct{ name, body, want string }{
		{"no target", `commands = ["true"]`, `(?s)Missing Attribute Configuration.*Exactly one of these attributes must be configured: \[instance_ids,targets\]`},
		{"ids and targets", `instance_ids = ["i-0123456789abcdef0"]
  targets {
    key    = "tag:A"
    values = ["b"]
  }
  commands = ["true"]`, `(?s)Invalid Attribute Combination.*instance_ids,targets`},
		{"malformed id", `instance_ids = ["i-12"]
  commands = ["true"]`, `must be an instance id`},
		{"more than 5 targets", `commands = ["true"]` + strings.Repeat("\n  targets {\n    key = \"tag:A\"\n    values = [\"b\"]\n  }", 6), `(?s)targets.*at most 5`},
		{"bad max_concurrency", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  max_concurrency = "0"`, `must be a positive number`},
		{"bad max_errors", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  max_errors = "-1"`, `(?s)max_errors.*must be a number`},
		{"comment over 100", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  comment = "` + long + `"`, `(?s)comment.*at most 100`},
		{"execution timeout over 48h", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  execution_timeout = "49h"`, `(?s)duration out of range.*48h0m0s`},
		{"delivery timeout under 30s", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  delivery_timeout = "10s"`, `(?s)duration out of range.*between 30s`},
		{"commands with script", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  script = "true"`, `(?s)Invalid Attribute Combination.*commands`},
		{"commands with parameters.commands", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  parameters = { commands = ["false"] }`, `commands given twice`},
		{"empty commands", `instance_ids = ["i-0123456789abcdef0"]
  commands = []`, `(?s)commands.*at least 1`},
		{"empty command string", `instance_ids = ["i-0123456789abcdef0"]
  commands = [""]`, `(?s)commands.*at least 1`},
		{"nothing to run", `instance_ids = ["i-0123456789abcdef0"]`, `(?s)commands,script,parameters`},
		{"bad max_unreachable", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  max_unreachable = "ten"`, `(?s)invalid max_unreachable.*"ten" is neither a count.*nor a percentage`},
		{"max_unreachable over 100%", `instance_ids = ["i-0123456789abcdef0"]
  commands = ["true"]
  max_unreachable = "150%"`, `(?s)invalid max_unreachable.*more than 100%`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			commandTest(t, resource.TestStep{
				Config:      `provider "ssm" { region = "us-east-1" }` + "\nresource \"ssm_command_run\" \"test\" {\n  " + tc.body + "\n}\n",
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(tc.want),
			})
		})
	}
}

// Targets that match no instance (a tag typo) fail the apply, naming the tag,
// before anything is sent (an empty selection is an error); with
// allow_empty = true the apply succeeds, warns, sends nothing and records
// status NotSent.
func TestAccCommandRun_targetsMatchingNothing(t *testing.T) {
	rec := &acctest.DiagnosticsRecorder{}
	e := emutest.Start(t, awsemu.Options{})
	addInstances(t, e, awsemu.InstanceSpec{Ready: true, Tags: map[string]string{"Role": "web"}})
	cfg := func(extra string) string {
		return acctest.ProviderConfig(e) + `
resource "ssm_command_run" "test" {
  commands = ["true"]
  targets {
    key    = "tag:Role"
    values = ["wbe"]
  }
` + extra + `
}
`
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		Steps: []resource.TestStep{
			{
				Config:      cfg(""),
				ExpectError: regexp.MustCompile(`(?s)running command on instances with tag:Role = wbe.*tag:Role = wbe select no instance.*nothing was sent.*allow_empty = true`),
			},
			{
				Config: cfg("  allow_empty = true"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("status"), knownvalue.StringExact("NotSent")),
					statecheck.ExpectKnownValue(cmdRes, tfjsonpath.New("invocations"), knownvalue.MapSizeExact(0)),
					sendCountCheck(e, 0),
				},
			},
		},
	})
	expectWarning(t, rec, "running command on instances with tag:Role = wbe",
		"The targets (tag:Role = wbe) select no instance, so nothing was sent; allow_empty is set")
}
