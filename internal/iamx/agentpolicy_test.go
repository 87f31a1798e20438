package iamx

import (
	"net/url"
	"reflect"
	"testing"
)

func TestMissingActions(t *testing.T) {
	managedCore := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:DescribeAssociation","ssm:GetDocument","ssm:UpdateInstanceInformation","ssm:ListInstanceAssociations"],"Resource":"*"},{"Effect":"Allow","Action":["ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"},{"Effect":"Allow","Action":["ec2messages:AcknowledgeMessage","ec2messages:DeleteMessage","ec2messages:FailMessage","ec2messages:GetEndpoint","ec2messages:GetMessages","ec2messages:SendReply"],"Resource":"*"}]}`
	copiedMinimal := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssmmessages:*","ec2messages:*","s3:GetObject"],"Resource":"*"}]}`
	wildcard := `{"Statement":{"Effect":"Allow","Action":"ssm*:*","Resource":"*"}}`
	denied := `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ec2messages:Get*","Resource":"*"}]}`
	notAction := `{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`

	tests := []struct {
		name string
		docs []string
		want []string
	}{
		{"managed core", []string{managedCore}, nil},
		{"url-encoded managed core", []string{url.QueryEscape(managedCore)}, nil},
		{"copied minimal policy lacks UpdateInstanceInformation", []string{copiedMinimal}, []string{"ssm:UpdateInstanceInformation"}},
		{"wildcard service prefix", []string{wildcard}, []string{"ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply"}},
		{"explicit deny wins", []string{denied}, []string{"ec2messages:GetEndpoint", "ec2messages:GetMessages"}},
		{"NotAction", []string{notAction}, nil},
		{"nothing", nil, AgentActions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var docs []*PolicyDocument
			for _, d := range tc.docs {
				p, err := ParsePolicy(d)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(docs, p)
			}
			if got := MissingActions(docs, AgentActions); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MissingActions = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAgentGaps(t *testing.T) {
	mgsOnly := `{"Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]}`
	mdsOnly := `{"Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ec2messages:*"],"Resource":"*"}]}`
	dataOnly := `{"Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:CreateDataChannel","ssmmessages:OpenDataChannel","ec2messages:GetMessages"],"Resource":"*"}]}`
	copiedMinimal := `{"Statement":[{"Effect":"Allow","Action":["ssmmessages:*","ec2messages:*","s3:GetObject"],"Resource":"*"}]}`
	deniedMGS := `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ssmmessages:*","Resource":"*"}]}`
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"ssmmessages channel without ec2messages", mgsOnly, nil},
		{"ec2messages channel without ssmmessages", mdsOnly, nil},
		{"ssmmessages denied, ec2messages allowed", deniedMGS, nil},
		{"copied minimal policy", copiedMinimal, []string{"it does not allow ssm:UpdateInstanceInformation, so the agent cannot register"}},
		{"data channel only", dataOnly, []string{"it allows no channel to receive commands on: neither the ssmmessages control channel (missing ssmmessages:CreateControlChannel, ssmmessages:OpenControlChannel) nor the ec2messages channel (missing ec2messages:AcknowledgeMessage, ec2messages:DeleteMessage, ec2messages:FailMessage, ec2messages:GetEndpoint, ec2messages:SendReply)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := AgentGaps([]*PolicyDocument{p}); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("AgentGaps = %q, want %q", got, tc.want)
			}
		})
	}
	if got := AgentGaps(nil); len(got) != 2 {
		t.Errorf("AgentGaps(nothing) = %q, want both gaps", got)
	}
}

func TestTrustsService(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`:                            true,
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]},"Action":["sts:AssumeRole"]}]}`: true,
		`{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`:                         false,
		`{"Statement":[{"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`:                             false,
	} {
		p, err := ParsePolicy(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := TrustsService(p, AgentTrustService); got != want {
			t.Errorf("TrustsService(%s) = %v, want %v", doc, got, want)
		}
	}
	if _, err := ParsePolicy("{not json"); err == nil {
		t.Error("ParsePolicy accepted invalid JSON")
	}
}
