package agentwait

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ListSpec selects the managed nodes List returns. Every set field must match
// (and within a field, any value): nil or empty fields select everything.
type ListSpec struct {
	// InstanceIDs keeps only these nodes.
	InstanceIDs []string
	// Tags keeps nodes carrying all of these tags (the `tag:<key>` filter).
	Tags map[string]string
	// PingStatuses keeps nodes whose agent reports one of these: Online,
	// ConnectionLost, Inactive.
	PingStatuses []string
	// PlatformTypes keeps nodes of these platforms: Linux, Windows, MacOS.
	PlatformTypes []string
}

// Listing is what List found.
type Listing struct {
	// Instances are the matching managed nodes, sorted by instance id.
	Instances []Agent
	// Calls is how many DescribeInstanceInformation calls were made.
	Calls int
	// ClientSide names the fields filtered by List rather than by SSM, because
	// SSM does not combine tag filters with other filter types.
	ClientSide []string
}

// List lists managed nodes as DescribeInstanceInformation reports them, once:
// it never waits and never polls. It asks SSM for 50 nodes per page (the page
// size cap) and follows every page, empty ones included (a filtered page can
// be empty while NextToken is set).
//
// Which filters SSM applies: without Tags, all of them (ids in chunks of 50,
// one listing per chunk). With Tags, only the tag filters, because SSM does
// not combine tag filters with other filter types; the ids, ping statuses and
// platform types are then filtered here. Calls: one per 50 ids with ids and no
// tags; else one per 50 managed nodes of the account and region, since SSM
// cuts pages before it filters (notes/aws-behaviour.md#listing-managed-nodes).
func List(ctx context.Context, api SSMAPI, spec ListSpec) (*Listing, error) {
	out := &Listing{}
	found := map[string]Agent{}
	list := func(filters []ssmtypes.InstanceInformationStringFilter) error {
		p := ssm.NewDescribeInstanceInformationPaginator(api, &ssm.DescribeInstanceInformationInput{
			Filters:    filters,
			MaxResults: aws.Int32(idsPerCall),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			out.Calls++
			if err != nil {
				return fmt.Errorf("listing managed nodes (DescribeInstanceInformation): %w", err)
			}
			for _, ii := range page.InstanceInformationList {
				a := agentOf(ii)
				found[a.InstanceID] = a
			}
		}
		return nil
	}
	ids := Distinct(spec.InstanceIDs)
	filter := func(key string, values []string) []ssmtypes.InstanceInformationStringFilter {
		if len(values) == 0 {
			return nil
		}
		return []ssmtypes.InstanceInformationStringFilter{{Key: aws.String(key), Values: Distinct(values)}}
	}
	if len(spec.Tags) > 0 {
		var filters []ssmtypes.InstanceInformationStringFilter
		for _, k := range sortedKeys(spec.Tags) {
			filters = append(filters, ssmtypes.InstanceInformationStringFilter{Key: aws.String("tag:" + k), Values: []string{spec.Tags[k]}})
		}
		if err := list(filters); err != nil {
			return out, err
		}
		if len(ids) > 0 {
			out.ClientSide = append(out.ClientSide, "instance ids")
		}
		if len(spec.PingStatuses) > 0 {
			out.ClientSide = append(out.ClientSide, "ping statuses")
		}
		if len(spec.PlatformTypes) > 0 {
			out.ClientSide = append(out.ClientSide, "platform types")
		}
	} else {
		rest := append(filter("PingStatus", spec.PingStatuses), filter("PlatformTypes", spec.PlatformTypes)...)
		if len(ids) == 0 {
			if err := list(rest); err != nil {
				return out, err
			}
		}
		for start := 0; start < len(ids); start += idsPerCall {
			end := min(start+idsPerCall, len(ids))
			if err := list(append(filter("InstanceIds", ids[start:end]), rest...)); err != nil {
				return out, err
			}
		}
	}
	for _, a := range found {
		if (len(ids) == 0 || slices.Contains(ids, a.InstanceID)) &&
			(len(spec.PingStatuses) == 0 || slices.Contains(spec.PingStatuses, a.PingStatus)) &&
			(len(spec.PlatformTypes) == 0 || slices.Contains(spec.PlatformTypes, a.PlatformType)) {
			out.Instances = append(out.Instances, a)
		}
	}
	sort.Slice(out.Instances, func(i, j int) bool { return out.Instances[i].InstanceID < out.Instances[j].InstanceID })
	return out, nil
}
