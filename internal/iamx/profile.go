package iamx

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// The instance-profile readiness wait of terraform-provider-aws (notes/aws-behaviour.md#iam):
// after a first delay, the profile must be found (with a valid ARN) on
// ProfileReadyChecks consecutive polls; more than profileNotFoundChecks
// consecutive misses fail the wait.
var (
	ProfileReadyDelay     = 5 * time.Second
	ProfileReadyChecks    = 3
	profileNotFoundChecks = 5
	profileReadyPoll      = time.Second
)

// AddRoleToInstanceProfile adds the role to the profile, retrying while IAM does
// not yet see a new role or profile. The profile's one-role quota error with
// that very role in it (a retry after a lost response) is success.
func AddRoleToInstanceProfile(ctx context.Context, c *iam.Client, profile, role string) error {
	return retryRoleCall(ctx, func() error {
		_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(profile), RoleName: aws.String(role)})
		if err != nil && roleAlreadyInProfile(ctx, c, profile, role, err) {
			return nil
		}
		if missing := missingRole(ctx, c, role, err); missing != nil {
			return missing // not retried: only the profile is new
		}
		return err
	})
}

// RemoveRoleFromInstanceProfile removes the role; a role or profile that is
// gone is not an error.
func RemoveRoleFromInstanceProfile(ctx context.Context, c *iam.Client, profile, role string) error {
	_, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String(profile), RoleName: aws.String(role)})
	if err != nil && !isNoSuchEntity(err) {
		return fmt.Errorf("removing IAM role %s from instance profile %s: %w", role, profile, err)
	}
	return nil
}

// WaitInstanceProfileExists waits until GetInstanceProfile finds a profile just
// created (the SDK's InstanceProfileExists waiter: retry on NoSuchEntity).
func WaitInstanceProfileExists(ctx context.Context, c *iam.Client, name string, timeout time.Duration) error {
	w := iam.NewInstanceProfileExistsWaiter(c, func(o *iam.InstanceProfileExistsWaiterOptions) {
		o.MinDelay = time.Second
		o.MaxDelay = 5 * time.Second
	})
	return w.Wait(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)}, timeout)
}

// WaitInstanceProfileReady waits until the profile is consistently visible,
// which is when EC2 starts to accept it (about 10 s after creation; the
// association also retries EC2's "Invalid IAM Instance Profile" error).
func WaitInstanceProfileReady(ctx context.Context, c *iam.Client, name string, timeout time.Duration) (*iamtypes.InstanceProfile, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := poll.Sleep(ctx, ProfileReadyDelay); err != nil {
		return nil, fmt.Errorf("waiting for IAM instance profile %s to be ready: %w", name, err)
	}
	found, missed := 0, 0
	for {
		p, err := FindInstanceProfileByName(ctx, c, name)
		switch {
		case IsNotFound(err):
			found = 0
			missed++
			if missed > profileNotFoundChecks {
				return nil, err
			}
		case err != nil:
			return nil, err
		default:
			missed = 0
			if _, perr := arn.Parse(aws.ToString(p.Arn)); perr == nil {
				found++
			} else {
				found = 0
			}
			if found >= ProfileReadyChecks {
				return p, nil
			}
		}
		if err := poll.Sleep(ctx, profileReadyPoll); err != nil {
			return nil, fmt.Errorf("waiting for IAM instance profile %s to be ready: %w", name, err)
		}
	}
}

// DeleteInstanceProfile removes the profile's roles and deletes it, retrying
// DeleteConflict. A profile that does not exist is not an error.
func DeleteInstanceProfile(ctx context.Context, c *iam.Client, name string, timeout time.Duration) error {
	p, err := FindInstanceProfileByName(ctx, c, name)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, r := range p.Roles {
		if err := RemoveRoleFromInstanceProfile(ctx, c, name, aws.ToString(r.RoleName)); err != nil {
			return err
		}
	}
	err = RetryWhen(ctx, timeout, isDeleteConflict, func() error {
		_, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)})
		return err
	})
	if err != nil && !isNoSuchEntity(err) {
		return fmt.Errorf("deleting IAM instance profile %s: %w", name, err)
	}
	return nil
}
