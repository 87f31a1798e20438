package provider_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
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

const coreARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"

func iamClient(e *awsemu.Emulator) *iam.Client { return iam.NewFromConfig(emuConfig(e)) }
func ec2Client(e *awsemu.Emulator) *ec2.Client { return ec2.NewFromConfig(emuConfig(e)) }
func ssmClient(e *awsemu.Emulator) *ssm.Client { return ssm.NewFromConfig(emuConfig(e)) }

// checkRolesDestroyed is a CheckDestroy asking the emulator through the finder.
func checkRolesDestroyed(e *awsemu.Emulator) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		for _, rs := range s.RootModule().Resources {
			if rs.Type != "ssm_instance_role" {
				continue
			}
			_, err := iamx.FindRoleByName(context.Background(), iamClient(e), rs.Primary.ID)
			if err == nil {
				return fmt.Errorf("IAM role %s still exists", rs.Primary.ID)
			}
			if !iamx.IsNotFound(err) {
				return err
			}
		}
		return nil
	}
}

func TestAccInstanceRole_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRolesDestroyed(e),
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name        = "web"
  path        = "/ssm/"
  description = "SSM agent role"
  tags        = { Team = "infra" }
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("arn"), knownvalue.StringExact("arn:aws:iam::123456789012:role/ssm/web")),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("unique_id"), knownvalue.StringRegexp(regexp.MustCompile(`^AROA`))),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("policy"), knownvalue.StringExact("managed")),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("max_session_duration"), knownvalue.Int64Exact(3600)),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("managed_policy_arns"), knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact(coreARN)})),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("inline_policy"), knownvalue.Null()),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("assume_role_policy"), knownvalue.StringRegexp(regexp.MustCompile(`ec2\.amazonaws\.com`))),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{"Team": knownvalue.StringExact("infra")})),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{ResourceName: "ssm_instance_role.test", ImportState: true, ImportStateId: "web", ImportStateVerify: true},
			{
				// In place: switch to the minimal policy, add grants, change description and session duration.
				Config: acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name                      = "web"
  path                      = "/ssm/"
  policy                    = "minimal"
  max_session_duration      = 7200
  output_bucket_arns        = ["arn:aws:s3:::ssm-output"]
  cloudwatch_log_group_arns = ["arn:aws:logs:us-east-1:123456789012:log-group:ssm"]
  kms_key_arn               = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  additional_policy_arns    = ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_instance_role.test", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("managed_policy_arns"), knownvalue.SetExact([]knownvalue.Check{
						knownvalue.StringExact("arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy")})),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("inline_policy"), knownvalue.StringRegexp(regexp.MustCompile(`ssm:UpdateInstanceInformation.*s3:PutObject`))),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("tags_all"), knownvalue.MapSizeExact(0)),
				},
				Check: func(*terraform.State) error {
					st, err := iamx.ReadRole(t.Context(), iamClient(e), "web")
					if err != nil {
						return err
					}
					if len(st.Attached) != 1 || len(st.Inline) != 1 || len(st.Tags) != 0 || aws.ToInt32(st.Role.MaxSessionDuration) != 7200 {
						return fmt.Errorf("role not updated in place: %+v", st)
					}
					return nil
				},
			},
			{ResourceName: "ssm_instance_role.test", ImportState: true, ImportStateId: "web", ImportStateVerify: true},
		},
	})
}

func TestAccInstanceRole_namePrefixAndDefaultTags(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cfg := func(own string) string {
		return fmt.Sprintf(`
provider "ssm" {
  region     = "us-east-1"
  access_key = "test"
  secret_key = "test"
  endpoints {
    iam = %[1]q
    ec2 = %[1]q
    sts = %[1]q
  }
  default_tags {
    tags = { Env = "test", Owner = "provider" }
  }
}

resource "ssm_instance_role" "test" {
  name_prefix = "ssm-"
  tags        = { %[2]s }
}
`, e.URL(), own)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRolesDestroyed(e),
		Steps: []resource.TestStep{
			{
				Config: cfg(`Owner = "team"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("name"), knownvalue.StringRegexp(regexp.MustCompile(`^ssm-\d{18}[0-9a-f]{8}$`))),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("tags"), knownvalue.MapExact(map[string]knownvalue.Check{"Owner": knownvalue.StringExact("team")})),
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Env": knownvalue.StringExact("test"), "Owner": knownvalue.StringExact("team")})),
				},
			},
			{
				Config: cfg(`Extra = "x"`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_instance_role.test", tfjsonpath.New("tags_all"), knownvalue.MapExact(map[string]knownvalue.Check{
						"Env": knownvalue.StringExact("test"), "Owner": knownvalue.StringExact("provider"), "Extra": knownvalue.StringExact("x")})),
				},
			},
		},
	})
}

// A role deleted outside Terraform: the refresh warns and removes it from the
// state, and the next apply creates it again.
func TestAccInstanceRole_disappears(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	rec := &acctest.DiagnosticsRecorder{}
	cfg := acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name   = "gone"
  policy = "minimal"
}
`
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		CheckDestroy:             checkRolesDestroyed(e),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(*terraform.State) error {
					// Deleted out of band (policies first, as IAM requires).
					return iamx.DeleteRole(t.Context(), iamClient(e), "gone", iamx.PropagationTimeout)
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("ssm_instance_role.test", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					_, err := iamx.FindRoleByName(t.Context(), iamClient(e), "gone")
					return err
				},
			},
		},
	})
	expectWarning(t, rec, "SSM instance role (gone) not found, removing from state",
		"The IAM role gone does not exist.", "deleted outside Terraform", "the next apply creates it again")
}

// TestAccInstanceRole_drift: detaching AmazonSSMManagedInstanceCore, editing the
// inline policy and the trust policy out of band show in the plan, and apply
// repairs them; a reformatted but equivalent document shows nothing.
func TestAccInstanceRole_drift(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ctx := t.Context()
	ic := iamClient(e)
	config := acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name               = "drifty"
  output_bucket_arns = ["arn:aws:s3:::out"]
}
`
	must := func(_ any, err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	repaired := func(*terraform.State) error {
		st, err := iamx.ReadRole(ctx, ic, "drifty")
		if err != nil {
			return err
		}
		if len(st.Attached) != 1 || st.Attached[0] != coreARN {
			return fmt.Errorf("AmazonSSMManagedInstanceCore not re-attached: %v", st.Attached)
		}
		p, err := iamx.ParsePolicy(st.Trust)
		if err != nil || !iamx.TrustsService(p, "ec2.amazonaws.com") {
			return fmt.Errorf("trust policy not restored: %s", st.Trust)
		}
		if !regexp.MustCompile(`arn:aws:s3:::out/\*`).MatchString(st.Inline["ssm-instance-role"]) {
			return fmt.Errorf("inline policy not restored: %s", st.Inline["ssm-instance-role"])
		}
		return nil
	}
	driftSteps := func(name string, change func()) resource.TestStep {
		return resource.TestStep{
			PreConfig: change,
			Config:    config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectNonEmptyPlan(), plancheck.ExpectResourceAction("ssm_instance_role.test", plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(s *terraform.State) error {
				if err := repaired(s); err != nil {
					return fmt.Errorf("after %s: %w", name, err)
				}
				return nil
			},
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRolesDestroyed(e),
		Steps: []resource.TestStep{
			{Config: config, Check: repaired},
			driftSteps("detach core", func() {
				must(ic.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("drifty"), PolicyArn: aws.String(coreARN)}))
			}),
			driftSteps("edit inline policy", func() {
				must(ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("drifty"), PolicyName: aws.String("ssm-instance-role"),
					PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}))
			}),
			driftSteps("delete inline policy", func() {
				must(ic.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("drifty"), PolicyName: aws.String("ssm-instance-role")}))
			}),
			driftSteps("edit trust policy", func() {
				must(ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("drifty"),
					PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}))
			}),
			{
				// The same documents, reformatted (key order, whitespace, string for list): no diff.
				PreConfig: func() {
					must(ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("drifty"), PolicyDocument: aws.String(`{
  "Statement": {"Action": ["sts:AssumeRole"], "Principal": {"Service": ["ec2.amazonaws.com"]}, "Effect": "Allow"},
  "Version": "2012-10-17"
}`)}))
					must(ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("drifty"), PolicyName: aws.String("ssm-instance-role"),
						PolicyDocument: aws.String(`{"Statement":[
  {"Resource":"arn:aws:s3:::out","Action":"s3:GetEncryptionConfiguration","Effect":"Allow","Sid":"OutputBuckets"},
  {"Resource":"arn:aws:s3:::out/*","Action":["s3:PutObjectAcl","s3:PutObject"],"Effect":"Allow","Sid":"OutputObjects"}],
 "Version":"2012-10-17"}`)}))
				},
				Config:   config,
				PlanOnly: true,
			},
		},
	})
}

func TestAccInstanceRole_badInput(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cases := []struct{ name, body, want string }{
		{"invalid name", `name = "has space"`, `may contain only letters, digits and the characters`},
		{"name too long", `name = "` + fmt.Sprintf("%065d", 0) + `"`, `string length must be between 1 and 64`},
		{"name with name_prefix", `
name        = "a"
name_prefix = "b"`, `(?s)Invalid Attribute Combination.*name_prefix`},
		{"name_prefix too long", `name_prefix = "` + fmt.Sprintf("%039d", 0) + `"`, `string length must be between 1 and 38`},
		{"invalid path", `path = "ssm"`, `must be / or begin and end with /`},
		{"path without trailing slash", `path = "/ssm"`, `must be / or begin and end with /`},
		{"unknown policy", `policy = "admin"`, `value must be one of: \["managed" "minimal"\]`},
		{"session too short", `max_session_duration = 3599`, `value must be between 3600 and 43200, got: 3599`},
		{"session too long", `max_session_duration = 43201`, `value must be between 3600 and 43200, got: 43201`},
		{"bad boundary ARN", `permissions_boundary = "AmazonSSMFullAccess"`, `(?s)invalid ARN.*must be an IAM policy ARN`},
		{"bad bucket ARN", `output_bucket_arns = ["arn:aws:s3:::bucket/key"]`, `(?s)invalid ARN.*must be an S3 bucket ARN`},
		{"bucket pattern with a key", `output_bucket_arns = ["arn:aws:s3:::ssm-output-*/key"]`, `(?s)invalid ARN.*must be an S3 bucket ARN`},
		{"bad log group pattern", `cloudwatch_log_group_arns = ["arn:aws:logs:us-east-1:123456789012:/aws/ssm/*"]`, `(?s)invalid ARN.*resource "/aws/ssm/\*" is not of the expected form`},
		{"bad log group ARN", `cloudwatch_log_group_arns = ["arn:aws:s3:::bucket"]`, `(?s)invalid ARN.*service is "s3", not logs`},
		{"bad KMS ARN", `kms_key_arn = "1234abcd"`, `(?s)invalid ARN.*must be a KMS key ARN`},
		{"bad additional policy ARN", `additional_policy_arns = ["arn:aws:iam::123:policy/x"]`, `(?s)invalid ARN.*account id "123" is not 12 digits`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig(e) + "resource \"ssm_instance_role\" \"test\" {\n" + tc.body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
	if n := e.CallCount("iam.CreateRole"); n != 0 {
		t.Errorf("bad input must fail at plan time, before any API call; CreateRole was called %d times", n)
	}
}

// IAM accepts wildcards in Resource ARNs: bucket and log group patterns are
// accepted and land in the role's inline policy verbatim, with
// logs:DescribeLogGroups (which has no resource type) on "*".
func TestAccInstanceRole_wildcardARNs(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + `
resource "ssm_instance_role" "test" {
  name                      = "wild"
  policy                    = "minimal"
  output_bucket_arns        = ["arn:aws:s3:::ssm-command-output-*"]
  cloudwatch_log_group_arns = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*"]
}
`,
			Check: func(*terraform.State) error {
				st, err := iamx.ReadRole(t.Context(), iamClient(e), "wild")
				if err != nil {
					return err
				}
				doc, err := iamx.ParsePolicy(st.Inline["ssm-instance-role"])
				if err != nil {
					return err
				}
				got := map[string][]string{}
				for _, s := range doc.Statement {
					got[s.Sid] = s.Resource
				}
				want := map[string][]string{
					"OutputBuckets":     {"arn:aws:s3:::ssm-command-output-*"},
					"OutputObjects":     {"arn:aws:s3:::ssm-command-output-*/*"},
					"LogGroups":         {"arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*"},
					"LogStreams":        {"arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*:*"},
					"DescribeLogGroups": {"*"},
				}
				for sid, res := range want {
					if strings.Join(got[sid], ",") != strings.Join(res, ",") {
						return fmt.Errorf("statement %s: resources %v, want %v (policy %s)", sid, got[sid], res, st.Inline["ssm-instance-role"])
					}
				}
				return nil
			},
		}},
	})
}

// A role with policy = "minimal" and the output bucket and log group (given as
// patterns) lets the emulator's agent, which checks the calls the real agent
// makes against the instance's role, write Run Command output to S3 and
// CloudWatch Logs. Without those grants the command still succeeds and its
// output lands in neither, as on AWS (the agent logs the failed upload; the
// command's status does not change).
func TestAccInstanceRole_minimalOutputPermissions(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{EnforceIAM: true, RegistrationDelay: 200 * time.Millisecond})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2})
	ctx := t.Context()
	s3c := s3.NewFromConfig(emuConfig(e), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("ssm-command-output-test")}); err != nil {
		t.Fatal(err)
	}
	identity := func(name, grants, id string) string {
		return fmt.Sprintf(`
resource "ssm_instance_role" "%[1]s" {
  name   = %[1]q
  policy = "minimal"
%[2]s
}

resource "ssm_instance_profile" "%[1]s" {
  name = %[1]q
  role = ssm_instance_role.%[1]s.name
}

resource "ssm_instance_profile_association" "%[1]s" {
  instance_id      = %[3]q
  instance_profile = ssm_instance_profile.%[1]s.name
}

resource "ssm_command_run" "%[1]s" {
  instance_ids          = [%[3]q]
  commands              = ["echo output of %[1]s"]
  output_s3_bucket_name = "ssm-command-output-test"
  agent_wait_timeout    = "1m"
  cloudwatch_output {
    enabled        = true
    log_group_name = "/aws/ssm/run-output"
  }
  depends_on = [ssm_instance_profile_association.%[1]s]
}
`, name, grants, id)
	}
	// landed says whether the instance's stdout reached S3 and CloudWatch Logs.
	landed := func(id string) (inS3, inLogs bool, err error) {
		out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("ssm-command-output-test")})
		if err != nil {
			return false, false, err
		}
		for _, o := range out.Contents {
			if strings.Contains(aws.ToString(o.Key), "/"+id+"/") && strings.HasSuffix(aws.ToString(o.Key), "/stdout") {
				inS3 = true
			}
		}
		lc := cloudwatchlogs.NewFromConfig(emuConfig(e))
		ev, err := lc.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/ssm/run-output")})
		var nf *cwltypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return inS3, false, nil
		}
		if err != nil {
			return false, false, err
		}
		for _, x := range ev.Events {
			if strings.Contains(aws.ToString(x.LogStreamName), "/"+id+"/") {
				inLogs = true
			}
		}
		return inS3, inLogs, nil
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) +
				identity("granted", `
  output_bucket_arns        = ["arn:aws:s3:::ssm-command-output-*"]
  cloudwatch_log_group_arns = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*"]`, ids[0]) +
				identity("bare", "", ids[1]),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_command_run.granted", tfjsonpath.New("status"), knownvalue.StringExact("Success")),
				statecheck.ExpectKnownValue("ssm_command_run.bare", tfjsonpath.New("status"), knownvalue.StringExact("Success")),
			},
			Check: func(*terraform.State) error {
				if s3ok, logsok, err := landed(ids[0]); err != nil || !s3ok || !logsok {
					return fmt.Errorf("with the grants: output in S3 %v, in CloudWatch Logs %v (%v)", s3ok, logsok, err)
				}
				if s3ok, logsok, err := landed(ids[1]); err != nil || s3ok || logsok {
					return fmt.Errorf("without the grants: output in S3 %v, in CloudWatch Logs %v (%v)", s3ok, logsok, err)
				}
				return nil
			},
		}},
	})
}
