package awsacc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// Clients are the SDK clients the lane uses.
type Clients struct {
	EC2 *ec2.Client
	IAM *iam.Client
	S3  *s3.Client
	SSM *ssm.Client
	STS *sts.Client
}

// NewClients builds the clients from cfg. pathStyle makes S3 use path-style
// addressing (an emulator on one host needs it; AWS_S3_USE_PATH_STYLE asks for it).
func NewClients(cfg aws.Config, pathStyle bool) Clients {
	return Clients{
		EC2: ec2.NewFromConfig(cfg),
		IAM: iam.NewFromConfig(cfg),
		S3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle }),
		SSM: ssm.NewFromConfig(cfg),
		STS: sts.NewFromConfig(cfg),
	}
}

// Fixture is what Launch created for a run.
type Fixture struct {
	RunID       string
	Partition   string
	AccountID   string
	RoleName    string // the agent's role and instance profile (same name)
	ProfileName string
	AMI         string
	InstanceIDs []string
	Bucket      string // for the file-copy test
}

// Name is a resource name of the run: NamePrefix + run id + "-" + suffix.
func Name(runID, suffix string) string { return NamePrefix + runID + "-" + suffix }

// Tags are the run's tags as a map (for the provider's default_tags).
func Tags(runID string) map[string]string { return map[string]string{TagKey: runID} }

const ec2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// agentWaitTimeout bounds the wait for the instances to run and their agents
// to come Online (AWS: typically 1 to 3 minutes after launch).
const agentWaitTimeout = 10 * time.Minute

// Launch creates the run's fixture: the agent's role and instance profile, the
// file-copy bucket, and s.Instances instances of the newest Amazon Linux 2023
// AMI whose agents it waits for (Online). What it created before an error is
// in the returned Fixture; the sweeper finds it by tag in any case.
func Launch(ctx context.Context, c Clients, s Settings) (*Fixture, error) {
	if s.Instances < 1 || s.Instances > MaxInstances {
		return nil, fmt.Errorf("fixture: %d instances asked, the cap is %d", s.Instances, MaxInstances)
	}
	f := &Fixture{RunID: s.RunID, RoleName: Name(s.RunID, "agent"), ProfileName: Name(s.RunID, "agent"), Bucket: Name(s.RunID, "files")}
	id, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return f, fmt.Errorf("fixture: reading the caller identity: %w", err)
	}
	a, err := arn.Parse(aws.ToString(id.Arn))
	if err != nil {
		return f, fmt.Errorf("fixture: caller ARN: %w", err)
	}
	f.Partition, f.AccountID = a.Partition, aws.ToString(id.Account)

	// Refuse to go past the cap when instances of this run already exist.
	live, err := liveInstances(ctx, c, s.RunID)
	if err != nil {
		return f, err
	}
	if len(live)+s.Instances > MaxInstances {
		return f, fmt.Errorf("fixture: run %s already has %d live instances; launching %d more would pass the cap of %d", s.RunID, len(live), s.Instances, MaxInstances)
	}

	iamTags := []iamtypes.Tag{{Key: aws.String(TagKey), Value: aws.String(s.RunID)}}
	if _, err := c.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(f.RoleName), Path: aws.String(IAMPath), AssumeRolePolicyDocument: aws.String(ec2Trust),
		Description: aws.String("SSM agent role of the terraform-provider-ssm AWS acceptance lane, run " + s.RunID), Tags: iamTags,
	}); err != nil {
		return f, fmt.Errorf("fixture: creating role %s: %w", f.RoleName, err)
	}
	if _, err := c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{
		RoleName: aws.String(f.RoleName), PolicyArn: aws.String("arn:" + f.Partition + ":iam::aws:policy/AmazonSSMManagedInstanceCore"),
	}); err != nil {
		return f, fmt.Errorf("fixture: attaching AmazonSSMManagedInstanceCore: %w", err)
	}
	if _, err := c.IAM.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
		InstanceProfileName: aws.String(f.ProfileName), Path: aws.String(IAMPath), Tags: iamTags,
	}); err != nil {
		return f, fmt.Errorf("fixture: creating instance profile %s: %w", f.ProfileName, err)
	}
	if _, err := c.IAM.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{
		InstanceProfileName: aws.String(f.ProfileName), RoleName: aws.String(f.RoleName),
	}); err != nil {
		return f, fmt.Errorf("fixture: adding the role to the profile: %w", err)
	}

	if err := createBucket(ctx, c, s, f.Bucket); err != nil {
		return f, err
	}

	p, err := c.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.AMIParameter())})
	if err != nil {
		return f, fmt.Errorf("fixture: reading the AMI from %s: %w", s.AMIParameter(), err)
	}
	f.AMI = aws.ToString(p.Parameter.Value)

	// The instance shuts itself down MaxWall after boot; with shutdown behaviour
	// "terminate" that terminates it: the wall-time cap holds without the lane.
	userData := fmt.Sprintf("#!/bin/sh\nshutdown -h +%d\n", int(MaxWall.Minutes()))
	tags := []ec2types.Tag{{Key: aws.String(TagKey), Value: aws.String(s.RunID)}, {Key: aws.String("Name"), Value: aws.String(Name(s.RunID, "node"))}}
	in := &ec2.RunInstancesInput{
		ImageId: aws.String(f.AMI), InstanceType: ec2types.InstanceType(s.InstanceType),
		MinCount: aws.Int32(int32(s.Instances)), MaxCount: aws.Int32(int32(s.Instances)),
		IamInstanceProfile:                &ec2types.IamInstanceProfileSpecification{Name: aws.String(f.ProfileName)},
		InstanceInitiatedShutdownBehavior: ec2types.ShutdownBehaviorTerminate,
		UserData:                          aws.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		// Idempotent: a retried call never launches a second set.
		ClientToken: aws.String(Name(s.RunID, "launch")),
		TagSpecifications: []ec2types.TagSpecification{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: tags},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: tags},
		},
		MetadataOptions: &ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateRequired},
	}
	// A new instance profile is refused by EC2 until IAM has propagated it
	// (notes/aws-behaviour.md#iam): retry that error only, with a deadline.
	deadline := time.Now().Add(2 * time.Minute)
	var out *ec2.RunInstancesOutput
	for {
		out, err = c.EC2.RunInstances(ctx, in)
		if err == nil || !isProfileNotYetVisible(err) || time.Now().After(deadline) {
			break
		}
		if err := poll.Sleep(ctx, 2*time.Second); err != nil {
			return f, err
		}
	}
	if err != nil {
		return f, fmt.Errorf("fixture: launching %d %s instance(s) of %s: %w", s.Instances, s.InstanceType, f.AMI, err)
	}
	for _, inst := range out.Instances {
		f.InstanceIDs = append(f.InstanceIDs, aws.ToString(inst.InstanceId))
	}
	if err := WaitOnline(ctx, c, f.InstanceIDs, agentWaitTimeout); err != nil {
		return f, err
	}
	return f, nil
}

func createBucket(ctx context.Context, c Clients, s Settings, name string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if s.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(s.Region)}
	}
	if _, err := c.S3.CreateBucket(ctx, in); err != nil {
		return fmt.Errorf("fixture: creating bucket %s: %w", name, err)
	}
	return nil
}

func isProfileNotYetVisible(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidParameterValue" && strings.Contains(ae.ErrorMessage(), "nstance Profile")
}

// WaitOnline waits until every instance runs and its agent is Online.
func WaitOnline(ctx context.Context, c Clients, ids []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		online := map[string]bool{}
		p := ssm.NewDescribeInstanceInformationPaginator(c.SSM, &ssm.DescribeInstanceInformationInput{
			Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: ids}},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("fixture: waiting for the agents: %w", err)
			}
			for _, ii := range page.InstanceInformationList {
				if ii.PingStatus == ssmtypes.PingStatusOnline {
					online[aws.ToString(ii.InstanceId)] = true
				}
			}
		}
		if len(online) == len(ids) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fixture: %d of %d agents Online after %s", len(online), len(ids), timeout)
		}
		if err := poll.Sleep(ctx, 2*time.Second); err != nil {
			return err
		}
	}
}
