package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

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

// noReplacement fails when the plan deletes or creates any resource (a
// replacement included): after an import, only in-place updates are allowed.
type noReplacement struct{}

func (noReplacement) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Change == nil || rc.Mode != "managed" {
			continue
		}
		if rc.Change.Actions.Delete() || rc.Change.Actions.Create() || rc.Change.Actions.Replace() {
			resp.Error = fmt.Errorf("%s: planned %v after import; only in-place updates are allowed", rc.Address, rc.Change.Actions)
			return
		}
	}
}

// The guide's step 1 and 2 "Before" (role, instance profile and association
// made with the AWS CLI), imported as its import examples say, then planned
// with the natural configuration: nothing is replaced and the plan is empty;
// the role, profile and association are the ones made before Terraform.
func TestAccImport_guideIdentityNoReplacement(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	ctx := t.Context()
	ic := iamClient(e)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("web-ssm"), AssumeRolePolicyDocument: aws.String(iamx.TrustPolicy("aws").JSON())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("web-ssm"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")}); err != nil {
		t.Fatal(err)
	}
	prof, err := ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web-ssm")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-ssm"), RoleName: aws.String("web-ssm")}); err != nil {
		t.Fatal(err)
	}
	assoc, err := iamx.Associate(ctx, ec2Client(e), id, "web-ssm", false, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_role" "web" {
  name = "web-ssm"
}

resource "ssm_instance_profile" "web" {
  name = "web-ssm"
  role = ssm_instance_role.web.name
}

resource "ssm_instance_profile_association" "web" {
  instance_id      = %q
  instance_profile = ssm_instance_profile.web.name
}
`, id)
	same := func() error {
		r, err := iamx.FindRoleByName(ctx, ic, "web-ssm")
		if err != nil {
			return err
		}
		if aws.ToString(r.RoleId) != aws.ToString(role.Role.RoleId) {
			return fmt.Errorf("role recreated")
		}
		p, err := iamx.LookupInstanceProfile(ctx, ic, "web-ssm")
		if err != nil {
			return err
		}
		if p.ID != aws.ToString(prof.InstanceProfile.InstanceProfileId) {
			return fmt.Errorf("instance profile recreated")
		}
		a, err := iamx.FindAssociationByInstanceID(ctx, ec2Client(e), id)
		if err != nil {
			return err
		}
		if aws.ToString(a.AssociationId) != aws.ToString(assoc.AssociationId) {
			return fmt.Errorf("association replaced: %s, was %s", aws.ToString(a.AssociationId), aws.ToString(assoc.AssociationId))
		}
		return nil
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{
			// Import blocks, one resource at a time: no replacement of the imported object.
			{Config: cfg, ResourceName: "ssm_instance_role.web", ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: "web-ssm",
				ExpectNonEmptyPlan: true, ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_instance_role.web", plancheck.ResourceActionNoop)}}},
			// terraform import, as the import examples say.
			{Config: cfg, ResourceName: "ssm_instance_role.web", ImportState: true, ImportStateId: "web-ssm", ImportStatePersist: true},
			{Config: cfg, ResourceName: "ssm_instance_profile.web", ImportState: true, ImportStateId: "web-ssm", ImportStatePersist: true},
			{Config: cfg, ResourceName: "ssm_instance_profile_association.web", ImportState: true, ImportStateId: id, ImportStatePersist: true},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{noReplacement{}},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error { return same() },
			},
		},
	})
}

// A run made with the AWS CLI (aws ssm send-command with AWS-RunShellScript),
// imported by its command id as the import example says, with the natural
// configuration: a no-op import (no replacement, which would run the commands
// again).
func TestAccImport_cliCommandNoReplacement(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Ready: true})
	waitAgentPing(t, e, ids[0], awsemu.PingOnline)
	ctx := t.Context()
	out, err := ssmClient(e).SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: ids, Parameters: map[string][]string{"commands": {"echo hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	commandID := aws.ToString(out.Command.CommandId)
	emutest.Eventually(t, 30*time.Second, func() error {
		inv, err := ssmClient(e).GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(commandID), InstanceId: aws.String(ids[0])})
		if err != nil {
			return fmt.Errorf("command %s not done: %w", commandID, err)
		}
		if inv.Status != ssmtypes.CommandInvocationStatusSuccess {
			return fmt.Errorf("command %s is %s, not done", commandID, inv.Status)
		}
		return nil
	})
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_command_run" "test" {
  instance_ids = %s
  commands     = ["echo hi"]
}
`, quoteIDs(ids))
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, ResourceName: "ssm_command_run.test", ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: commandID,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{noReplacement{}}}},
		},
	})
	if n := e.CallCount("ssm.SendCommand"); n != 1 {
		t.Errorf("%d SendCommand calls: the import must not run the commands again", n)
	}
}
