package agentwait_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// deniedIAM answers every IAM call with AccessDenied, as for a caller whose
// policy lacks iam:GetInstanceProfile (the emulator does not model IAM
// authorization).
type deniedIAM struct{ agentwait.IAMAPI }

func (deniedIAM) GetInstanceProfile(context.Context, *iam.GetInstanceProfileInput, ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:GetInstanceProfile"}
}

// A denied diagnostic call is named in the diagnosis and never hides the timeout.
func TestWait_deniedDiagnosticCall(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	id, err := e.AddInstances(awsemu.InstanceSpec{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := emutest.Config(e)
	ctx := context.Background()
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
	c.IAM = deniedIAM{}
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
