package awsemu

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// DescribeInstanceProperties lists the same managed nodes as
// DescribeInstanceInformation, up to 1,000 per page, filtered by PingStatus.
func TestSSMDescribeInstanceProperties(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ctx := t.Context()
	ids := onlineInstances(t, e, InstanceSpec{Count: 8, Tags: map[string]string{"Name": "web"}})
	sort.Strings(ids)
	if err := e.SetInstanceState(ids[0], StateStopped); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAgentStopped(ids[1], true); err != nil {
		t.Fatal(err)
	}
	out, err := cl.DescribeInstanceProperties(ctx, &ssm.DescribeInstancePropertiesInput{MaxResults: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.InstanceProperties) != 7 || out.NextToken != nil {
		t.Fatalf("%d nodes (next %v), want the 7 not stopped in one page", len(out.InstanceProperties), out.NextToken)
	}
	for _, ip := range out.InstanceProperties {
		if aws.ToString(ip.InstanceId) == ids[0] {
			t.Fatalf("stopped %s listed", ids[0])
		}
		if aws.ToString(ip.Name) != "web" || aws.ToString(ip.InstanceState) != "running" || aws.ToString(ip.ResourceType) != "EC2Instance" {
			t.Fatalf("fields %+v", ip)
		}
	}
	// Lost agents only, in pages of 5 cut before filtering.
	var lost []string
	{
		p := ssm.NewDescribeInstancePropertiesPaginator(cl, &ssm.DescribeInstancePropertiesInput{
			InstancePropertyFilterList: []ssmtypes.InstancePropertyFilter{{Key: ssmtypes.InstancePropertyFilterKeyPingStatus, ValueSet: []string{"ConnectionLost", "Inactive"}}},
			MaxResults:                 aws.Int32(5),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ip := range page.InstanceProperties {
				lost = append(lost, aws.ToString(ip.InstanceId))
			}
		}
	}
	if len(lost) != 1 || lost[0] != ids[1] {
		t.Fatalf("lost = %v, want [%s]", lost, ids[1])
	}
	for _, tc := range []struct {
		in   ssm.DescribeInstancePropertiesInput
		code string
	}{
		{ssm.DescribeInstancePropertiesInput{MaxResults: aws.Int32(1001)}, "ValidationException"},
		{ssm.DescribeInstancePropertiesInput{MaxResults: aws.Int32(4)}, "ValidationException"},
		{ssm.DescribeInstancePropertiesInput{InstancePropertyFilterList: []ssmtypes.InstancePropertyFilter{{Key: "tag:Name", ValueSet: []string{"web"}}}}, "ValidationException"},
		{ssm.DescribeInstancePropertiesInput{InstancePropertyFilterList: []ssmtypes.InstancePropertyFilter{{Key: "PingStatus", ValueSet: []string{"Lost"}}}}, "InvalidInstancePropertyFilterValue"},
	} {
		_, err := cl.DescribeInstanceProperties(ctx, &tc.in)
		var ae smithy.APIError
		if !errors.As(err, &ae) || !strings.Contains(ae.ErrorCode(), tc.code) {
			t.Errorf("%+v: err = %v, want %s", tc.in, err, tc.code)
		}
	}
}
