package iamx_test

import (
	"slices"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// ListAssociations finds the active associations by instance, tag and
// profile, in one DescribeIamInstanceProfileAssociations call per 1,000.
func TestListAssociations(t *testing.T) {
	t.Parallel()
	e, c, ec := start(t, awsemu.Options{})
	web, err := e.AddInstances(awsemu.InstanceSpec{Count: 3, Ready: true, Tags: map[string]string{"Role": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := e.AddInstances(awsemu.InstanceSpec{Count: 2, Ready: true, Tags: map[string]string{"Role": "db"}})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := e.AddInstances(awsemu.InstanceSpec{Count: 2, Tags: map[string]string{"Role": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	roleInProfile(t, c, "fresh")
	ctx := t.Context()
	if _, err := iamx.Associate(ctx, ec, bare[0], "fresh", true, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	sorted := func(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
	cases := []struct {
		name string
		spec iamx.AssociationListSpec
		want []string
	}{
		{"all", iamx.AssociationListSpec{}, sorted(append(append(slices.Clone(web), db...), bare[0])...)},
		{"tags", iamx.AssociationListSpec{Tags: map[string]string{"Role": "web"}}, sorted(append(slices.Clone(web), bare[0])...)},
		{"profile by name", iamx.AssociationListSpec{Profile: "fresh"}, []string{bare[0]}},
		{"ids", iamx.AssociationListSpec{InstanceIDs: []string{db[1], bare[1], web[0]}}, sorted(db[1], web[0])},
		{"tags and ids", iamx.AssociationListSpec{Tags: map[string]string{"Role": "web"}, InstanceIDs: []string{db[0], web[2]}}, []string{web[2]}},
		{"tags matching nothing", iamx.AssociationListSpec{Tags: map[string]string{"Role": "none"}}, nil},
	}
	for _, tc := range cases {
		e.ResetCalls()
		got, err := iamx.ListAssociations(ctx, ec, tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var ids []string
		for _, a := range got {
			ids = append(ids, a.InstanceID)
			if a.AssociationID == "" || a.ProfileARN == "" {
				t.Errorf("%s: %+v lacks its association id or profile ARN", tc.name, a)
			}
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: listed %v, want %v", tc.name, ids, tc.want)
		}
		if n := e.CallCount("ec2.DescribeIamInstanceProfileAssociations"); n > 1 {
			t.Errorf("%s: %d DescribeIamInstanceProfileAssociations calls, want at most 1", tc.name, n)
		}
	}
	got, err := iamx.ListAssociations(ctx, ec, iamx.AssociationListSpec{Profile: "fresh"})
	if err != nil || len(got) != 1 || !iamx.ProfileMatches(got[0].ProfileARN, "fresh") {
		t.Errorf("profile fresh: %+v, %v", got, err)
	}
}
