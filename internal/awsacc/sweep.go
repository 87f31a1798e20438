package awsacc

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// Leftovers are the resources of a run (or of every run) that still exist.
// Terminated instances are not leftovers (AWS lists them for about an hour).
type Leftovers struct {
	Instances []string `json:"instances"`
	Roles     []string `json:"roles"`
	Profiles  []string `json:"instance_profiles"`
	Buckets   []string `json:"buckets"`
	Documents []string `json:"documents"`
}

// Empty reports whether nothing is left.
func (l Leftovers) Empty() bool {
	return len(l.Instances)+len(l.Roles)+len(l.Profiles)+len(l.Buckets)+len(l.Documents) == 0
}

func (l Leftovers) String() string {
	var parts []string
	add := func(kind string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", kind, strings.Join(v, ", ")))
		}
	}
	add("instances", l.Instances)
	add("roles", l.Roles)
	add("instance profiles", l.Profiles)
	add("buckets", l.Buckets)
	add("documents", l.Documents)
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

// ofRun reports whether a tag value or a name belongs to runID ("" = any run).
func ofRun(runID, tagValue string) bool { return runID == "" || tagValue == runID }

func namePrefix(runID string) string {
	if runID == "" {
		return NamePrefix
	}
	return NamePrefix + runID + "-"
}

// liveInstances lists the run's instances that are not shutting down or terminated.
func liveInstances(ctx context.Context, c Clients, runID string) ([]string, error) {
	filters := []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}}
	if runID == "" {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag-key"), Values: []string{TagKey}})
	} else {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + TagKey), Values: []string{runID}})
	}
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{Filters: filters})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the run's instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
		}
	}
	return ids, nil
}

// anyLiveInstances lists every instance that is not shutting down or terminated.
func anyLiveInstances(ctx context.Context, c Clients) ([]string, error) {
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
		}
	}
	return ids, nil
}

// Find lists what exists of runID's resources ("" = every run of the lane).
func Find(ctx context.Context, c Clients, runID string) (Leftovers, error) {
	return find(ctx, c, runID, false)
}

// FindAny lists every live instance, role, instance profile, bucket and
// document of the caller's own in the account and region, the lane's or not:
// for checking that an emulator is empty after a run. On AWS it lists what the
// account holds.
func FindAny(ctx context.Context, c Clients) (Leftovers, error) {
	return find(ctx, c, "", true)
}

func find(ctx context.Context, c Clients, runID string, anything bool) (Leftovers, error) {
	var l Leftovers
	var err error
	if anything {
		l.Instances, err = anyLiveInstances(ctx, c)
	} else {
		l.Instances, err = liveInstances(ctx, c, runID)
	}
	if err != nil {
		return l, err
	}
	path := IAMPath
	if anything {
		path = "/"
	}
	roles := iam.NewListRolesPaginator(c.IAM, &iam.ListRolesInput{PathPrefix: aws.String(path)})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return l, fmt.Errorf("listing roles under %s: %w", IAMPath, err)
		}
		for _, r := range page.Roles {
			if anything {
				l.Roles = append(l.Roles, aws.ToString(r.RoleName))
				continue
			}
			tags, err := c.IAM.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: r.RoleName})
			if err != nil {
				return l, fmt.Errorf("reading the tags of role %s: %w", aws.ToString(r.RoleName), err)
			}
			for _, t := range tags.Tags {
				if aws.ToString(t.Key) == TagKey && ofRun(runID, aws.ToString(t.Value)) {
					l.Roles = append(l.Roles, aws.ToString(r.RoleName))
				}
			}
		}
	}
	profiles := iam.NewListInstanceProfilesPaginator(c.IAM, &iam.ListInstanceProfilesInput{PathPrefix: aws.String(path)})
	for profiles.HasMorePages() {
		page, err := profiles.NextPage(ctx)
		if err != nil {
			return l, fmt.Errorf("listing instance profiles under %s: %w", IAMPath, err)
		}
		for _, p := range page.InstanceProfiles {
			if anything {
				l.Profiles = append(l.Profiles, aws.ToString(p.InstanceProfileName))
				continue
			}
			tags, err := c.IAM.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: p.InstanceProfileName})
			if err != nil {
				return l, fmt.Errorf("reading the tags of instance profile %s: %w", aws.ToString(p.InstanceProfileName), err)
			}
			for _, t := range tags.Tags {
				if aws.ToString(t.Key) == TagKey && ofRun(runID, aws.ToString(t.Value)) {
					l.Profiles = append(l.Profiles, aws.ToString(p.InstanceProfileName))
				}
			}
		}
	}
	// Buckets have no tag the lane relies on (tagging a bucket needs a
	// permission of its own): they are the run's by name.
	buckets, err := c.S3.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return l, fmt.Errorf("listing buckets: %w", err)
	}
	for _, b := range buckets.Buckets {
		if anything || strings.HasPrefix(aws.ToString(b.Name), namePrefix(runID)) {
			l.Buckets = append(l.Buckets, aws.ToString(b.Name))
		}
	}
	docs := ssm.NewListDocumentsPaginator(c.SSM, &ssm.ListDocumentsInput{
		Filters: []ssmtypes.DocumentKeyValuesFilter{{Key: aws.String("Owner"), Values: []string{"Self"}}},
	})
	for docs.HasMorePages() {
		page, err := docs.NextPage(ctx)
		if err != nil {
			return l, fmt.Errorf("listing documents: %w", err)
		}
		for _, d := range page.DocumentIdentifiers {
			if anything || strings.Contains(aws.ToString(d.Name), namePrefix(runID)) {
				l.Documents = append(l.Documents, aws.ToString(d.Name))
			}
		}
	}
	sort.Strings(l.Roles)
	sort.Strings(l.Profiles)
	return l, nil
}

// Sweep deletes runID's resources ("" = every run of the lane): instances are
// terminated, roles and instance profiles emptied and deleted, buckets emptied
// and deleted, documents deleted. It returns what it found and the first error
// (it goes on with the rest after one). Run it again until Find is empty.
func Sweep(ctx context.Context, c Clients, runID string) (Leftovers, error) {
	l, err := Find(ctx, c, runID)
	if err != nil {
		return l, err
	}
	var errs []error
	if len(l.Instances) > 0 {
		if _, err := c.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: l.Instances}); err != nil {
			errs = append(errs, fmt.Errorf("terminating %v: %w", l.Instances, err))
		}
	}
	for _, p := range l.Profiles {
		errs = append(errs, deleteProfile(ctx, c, p))
	}
	for _, r := range l.Roles {
		errs = append(errs, deleteRole(ctx, c, r))
	}
	for _, b := range l.Buckets {
		errs = append(errs, deleteBucket(ctx, c, b))
	}
	for _, d := range l.Documents {
		if _, err := c.SSM.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String(d)}); err != nil && !notFound(err) {
			errs = append(errs, fmt.Errorf("deleting document %s: %w", d, err))
		}
	}
	return l, errors.Join(errs...)
}

func notFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "NoSuchEntity", "NoSuchBucket", "InvalidDocument", "InvalidInstanceID.NotFound":
		return true
	}
	return false
}

func deleteProfile(ctx context.Context, c Clients, name string) error {
	p, err := c.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("reading instance profile %s: %w", name, err)
	}
	for _, r := range p.InstanceProfile.Roles {
		if _, err := c.IAM.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
			InstanceProfileName: aws.String(name), RoleName: r.RoleName,
		}); err != nil && !notFound(err) {
			return fmt.Errorf("removing role %s from instance profile %s: %w", aws.ToString(r.RoleName), name, err)
		}
	}
	if _, err := c.IAM.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil && !notFound(err) {
		return fmt.Errorf("deleting instance profile %s: %w", name, err)
	}
	return nil
}

func deleteRole(ctx context.Context, c Clients, name string) error {
	profiles, err := c.IAM.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String(name)})
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("listing the instance profiles of role %s: %w", name, err)
	}
	for _, p := range profiles.InstanceProfiles {
		if _, err := c.IAM.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{
			InstanceProfileName: p.InstanceProfileName, RoleName: aws.String(name),
		}); err != nil && !notFound(err) {
			return fmt.Errorf("removing role %s from instance profile %s: %w", name, aws.ToString(p.InstanceProfileName), err)
		}
	}
	attached, err := c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil && !notFound(err) {
		return fmt.Errorf("listing the policies of role %s: %w", name, err)
	}
	if attached != nil {
		for _, p := range attached.AttachedPolicies {
			if _, err := c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: p.PolicyArn}); err != nil && !notFound(err) {
				return fmt.Errorf("detaching %s from role %s: %w", aws.ToString(p.PolicyArn), name, err)
			}
		}
	}
	inline, err := c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil && !notFound(err) {
		return fmt.Errorf("listing the inline policies of role %s: %w", name, err)
	}
	if inline != nil {
		for _, p := range inline.PolicyNames {
			if _, err := c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)}); err != nil && !notFound(err) {
				return fmt.Errorf("deleting inline policy %s of role %s: %w", p, name, err)
			}
		}
	}
	if _, err := c.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil && !notFound(err) {
		return fmt.Errorf("deleting role %s: %w", name, err)
	}
	return nil
}

func deleteBucket(ctx context.Context, c Clients, name string) error {
	p := s3.NewListObjectsV2Paginator(c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if notFound(err) {
				return nil
			}
			return fmt.Errorf("listing bucket %s: %w", name, err)
		}
		for _, o := range page.Contents {
			if _, err := c.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: o.Key}); err != nil && !notFound(err) {
				return fmt.Errorf("deleting s3://%s/%s: %w", name, aws.ToString(o.Key), err)
			}
		}
	}
	if _, err := c.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil && !notFound(err) {
		return fmt.Errorf("deleting bucket %s: %w", name, err)
	}
	return nil
}
