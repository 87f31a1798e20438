package awsemu

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
)

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

// webOperatorPolicy is a policy in the shape of an operator's: commands with
// one document, to instances tagged Team=web, in us-east-1; the reads of a run;
// IAM reads of roles.
const webOperatorPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"ssm:SendCommand","Resource":"arn:aws:ssm:*::document/AWS-RunShellScript",
  "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1"]}}},
 {"Effect":"Allow","Action":"ssm:SendCommand","Resource":"arn:aws:ec2:*:123456789012:instance/*",
  "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1"],"ssm:resourceTag/Team":"web"}}},
 {"Effect":"Allow","Action":["ec2:DescribeInstances","ssm:DescribeInstanceInformation","ssm:ListCommands"],"Resource":"*",
  "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1"]}}},
 {"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::123456789012:role/*"}
]}`

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

// Enforcement is off by default and follows SetAuthorization: then a session
// may do what its role's policy allows, on the resources and under the
// conditions it names, and nothing else; denials come in each service's shape.
func TestAuthorizationEnforcesPolicies(t *testing.T) {
	t.Parallel()
	e, root := newTestEmulator(t, Options{})
	ctx := t.Context()
	web, err := e.AddInstances(InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := e.AddInstances(InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Team": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	op := assumeWithPolicy(t, root, "operator", webOperatorPolicy)
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

// A condition on aws:RequestedRegion holds the caller to that region, and an
// explicit Deny wins over an Allow.
func TestAuthorizationRegionAndExplicitDeny(t *testing.T) {
	t.Parallel()
	_, root := newTestEmulator(t, Options{EnforceIAM: true})
	ctx := t.Context()
	// Another region than the policy's: denied.
	cfg := assumeWithPolicy(t, root, "west", strings.ReplaceAll(webOperatorPolicy, "us-east-1", "us-west-2"))
	_, err := ssm.NewFromConfig(cfg).ListCommands(ctx, &ssm.ListCommandsInput{})
	wantDenied(t, err, "AccessDeniedException", "ssm:ListCommands", "")
	// An explicit Deny wins over an Allow.
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:*","Resource":"*"},{"Effect":"Deny","Action":"ssm:ListCommands","Resource":"*"}]}`
	cfg = assumeWithPolicy(t, root, "denied", deny)
	_, err = ssm.NewFromConfig(cfg).ListCommands(ctx, &ssm.ListCommandsInput{})
	wantDenied(t, err, "AccessDeniedException", "ssm:ListCommands", "explicit deny")
	if _, err := ssm.NewFromConfig(cfg).DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{}); err != nil {
		t.Fatal(err)
	}
}

// An IAM user's access key is evaluated against the user's policies.
func TestAuthorizationIAMUser(t *testing.T) {
	t.Parallel()
	e, root := newTestEmulator(t, Options{EnforceIAM: true})
	ctx := t.Context()
	web, err := e.AddInstances(InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := e.AddInstances(InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	ic := iam.NewFromConfig(root)
	u, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci"), Path: aws.String("/pipelines/")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(u.User.Arn); got != "arn:aws:iam::123456789012:user/pipelines/ci" || !strings.HasPrefix(aws.ToString(u.User.UserId), "AIDA") {
		t.Fatalf("user %s %s", got, aws.ToString(u.User.UserId))
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ci"), PolicyName: aws.String("operator"),
		PolicyDocument: aws.String(webOperatorPolicy)}); err != nil {
		t.Fatal(err)
	}
	k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := root.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != aws.ToString(u.User.Arn) || aws.ToString(id.UserId) != aws.ToString(u.User.UserId) {
		t.Fatalf("caller identity %+v %v", id, err)
	}
	sc := ssm.NewFromConfig(cfg)
	in := func(ids []string) *ssm.SendCommandInput {
		return &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids, Parameters: map[string][]string{"commands": {"true"}}}
	}
	if _, err := sc.SendCommand(ctx, in(web)); err != nil {
		t.Fatal(err)
	}
	_, err = sc.SendCommand(ctx, in(db))
	wantDenied(t, err, "AccessDeniedException", "ssm:SendCommand", "instance/"+db[0])
	if !strings.Contains(err.Error(), "User: arn:aws:iam::123456789012:user/pipelines/ci is not authorized") {
		t.Fatalf("denial does not name the user: %v", err)
	}
	_, err = ic.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("ci")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "DeleteConflict" {
		t.Fatalf("deleting a user with keys: %v", err)
	}
	if _, err := ic.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("ci"), AccessKeyId: k.AccessKey.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.ListCommands(ctx, &ssm.ListCommandsInput{}); err == nil {
		t.Fatal("a deleted access key still signs requests")
	}
}

// S3 denials come in S3's own error shape, and object grants are per prefix.
func TestAuthorizationS3(t *testing.T) {
	t.Parallel()
	_, root := newTestEmulator(t, Options{EnforceIAM: true})
	ctx := t.Context()
	rs3 := s3.NewFromConfig(root, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := rs3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("stage")}); err != nil {
		t.Fatal(err)
	}
	cfg := assumeWithPolicy(t, root, "stager", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["s3:DeleteObject","s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::stage/ssm-file/*"}]}`)
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
}

// Policy variables in resources stand for the caller: a user may read only the
// role named after it.
func TestAuthorizationPolicyVariables(t *testing.T) {
	t.Parallel()
	_, root := newTestEmulator(t, Options{EnforceIAM: true})
	ctx := t.Context()
	ic := iam.NewFromConfig(root)
	for _, n := range []string{"ci", "other"} {
		if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(accountTrust)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci")}); err != nil {
		t.Fatal(err)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::123456789012:role/${aws:username}"}]}`
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ci"), PolicyName: aws.String("own"), PolicyDocument: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := root.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, "")
	uc := iam.NewFromConfig(cfg)
	if _, err := uc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ci")}); err != nil {
		t.Fatal(err)
	}
	_, err = uc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("other")})
	wantDenied(t, err, "AccessDenied", "iam:GetRole", "role/other")
	// A role session has no aws:username: the same policy allows it nothing.
	sess := assumeWithPolicy(t, root, "sessrole", pol)
	_, err = iam.NewFromConfig(sess).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ci")})
	wantDenied(t, err, "AccessDenied", "iam:GetRole", "role/ci")
}
