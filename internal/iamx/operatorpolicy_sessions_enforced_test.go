package iamx_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// userWithPolicy creates an IAM user with one inline policy and returns a
// config signed with a new access key of the user.
func userWithPolicy(t *testing.T, cfg aws.Config, name, policy string) aws.Config {
	t.Helper()
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("operator"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Copy()
	c.Credentials = credentials.NewStaticCredentialsProvider(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey, "")
	return c
}

// The session statements of the operator policy, enforced, for two IAM users
// holding it: each starts sessions on the tagged instance only (the default
// session document), terminates its own sessions and not the other's (the
// session ARN's id begins with the user name: session/${aws:username}-*).
func TestOperatorPolicySessionsEnforced(t *testing.T) {
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{})
	root := emutest.Config(e)
	ctx := t.Context()
	web, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Team": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	untagged, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := iamx.OperatorPolicy(iamx.OperatorPolicySpec{Partition: "aws", AccountID: "123456789012", Regions: []string{"us-east-1"},
		Documents: []string{"AWS-RunShellScript"}, InstanceTags: map[string]string{"Team": "web"}, Sessions: true})
	if err != nil {
		t.Fatal(err)
	}
	alice := ssm.NewFromConfig(userWithPolicy(t, root, "alice", doc.JSON()))
	bob := ssm.NewFromConfig(userWithPolicy(t, root, "bob", doc.JSON()))
	e.SetAuthorization(true)

	own, err := alice.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String(web[0])})
	if err != nil {
		t.Fatalf("session on the tagged instance: %v", err)
	}
	if !strings.HasPrefix(*own.SessionId, "alice-") || *own.TokenValue == "" || !strings.HasPrefix(*own.StreamUrl, "ws://") {
		t.Fatalf("StartSession returned %q %q %q", *own.SessionId, *own.TokenValue, *own.StreamUrl)
	}
	_, err = alice.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String(untagged[0])})
	wantDenied(t, err, "AccessDeniedException", "ssm:StartSession", "instance/"+untagged[0])

	other, err := bob.StartSession(ctx, &ssm.StartSessionInput{Target: aws.String(web[0])})
	if err != nil {
		t.Fatalf("bob's session on the tagged instance: %v", err)
	}
	_, err = alice.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: other.SessionId})
	wantDenied(t, err, "AccessDeniedException", "ssm:TerminateSession", "session/"+*other.SessionId)
	_, err = alice.ResumeSession(ctx, &ssm.ResumeSessionInput{SessionId: other.SessionId})
	wantDenied(t, err, "AccessDeniedException", "ssm:ResumeSession", "session/"+*other.SessionId)

	if _, err := alice.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: own.SessionId}); err != nil {
		t.Fatalf("terminating one's own session: %v", err)
	}
	if _, err := bob.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: other.SessionId}); err != nil {
		t.Fatalf("bob terminating his own session: %v", err)
	}
	hist, err := alice.DescribeSessions(ctx, &ssm.DescribeSessionsInput{State: ssmtypes.SessionStateHistory})
	if err != nil {
		t.Fatalf("DescribeSessions: %v", err)
	}
	if len(hist.Sessions) != 2 {
		t.Fatalf("history: want both sessions, got %d", len(hist.Sessions))
	}
	for _, s := range hist.Sessions {
		if s.Status != ssmtypes.SessionStatusTerminated {
			t.Errorf("session %s: status %s, want Terminated", *s.SessionId, s.Status)
		}
	}
}
