package provider_test

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// waitPingStatus waits (bounded) until the emulator reports each agent's ping
// status ("" for an instance that is not a managed node).
func waitPingStatus(t *testing.T, e *awsemu.Emulator, status string, ids ...string) {
	t.Helper()
	emutest.Eventually(t, 30*time.Second, func() error {
		for _, id := range ids {
			if inst, _ := e.Instance(id); inst.PingStatus != status {
				return fmt.Errorf("%s: ping status %q, want %q", id, inst.PingStatus, status)
			}
		}
		return nil
	})
}

// 1,000 managed nodes are listed with 20 DescribeInstanceInformation calls per
// read: one page of 50 per call, and nothing else.
func TestAccManagedInstancesDataSource_thousandNodes(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 1000, Ready: true, Tags: map[string]string{"Fleet": "big"}})
	waitPingStatus(t, e, awsemu.PingOnline, ids...)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			PreConfig: e.ResetCalls,
			Config: acctest.ProviderConfig(e) + `
data "ssm_managed_instances" "fleet" {
  tags = { Fleet = "big" }
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ssm_managed_instances.fleet", tfjsonpath.New("ids"), knownvalue.ListSizeExact(1000)),
				statecheck.ExpectKnownValue("data.ssm_managed_instances.fleet", tfjsonpath.New("instances"), knownvalue.MapSizeExact(1000)),
			},
			// The data source was read once, at plan (the apply uses the saved plan).
			Check: func(*terraform.State) error {
				if got := e.CallCount("ssm.DescribeInstanceInformation"); got != 20 {
					return fmt.Errorf("DescribeInstanceInformation called %d times for one read of 1,000 nodes, want 20 (all calls: %v)", got, e.Calls())
				}
				return nil
			},
		}},
	})
}

// Filters select as documented (SSM-side without tags, client-side with
// them); a ConnectionLost node is listed with that status and the read does not
// wait for it; a stopped instance is not a managed node and is not listed; the
// result feeds other resources.
func TestAccManagedInstancesDataSource_filtersAndStatuses(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	web := addInstances(t, e, awsemu.InstanceSpec{Count: 4, Ready: true, Tags: map[string]string{"Role": "web"}})
	win := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true, Platform: "Windows", Tags: map[string]string{"Role": "db"}})
	waitPingStatus(t, e, awsemu.PingOnline, append(slices.Clone(web), win...)...)
	lost, stopped := web[0], web[1]
	if err := e.SetAgentStopped(lost, true); err != nil {
		t.Fatal(err)
	}
	if err := e.SetInstanceState(stopped, awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	waitPingStatus(t, e, awsemu.PingConnectionLost, lost)
	waitPingStatus(t, e, "", stopped)
	ds := func(name string) string { return "data.ssm_managed_instances." + name }
	ids := func(ids ...string) knownvalue.Check {
		var checks []knownvalue.Check
		for _, id := range slices.Sorted(slices.Values(ids)) {
			checks = append(checks, knownvalue.StringExact(id))
		}
		return knownvalue.ListExact(checks)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_managed_instances" "all" {}

data "ssm_managed_instances" "web" {
  tags = { Role = "web" }
}

data "ssm_managed_instances" "web_lost" {
  tags          = { Role = "web" }
  ping_statuses = ["ConnectionLost"]
}

data "ssm_managed_instances" "windows" {
  platform_types = ["Windows"]
}

data "ssm_managed_instances" "by_id" {
  instance_ids  = [%q, %q, %q]
  ping_statuses = ["Online"]
}

# One resource per listed web node. The docs use for_each over instances; this
# uses count because the test framework's state shim cannot read for_each
# instances (see command_run_lifecycle_test.go).
locals {
  web = data.ssm_managed_instances.web
}

resource "terraform_data" "per_node" {
  count = length(local.web.ids)
  input = "${local.web.ids[count.index]} is ${local.web.instances[local.web.ids[count.index]].ping_status}"
}

output "per_node" {
  value = { for r in terraform_data.per_node : split(" ", r.output)[0] => r.output }
}
`, lost, stopped, win[1]),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds("all"), tfjsonpath.New("ids"), ids(lost, web[2], web[3], win[0], win[1])),
				statecheck.ExpectKnownValue(ds("web"), tfjsonpath.New("ids"), ids(lost, web[2], web[3])),
				statecheck.ExpectKnownValue(ds("web_lost"), tfjsonpath.New("ids"), ids(lost)),
				statecheck.ExpectKnownValue(ds("windows"), tfjsonpath.New("ids"), ids(win...)),
				statecheck.ExpectKnownValue(ds("by_id"), tfjsonpath.New("ids"), ids(win[1])),
				statecheck.ExpectKnownValue(ds("web"), tfjsonpath.New("instances").AtMapKey(lost), knownvalue.ObjectPartial(map[string]knownvalue.Check{
					"instance_id":       knownvalue.StringExact(lost),
					"ping_status":       knownvalue.StringExact("ConnectionLost"),
					"platform_type":     knownvalue.StringExact("Linux"),
					"resource_type":     knownvalue.StringExact("EC2Instance"),
					"source_type":       knownvalue.StringExact("AWS::EC2::Instance"),
					"source_id":         knownvalue.StringExact(lost),
					"is_latest_version": knownvalue.Bool(true),
					"agent_version":     knownvalue.StringRegexp(regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)),
					"last_ping_at":      knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT`)),
					"ip_address":        knownvalue.NotNull(),
					"computer_name":     knownvalue.NotNull(),
				})),
				statecheck.ExpectKnownValue(ds("windows"), tfjsonpath.New("instances").AtMapKey(win[0]).AtMapKey("ping_status"), knownvalue.StringExact("Online")),
				statecheck.ExpectKnownValue(ds("windows"), tfjsonpath.New("instances").AtMapKey(win[0]).AtMapKey("platform_type"), knownvalue.StringExact("Windows")),
				statecheck.ExpectKnownOutputValue("per_node", knownvalue.MapExact(map[string]knownvalue.Check{
					lost:   knownvalue.StringExact(lost + " is ConnectionLost"),
					web[2]: knownvalue.StringExact(web[2] + " is Online"),
					web[3]: knownvalue.StringExact(web[3] + " is Online"),
				})),
			},
		}},
	})
}

func TestAccManagedInstancesDataSource_badFilterValues(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + `
data "ssm_managed_instances" "bad" {
  ping_statuses  = ["Offline"]
}
`,
			ExpectError: regexp.MustCompile(`(?s)ping_statuses.*value must be one of`),
		}, {
			Config: acctest.ProviderConfig(e) + `
data "ssm_managed_instances" "bad" {
  platform_types = ["Solaris"]
}
`,
			ExpectError: regexp.MustCompile(`(?s)platform_types.*value must be one of`),
		}},
	})
	if n := e.CallCount("ssm.DescribeInstanceInformation"); n != 0 {
		t.Errorf("DescribeInstanceInformation called %d times: bad filter values must fail before listing", n)
	}
}
