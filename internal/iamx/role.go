package iamx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// retryPollMin and retryPollMax bound the back-off between eventual-consistency
// retries. Throttling and 5xx are retried by the SDK's retryer, not here.
var (
	retryPollMin = 500 * time.Millisecond
	retryPollMax = 5 * time.Second
)

// RetryWhen calls fn until it succeeds, fails with an error retryable does not
// accept, ctx ends or timeout passes; then fn is tried once more (as
// terraform-provider-aws does) and its error returned.
func RetryWhen(ctx context.Context, timeout time.Duration, retryable func(error) bool, fn func() error) error {
	deadline := time.Now().Add(timeout)
	intervals := poll.Backoff{Interval: retryPollMin, Max: retryPollMax, Factor: 2}
	for {
		err := fn()
		if err == nil || !retryable(err) {
			return err
		}
		wait := intervals.Next()
		if time.Now().Add(wait).After(deadline) {
			return fn()
		}
		if cerr := poll.Sleep(ctx, wait); cerr != nil {
			return errors.Join(err, cerr)
		}
	}
}

func isMalformedPrincipal(err error) bool {
	var e *iamtypes.MalformedPolicyDocumentException
	return errors.As(err, &e) && strings.Contains(e.ErrorMessage(), "Invalid principal in policy")
}

func isConcurrentModification(err error) bool {
	var e *iamtypes.ConcurrentModificationException
	return errors.As(err, &e)
}

func isDeleteConflict(err error) bool {
	var e *iamtypes.DeleteConflictException
	return errors.As(err, &e)
}

// CreateRole creates a role, retrying the propagation errors IAM gives for a
// trust policy naming principals it does not see yet (notes/aws-behaviour.md#iam). A role
// this call created whose response was lost is adopted (idempotent.go).
func CreateRole(ctx context.Context, c *iam.Client, in *iam.CreateRoleInput) (*iamtypes.Role, error) {
	var role *iamtypes.Role
	err := RetryWhen(ctx, PropagationTimeout, func(err error) bool {
		return isMalformedPrincipal(err) || isConcurrentModification(err)
	}, func() error {
		r, err := createRoleOnce(ctx, c, in)
		if r != nil {
			role = r
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return role, nil
}

// retryRoleCall retries a call on a role that was just created (NoSuchEntity
// while IAM propagates) or is being modified concurrently.
func retryRoleCall(ctx context.Context, fn func() error) error {
	return RetryWhen(ctx, PropagationTimeout, func(err error) bool {
		var missing *MissingEntityError
		return isNoSuchEntity(err) && !errors.As(err, &missing) || isConcurrentModification(err)
	}, fn)
}

// PutInlinePolicy puts (creates or replaces) an inline policy of a role.
func PutInlinePolicy(ctx context.Context, c *iam.Client, role, name, doc string) error {
	return retryRoleCall(ctx, func() error {
		_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		return err
	})
}

// DeleteInlinePolicy deletes an inline policy; a missing one is not an error.
func DeleteInlinePolicy(ctx context.Context, c *iam.Client, role, name string) error {
	_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
	if isNoSuchEntity(err) {
		return nil
	}
	return err
}

// AttachPolicy attaches a managed policy to a role.
func AttachPolicy(ctx context.Context, c *iam.Client, role, policyARN string) error {
	return retryRoleCall(ctx, func() error {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(policyARN)})
		if missing := missingPolicy(ctx, c, policyARN, err); missing != nil {
			return missing // not retried: only the role is new
		}
		return err
	})
}

// DetachPolicy detaches a managed policy; a policy not attached is not an error.
func DetachPolicy(ctx context.Context, c *iam.Client, role, policyARN string) error {
	_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(policyARN)})
	if isNoSuchEntity(err) {
		return nil
	}
	return err
}

// DeleteRole deletes a role in the order IAM requires (notes/aws-behaviour.md#iam): remove it
// from its instance profiles, detach managed policies, delete inline policies,
// then delete it, retrying DeleteConflict (left by concurrent changes). A role
// that does not exist is not an error.
func DeleteRole(ctx context.Context, c *iam.Client, name string, timeout time.Duration) error {
	gone := func(err error) error {
		if isNoSuchEntity(err) {
			return nil
		}
		return err
	}
	pp := iam.NewListInstanceProfilesForRolePaginator(c, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String(name)})
	for pp.HasMorePages() {
		out, err := pp.NextPage(ctx)
		if err != nil {
			return gone(fmt.Errorf("listing instance profiles of IAM role %s: %w", name, err))
		}
		for _, p := range out.InstanceProfiles {
			if err := RemoveRoleFromInstanceProfile(ctx, c, aws.ToString(p.InstanceProfileName), name); err != nil {
				return err
			}
		}
	}
	ap := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	for ap.HasMorePages() {
		out, err := ap.NextPage(ctx)
		if err != nil {
			return gone(fmt.Errorf("listing managed policies of IAM role %s: %w", name, err))
		}
		for _, p := range out.AttachedPolicies {
			if err := DetachPolicy(ctx, c, name, aws.ToString(p.PolicyArn)); err != nil {
				return fmt.Errorf("detaching %s from IAM role %s: %w", aws.ToString(p.PolicyArn), name, err)
			}
		}
	}
	names, err := inlinePolicyNames(ctx, c, name)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, pn := range names {
		if err := DeleteInlinePolicy(ctx, c, name, pn); err != nil {
			return fmt.Errorf("deleting inline policy %s of IAM role %s: %w", pn, name, err)
		}
	}
	err = RetryWhen(ctx, timeout, isDeleteConflict, func() error {
		_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
		return err
	})
	if err := gone(err); err != nil {
		return fmt.Errorf("deleting IAM role %s: %w", name, err)
	}
	return nil
}
