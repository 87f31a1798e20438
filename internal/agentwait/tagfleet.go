package agentwait

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

const (
	// ec2PageSize is the most instances one DescribeInstances page returns.
	ec2PageSize = 1000
	// propertiesPerCall is the most nodes one DescribeInstanceProperties page
	// returns.
	propertiesPerCall = 1000
)

// instancePropertiesAPI is DescribeInstanceProperties, used when the SSM
// client has it (the SDK client does).
type instancePropertiesAPI interface {
	DescribeInstanceProperties(ctx context.Context, in *ssm.DescribeInstancePropertiesInput, optFns ...func(*ssm.Options)) (*ssm.DescribeInstancePropertiesOutput, error)
}

// propertyAgent is the Agent of a DescribeInstanceProperties entry.
func propertyAgent(ip ssmtypes.InstanceProperty) Agent {
	return Agent{
		InstanceID:      aws.ToString(ip.InstanceId),
		PingStatus:      string(ip.PingStatus),
		AgentVersion:    aws.ToString(ip.AgentVersion),
		PlatformType:    string(ip.PlatformType),
		PlatformName:    aws.ToString(ip.PlatformName),
		PlatformVersion: aws.ToString(ip.PlatformVersion),
		ComputerName:    aws.ToString(ip.ComputerName),
		IPAddress:       aws.ToString(ip.IPAddress),
		ResourceType:    aws.ToString(ip.ResourceType),
		LastPingAt:      aws.ToTime(ip.LastPingDateTime),
	}
}

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
// tag-filtered DescribeInstanceInformation (one call per 50 managed nodes of
// the account): EC2 DescribeInstances with the tag filters (1,000 instances
// per call, with their states) and DescribeInstanceProperties filtered by
// PingStatus ConnectionLost/Inactive (1,000 managed nodes of the account per
// call). Neither API takes both a tag and a PingStatus filter, so the two are
// joined here by instance id.
//
// It returns nil (use the tag listing) when the result could differ from
// what SSM targets: a tag value with an EC2 wildcard character (* or ?,
// literal for SSM), no tagged EC2 instance (a fleet of hybrid nodes, or an
// empty selection, which the tag listing says exactly), or a lost agent that
// is not an EC2 instance (a hybrid node, whose tags EC2 does not know), or
// an SSM client without DescribeInstanceProperties or a role denied it.
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
	props, ok := c.SSM.(instancePropertiesAPI)
	if !ok {
		return nil, nil
	}
	lost := map[string]Agent{}
	lp := ssm.NewDescribeInstancePropertiesPaginator(props, &ssm.DescribeInstancePropertiesInput{
		InstancePropertyFilterList: []ssmtypes.InstancePropertyFilter{{
			Key:      ssmtypes.InstancePropertyFilterKeyPingStatus,
			ValueSet: []string{string(ssmtypes.PingStatusConnectionLost), string(ssmtypes.PingStatusInactive)},
		}},
		MaxResults: aws.Int32(propertiesPerCall),
	})
	for lp.HasMorePages() {
		page, err := lp.NextPage(ctx)
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && strings.HasPrefix(ae.ErrorCode(), "AccessDenied") {
				return nil, nil // a role without ssm:DescribeInstanceProperties: the tag listing
			}
			return nil, fmt.Errorf("listing the SSM agents that are not Online (DescribeInstanceProperties): %w", err)
		}
		for _, ip := range page.InstanceProperties {
			id := aws.ToString(ip.InstanceId)
			if !strings.HasPrefix(id, "i-") {
				return nil, nil
			}
			// Only running or pending instances: stopped ones are classified by
			// their EC2 state, whatever the agent's last PingStatus.
			if st, tagged := states[id]; tagged && (st == ec2types.InstanceStateNameRunning || st == ec2types.InstanceStateNamePending) {
				lost[id] = propertyAgent(ip)
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
