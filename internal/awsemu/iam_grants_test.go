package awsemu

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimalAgentPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage",
      "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages",
      "ec2messages:SendReply"], "Resource": "*"},
    {"Effect": "Allow", "Action": ["s3:GetEncryptionConfiguration", "s3:GetObject"], "Resource": "*"}
  ]
}`

const exactAgentPolicy = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[
 "ssm:UpdateInstanceInformation",
 "ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel",
 "ec2messages:AcknowledgeMessage","ec2messages:DeleteMessage","ec2messages:FailMessage","ec2messages:GetEndpoint","ec2messages:GetMessages","ec2messages:SendReply"],
 "Resource":"*"}}`

// putTestRole installs a role directly in the state (contract tests need no API).
func putTestRole(e *Emulator, name, trust string, inline map[string]string, attached ...string) {
	r := &iamRole{Name: name, Path: "/", ID: e.iamID("AROA"), Arn: e.iamArn("role", "/", name),
		Created: time.Now(), AssumeRolePolicy: trust, MaxSessionDuration: 3600, Inline: map[string]string{}}
	for k, v := range inline {
		r.Inline[k] = v
		r.InlineOrder = append(r.InlineOrder, k)
	}
	r.Attached = attached
	e.iam.roles[strings.ToLower(name)] = r
}

func TestIAMRoleAgentGrants(t *testing.T) {
	t.Parallel()
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	core := "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
	wrongTrust := strings.Replace(ec2TrustPolicy, "ec2.amazonaws.com", "lambda.amazonaws.com", 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	putTestRole(e, "core", ec2TrustPolicy, nil, core)
	putTestRole(e, "default-host", ec2TrustPolicy, nil, "arn:aws:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy")
	putTestRole(e, "exact", ec2TrustPolicy, map[string]string{"agent": exactAgentPolicy})
	putTestRole(e, "minimal", ec2TrustPolicy, map[string]string{"agent": minimalAgentPolicy})
	putTestRole(e, "wrongtrust", wrongTrust, nil, core)
	putTestRole(e, "nothing", ec2TrustPolicy, nil)
	putTestRole(e, "wildcards", ec2TrustPolicy, map[string]string{"w": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["SSM:Update*","ssmmessages:*","ec2messages:*Message","ec2messages:Get?essages","ec2messages:GetEndpoint","ec2messages:SendReply"],"Resource":"*"}]}`})
	putTestRole(e, "denied", ec2TrustPolicy, map[string]string{"deny": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ssmmessages:Open*","Resource":"*"}]}`}, core)
	putTestRole(e, "notaction", ec2TrustPolicy, map[string]string{"na": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"ec2messages:*","Resource":"*"}]}`})
	putTestRole(e, "ssmfull", ec2TrustPolicy, nil, "arn:aws:iam::aws:policy/AmazonSSMFullAccess")
	putTestRole(e, "s3ro", ec2TrustPolicy, nil, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
	putTestRole(e, "star-trust", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"}]}`, nil, core)
	putTestRole(e, "instance-resource", ec2TrustPolicy, map[string]string{"r": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:UpdateInstanceInformation","Resource":"arn:aws:ec2:*:*:instance/*"},{"Effect":"Allow","Action":["ssmmessages:*","ec2messages:*"],"Resource":"*"}]}`})
	putTestRole(e, "bucket-resource", ec2TrustPolicy, map[string]string{"r": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:UpdateInstanceInformation","Resource":"arn:aws:s3:::bucket"},{"Effect":"Allow","Action":["ssmmessages:*","ec2messages:*"],"Resource":"*"}]}`})
	mgsOnly := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]}`
	putTestRole(e, "ssmmessages-only", ec2TrustPolicy, map[string]string{"a": mgsOnly})
	putTestRole(e, "ec2messages-only", ec2TrustPolicy, map[string]string{"a": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ec2messages:*"],"Resource":"*"}]}`})
	putTestRole(e, "data-channel-only", ec2TrustPolicy, map[string]string{"a": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:*DataChannel"],"Resource":"*"}]}`})
	putTestRole(e, "bounded", ec2TrustPolicy, nil, core)
	e.iam.roles["bounded"].Boundary = "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"
	putTestRole(e, "bounded-ok", ec2TrustPolicy, nil, core)
	e.iam.roles["bounded-ok"].Boundary = "arn:aws:iam::aws:policy/AmazonSSMFullAccess"

	noChannel := []string{"ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:OpenControlChannel",
		"ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"}
	cases := []struct {
		role    string
		ok      bool
		missing []string
	}{
		{"core", true, nil},
		{"CORE", true, nil}, // names are case-insensitive
		{"default-host", true, nil},
		{"exact", true, nil},
		{"minimal", true, []string{"ssm:UpdateInstanceInformation"}},
		{"wrongtrust", true, []string{agentTrustMissing}},
		{"nothing", true, noChannel},
		{"ssmmessages-only", true, nil}, // the agent takes commands over ssmmessages
		{"ec2messages-only", true, nil}, // and falls back to ec2messages
		{"data-channel-only", true, noChannel[1:]},
		{"wildcards", true, nil},
		{"denied", true, nil},    // ssmmessages denied: ec2messages still delivers
		{"notaction", true, nil}, // ec2messages excluded: ssmmessages delivers
		{"ssmfull", true, nil},
		{"s3ro", true, noChannel},
		{"star-trust", true, nil},
		{"instance-resource", true, nil},
		{"bucket-resource", true, []string{"ssm:UpdateInstanceInformation"}},
		{"bounded", true, noChannel},
		{"bounded-ok", true, nil},
		{"absent", false, nil},
	}
	for _, c := range cases {
		missing, ok := e.roleAgentGrantsLocked(c.role)
		if ok != c.ok || !reflect.DeepEqual(missing, c.missing) {
			t.Errorf("%s: got %v %v, want %v %v", c.role, missing, ok, c.missing, c.ok)
		}
	}
}

func TestIAMReadyProfile(t *testing.T) {
	t.Parallel()
	e, err := New(Options{Region: "cn-north-1", IAMPropagationDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	p1 := e.readyProfileLocked()
	p2 := e.readyProfileLocked()
	if p1 != p2 {
		t.Fatalf("not idempotent: %+v vs %+v", p1, p2)
	}
	if p1.Name != readyProfileName || p1.RoleName != readyRoleName || !strings.HasPrefix(p1.ID, "AIPA") || len(p1.ID) != 21 {
		t.Fatalf("bad profile %+v", p1)
	}
	if p1.Arn != "arn:aws-cn:iam::123456789012:instance-profile/AWSEmuSSMInstanceProfile" {
		t.Fatalf("arn %s", p1.Arn)
	}
	if time.Since(p1.Created) < time.Hour {
		t.Fatalf("not back-dated: %v", p1.Created)
	}
	for _, key := range []string{p1.Arn, p1.Name, strings.ToLower(p1.Name)} {
		if got, ok := e.lookupProfileLocked(key); !ok || got != p1 {
			t.Fatalf("lookup %q: %+v %v", key, got, ok)
		}
	}
	if _, ok := e.lookupProfileLocked("arn:aws:iam::123456789012:instance-profile/nope"); ok {
		t.Fatal("found absent profile")
	}
	if missing, ok := e.roleAgentGrantsLocked(p1.RoleName); !ok || len(missing) != 0 {
		t.Fatalf("ready role lacks %v (ok=%v)", missing, ok)
	}
}

func TestIAMWildMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*c", "abbbc", true}, {"a*c", "abcd", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*a*b", "xxaxxb", true}, {"*a*b", "xxaxxbx", false},
		{"ssm:Get*", "ssm:GetDocument", true}, {"ssm:Get*", "ssm:PutX", false}, {"", "", true}, {"", "a", false},
	}
	for _, c := range cases {
		if got := iamWildMatch(c.p, c.s); got != c.want {
			t.Errorf("iamWildMatch(%q,%q)=%v", c.p, c.s, got)
		}
	}
	if !iamActionMatch("SSM:updateinstance*", "ssm:UpdateInstanceInformation") {
		t.Error("action match must ignore case")
	}
}
