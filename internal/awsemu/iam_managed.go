package awsemu

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"
)

// AWS managed policies the emulator knows. The documents are the published
// default versions as closely as known; GetPolicyVersion returns them.
// GUESS: policy IDs are derived from the name (the real IDs are not recorded
// here), and creation/update dates and version numbers are approximate.

type awsManagedDef struct {
	Name, Description, Version string
	Path                       string // "" for "/"
	Created, Updated           string
	Doc                        string
}

var awsManagedDefs = []awsManagedDef{
	{
		Name:        "AmazonSSMManagedInstanceCore",
		Description: "The policy for Amazon EC2 Role to enable AWS Systems Manager service core functionality.",
		Version:     "v2", Created: "2019-03-15T17:22:12Z", Updated: "2019-05-23T16:54:21Z",
		Doc: `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["ssm:DescribeAssociation","ssm:GetDeployablePatchSnapshotForInstance","ssm:GetDocument","ssm:DescribeDocument","ssm:GetManifest","ssm:GetParameter","ssm:GetParameters","ssm:ListAssociations","ssm:ListInstanceAssociations","ssm:PutInventory","ssm:PutComplianceItems","ssm:PutConfigurePackageResult","ssm:UpdateAssociationStatus","ssm:UpdateInstanceAssociationStatus","ssm:UpdateInstanceInformation"],"Resource":"*"},
{"Effect":"Allow","Action":["ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"},
{"Effect":"Allow","Action":["ec2messages:AcknowledgeMessage","ec2messages:DeleteMessage","ec2messages:FailMessage","ec2messages:GetEndpoint","ec2messages:GetMessages","ec2messages:SendReply"],"Resource":"*"}]}`,
	},
	{
		Name:        "AmazonSSMManagedEC2InstanceDefaultPolicy",
		Description: "This policy enables AWS Systems Manager SSM Agent to perform core functionality on EC2 instances.",
		Version:     "v1", Created: "2022-08-16T21:04:19Z", Updated: "2022-08-16T21:04:19Z",
		Doc: `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["ssm:DescribeAssociation","ssm:GetDeployablePatchSnapshotForInstance","ssm:GetDocument","ssm:DescribeDocument","ssm:GetManifest","ssm:ListAssociations","ssm:ListInstanceAssociations","ssm:PutInventory","ssm:PutComplianceItems","ssm:PutConfigurePackageResult","ssm:UpdateAssociationStatus","ssm:UpdateInstanceAssociationStatus","ssm:UpdateInstanceInformation"],"Resource":"*"},
{"Effect":"Allow","Action":["ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"},
{"Effect":"Allow","Action":["ec2messages:AcknowledgeMessage","ec2messages:DeleteMessage","ec2messages:FailMessage","ec2messages:GetEndpoint","ec2messages:GetMessages","ec2messages:SendReply"],"Resource":"*"}]}`,
	},
	{
		Name:        "CloudWatchAgentServerPolicy",
		Description: "Permissions required to use AmazonCloudWatchAgent on servers",
		Version:     "v2", Created: "2018-08-27T19:25:57Z", Updated: "2023-12-20T16:53:30Z",
		Doc: `{"Version":"2012-10-17","Statement":[
{"Sid":"CWACloudWatchServerPermissions","Effect":"Allow","Action":["cloudwatch:PutMetricData","ec2:DescribeVolumes","ec2:DescribeTags","logs:PutLogEvents","logs:PutRetentionPolicy","logs:DescribeLogStreams","logs:DescribeLogGroups","logs:CreateLogStream","logs:CreateLogGroup","xray:PutTraceSegments","xray:PutTelemetryRecords","xray:GetSamplingRules","xray:GetSamplingTargets","xray:GetSamplingStatisticSummaries"],"Resource":"*"},
{"Sid":"CWASSMServerPermissions","Effect":"Allow","Action":["ssm:GetParameter"],"Resource":"arn:aws:ssm:*:*:parameter/AmazonCloudWatch-*"}]}`,
	},
	{
		Name:        "AmazonS3ReadOnlyAccess",
		Description: "Provides read only access to all buckets via the AWS Management Console.",
		Version:     "v3", Created: "2015-02-06T18:40:59Z", Updated: "2023-08-10T21:31:39Z",
		Doc: `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}`,
	},
	{
		Name:        "AmazonSSMFullAccess",
		Description: "Provides full access to Amazon SSM.",
		Version:     "v5", Created: "2015-05-29T17:39:47Z", Updated: "2021-03-01T21:07:07Z",
		Doc: `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["cloudwatch:PutMetricData","ds:CreateComputer","ds:DescribeDirectories","ec2:DescribeInstanceStatus","logs:*","ssm:*","ec2messages:*"],"Resource":"*"},
{"Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"arn:aws:iam::*:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM*","Condition":{"StringLike":{"iam:AWSServiceName":"ssm.amazonaws.com"}}},
{"Effect":"Allow","Action":["iam:DeleteServiceLinkedRole","iam:GetServiceLinkedRoleDeletionStatus"],"Resource":"arn:aws:iam::*:role/aws-service-role/ssm.amazonaws.com/AWSServiceRoleForAmazonSSM*"},
{"Effect":"Allow","Action":["ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"}]}`,
	},
	{
		Name:        "AmazonSSMReadOnlyAccess",
		Description: "Provides read only access to Amazon SSM.",
		Version:     "v1", Created: "2015-05-29T17:44:19Z", Updated: "2015-05-29T17:44:19Z",
		Doc: `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["ssm:Describe*","ssm:Get*","ssm:List*"],"Resource":"*"}]}`,
	},
	{
		// Deprecated predecessor of AmazonSSMManagedInstanceCore, still widely used.
		// GUESS: action list abridged from memory (path, dates and version per the
		// AWS managed policy reference page, notes/aws-behaviour.md#iam).
		Name:        "AmazonEC2RoleforSSM",
		Path:        "/service-role/", // notes/aws-behaviour.md#iam
		Description: "This policy will soon be deprecated. Please use AmazonSSMManagedInstanceCore policy to enable AWS Systems Manager service core functionality on EC2 instances.",
		Version:     "v8", Created: "2015-05-29T17:48:35Z", Updated: "2019-01-24T19:20:51Z",
		Doc: `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["ssm:DescribeAssociation","ssm:GetDeployablePatchSnapshotForInstance","ssm:GetDocument","ssm:DescribeDocument","ssm:GetManifest","ssm:GetParameters","ssm:ListAssociations","ssm:ListInstanceAssociations","ssm:PutInventory","ssm:PutComplianceItems","ssm:PutConfigurePackageResult","ssm:UpdateAssociationStatus","ssm:UpdateInstanceAssociationStatus","ssm:UpdateInstanceInformation"],"Resource":"*"},
{"Effect":"Allow","Action":["ssmmessages:CreateControlChannel","ssmmessages:CreateDataChannel","ssmmessages:OpenControlChannel","ssmmessages:OpenDataChannel"],"Resource":"*"},
{"Effect":"Allow","Action":["ec2messages:AcknowledgeMessage","ec2messages:DeleteMessage","ec2messages:FailMessage","ec2messages:GetEndpoint","ec2messages:GetMessages","ec2messages:SendReply"],"Resource":"*"},
{"Effect":"Allow","Action":["cloudwatch:PutMetricData"],"Resource":"*"},
{"Effect":"Allow","Action":["ec2:DescribeInstanceStatus"],"Resource":"*"},
{"Effect":"Allow","Action":["ds:CreateComputer","ds:DescribeDirectories"],"Resource":"*"},
{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:DescribeLogGroups","logs:DescribeLogStreams","logs:PutLogEvents"],"Resource":"*"},
{"Effect":"Allow","Action":["s3:GetBucketLocation","s3:PutObject","s3:GetObject","s3:GetEncryptionConfiguration","s3:AbortMultipartUpload","s3:ListMultipartUploadParts","s3:ListBucket","s3:ListBucketMultipartUploads"],"Resource":"*"}]}`,
	},
}

// awsManagedLocked returns the AWS managed policies keyed by ARN in the
// emulator's partition, building them on first use.
func (e *Emulator) awsManagedLocked() map[string]*iamPolicy {
	if e.iam.managed != nil {
		return e.iam.managed
	}
	m := make(map[string]*iamPolicy, len(awsManagedDefs))
	for _, d := range awsManagedDefs {
		created, _ := time.Parse(time.RFC3339, d.Created)
		updated, _ := time.Parse(time.RFC3339, d.Updated)
		var pretty bytes.Buffer
		// The published texts are the aws partition's; in another partition
		// their resource ARNs carry that partition (an ARN's second field is
		// the partition: IAM User Guide, "IAM identifiers", ARN format).
		doc := strings.ReplaceAll(iamStripNewlines(d.Doc), `"arn:aws:`, `"arn:`+e.partition()+`:`)
		if err := json.Indent(&pretty, []byte(doc), "", "    "); err != nil {
			panic("awsemu: bad managed policy " + d.Name + ": " + err.Error())
		}
		sum := sha256.Sum256([]byte(d.Name))
		id := make([]byte, 17)
		for i := range id {
			id[i] = iamIDChars[int(sum[i])%len(iamIDChars)]
		}
		path := d.Path
		if path == "" {
			path = "/"
		}
		arn := "arn:" + e.partition() + ":iam::aws:policy" + path + d.Name
		m[arn] = &iamPolicy{
			Name: d.Name, Path: path, ID: "ANPA" + string(id), Arn: arn, Description: d.Description,
			Created: created, Updated: updated, Default: d.Version, AWSManaged: true,
			Versions: []iamPolicyVersion{{ID: d.Version, Document: pretty.String(), Created: updated}},
		}
	}
	e.iam.managed = m
	return m
}

func iamStripNewlines(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte("\n"), nil))
}
