package iamx

// Roles and instance profiles as plain Go values: what a caller wants
// (RoleSpec, ProfileSpec) and what IAM holds (RoleInfo, ProfileInfo). The
// functions here make every IAM call a resource needs, so callers never build
// SDK inputs.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// RoleInfo is what IAM holds of a role, without its policies.
type RoleInfo struct {
	Name, ARN, ID, Path, Description string
	// PermissionsBoundary is the ARN of the boundary policy, "" when none.
	PermissionsBoundary string
	// MaxSessionDuration is in seconds.
	MaxSessionDuration int
	// Tags leave out the create marker (CreateMarkerTag).
	Tags map[string]string
}

func roleInfo(r *iamtypes.Role) RoleInfo {
	info := RoleInfo{
		Name: aws.ToString(r.RoleName), ARN: aws.ToString(r.Arn), ID: aws.ToString(r.RoleId), Path: aws.ToString(r.Path),
		Description: aws.ToString(r.Description), MaxSessionDuration: int(aws.ToInt32(r.MaxSessionDuration)), Tags: tagMap(r.Tags),
	}
	if r.PermissionsBoundary != nil {
		info.PermissionsBoundary = aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
	}
	return info
}

// ProfileInfo is what IAM holds of an instance profile.
type ProfileInfo struct {
	Name, ARN, ID, Path string
	// Roles are the names of its roles (IAM allows one).
	Roles []string
	// Tags leave out the create marker (CreateMarkerTag).
	Tags map[string]string
}

func profileInfo(p *iamtypes.InstanceProfile) ProfileInfo {
	info := ProfileInfo{Name: aws.ToString(p.InstanceProfileName), ARN: aws.ToString(p.Arn), ID: aws.ToString(p.InstanceProfileId),
		Path: aws.ToString(p.Path), Tags: tagMap(p.Tags)}
	for _, r := range p.Roles {
		info.Roles = append(info.Roles, aws.ToString(r.RoleName))
	}
	return info
}

// tagMap is tags read from IAM as a map, without the create marker.
func tagMap(tags []iamtypes.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range WithoutMarker(tags) {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// tagList is a tag map as IAM takes it, sorted by key.
func tagList(m map[string]string) []iamtypes.Tag {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]iamtypes.Tag, len(keys))
	for i, k := range keys {
		out[i] = iamtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])}
	}
	return out
}

// LookupRole returns the role, or a NotFoundError.
func LookupRole(ctx context.Context, c *iam.Client, name string) (*RoleInfo, error) {
	r, err := FindRoleByName(ctx, c, name)
	if err != nil {
		return nil, err
	}
	info := roleInfo(r)
	return &info, nil
}

// LookupInstanceProfile returns the instance profile, or a NotFoundError.
func LookupInstanceProfile(ctx context.Context, c *iam.Client, name string) (*ProfileInfo, error) {
	p, err := FindInstanceProfileByName(ctx, c, name)
	if err != nil {
		return nil, err
	}
	info := profileInfo(p)
	return &info, nil
}

// RoleSpec is a role as its owner wants it.
type RoleSpec struct {
	Name, Path, Description string
	// PermissionsBoundary is the ARN of a managed policy, "" for none.
	PermissionsBoundary string
	// TrustPolicy is the assume-role policy document (JSON).
	TrustPolicy string
	// MaxSessionDuration is in seconds; 0 leaves IAM's default (3600).
	MaxSessionDuration int
	// InlinePolicies are documents by policy name.
	InlinePolicies map[string]string
	// ManagedPolicyARNs are the managed policies to attach.
	ManagedPolicyARNs []string
	Tags              map[string]string
}

func (s RoleSpec) createInput() *iam.CreateRoleInput {
	in := &iam.CreateRoleInput{RoleName: aws.String(s.Name), AssumeRolePolicyDocument: aws.String(s.TrustPolicy)}
	if s.Path != "" {
		in.Path = aws.String(s.Path)
	}
	if s.Description != "" {
		in.Description = aws.String(s.Description)
	}
	if s.PermissionsBoundary != "" {
		in.PermissionsBoundary = aws.String(s.PermissionsBoundary)
	}
	if s.MaxSessionDuration > 0 {
		in.MaxSessionDuration = aws.Int32(int32(s.MaxSessionDuration))
	}
	if len(s.Tags) > 0 {
		in.Tags = tagList(s.Tags)
	}
	return in
}

// CreateRoleFromSpec creates the role (CreateRole: a role this call created
// whose response was lost is adopted), puts its inline policies and attaches
// its managed policies. When a step after the creation fails, the role is
// returned with the error, so that the caller can record what exists.
func CreateRoleFromSpec(ctx context.Context, c *iam.Client, s RoleSpec) (*RoleInfo, error) {
	r, err := CreateRole(ctx, c, s.createInput())
	if err != nil {
		return nil, err
	}
	info := roleInfo(r)
	for _, name := range slices.Sorted(maps.Keys(s.InlinePolicies)) {
		if err := PutInlinePolicy(ctx, c, s.Name, name, s.InlinePolicies[name]); err != nil {
			return &info, fmt.Errorf("putting inline policy %s: %w", name, err)
		}
	}
	for _, a := range s.ManagedPolicyARNs {
		if err := AttachPolicy(ctx, c, s.Name, a); err != nil {
			return &info, fmt.Errorf("attaching %s: %w", a, err)
		}
	}
	return &info, nil
}

// UpdateRoleFromSpec changes the role named from.Name from what from says to
// what to says, one step per difference: description and session duration,
// permissions boundary, trust policy, inline policies, managed policies, tags.
// It stops at the first step that fails.
func UpdateRoleFromSpec(ctx context.Context, c *iam.Client, from, to RoleSpec) error {
	name := from.Name
	if from.Description != to.Description || from.MaxSessionDuration != to.MaxSessionDuration {
		if err := UpdateRoleSettings(ctx, c, name, to.Description, to.MaxSessionDuration); err != nil {
			return fmt.Errorf("updating the description and session duration: %w", err)
		}
	}
	if from.PermissionsBoundary != to.PermissionsBoundary {
		if err := SetPermissionsBoundary(ctx, c, name, to.PermissionsBoundary); err != nil {
			return fmt.Errorf("setting the permissions boundary: %w", err)
		}
	}
	if from.TrustPolicy != to.TrustPolicy {
		if err := SetTrustPolicy(ctx, c, name, to.TrustPolicy); err != nil {
			return fmt.Errorf("restoring the trust policy: %w", err)
		}
	}
	for _, pn := range slices.Sorted(maps.Keys(from.InlinePolicies)) {
		if _, keep := to.InlinePolicies[pn]; !keep {
			if err := DeleteInlinePolicy(ctx, c, name, pn); err != nil {
				return fmt.Errorf("deleting inline policy %s: %w", pn, err)
			}
		}
	}
	for _, pn := range slices.Sorted(maps.Keys(to.InlinePolicies)) {
		if doc, had := from.InlinePolicies[pn]; !had || doc != to.InlinePolicies[pn] {
			if err := PutInlinePolicy(ctx, c, name, pn, to.InlinePolicies[pn]); err != nil {
				return fmt.Errorf("putting inline policy %s: %w", pn, err)
			}
		}
	}
	for _, a := range to.ManagedPolicyARNs {
		if !slices.Contains(from.ManagedPolicyARNs, a) {
			if err := AttachPolicy(ctx, c, name, a); err != nil {
				return fmt.Errorf("attaching %s: %w", a, err)
			}
		}
	}
	for _, a := range from.ManagedPolicyARNs {
		if !slices.Contains(to.ManagedPolicyARNs, a) {
			if err := DetachPolicy(ctx, c, name, a); err != nil {
				return fmt.Errorf("detaching %s: %w", a, err)
			}
		}
	}
	return SyncRoleTags(ctx, c, name, from.Tags, to.Tags)
}

// UpdateRoleSettings sets the role's description ("" clears it) and maximum
// session duration in seconds (0: IAM's default).
func UpdateRoleSettings(ctx context.Context, c *iam.Client, role, description string, maxSessionDuration int) error {
	in := &iam.UpdateRoleInput{RoleName: aws.String(role), Description: aws.String(description)}
	if maxSessionDuration > 0 {
		in.MaxSessionDuration = aws.Int32(int32(maxSessionDuration))
	}
	_, err := c.UpdateRole(ctx, in)
	return err
}

// SetPermissionsBoundary puts the managed policy policyARN as the role's
// permissions boundary, or removes the boundary when policyARN is "".
func SetPermissionsBoundary(ctx context.Context, c *iam.Client, role, policyARN string) error {
	if policyARN == "" {
		_, err := c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String(role)})
		return err
	}
	_, err := c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String(role), PermissionsBoundary: aws.String(policyARN)})
	return err
}

// SetTrustPolicy replaces the role's trust (assume-role) policy.
func SetTrustPolicy(ctx context.Context, c *iam.Client, role, doc string) error {
	_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(doc)})
	return err
}

// SyncRoleTags changes the role's tags from those in from to those in to.
func SyncRoleTags(ctx context.Context, c *iam.Client, role string, from, to map[string]string) error {
	return syncTags(from, to, func(keys []string) error {
		_, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(role), TagKeys: keys})
		return err
	}, func(tags []iamtypes.Tag) error {
		_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(role), Tags: tags})
		return err
	})
}

// SyncProfileTags changes the instance profile's tags from those in from to
// those in to.
func SyncProfileTags(ctx context.Context, c *iam.Client, profile string, from, to map[string]string) error {
	return syncTags(from, to, func(keys []string) error {
		_, err := c.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: aws.String(profile), TagKeys: keys})
		return err
	}, func(tags []iamtypes.Tag) error {
		_, err := c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String(profile), Tags: tags})
		return err
	})
}

// syncTags is the one tag update of roles and instance profiles: untag the keys
// that are gone, then tag what is new or changed.
func syncTags(from, to map[string]string, untag func([]string) error, tag func([]iamtypes.Tag) error) error {
	set, remove := TagChanges(from, to)
	if len(remove) > 0 {
		if err := untag(remove); err != nil {
			return fmt.Errorf("removing tags: %w", err)
		}
	}
	if len(set) > 0 {
		if err := tag(tagList(set)); err != nil {
			return fmt.Errorf("setting tags: %w", err)
		}
	}
	return nil
}

// TagChanges are the tags to set and the keys (sorted) to remove to go from
// tags from to tags to.
func TagChanges(from, to map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range to {
		if ov, ok := from[k]; !ok || ov != v {
			set[k] = v
		}
	}
	for k := range from {
		if _, ok := to[k]; !ok {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	return set, remove
}

// ProfileSpec is an instance profile as its owner wants it.
type ProfileSpec struct {
	Name, Path string
	// Role is the name of the one role the profile holds.
	Role string
	Tags map[string]string
}

// CreateProfileFromSpec creates the instance profile (CreateInstanceProfile: a
// profile this call created whose response was lost is adopted), waits until
// IAM shows it, adds the role, and waits until the profile is ready for EC2
// (WaitInstanceProfileReady); each wait is bounded by timeout. When a step
// after the creation fails, the profile is returned with the error, so that the
// caller can record what exists.
func CreateProfileFromSpec(ctx context.Context, c *iam.Client, s ProfileSpec, timeout time.Duration) (*ProfileInfo, error) {
	in := &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(s.Name)}
	if s.Path != "" {
		in.Path = aws.String(s.Path)
	}
	if len(s.Tags) > 0 {
		in.Tags = tagList(s.Tags)
	}
	p, err := CreateInstanceProfile(ctx, c, in)
	if err != nil {
		return nil, err
	}
	info := profileInfo(p)
	if err := WaitInstanceProfileExists(ctx, c, s.Name, timeout); err != nil {
		return &info, fmt.Errorf("waiting for the new profile to be visible: %w", err)
	}
	if err := AddRoleToInstanceProfile(ctx, c, s.Name, s.Role); err != nil {
		return &info, fmt.Errorf("adding role %s: %w", s.Role, err)
	}
	ready, err := WaitInstanceProfileReady(ctx, c, s.Name, timeout)
	if err != nil {
		return &info, fmt.Errorf("waiting for the profile to be ready for EC2 (timeout %s): %w", timeout, err)
	}
	info = profileInfo(ready)
	return &info, nil
}

// UpdateProfileFromSpec changes the instance profile named from.Name from what
// from says to what to says: it swaps the role (adding the new one is retried
// while IAM propagates, up to timeout), then the tags.
func UpdateProfileFromSpec(ctx context.Context, c *iam.Client, from, to ProfileSpec, timeout time.Duration) error {
	name := from.Name
	if from.Role != to.Role {
		if from.Role != "" {
			if err := RemoveRoleFromInstanceProfile(ctx, c, name, from.Role); err != nil {
				return err
			}
		}
		actx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := AddRoleToInstanceProfile(actx, c, name, to.Role); err != nil {
			return fmt.Errorf("adding role %s: %w", to.Role, err)
		}
	}
	return SyncProfileTags(ctx, c, name, from.Tags, to.Tags)
}
