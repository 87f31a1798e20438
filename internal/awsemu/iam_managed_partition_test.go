package awsemu

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// In another partition the AWS managed policies' ARNs, and the resource ARNs
// in their texts, carry that partition.
func TestManagedPolicyTextsCarryThePartition(t *testing.T) {
	t.Parallel()
	for region, part := range map[string]string{"us-east-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"} {
		_, cfg := newTestEmulator(t, Options{Region: region})
		cl := iam.NewFromConfig(cfg)
		arn := "arn:" + part + ":iam::aws:policy/CloudWatchAgentServerPolicy"
		p, err := cl.GetPolicy(t.Context(), &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("%s: GetPolicy %s: %v", region, arn, err)
		}
		v, err := cl.GetPolicyVersion(t.Context(), &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc, `"arn:`+part+`:ssm:*:*:parameter/AmazonCloudWatch-*"`) {
			t.Errorf("%s: document does not name its partition's parameter ARN:\n%s", region, doc)
		}
		if part != "aws" && strings.Contains(doc, `"arn:aws:`) {
			t.Errorf("%s: document carries aws-partition ARNs:\n%s", region, doc)
		}
	}
}
