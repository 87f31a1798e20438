package iamx

import (
	"net/url"
	"strings"
	"testing"
)

func TestEquivalent(t *testing.T) {
	a := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["b:Y","a:X"],"Resource":"*"},{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	b := `{
  "Statement": [
    {"Action": "sts:AssumeRole", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Effect": "Allow"},
    {"Resource": ["*"], "Action": ["a:X", "b:Y", "a:X"], "Effect": "Allow"}
  ],
  "Version": "2012-10-17"
}`
	if !Equivalent(a, b) {
		t.Fatal("key order, whitespace, statement order, string vs list and duplicates must not matter")
	}
	if !Equivalent(a, url.QueryEscape(b)) {
		t.Fatal("URL-encoded documents (as IAM returns them) must compare by content")
	}
	c := strings.Replace(a, `"b:Y"`, `"b:Z"`, 1)
	if Equivalent(a, c) {
		t.Fatal("different actions must differ")
	}
	d := strings.Replace(a, `"Resource":"*"`, `"Resource":"arn:aws:s3:::x"`, 1)
	if Equivalent(a, d) {
		t.Fatal("different resources must differ")
	}
	if Equivalent(a, "not json") || !Equivalent("x", "x") {
		t.Fatal("unparsable documents compare byte-wise")
	}
}

func TestInstanceRolePolicy(t *testing.T) {
	doc, ok := InstanceRolePolicy(true, Grants{})
	if !ok {
		t.Fatal("minimal policy must not be empty")
	}
	p, err := ParsePolicy(doc.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if m := MissingActions([]*PolicyDocument{p}, AgentActions); len(m) != 0 {
		t.Fatalf("minimal policy misses %v", m)
	}
	if !strings.Contains(doc.JSON(), "ssm:UpdateInstanceInformation") {
		t.Fatal("minimal policy must allow ssm:UpdateInstanceInformation")
	}
	if _, ok := InstanceRolePolicy(false, Grants{}); ok {
		t.Fatal("managed mode without grants has no inline policy")
	}
	g := Grants{
		OutputBucketARNs: []string{"arn:aws:s3:::out"},
		LogGroupARNs:     []string{"arn:aws:logs:us-east-1:123456789012:log-group:ssm"},
		KMSKeyARN:        "arn:aws:kms:us-east-1:123456789012:key/abc",
	}
	doc, ok = InstanceRolePolicy(false, g)
	if !ok {
		t.Fatal("grants make a policy")
	}
	got := doc.JSON()
	for _, want := range []string{
		`"Action":["s3:PutObject","s3:PutObjectAcl"],"Resource":["arn:aws:s3:::out/*"]`,
		`"Action":["s3:GetEncryptionConfiguration"],"Resource":["arn:aws:s3:::out"]`,
		`"Action":["logs:CreateLogStream","logs:DescribeLogStreams","logs:PutLogEvents"],"Resource":["arn:aws:logs:us-east-1:123456789012:log-group:ssm:*"]`,
		`"Action":["logs:CreateLogGroup"],"Resource":["arn:aws:logs:us-east-1:123456789012:log-group:ssm"]`,
		`"Action":["logs:DescribeLogGroups"],"Resource":["*"]`,
		`"Action":["kms:Decrypt"],"Resource":["arn:aws:kms:us-east-1:123456789012:key/abc"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("policy %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "ssm:Update") || strings.Contains(got, "ec2messages") {
		t.Errorf("managed mode's grants policy must not repeat agent actions: %s", got)
	}

	// Wildcard bucket and group patterns land verbatim.
	doc, _ = InstanceRolePolicy(true, Grants{OutputBucketARNs: []string{"arn:aws:s3:::ssm-command-output-*"},
		LogGroupARNs: []string{"arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*"}})
	got = doc.JSON()
	for _, want := range []string{
		`"Resource":["arn:aws:s3:::ssm-command-output-*/*"]`,
		`"Resource":["arn:aws:s3:::ssm-command-output-*"]`,
		`"Resource":["arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*:*"]`,
		`"Resource":["arn:aws:logs:us-east-1:123456789012:log-group:/aws/ssm/*"]`,
		`"Action":["logs:DescribeLogGroups"],"Resource":["*"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("policy %s lacks %s", got, want)
		}
	}
}

func TestTrustPolicy(t *testing.T) {
	for _, part := range []string{"aws", "aws-cn", "aws-us-gov"} {
		p, err := ParsePolicy(TrustPolicy(part).JSON())
		if err != nil || !TrustsService(p, AgentTrustService) {
			t.Fatalf("%s: trust policy must trust %s (%v)", part, AgentTrustService, err)
		}
	}
	if got := ManagedCorePolicyARN("aws-cn"); got != "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore" {
		t.Fatal(got)
	}
}

func TestProfileMatches(t *testing.T) {
	a := "arn:aws:iam::123456789012:instance-profile/team/web"
	if !ProfileMatches(a, "web") || !ProfileMatches(a, a) || ProfileMatches(a, "db") || ProfileMatches(a, "arn:aws:iam::123456789012:instance-profile/web") {
		t.Fatal("ProfileMatches")
	}
}
