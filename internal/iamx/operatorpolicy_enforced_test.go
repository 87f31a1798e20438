package iamx_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// The operator policy (OperatorPolicy) as the emulator enforces it, for
// sessions of a role that has it as its only policy.

// accountTrust lets the account's principals assume the role.
const accountTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`

// assumeWithPolicy creates a role with one inline policy and returns a config
// signed with a session of it.
func assumeWithPolicy(t *testing.T, cfg aws.Config, name, policy string) aws.Config {
	t.Helper()
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(accountTrust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("operator"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("op")})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Copy()
	c.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	return c
}

// operatorPolicy is OperatorPolicy for the emulator's account in regions, for
// AWS-RunShellScript on instances with tags, with the diagnosis statements,
// less the statement whose Sid is drop.
func operatorPolicy(t *testing.T, regions []string, tags map[string]string, drop string) string {
	t.Helper()
	doc, err := iamx.OperatorPolicy(iamx.OperatorPolicySpec{Partition: "aws", AccountID: "123456789012", Regions: regions,
		Documents: []string{"AWS-RunShellScript"}, InstanceTags: tags, Diagnosis: true})
	if err != nil {
		t.Fatal(err)
	}
	var kept iamx.Statements
	for _, st := range doc.Statement {
		if st.Sid != drop {
			kept = append(kept, st)
		}
	}
	doc.Statement = kept
	return doc.JSON()
}

// wantDenied checks the protocol's AccessDenied code and that the message names
// the action (and the resource, when given).
func wantDenied(t *testing.T, err error, code, action, resource string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s for %s, got %v", code, action, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), "not authorized to perform: "+action) ||
		!strings.Contains(ae.ErrorMessage(), resource) {
		t.Fatalf("want %s naming %s %s, got %s: %s", code, action, resource, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// The policy of a tag-limited operator, enforced: commands reach the tagged
// instances only, with the named document only; the reads the provider makes
// pass; nothing else does.
func TestOperatorPolicyEnforced(t *testing.T) {
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{})
	root := emutest.Config(e)
	ctx := t.Context()
	web, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Team": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	op := assumeWithPolicy(t, root, "operator", operatorPolicy(t, []string{"us-east-1"}, map[string]string{"Team": "web"}, ""))
	sc := ssm.NewFromConfig(op)
	send := func(in *ssm.SendCommandInput) error {
		in.DocumentName = aws.String("AWS-RunShellScript")
		in.Parameters = map[string][]string{"commands": {"true"}}
		_, err := sc.SendCommand(ctx, in)
		return err
	}

	// Off by default: the session may do what its policy does not grant.
	if _, err := iam.NewFromConfig(op).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("x"), AssumeRolePolicyDocument: aws.String(accountTrust)}); err != nil {
		t.Fatalf("without enforcement: %v", err)
	}

	e.SetAuthorization(true)
	if err := send(&ssm.SendCommandInput{InstanceIds: web}); err != nil {
		t.Fatalf("command to a tagged instance: %v", err)
	}
	if err := send(&ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag:Team"), Values: []string{"web"}}}}); err != nil {
		t.Fatalf("command by tag: %v", err)
	}
	err = send(&ssm.SendCommandInput{InstanceIds: db})
	wantDenied(t, err, "AccessDeniedException", "ssm:SendCommand", "arn:aws:ec2:us-east-1:123456789012:instance/"+db[0])
	err = send(&ssm.SendCommandInput{Targets: []ssmtypes.Target{{Key: aws.String("tag:Team"), Values: []string{"db"}}}})
	wantDenied(t, err, "AccessDeniedException", "ssm:SendCommand", db[0])
	// A document the policy does not name.
	_, err = sc.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunPowerShellScript"), InstanceIds: web,
		Parameters: map[string][]string{"commands": {"true"}}})
	wantDenied(t, err, "AccessDeniedException", "ssm:SendCommand", "document/AWS-RunPowerShellScript")

	// The reads the provider makes, and IAM reads for diagnosis.
	if _, err := sc.ListCommands(ctx, &ssm.ListCommandsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(op).DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := iam.NewFromConfig(op).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("operator")}); err != nil {
		t.Fatal(err)
	}
	// Nothing else.
	_, err = iam.NewFromConfig(op).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("y"), AssumeRolePolicyDocument: aws.String(accountTrust)})
	wantDenied(t, err, "AccessDenied", "iam:CreateRole", "")
	_, err = ec2.NewFromConfig(op).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: web})
	wantDenied(t, err, "UnauthorizedOperation", "ec2:TerminateInstances", "")
	if _, err := sts.NewFromConfig(op).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity needs no permission: %v", err)
	}
	// The root user is not limited.
	if _, err := iam.NewFromConfig(root).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("z"), AssumeRolePolicyDocument: aws.String(accountTrust)}); err != nil {
		t.Fatal(err)
	}
}

// Every statement is needed: without it the calls it covers are denied,
// naming the action. The region condition holds too.
func TestOperatorPolicyEachStatementIsNeeded(t *testing.T) {
	t.Parallel()
	root := emutest.Config(emutest.Start(t, awsemu.Options{EnforceIAM: true}))
	ctx := t.Context()
	cases := []struct {
		drop, action string
		call         func(aws.Config) error
	}{
		{iamx.SidReadCommandsAgents, "ssm:ListCommands", func(c aws.Config) error {
			_, err := ssm.NewFromConfig(c).ListCommands(ctx, &ssm.ListCommandsInput{})
			return err
		}},
		{iamx.SidCancelCommands, "ssm:CancelCommand", func(c aws.Config) error {
			_, err := ssm.NewFromConfig(c).CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000")})
			return err
		}},
		{iamx.SidDiagnoseIdentity, "iam:GetInstanceProfile", func(c aws.Config) error {
			_, err := iam.NewFromConfig(c).GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("p")})
			return err
		}},
		{iamx.SidSendCommandDocuments, "ssm:SendCommand", func(c aws.Config) error {
			_, err := ssm.NewFromConfig(c).SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
				Targets: []ssmtypes.Target{{Key: aws.String("tag:Team"), Values: []string{"web"}}}, Parameters: map[string][]string{"commands": {"true"}}})
			return err
		}},
	}
	for _, c := range cases {
		cfg := assumeWithPolicy(t, root, "without-"+c.drop, operatorPolicy(t, []string{"us-east-1"}, nil, c.drop))
		err := c.call(cfg)
		var ae smithy.APIError
		if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), "not authorized to perform: "+c.action) {
			t.Errorf("without %s: want AccessDenied naming %s, got %v", c.drop, c.action, err)
		}
	}
	// Another region than the policy's: denied.
	cfg := assumeWithPolicy(t, root, "west", operatorPolicy(t, []string{"us-west-2"}, nil, ""))
	_, err := ssm.NewFromConfig(cfg).ListCommands(ctx, &ssm.ListCommandsInput{})
	wantDenied(t, err, "AccessDeniedException", "ssm:ListCommands", "")
}

// The staging statement grants the object calls of ssm_file's staged copy
// under the staging prefix only; elsewhere S3 denies them in its own shape.
func TestOperatorPolicyStagingPrefix(t *testing.T) {
	t.Parallel()
	root := emutest.Config(emutest.Start(t, awsemu.Options{EnforceIAM: true}))
	ctx := t.Context()
	rs3 := s3.NewFromConfig(root, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := rs3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("stage")}); err != nil {
		t.Fatal(err)
	}
	doc, err := iamx.OperatorPolicy(iamx.OperatorPolicySpec{Partition: "aws", AccountID: "123456789012", Regions: []string{"us-east-1"},
		Documents: []string{"AWS-RunShellScript"}, StagingBucket: "stage", StagingPrefix: "ssm-file/"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := assumeWithPolicy(t, root, "stager", doc.JSON())
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	put := func(key string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("stage"), Key: aws.String(key), Body: strings.NewReader("x")})
		return err
	}
	if err := put("ssm-file/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("stage"), Key: aws.String("ssm-file/a")}); err != nil {
		t.Fatal(err)
	}
	wantDenied(t, put("elsewhere/a"), "AccessDenied", "s3:PutObject", "arn:aws:s3:::stage/elsewhere/a")
	if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("stage"), Key: aws.String("ssm-file/a")}); err != nil {
		t.Fatal(err)
	}
	// Listing leftovers (s3:ListBucket) under the staging prefix only.
	if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("stage"), Prefix: aws.String("ssm-file/0123/")}); err != nil {
		t.Fatalf("listing under the staging prefix: %v", err)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("stage"), Prefix: aws.String("elsewhere/")})
	wantDenied(t, err, "AccessDenied", "s3:ListBucket", "arn:aws:s3:::stage")
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("stage")})
	wantDenied(t, err, "AccessDenied", "s3:ListBucket", "arn:aws:s3:::stage")

	// Without the list statement, the listing is denied naming s3:ListBucket.
	var kept iamx.Statements
	for _, st := range doc.Statement {
		if st.Sid != iamx.SidFileStagingList {
			kept = append(kept, st)
		}
	}
	if len(kept) != len(doc.Statement)-1 {
		t.Fatalf("no %s statement", iamx.SidFileStagingList)
	}
	doc.Statement = kept
	nolist := s3.NewFromConfig(assumeWithPolicy(t, root, "stager-nolist", doc.JSON()), func(o *s3.Options) { o.UsePathStyle = true })
	_, err = nolist.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("stage"), Prefix: aws.String("ssm-file/0123/")})
	wantDenied(t, err, "AccessDenied", "s3:ListBucket", "arn:aws:s3:::stage")
}
