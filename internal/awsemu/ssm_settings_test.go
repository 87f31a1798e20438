package awsemu

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

const ssmTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestSSMServiceSettings(t *testing.T) {
	t.Parallel()
	_, cfg := newTestEmulator(t, Options{})
	c := ssm.NewFromConfig(cfg)
	ctx := t.Context()
	arn := "arn:aws:ssm:us-east-1:123456789012:servicesetting" + DHMCSettingID

	got, err := c.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(DHMCSettingID)})
	if err != nil {
		t.Fatal(err)
	}
	s := got.ServiceSetting
	if aws.ToString(s.SettingValue) != "$None" || aws.ToString(s.Status) != "Default" || aws.ToString(s.ARN) != arn || aws.ToString(s.SettingId) != DHMCSettingID {
		t.Fatalf("default setting = %+v", s)
	}
	if _, err := c.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(arn), SettingValue: aws.String("service-role/DHMC")}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	s = got.ServiceSetting
	if aws.ToString(s.SettingValue) != "service-role/DHMC" || aws.ToString(s.Status) != "Customized" || s.LastModifiedDate == nil || time.Since(*s.LastModifiedDate) > time.Minute {
		t.Fatalf("updated setting = %+v", s)
	}
	reset, err := c.ResetServiceSetting(ctx, &ssm.ResetServiceSettingInput{SettingId: aws.String(DHMCSettingID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(reset.ServiceSetting.SettingValue) != "$None" || aws.ToString(reset.ServiceSetting.Status) != "Default" {
		t.Fatalf("reset setting = %+v", reset.ServiceSetting)
	}
	for _, bad := range []string{"/ssm/no/such-setting", "arn:aws:ssm:eu-west-1:123456789012:servicesetting" + DHMCSettingID} {
		if _, err := c.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(bad)}); ssmAPICode(err) != "ServiceSettingNotFound" {
			t.Errorf("GetServiceSetting(%s) = %v, want ServiceSettingNotFound", bad, err)
		}
	}
	if _, err := c.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(DHMCSettingID), SettingValue: aws.String("")}); ssmAPICode(err) != "ValidationException" {
		t.Errorf("empty value: %v, want ValidationException", err)
	}
}

// Agents on instances without an instance profile register through Default Host
// Management when its role trusts ssm.amazonaws.com and has the default policy,
// and lose the connection when the setting is reset.
func TestSSMDefaultHostManagementRegistration(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	c := ssm.NewFromConfig(cfg)
	ic := iam.NewFromConfig(cfg)
	ctx := t.Context()
	for _, r := range []struct{ name, path, trust string }{
		{"DHMC", "/service-role/", ssmTrustPolicy},
		{"EC2Trust", "/", ec2TrustPolicy},
	} {
		if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), Path: aws.String(r.path), AssumeRolePolicyDocument: aws.String(r.trust)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(r.name), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy")}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := e.AddInstances(InstanceSpec{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	status := func() string {
		inst, _ := e.Instance(ids[0])
		return inst.PingStatus
	}
	set := func(v string) {
		t.Helper()
		if _, err := c.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(DHMCSettingID), SettingValue: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(want string) {
		t.Helper()
		eventually(t, 5*time.Second, func() error {
			if s := status(); s != want {
				return fmt.Errorf("PingStatus %q, want %q", s, want)
			}
			return nil
		})
	}
	for _, v := range []string{"EC2Trust", "DHMC", "other-path/DHMC", "NoSuchRole"} { // wrong trust, path missing, wrong path, absent
		set(v)
		time.Sleep(150 * time.Millisecond) // wall time on purpose: no registration within 3 fleet ticks of 50 ms
		if s := status(); s != "" {
			t.Fatalf("setting %q: PingStatus %q, want unregistered", v, s)
		}
	}
	set("service-role/DHMC")
	waitFor(PingOnline)
	if _, err := c.ResetServiceSetting(ctx, &ssm.ResetServiceSettingInput{SettingId: aws.String(DHMCSettingID)}); err != nil {
		t.Fatal(err)
	}
	waitFor(PingConnectionLost)
}
