package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/defaulthost"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// dhmcSetting reads the setting through the engine's finder.
func dhmcSetting(e *awsemu.Emulator) (*defaulthost.Setting, error) {
	return defaulthost.Get(context.Background(), ssmClient(e))
}

// checkDHMCOff checks that destroy turned the setting off and removed the role
// the resource created.
func checkDHMCOff(e *awsemu.Emulator, role string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		s, err := dhmcSetting(e)
		if err != nil {
			return err
		}
		if s.On() {
			return fmt.Errorf("Default Host Management still on with %s", s.Value)
		}
		if role == "" {
			return nil
		}
		if _, err := iamx.FindRoleByName(context.Background(), iamClient(e), role); !iamx.IsNotFound(err) {
			return fmt.Errorf("role %s not deleted: %v", role, err)
		}
		return nil
	}
}

func TestAccDefaultHostManagement_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cfg := acctest.ProviderConfig(e) + `
resource "ssm_default_host_management" "test" {
  role_name = "DHMCRole"
  role_path = "/service-role/"
}
`
	ctx := context.Background()
	addr := "ssm_default_host_management.test"
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDHMCOff(e, "DHMCRole"),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("123456789012/us-east-1")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("setting_value"), knownvalue.StringExact("service-role/DHMCRole")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_arn"), knownvalue.StringExact("arn:aws:iam::123456789012:role/service-role/DHMCRole")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_ready"), knownvalue.Bool(true)),
				},
				Check: func(*terraform.State) error {
					s, err := dhmcSetting(e)
					if err != nil || s.Value != "service-role/DHMCRole" {
						return fmt.Errorf("setting %+v, %v", s, err)
					}
					problems, err := defaulthost.RoleProblems(ctx, iamClient(e), "DHMCRole")
					if err != nil || len(problems) > 0 {
						return fmt.Errorf("role problems %v, %v", problems, err)
					}
					return nil
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{ResourceName: addr, ImportState: true, ImportStateId: "123456789012/us-east-1", ImportStateVerify: true},
			{
				// Reset out of band: the plan repairs it in place.
				PreConfig: func() {
					if _, err := ssmClient(e).ResetServiceSetting(ctx, &ssm.ResetServiceSettingInput{SettingId: aws.String(defaulthost.SettingID)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("setting_value"), knownvalue.StringExact("service-role/DHMCRole")),
				},
			},
			{
				// The managed policy detached out of band: the role is repaired.
				PreConfig: func() {
					if _, err := iamClient(e).DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("DHMCRole"),
						PolicyArn: aws.String(defaulthost.PolicyARN("aws"))}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(addr, tfjsonpath.New("role_ready"), knownvalue.Bool(true)),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_ready"), knownvalue.Bool(true)),
				},
			},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}

// A fleet without instance profiles comes Online through Default Host
// Management, gated by ssm_agent_online.
func TestAccDefaultHostManagement_fleetOnline(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 5})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDHMCOff(e, defaultRole),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_default_host_management" "this" {}

data "ssm_agent_online" "fleet" {
  instance_ids = %s
  timeout      = "1m"
  depends_on   = [ssm_default_host_management.this]
}
`, quoteIDs(ids)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ssm_agent_online.fleet", tfjsonpath.New("online_instance_ids"), knownvalue.ListSizeExact(5)),
				statecheck.ExpectKnownValue("ssm_default_host_management.this", tfjsonpath.New("setting_value"), knownvalue.StringExact(defaultRole)),
			},
		}},
	})
}

const defaultRole = "AWSSystemsManagerDefaultEC2InstanceManagementRole"

// Without Default Host Management the wait's diagnosis says so (instead of
// only "no instance profile").
func TestAccDefaultHostManagement_diagnosisWhenOff(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 1})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
data "ssm_agent_online" "fleet" {
  instance_ids = %s
  timeout      = "2s"
}
`, quoteIDs(ids)),
			ExpectError: regexp.MustCompile(`(?s)no IAM instance profile and Default Host\s+Management is off`),
		}},
	})
}

// An existing role is used as it is and kept on destroy; one that cannot serve
// is refused with the reason.
func TestAccDefaultHostManagement_existingRole(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ctx := context.Background()
	ic := iamClient(e)
	for _, r := range []struct{ name, trust string }{{"Good", defaulthost.TrustPolicy().JSON()}, {"EC2Trusted", iamx.TrustPolicy("aws").JSON()}} {
		if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(r.name), PolicyArn: aws.String(defaulthost.PolicyARN("aws"))}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := func(role string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_default_host_management" "test" {
  role_name   = %q
  create_role = false
}
`, role)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			if err := checkDHMCOff(e, "")(s); err != nil {
				return err
			}
			_, err := iamx.FindRoleByName(ctx, ic, "Good")
			return err // kept
		},
		Steps: []resource.TestStep{
			{Config: cfg("EC2Trusted"), ExpectError: regexp.MustCompile(`(?s)IAM role EC2Trusted cannot serve Default Host Management:.*does not let\s+ssm.amazonaws.com assume it`)},
			{Config: cfg("Missing"), ExpectError: regexp.MustCompile(`IAM role Missing does not exist`)},
			{Config: cfg("Good"), ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_default_host_management.test", tfjsonpath.New("setting_value"), knownvalue.StringExact("Good")),
			}},
			// IAM names are case-insensitive: a lower-cased name is no change.
			{Config: cfg("good"), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_default_host_management.test", plancheck.ResourceActionUpdate),
			}}},
		},
	})
}

func TestAccDefaultHostManagement_badInput(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	if _, err := ssmClient(e).UpdateServiceSetting(context.Background(), &ssm.UpdateServiceSettingInput{
		SettingId: aws.String(defaulthost.SettingID), SettingValue: aws.String("SomeoneElsesRole")}); err != nil {
		t.Fatal(err)
	}
	cfg := func(body string) string {
		return acctest.ProviderConfig(e) + "resource \"ssm_default_host_management\" \"test\" {\n" + body + "\n}\n"
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg(`role_name = "bad name"`), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)role_name.*may contain only letters`)},
			{Config: cfg(`role_path = "service-role"`), PlanOnly: true, ExpectError: regexp.MustCompile(`(?s)role_path.*must be / or begin and end with /`)},
			{Config: cfg(``), ExpectError: regexp.MustCompile(`(?s)already on in account 123456789012,\s+region\s+us-east-1,\s+with\s+role\s+SomeoneElsesRole.*import`)},
			{Config: cfg(`role_name = "SomeoneElsesRole"`), ResourceName: "ssm_default_host_management.test", ImportState: true,
				ImportStateId: "us-east-1", ExpectError: regexp.MustCompile(`not\s+<account\s+id>/<region>`)},
			{Config: cfg(`role_name = "SomeoneElsesRole"`), ResourceName: "ssm_default_host_management.test", ImportState: true,
				ImportStateId: "210987654321/us-east-1", ExpectError: regexp.MustCompile(`configured\s+for\s+account\s+123456789012,\s+region\s+us-east-1`)},
		},
	})
}
