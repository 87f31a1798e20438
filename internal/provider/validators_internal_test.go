package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Validation messages read as sentences: no doubled "must be", no literal "\n".
func TestValidators_readableMessages(t *testing.T) {
	ctx := t.Context()
	var vr validator.StringResponse
	instanceProfileNameOrARN().ValidateString(ctx, validator.StringRequest{Path: path.Root("instance_profile"),
		ConfigValue: types.StringValue("arn:aws:iam::12345:instance-profile/web")}, &vr)
	var vd xattr.ValidateAttributeResponse
	v, _ := durationType{}.ValueFromString(ctx, types.StringValue("10 minutes"))
	d, ok := v.(checkedDurationValue)
	if !ok {
		t.Fatalf("durationType made a %T", v)
	}
	d.ValidateAttribute(ctx, xattr.ValidateAttributeRequest{Path: path.Root("execution_timeout")}, &vd)
	for name, diags := range map[string]diag.Diagnostics{"profile ARN": vr.Diagnostics, "duration": vd.Diagnostics} {
		if diags.ErrorsCount() != 1 {
			t.Fatalf("%s: %d errors, want 1", name, diags.ErrorsCount())
		}
		d := diags.Errors()[0].Detail()
		if strings.Contains(d, "must be must be") || strings.Contains(d, `\n`) {
			t.Errorf("%s: unreadable detail %q", name, d)
		}
	}
}

// The one ARN validator, for each kind of ARN the provider takes, in any
// partition.
func TestValidators_arn(t *testing.T) {
	ctx := t.Context()
	cases := []struct {
		v       validator.String
		value   string
		problem string // "" when valid
	}{
		{roleARN(), "arn:aws:iam::123456789012:role/deployer", ""},
		{roleARN(), "arn:aws-cn:iam::123456789012:role/path/deployer", ""},
		{roleARN(), "arn:aws:iam::aws:role/deployer", `account id "aws" is not 12 digits`},
		{roleARN(), "arn:aws:iam::123:user/bob", `account id "123" is not 12 digits`},
		{roleARN(), "arn:aws:iam::123456789012:user/bob", `resource "user/bob" is not of the expected form`},
		{roleARN(), "arn:aws:sts::123456789012:role/deployer", `service is "sts", not iam`},
		{roleARN(), "deployer", "arn: invalid prefix"},
		{iamPolicyARN(), "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore", ""},
		{iamPolicyARN(), "arn:aws-us-gov:iam::123456789012:policy/team/ssm", ""},
		{iamPolicyARN(), "arn:aws:iam::123456789012:role/x", `resource "role/x" is not of the expected form`},
		{s3BucketARN(), "arn:aws:s3:::my-bucket", ""},
		{s3BucketARN(), "arn:aws:s3:::my-bucket/key", `resource "my-bucket/key" is not of the expected form`},
		{s3BucketARN(), "arn:aws:s3:::ssm-command-output-*", ""},
		{s3BucketARN(), "arn:aws:s3:::ssm-output-??", ""},
		{s3BucketARN(), "arn:aws:s3:::ssm-output-*/key", `resource "ssm-output-*/key" is not of the expected form`},
		{s3BucketARN(), "arn:aws:s3:::My_Bucket", `resource "My_Bucket" is not of the expected form`},
		{logGroupARN(), "arn:aws:logs:us-east-1:123456789012:log-group:ssm:*", ""},
		{logGroupARN(), "arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*", ""},
		{logGroupARN(), "arn:aws:logs:*:*:log-group:/aws/ssm/*", ""},
		{logGroupARN(), "arn:aws:logs:us-east-1:12345:log-group:ssm", `account id "12345" is not 12 digits`},
		{logGroupARN(), "arn:aws:logs:us-east-1:123456789012:log-group:bad group", `resource "log-group:bad group" is not of the expected form`},
		{logGroupARN(), "arn:aws:logs:us-east-1:123456789012:ssm", `resource "ssm" is not of the expected form`},
		{kmsKeyARN(), "arn:aws:kms:us-east-1:aws:key/k", `account id "aws" is not 12 digits`},
		{ec2InstanceARNPattern(), "arn:aws:ec2:*:111122223333:instance/*", ""},
		{instanceProfileNameOrARN(), "arn:aws:iam::123456789012:instance-profile/ssm", ""},
		{instanceProfileNameOrARN(), "ssm", ""},
	}
	for _, c := range cases {
		var resp validator.StringResponse
		c.v.ValidateString(ctx, validator.StringRequest{Path: path.Root("arn"), ConfigValue: types.StringValue(c.value)}, &resp)
		switch {
		case c.problem == "" && resp.Diagnostics.HasError():
			t.Errorf("%q: %v, want valid", c.value, resp.Diagnostics)
		case c.problem != "" && resp.Diagnostics.ErrorsCount() != 1:
			t.Errorf("%q: %d errors, want 1 saying %q", c.value, resp.Diagnostics.ErrorsCount(), c.problem)
		case c.problem != "":
			d := resp.Diagnostics.Errors()[0]
			if d.Summary() != "invalid ARN" || !strings.Contains(d.Detail(), c.problem) || !strings.Contains(d.Detail(), c.value) {
				t.Errorf("%q: %q / %q, want invalid ARN naming the value and %q", c.value, d.Summary(), d.Detail(), c.problem)
			}
		}
	}
}

// The regions the operator policy takes come from the partition table.
func TestValidators_knownRegion(t *testing.T) {
	ctx := t.Context()
	for region, want := range map[string]string{
		"eu-west-1": "", "cn-north-1": "", "us-gov-west-1": "",
		"us-easst-2":    "unknown region",
		"us-iso-east-1": "unsupported region",
	} {
		var resp validator.StringResponse
		knownRegion{}.ValidateString(ctx, validator.StringRequest{Path: path.Root("regions"), ConfigValue: types.StringValue(region)}, &resp)
		got := ""
		if resp.Diagnostics.HasError() {
			got = resp.Diagnostics.Errors()[0].Summary()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", region, got, want)
		}
	}
}
