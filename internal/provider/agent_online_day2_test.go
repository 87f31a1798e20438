package provider_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// waitAgentPing polls the emulator until the instance's agent reports status.
func waitAgentPing(t *testing.T, e *awsemu.Emulator, id, status string) {
	t.Helper()
	emutest.Eventually(t, 30*time.Second, func() error {
		if inst, _ := e.Instance(id); inst.PingStatus != status {
			return fmt.Errorf("agent of %s is %q, not %q", id, inst.PingStatus, status)
		}
		return nil
	})
}

// Day 2 with depends_on on the identity resources: the managed policy detached
// outside Terraform takes the agent offline; the plan does not read (and so
// does not wait for) the data source — it defers the read to the apply — and
// the apply repairs the role, then finds the agent online again.
func TestAccAgentOnlineDataSource_dependsOnDefersReadOnDrift(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: 200 * time.Millisecond})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_role" "web" {
  name = "web"
}

resource "ssm_instance_profile" "web" {
  name = "web"
  role = ssm_instance_role.web.name
}

resource "ssm_instance_profile_association" "web" {
  instance_id      = %[1]q
  instance_profile = ssm_instance_profile.web.name
}

data "ssm_agent_online" "web" {
  instance_ids = [%[1]q]
  timeout      = "1m"
  depends_on = [
    ssm_instance_role.web,
    ssm_instance_profile.web,
    ssm_instance_profile_association.web,
  ]
}
`, id)
	online := statecheck.ExpectKnownValue("data.ssm_agent_online.web", tfjsonpath.New("online_instance_ids"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(id)}))
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{online}},
			{
				PreConfig: func() {
					if _, err := iamClient(e).DetachRolePolicy(t.Context(), &iam.DetachRolePolicyInput{RoleName: aws.String("web"),
						PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")}); err != nil {
						t.Fatal(err)
					}
					waitAgentPing(t, e, id, awsemu.PingConnectionLost)
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("ssm_instance_role.web", plancheck.ResourceActionUpdate),
						// Read at apply, after the repair: the plan itself never waited.
						plancheck.ExpectResourceAction("data.ssm_agent_online.web", plancheck.ResourceActionRead),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{online},
			},
		},
	})
}

// on_unreachable = "warn": with an instance stopped, the plan and the destroy
// succeed, warning with the instance's id and diagnosis; online_instance_ids
// lists the online ones and not_online says why the other is not.
func TestAccAgentOnlineDataSource_warnNeverBlocksPlanOrDestroy(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true})
	rec := &acctest.DiagnosticsRecorder{}
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "fleet" {
  instance_ids   = %s
  timeout        = "1m"
  on_unreachable = "warn"
}

resource "ssm_instance_role" "after" {
  name       = "after"
  depends_on = [data.ssm_agent_online.fleet]
}
`, quoteIDs(ids))
	stopped := ids[0]
	warnings := func() int {
		n := 0
		for _, d := range rec.All() {
			if d.Severity == "WARNING" && strings.Contains(d.Detail, stopped+": instance is stopped") {
				n++
			}
		}
		return n
	}
	var beforeDestroy int
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		CheckDestroy:             checkIAMDestroyed(e),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ssm_agent_online.fleet", tfjsonpath.New("online_instance_ids"), knownvalue.ListSizeExact(3)),
				statecheck.ExpectKnownValue("data.ssm_agent_online.fleet", tfjsonpath.New("not_online"), knownvalue.MapSizeExact(0)),
			}},
			{
				PreConfig: func() {
					if err := e.SetInstanceState(stopped, awsemu.StateStopped); err != nil {
						t.Fatal(err)
					}
				},
				Config:           cfg,
				ConfigPlanChecks: emptyPlan,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.ssm_agent_online.fleet", tfjsonpath.New("online_instance_ids"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue("data.ssm_agent_online.fleet", tfjsonpath.New("not_online").AtMapKey(stopped),
						knownvalue.StringExact("instance is stopped: its agent comes online only after the instance is started")),
				},
			},
			{
				PreConfig: func() {
					if warnings() == 0 {
						t.Fatal("the plan with a stopped instance gave no warning naming it")
					}
					beforeDestroy = warnings()
				},
				Config:  cfg,
				Destroy: true,
			},
		},
	})
	if warnings() <= beforeDestroy {
		t.Errorf("the destroy gave no warning naming %s; diagnostics: %+v", stopped, rec.All())
	}
}
