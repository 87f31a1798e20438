package provider_test

import (
	"fmt"
	"regexp"
	"testing"

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

func idOf(addr string) resource.ImportStateIdFunc {
	return func(s *terraform.State) (string, error) {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return "", fmt.Errorf("%s not in state", addr)
		}
		return rs.Primary.ID, nil
	}
}

var emptyPlan = resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}

// Roles and profiles created with name_prefix import with their prefix: the
// imported state verifies, and the configuration plans nothing after import.
func TestAccImport_namePrefix(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cfg := acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name_prefix = "web-"
}

resource "ssm_instance_profile" "test" {
  name_prefix = "web-"
  role        = ssm_instance_role.test.name
}
`
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkIAMDestroyed(e),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("name"), knownvalue.StringRegexp(regexp.MustCompile(`^web-\d{18}[0-9a-f]{8}$`))),
			}},
			{ResourceName: "ssm_instance_role.test", ImportState: true, ImportStateIdFunc: idOf("ssm_instance_role.test"), ImportStateVerify: true},
			{ResourceName: "ssm_instance_profile.test", ImportState: true, ImportStateIdFunc: idOf("ssm_instance_profile.test"), ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"timeouts"}},
			// Imported with an import block into an empty state: a no-op plan.
			{Config: cfg, ResourceName: "ssm_instance_role.test", ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateIdFunc: idOf("ssm_instance_role.test")},
			{Config: cfg, ResourceName: "ssm_instance_profile.test", ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateIdFunc: idOf("ssm_instance_profile.test")},
		},
	})
}

// An association imported by instance id, configured with the profile's ARN,
// plans nothing; so does a lower-cased role name for a role named in mixed case.
func TestAccImport_associationByARNAndCaseInsensitiveNames(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	base := acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name = "CaseRole"
}
`
	cfg := func(role, profile string) string {
		return base + fmt.Sprintf(`
resource "ssm_instance_profile" "test" {
  name = "CaseProfile"
  role = %s
}

resource "ssm_instance_profile_association" "test" {
  instance_id      = %q
  instance_profile = %s
}
`, role, id, profile)
	}
	byName := cfg("ssm_instance_role.test.name", "ssm_instance_profile.test.name")
	byARN := cfg(`lower(ssm_instance_role.test.name)`, "ssm_instance_profile.test.arn")
	addr := "ssm_instance_profile_association.test"
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{
			{Config: byName},
			// role = lower("CaseRole") names the same role: nothing to change or replace.
			{Config: byARN, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_instance_profile.test", plancheck.ResourceActionNoop),
			}}},
			{Config: byARN, ConfigPlanChecks: emptyPlan},
			{Config: byARN, ResourceName: addr, ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: id},
		},
	})
}
