package awsemu

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const accountTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`

func TestSTSGetCallerIdentityRoot(t *testing.T) {
	t.Parallel()
	_, cfg := newTestEmulator(t, Options{})
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(t.Context(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != "123456789012" || *out.Arn != "arn:aws:iam::123456789012:root" || *out.UserId != "123456789012" {
		t.Fatalf("identity %+v", out)
	}
}

func TestSTSAssumeRole(t *testing.T) {
	t.Parallel()
	e, cfg := newTestEmulator(t, Options{})
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
	sc := sts.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("deploy"), Path: aws.String("/ci/"), AssumeRolePolicyDocument: aws.String(accountTrust)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("sess-1"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	if !strings.HasPrefix(*cr.AccessKeyId, "ASIA") || len(*cr.AccessKeyId) != 20 || len(*cr.SecretAccessKey) != 40 || *cr.SessionToken == "" {
		t.Fatalf("credentials %+v", cr)
	}
	if d := time.Until(*cr.Expiration); d < 14*time.Minute || d > 16*time.Minute {
		t.Fatalf("expiration in %v", d)
	}
	wantArn := "arn:aws:sts::123456789012:assumed-role/deploy/sess-1"
	if *out.AssumedRoleUser.Arn != wantArn || *out.AssumedRoleUser.AssumedRoleId != *role.Role.RoleId+":sess-1" {
		t.Fatalf("assumed user %+v", out.AssumedRoleUser)
	}

	// A client with the temporary credentials is who it says.
	tmp := cfg.Copy()
	tmp.Credentials = credentials.NewStaticCredentialsProvider(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken)
	id, err := sts.NewFromConfig(tmp).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *id.Arn != wantArn || *id.UserId != *role.Role.RoleId+":sess-1" || *id.Account != "123456789012" {
		t.Fatalf("assumed identity %+v", id)
	}
	// And may call other services.
	if _, err := iam.NewFromConfig(tmp).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy")}); err != nil {
		t.Fatal(err)
	}

	// Bad credentials.
	bad := []struct {
		name          string
		ak, sk, token string
		code          string
	}{
		{"wrong secret", *cr.AccessKeyId, otherFirstChar(*cr.SecretAccessKey), *cr.SessionToken, "SignatureDoesNotMatch"},
		{"unknown key", "ASIAUNKNOWNUNKNOWN00", *cr.SecretAccessKey, *cr.SessionToken, "InvalidClientTokenId"},
		{"missing token", *cr.AccessKeyId, *cr.SecretAccessKey, "", "InvalidClientTokenId"},
		{"wrong token", *cr.AccessKeyId, *cr.SecretAccessKey, "bogus", "InvalidClientTokenId"},
	}
	for _, b := range bad {
		c := cfg.Copy()
		c.Credentials = credentials.NewStaticCredentialsProvider(b.ak, b.sk, b.token)
		_, err := sts.NewFromConfig(c).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if code := apiCode(t, err); code != b.code {
			t.Errorf("%s: code %s, want %s", b.name, code, b.code)
		}
	}

	// Expiry is enforced.
	e.mu.Lock()
	c := e.creds[*cr.AccessKeyId]
	c.expires = time.Now().Add(-time.Second)
	e.creds[*cr.AccessKeyId] = c
	e.mu.Unlock()
	_, err = sts.NewFromConfig(tmp).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if code := apiCode(t, err); code != "ExpiredToken" {
		t.Fatalf("expired: %s", code)
	}
}

func TestSTSAssumeRoleErrors(t *testing.T) {
	t.Parallel()
	_, cfg := newTestEmulator(t, Options{})
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
	sc := sts.NewFromConfig(cfg)
	mk := func(name, trust string, maxSession int32) string {
		out, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(maxSession)})
		if err != nil {
			t.Fatal(err)
		}
		return *out.Role.Arn
	}
	open := mk("open", accountTrust, 7200)
	star := mk("star", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`, 3600)
	ec2 := mk("ec2only", testTrust, 3600)
	other := mk("otheraccount", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole"}]}`, 3600)
	denyAll := mk("denied", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:*"}]}`, 3600)

	assume := func(arn, session string, dur int32) error {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(arn), RoleSessionName: aws.String(session)}
		if dur != 0 {
			in.DurationSeconds = aws.Int32(dur)
		}
		_, err := sc.AssumeRole(ctx, in)
		return err
	}
	if err := assume(star, "ok", 0); err != nil {
		t.Fatal("Principal * must allow:", err)
	}
	if err := assume(open, "long", 7200); err != nil {
		t.Fatal("up to the role's maximum:", err)
	}
	deny := func(arn string) string {
		return "User: arn:aws:iam::123456789012:root is not authorized to perform: sts:AssumeRole on resource: " + arn
	}
	cases := []struct {
		name, arn, session string
		dur                int32
		code, msg          string
	}{
		{"service-only trust", ec2, "ss", 0, "AccessDenied", deny(ec2)},
		{"other account", other, "ss", 0, "AccessDenied", deny(other)},
		{"explicit deny", denyAll, "ss", 0, "AccessDenied", deny(denyAll)},
		{"absent role", "arn:aws:iam::123456789012:role/ghost", "ss", 0, "AccessDenied", deny("arn:aws:iam::123456789012:role/ghost")},
		{"wrong path", "arn:aws:iam::123456789012:role/x/open", "ss", 0, "AccessDenied", ""},
		{"session too short", open, "a", 0, "ValidationError",
			"1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"session too long", open, strings.Repeat("s", 65), 0, "ValidationError", ""},
		{"session bad chars", open, "a b", 0, "ValidationError",
			`1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"duration too short", open, "ss", 899, "ValidationError",
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"duration over role max", open, "ss", 7201, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"duration over 12h", open, "ss", 43201, "ValidationError", ""},
		{"arn too short", "arn:aws:iam::1", "ss", 0, "ValidationError", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := assume(c.arn, c.session, c.dur)
			var ae smithy.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("want API error, got %v", err)
			}
			if ae.ErrorCode() != c.code || (c.msg != "" && ae.ErrorMessage() != c.msg) {
				t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), c.code, c.msg)
			}
		})
	}
}

func TestSTSRoleChaining(t *testing.T) {
	t.Parallel()
	_, cfg := newTestEmulator(t, Options{})
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
	first, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("first"), AssumeRolePolicyDocument: aws.String(accountTrust)})
	if err != nil {
		t.Fatal(err)
	}
	trustFirst := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + *first.Role.Arn + `"},"Action":"sts:AssumeRole"}]}`
	second, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("second"), AssumeRolePolicyDocument: aws.String(trustFirst), MaxSessionDuration: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	// Root is not named by "second"'s trust.
	_, err = sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: second.Role.Arn, RoleSessionName: aws.String("xx")})
	if code := apiCode(t, err); code != "AccessDenied" {
		t.Fatalf("root on second: %s", code)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: first.Role.Arn, RoleSessionName: aws.String("one")})
	if err != nil {
		t.Fatal(err)
	}
	tmp := cfg.Copy()
	tmp.Credentials = credentials.NewStaticCredentialsProvider(*out.Credentials.AccessKeyId, *out.Credentials.SecretAccessKey, *out.Credentials.SessionToken)
	sc := sts.NewFromConfig(tmp)
	_, err = sc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: second.Role.Arn, RoleSessionName: aws.String("two"), DurationSeconds: aws.Int32(7200)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorMessage() != "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." {
		t.Fatalf("chaining over 1h: %v", err)
	}
	out2, err := sc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: second.Role.Arn, RoleSessionName: aws.String("two")})
	if err != nil {
		t.Fatal(err)
	}
	if *out2.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/second/two" {
		t.Fatalf("chained arn %s", *out2.AssumedRoleUser.Arn)
	}
}

func TestSTSPartition(t *testing.T) {
	t.Parallel()
	_, cfg := newTestEmulator(t, Options{Region: "cn-north-1"})
	ctx := t.Context()
	ic := iam.NewFromConfig(cfg)
	role, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(strings.ReplaceAll(accountTrust, "arn:aws:", "arn:aws-cn:"))})
	if err != nil {
		t.Fatal(err)
	}
	if *role.Role.Arn != "arn:aws-cn:iam::123456789012:role/r" {
		t.Fatalf("arn %s", *role.Role.Arn)
	}
	if _, err := ic.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore")}); err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role.Role.Arn, RoleSessionName: aws.String("ss")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws-cn:sts::123456789012:assumed-role/r/ss" {
		t.Fatalf("assumed arn %s", *out.AssumedRoleUser.Arn)
	}
}

// otherFirstChar changes a secret's first character (whatever it was).
func otherFirstChar(s string) string {
	if s[0] == 'x' {
		return "y" + s[1:]
	}
	return "x" + s[1:]
}
