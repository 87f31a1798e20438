package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

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
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// checkPolicyJSON compares the data source's JSON with the engine's document for
// the same spec, and has IAM accept it as a managed policy.
func checkPolicyJSON(e *awsemu.Emulator, name string, spec iamx.OperatorPolicySpec) resource.TestCheckFunc {
	return resource.TestCheckResourceAttrWith(name, "json", func(got string) error {
		want, err := iamx.OperatorPolicy(spec)
		if err != nil {
			return err
		}
		if got != want.JSON() {
			return fmt.Errorf("json\n%s\nwant\n%s", got, want.JSON())
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(got), &doc); err != nil {
			return err
		}
		_, err = iamClient(e).CreatePolicy(context.Background(), &iam.CreatePolicyInput{
			PolicyName: aws.String(fmt.Sprintf("operator-%d", len(got))), PolicyDocument: aws.String(got)})
		if err != nil {
			return fmt.Errorf("IAM refuses the policy: %w", err)
		}
		return nil
	})
}

func TestAccOperatorPolicyDocument_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	region := e.Options().Region
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Defaults: the caller's account, the provider's region, the two script documents.
				Config: acctest.ProviderConfig(e) + `
data "ssm_operator_policy_document" "test" {}
`,
				Check: resource.ComposeTestCheckFunc(
					checkPolicyJSON(e, "data.ssm_operator_policy_document.test", iamx.OperatorPolicySpec{
						Partition: "aws", AccountID: "123456789012", Regions: []string{region},
						Documents: []string{"AWS-RunPowerShellScript", "AWS-RunShellScript"}, Diagnosis: true,
					}),
					func(*terraform.State) error {
						if n := e.CallCount("sts.GetCallerIdentity"); n < 1 {
							return fmt.Errorf("the account id did not come from sts:GetCallerIdentity (%d calls)", n)
						}
						return nil
					},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.ssm_operator_policy_document.test", tfjsonpath.New("account_id"), knownvalue.StringExact("123456789012")),
					statecheck.ExpectKnownValue("data.ssm_operator_policy_document.test", tfjsonpath.New("partition"), knownvalue.StringExact("aws")),
					statecheck.ExpectKnownValue("data.ssm_operator_policy_document.test", tfjsonpath.New("regions"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(region)})),
				},
			},
			{
				// Everything, in GovCloud, for a given account.
				Config: acctest.ProviderConfig(e) + `
data "ssm_operator_policy_document" "test" {
  account_id          = "111122223333"
  regions             = ["us-gov-west-1", "us-gov-east-1"]
  document_names      = ["AWS-RunShellScript", "Deploy"]
  instance_tags       = { Team = "web", Env = "prod" }
  diagnosis           = false
  sessions            = true
  session_owner       = "$${aws:userid}"
  session_documents   = ["AWS-StartPortForwardingSession", "OpsShell"]
  session_kms_key_arn = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/sessions"
  staging_bucket_name = "stage-bucket"
  staging_key_prefix  = "ssm-file/"
}
`,
				Check: checkPolicyJSON(e, "data.ssm_operator_policy_document.test", iamx.OperatorPolicySpec{
					Partition: "aws-us-gov", AccountID: "111122223333", Regions: []string{"us-gov-west-1", "us-gov-east-1"},
					Documents: []string{"AWS-RunShellScript", "Deploy"}, InstanceTags: map[string]string{"Team": "web", "Env": "prod"},
					Sessions: true, SessionOwner: "${aws:userid}", SessionDocuments: []string{"AWS-StartPortForwardingSession", "OpsShell"}, SessionKMSKeyARN: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/sessions", StagingBucket: "stage-bucket", StagingPrefix: "ssm-file/",
				}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.ssm_operator_policy_document.test", tfjsonpath.New("partition"), knownvalue.StringExact("aws-us-gov")),
					statecheck.ExpectKnownValue("data.ssm_operator_policy_document.test", tfjsonpath.New("json"),
						knownvalue.StringRegexp(regexp.MustCompile(regexp.QuoteMeta(`"arn:aws-us-gov:ssm:*:111122223333:session/${aws:userid}-*"`)))),
					statecheck.ExpectKnownValue("data.ssm_operator_policy_document.test", tfjsonpath.New("json"),
						knownvalue.StringRegexp(regexp.MustCompile(regexp.QuoteMeta(`"Resource":["arn:aws-us-gov:ssm:*:111122223333:document/OpsShell","arn:aws-us-gov:ssm:*::document/AWS-StartPortForwardingSession"]`)))),
				},
			},
		},
	})
}

func TestAccOperatorPolicyDocument_badInput(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cases := []struct{ body, want string }{
		{`regions = ["us-east-1", "us-easst-2"]`, `regions\[1\]: "us-easst-2" is not a known region`},
		{`regions = ["eu-west-1", "cn-north-1"]`, `regions mixes partitions: cn-north-1 \(aws-cn\), eu-west-1 \(aws\)`},
		{`account_id = "12345"`, `account_id must be 12 digits`},
		{`document_names = ["x"]`, `must be a document name`},
		{`staging_bucket_name = "Stage_Bucket"`, `"Stage_Bucket" is not a valid S3 bucket name`},
		{`staging_key_prefix = "p/"`, `staging_bucket_name`},
		{`instance_arns = ["arn:aws:s3:::bucket"]`, `service is "s3", not ec2`},
		{`session_kms_key_arn = "alias/sessions"`, `(?s)invalid ARN.*"alias/sessions" must be a KMS key ARN`},
		{"sessions = true\n  session_documents = [\"Amazon-Shell\"]", `the prefix "Amazon" is reserved by AWS \(AWS's own documents begin with "AWS-"`},
		{`session_documents = ["AWS-StartSSHSession"]`, `Attribute "sessions" must be specified when "session_documents" is specified`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config:      acctest.ProviderConfig(e) + "data \"ssm_operator_policy_document\" \"test\" {\n  " + c.body + "\n}\n",
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(c.want, " ", `\s+`)),
		})
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps:                    steps,
	})
}
