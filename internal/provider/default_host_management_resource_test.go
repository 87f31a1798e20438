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
	ctx := t.Context()
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
			// Import records what it finds as there before Terraform (kept on destroy); here the resource made both.
			{ResourceName: addr, ImportState: true, ImportStateId: "123456789012/us-east-1", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"previous_setting_value", "role_existed"}},
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
				statecheck.ExpectKnownValue("ssm_default_host_management.this", tfjsonpath.New("setting_value"), knownvalue.StringExact("service-role/"+defaultRole)),
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
	ctx := t.Context()
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
	if _, err := ssmClient(e).UpdateServiceSetting(t.Context(), &ssm.UpdateServiceSettingInput{
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

// guideBefore runs the migration guide's Default Host Management "Before"
// commands: the role under /service-role/, the managed policy, the setting. It
// returns the role's id, which changes if the role is ever recreated.
func guideBefore(t *testing.T, e *awsemu.Emulator) string {
	t.Helper()
	ctx := t.Context()
	ic := iamClient(e)
	out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(defaultRole), Path: aws.String("/service-role/"),
		AssumeRolePolicyDocument: aws.String(defaulthost.TrustPolicy().JSON())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(defaultRole), PolicyArn: aws.String(defaulthost.PolicyARN("aws"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := ssmClient(e).UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(defaulthost.SettingID),
		SettingValue: aws.String("service-role/" + defaultRole)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.RoleId)
}

// checkDHMCKept checks that the setting still names the guide's role and that
// the role is the one made before Terraform (same id: never recreated).
func checkDHMCKept(e *awsemu.Emulator, value, roleID string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		s, err := dhmcSetting(e)
		if err != nil {
			return err
		}
		if s.Value != value {
			return fmt.Errorf("setting %q, want %q", s.Value, value)
		}
		r, err := iamx.FindRoleByName(context.Background(), iamClient(e), defaultRole)
		if err != nil {
			return err
		}
		if got := aws.ToString(r.RoleId); got != roleID {
			return fmt.Errorf("role %s was recreated: id %s, want %s", defaultRole, got, roleID)
		}
		return nil
	}
}

// Following the guide's "Before" and then applying the bare resource adopts
// the setting and the role: nothing is replaced, the next plan is empty, and
// destroy leaves both as they were before Terraform.
func TestAccDefaultHostManagement_adoptsGuideSetup(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	roleID := guideBefore(t, e)
	addr := "ssm_default_host_management.this"
	cfg := acctest.ProviderConfig(e) + `
resource "ssm_default_host_management" "this" {}
`
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDHMCKept(e, "service-role/"+defaultRole, roleID),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_path"), knownvalue.StringExact("/service-role/")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("setting_value"), knownvalue.StringExact("service-role/"+defaultRole)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_arn"), knownvalue.StringExact("arn:aws:iam::123456789012:role/service-role/"+defaultRole)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("previous_setting_value"), knownvalue.StringExact("service-role/"+defaultRole)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_existed"), knownvalue.Bool(true)),
				},
				Check: checkDHMCKept(e, "service-role/"+defaultRole, roleID),
			},
			{Config: cfg, ConfigPlanChecks: emptyPlan},
		},
	})
}

// Importing the guide's setup (terraform import, or an import block) plans no
// change at all with the bare resource: no replacement, no role recreated, no
// window with Default Host Management off; destroy leaves both in place.
func TestAccDefaultHostManagement_importGuideSetup(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	roleID := guideBefore(t, e)
	addr := "ssm_default_host_management.this"
	cfg := acctest.ProviderConfig(e) + `
resource "ssm_default_host_management" "this" {}
`
	kept := checkDHMCKept(e, "service-role/"+defaultRole, roleID)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		// Import then destroy: Default Host Management stays on with the role made before Terraform.
		CheckDestroy: kept,
		Steps: []resource.TestStep{
			// An import block: the plan is a no-op import (the harness fails on any other action).
			{Config: cfg, ResourceName: addr, ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: "123456789012/us-east-1"},
			// terraform import, kept in the state; then the plan is empty.
			{Config: cfg, ResourceName: addr, ImportState: true, ImportStateId: "123456789012/us-east-1", ImportStatePersist: true},
			{
				Config:           cfg,
				ConfigPlanChecks: emptyPlan,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_path"), knownvalue.StringExact("/service-role/")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_ready"), knownvalue.Bool(true)),
				},
				Check: kept,
			},
		},
	})
}

// A state written when role_path defaulted to "/" keeps "/" while role_path is
// unset: upgrading plans nothing (above all no replacement), and an import of
// a setting naming a role without a path plans nothing either.
func TestAccDefaultHostManagement_oldDefaultPathKept(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	addr := "ssm_default_host_management.this"
	old := acctest.ProviderConfig(e) + `
resource "ssm_default_host_management" "this" {
  role_path = "/"
}
`
	cfg := acctest.ProviderConfig(e) + `
resource "ssm_default_host_management" "this" {}
`
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDHMCOff(e, defaultRole),
		Steps: []resource.TestStep{
			{Config: old, ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("setting_value"), knownvalue.StringExact(defaultRole)),
			}},
			{Config: cfg, ConfigPlanChecks: emptyPlan},
			{Config: cfg, ResourceName: addr, ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: "123456789012/us-east-1"},
			// Asking for another path explicitly is a replacement, and the plan says so.
			{Config: acctest.ProviderConfig(e) + `
resource "ssm_default_host_management" "this" {
  role_path = "/service-role/"
}
`, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
			}}},
		},
	})
}

// A new resource with role_path unset and no role yet creates the role under
// /service-role/, as AWS's documented setup does.
func TestAccDefaultHostManagement_defaultPath(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	addr := "ssm_default_host_management.this"
	cfg := acctest.ProviderConfig(e) + `
resource "ssm_default_host_management" "this" {}
`
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDHMCOff(e, defaultRole),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("role_path"), knownvalue.StringExact("/service-role/")),
				statecheck.ExpectKnownValue(addr, tfjsonpath.New("setting_value"), knownvalue.StringExact("service-role/"+defaultRole)),
			}},
			{Config: cfg, ConfigPlanChecks: emptyPlan},
		},
	})
}
