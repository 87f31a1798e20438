package awsemu

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestSSMDescribeInstanceInformation(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ctx := t.Context()
	a := onlineInstances(t, e, InstanceSpec{Count: 12, Tags: map[string]string{"team": "a"}})
	b := onlineInstances(t, e, InstanceSpec{Count: 3, Tags: map[string]string{"team": "b"}, Platform: "Windows"})
	noRole, _ := e.AddInstances(InstanceSpec{Count: 2}) // never registers
	stopped := a[11]
	if err := e.SetInstanceState(stopped, StateStopped); err != nil {
		t.Fatal(err)
	}

	// Unfiltered paging with the default page size of 10.
	var all []ssmtypes.InstanceInformation
	pages := 0
	p := ssm.NewDescribeInstanceInformationPaginator(cl, &ssm.DescribeInstanceInformationInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, out.InstanceInformationList...)
	}
	if len(all) != 14 || pages != 2 {
		t.Fatalf("%d instances in %d pages, want 14 in 2", len(all), pages)
	}
	seen := map[string]ssmtypes.InstanceInformation{}
	for _, ii := range all {
		seen[*ii.InstanceId] = ii
	}
	for _, id := range append(noRole, stopped) {
		if _, ok := seen[id]; ok {
			t.Fatalf("%s must not be listed", id)
		}
	}
	w := seen[b[0]]
	if w.PingStatus != ssmtypes.PingStatusOnline || w.PlatformType != ssmtypes.PlatformTypeWindows || w.ResourceType != ssmtypes.ResourceTypeEc2Instance ||
		aws.ToString(w.AgentVersion) == "" || w.LastPingDateTime == nil || w.RegistrationDate == nil || w.SourceType != ssmtypes.SourceTypeAwsEc2Instance ||
		aws.ToString(w.IPAddress) == "" || aws.ToString(w.ComputerName) == "" {
		t.Fatalf("fields %+v", w)
	}

	// Filtered by tag with MaxResults 5: pages are cut before filtering, so the
	// first two pages are empty while NextToken is set.
	var got []string
	var sawEmpty bool
	var token *string
	for {
		out, err := cl.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: token,
			Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("tag:team"), Values: []string{"b"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.InstanceInformationList) == 0 && out.NextToken != nil {
			sawEmpty = true
		}
		for _, ii := range out.InstanceInformationList {
			got = append(got, *ii.InstanceId)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !sawEmpty || strings.Join(got, ",") != strings.Join(b, ",") {
		t.Fatalf("tag filter: %v (empty page seen %v), want %v", got, sawEmpty, b)
	}

	// Legacy filter list and the new filters.
	list := func(in *ssm.DescribeInstanceInformationInput) []string {
		t.Helper()
		in.MaxResults = aws.Int32(50)
		out, err := cl.DescribeInstanceInformation(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ii := range out.InstanceInformationList {
			ids = append(ids, *ii.InstanceId)
		}
		return ids
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyInstanceIds, ValueSet: []string{a[0], b[1], noRole[0]}}}}); len(ids) != 2 {
		t.Fatalf("legacy InstanceIds: %v", ids)
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyPlatformTypes, ValueSet: []string{"Windows"}}}}); len(ids) != 3 {
		t.Fatalf("legacy PlatformTypes: %v", ids)
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}, {Key: aws.String("PlatformTypes"), Values: []string{"Linux"}}}}); len(ids) != 11 {
		t.Fatalf("PingStatus+PlatformTypes: %d", len(ids))
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("tag-key"), Values: []string{"team"}}}}); len(ids) != 14 {
		t.Fatalf("tag-key: %d", len(ids))
	}
	// A stopped agent shows ConnectionLost.
	if err := e.SetAgentStopped(a[0], true); err != nil {
		t.Fatal(err)
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"ConnectionLost"}}}}); len(ids) != 1 || ids[0] != a[0] {
		t.Fatalf("ConnectionLost: %v", ids)
	}

	// Errors.
	errCases := []struct {
		name string
		in   *ssm.DescribeInstanceInformationInput
		code string
	}{
		{"MaxResults 51", &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(51)}, "ValidationException"},
		{"MaxResults 4", &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(4)}, "ValidationException"},
		{"both lists", &ssm.DescribeInstanceInformationInput{
			InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyPingStatus, ValueSet: []string{"Online"}}},
			Filters:                       []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}}}, "InvalidInstanceInformationFilterValue"},
		{"tag with other", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{
			{Key: aws.String("tag:team"), Values: []string{"a"}}, {Key: aws.String("PingStatus"), Values: []string{"Online"}}}}, "InvalidInstanceInformationFilterValue"},
		{"bad instance id", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{"i-bad"}}}}, "InvalidInstanceId"},
		{"bad ping status", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Sleepy"}}}}, "InvalidInstanceInformationFilterValue"},
		{"bad key", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("Colour"), Values: []string{"x"}}}}, "InvalidFilterKey"},
		{"bad token", &ssm.DescribeInstanceInformationInput{NextToken: aws.String("nope")}, "InvalidNextToken"},
	}
	for _, tc := range errCases {
		_, err := cl.DescribeInstanceInformation(ctx, tc.in)
		if got := ssmAPICode(err); got != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, got, tc.code, err)
		}
	}
	_, err := cl.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(51)})
	if err == nil || !strings.Contains(err.Error(), "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50") {
		t.Fatalf("message: %v", err)
	}
}
