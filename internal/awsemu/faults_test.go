package awsemu

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// noRetries is a client option that makes one attempt per call, so a lost
// response surfaces as the caller's error.
func noRetries(cfg aws.Config) aws.Config {
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return cfg
}

// isConnectionError reports whether err is what a client sees when the
// connection ends without a response: the SDK's retryer classes it as a
// retryable connection error.
func isConnectionError(err error) bool {
	return err != nil && retry.RetryableConnectionError{}.IsErrorRetryable(err) == aws.TrueTernary
}

func TestLostResponseActsButAnswersNothing(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	cfg = noRetries(cfg)
	ctx := t.Context()
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})

	// JSON protocol (SSM): the command exists although the caller got no answer.
	cl := ssm.NewFromConfig(cfg)
	e.SetFault("ssm.SendCommand", Fault{LostResponseRate: 1})
	_, err := cl.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids,
		Parameters: map[string][]string{"commands": {"true"}}, Comment: aws.String("lost")})
	if !isConnectionError(err) {
		t.Fatalf("SendCommand with its response lost: %v, want a connection error", err)
	}
	out, err := cl.ListCommands(ctx, &ssm.ListCommandsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Commands) != 1 || aws.ToString(out.Commands[0].Comment) != "lost" {
		t.Fatalf("commands after a lost SendCommand response: %+v, want the one sent", out.Commands)
	}
	if got := e.CallCount("ssm.SendCommand#lost"); got != 1 {
		t.Errorf("ssm.SendCommand#lost = %d, want 1", got)
	}
	if got := e.CallCount("ssm.SendCommand"); got != 1 {
		t.Errorf("ssm.SendCommand = %d, want 1 (the lost call is a call)", got)
	}

	// Query protocol (IAM): the role exists; a retry is EntityAlreadyExists.
	ic := iam.NewFromConfig(cfg)
	e.SetFault("iam", Fault{LostResponseRate: 1})
	e.SetFault("iam.GetRole", Fault{}) // the most specific key wins
	createRole := func() error {
		_, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("lost-role"), AssumeRolePolicyDocument: aws.String(testTrust)})
		return err
	}
	if err := createRole(); !isConnectionError(err) {
		t.Fatalf("CreateRole with its response lost: %v, want a connection error", err)
	}
	if _, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("lost-role")}); err != nil {
		t.Fatalf("GetRole after a lost CreateRole response: %v", err)
	}
	e.ClearFaults()
	var eae *iamtypes.EntityAlreadyExistsException
	if err := createRole(); !errors.As(err, &eae) {
		t.Errorf("CreateRole again: %v, want EntityAlreadyExists", err)
	}

	// REST protocol (S3): the object is stored.
	sc := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lost-bucket")}); err != nil {
		t.Fatal(err)
	}
	e.SetFault("s3.PutObject", Fault{LostResponseRate: 1})
	_, err = sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lost-bucket"), Key: aws.String("k"), Body: strings.NewReader("body")})
	if !isConnectionError(err) {
		t.Fatalf("PutObject with its response lost: %v, want a connection error", err)
	}
	e.ClearFaults()
	if _, err := sc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lost-bucket"), Key: aws.String("k")}); err != nil {
		t.Errorf("HeadObject after a lost PutObject response: %v", err)
	}
}

func TestLostResponseRateIsAProbability(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	cl := iam.NewFromConfig(noRetries(cfg))
	ctx := t.Context()
	e.SetFault("iam.ListRoles", Fault{LostResponseRate: 0.5})
	const n = 200
	failed := 0
	for range n {
		if _, err := cl.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
			if !isConnectionError(err) {
				t.Fatalf("ListRoles: %v, want a connection error or success", err)
			}
			failed++
		}
	}
	lost := e.CallCount("iam.ListRoles#lost")
	if int64(failed) != lost || lost < n/4 || lost > 3*n/4 {
		t.Errorf("%d of %d calls failed, %d counted lost: want about half, and equal", failed, n, lost)
	}
}

func TestAdminLostResponseFault(t *testing.T) {
	t.Parallel()
	e, _ := newTestEmulator(t, Options{})
	if code, body := adminDo(t, e, "PUT", "/_awsemu/faults/ssm.SendCommand", `{"lost_response_rate":0.25,"reset_rate":0.1}`, nil); code != 200 {
		t.Fatalf("put fault: %d %s", code, body)
	}
	e.mu.Lock()
	f := e.faults["ssm.SendCommand"]
	e.mu.Unlock()
	if f.LostResponseRate != 0.25 || f.ResetRate != 0.1 {
		t.Errorf("fault %+v", f)
	}
	var faults map[string]adminFault
	adminDo(t, e, "GET", "/_awsemu/faults", "", &faults)
	if faults["ssm.SendCommand"].LostResponseRate != 0.25 {
		t.Errorf("faults %+v", faults)
	}
	for _, body := range []string{`{"lost_response_rate":1.5}`, `{"lost_response_rate":-1}`, `{"lost_rate":0.1}`} {
		if code, raw := adminDo(t, e, "PUT", "/_awsemu/faults/ssm", body, nil); code != 400 {
			t.Errorf("fault %s: %d %s", body, code, raw)
		}
	}
}
