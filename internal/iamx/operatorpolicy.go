package iamx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
)

// The operator policy: what a person or pipeline needs to run this provider's
// commands and open sessions, and nothing more. The actions and resource forms are
// in notes/aws-behaviour.md#operator-policy.

// OperatorPolicyPartitions are the partitions the operator policy is written
// for. Their regions are those of the provider's partition table
// (awsclient.Partitions).
var OperatorPolicyPartitions = []string{"aws", "aws-cn", "aws-us-gov"}

// STSAPI is the part of the STS client CallerAccountID uses.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// CallerAccountID is the account of the caller's credentials
// (sts:GetCallerIdentity, which needs no permission).
func CallerAccountID(ctx context.Context, c STSAPI) (string, error) {
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("finding the caller's account (sts:GetCallerIdentity): %w", err)
	}
	return aws.ToString(out.Account), nil
}

// DefaultSessionDocument is the document a session uses when it names none.
const DefaultSessionDocument = "SSM-SessionManagerRunShell"

// OperatorPolicySpec says what the operator may do.
type OperatorPolicySpec struct {
	Partition string   // aws, aws-cn or aws-us-gov
	AccountID string   // 12 digits
	Regions   []string // aws:RequestedRegion of every regional call; at least one
	// Documents SendCommand may run. Names beginning with AWS- are AWS's own
	// (no account in their ARN); others are the account's.
	Documents []string
	// InstanceARNs the operator may target; empty: every EC2 instance of the account.
	InstanceARNs []string
	// InstanceTags: commands and sessions only reach instances with all these tags.
	InstanceTags map[string]string
	// Diagnosis: the IAM reads ssm_agent_online uses to explain an offline agent.
	Diagnosis bool
	// Sessions: StartSession on the instances, Terminate/Resume on the caller's own
	// sessions (session ids beginning with SessionOwner, a policy variable).
	Sessions bool
	// SessionDocuments sessions may use; default DefaultSessionDocument (a
	// shell). Names beginning with AWS- are AWS's own, such as
	// AWS-StartPortForwardingSession (no account in their ARN).
	SessionDocuments []string
	SessionOwner     string // default ${aws:username}
	// SessionKMSKeyARN: the key of ssm_session_preferences.kms_key_id; whoever
	// starts a session needs kms:GenerateDataKey on it.
	SessionKMSKeyARN string
	// StagingBucket (and StagingPrefix): ssm_file's S3 staging objects.
	StagingBucket, StagingPrefix string
	// OutputBucket (and OutputPrefix): where ssm_command_run reads full output.
	OutputBucket, OutputPrefix string
}

// Statement ids of the operator policy, so callers and tests can name them.
const (
	SidSendCommandDocuments = "SendCommandDocuments"
	SidSendCommandInstances = "SendCommandInstances"
	SidReadCommandsAgents   = "ReadCommandsAndAgents"
	SidCancelCommands       = "CancelCommands"
	SidDiagnoseIdentity     = "DiagnoseInstanceIdentity"
	SidDiagnoseDefaultHost  = "DiagnoseDefaultHostManagement"
	SidStartSessions        = "StartSessions"
	SidSessionDocument      = "StartSessionDocument"
	SidOwnSessions          = "ResumeAndTerminateOwnSessions"
	SidSessionReads         = "SessionReads"
	SidSessionDataKey       = "SessionDataKey"
	SidFileStaging          = "FileStaging"
	SidFileStagingList      = "FileStagingList"
	SidCommandOutput        = "ReadCommandOutput"
	SidCommandOutputBucket  = "CheckCommandOutputBucket"
)

// OperatorPolicy builds the policy document.
func OperatorPolicy(s OperatorPolicySpec) (PolicyDocument, error) {
	if !slices.Contains(OperatorPolicyPartitions, s.Partition) {
		return PolicyDocument{}, fmt.Errorf("partition %q is not one of %s", s.Partition, strings.Join(OperatorPolicyPartitions, ", "))
	}
	if len(s.AccountID) != 12 || strings.Trim(s.AccountID, "0123456789") != "" {
		return PolicyDocument{}, fmt.Errorf("account id %q is not 12 digits", s.AccountID)
	}
	if len(s.Regions) == 0 {
		return PolicyDocument{}, errors.New("no region given")
	}
	for _, r := range s.Regions {
		if p, known := awsclient.PartitionOfKnownRegion(r); p != s.Partition {
			if !known {
				return PolicyDocument{}, fmt.Errorf("%q is not a known region", r)
			}
			return PolicyDocument{}, fmt.Errorf("region %s is in partition %s, not %s", r, p, s.Partition)
		}
	}
	if len(s.Documents) == 0 {
		return PolicyDocument{}, errors.New("no document given")
	}
	arn := func(service, region, account, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", s.Partition, service, region, account, resource)
	}
	regions := sorted(s.Regions)
	inRegions := map[string]any{"StringEquals": map[string]any{"aws:RequestedRegion": regions}}
	withTags := func(extra map[string]any) map[string]any {
		eq := map[string]any{"aws:RequestedRegion": regions}
		for k, v := range s.InstanceTags {
			eq["ssm:resourceTag/"+k] = v
		}
		c := map[string]any{"StringEquals": eq}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	documentARNs := func(names []string) StringList {
		var docs StringList
		for _, d := range names {
			if strings.HasPrefix(d, "AWS-") {
				docs = append(docs, arn("ssm", "*", "", "document/"+d))
			} else {
				docs = append(docs, arn("ssm", "*", s.AccountID, "document/"+d))
			}
		}
		sort.Strings(docs)
		return docs
	}
	docs := documentARNs(s.Documents)
	instances := sorted(s.InstanceARNs)
	if len(instances) == 0 {
		instances = StringList{arn("ec2", "*", s.AccountID, "instance/*")}
	}
	doc := PolicyDocument{Version: "2012-10-17"}
	add := func(st Statement) { doc.Statement = append(doc.Statement, st) }
	add(Statement{Sid: SidSendCommandDocuments, Effect: "Allow", Action: StringList{"ssm:SendCommand"}, Resource: docs, Condition: inRegions})
	add(Statement{Sid: SidSendCommandInstances, Effect: "Allow", Action: StringList{"ssm:SendCommand"}, Resource: instances, Condition: withTags(nil)})
	add(Statement{Sid: SidReadCommandsAgents, Effect: "Allow", Action: StringList{
		"ec2:DescribeInstances", "ssm:DescribeInstanceInformation", "ssm:DescribeInstanceProperties", "ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands",
	}, Resource: StringList{"*"}, Condition: inRegions})
	add(Statement{Sid: SidCancelCommands, Effect: "Allow", Action: StringList{"ssm:CancelCommand"}, Resource: StringList{"*"}, Condition: inRegions})
	if s.Diagnosis {
		// IAM is global: its calls are not made in the listed regions, so no region condition.
		add(Statement{Sid: SidDiagnoseIdentity, Effect: "Allow", Action: StringList{
			"iam:GetInstanceProfile", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole", "iam:GetRolePolicy",
			"iam:ListAttachedRolePolicies", "iam:ListRolePolicies",
		}, Resource: StringList{
			arn("iam", "", "aws", "policy/*"),
			arn("iam", "", s.AccountID, "instance-profile/*"),
			arn("iam", "", s.AccountID, "policy/*"),
			arn("iam", "", s.AccountID, "role/*"),
		}})
		// Whether Default Host Management gives instances without a profile an identity.
		add(Statement{Sid: SidDiagnoseDefaultHost, Effect: "Allow", Action: StringList{"ssm:GetServiceSetting"},
			Resource:  StringList{arn("ssm", "*", s.AccountID, "servicesetting/ssm/managed-instance/default-ec2-instance-management-role")},
			Condition: inRegions})
	}
	if s.Sessions {
		sessDocs := s.SessionDocuments
		if len(sessDocs) == 0 {
			sessDocs = []string{DefaultSessionDocument}
		}
		owner := s.SessionOwner
		if owner == "" {
			owner = "${aws:username}"
		}
		add(Statement{Sid: SidStartSessions, Effect: "Allow", Action: StringList{"ssm:StartSession"}, Resource: instances,
			Condition: withTags(map[string]any{"BoolIfExists": map[string]any{"ssm:SessionDocumentAccessCheck": "true"}})})
		add(Statement{Sid: SidSessionDocument, Effect: "Allow", Action: StringList{"ssm:StartSession"},
			Resource: documentARNs(sessDocs), Condition: inRegions})
		add(Statement{Sid: SidOwnSessions, Effect: "Allow", Action: StringList{"ssm:ResumeSession", "ssm:TerminateSession"},
			Resource: StringList{arn("ssm", "*", s.AccountID, "session/"+owner+"-*")}, Condition: inRegions})
		add(Statement{Sid: SidSessionReads, Effect: "Allow", Action: StringList{
			"ssm:DescribeInstanceProperties", "ssm:DescribeSessions", "ssm:GetConnectionStatus",
		}, Resource: StringList{"*"}, Condition: inRegions})
		if s.SessionKMSKeyARN != "" {
			add(Statement{Sid: SidSessionDataKey, Effect: "Allow", Action: StringList{"kms:GenerateDataKey"},
				Resource: StringList{s.SessionKMSKeyARN}, Condition: inRegions})
		}
	}
	objects := func(bucket, prefix string) StringList {
		return StringList{arn("s3", "", "", bucket+"/"+prefix+"*")}
	}
	if s.StagingBucket != "" {
		add(Statement{Sid: SidFileStaging, Effect: "Allow", Action: StringList{"s3:DeleteObject", "s3:GetObject", "s3:PutObject"},
			Resource: objects(s.StagingBucket, s.StagingPrefix)})
		// ssm_file lists what an interrupted copy left under its staging folder
		// (ListObjectsV2 with a prefix, authorized by s3:ListBucket on the bucket;
		// s3:prefix limits it to the staging prefix).
		list := Statement{Sid: SidFileStagingList, Effect: "Allow", Action: StringList{"s3:ListBucket"},
			Resource: StringList{arn("s3", "", "", s.StagingBucket)}}
		if s.StagingPrefix != "" {
			list.Condition = map[string]any{"StringLike": map[string]any{"s3:prefix": s.StagingPrefix + "*"}}
		}
		add(list)
	}
	if s.OutputBucket != "" {
		add(Statement{Sid: SidCommandOutput, Effect: "Allow", Action: StringList{"s3:GetObject"},
			Resource: objects(s.OutputBucket, s.OutputPrefix)})
		// ssm_command_run checks the bucket exists before it sends (HeadBucket,
		// authorized by s3:ListBucket; it carries no s3:prefix to limit it by).
		add(Statement{Sid: SidCommandOutputBucket, Effect: "Allow", Action: StringList{"s3:ListBucket"},
			Resource: StringList{arn("s3", "", "", s.OutputBucket)}})
	}
	return doc, nil
}
