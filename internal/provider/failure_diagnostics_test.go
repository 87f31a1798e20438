package provider_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// failureScenario is one way for a user's apply to fail, run through the
// Terraform CLI and the provider.
type failureScenario struct {
	name string
	// steps returns the steps to run against its own emulator.
	steps func(t *testing.T) []resource.TestStep
	// within bounds the whole Terraform run (0: no bound).
	within time.Duration
}

// TestAccFailureDiagnostics runs the failure scenarios, collects the text of
// every diagnostic the provider returned, and checks that none leaks <nil> or
// an empty cause, and that hints appear only where they apply.
func TestAccFailureDiagnostics(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	rec := &acctest.DiagnosticsRecorder{}
	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range failureScenarios() {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				steps := sc.steps(t)
				start := time.Now()
				resource.Test(t, resource.TestCase{
					PreCheck:                 func() { acctest.PreCheck(t) },
					ProtoV6ProviderFactories: rec.Factories(),
					Steps:                    steps,
				})
				took := time.Since(start)
				t.Logf("%s: Terraform run took %s", sc.name, took.Round(100*time.Millisecond))
				if sc.within > 0 && took > sc.within {
					t.Errorf("took %s, want at most %s", took, sc.within)
				}
			})
		}
	})
	all := rec.All()
	if len(all) == 0 {
		t.Fatal("no diagnostic was recorded")
	}
	bad := []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`<nil>`), "a <nil>"},
		{regexp.MustCompile(`%!`), "a formatting error"},
		{regexp.MustCompile(`(:|\(|\[)\s*$|:[ \t]*\n[ \t]*\n`), "an empty cause at the end or before a blank line"},
		{regexp.MustCompile(`[^.]\.\.([^.]|$)`), "a doubled full stop"},
		{regexp.MustCompile(`\(\s*\)|:\s*\)|:\s*;`), "an empty cause"},
		{regexp.MustCompile(`(?i)exception: *$`), "an AWS error without text"},
	}
	errors := 0
	for _, d := range all {
		if d.Severity == "ERROR" {
			errors++
		}
		text := d.Summary + "\n" + d.Detail
		for _, b := range bad {
			if b.re.MatchString(text) {
				t.Errorf("%s diagnostic from %s has %s:\n%s", d.Severity, d.RPC, b.what, text)
			}
		}
		if strings.TrimSpace(d.Detail) == "" {
			t.Errorf("%s diagnostic %q from %s has no detail", d.Severity, d.Summary, d.RPC)
		}
		// The provider's summaries are lower case (the framework's own, such as
		// "Invalid Attribute Value Length", are not the provider's to change).
		if first, _, _ := strings.Cut(d.Summary, " "); !frameworkSummary(d.Summary) && first != strings.ToUpper(first) && first != strings.ToLower(first) {
			t.Errorf("%s diagnostic from %s has a summary not in the provider's style: %q", d.Severity, d.RPC, d.Summary)
		}
		// Hints only where they apply.
		if strings.Contains(text, "can take a while to reach EC2") &&
			!strings.Contains(text, "Invalid IAM Instance Profile") && !strings.Contains(text, "has no associated IAM Roles") {
			t.Errorf("the profile propagation hint is given for another error:\n%s", text)
		}
		if strings.Contains(text, "cancel the command by hand") && !strings.Contains(text, "CancelCommand could not be sent") {
			t.Errorf("the cancel-by-hand hint is given although cancelling did not fail:\n%s", text)
		}
	}
	if errors == 0 {
		t.Error("no error diagnostic was recorded")
	}
}

func failureScenarios() []failureScenario {
	return []failureScenario{
		{
			// An SSM endpoint answering 500 forever ends the agent wait at
			// its timeout, naming the operation and the 500.
			name: "agent_wait_500_forever", within: 35*time.Second + 10*time.Second,
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
				e.SetFault("ssm.DescribeInstanceInformation", awsemu.Fault{ServerErrorRate: 1})
				return []resource.TestStep{{
					Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "test" {
  instance_ids = %s
  timeout      = "30s"
}
`, quoteIDs(ids)),
					ExpectError: regexp.MustCompile(`(?s)DescribeInstanceInformation.*HTTP\s+500`),
				}}
			},
		},
		{
			// ListCommandInvocations answering 500 forever ends the run at
			// the create timeout, naming the operation and the 500.
			name: "command_run_500_forever_while_collecting", within: 65*time.Second + 10*time.Second,
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
				e.SetFault("ssm.ListCommandInvocations", awsemu.Fault{ServerErrorRate: 1})
				return []resource.TestStep{{
					Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = [%q]
  commands     = ["echo hi"]
  timeouts {
    create = "1m"
  }
}
`, id),
					ExpectError: regexp.MustCompile(`(?s)The timeout of 1m was reached.*ListCommandInvocations.*HTTP\s+500.*nothing\s+needed\s+cancelling.*status\s+Failed`),
				}}
			},
		},
		{
			// A run that never started names the connection error.
			name: "command_run_unreachable_endpoint", within: time.Minute,
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				cfg := strings.Replace(acctest.ProviderConfig(e), fmt.Sprintf("ssm  = %q", e.URL()), `ssm  = "http://127.0.0.1:1"`, 1)
				return []resource.TestStep{{
					Config: cfg + `
resource "ssm_command_run" "test" {
  instance_ids = ["i-0123456789abcdef0"]
  commands     = ["true"]
  timeouts {
    create = "5s"
  }
}
`,
					// The run checks the agents first, so DescribeInstanceInformation
					// is the first call to meet the unreachable endpoint.
					ExpectError: regexp.MustCompile(`(?s)DescribeInstanceInformation.*connection\s+refused`),
				}}
			},
		},
		{
			// An agent that never registers: the timeout diagnosis.
			name: "agent_wait_timeout", within: time.Minute,
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				ids := addInstances(t, e, awsemu.InstanceSpec{Count: 1})
				return []resource.TestStep{{
					Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "test" {
  instance_ids = %s
  timeout      = "2s"
}
`, quoteIDs(ids)),
					ExpectError: regexp.MustCompile(`(?s)0 of the required 1 SSM agents are Online`),
				}}
			},
		},
		{
			// Nulls inside lists and maps are rejected at plan, naming the attribute.
			name: "null_elements",
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				p := acctest.ProviderConfig(e)
				var steps []resource.TestStep
				for _, c := range []struct{ attr, cfg string }{
					{"instance_ids", `resource "ssm_command_run" "t" {
  instance_ids = [null]
  commands     = ["true"]
}`},
					{"commands", `resource "ssm_command_run" "t" {
  instance_ids = ["i-0123456789abcdef0"]
  commands     = [null, "true"]
}`},
					{"values", `resource "ssm_command_run" "t" {
  commands = ["true"]
  targets {
    key    = "tag:Role"
    values = [null]
  }
}`},
					{"parameters", `resource "ssm_command_run" "t" {
  instance_ids = ["i-0123456789abcdef0"]
  document_name = "AWS-RunShellScript"
  parameters = { commands = [null] }
}`},
					{"tags", `resource "ssm_instance_role" "t" {
  tags = { a = null }
}`},
					{"tags", `resource "ssm_instance_profile" "t" {
  role = "r"
  tags = { a = null }
}`},
					{"tags", `data "ssm_agent_online" "t" {
  tags = { Role = null }
}`},
					{"instance_ids", `data "ssm_agent_online" "t" {
  instance_ids = [null]
}`},
				} {
					steps = append(steps, resource.TestStep{
						Config: p + c.cfg, PlanOnly: true,
						ExpectError: regexp.MustCompile(`(?s)Null (List|Map) Value.*` + c.attr + `\s*=.*This attribute contains a null value`),
					})
				}
				// An empty tag key would reach SSM as InvalidFilterKey without text.
				steps = append(steps, resource.TestStep{
					Config: p + `data "ssm_agent_online" "t" {
  tags = { "" = "web" }
}`, PlanOnly: true,
					ExpectError: regexp.MustCompile(`(?s)(Invalid Attribute Value Length|invalid length).*tags`),
				})
				return steps
			},
		},
		{
			// Names taken outside Terraform: the error suggests the import command.
			name: "iam_names_taken",
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				c := emulatorClients(t, e)
				if _, err := c.IAM.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String("taken-role"),
					AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
					t.Fatal(err)
				}
				if _, err := c.IAM.CreateInstanceProfile(t.Context(), &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("taken-profile")}); err != nil {
					t.Fatal(err)
				}
				p := acctest.ProviderConfig(e)
				return []resource.TestStep{
					{
						Config:      p + `resource "ssm_instance_role" "t" { name = "taken-role" }`,
						ExpectError: regexp.MustCompile(`(?s)EntityAlreadyExists.*terraform import\s+ssm_instance_role.<name>\s+taken-role`),
					},
					{
						Config: p + `resource "ssm_instance_profile" "t" {
  name = "taken-profile"
  role = "taken-role"
}`,
						ExpectError: regexp.MustCompile(`(?s)EntityAlreadyExists.*terraform import\s+ssm_instance_profile.<name>\s+taken-profile`),
					},
				}
			},
		},
		{
			// What the configuration names but this apply did not create fails at
			// once instead of being retried as eventual consistency.
			name: "iam_missing_references", within: time.Minute,
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				p := acctest.ProviderConfig(e)
				return []resource.TestStep{
					{
						Config: p + `resource "ssm_instance_role" "t" {
  name                   = "r-missing-policy"
  additional_policy_arns = ["arn:aws:iam::123456789012:policy/does-not-exist"]
}`,
						ExpectError: regexp.MustCompile(`(?s)managed\s+policy\s+arn:aws:iam::123456789012:policy/does-not-exist\s+does\s+not\s+exist`),
					},
					{
						Config: p + `resource "ssm_instance_profile" "t" {
  name = "p-missing-role"
  role = "no-such-role"
}`,
						ExpectError: regexp.MustCompile(`(?s)IAM\s+role\s+no-such-role\s+does\s+not\s+exist`),
					},
				}
			},
		},
		{
			// A failing command.
			name: "command_run_exit_1",
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
				return []resource.TestStep{{
					Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = [%q]
  commands     = ["echo broken >&2", "exit 1"]
}
`, id),
					ExpectError: regexp.MustCompile(`(?s)running command on instance .*1 of 1 invocations failed.*broken`),
				}}
			},
		},
		{
			// An association for an instance that does not exist: no propagation hint.
			name: "association_missing_instance", within: time.Minute,
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				return []resource.TestStep{{
					Config: acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name = "diag-role"
}
resource "ssm_instance_profile" "test" {
  name = "diag-profile"
  role = ssm_instance_role.test.name
}
resource "ssm_instance_profile_association" "test" {
  instance_id      = "i-0123456789abcdef0"
  instance_profile = ssm_instance_profile.test.name
}
`,
					ExpectError: regexp.MustCompile(`InvalidInstanceID`),
				}}
			},
		},
		{
			// ssm_remote_file: a missing file and a stopped instance, each named.
			name: "remote_file_missing_and_stopped", within: 2 * time.Minute,
			steps: func(t *testing.T) []resource.TestStep {
				e := emutest.Start(t, awsemu.Options{})
				ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
				for _, id := range ids {
					waitPing(t, e, id, awsemu.PingOnline)
				}
				if err := e.SetInstanceState(ids[1], "stopped"); err != nil {
					t.Fatal(err)
				}
				one := func(id string) string {
					return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_remote_file" "test" {
  instance_id = %q
  path        = "/nonexistent/ssm-remote-file-test.conf"
}
`, id)
				}
				return []resource.TestStep{
					{Config: one(ids[0]), ExpectError: regexp.MustCompile(`(?s)/nonexistent/ssm-remote-file-test.conf\s+on\s+` + ids[0] + `\s+does\s+not\s+exist`)},
					{Config: one(ids[1]), ExpectError: regexp.MustCompile(`(?s)` + ids[1] + `.*stopped.*Nothing\s+was\s+sent`)},
				}
			},
		},
	}
}

// frameworkSummary: summaries terraform-plugin-framework and its validators
// write.
func frameworkSummary(s string) bool {
	for _, p := range []string{"Invalid Attribute ", "Missing Attribute ", "Null ", "Missing Configuration", "Value Conversion Error"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// expectWarning fails unless rec holds a warning with that summary whose
// detail has every phrase.
func expectWarning(t *testing.T, rec *acctest.DiagnosticsRecorder, summary string, phrases ...string) {
	t.Helper()
	for _, d := range rec.All() {
		if d.Severity != "WARNING" || d.Summary != summary {
			continue
		}
		missing := false
		for _, p := range phrases {
			missing = missing || !strings.Contains(d.Detail, p)
		}
		if !missing {
			return
		}
	}
	t.Errorf("no warning %q with %q; diagnostics: %+v", summary, phrases, rec.All())
}

func emulatorClients(t *testing.T, e *awsemu.Emulator) *awsclient.Clients {
	t.Helper()
	o := e.Options()
	eps := map[string]string{}
	for _, s := range awsclient.Services {
		eps[s] = e.URL()
	}
	c, err := awsclient.New(t.Context(), awsclient.Settings{Region: o.Region, AccessKey: o.AccessKey, SecretKey: o.SecretKey, Endpoints: eps, S3UsePathStyle: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
