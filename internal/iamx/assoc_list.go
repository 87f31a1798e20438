package iamx

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// AssociationListSpec selects the instance-profile associations
// ListAssociations returns. Empty fields select everything; set fields must
// all match.
type AssociationListSpec struct {
	// InstanceIDs keeps the associations of these instances.
	InstanceIDs []string
	// Tags keeps the associations of instances carrying all of these tags.
	Tags map[string]string
	// Profile keeps associations of this instance profile (name or ARN).
	Profile string
}

// ListedAssociation is one active association.
type ListedAssociation struct {
	InstanceID, AssociationID, ProfileARN string
}

// associationsPerPage is DescribeIamInstanceProfileAssociations' largest page
// (SDK models: ec2 DescribeIamInstanceProfileAssociationsInput.MaxResults 5..1000).
const associationsPerPage = 1000

// ListAssociations lists the active (associated) instance-profile associations
// of the account and region, sorted by instance id. Calls: one
// DescribeIamInstanceProfileAssociations per 1,000 associations, plus, with
// Tags, one DescribeInstances per 1,000 instances carrying them (tags are an
// attribute of the instance, not of the association).
func ListAssociations(ctx context.Context, c *ec2.Client, spec AssociationListSpec) ([]ListedAssociation, error) {
	ids := slices.Clone(spec.InstanceIDs)
	if len(spec.Tags) > 0 {
		tagged, err := instancesWithTags(ctx, c, spec.Tags, ids)
		if err != nil {
			return nil, err
		}
		if len(tagged) == 0 {
			return nil, nil
		}
		ids = tagged
	}
	keep := map[string]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	p := ec2.NewDescribeIamInstanceProfileAssociationsPaginator(c, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters:    []ec2types.Filter{{Name: aws.String("state"), Values: []string{string(ec2types.IamInstanceProfileAssociationStateAssociated)}}},
		MaxResults: aws.Int32(associationsPerPage),
	})
	var out []ListedAssociation
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing instance profile associations: %w", err)
		}
		for i := range page.IamInstanceProfileAssociations {
			a := &page.IamInstanceProfileAssociations[i]
			id, arn := aws.ToString(a.InstanceId), AssociationProfileARN(a)
			if (len(ids) > 0 && !keep[id]) || (spec.Profile != "" && !ProfileMatches(arn, spec.Profile)) {
				continue
			}
			out = append(out, ListedAssociation{InstanceID: id, AssociationID: aws.ToString(a.AssociationId), ProfileARN: arn})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].InstanceID < out[j].InstanceID })
	return out, nil
}

// instancesWithTags returns the ids of the instances carrying all tags (and,
// when ids is not empty, listed in it).
func instancesWithTags(ctx context.Context, c *ec2.Client, tags map[string]string, ids []string) ([]string, error) {
	var filters []ec2types.Filter
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{tags[k]}})
	}
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(associationsPerPage)})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing instances by tag: %w", err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				if id := aws.ToString(inst.InstanceId); len(ids) == 0 || slices.Contains(ids, id) {
					out = append(out, id)
				}
			}
		}
	}
	return out, nil
}
