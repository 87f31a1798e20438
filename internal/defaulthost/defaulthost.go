// Package defaulthost turns Default Host Management Configuration on and off for
// an account and region: the SSM service setting naming the role Systems Manager
// gives the agents of instances without an instance profile, and that role.
// See notes/aws-behaviour.md#default-host-management.
package defaulthost

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// SettingID is the service setting that names the role.
const SettingID = agentwait.DefaultHostSettingID

// Off is the setting's value when Default Host Management is off.
const Off = "$None"

// TrustService is the principal the role trusts.
const TrustService = agentwait.DefaultHostTrustService

// PolicyName is the AWS managed policy made for the role.
const PolicyName = "AmazonSSMManagedEC2InstanceDefaultPolicy"

// PolicyARN is PolicyName's ARN in a partition.
func PolicyARN(partition string) string {
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::aws:policy/" + PolicyName
}

// TrustPolicy lets Systems Manager assume the role.
func TrustPolicy() iamx.PolicyDocument {
	return iamx.PolicyDocument{Version: "2012-10-17", Statement: iamx.Statements{{
		Effect:    "Allow",
		Principal: map[string]any{"Service": TrustService},
		Action:    iamx.StringList{"sts:AssumeRole"},
	}}}
}

// SSMAPI is the part of the SSM client used.
type SSMAPI interface {
	GetServiceSetting(ctx context.Context, in *ssm.GetServiceSettingInput, optFns ...func(*ssm.Options)) (*ssm.GetServiceSettingOutput, error)
	UpdateServiceSetting(ctx context.Context, in *ssm.UpdateServiceSettingInput, optFns ...func(*ssm.Options)) (*ssm.UpdateServiceSettingOutput, error)
	ResetServiceSetting(ctx context.Context, in *ssm.ResetServiceSettingInput, optFns ...func(*ssm.Options)) (*ssm.ResetServiceSettingOutput, error)
}

// Setting is the current Default Host Management setting.
type Setting struct {
	// Value is the role ("name" or "path/name"), or Off.
	Value string
	// ARN is the setting's ARN; Partition, Region and Account come from it.
	ARN                        string
	Partition, Region, Account string
}

// On reports whether a role is set.
func (s *Setting) On() bool { return s.Value != "" && s.Value != Off }

// ID is how the provider names the setting: "<account id>/<region>".
func (s *Setting) ID() string { return s.Account + "/" + s.Region }

// Value is the setting value for a role: its path without the leading slash,
// then its name ("service-role/Name"; "Name" for the path "/").
func Value(path, name string) string {
	return strings.TrimPrefix(path, "/") + name
}

// ParseValue splits a setting value into the role's path and name.
func ParseValue(v string) (path, name string) {
	i := strings.LastIndex(v, "/")
	return "/" + v[:i+1], v[i+1:]
}

// Get reads the setting.
func Get(ctx context.Context, c SSMAPI) (*Setting, error) {
	out, err := c.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(SettingID)})
	if err != nil {
		return nil, fmt.Errorf("reading the SSM service setting %s: %w", SettingID, err)
	}
	if out.ServiceSetting == nil {
		return nil, fmt.Errorf("reading the SSM service setting %s: the response holds no setting", SettingID)
	}
	s := &Setting{Value: aws.ToString(out.ServiceSetting.SettingValue), ARN: aws.ToString(out.ServiceSetting.ARN)}
	if a, err := arn.Parse(s.ARN); err == nil {
		s.Partition, s.Region, s.Account = a.Partition, a.Region, a.AccountID
	}
	return s, nil
}

// Set turns Default Host Management on with the role named by value.
func Set(ctx context.Context, c SSMAPI, value string) error {
	_, err := c.UpdateServiceSetting(ctx, &ssm.UpdateServiceSettingInput{SettingId: aws.String(SettingID), SettingValue: aws.String(value)})
	if err != nil {
		return fmt.Errorf("updating the SSM service setting %s to %s: %w", SettingID, value, err)
	}
	return nil
}

// Reset turns Default Host Management off.
func Reset(ctx context.Context, c SSMAPI) error {
	if _, err := c.ResetServiceSetting(ctx, &ssm.ResetServiceSettingInput{SettingId: aws.String(SettingID)}); err != nil {
		return fmt.Errorf("resetting the SSM service setting %s: %w", SettingID, err)
	}
	return nil
}

// RoleProblems says what keeps the role from serving Default Host Management
// (none: it serves); a missing role is an iamx NotFoundError.
func RoleProblems(ctx context.Context, c *iam.Client, name string) ([]string, error) {
	if _, err := iamx.FindRoleByName(ctx, c, name); err != nil {
		return nil, err
	}
	return agentwait.RoleProblems(ctx, c, name, TrustService)
}

// EnsureRole creates the role (trusted by ssm.amazonaws.com, with
// AmazonSSMManagedEC2InstanceDefaultPolicy attached) or repairs its trust and
// attachment, and returns it.
func EnsureRole(ctx context.Context, c *iam.Client, name, path, partition string, tags map[string]string) (*iamtypes.Role, error) {
	trust := TrustPolicy().JSON()
	st, err := iamx.ReadRole(ctx, c, name)
	switch {
	case iamx.IsNotFound(err):
		in := &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(trust),
			Description: aws.String("Default Host Management Configuration: Systems Manager gives this role to the SSM agents of instances without an instance profile.")}
		for k, v := range tags {
			in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		role, err := iamx.CreateRole(ctx, c, in)
		if err != nil {
			return nil, fmt.Errorf("creating IAM role %s: %w", name, err)
		}
		if err := iamx.AttachPolicy(ctx, c, name, PolicyARN(partition)); err != nil {
			return role, fmt.Errorf("attaching %s to IAM role %s: %w", PolicyName, name, err)
		}
		return role, nil
	case err != nil:
		return nil, err
	}
	if aws.ToString(st.Role.Path) != path {
		return nil, &WrongPathError{Role: name, Path: aws.ToString(st.Role.Path), Want: path}
	}
	if doc, err := iamx.ParsePolicy(st.Trust); err != nil || !iamx.TrustsService(doc, TrustService) {
		if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trust)}); err != nil {
			return nil, fmt.Errorf("restoring the trust policy of IAM role %s: %w", name, err)
		}
	}
	want := PolicyARN(partition)
	attached := false
	for _, a := range st.Attached {
		attached = attached || a == want
	}
	if !attached {
		if err := iamx.AttachPolicy(ctx, c, name, want); err != nil {
			return nil, fmt.Errorf("attaching %s to IAM role %s: %w", PolicyName, name, err)
		}
	}
	return st.Role, nil
}

// WrongPathError is a role that exists under another path than configured.
type WrongPathError struct{ Role, Path, Want string }

func (e *WrongPathError) Error() string {
	return fmt.Sprintf("IAM role %s exists with path %s, not %s", e.Role, e.Path, e.Want)
}

// IsWrongPath reports whether err is a WrongPathError.
func IsWrongPath(err error) bool {
	var w *WrongPathError
	return errors.As(err, &w)
}
