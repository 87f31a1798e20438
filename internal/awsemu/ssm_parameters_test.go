package awsemu

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// The public AMI parameter resolves to an AMI id RunInstances launches, stable
// per region; an unknown name is ParameterNotFound.
func TestGetParameterPublicAMI(t *testing.T) {
	_, cfg := newTestEmulator(t, Options{Region: "eu-west-1"})
	ctx := t.Context()
	c := ssm.NewFromConfig(cfg)
	name := "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Parameter
	if aws.ToString(p.Name) != name || p.Type != ssmtypes.ParameterTypeString || p.Version != 1 {
		t.Fatalf("parameter = %+v", p)
	}
	if got, want := aws.ToString(p.Value), PublicAMIID("eu-west-1", name); got != want || len(got) != len("ami-")+17 {
		t.Fatalf("value = %q, want %q", got, want)
	}
	if got := aws.ToString(p.ARN); got != "arn:aws:ssm:eu-west-1::parameter"+name {
		t.Fatalf("ARN = %q", got)
	}
	if p.LastModifiedDate == nil || p.LastModifiedDate.IsZero() {
		t.Fatal("no LastModifiedDate")
	}
	// By ARN too.
	byARN, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: p.ARN})
	if err != nil || aws.ToString(byARN.Parameter.Value) != aws.ToString(p.Value) {
		t.Fatalf("by ARN: %v %+v", err, byARN)
	}
	arm, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64")})
	if err != nil || aws.ToString(arm.Parameter.Value) == aws.ToString(p.Value) {
		t.Fatalf("arm64: %v %+v", err, arm)
	}

	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/aws/service/ami-amazon-linux-latest/no-such-image")})
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("unknown name: err = %v, want ParameterNotFound", err)
	}

	// The AMI launches; the instance goes pending -> running.
	ec := ec2.NewFromConfig(cfg)
	run, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: p.Value, MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: ec2types.InstanceTypeT3Nano})
	if err != nil {
		t.Fatal(err)
	}
	inst := run.Instances[0]
	if aws.ToString(inst.ImageId) != aws.ToString(p.Value) || inst.State.Name != ec2types.InstanceStateNamePending {
		t.Fatalf("launched %+v", inst)
	}
}
