package awsemu

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
)

const (
	testTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	testDoc   = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`
)

func newIAMTest(t *testing.T) (*Emulator, *iam.Client, context.Context) {
	t.Helper()
	e, cfg := newTestEmulator(t, Options{})
	return e, iam.NewFromConfig(cfg), t.Context()
}

func mustCreateRole(t *testing.T, c *iam.Client, name string) {
	t.Helper()
	if _, err := c.CreateRole(t.Context(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(testTrust)}); err != nil {
		t.Fatalf("CreateRole %s: %v", name, err)
	}
}

func unescape(t *testing.T, s *string) string {
	t.Helper()
	if s == nil {
		t.Fatal("nil document")
	}
	if strings.ContainsAny(*s, "{} \"") {
		t.Fatalf("document is not URL-encoded: %q", *s)
	}
	d, err := url.QueryUnescape(*s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// apiCode returns the error code (and fails when err is nil).
func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode()
}

func TestIAMRoleLifecycle(t *testing.T) {
	t.Parallel()
	_, c, ctx := newIAMTest(t)
	out, err := c.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String("app-role"), Path: aws.String("/svc/"), AssumeRolePolicyDocument: aws.String(testTrust),
		Description: aws.String("my role"), MaxSessionDuration: aws.Int32(7200),
		Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if *r.Arn != "arn:aws:iam::123456789012:role/svc/app-role" || *r.Path != "/svc/" || !strings.HasPrefix(*r.RoleId, "AROA") || len(*r.RoleId) != 21 {
		t.Fatalf("bad role %+v", r)
	}
	if strings.ToUpper(*r.RoleId) != *r.RoleId {
		t.Fatalf("role id not upper case: %s", *r.RoleId)
	}
	if r.CreateDate == nil || r.CreateDate.IsZero() || len(r.Tags) != 1 || *r.MaxSessionDuration != 7200 {
		t.Fatalf("bad role %+v", r)
	}
	if got := unescape(t, r.AssumeRolePolicyDocument); got != testTrust {
		t.Fatalf("trust %q", got)
	}

	g, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("APP-ROLE")}) // case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	if *g.Role.RoleName != "app-role" || *g.Role.Description != "my role" || len(g.Role.Tags) != 1 || unescape(t, g.Role.AssumeRolePolicyDocument) != testTrust {
		t.Fatalf("GetRole %+v", g.Role)
	}

	if _, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("app-role"), Description: aws.String("new"), MaxSessionDuration: aws.Int32(43200)}); err != nil {
		t.Fatal(err)
	}
	ud, err := c.UpdateRoleDescription(ctx, &iam.UpdateRoleDescriptionInput{RoleName: aws.String("app-role"), Description: aws.String("newer")})
	if err != nil || *ud.Role.Description != "newer" || *ud.Role.MaxSessionDuration != 43200 {
		t.Fatalf("UpdateRoleDescription %+v %v", ud, err)
	}
	trust2 := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	if _, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app-role"), PolicyDocument: aws.String(trust2)}); err != nil {
		t.Fatal(err)
	}
	g, _ = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-role")})
	if unescape(t, g.Role.AssumeRolePolicyDocument) != trust2 {
		t.Fatal("trust not updated")
	}

	// Tags.
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("app-role"), Tags: []iamtypes.Tag{
		{Key: aws.String("ENV"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("a")}}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("app-role")})
	if err != nil || len(lt.Tags) != 2 || *lt.Tags[0].Key != "ENV" || *lt.Tags[0].Value != "prod" {
		t.Fatalf("ListRoleTags %+v %v", lt, err)
	}
	if _, err := c.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("app-role"), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	lt, _ = c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("app-role")})
	if len(lt.Tags) != 1 || *lt.Tags[0].Key != "team" {
		t.Fatalf("after untag %+v", lt.Tags)
	}

	// Permissions boundary.
	core := "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
	if _, err := c.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String("app-role"), PermissionsBoundary: aws.String(core)}); err != nil {
		t.Fatal(err)
	}
	g, _ = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-role")})
	if g.Role.PermissionsBoundary == nil || *g.Role.PermissionsBoundary.PermissionsBoundaryArn != core || g.Role.PermissionsBoundary.PermissionsBoundaryType != iamtypes.PermissionsBoundaryAttachmentTypePolicy {
		t.Fatalf("boundary %+v", g.Role.PermissionsBoundary)
	}
	if _, err := c.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String("app-role")}); err != nil {
		t.Fatal(err)
	}
	g, _ = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-role")})
	if g.Role.PermissionsBoundary != nil {
		t.Fatal("boundary not removed")
	}

	// Managed and inline policies block deletion, in turn.
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app-role"), PolicyArn: aws.String(core)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app-role"), PolicyArn: aws.String(core)}); err != nil {
		t.Fatal("re-attach must be idempotent:", err)
	}
	ap, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("app-role")})
	if err != nil || len(ap.AttachedPolicies) != 1 || *ap.AttachedPolicies[0].PolicyName != "AmazonSSMManagedInstanceCore" || *ap.AttachedPolicies[0].PolicyArn != core {
		t.Fatalf("ListAttachedRolePolicies %+v %v", ap, err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app-role"), PolicyName: aws.String("inline"), PolicyDocument: aws.String(testDoc)}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("app-role"), PolicyName: aws.String("inline")})
	if err != nil || *gp.RoleName != "app-role" || *gp.PolicyName != "inline" || unescape(t, gp.PolicyDocument) != testDoc {
		t.Fatalf("GetRolePolicy %+v %v", gp, err)
	}
	if !strings.Contains(*gp.PolicyDocument, "%20") || strings.Contains(*gp.PolicyDocument, "+") {
		t.Fatalf("spaces must be %%20-encoded: %s", *gp.PolicyDocument)
	}
	lp, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("app-role")})
	if err != nil || !reflect.DeepEqual(lp.PolicyNames, []string{"inline"}) {
		t.Fatalf("ListRolePolicies %+v %v", lp, err)
	}
	ip, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("app-profile")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("app-role")}); err != nil {
		t.Fatal(err)
	}
	_ = ip

	steps := []struct {
		msg  string
		undo func() error
	}{
		{"Cannot delete entity, must detach all policies first.", func() error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("app-role"), PolicyArn: aws.String(core)})
			return err
		}},
		{"Cannot delete entity, must delete policies first.", func() error {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app-role"), PolicyName: aws.String("inline")})
			return err
		}},
		{"Cannot delete entity, must remove roles from instance profile first.", func() error {
			_, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("app-profile"), RoleName: aws.String("app-role")})
			return err
		}},
	}
	for _, s := range steps {
		_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app-role")})
		var dc *iamtypes.DeleteConflictException
		if !errors.As(err, &dc) || dc.ErrorMessage() != s.msg {
			t.Fatalf("DeleteRole: want DeleteConflict %q, got %v", s.msg, err)
		}
		if err := s.undo(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("app-role")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app-role")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) || nse.ErrorMessage() != "The role with name app-role cannot be found." {
		t.Fatalf("GetRole after delete: %v", err)
	}
}

func TestIAMInstanceProfiles(t *testing.T) {
	t.Parallel()
	_, c, ctx := newIAMTest(t)
	mustCreateRole(t, c, "r1")
	mustCreateRole(t, c, "r2")
	out, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String("prof"), Path: aws.String("/a/b/"),
		Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := out.InstanceProfile
	if *p.Arn != "arn:aws:iam::123456789012:instance-profile/a/b/prof" || !strings.HasPrefix(*p.InstanceProfileId, "AIPA") || len(*p.InstanceProfileId) != 21 || len(p.Roles) != 0 || len(p.Tags) != 1 || p.CreateDate == nil {
		t.Fatalf("bad profile %+v", p)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("prof"), RoleName: aws.String("r1")}); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"r2", "r1"} {
		_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("prof"), RoleName: aws.String(role)})
		var le *iamtypes.LimitExceededException
		if !errors.As(err, &le) || le.ErrorMessage() != "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1" {
			t.Fatalf("second role %s: %v", role, err)
		}
	}
	g, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("prof")})
	if err != nil || len(g.InstanceProfile.Roles) != 1 || *g.InstanceProfile.Roles[0].RoleName != "r1" || unescape(t, g.InstanceProfile.Roles[0].AssumeRolePolicyDocument) != testTrust {
		t.Fatalf("GetInstanceProfile %+v %v", g, err)
	}
	fr, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("r1")})
	if err != nil || len(fr.InstanceProfiles) != 1 || *fr.InstanceProfiles[0].InstanceProfileName != "prof" {
		t.Fatalf("ListInstanceProfilesForRole %+v %v", fr, err)
	}
	fr, _ = c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("r2")})
	if len(fr.InstanceProfiles) != 0 {
		t.Fatal("r2 is in no profile")
	}
	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("prof")})
	var dc *iamtypes.DeleteConflictException
	if !errors.As(err, &dc) || dc.ErrorMessage() != "Cannot delete entity, must remove roles from instance profile first." {
		t.Fatalf("DeleteInstanceProfile with role: %v", err)
	}

	// Tags.
	if _, err := c.TagInstanceProfile(ctx, &iam.TagInstanceProfileInput{InstanceProfileName: aws.String("prof"), Tags: []iamtypes.Tag{{Key: aws.String("x"), Value: aws.String("y")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: aws.String("prof"), TagKeys: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	lt, err := c.ListInstanceProfileTags(ctx, &iam.ListInstanceProfileTagsInput{InstanceProfileName: aws.String("prof")})
	if err != nil || len(lt.Tags) != 1 || *lt.Tags[0].Key != "x" {
		t.Fatalf("ListInstanceProfileTags %+v %v", lt, err)
	}

	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	lp, err := c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{PathPrefix: aws.String("/a/")})
	if err != nil || len(lp.InstanceProfiles) != 1 || *lp.InstanceProfiles[0].InstanceProfileName != "prof" {
		t.Fatalf("ListInstanceProfiles /a/ %+v %v", lp, err)
	}
	lp, _ = c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{})
	if len(lp.InstanceProfiles) != 2 {
		t.Fatalf("ListInstanceProfiles: %d", len(lp.InstanceProfiles))
	}

	if _, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("prof"), RoleName: aws.String("r1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("prof"), RoleName: aws.String("r1")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("remove absent role: %v", err)
	}
	if _, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("prof")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("prof")})
	if !errors.As(err, &nse) || nse.ErrorMessage() != "Instance Profile prof cannot be found." {
		t.Fatalf("GetInstanceProfile after delete: %v", err)
	}
}

// AmazonEC2RoleforSSM lives under the service-role/ path, as in AWS, and is not
// found without it.
func TestIAMServiceRolePolicyPath(t *testing.T) {
	t.Parallel()
	_, c, ctx := newIAMTest(t)
	p, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM")})
	if err != nil || aws.ToString(p.Policy.Path) != "/service-role/" {
		t.Fatalf("AmazonEC2RoleforSSM: %v %+v", err, p)
	}
	if _, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonEC2RoleforSSM")}); err == nil {
		t.Fatal("AmazonEC2RoleforSSM found without its service-role/ path")
	}
}

func TestIAMManagedPolicies(t *testing.T) {
	t.Parallel()
	_, c, ctx := newIAMTest(t)
	for _, name := range []string{"AmazonSSMManagedInstanceCore", "AmazonSSMManagedEC2InstanceDefaultPolicy", "CloudWatchAgentServerPolicy", "AmazonS3ReadOnlyAccess", "AmazonSSMFullAccess", "AmazonSSMReadOnlyAccess"} {
		arn := "arn:aws:iam::aws:policy/" + name
		gp, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if *gp.Policy.PolicyName != name || !strings.HasPrefix(*gp.Policy.PolicyId, "ANPA") || len(*gp.Policy.PolicyId) != 21 || !gp.Policy.IsAttachable {
			t.Fatalf("bad policy %+v", gp.Policy)
		}
		pv, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: gp.Policy.DefaultVersionId})
		if err != nil || !pv.PolicyVersion.IsDefaultVersion {
			t.Fatalf("%s version: %+v %v", name, pv, err)
		}
		doc := unescape(t, pv.PolicyVersion.Document)
		if _, err := iamParsePolicy(doc); err != nil {
			t.Fatalf("%s document %q: %v", name, doc, err)
		}
		if name == "AmazonSSMManagedInstanceCore" && !strings.Contains(doc, `"ssm:UpdateInstanceInformation"`) {
			t.Fatal("core policy lacks UpdateInstanceInformation")
		}
	}
	_, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"), VersionId: aws.String("v99")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) {
		t.Fatalf("absent version: %v", err)
	}

	// Customer managed policy.
	cp, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("mine"), Path: aws.String("/team/"), PolicyDocument: aws.String(testDoc), Description: aws.String("d")})
	if err != nil {
		t.Fatal(err)
	}
	arn := *cp.Policy.Arn
	if arn != "arn:aws:iam::123456789012:policy/team/mine" || *cp.Policy.DefaultVersionId != "v1" || *cp.Policy.AttachmentCount != 0 {
		t.Fatalf("CreatePolicy %+v", cp.Policy)
	}
	_, err = c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("MINE"), PolicyDocument: aws.String(testDoc)})
	var ae *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &ae) {
		t.Fatalf("duplicate policy: %v", err)
	}
	pv, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: aws.String("v1")})
	if err != nil || unescape(t, pv.PolicyVersion.Document) != testDoc {
		t.Fatalf("GetPolicyVersion %+v %v", pv, err)
	}
	mustCreateRole(t, c, "user")
	if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("user"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	gp, _ := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if *gp.Policy.AttachmentCount != 1 {
		t.Fatalf("AttachmentCount %d", *gp.Policy.AttachmentCount)
	}
	ents, err := c.ListEntitiesForPolicy(ctx, &iam.ListEntitiesForPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil || len(ents.PolicyRoles) != 1 || *ents.PolicyRoles[0].RoleName != "user" {
		t.Fatalf("ListEntitiesForPolicy %+v %v", ents, err)
	}
	_, err = c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)})
	var dc *iamtypes.DeleteConflictException
	if !errors.As(err, &dc) || dc.ErrorMessage() != "Cannot delete a policy attached to entities." {
		t.Fatalf("DeletePolicy attached: %v", err)
	}

	// ListPolicies scopes.
	count := func(in *iam.ListPoliciesInput) []string {
		t.Helper()
		out, err := c.ListPolicies(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range out.Policies {
			names = append(names, *p.PolicyName)
		}
		return names
	}
	if got := count(&iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal}); !reflect.DeepEqual(got, []string{"mine"}) {
		t.Fatalf("Local: %v", got)
	}
	aws_ := count(&iam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeAws})
	if len(aws_) < 6 || !sort.StringsAreSorted(aws_) {
		t.Fatalf("AWS: %v", aws_)
	}
	if got := count(&iam.ListPoliciesInput{}); len(got) != len(aws_)+1 {
		t.Fatalf("All: %v", got)
	}
	if got := count(&iam.ListPoliciesInput{OnlyAttached: true}); !reflect.DeepEqual(got, []string{"mine"}) {
		t.Fatalf("OnlyAttached: %v", got)
	}
	if got := count(&iam.ListPoliciesInput{PathPrefix: aws.String("/team/")}); !reflect.DeepEqual(got, []string{"mine"}) {
		t.Fatalf("PathPrefix: %v", got)
	}

	if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("user"), PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if !errors.As(err, &nse) {
		t.Fatalf("GetPolicy after delete: %v", err)
	}
}

func TestIAMPaging(t *testing.T) {
	t.Parallel()
	_, c, ctx := newIAMTest(t)
	var want []string
	for i := 0; i < 7; i++ {
		name := fmt.Sprintf("role-%02d", i)
		want = append(want, name)
		mustCreateRole(t, c, name)
	}
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("other"), Path: aws.String("/x/"), AssumeRolePolicyDocument: aws.String(testTrust)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	pages := 0
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{PathPrefix: aws.String("/"), MaxItems: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Roles) > 3 {
			t.Fatalf("page of %d", len(out.Roles))
		}
		for _, r := range out.Roles {
			got = append(got, *r.RoleName)
		}
	}
	if pages != 3 || len(got) != 8 {
		t.Fatalf("pages=%d got=%v", pages, got)
	}
	got = nil
	out, err := c.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/x/")})
	if err != nil || len(out.Roles) != 1 || out.IsTruncated {
		t.Fatalf("PathPrefix /x/: %+v %v", out, err)
	}
	out, err = c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(7)})
	if err != nil || !out.IsTruncated || out.Marker == nil {
		t.Fatalf("truncation: %+v %v", out, err)
	}
	for _, r := range out.Roles {
		got = append(got, *r.RoleName)
	}
	if !reflect.DeepEqual(got[:1], []string{"other"}) || !reflect.DeepEqual(got[1:], want[:6]) {
		t.Fatalf("order: %v", got)
	}
	// Inline policy names page too.
	for i := 0; i < 5; i++ {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("role-00"), PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(testDoc)}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	pp := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: aws.String("role-00"), MaxItems: aws.Int32(2)})
	for pp.HasMorePages() {
		out, err := pp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, out.PolicyNames...)
	}
	if !reflect.DeepEqual(names, []string{"p0", "p1", "p2", "p3", "p4"}) {
		t.Fatalf("policy names %v", names)
	}
	_, err = c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(1001)})
	if code := apiCode(t, err); code != "ValidationError" {
		t.Fatalf("MaxItems 1001: %s", code)
	}
}

func TestIAMErrors(t *testing.T) {
	t.Parallel()
	_, c, ctx := newIAMTest(t)
	mustCreateRole(t, c, "exists")
	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("prof")}); err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	bigDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + long(131072) + `"}]}`
	type tc struct {
		name string
		call func() error
		code string // error code
		msg  string // exact message, or "" to skip
		typ  any    // pointer to the typed error, or nil
	}
	var (
		nse *iamtypes.NoSuchEntityException
		dc  *iamtypes.DeleteConflictException
		eae *iamtypes.EntityAlreadyExistsException
		mpd *iamtypes.MalformedPolicyDocumentException
		ii  *iamtypes.InvalidInputException
	)
	createRole := func(name, doc string, mod func(*iam.CreateRoleInput)) func() error {
		return func() error {
			in := &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(doc)}
			if mod != nil {
				mod(in)
			}
			_, err := c.CreateRole(ctx, in)
			return err
		}
	}
	cases := []tc{
		{"duplicate role", createRole("exists", testTrust, nil), "EntityAlreadyExists", "Role with name exists already exists.", &eae},
		{"duplicate role other case", createRole("EXISTS", testTrust, nil), "EntityAlreadyExists", "Role with name EXISTS already exists.", &eae},
		{"role name too long", createRole(long(65), testTrust, nil), "ValidationError",
			"1 validation error detected: Value '" + long(65) + "' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64", nil},
		{"role name bad chars", createRole("a/b", testTrust, nil), "ValidationError",
			`1 validation error detected: Value 'a/b' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`, nil},
		{"role name empty", createRole("", testTrust, nil), "ValidationError",
			"1 validation error detected: Value '' at 'roleName' failed to satisfy constraint: Member must have length greater than or equal to 1", nil},
		{"bad path", createRole("p1", testTrust, func(in *iam.CreateRoleInput) { in.Path = aws.String("noslash") }), "ValidationError", "", nil},
		{"path without trailing slash", createRole("p2", testTrust, func(in *iam.CreateRoleInput) { in.Path = aws.String("/a") }), "ValidationError", "", nil},
		{"path too long", createRole("p3", testTrust, func(in *iam.CreateRoleInput) { in.Path = aws.String("/" + long(512) + "/") }), "ValidationError", "", nil},
		{"max session too small", createRole("m1", testTrust, func(in *iam.CreateRoleInput) { in.MaxSessionDuration = aws.Int32(3599) }), "ValidationError",
			"1 validation error detected: Value '3599' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600", nil},
		{"max session too large", createRole("m2", testTrust, func(in *iam.CreateRoleInput) { in.MaxSessionDuration = aws.Int32(43201) }), "ValidationError", "", nil},
		{"two violations", createRole(long(65), testTrust, func(in *iam.CreateRoleInput) { in.MaxSessionDuration = aws.Int32(1) }), "ValidationError", "", nil},
		{"trust not JSON", createRole("j1", "{nope", nil), "MalformedPolicyDocument", "Syntax errors in policy.", &mpd},
		{"trust no statement", createRole("j2", `{"Version":"2012-10-17"}`, nil), "MalformedPolicyDocument", "", &mpd},
		{"trust bad version", createRole("j3", `{"Version":"2020-01-01","Statement":[]}`, nil), "MalformedPolicyDocument", "", &mpd},
		{"trust no principal", createRole("j4", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, nil), "MalformedPolicyDocument", "", &mpd},
		{"trust invalid principal", createRole("j5", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"sts:AssumeRole"}]}`, nil), "MalformedPolicyDocument", "Invalid principal in policy: \"AWS\":\"bob\"", &mpd},
		{"trust names absent role", createRole("j8", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:role/exists","arn:aws:iam::123456789012:role/ghost"]},"Action":"sts:AssumeRole"}]}`, nil),
			"MalformedPolicyDocument", `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/ghost"`, &mpd},
		{"trust empty", createRole("j6", "", nil), "ValidationError", "", nil},
		{"doc too long", createRole("j7", bigDoc, nil), "ValidationError", "", nil},
		{"duplicate tags", createRole("t1", testTrust, func(in *iam.CreateRoleInput) {
			in.Tags = []iamtypes.Tag{{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("A"), Value: aws.String("2")}}
		}), "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.", &ii},
		{"unknown boundary", createRole("b1", testTrust, func(in *iam.CreateRoleInput) {
			in.PermissionsBoundary = aws.String("arn:aws:iam::123456789012:policy/nope")
		}), "NoSuchEntity", "Scope ARN: arn:aws:iam::123456789012:policy/nope does not exist or is not attachable.", &nse},
		{"get absent role", func() error { _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("ghost")}); return err },
			"NoSuchEntity", "The role with name ghost cannot be found.", &nse},
		{"delete absent role", func() error {
			_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("ghost")})
			return err
		},
			"NoSuchEntity", "The role with name ghost cannot be found.", &nse},
		{"update absent role", func() error {
			_, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("ghost"), Description: aws.String("x")})
			return err
		}, "NoSuchEntity", "The role with name ghost cannot be found.", &nse},
		{"update bad max", func() error {
			_, err := c.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("exists"), MaxSessionDuration: aws.Int32(100)})
			return err
		}, "ValidationError", "", nil},
		{"update trust malformed", func() error {
			_, err := c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("exists"), PolicyDocument: aws.String("[]")})
			return err
		}, "MalformedPolicyDocument", "", &mpd},
		{"get absent inline", func() error {
			_, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("exists"), PolicyName: aws.String("nope")})
			return err
		}, "NoSuchEntity", "The role policy with name nope cannot be found.", &nse},
		{"delete absent inline", func() error {
			_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("exists"), PolicyName: aws.String("nope")})
			return err
		}, "NoSuchEntity", "The role policy with name nope cannot be found.", &nse},
		{"put inline malformed", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("exists"), PolicyName: aws.String("x"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*"}]}`)})
			return err
		}, "MalformedPolicyDocument", "Policy statement must contain resources.", &mpd},
		{"put inline with principal", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("exists"), PolicyName: aws.String("x"), PolicyDocument: aws.String(testTrust)})
			return err
		}, "MalformedPolicyDocument", "", &mpd},
		{"put inline bad effect", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("exists"), PolicyName: aws.String("x"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}`)})
			return err
		}, "MalformedPolicyDocument", "", &mpd},
		{"put inline absent role", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("ghost"), PolicyName: aws.String("x"), PolicyDocument: aws.String(testDoc)})
			return err
		}, "NoSuchEntity", "The role with name ghost cannot be found.", &nse},
		{"put inline bad name", func() error {
			_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("exists"), PolicyName: aws.String("a b"), PolicyDocument: aws.String(testDoc)})
			return err
		}, "ValidationError", "", nil},
		{"attach absent policy", func() error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("exists"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
			return err
		}, "NoSuchEntity", "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.", &nse},
		{"attach bad arn", func() error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("exists"), PolicyArn: aws.String("not-an-arn-but-long-enough")})
			return err
		}, "InvalidInput", "ARN not-an-arn-but-long-enough is not valid.", &ii},
		{"attach to absent role", func() error {
			_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("ghost"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")})
			return err
		}, "NoSuchEntity", "The role with name ghost cannot be found.", &nse},
		{"detach not attached", func() error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("exists"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")})
			return err
		}, "NoSuchEntity", "", &nse},
		{"duplicate profile", func() error {
			_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("PROF")})
			return err
		}, "EntityAlreadyExists", "", &eae},
		{"profile name too long", func() error {
			_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(long(129))})
			return err
		}, "ValidationError", "", nil},
		{"get absent profile", func() error {
			_, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", "Instance Profile ghost cannot be found.", &nse},
		{"delete absent profile", func() error {
			_, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", "Instance Profile ghost cannot be found.", &nse},
		{"add absent role to profile", func() error {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("prof"), RoleName: aws.String("ghost")})
			return err
		}, "NoSuchEntity", "The role with name ghost cannot be found.", &nse},
		{"add role to absent profile", func() error {
			_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("ghost"), RoleName: aws.String("exists")})
			return err
		}, "NoSuchEntity", "Instance Profile ghost cannot be found.", &nse},
		{"policy name too long", func() error {
			_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(long(129)), PolicyDocument: aws.String(testDoc)})
			return err
		}, "ValidationError", "", nil},
		{"policy malformed", func() error {
			_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("pm"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]}`)})
			return err
		}, "MalformedPolicyDocument", "", &mpd},
		{"get absent policy", func() error {
			_, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/ghost")})
			return err
		}, "NoSuchEntity", "Policy arn:aws:iam::123456789012:policy/ghost was not found.", &nse},
		{"delete AWS managed policy", func() error {
			_, err := c.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")})
			return err
		}, "InvalidInput", "", &ii},
		{"list policies bad scope", func() error {
			_, err := c.ListPolicies(ctx, &iam.ListPoliciesInput{Scope: "Everything"})
			return err
		}, "ValidationError", "", nil},
		{"unknown action", func() error {
			_, err := c.ListUsers(ctx, &iam.ListUsersInput{})
			return err
		}, "InvalidAction", "", nil},
	}
	_ = dc
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			if code := apiCode(t, err); code != tc.code {
				t.Fatalf("code %s, want %s (%v)", code, tc.code, err)
			}
			var ae smithy.APIError
			errors.As(err, &ae)
			if tc.msg != "" && ae.ErrorMessage() != tc.msg {
				t.Fatalf("message %q, want %q", ae.ErrorMessage(), tc.msg)
			}
			if tc.typ != nil && !errors.As(err, tc.typ) {
				t.Fatalf("error %T is not %T", err, tc.typ)
			}
		})
	}
	// Nothing was created by the failing calls.
	out, err := c.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil || len(out.Roles) != 1 {
		t.Fatalf("roles after errors: %+v %v", out, err)
	}
}

func TestIAMQuotas(t *testing.T) {
	t.Parallel()
	_, c, ctx := newIAMTest(t)
	mustCreateRole(t, c, "q")
	// Inline policies: 10240 characters per role, whitespace excluded.
	big := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("b", 6000) + `"}]}`
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("q"), PolicyName: aws.String("one"), PolicyDocument: aws.String(big)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("q"), PolicyName: aws.String("one"), PolicyDocument: aws.String(big)}); err != nil {
		t.Fatal("replacing a policy must not count it twice:", err)
	}
	_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("q"), PolicyName: aws.String("two"), PolicyDocument: aws.String(big)})
	var le *iamtypes.LimitExceededException
	if !errors.As(err, &le) || le.ErrorMessage() != "Maximum policy size of 10240 bytes exceeded for role q" {
		t.Fatalf("inline quota: %v", err)
	}
	// Ten managed policies per role.
	for i := 0; i < 11; i++ {
		cp, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%d", i)), PolicyDocument: aws.String(testDoc)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("q"), PolicyArn: cp.Policy.Arn})
		if i < 10 && err != nil {
			t.Fatal(err)
		}
		if i == 10 && (!errors.As(err, &le) || le.ErrorMessage() != "Cannot exceed quota for PoliciesPerRole: 10") {
			t.Fatalf("attach quota: %v", err)
		}
	}
	// Trust policy: 2048 characters.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/` + strings.Repeat("r", 2000) + `"},"Action":"sts:AssumeRole"}]}`
	_, err = c.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("q"), PolicyDocument: aws.String(trust)})
	if !errors.As(err, &le) || le.ErrorMessage() != "Cannot exceed quota for ACLSizePerRole: 2048" {
		t.Fatalf("trust quota: %v", err)
	}
}

// TestIAMAgentGrantsViaAPI builds roles through the API and checks what the SSM
// agent would lack.
func TestIAMAgentGrantsViaAPI(t *testing.T) {
	t.Parallel()
	e, c, ctx := newIAMTest(t)
	core := "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
	wrongTrust := strings.Replace(testTrust, "ec2.amazonaws.com", "ssm.amazonaws.com", 1)
	setup := []struct {
		role, trust, inline, attach string
		want                        []string
	}{
		{"core", testTrust, "", core, nil},
		{"exact", testTrust, exactAgentPolicy, "", nil},
		{"minimal", testTrust, minimalAgentPolicy, "", []string{"ssm:UpdateInstanceInformation"}},
		{"wrong-trust", wrongTrust, "", core, []string{agentTrustMissing}},
	}
	for _, s := range setup {
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(s.role), AssumeRolePolicyDocument: aws.String(s.trust)}); err != nil {
			t.Fatal(err)
		}
		if s.inline != "" {
			if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(s.role), PolicyName: aws.String("agent"), PolicyDocument: aws.String(s.inline)}); err != nil {
				t.Fatal(err)
			}
		}
		if s.attach != "" {
			if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(s.role), PolicyArn: aws.String(s.attach)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A profile created through the API is found by name and ARN, with its role.
	ip, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("p"), RoleName: aws.String("minimal")}); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range setup {
		missing, ok := e.roleAgentGrantsLocked(s.role)
		if !ok || !reflect.DeepEqual(missing, s.want) {
			t.Errorf("%s: missing %v ok %v, want %v", s.role, missing, ok, s.want)
		}
	}
	ref, ok := e.lookupProfileLocked(*ip.InstanceProfile.Arn)
	if !ok || ref.RoleName != "minimal" || ref.ID != *ip.InstanceProfile.InstanceProfileId || !ref.Created.Equal(*ip.InstanceProfile.CreateDate) {
		t.Fatalf("lookup %+v %v", ref, ok)
	}
	if e.profileGrantsAgentLocked(ref.Arn) {
		t.Fatal("the minimal policy must not let the agent register")
	}
}

// TestIAMConcurrent creates and deletes roles and profiles from many goroutines
// and checks that state stays consistent.
func TestIAMConcurrent(t *testing.T) {
	t.Parallel()
	e, c, ctx := newIAMTest(t)
	const workers, rounds = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				role := aws.String(fmt.Sprintf("r-%d-%d", w, i))
				prof := aws.String(fmt.Sprintf("ip-%d-%d", w, i))
				// Everyone also fights over one shared profile.
				shared := aws.String("shared")
				steps := []func() error{
					func() error {
						_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: role, AssumeRolePolicyDocument: aws.String(testTrust)})
						return err
					},
					func() error {
						_, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: prof})
						return err
					},
					func() error {
						_, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: prof, RoleName: role})
						return err
					},
					func() error {
						_, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("p"), PolicyDocument: aws.String(testDoc)})
						return err
					},
				}
				if i%2 == 1 { // odd rounds tear down again
					steps = append(steps,
						func() error {
							_, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: prof, RoleName: role})
							return err
						},
						func() error {
							_, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: prof})
							return err
						},
						func() error {
							_, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: role, PolicyName: aws.String("p")})
							return err
						},
						func() error {
							_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: role})
							return err
						})
				}
				for _, s := range steps {
					if err := s(); err != nil {
						errs <- err
						return
					}
				}
				// Racy on purpose: create may collide, add may hit the quota.
				_, _ = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: shared})
				_, _ = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: shared, RoleName: aws.String(fmt.Sprintf("r-%d-0", w))})
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	roles, err := c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	wantRoles := workers * rounds / 2
	if len(roles.Roles) != wantRoles || len(profiles.InstanceProfiles) != wantRoles+1 {
		t.Fatalf("roles %d profiles %d, want %d and %d", len(roles.Roles), len(profiles.InstanceProfiles), wantRoles, wantRoles+1)
	}
	for _, p := range profiles.InstanceProfiles {
		if len(p.Roles) != 1 {
			t.Fatalf("profile %s has %d roles", *p.InstanceProfileName, len(p.Roles))
		}
	}
	// Every profile's role exists, and names map to distinct IDs.
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := map[string]bool{}
	for _, ip := range e.iam.profiles {
		if ip.Role != "" && e.iam.roles[ip.Role] == nil {
			t.Fatalf("profile %s points at deleted role %s", ip.Name, ip.Role)
		}
		ids[ip.ID] = true
	}
	for _, r := range e.iam.roles {
		ids[r.ID] = true
	}
	if len(ids) != len(e.iam.profiles)+len(e.iam.roles) {
		t.Fatal("duplicate IDs")
	}
}
