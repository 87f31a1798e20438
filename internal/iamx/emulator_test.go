package iamx_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

func start(t *testing.T, opts awsemu.Options) (*awsemu.Emulator, *iam.Client, *ec2.Client) {
	t.Helper()
	e := emutest.Start(t, opts)
	cfg := emutest.Config(e)
	return e, iam.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
}

// roleInProfile makes a role with a managed and an inline policy, in a profile.
func roleInProfile(t *testing.T, c *iam.Client, name string) {
	ctx := t.Context()
	_, err := iamx.CreateRole(ctx, c, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(iamx.TrustPolicy("aws").JSON())})
	if err != nil {
		t.Fatal(err)
	}
	if err := iamx.AttachPolicy(ctx, c, name, iamx.ManagedCorePolicyARN("aws")); err != nil {
		t.Fatal(err)
	}
	doc, _ := iamx.InstanceRolePolicy(true, iamx.Grants{})
	if err := iamx.PutInlinePolicy(ctx, c, name, "agent", doc.JSON()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if err := iamx.AddRoleToInstanceProfile(ctx, c, name, name); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteRoleInDocumentedOrder(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t, awsemu.Options{})
	ctx := t.Context()
	roleInProfile(t, c, "r")
	// IAM refuses to delete it as it is (DeleteConflict).
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")}); err == nil {
		t.Fatal("the emulator must refuse to delete a role in a profile")
	}
	if err := iamx.DeleteRole(ctx, c, "r", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := iamx.FindRoleByName(ctx, c, "r"); !iamx.IsNotFound(err) {
		t.Fatalf("role still found: %v", err)
	}
	if err := iamx.DeleteRole(ctx, c, "r", time.Second); err != nil {
		t.Fatalf("deleting a deleted role must succeed: %v", err)
	}
	p, err := iamx.FindInstanceProfileByName(ctx, c, "r")
	if err != nil || len(p.Roles) != 0 {
		t.Fatalf("profile must survive without the role: %v %+v", err, p)
	}
	if err := iamx.DeleteInstanceProfile(ctx, c, "r", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := iamx.FindInstanceProfileByName(ctx, c, "r"); !iamx.IsNotFound(err) {
		t.Fatalf("profile still found: %v", err)
	}
}

func TestReadRoleDecodesDocuments(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t, awsemu.Options{})
	roleInProfile(t, c, "r")
	st, err := iamx.ReadRole(t.Context(), c, "r")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := iamx.ParsePolicy(st.Trust)
	if err != nil || !iamx.TrustsService(trust, iamx.AgentTrustService) {
		t.Fatalf("trust %q: %v", st.Trust, err)
	}
	want, _ := iamx.InstanceRolePolicy(true, iamx.Grants{})
	if !iamx.Equivalent(st.Inline["agent"], want.JSON()) {
		t.Fatalf("inline policy %q", st.Inline["agent"])
	}
	if len(st.Attached) != 1 || st.Attached[0] != iamx.ManagedCorePolicyARN("aws") {
		t.Fatalf("attached %v", st.Attached)
	}
	if _, err := iamx.ReadRole(t.Context(), c, "nope"); !iamx.IsNotFound(err) {
		t.Fatalf("want not found, got %v", err)
	}
}

// TestAssociateRetriesPropagation: EC2 rejects the fresh profile for the
// propagation delay; Associate retries within its timeout and ends associated.
func TestAssociateRetriesPropagation(t *testing.T) {
	t.Parallel()
	e, c, ec := start(t, awsemu.Options{IAMPropagationDelay: 3 * time.Second})
	ids, err := e.AddInstances(awsemu.InstanceSpec{})
	if err != nil {
		t.Fatal(err)
	}
	roleInProfile(t, c, "fresh")
	ctx := t.Context()
	if _, err := iamx.Associate(ctx, ec, ids[0], "fresh", true, 500*time.Millisecond); err == nil {
		t.Fatal("a timeout shorter than the propagation delay must fail")
	}
	a, err := iamx.Associate(ctx, ec, ids[0], "fresh", true, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a.State != "associated" || e.CallCount("ec2.AssociateIamInstanceProfile") < 2 {
		t.Fatalf("state %s after %d calls", a.State, e.CallCount("ec2.AssociateIamInstanceProfile"))
	}
	// Again with the same profile: nothing to do.
	if _, err := iamx.Associate(ctx, ec, ids[0], "fresh", false, time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestAssociateExisting(t *testing.T) {
	t.Parallel()
	e, c, ec := start(t, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	roleInProfile(t, c, "mine")
	ctx := t.Context()
	_, err = iamx.Associate(ctx, ec, ids[0], "mine", false, 10*time.Second)
	var existing *iamx.ExistingAssociationError
	if !errors.As(err, &existing) || existing.AssociationID == "" || existing.ProfileARN == "" {
		t.Fatalf("want ExistingAssociationError, got %v", err)
	}
	if err := e.SetInstanceState(ids[0], awsemu.StateStopped); err != nil {
		t.Fatal(err)
	}
	a, err := iamx.Associate(ctx, ec, ids[0], "mine", true, 10*time.Second)
	if err != nil {
		t.Fatalf("replacing on a stopped instance (disassociate + associate): %v", err)
	}
	if iamx.ProfileNameFromARN(aws.ToString(a.IamInstanceProfile.Arn)) != "mine" {
		t.Fatalf("profile %s", aws.ToString(a.IamInstanceProfile.Arn))
	}
	if err := iamx.Disassociate(ctx, ec, ids[0], 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := iamx.FindAssociationByInstanceID(ctx, ec, ids[0]); !iamx.IsNotFound(err) {
		t.Fatalf("still associated: %v", err)
	}
}

func TestWaitInstanceProfileReady(t *testing.T) {
	t.Parallel()
	_, c, _ := start(t, awsemu.Options{})
	roleInProfile(t, c, "p")
	ctx := t.Context()
	began := time.Now()
	p, err := iamx.WaitInstanceProfileReady(ctx, c, "p", time.Minute)
	if err != nil || aws.ToString(p.InstanceProfileName) != "p" {
		t.Fatal(err)
	}
	if d := time.Since(began); d < iamx.ProfileReadyDelay {
		t.Fatalf("returned after %s, before the first delay", d)
	}
	if _, err := iamx.WaitInstanceProfileReady(ctx, c, "missing", time.Minute); !iamx.IsNotFound(err) {
		t.Fatalf("a profile that never appears must fail as not found, got %v", err)
	}
}
