package iamx_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

func statementsBySid(t *testing.T, doc iamx.PolicyDocument) map[string]map[string]any {
	t.Helper()
	var parsed struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(doc.JSON()), &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.Version != "2012-10-17" {
		t.Fatalf("version %q", parsed.Version)
	}
	out := map[string]map[string]any{}
	for _, st := range parsed.Statement {
		sid, ok := st["Sid"].(string)
		if !ok {
			t.Fatalf("statement without a string Sid: %v", st)
		}
		out[sid] = st
	}
	return out
}

func TestOperatorPolicyFull(t *testing.T) {
	doc, err := iamx.OperatorPolicy(iamx.OperatorPolicySpec{
		Partition: "aws-us-gov", AccountID: "111122223333", Regions: []string{"us-gov-west-1", "us-gov-east-1"},
		Documents: []string{"AWS-RunShellScript", "Deploy"}, InstanceTags: map[string]string{"Team": "web"},
		Diagnosis: true, Sessions: true, SessionKMSKeyARN: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k", StagingBucket: "stage", StagingPrefix: "ssm-file/", OutputBucket: "out",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := statementsBySid(t, doc)
	regions := map[string]any{"aws:RequestedRegion": []any{"us-gov-east-1", "us-gov-west-1"}}
	want := map[string]map[string]any{
		iamx.SidSendCommandDocuments: {"Sid": iamx.SidSendCommandDocuments, "Effect": "Allow", "Action": []any{"ssm:SendCommand"},
			"Resource":  []any{"arn:aws-us-gov:ssm:*:111122223333:document/Deploy", "arn:aws-us-gov:ssm:*::document/AWS-RunShellScript"},
			"Condition": map[string]any{"StringEquals": regions}},
		iamx.SidSendCommandInstances: {"Sid": iamx.SidSendCommandInstances, "Effect": "Allow", "Action": []any{"ssm:SendCommand"},
			"Resource": []any{"arn:aws-us-gov:ec2:*:111122223333:instance/*"},
			"Condition": map[string]any{"StringEquals": map[string]any{
				"aws:RequestedRegion": []any{"us-gov-east-1", "us-gov-west-1"}, "ssm:resourceTag/Team": "web"}}},
		iamx.SidReadCommandsAgents: {"Sid": iamx.SidReadCommandsAgents, "Effect": "Allow", "Action": []any{"ec2:DescribeInstances",
			"ssm:DescribeInstanceInformation", "ssm:DescribeInstanceProperties", "ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands"},
			"Resource": []any{"*"}, "Condition": map[string]any{"StringEquals": regions}},
		iamx.SidCancelCommands: {"Sid": iamx.SidCancelCommands, "Effect": "Allow", "Action": []any{"ssm:CancelCommand"},
			"Resource": []any{"*"}, "Condition": map[string]any{"StringEquals": regions}},
		iamx.SidDiagnoseDefaultHost: {"Sid": iamx.SidDiagnoseDefaultHost, "Effect": "Allow", "Action": []any{"ssm:GetServiceSetting"},
			"Resource":  []any{"arn:aws-us-gov:ssm:*:111122223333:servicesetting/ssm/managed-instance/default-ec2-instance-management-role"},
			"Condition": map[string]any{"StringEquals": regions}},
		iamx.SidDiagnoseIdentity: {"Sid": iamx.SidDiagnoseIdentity, "Effect": "Allow", "Action": []any{"iam:GetInstanceProfile", "iam:GetPolicy",
			"iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"},
			"Resource": []any{"arn:aws-us-gov:iam::aws:policy/*", "arn:aws-us-gov:iam::111122223333:instance-profile/*",
				"arn:aws-us-gov:iam::111122223333:policy/*", "arn:aws-us-gov:iam::111122223333:role/*"}},
		iamx.SidStartSessions: {"Sid": iamx.SidStartSessions, "Effect": "Allow", "Action": []any{"ssm:StartSession"},
			"Resource": []any{"arn:aws-us-gov:ec2:*:111122223333:instance/*"},
			"Condition": map[string]any{
				"StringEquals": map[string]any{"aws:RequestedRegion": []any{"us-gov-east-1", "us-gov-west-1"}, "ssm:resourceTag/Team": "web"},
				"BoolIfExists": map[string]any{"ssm:SessionDocumentAccessCheck": "true"}}},
		iamx.SidSessionDocument: {"Sid": iamx.SidSessionDocument, "Effect": "Allow", "Action": []any{"ssm:StartSession"},
			"Resource":  []any{"arn:aws-us-gov:ssm:*:111122223333:document/SSM-SessionManagerRunShell"},
			"Condition": map[string]any{"StringEquals": regions}},
		iamx.SidOwnSessions: {"Sid": iamx.SidOwnSessions, "Effect": "Allow", "Action": []any{"ssm:ResumeSession", "ssm:TerminateSession"},
			"Resource":  []any{"arn:aws-us-gov:ssm:*:111122223333:session/${aws:username}-*"},
			"Condition": map[string]any{"StringEquals": regions}},
		iamx.SidSessionReads: {"Sid": iamx.SidSessionReads, "Effect": "Allow", "Action": []any{"ssm:DescribeInstanceProperties",
			"ssm:DescribeSessions", "ssm:GetConnectionStatus"}, "Resource": []any{"*"}, "Condition": map[string]any{"StringEquals": regions}},
		iamx.SidSessionDataKey: {"Sid": iamx.SidSessionDataKey, "Effect": "Allow", "Action": []any{"kms:GenerateDataKey"},
			"Resource": []any{"arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k"}, "Condition": map[string]any{"StringEquals": regions}},
		iamx.SidFileStaging: {"Sid": iamx.SidFileStaging, "Effect": "Allow", "Action": []any{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
			"Resource": []any{"arn:aws-us-gov:s3:::stage/ssm-file/*"}},
		iamx.SidFileStagingList: {"Sid": iamx.SidFileStagingList, "Effect": "Allow", "Action": []any{"s3:ListBucket"},
			"Resource": []any{"arn:aws-us-gov:s3:::stage"}, "Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": "ssm-file/*"}}},
		iamx.SidCommandOutput: {"Sid": iamx.SidCommandOutput, "Effect": "Allow", "Action": []any{"s3:GetObject"},
			"Resource": []any{"arn:aws-us-gov:s3:::out/*"}},
		iamx.SidCommandOutputBucket: {"Sid": iamx.SidCommandOutputBucket, "Effect": "Allow", "Action": []any{"s3:ListBucket"},
			"Resource": []any{"arn:aws-us-gov:s3:::out"}},
	}
	for sid, w := range want {
		if !reflect.DeepEqual(got[sid], w) {
			t.Errorf("statement %s:\n got %v\nwant %v", sid, got[sid], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d statements, want %d", len(got), len(want))
	}
}

// Session documents: AWS's own (AWS-...) have no account in their ARN, the
// account's have it; the list replaces the default shell document.
func TestOperatorPolicySessionDocuments(t *testing.T) {
	doc, err := iamx.OperatorPolicy(iamx.OperatorPolicySpec{Partition: "aws", AccountID: "111122223333", Regions: []string{"eu-west-1"},
		Documents: []string{"AWS-RunShellScript"}, Sessions: true,
		SessionDocuments: []string{"AWS-StartPortForwardingSession", "AWS-StartPortForwardingSessionToRemoteHost", "OpsShell"}})
	if err != nil {
		t.Fatal(err)
	}
	got := statementsBySid(t, doc)[iamx.SidSessionDocument]["Resource"]
	want := []any{"arn:aws:ssm:*:111122223333:document/OpsShell", "arn:aws:ssm:*::document/AWS-StartPortForwardingSession",
		"arn:aws:ssm:*::document/AWS-StartPortForwardingSessionToRemoteHost"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("session documents: got %v, want %v", got, want)
	}
}

// Without options: only commands, in the aws partition, on every instance of the account.
func TestOperatorPolicyMinimal(t *testing.T) {
	doc, err := iamx.OperatorPolicy(iamx.OperatorPolicySpec{Partition: "aws-cn", AccountID: "111122223333",
		Regions: []string{"cn-north-1"}, Documents: []string{"AWS-RunShellScript"}})
	if err != nil {
		t.Fatal(err)
	}
	got := statementsBySid(t, doc)
	var sids []string
	for _, st := range doc.Statement {
		sids = append(sids, st.Sid)
	}
	if want := []string{iamx.SidSendCommandDocuments, iamx.SidSendCommandInstances, iamx.SidReadCommandsAgents, iamx.SidCancelCommands}; !reflect.DeepEqual(sids, want) {
		t.Fatalf("statements %v, want %v", sids, want)
	}
	if c := got[iamx.SidSendCommandInstances]["Condition"]; !reflect.DeepEqual(c, map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": []any{"cn-north-1"}}}) {
		t.Fatalf("instance condition without tags: %v", c)
	}
	if r := got[iamx.SidSendCommandDocuments]["Resource"]; !reflect.DeepEqual(r, []any{"arn:aws-cn:ssm:*::document/AWS-RunShellScript"}) {
		t.Fatalf("document ARNs: %v", r)
	}
}

func TestOperatorPolicyRejects(t *testing.T) {
	base := iamx.OperatorPolicySpec{Partition: "aws", AccountID: "111122223333", Regions: []string{"us-east-1"}, Documents: []string{"AWS-RunShellScript"}}
	for want, mod := range map[string]func(*iamx.OperatorPolicySpec){
		"not a known region":  func(s *iamx.OperatorPolicySpec) { s.Regions = []string{"us-east-9"} },
		"in partition aws-cn": func(s *iamx.OperatorPolicySpec) { s.Regions = []string{"cn-north-1"} },
		"not one of aws":      func(s *iamx.OperatorPolicySpec) { s.Partition = "aws-iso" },
		"is not 12 digits":    func(s *iamx.OperatorPolicySpec) { s.AccountID = "1234" },
		"no document given":   func(s *iamx.OperatorPolicySpec) { s.Documents = nil },
		"no region given":     func(s *iamx.OperatorPolicySpec) { s.Regions = nil },
	} {
		s := base
		mod(&s)
		if _, err := iamx.OperatorPolicy(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
}
