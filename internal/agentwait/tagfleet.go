package agentwait

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ec2PageSize is the most instances one DescribeInstances page returns.
const ec2PageSize = 1000

// ec2Fleet is a tag selection read from EC2 plus the account's agents that
// are not Online (notes/aws-behaviour.md#checking-a-tag-fleet-at-scale).
type ec2Fleet struct {
	// online: tagged running instances whose agent is not listed as lost
	// (Online, or never registered: SSM does not target those).
	online map[string]bool
	// lost: the tagged instances' agents that are ConnectionLost or Inactive.
	lost map[string]Agent
	// notReady: lost agents and tagged pending, stopping or stopped
	// instances, sorted, with their EC2 states in states.
	notReady []string
	states   map[string]ec2types.InstanceStateName
}

// tagFleetByEC2 classifies a tag selection with two listings instead of the
// tag-filtered DescribeInstanceInformation (one call per 50 agents): EC2
// DescribeInstances with the tag filters (1,000 instances per call, with
// their states) and DescribeInstanceInformation filtered by PingStatus
// ConnectionLost/Inactive across the account (one page when the account is
// healthy). Tag filters cannot be combined with PingStatus, so the two are
// joined here by instance id.
//
// It returns nil (use the tag listing) when the result could differ from
// what SSM targets: a tag value with an EC2 wildcard character (* or ?,
// literal for SSM), no tagged EC2 instance (a fleet of hybrid nodes, or an
// empty selection, which the tag listing says exactly), or a lost agent that
// is not an EC2 instance (a hybrid node, whose tags EC2 does not know).
func tagFleetByEC2(ctx context.Context, c Clients, tags map[string][]string) (*ec2Fleet, error) {
	keys := make([]string, 0, len(tags))
	for k, vs := range tags {
		for _, v := range vs {
			if strings.ContainsAny(k+v, "*?") {
				return nil, nil
			}
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	filters := []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}}
	for _, k := range keys {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: tags[k]})
	}
	states := map[string]ec2types.InstanceStateName{}
	p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(ec2PageSize)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the tagged instances (ec2:DescribeInstances): %w", err)
		}
		for _, res := range page.Reservations {
			for _, inst := range res.Instances {
				var st ec2types.InstanceStateName
				if inst.State != nil {
					st = inst.State.Name
				}
				states[aws.ToString(inst.InstanceId)] = st
			}
		}
	}
	if len(states) == 0 {
		return nil, nil
	}
	lost := map[string]Agent{}
	lp := ssm.NewDescribeInstanceInformationPaginator(c.SSM, &ssm.DescribeInstanceInformationInput{
		Filters: []ssmtypes.InstanceInformationStringFilter{{
			Key:    aws.String("PingStatus"),
			Values: []string{string(ssmtypes.PingStatusConnectionLost), string(ssmtypes.PingStatusInactive)},
		}},
		MaxResults: aws.Int32(idsPerCall),
	})
	for lp.HasMorePages() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the SSM agents that are not Online (DescribeInstanceInformation): %w", err)
		}
		for _, ii := range page.InstanceInformationList {
			a := agentOf(ii)
			if !strings.HasPrefix(a.InstanceID, "i-") {
				return nil, nil
			}
			if _, tagged := states[a.InstanceID]; tagged {
				lost[a.InstanceID] = a
			}
		}
	}
	f := &ec2Fleet{online: map[string]bool{}, lost: lost, states: states}
	for id, st := range states {
		switch _, isLost := lost[id]; {
		case isLost || st != ec2types.InstanceStateNameRunning:
			f.notReady = append(f.notReady, id)
		default:
			f.online[id] = true
		}
	}
	sort.Strings(f.notReady)
	return f, nil
}
