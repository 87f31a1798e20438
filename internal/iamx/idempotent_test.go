package iamx_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

func tagMap(tags []iamtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func TestCreateRoleAndProfileAdoptWhatALostResponseCreated(t *testing.T) {
	t.Parallel()
	e, c, _ := start(t, awsemu.Options{})
	ctx := t.Context()
	// Every response is lost: each SDK attempt acts, none answers.
	e.SetFault("iam.CreateRole", awsemu.Fault{LostResponseRate: 1})
	e.SetFault("iam.CreateInstanceProfile", awsemu.Fault{LostResponseRate: 1})
	e.SetFault("iam.AddRoleToInstanceProfile", awsemu.Fault{LostResponseRate: 1})
	role, err := iamx.CreateRole(ctx, c, &iam.CreateRoleInput{RoleName: aws.String("lost"), AssumeRolePolicyDocument: aws.String(iamx.TrustPolicy("aws").JSON()),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}})
	if err != nil {
		t.Fatalf("CreateRole with its responses lost: %v", err)
	}
	if aws.ToString(role.RoleName) != "lost" || aws.ToString(role.Arn) == "" {
		t.Errorf("role %+v", role)
	}
	p, err := iamx.CreateInstanceProfile(ctx, c, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("lost")})
	if err != nil {
		t.Fatalf("CreateInstanceProfile with its responses lost: %v", err)
	}
	if aws.ToString(p.InstanceProfileName) != "lost" {
		t.Errorf("profile %+v", p)
	}
	if err := iamx.AddRoleToInstanceProfile(ctx, c, "lost", "lost"); err != nil {
		t.Fatalf("AddRoleToInstanceProfile with its responses lost: %v", err)
	}
	if n := e.CallCount("iam.CreateRole#lost"); n < 2 {
		t.Errorf("iam.CreateRole#lost = %d, want the SDK's retries to have been lost too", n)
	}
	e.ClearFaults()
	got, err := iamx.FindRoleByName(ctx, c, "lost")
	if err != nil {
		t.Fatal(err)
	}
	// The marker is gone once the role is adopted; the user's tags stay.
	if tags := tagMap(got.Tags); len(tags) != 1 || tags["team"] != "ops" {
		t.Errorf("role tags %v, want only team=ops", tags)
	}
	gp, err := iamx.FindInstanceProfileByName(ctx, c, "lost")
	if err != nil {
		t.Fatal(err)
	}
	if len(gp.Tags) != 0 || len(gp.Roles) != 1 || aws.ToString(gp.Roles[0].RoleName) != "lost" {
		t.Errorf("profile tags %v, roles %+v", tagMap(gp.Tags), gp.Roles)
	}
	roles, _ := c.ListRoles(ctx, &iam.ListRolesInput{})
	profiles, _ := c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{})
	if len(roles.Roles) != 1 || len(profiles.InstanceProfiles) != 1 {
		t.Errorf("%d roles and %d profiles, want one each", len(roles.Roles), len(profiles.InstanceProfiles))
	}
}

func TestCreateRoleDoesNotAdoptSomebodyElsesRole(t *testing.T) {
	t.Parallel()
	e, c, _ := start(t, awsemu.Options{})
	ctx := t.Context()
	trust := aws.String(iamx.TrustPolicy("aws").JSON())
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("taken"), AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("taken")}); err != nil {
		t.Fatal(err)
	}
	var eae *iamtypes.EntityAlreadyExistsException
	if _, err := iamx.CreateRole(ctx, c, &iam.CreateRoleInput{RoleName: aws.String("taken"), AssumeRolePolicyDocument: trust}); !errors.As(err, &eae) {
		t.Errorf("CreateRole of an existing name: %v, want EntityAlreadyExists", err)
	}
	if _, err := iamx.CreateInstanceProfile(ctx, c, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("taken")}); !errors.As(err, &eae) {
		t.Errorf("CreateInstanceProfile of an existing name: %v, want EntityAlreadyExists", err)
	}
	// Nor when the response of the failed attempt is lost.
	e.SetFault("iam.CreateRole", awsemu.Fault{LostResponseRate: 1})
	if _, err := iamx.CreateRole(ctx, c, &iam.CreateRoleInput{RoleName: aws.String("taken"), AssumeRolePolicyDocument: trust}); err == nil {
		t.Error("CreateRole adopted a role it did not create")
	}
}

func TestAssociateCountsALostAssociationAsDone(t *testing.T) {
	t.Parallel()
	e, c, ec := start(t, awsemu.Options{})
	ctx := t.Context()
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"p1", "p2"} {
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(iamx.TrustPolicy("aws").JSON())}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		if err := iamx.AddRoleToInstanceProfile(ctx, c, name, name); err != nil {
			t.Fatal(err)
		}
	}
	// Somebody else's association with another profile stays an error.
	if _, err := iamx.Associate(ctx, ec, ids[1], "p2", false, time.Minute); err != nil {
		t.Fatal(err)
	}
	e.SetFault("ec2.AssociateIamInstanceProfile", awsemu.Fault{LostResponseRate: 1})
	e.SetFault("ec2.ReplaceIamInstanceProfileAssociation", awsemu.Fault{LostResponseRate: 1})
	a, err := iamx.Associate(ctx, ec, ids[0], "p1", false, time.Minute)
	if err != nil {
		t.Fatalf("Associate with its responses lost: %v", err)
	}
	if !iamx.ProfileMatches(aws.ToString(a.IamInstanceProfile.Arn), "p1") {
		t.Errorf("association %+v", a)
	}
	// Replacing with the responses lost: the new association is adopted.
	a, err = iamx.Associate(ctx, ec, ids[0], "p2", true, time.Minute)
	if err != nil {
		t.Fatalf("replacing with its responses lost: %v", err)
	}
	if !iamx.ProfileMatches(aws.ToString(a.IamInstanceProfile.Arn), "p2") {
		t.Errorf("association after replace %+v", a)
	}
	var existing *iamx.ExistingAssociationError
	if _, err := iamx.Associate(ctx, ec, ids[1], "p1", false, time.Minute); !errors.As(err, &existing) {
		t.Errorf("associating over another profile: %v, want ExistingAssociationError", err)
	}
	if n := e.CallCount("ec2.AssociateIamInstanceProfile#lost") + e.CallCount("ec2.ReplaceIamInstanceProfileAssociation#lost"); n < 2 {
		t.Errorf("%d lost responses, want at least 2", n)
	}
	e.ClearFaults()
	out, err := ec.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{Filters: []ec2types.Filter{
		{Name: aws.String("state"), Values: []string{"associated", "associating"}}}})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, a := range out.IamInstanceProfileAssociations {
		per[aws.ToString(a.InstanceId)]++
	}
	if per[ids[0]] != 1 || per[ids[1]] != 1 {
		t.Errorf("active associations per instance %v, want one each", per)
	}
}
