package agentwait_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// Instances without an instance profile: the diagnosis checks Default Host
// Management before blaming the missing profile, and agents come Online through it.
func TestDiagnose_defaultHostManagement(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	cfg := emutest.Config(e)
	ctx := t.Context()
	ic, sc := iam.NewFromConfig(cfg), ssm.NewFromConfig(cfg)
	check := func(wantCheck string, wants ...string) {
		t.Helper()
		d := agentwait.Diagnose(ctx, c, ids, nil)
		if len(d) != 2 || d[0].Check != wantCheck || d[1].Reason != d[0].Reason {
			t.Fatalf("diagnoses = %+v, want two %q", d, wantCheck)
		}
		for _, w := range wants {
			if !strings.Contains(d[0].Reason, w) {
				t.Errorf("diagnosis %q lacks %q", d[0].Reason, w)
			}
		}
	}
	check("profile", "no IAM instance profile and Default Host Management is off", "turn on Default Host Management")

	if _, err := sc.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(agentwait.DefaultHostSettingID), SettingValue: aws.String("dhmc")}); err != nil {
		t.Fatal(err)
	}
	check("role", "names role dhmc, which does not exist")

	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("dhmc"), AssumeRolePolicyDocument: aws.String(ec2Trust)}); err != nil {
		t.Fatal(err)
	}
	check("role", "Default Host Management role dhmc cannot run the SSM agent", "does not let ssm.amazonaws.com assume it", "does not allow ssm:UpdateInstanceInformation")

	if _, err := ic.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("dhmc"),
		PolicyDocument: aws.String(strings.Replace(ec2Trust, "ec2.amazonaws.com", "ssm.amazonaws.com", 1))}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("dhmc"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy")}); err != nil {
		t.Fatal(err)
	}
	res, err := agentwait.Wait(ctx, c, agentwait.Spec{InstanceIDs: ids, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("DHMC-managed instances: %v", err)
	}
	if len(res.Online) != 2 {
		t.Fatalf("online = %v", res.Online)
	}
	for _, id := range ids {
		if err := e.SetAgentStopped(id, true); err != nil {
			t.Fatal(err)
		}
	}
	check("agent", "Default Host Management (role dhmc) gives its agent credentials", "has not registered")
}
