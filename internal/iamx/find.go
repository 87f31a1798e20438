package iamx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

// PropagationTimeout bounds the retries of IAM eventual-consistency errors, as
// terraform-provider-aws's propagationTimeout does (notes/aws-behaviour.md#iam).
const PropagationTimeout = 2 * time.Minute

// NotFoundError says an entity does not exist (any more).
type NotFoundError struct {
	Kind, Name string
	Err        error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %s not found", e.Kind, e.Name)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is (or wraps) a NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

func isNoSuchEntity(err error) bool {
	var e *iamtypes.NoSuchEntityException
	return errors.As(err, &e)
}

// errorCode is the API error code of err ("" when none). EC2 errors are generic.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// FindRoleByName returns the role, or a NotFoundError.
func FindRoleByName(ctx context.Context, c *iam.Client, name string) (*iamtypes.Role, error) {
	out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if isNoSuchEntity(err) {
		return nil, &NotFoundError{Kind: "IAM role", Name: name, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("reading IAM role %s: %w", name, err)
	}
	if out.Role == nil {
		return nil, &NotFoundError{Kind: "IAM role", Name: name}
	}
	return out.Role, nil
}

// FindInstanceProfileByName returns the instance profile, or a NotFoundError.
func FindInstanceProfileByName(ctx context.Context, c *iam.Client, name string) (*iamtypes.InstanceProfile, error) {
	out, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if isNoSuchEntity(err) {
		return nil, &NotFoundError{Kind: "IAM instance profile", Name: name, Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("reading IAM instance profile %s: %w", name, err)
	}
	if out.InstanceProfile == nil {
		return nil, &NotFoundError{Kind: "IAM instance profile", Name: name}
	}
	return out.InstanceProfile, nil
}

// FindAssociationByInstanceID returns the instance's active (associated or
// associating) instance-profile association, or a NotFoundError.
func FindAssociationByInstanceID(ctx context.Context, c *ec2.Client, instanceID string) (*ec2types.IamInstanceProfileAssociation, error) {
	in := &ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{
		{Name: aws.String("instance-id"), Values: []string{instanceID}},
		{Name: aws.String("state"), Values: []string{string(ec2types.IamInstanceProfileAssociationStateAssociated), string(ec2types.IamInstanceProfileAssociationStateAssociating)}},
	}}
	p := ec2.NewDescribeIamInstanceProfileAssociationsPaginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing instance profile associations of %s: %w", instanceID, err)
		}
		for i := range out.IamInstanceProfileAssociations {
			a := out.IamInstanceProfileAssociations[i]
			if aws.ToString(a.InstanceId) == instanceID {
				return &a, nil
			}
		}
	}
	return nil, &NotFoundError{Kind: "instance profile association of", Name: instanceID}
}

// RoleState is what a role holds: its trust policy, attached managed policies and
// inline policies (documents URL-decoded).
type RoleState struct {
	Role *iamtypes.Role
	// Info is Role as plain values.
	Info     RoleInfo
	Trust    string
	Attached []string
	Inline   map[string]string
	Tags     map[string]string
}

// ReadRole reads the role and its policies, or returns a NotFoundError.
func ReadRole(ctx context.Context, c *iam.Client, name string) (*RoleState, error) {
	r, err := FindRoleByName(ctx, c, name)
	if err != nil {
		return nil, err
	}
	st := &RoleState{Role: r, Info: roleInfo(r), Trust: decode(aws.ToString(r.AssumeRolePolicyDocument)), Inline: map[string]string{}, Tags: tagMap(r.Tags)}
	ap := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for ap.HasMorePages() {
		out, err := ap.NextPage(ctx)
		if err != nil {
			return nil, notFoundOr(err, "IAM role", name, "listing managed policies of IAM role")
		}
		for _, p := range out.AttachedPolicies {
			st.Attached = append(st.Attached, aws.ToString(p.PolicyArn))
		}
	}
	names, err := inlinePolicyNames(ctx, c, name)
	if err != nil {
		return nil, err
	}
	for _, pn := range names {
		out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(pn)})
		if isNoSuchEntity(err) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading inline policy %s of IAM role %s: %w", pn, name, err)
		}
		st.Inline[pn] = decode(aws.ToString(out.PolicyDocument))
	}
	return st, nil
}

func inlinePolicyNames(ctx context.Context, c *iam.Client, role string) ([]string, error) {
	var names []string
	p := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, notFoundOr(err, "IAM role", role, "listing inline policies of IAM role")
		}
		names = append(names, out.PolicyNames...)
	}
	return names, nil
}

func notFoundOr(err error, kind, name, doing string) error {
	if isNoSuchEntity(err) {
		return &NotFoundError{Kind: kind, Name: name, Err: err}
	}
	return fmt.Errorf("%s %s: %w", doing, name, err)
}

// ProfileNameFromARN returns the name of an instance profile ARN (the last path
// segment), or s itself when it is not an ARN.
func ProfileNameFromARN(s string) string {
	if !strings.HasPrefix(s, "arn:") {
		return s
	}
	return s[strings.LastIndex(s, "/")+1:]
}
