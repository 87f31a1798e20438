package iamx

// Creating IAM objects and associations when a response can be lost: the SDK
// retries a call whose response never came, and the retry finds the object the
// first attempt created (EntityAlreadyExists, LimitExceeded, IncorrectState).
// Objects are adopted only when this very call created them, recognised by a
// marker tag with a random token, never by name alone. See
// notes/aws-behaviour.md#retries-deadlines-and-lost-responses.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// CreateMarkerTag is the tag key a role or instance profile carries between
// its creation and the end of the create call. Reads never report it.
const CreateMarkerTag = "terraform-ssm:create-token"

// maxTags is IAM's limit of tags per role or instance profile; a create that
// uses them all has no room for the marker and goes without.
const maxTags = 50

func newCreateToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// withMarker returns tags plus the marker, or tags alone when there is no room.
func withMarker(tags []iamtypes.Tag, token string) ([]iamtypes.Tag, bool) {
	if len(tags) >= maxTags {
		return tags, false
	}
	out := append([]iamtypes.Tag{}, tags...)
	return append(out, iamtypes.Tag{Key: aws.String(CreateMarkerTag), Value: aws.String(token)}), true
}

func hasMarker(tags []iamtypes.Tag, token string) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == CreateMarkerTag && aws.ToString(t.Value) == token {
			return true
		}
	}
	return false
}

// WithoutMarker drops the marker tag from tags read from IAM.
func WithoutMarker(tags []iamtypes.Tag) []iamtypes.Tag {
	var out []iamtypes.Tag
	for _, t := range tags {
		if aws.ToString(t.Key) != CreateMarkerTag {
			out = append(out, t)
		}
	}
	return out
}

// IsAlreadyExists reports whether err is (or wraps) IAM's EntityAlreadyExists.
// CreateRole and CreateInstanceProfile return it only for an entity of that
// name that they did not create.
func IsAlreadyExists(err error) bool {
	var e *iamtypes.EntityAlreadyExistsException
	return errors.As(err, &e)
}

// outcomeUnknown: the call may have acted although it failed. No response came
// (the connection ended: the SDK's last attempt was lost too), or the service
// answered 5xx. An error response below 500 means it did not act.
func outcomeUnknown(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 { // 0: no response at all
		return re.HTTPStatusCode() >= 500
	}
	return true
}

// createRoleOnce creates the role, tagged with a fresh marker. When a retry
// after a lost response finds the role (EntityAlreadyExists), the role is
// adopted if it carries this call's marker; otherwise it is somebody else's and
// the error stands. The marker is removed once the role is ours.
func createRoleOnce(ctx context.Context, c *iam.Client, in *iam.CreateRoleInput) (*iamtypes.Role, error) {
	token := newCreateToken()
	tagged := *in
	var marked bool
	tagged.Tags, marked = withMarker(in.Tags, token)
	out, err := c.CreateRole(ctx, &tagged)
	var role *iamtypes.Role
	switch {
	case err == nil:
		role = out.Role
	case marked && (IsAlreadyExists(err) || outcomeUnknown(err)):
		r, gerr := FindRoleByName(ctx, c, aws.ToString(in.RoleName))
		if gerr != nil || !hasMarker(r.Tags, token) {
			return nil, err
		}
		role = r
	default:
		return nil, err
	}
	if marked {
		// Best effort: a marker left behind is harmless (reads drop it), and
		// failing here would orphan the role.
		_ = retryRoleCall(ctx, func() error {
			_, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: in.RoleName, TagKeys: []string{CreateMarkerTag}})
			return err
		})
		role.Tags = WithoutMarker(role.Tags)
	}
	return role, nil
}

// CreateInstanceProfile creates an instance profile as createRoleOnce creates a
// role: a retry after a lost response adopts the profile this call created,
// and only that one.
func CreateInstanceProfile(ctx context.Context, c *iam.Client, in *iam.CreateInstanceProfileInput) (*iamtypes.InstanceProfile, error) {
	token := newCreateToken()
	tagged := *in
	var marked bool
	tagged.Tags, marked = withMarker(in.Tags, token)
	out, err := c.CreateInstanceProfile(ctx, &tagged)
	var p *iamtypes.InstanceProfile
	switch {
	case err == nil:
		p = out.InstanceProfile
	case marked && (IsAlreadyExists(err) || outcomeUnknown(err)):
		found, gerr := FindInstanceProfileByName(ctx, c, aws.ToString(in.InstanceProfileName))
		if gerr != nil || !hasMarker(found.Tags, token) {
			return nil, err
		}
		p = found
	default:
		return nil, err
	}
	if marked {
		_ = retryRoleCall(ctx, func() error { // best effort, as for roles
			_, err := c.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: in.InstanceProfileName, TagKeys: []string{CreateMarkerTag}})
			return err
		})
		p.Tags = WithoutMarker(p.Tags)
	}
	return p, nil
}

// roleAlreadyInProfile: AddRoleToInstanceProfile failed with the profile's
// one-role quota (a retry after a lost response) or with no answer, and the
// role in the profile is the one being added: done.
func roleAlreadyInProfile(ctx context.Context, c *iam.Client, profile, role string, err error) bool {
	var le *iamtypes.LimitExceededException
	if !errors.As(err, &le) && !outcomeUnknown(err) {
		return false
	}
	p, ferr := FindInstanceProfileByName(ctx, c, profile)
	return ferr == nil && len(p.Roles) == 1 && aws.ToString(p.Roles[0].RoleName) == role
}

// alreadyAssociated: an Associate or Replace call failed with IncorrectState
// ("existing association", "not the active association": a retry after a lost
// response) or with no answer, and the instance's active association is the
// requested profile: that association counts as done.
func alreadyAssociated(ctx context.Context, c *ec2.Client, instanceID, profile string, err error) (*ec2types.IamInstanceProfileAssociation, bool) {
	m := errorMessage(err)
	incorrect := errorCode(err) == "IncorrectState" &&
		(strings.Contains(m, "existing association") || strings.Contains(m, "not the active association"))
	if !incorrect && !outcomeUnknown(err) {
		return nil, false
	}
	cur, ferr := FindAssociationByInstanceID(ctx, c, instanceID)
	if ferr != nil || cur.IamInstanceProfile == nil || !ProfileMatches(aws.ToString(cur.IamInstanceProfile.Arn), profile) {
		return nil, false
	}
	return cur, true
}

// associateOnce is AssociateIamInstanceProfile, where an identical active
// association found after a lost response counts as done.
func associateOnce(ctx context.Context, c *ec2.Client, instanceID, profile string) (string, error) {
	out, err := c.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{
		InstanceId: aws.String(instanceID), IamInstanceProfile: profileSpec(profile)})
	if err == nil {
		return aws.ToString(out.IamInstanceProfileAssociation.AssociationId), nil
	}
	if cur, ok := alreadyAssociated(ctx, c, instanceID, profile, err); ok {
		return aws.ToString(cur.AssociationId), nil
	}
	return "", err
}

// replaceOnce is ReplaceIamInstanceProfileAssociation, with the same rule.
func replaceOnce(ctx context.Context, c *ec2.Client, instanceID, associationID, profile string) (string, error) {
	out, err := c.ReplaceIamInstanceProfileAssociation(ctx, &ec2.ReplaceIamInstanceProfileAssociationInput{
		AssociationId: aws.String(associationID), IamInstanceProfile: profileSpec(profile)})
	if err == nil {
		return aws.ToString(out.IamInstanceProfileAssociation.AssociationId), nil
	}
	if cur, ok := alreadyAssociated(ctx, c, instanceID, profile, err); ok {
		return aws.ToString(cur.AssociationId), nil
	}
	return "", err
}
