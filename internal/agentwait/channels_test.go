package agentwait_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

const ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// withRole gives the instance a profile whose role has the inline policy.
func withRole(t *testing.T, e *awsemu.Emulator, id, name, policy string) {
	t.Helper()
	cfg := emutest.Config(e)
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(ec2Trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("agent"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(name), RoleName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2.NewFromConfig(cfg).AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(id), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String(name)},
	}); err != nil {
		t.Fatal(err)
	}
}

// A role with ssm:UpdateInstanceInformation and the ssmmessages channel but no
// ec2messages action is enough: the agent takes commands over ssmmessages.
func TestWait_ssmmessagesChannelOnly(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{})
	if err != nil {
		t.Fatal(err)
	}
	withRole(t, e, ids[0], "mgs-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation",
		"ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]}`)
	res, err := agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("agent with the ssmmessages channel only: %v", err)
	}
	if len(res.Online) != 1 {
		t.Fatalf("online = %v", res.Online)
	}
	if d := agentwait.Diagnose(t.Context(), c, ids, nil); len(d) != 1 || d[0].Check != "agent" || strings.Contains(d[0].Reason, "cannot run") {
		t.Fatalf("diagnosis of a sufficient role = %+v, want only the agent step", d)
	}
}

// A role with neither command channel is diagnosed with what each channel lacks.
func TestWait_noCommandChannelDiagnosed(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{})
	if err != nil {
		t.Fatal(err)
	}
	withRole(t, e, ids[0], "data-only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation",
		"ssmmessages:CreateDataChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]}`)
	_, err = agentwait.Wait(t.Context(), c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Second})
	var te *agentwait.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a TimeoutError", err)
	}
	if len(te.Missing) != 1 || te.Missing[0].Check != "role" {
		t.Fatalf("diagnoses = %+v, want the role step", te.Missing)
	}
	for _, want := range []string{"role data-only of instance profile data-only cannot run the SSM agent",
		"neither the ssmmessages control channel (missing ssmmessages:CreateControlChannel, ssmmessages:OpenControlChannel)",
		"nor the ec2messages channel (missing ec2messages:AcknowledgeMessage"} {
		if !strings.Contains(te.Missing[0].Reason, want) {
			t.Errorf("diagnosis %q lacks %q", te.Missing[0].Reason, want)
		}
	}
	if strings.Contains(te.Missing[0].Reason, "UpdateInstanceInformation") {
		t.Errorf("diagnosis %q blames an action the role has", te.Missing[0].Reason)
	}
}
