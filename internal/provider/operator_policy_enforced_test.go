package provider_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// operatorRole creates a role the account may assume whose only permissions are
// the operator policy for spec, and returns its ARN.
func operatorRole(t *testing.T, e *awsemu.Emulator, name string, spec iamx.OperatorPolicySpec) string {
	t.Helper()
	doc, err := iamx.OperatorPolicy(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ic := iamClient(e)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("operator"), PolicyDocument: aws.String(doc.JSON())}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

func providerAssuming(e *awsemu.Emulator, roleARN string) string {
	o := e.Options()
	return fmt.Sprintf(`
provider "ssm" {
  region     = %[2]q
  access_key = %[3]q
  secret_key = %[4]q

  assume_role {
    role_arn = %[5]q
  }

  endpoints {
    ec2  = %[1]q
    iam  = %[1]q
    logs = %[1]q
    s3   = %[1]q
    ssm  = %[1]q
    sts  = %[1]q
  }
}
`, e.URL(), o.Region, o.AccessKey, o.SecretKey, roleARN)
}

// With authorization enforced and the caller limited to the generated policy, the
// provider's agent gate and commands (by ids and by tag) work on the tagged
// instances, and a command to an instance outside the tag condition is denied.
func TestAccOperatorPolicy_enforced(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{EnforceIAM: true})
	web := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true, Tags: map[string]string{"Team": "web"}})
	db := addInstances(t, e, awsemu.InstanceSpec{Ready: true, Tags: map[string]string{"Team": "db"}})
	role := operatorRole(t, e, "operator", iamx.OperatorPolicySpec{Partition: "aws", AccountID: "123456789012",
		Regions: []string{e.Options().Region}, Documents: []string{"AWS-RunShellScript"},
		InstanceTags: map[string]string{"Team": "web"}, Diagnosis: true, StagingBucket: "op-staging"})
	cfg := providerAssuming(e, role)
	// ssm_file's staging bucket exists (made by the account's root, not the operator).
	s3c := s3.NewFromConfig(emuConfig(e), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("op-staging")}); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(big, []byte(strings.Repeat("staged through S3\n", 8192)), 0o600); err != nil {
		t.Fatal(err)
	}
	dest := func(id, name string) string { return filepath.Join(e.Options().WorkDir, "instances", id, name) }
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg + fmt.Sprintf(`
data "ssm_agent_online" "web" {
  instance_ids = [%q, %q]
}

resource "ssm_command_run" "by_ids" {
  instance_ids = data.ssm_agent_online.web.online_instance_ids
  commands     = ["echo by-ids"]
}

resource "ssm_command_run" "by_tag" {
  targets {
    key    = "tag:Team"
    values = ["web"]
  }
  commands = ["echo by-tag"]
}

resource "ssm_file" "inline" {
  instance_ids = [%[1]q]
  content      = "inline under the operator policy\n"
  destination  = %[3]q
}

resource "ssm_file" "staged" {
  instance_ids   = [%[2]q]
  source         = %[4]q
  destination    = %[5]q
  staging_bucket = "op-staging"
}
`, web[0], web[1], dest(web[0], "op/inline.txt"), big, dest(web[1], "op/big.bin")),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_command_run.by_ids", tfjsonpath.New("status"), knownvalue.StringExact("Success")),
					statecheck.ExpectKnownValue("ssm_command_run.by_tag", tfjsonpath.New("status"), knownvalue.StringExact("Success")),
					statecheck.ExpectKnownValue("ssm_command_run.by_tag", tfjsonpath.New("target_count"), knownvalue.Int64Exact(2)),
					stateFunc(func() error {
						if b, err := os.ReadFile(dest(web[0], "op/inline.txt")); err != nil || string(b) != "inline under the operator policy\n" {
							return fmt.Errorf("inline file: %q, %v", b, err)
						}
						want, _ := os.ReadFile(big)
						if b, err := os.ReadFile(dest(web[1], "op/big.bin")); err != nil || string(b) != string(want) {
							return fmt.Errorf("staged file: %d bytes, %v", len(b), err)
						}
						return nil
					}),
				},
			},
			{
				Config: cfg + fmt.Sprintf(`
resource "ssm_command_run" "db" {
  instance_ids = [%q]
  commands     = ["echo should not run"]
}
`, db[0]),
				ExpectError: regexp.MustCompile(`(?s)AccessDeniedException.*not authorized to perform: ssm:SendCommand.*instance/` + db[0]),
			},
		},
	})
}

// operatorRoleWithout is operatorRole with one statement of the policy left out.
func operatorRoleWithout(t *testing.T, e *awsemu.Emulator, name, sid string, spec iamx.OperatorPolicySpec) string {
	t.Helper()
	doc, err := iamx.OperatorPolicy(spec)
	if err != nil {
		t.Fatal(err)
	}
	var kept iamx.Statements
	for _, st := range doc.Statement {
		if st.Sid != sid {
			kept = append(kept, st)
		}
	}
	if len(kept) == len(doc.Statement) {
		t.Fatalf("no statement %s", sid)
	}
	doc.Statement = kept
	ctx := context.Background()
	ic := iamClient(e)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("operator"), PolicyDocument: aws.String(doc.JSON())}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

// Each statement the provider's runs need is needed: without it the run fails
// with AccessDenied naming the missing action.
func TestAccOperatorPolicy_everyStatementNeeded(t *testing.T) {
	for sid, action := range map[string]string{
		iamx.SidSendCommandDocuments: "ssm:SendCommand",
		iamx.SidSendCommandInstances: "ssm:SendCommand",
		iamx.SidReadCommandsAgents:   "ssm:DescribeInstanceInformation",
	} {
		t.Run(sid, func(t *testing.T) {
			e := emutest.Start(t, awsemu.Options{EnforceIAM: true})
			addInstances(t, e, awsemu.InstanceSpec{Ready: true, Tags: map[string]string{"Team": "web"}})
			role := operatorRoleWithout(t, e, "operator", sid, iamx.OperatorPolicySpec{Partition: "aws", AccountID: "123456789012",
				Regions: []string{e.Options().Region}, Documents: []string{"AWS-RunShellScript"},
				InstanceTags: map[string]string{"Team": "web"}, Diagnosis: true})
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: providerAssuming(e, role) + `
resource "ssm_command_run" "by_tag" {
  targets {
    key    = "tag:Team"
    values = ["web"]
  }
  commands = ["echo by-tag"]
}
`,
					ExpectError: regexp.MustCompile(`(?s)AccessDenied.*not\s+authorized\s+to\s+perform:\s+` + regexp.QuoteMeta(action)),
				}},
			})
		})
	}
}

// ssm_agent_online's diagnosis, for a caller that may not read IAM, says which
// check it could not make.
func TestAccOperatorPolicy_diagnosisWithoutIAMReads(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{EnforceIAM: true})
	id := addInstances(t, e, awsemu.InstanceSpec{})[0]
	ctx := context.Background()
	ic := iamClient(e)
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("p"), RoleName: aws.String("r")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2Client(e).AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(id), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("p")},
	}); err != nil {
		t.Fatal(err)
	}
	role := operatorRoleWithout(t, e, "operator", iamx.SidDiagnoseIdentity, iamx.OperatorPolicySpec{Partition: "aws", AccountID: "123456789012",
		Regions: []string{e.Options().Region}, Documents: []string{"AWS-RunShellScript"}, Diagnosis: true})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerAssuming(e, role) + fmt.Sprintf(`
data "ssm_agent_online" "test" {
  instance_ids = [%q]
  timeout      = "2s"
}
`, id),
			ExpectError: regexp.MustCompile(`(?s)could\s+not\s+check\s+the\s+instance\s+profile\s+p.*iam:GetInstanceProfile\s+failed:\s+AccessDenied`),
		}},
	})
}

// Without the staging statement, ssm_file's staged copy is denied, naming the
// S3 action.
func TestAccOperatorPolicy_fileStagingNeeded(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{EnforceIAM: true})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true, Tags: map[string]string{"Team": "web"}})[0]
	role := operatorRoleWithout(t, e, "operator", iamx.SidFileStaging, iamx.OperatorPolicySpec{Partition: "aws", AccountID: "123456789012",
		Regions: []string{e.Options().Region}, Documents: []string{"AWS-RunShellScript"},
		InstanceTags: map[string]string{"Team": "web"}, StagingBucket: "op-staging"})
	s3c := s3.NewFromConfig(emuConfig(e), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("op-staging")}); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(big, []byte(strings.Repeat("staged through S3\n", 8192)), 0o600); err != nil {
		t.Fatal(err)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerAssuming(e, role) + fmt.Sprintf(`
resource "ssm_file" "staged" {
  instance_ids   = [%q]
  source         = %q
  destination    = %q
  staging_bucket = "op-staging"
}
`, id, big, filepath.Join(e.Options().WorkDir, "instances", id, "op/big.bin")),
			ExpectError: regexp.MustCompile(`(?s)AccessDenied.*s3:PutObject`),
		}},
	})
}
