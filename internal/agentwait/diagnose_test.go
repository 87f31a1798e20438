package agentwait_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// A denied diagnostic call is named in the diagnosis and never hides the timeout.
func TestWait_deniedDiagnosticCall(t *testing.T) {
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{})
	id, err := e.AddInstances(awsemu.InstanceSpec{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := emutest.Config(e)
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
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
	if _, err := ec2.NewFromConfig(cfg).AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(id[0]), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("p")},
	}); err != nil {
		t.Fatal(err)
	}
	// The caller: an IAM user who may do anything but iam:GetInstanceProfile,
	// with authorization enforced.
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ci")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("ci"), PolicyName: aws.String("all-but-profiles"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:GetInstanceProfile","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	k, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("ci")})
	if err != nil {
		t.Fatal(err)
	}
	e.SetAuthorization(true)
	ci := cfg.Copy()
	ci.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")
	c := agentwait.Clients{SSM: ssm.NewFromConfig(ci), EC2: ec2.NewFromConfig(ci), IAM: iam.NewFromConfig(ci)}
	_, err = agentwait.Wait(ctx, c, agentwait.Spec{InstanceIDs: id, Timeout: time.Second})
	var te *agentwait.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	if len(te.Missing) != 1 || te.Missing[0].Check != "unchecked" {
		t.Fatalf("diagnoses = %+v, want one unchecked", te.Missing)
	}
	for _, want := range []string{"0 of the required 1 SSM agents are Online after 1s", "could not check the instance profile p", "iam:GetInstanceProfile failed: AccessDenied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
