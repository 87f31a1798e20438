package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// checkIAMDestroyed checks that no role or profile of the configuration is left.
func checkIAMDestroyed(e *awsemu.Emulator) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		if err := checkRolesDestroyed(e)(s); err != nil {
			return err
		}
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "ssm_instance_profile" {
				continue
			}
			_, err := iamx.FindInstanceProfileByName(context.Background(), iamClient(e), rs.Primary.ID)
			if err == nil {
				return fmt.Errorf("IAM instance profile %s still exists", rs.Primary.ID)
			}
			if !iamx.IsNotFound(err) {
				return err
			}
		}
		return nil
	}
}

func profileConfig(e *awsemu.Emulator, name, role string) string {
	return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_role" "a" {
  name = "role-a"
}

resource "ssm_instance_role" "b" {
  name   = "role-b"
  policy = "minimal"
}

resource "ssm_instance_profile" "test" {
  name = %q
  role = ssm_instance_role.%s.name
  tags = { Team = "infra" }
}
`, name, role)
}

func TestAccInstanceProfile_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkIAMDestroyed(e),
		Steps: []resource.TestStep{
			{
				Config: profileConfig(e, "web", "a"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_profile.test", tfjsonpath.New("arn"), knownvalue.StringExact("arn:aws:iam::123456789012:instance-profile/web")),
					statecheck.ExpectKnownValue("ssm_instance_profile.test", tfjsonpath.New("unique_id"), knownvalue.StringRegexp(regexp.MustCompile(`^AIPA`))),
					statecheck.ExpectKnownValue("ssm_instance_profile.test", tfjsonpath.New("role"), knownvalue.StringExact("role-a")),
					statecheck.ExpectKnownValue("ssm_instance_profile.test", tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{"Team": knownvalue.StringExact("infra")})),
				},
			},
			{ResourceName: "ssm_instance_profile.test", ImportState: true, ImportStateId: "web", ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{
				// Another role: updated in place (an instance profile holds one role).
				Config: profileConfig(e, "web", "b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_instance_profile.test", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_profile.test", tfjsonpath.New("role"), knownvalue.StringExact("role-b")),
				},
			},
			{ResourceName: "ssm_instance_role.b", ImportState: true, ImportStateId: "role-b", ImportStateVerify: true},
		},
	})
}

// A profile deleted outside Terraform: the refresh warns and removes it from
// the state, and the next apply creates it again.
func TestAccInstanceProfile_disappears(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	rec := &acctest.DiagnosticsRecorder{}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		CheckDestroy:             checkIAMDestroyed(e),
		Steps: []resource.TestStep{
			{
				Config: profileConfig(e, "gone", "a"),
				Check: func(*terraform.State) error {
					ic := iamClient(e)
					if _, err := ic.RemoveRoleFromInstanceProfile(t.Context(), &iam.RemoveRoleFromInstanceProfileInput{
						InstanceProfileName: aws.String("gone"), RoleName: aws.String("role-a")}); err != nil {
						return err
					}
					_, err := ic.DeleteInstanceProfile(t.Context(), &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("gone")})
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: profileConfig(e, "gone", "a"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("ssm_instance_profile.test", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					p, err := iamx.FindInstanceProfileByName(t.Context(), iamClient(e), "gone")
					if err == nil && (len(p.Roles) != 1 || aws.ToString(p.Roles[0].RoleName) != "role-a") {
						return fmt.Errorf("re-created profile holds %d roles, want role role-a", len(p.Roles))
					}
					return err
				},
			},
		},
	})
	expectWarning(t, rec, "SSM instance profile (gone) not found, removing from state",
		"The IAM instance profile gone does not exist.", "deleted outside Terraform", "the next apply creates it again")
}

// TestAccInstanceProfile_roleRemoved: the role taken out of the profile out of
// band shows in the plan and is put back; deleting the role of a profile (a
// DeleteConflict for IAM) works because the role's delete removes it first.
func TestAccInstanceProfile_roleRemoved(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ctx := t.Context()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkIAMDestroyed(e),
		Steps: []resource.TestStep{
			{Config: profileConfig(e, "drift", "a")},
			{
				PreConfig: func() {
					if _, err := iamClient(e).RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
						InstanceProfileName: aws.String("drift"), RoleName: aws.String("role-a")}); err != nil {
						t.Fatal(err)
					}
				},
				Config: profileConfig(e, "drift", "a"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectNonEmptyPlan(), plancheck.ExpectResourceAction("ssm_instance_profile.test", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					p, err := iamx.FindInstanceProfileByName(ctx, iamClient(e), "drift")
					if err != nil {
						return err
					}
					if len(p.Roles) != 1 || aws.ToString(p.Roles[0].RoleName) != "role-a" {
						return fmt.Errorf("role not put back: %+v", p.Roles)
					}
					return nil
				},
			},
		},
	})
}

func TestAccInstanceProfile_badInput(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cases := []struct{ name, body, want string }{
		{"invalid name", `name = "a/b"`, `may contain only letters, digits and the characters`},
		{"name too long", `name = "` + strings.Repeat("n", 129) + `"`, `string length must be between 1 and 128`},
		{"name with name_prefix", "name = \"a\"\nname_prefix = \"b\"", `(?s)Invalid Attribute Combination.*name_prefix`},
		{"invalid path", `path = "/a b/"`, `must be / or begin and end with /`},
		{"invalid role name", `role = "arn:aws:iam::123456789012:role/x"`, `may contain only letters, digits and the characters`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if !strings.Contains(body, "role =") {
				body += "\nrole = \"r\""
			}
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig(e) + "resource \"ssm_instance_profile\" \"test\" {\n" + body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
