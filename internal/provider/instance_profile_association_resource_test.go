package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
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

// checkAllDestroyed checks roles, profiles and associations through the finders.
func checkAllDestroyed(e *awsemu.Emulator) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		if err := checkIAMDestroyed(e)(s); err != nil {
			return err
		}
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "ssm_instance_profile_association" {
				continue
			}
			a, err := iamx.FindAssociationByInstanceID(context.Background(), ec2Client(e), rs.Primary.ID)
			if err == nil {
				return fmt.Errorf("instance %s still has association %s", rs.Primary.ID, aws.ToString(a.AssociationId))
			}
			if !iamx.IsNotFound(err) {
				return err
			}
		}
		return nil
	}
}

// assocConfig: two roles and profiles; the instance gets profile `use`.
func assocConfig(e *awsemu.Emulator, instanceID, use string) string {
	return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_role" "managed" {
  name = "managed"
}

resource "ssm_instance_role" "minimal" {
  name   = "minimal"
  policy = "minimal"
}

resource "ssm_instance_profile" "managed" {
  name = "managed"
  role = ssm_instance_role.managed.name
}

resource "ssm_instance_profile" "minimal" {
  name = "minimal"
  role = ssm_instance_role.minimal.name
}

resource "ssm_instance_profile_association" "test" {
  instance_id      = %q
  instance_profile = %s
}
`, instanceID, use)
}

func profileOf(e *awsemu.Emulator, id string) (string, error) {
	a, err := iamx.FindAssociationByInstanceID(context.Background(), ec2Client(e), id)
	if err != nil {
		return "", err
	}
	return aws.ToString(a.IamInstanceProfile.Arn), nil
}

func expectProfile(e *awsemu.Emulator, id, arn string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, err := profileOf(e, id)
		if err != nil {
			return err
		}
		if got != arn {
			return fmt.Errorf("instance %s has profile %s, want %s", id, got, arn)
		}
		return nil
	}
}

const (
	managedProfileARN = "arn:aws:iam::123456789012:instance-profile/managed"
	minimalProfileARN = "arn:aws:iam::123456789012:instance-profile/minimal"
)

func TestAccInstanceProfileAssociation_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{
			{
				Config: assocConfig(e, id, "ssm_instance_profile.managed.name"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_profile_association.test", tfjsonpath.New("association_id"), knownvalue.StringRegexp(regexp.MustCompile(`^iip-assoc-`))),
					statecheck.ExpectKnownValue("ssm_instance_profile_association.test", tfjsonpath.New("instance_profile_arn"), knownvalue.StringExact(managedProfileARN)),
					statecheck.ExpectKnownValue("ssm_instance_profile_association.test", tfjsonpath.New("replace_existing"), knownvalue.Bool(true)),
				},
				Check: expectProfile(e, id, managedProfileARN),
			},
			{ResourceName: "ssm_instance_profile_association.test", ImportState: true, ImportStateId: id, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{
				// By ARN, and another profile: replaced in place.
				Config: assocConfig(e, id, "ssm_instance_profile.minimal.arn"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_instance_profile_association.test", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_profile_association.test", tfjsonpath.New("instance_profile_arn"), knownvalue.StringExact(minimalProfileARN)),
				},
				Check: expectProfile(e, id, minimalProfileARN),
			},
		},
	})
}

// An association removed outside Terraform: the refresh warns and removes it
// from the state, and the next apply associates the profile again.
func TestAccInstanceProfileAssociation_disappears(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	rec := &acctest.DiagnosticsRecorder{}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{
			{
				Config: assocConfig(e, id, "ssm_instance_profile.managed.name"),
				Check: func(*terraform.State) error {
					a, err := iamx.FindAssociationByInstanceID(t.Context(), ec2Client(e), id)
					if err != nil {
						return err
					}
					_, err = ec2Client(e).DisassociateIamInstanceProfile(t.Context(), &ec2.DisassociateIamInstanceProfileInput{AssociationId: a.AssociationId})
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: assocConfig(e, id, "ssm_instance_profile.managed.name"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("ssm_instance_profile_association.test", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: expectProfile(e, id, managedProfileARN),
			},
		},
	})
	expectWarning(t, rec, "SSM instance profile association ("+id+") not found, removing from state",
		"Instance "+id+" has no instance profile association", "deleted outside Terraform", "the next apply creates it again")
}

// TestAccInstanceProfileAssociation_drift: the association swapped for another
// profile out of band shows in the plan and apply puts the configured one back.
func TestAccInstanceProfileAssociation_drift(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	config := assocConfig(e, id, "ssm_instance_profile.managed.name")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{
			{Config: config, Check: expectProfile(e, id, managedProfileARN)},
			{
				PreConfig: func() {
					ctx := t.Context()
					a, err := iamx.FindAssociationByInstanceID(ctx, ec2Client(e), id)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := ec2Client(e).ReplaceIamInstanceProfileAssociation(ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{
						AssociationId: a.AssociationId, IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("minimal")}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectNonEmptyPlan(),
						plancheck.ExpectResourceAction("ssm_instance_profile_association.test", plancheck.ResourceActionUpdate),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: expectProfile(e, id, managedProfileARN),
			},
		},
	})
}

// TestAccInstanceProfileAssociation_existing: an instance that already has a
// profile fails with replace_existing = false, naming the association; with the
// default it is replaced, on a stopped instance too (disassociate + associate).
func TestAccInstanceProfileAssociation_existing(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	running := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	stopped := addInstances(t, e, awsemu.InstanceSpec{Ready: true, State: awsemu.StateStopped})[0]
	existing, err := iamx.FindAssociationByInstanceID(t.Context(), ec2Client(e), running)
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(replace bool) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_role" "r" {
  name = "r"
}

resource "ssm_instance_profile" "p" {
  name = "p"
  role = ssm_instance_role.r.name
}

resource "ssm_instance_profile_association" "running" {
  instance_id      = %[1]q
  instance_profile = ssm_instance_profile.p.name
  replace_existing = %[3]t
}

resource "ssm_instance_profile_association" "stopped" {
  instance_id      = %[2]q
  instance_profile = ssm_instance_profile.p.arn
  replace_existing = %[3]t
}
`, running, stopped, replace)
	}
	pARN := "arn:aws:iam::123456789012:instance-profile/p"
	emuARN := "arn:aws:iam::123456789012:instance-profile/AWSEmuSSMInstanceProfile"
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		// Destroy puts the replaced profile back, on the running and on the stopped instance.
		CheckDestroy: resource.ComposeTestCheckFunc(checkIAMDestroyed(e), expectProfile(e, running, emuARN), expectProfile(e, stopped, emuARN)),
		Steps: []resource.TestStep{
			{
				Config: cfg(false),
				ExpectError: regexp.MustCompile(`(?s)Instance ` + running + ` already has instance profile\s+arn:aws:iam::123456789012:instance-profile/AWSEmuSSMInstanceProfile\s+\(association\s+` +
					regexp.QuoteMeta(aws.ToString(existing.AssociationId)) + `\), and replace_existing is false`),
			},
			{
				Config: cfg(true),
				Check:  resource.ComposeTestCheckFunc(expectProfile(e, running, pARN), expectProfile(e, stopped, pARN)),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_profile_association.running", tfjsonpath.New("previous_instance_profile_arn"), knownvalue.StringExact(emuARN)),
					statecheck.ExpectKnownValue("ssm_instance_profile_association.stopped", tfjsonpath.New("previous_instance_profile_arn"), knownvalue.StringExact(emuARN)),
					statecheck.ExpectKnownValue("ssm_instance_profile_association.running", tfjsonpath.New("restore_on_destroy"), knownvalue.Bool(true)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// The replaced profile deleted meanwhile: destroy removes the association and
// warns, naming it. With restore_on_destroy = false destroy disassociates.
func TestAccInstanceProfileAssociation_restoreDeletedOrOff(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2})
	ctx := t.Context()
	ic := iamClient(e)
	// An application role and profile made outside Terraform, on both instances.
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("app"), AssumeRolePolicyDocument: aws.String(iamx.TrustPolicy("aws").JSON())}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app"), RoleName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := iamx.Associate(ctx, ec2Client(e), id, "app", false, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	appARN := "arn:aws:iam::123456789012:instance-profile/app"
	rec := &acctest.DiagnosticsRecorder{}
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_role" "r" {
  name = "r"
}

resource "ssm_instance_profile" "p" {
  name = "p"
  role = ssm_instance_role.r.name
}

resource "ssm_instance_profile_association" "restore" {
  instance_id      = %q
  instance_profile = ssm_instance_profile.p.name
}

resource "ssm_instance_profile_association" "off" {
  instance_id        = %q
  instance_profile   = ssm_instance_profile.p.name
  restore_on_destroy = false
}
`, ids[0], ids[1])
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		CheckDestroy:             checkAllDestroyed(e), // both instances without a profile
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_instance_profile_association.restore", tfjsonpath.New("previous_instance_profile_arn"), knownvalue.StringExact(appARN)),
				statecheck.ExpectKnownValue("ssm_instance_profile_association.off", tfjsonpath.New("previous_instance_profile_arn"), knownvalue.StringExact(appARN)),
			},
			// The application's profile is deleted outside Terraform.
			Check: func(*terraform.State) error {
				if _, err := ic.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("app"), RoleName: aws.String("app")}); err != nil {
					return err
				}
				_, err := ic.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("app")})
				return err
			},
		}},
	})
	expectWarning(t, rec, "deleting "+"SSM instance profile association ("+ids[0]+")",
		"had instance profile "+appARN+" before this resource replaced it", "no longer exists", "the instance now has no instance")
}

func TestAccInstanceProfileAssociation_badInput(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cases := []struct{ name, body, want string }{
		{"bad instance id", `instance_id = "mi-0123456789abcdef0"
instance_profile = "p"`, `must be an EC2 instance id such as i-0123456789abcdef0`},
		{"bad profile ARN", `instance_id = "i-0123456789abcdef0"
instance_profile = "arn:aws:iam::123456789012:role/p"`, `(?s)invalid ARN.*resource "role/p" is not of the expected form`},
		{"bad profile name", `instance_id = "i-0123456789abcdef0"
instance_profile = "my profile"`, `(?s)invalid instance profile.*"my profile" must be an instance profile name`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig(e) + "resource \"ssm_instance_profile_association\" \"test\" {\n" + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
