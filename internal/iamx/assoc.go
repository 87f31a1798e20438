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

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

var assocPoll = time.Second

// ExistingAssociationError says the instance already has another profile and
// replacing it was not allowed.
type ExistingAssociationError struct {
	InstanceID, AssociationID, ProfileARN string
}

func (e *ExistingAssociationError) Error() string {
	return fmt.Sprintf("instance %s already has instance profile %s (association %s)", e.InstanceID, e.ProfileARN, e.AssociationID)
}

// isProfilePropagation matches EC2's errors for a profile IAM has not
// propagated yet (notes/aws-behaviour.md#iam).
func isProfilePropagation(err error) bool {
	if errorCode(err) != "InvalidParameterValue" {
		return false
	}
	m := errorMessage(err)
	return strings.Contains(m, "Invalid IAM Instance Profile") || strings.Contains(m, "has no associated IAM Roles")
}

// ProfileMatches reports whether an association's profile ARN is the profile
// named by want (a name or an ARN).
func ProfileMatches(profileARN, want string) bool {
	if strings.HasPrefix(want, "arn:") {
		return profileARN == want
	}
	return ProfileNameFromARN(profileARN) == want
}

// AssociationProfileARN is the ARN of the association's instance profile, ""
// when a is nil or names none.
func AssociationProfileARN(a *ec2types.IamInstanceProfileAssociation) string {
	if a == nil || a.IamInstanceProfile == nil {
		return ""
	}
	return aws.ToString(a.IamInstanceProfile.Arn)
}

func profileSpec(p string) *ec2types.IamInstanceProfileSpecification {
	if strings.HasPrefix(p, "arn:") {
		return &ec2types.IamInstanceProfileSpecification{Arn: aws.String(p)}
	}
	return &ec2types.IamInstanceProfileSpecification{Name: aws.String(p)}
}

func instanceState(ctx context.Context, c *ec2.Client, id string) (ec2types.InstanceStateName, error) {
	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if strings.HasPrefix(errorCode(err), "InvalidInstanceID") {
			return "", &NotFoundError{Kind: "EC2 instance", Name: id, Err: err}
		}
		return "", fmt.Errorf("describing instance %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) == id && i.State != nil {
				return i.State.Name, nil
			}
		}
	}
	return "", &NotFoundError{Kind: "EC2 instance", Name: id}
}

// Associate gives the instance the profile (name or ARN) and waits until the
// association is associated. An existing association with another profile is
// replaced when replace is true (Replace for running instances; disassociate
// and associate for stopped ones, as terraform-provider-aws does), else an
// ExistingAssociationError. EC2's propagation errors for new profiles are
// retried until timeout.
func Associate(ctx context.Context, c *ec2.Client, instanceID, profile string, replace bool, timeout time.Duration) (*ec2types.IamInstanceProfileAssociation, error) {
	a, _, err := AssociateReplacing(ctx, c, instanceID, profile, replace, timeout)
	return a, err
}

// AssociateReplacing is Associate that also returns the ARN of the profile it
// replaced ("" when the instance had none, or already had profile), so that
// RestoreProfile can put it back.
func AssociateReplacing(ctx context.Context, c *ec2.Client, instanceID, profile string, replace bool, timeout time.Duration) (*ec2types.IamInstanceProfileAssociation, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	remaining := func() time.Duration { return time.Until(deadline) }

	cur, err := FindAssociationByInstanceID(ctx, c, instanceID)
	if err != nil && !IsNotFound(err) {
		return nil, "", err
	}
	if cur != nil && cur.IamInstanceProfile != nil && ProfileMatches(aws.ToString(cur.IamInstanceProfile.Arn), profile) {
		a, err := WaitAssociated(ctx, c, instanceID, aws.ToString(cur.AssociationId), remaining())
		return a, "", err
	}
	if cur != nil && !replace {
		arnStr := ""
		if cur.IamInstanceProfile != nil {
			arnStr = aws.ToString(cur.IamInstanceProfile.Arn)
		}
		return nil, "", &ExistingAssociationError{InstanceID: instanceID, AssociationID: aws.ToString(cur.AssociationId), ProfileARN: arnStr}
	}
	previous := AssociationProfileARN(cur)
	if cur != nil {
		state, err := instanceState(ctx, c, instanceID)
		if err != nil {
			return nil, "", err
		}
		if state != ec2types.InstanceStateNameRunning {
			// Replace works on running instances only (notes/aws-behaviour.md#ec2-instance-profile-associations).
			if err := disassociate(ctx, c, instanceID, aws.ToString(cur.AssociationId), remaining()); err != nil {
				return nil, "", err
			}
			cur = nil
		}
	}
	var id string
	err = RetryWhen(ctx, remaining(), isProfilePropagation, func() error {
		// An identical association found after a lost response is done (idempotent.go).
		var err error
		if cur != nil {
			id, err = replaceOnce(ctx, c, instanceID, aws.ToString(cur.AssociationId), profile)
		} else {
			id, err = associateOnce(ctx, c, instanceID, profile)
		}
		return err
	})
	if err != nil {
		verb := "associating"
		if cur != nil {
			verb = "replacing the association of"
		}
		return nil, "", fmt.Errorf("%s instance profile %s with instance %s: %w", verb, profile, instanceID, err)
	}
	a, err := WaitAssociated(ctx, c, instanceID, id, remaining())
	return a, previous, err
}

// WaitAssociated polls until the association is associated.
func WaitAssociated(ctx context.Context, c *ec2.Client, instanceID, associationID string, timeout time.Duration) (*ec2types.IamInstanceProfileAssociation, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		out, err := c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{AssociationIds: []string{associationID}})
		if err != nil && errorCode(err) != "InvalidAssociationID.NotFound" {
			return nil, fmt.Errorf("waiting for association %s of instance %s: %w", associationID, instanceID, err)
		}
		if err == nil {
			for i := range out.IamInstanceProfileAssociations {
				a := out.IamInstanceProfileAssociations[i]
				switch a.State {
				case ec2types.IamInstanceProfileAssociationStateAssociated:
					return &a, nil
				case ec2types.IamInstanceProfileAssociationStateDisassociating, ec2types.IamInstanceProfileAssociationStateDisassociated:
					return nil, fmt.Errorf("association %s of instance %s is %s while waiting for associated", associationID, instanceID, a.State)
				}
			}
		}
		if err := poll.Sleep(ctx, assocPoll); err != nil {
			return nil, fmt.Errorf("waiting for association %s of instance %s to be associated: %w", associationID, instanceID, err)
		}
	}
}

// Disassociate removes the instance's association, if any, and waits until it
// is gone.
func Disassociate(ctx context.Context, c *ec2.Client, instanceID string, timeout time.Duration) error {
	cur, err := FindAssociationByInstanceID(ctx, c, instanceID)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return disassociate(ctx, c, instanceID, aws.ToString(cur.AssociationId), timeout)
}

func disassociate(ctx context.Context, c *ec2.Client, instanceID, associationID string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := c.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String(associationID)})
	if err != nil && errorCode(err) != "InvalidAssociationID.NotFound" {
		return fmt.Errorf("disassociating %s from instance %s: %w", associationID, instanceID, err)
	}
	for {
		out, err := c.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{
			{Name: aws.String("instance-id"), Values: []string{instanceID}}}})
		if err != nil {
			return fmt.Errorf("waiting for association %s of instance %s to go: %w", associationID, instanceID, err)
		}
		still := false
		for _, a := range out.IamInstanceProfileAssociations {
			if aws.ToString(a.AssociationId) == associationID && a.State != ec2types.IamInstanceProfileAssociationStateDisassociated {
				still = true
			}
		}
		if !still {
			return nil
		}
		if err := poll.Sleep(ctx, assocPoll); err != nil {
			return errors.Join(fmt.Errorf("waiting for association %s of instance %s to go", associationID, instanceID), err)
		}
	}
}

// ProfileGoneError says the profile RestoreProfile was to put back cannot be
// associated any more: it was deleted, or holds no role (EC2 refuses a profile
// without a role).
type ProfileGoneError struct {
	ProfileARN, Reason string
}

func (e *ProfileGoneError) Error() string {
	return fmt.Sprintf("instance profile %s %s", e.ProfileARN, e.Reason)
}

// RestoreProfile puts profileARN back on the instance, replacing the instance's
// current association (a Replace on running instances, disassociate and
// associate on stopped ones). When the profile no longer exists or holds no
// role, the current association is removed and a ProfileGoneError returned: the
// instance is left without a profile. An instance that is gone is not an error
// (nothing to restore on).
func RestoreProfile(ctx context.Context, c *ec2.Client, ic *iam.Client, instanceID, profileARN string, timeout time.Duration) error {
	if _, err := instanceState(ctx, c, instanceID); IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	p, err := LookupInstanceProfile(ctx, ic, ProfileNameFromARN(profileARN))
	var gone *ProfileGoneError
	switch {
	case IsNotFound(err):
		gone = &ProfileGoneError{ProfileARN: profileARN, Reason: "no longer exists"}
	case err != nil:
		return fmt.Errorf("reading instance profile %s to put it back on instance %s: %w", profileARN, instanceID, err)
	case p.ARN != profileARN:
		// Same name, another path: a different profile than the one replaced.
		gone = &ProfileGoneError{ProfileARN: profileARN, Reason: fmt.Sprintf("no longer exists (a profile of that name now has the ARN %s)", p.ARN)}
	case len(p.Roles) == 0:
		gone = &ProfileGoneError{ProfileARN: profileARN, Reason: "holds no role, and EC2 associates only profiles with a role"}
	}
	if gone != nil {
		if err := Disassociate(ctx, c, instanceID, timeout); err != nil {
			return errors.Join(gone, err)
		}
		return gone
	}
	_, err = Associate(ctx, c, instanceID, profileARN, true, timeout)
	return err
}
