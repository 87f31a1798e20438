package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

func quoteIDs(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func addInstances(t *testing.T, e *awsemu.Emulator, spec awsemu.InstanceSpec) []string {
	t.Helper()
	ids, err := e.AddInstances(spec)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestAccAgentOnlineDataSource_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: 2 * time.Second})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "test" {
  instance_ids = %s
  timeout      = "1m"
}
`, quoteIDs(ids)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ssm_agent_online.test", tfjsonpath.New("online_instance_ids"), knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue("data.ssm_agent_online.test", tfjsonpath.New("instances").AtMapKey(ids[0]).AtMapKey("ping_status"), knownvalue.StringExact("Online")),
				statecheck.ExpectKnownValue("data.ssm_agent_online.test", tfjsonpath.New("instances").AtMapKey(ids[0]).AtMapKey("platform_type"), knownvalue.StringExact("Linux")),
				statecheck.ExpectKnownValue("data.ssm_agent_online.test", tfjsonpath.New("instances").AtMapKey(ids[0]).AtMapKey("resource_type"), knownvalue.StringExact("EC2Instance")),
				statecheck.ExpectKnownValue("data.ssm_agent_online.test", tfjsonpath.New("instances").AtMapKey(ids[0]).AtMapKey("agent_version"), knownvalue.NotNull()),
			},
		}},
	})
}

func TestAccAgentOnlineDataSource_tagsAndMinCountOverFleet(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	addInstances(t, e, awsemu.InstanceSpec{Count: 120, Ready: true, Tags: map[string]string{"Fleet": "web"}})
	addInstances(t, e, awsemu.InstanceSpec{Count: 10, Ready: true, Tags: map[string]string{"Fleet": "db"}})
	many := addInstances(t, e, awsemu.InstanceSpec{Count: 60, Ready: true})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "web" {
  tags      = { Fleet = "web" }
  min_count = 100
}

data "ssm_agent_online" "many" {
  instance_ids = %s
}
`, quoteIDs(many)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ssm_agent_online.web", tfjsonpath.New("online_instance_ids"), knownvalue.ListSizeExact(120)),
				statecheck.ExpectKnownValue("data.ssm_agent_online.many", tfjsonpath.New("online_instance_ids"), knownvalue.ListSizeExact(60)),
			},
		}},
	})
}

// TestAccAgentOnlineDataSource_gate waits during apply: the ids are unknown at
// plan time, as when they come from resources created in the same apply.
func TestAccAgentOnlineDataSource_gate(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: time.Second})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "terraform_data" "instances" {
  input = %s
}

data "ssm_agent_online" "gate" {
  instance_ids = terraform_data.instances.output
}

output "ready" {
  value = data.ssm_agent_online.gate.online_instance_ids
}
`, quoteIDs(ids)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("ready", knownvalue.ListSizeExact(2)),
			},
		}},
	})
}

// emuConfig is an SDK configuration for setting up and checking the emulator by
// API. It retries like the provider (standard mode, 25 retries), so checks stay
// reliable while a test injects throttling.
func emuConfig(e *awsemu.Emulator) aws.Config {
	cfg := emutest.Config(e)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = awsclient.DefaultMaxRetries + 1
			so.RateLimiter = ratelimit.None
		})
	}
	return cfg
}

// profileWithPolicy creates a role trusted by EC2 with an inline policy, puts it
// in a profile and associates the profile with the instance.
func profileWithPolicy(t *testing.T, e *awsemu.Emulator, name, policy, instanceID string) {
	t.Helper()
	ctx := t.Context()
	cfg := emuConfig(e)
	ic, ec := iam.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}))
	must(ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("agent"), PolicyDocument: aws.String(policy)}))
	must(ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}))
	must(ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(name)}))
	must(ec.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(instanceID), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(name)},
	}))
}

// The migration guide's often-copied "minimal" policy: everything but
// ssm:UpdateInstanceInformation, so the agent never registers.
const copiedMinimalPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel","ec2messages:*","s3:GetEncryptionConfiguration"],"Resource":"*"}]}`

func TestAccAgentOnlineDataSource_diagnoses(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	stopped := addInstances(t, e, awsemu.InstanceSpec{Ready: true, State: awsemu.StateStopped})[0]
	noProfile := addInstances(t, e, awsemu.InstanceSpec{})[0]
	weakRole := addInstances(t, e, awsemu.InstanceSpec{})[0]
	profileWithPolicy(t, e, "copied-minimal", copiedMinimalPolicy, weakRole)
	lost := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	waitOnline(t, e, lost)
	if err := e.SetAgentStopped(lost, true); err != nil {
		t.Fatal(err)
	}
	unknown := "i-0000000000000000a"

	cases := []struct {
		name, id string
		want     string
	}{
		{"unknown instance", unknown, `EC2 has no such instance in this account and region`},
		// Stopped instances fail at once rather than at the timeout.
		{"not running", stopped, `instance is stopped: its agent comes online only after the\s+instance is started`},
		{"no instance profile", noProfile, `instance has no IAM instance profile.*ssm_instance_profile_association\s+give\s+an\s+instance\s+an\s+identity`},
		{"role lacks UpdateInstanceInformation", weakRole, `(?s)role copied-minimal of instance profile copied-minimal cannot run the SSM\s+agent: it does not allow ssm:UpdateInstanceInformation`},
		{"connection lost", lost, `agent registered but is ConnectionLost since \d{4}-`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "test" {
  instance_ids = [%q]
  timeout      = "2s"
}
`, tc.id),
					ExpectError: regexp.MustCompile(`(?s)waiting for the SSM agents of instance ` + regexp.QuoteMeta(tc.id) + `.*(The wait timed out|can still come online).*` + regexp.QuoteMeta(tc.id) + `.*` + tc.want),
				}},
			})
		})
	}
}

func TestAccAgentOnlineDataSource_terminatedFailsFast(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	if err := e.SetInstanceState(id, awsemu.StateTerminated); err != nil {
		t.Fatal(err)
	}
	var start time.Time
	resource.ParallelTest(t, resource.TestCase{
		// Timed from PreCheck: ParallelTest first waits for a free parallel slot.
		PreCheck:                 func() { acctest.PreCheck(t); start = time.Now() },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "test" {
  instance_ids = [%q]
  timeout      = "10m"
}
`, id),
			ExpectError: regexp.MustCompile(`(?s)waiting for the SSM agents of .*can still come online.*` + id + `: instance is terminated`),
		}},
	})
	if d := time.Since(start); d > time.Minute {
		t.Errorf("failing on a terminated instance took %s; it must not wait for the 10m timeout", d)
	}
}

func TestAccAgentOnlineDataSource_invalidInput(t *testing.T) {
	cases := []struct {
		name, body string
		want       string
	}{
		{"empty selection", `timeout = "1m"`, `(?s)Missing Attribute Configuration.*At least one of these attributes must be configured: \[instance_ids,tags\]`},
		{"negative min_count", `
  instance_ids = ["i-0123456789abcdef0"]
  min_count    = -1`, `(?s)min_count.*must be at least 1`},
		{"min_count above listed ids", `
  instance_ids = ["i-0123456789abcdef0", "i-0123456789abcdef1"]
  min_count    = 3`, `(?s)min_count exceeds the listed instances.*min_count 3 is more than the 2 instances`},
		{"malformed id", `instance_ids = ["i-123"]`, `(?s)must be an instance id such as\s+i-0123456789abcdef0`},
		{"unparsable timeout", `
  instance_ids = ["i-0123456789abcdef0"]
  timeout      = "ten minutes"`, `(?s)invalid duration.*"ten minutes" is not a duration`},
		{"empty tags", `tags = {}`, `(?s)tags.*must contain at least 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      `provider "ssm" { region = "us-east-1" }` + "\n" + `data "ssm_agent_online" "test" {` + "\n  " + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// min_count above the listed instances, when the ids are known only at apply
// (so planning cannot see them), fails at apply naming min_count, before any
// API call: Terraform validates the configuration again once the ids are
// known, and the read would say the same (TestDiagnostics_engineErrorsGetArgumentAdvice).
func TestAccAgentOnlineDataSource_minCountKnownAtApply(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + `
resource "terraform_data" "ids" {
  input = ["i-0123456789abcdef0", "i-0123456789abcdef1"]
}

data "ssm_agent_online" "test" {
  instance_ids = terraform_data.ids.output
  min_count    = 3
}
`,
			ExpectError: regexp.MustCompile(`(?s)(min_count exceeds the listed instances|waiting for the SSM agents of 2 instances).*min_count\s+=\s+3.*min_count 3 is more than the 2\s+instances instance_ids lists.*Lower min_count`),
		}},
	})
	if n := e.CallCount("ssm.DescribeInstanceInformation"); n != 0 {
		t.Errorf("DescribeInstanceInformation called %d times: the impossible wait must fail before polling", n)
	}
}

// waitOnline waits (bounded) until the emulator reports the agent Online.
func waitOnline(t *testing.T, e *awsemu.Emulator, id string) {
	t.Helper()
	emutest.Eventually(t, 10*time.Second, func() error {
		if inst, ok := e.Instance(id); !ok || inst.PingStatus != awsemu.PingOnline {
			return fmt.Errorf("agent of %s never came online (ping status %q)", id, inst.PingStatus)
		}
		return nil
	})
}
