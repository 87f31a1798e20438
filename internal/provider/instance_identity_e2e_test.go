package provider_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// identityConfig gives one instance a role, profile and association made by
// this provider, then waits (up to 1m) for its agent.
func identityConfig(name, policy, instanceID string) string {
	return fmt.Sprintf(`
resource "ssm_instance_role" "%[1]s" {
  name   = %[1]q
  policy = %[2]q
}

resource "ssm_instance_profile" "%[1]s" {
  name = %[1]q
  role = ssm_instance_role.%[1]s.name
}

resource "ssm_instance_profile_association" "%[1]s" {
  instance_id      = %[3]q
  instance_profile = ssm_instance_profile.%[1]s.name
}

data "ssm_agent_online" "%[1]s" {
  instance_ids = [%[3]q]
  timeout      = "1m"
  depends_on   = [ssm_instance_profile_association.%[1]s]
}
`, name, policy, instanceID)
}

// TestAccInstanceIdentity_agentsComeOnline: the policies really work. Instances
// given a "managed" and a "minimal" role through these resources register with
// SSM (the emulator checks the trust and the agent's actions as AWS would).
func TestAccInstanceIdentity_agentsComeOnline(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: 500 * time.Millisecond})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + identityConfig("managed", "managed", ids[0]) + identityConfig("minimal", "minimal", ids[1]),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ssm_agent_online.managed", tfjsonpath.New("instances").AtMapKey(ids[0]).AtMapKey("ping_status"), knownvalue.StringExact("Online")),
				statecheck.ExpectKnownValue("data.ssm_agent_online.minimal", tfjsonpath.New("instances").AtMapKey(ids[1]).AtMapKey("ping_status"), knownvalue.StringExact("Online")),
			},
		}},
	})
}

// TestAccInstanceIdentity_copiedMinimalPolicyNeverRegisters: the often-copied
// "minimal" policy lacks ssm:UpdateInstanceInformation, so the agent of an
// instance whose role has only that policy never registers, even though the
// profile and association made by these resources are fine; ssm_agent_online
// says so.
func TestAccInstanceIdentity_copiedMinimalPolicyNeverRegisters(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: 200 * time.Millisecond})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	ctx := t.Context()
	ic := iamClient(e)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("copied"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("copied"), PolicyName: aws.String("guide"), PolicyDocument: aws.String(copiedMinimalPolicy)}); err != nil {
		t.Fatal(err)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_instance_profile" "copied" {
  name = "copied"
  role = "copied"
}

resource "ssm_instance_profile_association" "copied" {
  instance_id      = %[1]q
  instance_profile = ssm_instance_profile.copied.name
}

data "ssm_agent_online" "copied" {
  instance_ids = [%[1]q]
  timeout      = "3s"
  depends_on   = [ssm_instance_profile_association.copied]
}
`, id),
			ExpectError: regexp.MustCompile(`(?s)waiting for the SSM agents of instance ` + id + `.*The wait timed out.*` + id + `.*role copied of instance profile copied cannot run the SSM\s+agent: it does not allow ssm:UpdateInstanceInformation`),
		}},
	})
}

// TestAccInstanceIdentity_iamPropagation: with EC2 rejecting profiles for 10 s
// after creation (as AWS does), role + profile + association in one apply
// succeed without the user retrying: the profile waits, the association retries.
func TestAccInstanceIdentity_iamPropagation(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{IAMPropagationDelay: 10 * time.Second})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + identityConfig("fresh", "minimal", id),
			Check: resource.ComposeTestCheckFunc(
				expectProfile(e, id, "arn:aws:iam::123456789012:instance-profile/fresh"),
				func(*terraform.State) error {
					// EC2 did reject the fresh profile at least once: the apply
					// succeeded through the provider's retries, not by luck of timing.
					if n := e.CallCount("ec2.AssociateIamInstanceProfile"); n < 2 {
						return fmt.Errorf("AssociateIamInstanceProfile called %d times; the propagation delay was never hit", n)
					}
					return nil
				},
			),
		}},
	})
}

// TestAccInstanceIdentity_throttling: 30% of IAM and EC2 calls throttled; the
// SDK's retryer absorbs them, the apply converges and nothing is created twice.
func TestAccInstanceIdentity_throttling(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{Seed: 7})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2})
	e.SetFault("iam", awsemu.Fault{ThrottleRate: 0.3})
	e.SetFault("ec2", awsemu.Fault{ThrottleRate: 0.3})
	config := acctest.ProviderConfig(e)
	for i, id := range ids {
		config += fmt.Sprintf(`
resource "ssm_instance_role" "r%[1]d" {
  name_prefix = "throttled-"
  policy      = %[3]q
}

resource "ssm_instance_profile" "p%[1]d" {
  name_prefix = "throttled-"
  role        = ssm_instance_role.r%[1]d.name
}

resource "ssm_instance_profile_association" "a%[1]d" {
  instance_id      = %[2]q
  instance_profile = ssm_instance_profile.p%[1]d.arn
}
`, i, id, []string{"managed", "minimal"}[i%2])
	}
	counts := func(wantRoles, wantProfiles, wantAssocs int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			ctx := t.Context()
			ic := iamClient(e)
			var roles, profiles int
			rp := iam.NewListRolesPaginator(ic, &iam.ListRolesInput{})
			for rp.HasMorePages() {
				out, err := rp.NextPage(ctx)
				if err != nil {
					return err
				}
				roles += len(out.Roles)
			}
			pp := iam.NewListInstanceProfilesPaginator(ic, &iam.ListInstanceProfilesInput{})
			for pp.HasMorePages() {
				out, err := pp.NextPage(ctx)
				if err != nil {
					return err
				}
				profiles += len(out.InstanceProfiles)
			}
			assocs := 0
			for _, id := range ids {
				if _, err := profileOf(e, id); err == nil {
					assocs++
				}
			}
			if roles != wantRoles || profiles != wantProfiles || assocs != wantAssocs {
				return fmt.Errorf("got %d roles, %d profiles, %d associations; want %d, %d, %d", roles, profiles, assocs, wantRoles, wantProfiles, wantAssocs)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			if err := checkAllDestroyed(e)(s); err != nil {
				return err
			}
			return counts(0, 0, 0)(s)
		},
		Steps: []resource.TestStep{{
			Config: config,
			Check: resource.ComposeTestCheckFunc(counts(2, 2, 2), func(*terraform.State) error {
				// The faults really hit both services.
				var iamThrottled, ec2Throttled int64
				for k, n := range e.Calls() {
					switch {
					case strings.HasPrefix(k, "iam.") && strings.HasSuffix(k, "#throttled"):
						iamThrottled += n
					case strings.HasPrefix(k, "ec2.") && strings.HasSuffix(k, "#throttled"):
						ec2Throttled += n
					}
				}
				if iamThrottled == 0 || ec2Throttled == 0 {
					return fmt.Errorf("throttled calls: iam %d, ec2 %d; the faults did not apply", iamThrottled, ec2Throttled)
				}
				return nil
			}),
		}},
	})
}

// TestAccInstanceIdentity_partition: in aws-cn the managed policy and the ARNs
// are those of the partition, and the agent still registers.
func TestAccInstanceIdentity_partition(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{Region: "cn-north-1", RegistrationDelay: 200 * time.Millisecond})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkAllDestroyed(e),
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + identityConfig("cn", "managed", id),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_instance_role.cn", tfjsonpath.New("managed_policy_arns"), knownvalue.SetExact([]knownvalue.Check{
					knownvalue.StringExact("arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore")})),
				statecheck.ExpectKnownValue("ssm_instance_role.cn", tfjsonpath.New("arn"), knownvalue.StringExact("arn:aws-cn:iam::123456789012:role/cn")),
				statecheck.ExpectKnownValue("data.ssm_agent_online.cn", tfjsonpath.New("instances").AtMapKey(id).AtMapKey("ping_status"), knownvalue.StringExact("Online")),
			},
		}},
	})
}
