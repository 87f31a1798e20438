package iamx

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// MissingEntityError: an IAM object the configuration names, and that this
// apply did not create, does not exist. NoSuchEntity is retried only for what
// the apply just created (eventual consistency); for this it is final.
type MissingEntityError struct {
	Kind, Name string
	Err        error
}

func (e *MissingEntityError) Error() string {
	return fmt.Sprintf("IAM %s %s does not exist (NoSuchEntity): check the name or ARN, or create it first", e.Kind, e.Name)
}

// Unwrap returns the IAM error.
func (e *MissingEntityError) Unwrap() error { return e.Err }

// missingPolicy: after AttachRolePolicy answered NoSuchEntity, is it the
// managed policy (not the just-created role) that does not exist?
func missingPolicy(ctx context.Context, c *iam.Client, policyARN string, err error) error {
	if !isNoSuchEntity(err) {
		return nil
	}
	if _, gerr := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policyARN)}); isNoSuchEntity(gerr) {
		return &MissingEntityError{Kind: "managed policy", Name: policyARN, Err: gerr}
	}
	return nil
}

// missingRole: after AddRoleToInstanceProfile answered NoSuchEntity, is it the
// role (not the just-created profile) that does not exist?
func missingRole(ctx context.Context, c *iam.Client, role string, err error) error {
	if !isNoSuchEntity(err) {
		return nil
	}
	if _, gerr := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); isNoSuchEntity(gerr) {
		return &MissingEntityError{Kind: "role", Name: role, Err: gerr}
	}
	return nil
}
