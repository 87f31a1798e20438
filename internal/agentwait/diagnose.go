package agentwait

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// Diagnosis says why one instance is not online.
type Diagnosis struct {
	InstanceID string
	// Check is the checklist step that failed: "exists", "running", "profile",
	// "role", "agent", or "unchecked" when a check could not run.
	Check  string
	Reason string
}

func (d Diagnosis) String() string { return d.InstanceID + ": " + d.Reason }

// maxDiagnosed bounds the instances explained in one error (and the calls made).
const maxDiagnosed = 20

// ec2FilterValues is the most values one EC2 filter takes.
const ec2FilterValues = 200

// describe returns the instances EC2 knows among ids (missing ids are absent).
func describe(ctx context.Context, api EC2API, ids []string) (map[string]ec2types.Instance, error) {
	out := map[string]ec2types.Instance{}
	for start := 0; start < len(ids); start += ec2FilterValues {
		end := min(start+ec2FilterValues, len(ids))
		p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{
			Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: ids[start:end]}},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, r := range page.Reservations {
				for _, inst := range r.Instances {
					out[aws.ToString(inst.InstanceId)] = inst
				}
			}
		}
	}
	return out, nil
}

// deadInstances lists the instances that can never come online: terminated or
// shutting down, and with alsoStopped stopped or stopping (nothing starts them
// while a wait runs). A failed check finds none (the wait goes on).
func deadInstances(ctx context.Context, api EC2API, ids []string, alsoStopped bool) []Diagnosis {
	if len(ids) == 0 {
		return nil
	}
	insts, err := describe(ctx, api, ids)
	if err != nil {
		return nil
	}
	var dead []Diagnosis
	for _, id := range ids {
		inst, ok := insts[id]
		if !ok || inst.State == nil {
			continue
		}
		switch inst.State.Name {
		case ec2types.InstanceStateNameTerminated, ec2types.InstanceStateNameShuttingDown:
			dead = append(dead, Diagnosis{InstanceID: id, Check: "running",
				Reason: fmt.Sprintf("instance is %s: its agent can never come online", inst.State.Name)})
		case ec2types.InstanceStateNameStopped, ec2types.InstanceStateNameStopping:
			if alsoStopped {
				dead = append(dead, Diagnosis{InstanceID: id, Check: "running",
					Reason: fmt.Sprintf("instance is %s: its agent comes online only after the instance is started", inst.State.Name)})
			}
		}
	}
	return dead
}

// Diagnose explains why each instance is not online, in the order of the SSM
// migration guide's checklist: does it exist and run, has it an instance profile,
// does the profile's role grant what the agent needs, was the agent seen. agents
// holds what DescribeInstanceInformation last reported.
func Diagnose(ctx context.Context, c Clients, ids []string, agents map[string]Agent) []Diagnosis {
	if len(ids) > maxDiagnosed {
		ids = ids[:maxDiagnosed]
	}
	if len(ids) == 0 {
		return nil
	}
	var out []Diagnosis
	if c.EC2 == nil {
		for _, id := range ids {
			out = append(out, agentDiagnosis(id, agents))
		}
		return out
	}
	insts, err := describe(ctx, c.EC2, ids)
	if err != nil {
		for _, id := range ids {
			d := agentDiagnosis(id, agents)
			d.Reason += fmt.Sprintf(" (could not check the instance's state and profile: ec2:DescribeInstances failed: %s)", errText(err))
			out = append(out, d)
		}
		return out
	}
	roles := map[string]string{} // profile ARN -> diagnosis of its role ("" = fine)
	var dhmc *Diagnosis          // Default Host Management, checked once
	for _, id := range ids {
		inst, ok := insts[id]
		switch {
		case !ok:
			out = append(out, Diagnosis{id, "exists", "EC2 has no such instance in this account and region: check the id and the provider's region"})
			continue
		case inst.State == nil || inst.State.Name != ec2types.InstanceStateNameRunning:
			state := "in an unknown state"
			if inst.State != nil {
				state = string(inst.State.Name)
			}
			out = append(out, Diagnosis{id, "running", fmt.Sprintf("instance is %s: the SSM agent runs only on running instances", state)})
			continue
		case inst.IamInstanceProfile == nil || aws.ToString(inst.IamInstanceProfile.Arn) == "":
			if dhmc == nil {
				d := defaultHostDiagnosis(ctx, c)
				dhmc = &d
			}
			if dhmc.Check == "agent" {
				out = append(out, agentDiagnosis(id, agents))
				out[len(out)-1].Reason = dhmc.Reason + out[len(out)-1].Reason
				continue
			}
			out = append(out, Diagnosis{id, dhmc.Check, dhmc.Reason})
			continue
		}
		profileArn := aws.ToString(inst.IamInstanceProfile.Arn)
		why, seen := roles[profileArn]
		if !seen && c.IAM != nil {
			why = roleDiagnosis(ctx, c.IAM, profileArn)
			roles[profileArn] = why
		}
		if why != "" {
			check := "role"
			if strings.HasPrefix(why, "could not check") {
				check = "unchecked"
			}
			out = append(out, Diagnosis{id, check, why})
			continue
		}
		out = append(out, agentDiagnosis(id, agents))
	}
	return out
}

// ServiceSettingAPI is the optional part of the SSM client the diagnosis uses
// to check Default Host Management for instances without a profile.
type ServiceSettingAPI interface {
	GetServiceSetting(ctx context.Context, in *ssm.GetServiceSettingInput, optFns ...func(*ssm.Options)) (*ssm.GetServiceSettingOutput, error)
}

// DefaultHostSettingID is the SSM service setting naming the Default Host
// Management role. See notes/aws-behaviour.md#default-host-management.
const DefaultHostSettingID = "/ssm/managed-instance/default-ec2-instance-management-role"

// DefaultHostTrustService is the principal the Default Host Management role trusts.
const DefaultHostTrustService = "ssm.amazonaws.com"

const noProfileFix = "associate an instance profile whose role allows the agent (such as one with the AWS managed policy AmazonSSMManagedInstanceCore), or turn on Default Host Management for the account and region"

// defaultHostDiagnosis explains an instance without an instance profile: with
// Default Host Management on and its role sufficient the agent can register
// (Check "agent", Reason a prefix for the agent step); otherwise why not.
func defaultHostDiagnosis(ctx context.Context, c Clients) Diagnosis {
	ss, ok := c.SSM.(ServiceSettingAPI)
	if !ok {
		return Diagnosis{Check: "profile", Reason: "instance has no IAM instance profile, so the agent has no credentials unless Default Host Management is on: " + noProfileFix}
	}
	out, err := ss.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(DefaultHostSettingID)})
	if err != nil {
		return Diagnosis{Check: "profile", Reason: fmt.Sprintf("instance has no IAM instance profile, so the agent has no credentials unless Default Host Management is on (could not check it: ssm:GetServiceSetting failed: %s): %s", errText(err), noProfileFix)}
	}
	value := ""
	if out.ServiceSetting != nil {
		value = aws.ToString(out.ServiceSetting.SettingValue)
	}
	if value == "" || value == "$None" {
		return Diagnosis{Check: "profile", Reason: "instance has no IAM instance profile and Default Host Management is off in this account and region, so the agent has no credentials: " + noProfileFix}
	}
	role := value[strings.LastIndex(value, "/")+1:]
	if c.IAM == nil {
		return Diagnosis{Check: "agent", Reason: fmt.Sprintf("instance has no IAM instance profile; Default Host Management (role %s) gives its agent credentials. ", value)}
	}
	problems, err := RoleProblems(ctx, c.IAM, role, DefaultHostTrustService)
	if err != nil {
		if isNotFound(err) {
			return Diagnosis{Check: "role", Reason: fmt.Sprintf("instance has no IAM instance profile and the Default Host Management setting names role %s, which does not exist: create it (trusting ssm.amazonaws.com, with the AWS managed policy AmazonSSMManagedEC2InstanceDefaultPolicy) or associate an instance profile", value)}
		}
		return Diagnosis{Check: "unchecked", Reason: fmt.Sprintf("instance has no IAM instance profile; could not check the permissions of the Default Host Management role %s: %s", value, errText(err))}
	}
	if len(problems) > 0 {
		return Diagnosis{Check: "role", Reason: fmt.Sprintf("instance has no IAM instance profile and the Default Host Management role %s cannot run the SSM agent: %s. Attach the AWS managed policy AmazonSSMManagedEC2InstanceDefaultPolicy and let ssm.amazonaws.com assume it", value, strings.Join(problems, "; "))}
	}
	return Diagnosis{Check: "agent", Reason: fmt.Sprintf("instance has no IAM instance profile; Default Host Management (role %s) gives its agent credentials if the agent is 3.2.582.0 or later and uses IMDSv2. ", value)}
}

// agentDiagnosis is the last checklist step: what the agent itself reported.
func agentDiagnosis(id string, agents map[string]Agent) Diagnosis {
	if a, ok := agents[id]; ok && a.PingStatus != "Online" {
		since := "an unknown time"
		if !a.LastPingAt.IsZero() {
			since = a.LastPingAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		return Diagnosis{id, "agent", fmt.Sprintf("agent registered but is %s since %s (its last ping): check that the amazon-ssm-agent service is running and that the instance still reaches the ssm, ssmmessages and ec2messages endpoints over HTTPS", a.PingStatus, since)}
	}
	return Diagnosis{id, "agent", "instance runs with a profile whose role allows the agent, but the agent has not registered: check that amazon-ssm-agent is installed and running, and that the instance reaches the ssm, ssmmessages and ec2messages endpoints over HTTPS (outbound 443 through a NAT gateway or VPC endpoints)"}
}

// roleDiagnosis checks the instance profile's role; "" means it grants what the
// agent needs.
func roleDiagnosis(ctx context.Context, api IAMAPI, profileArn string) string {
	name := profileArn
	if a, err := arn.Parse(profileArn); err == nil {
		name = a.Resource[strings.LastIndex(a.Resource, "/")+1:]
	}
	prof, err := api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		if isNotFound(err) {
			return fmt.Sprintf("instance profile %s no longer exists: associate an existing profile", name)
		}
		return fmt.Sprintf("could not check the instance profile %s: iam:GetInstanceProfile failed: %s", name, errText(err))
	}
	if len(prof.InstanceProfile.Roles) == 0 {
		return fmt.Sprintf("instance profile %s has no role: add a role that allows the SSM agent", name)
	}
	role := aws.ToString(prof.InstanceProfile.Roles[0].RoleName)
	problems, err := RoleProblems(ctx, api, role, iamx.AgentTrustService)
	if err != nil {
		return fmt.Sprintf("could not check the permissions of role %s (profile %s): %s", role, name, errText(err))
	}
	if len(problems) == 0 {
		return ""
	}
	return fmt.Sprintf("role %s of instance profile %s cannot run the SSM agent: %s. Attach the AWS managed policy AmazonSSMManagedInstanceCore", role, name, strings.Join(problems, "; "))
}

// RoleProblems says what keeps an SSM agent using the role from registering
// and taking commands, one phrase per problem (none: the role suffices): the
// trust policy must let service assume it (ec2.amazonaws.com for instance
// profiles, ssm.amazonaws.com for Default Host Management), and its policies
// must allow what iamx.AgentGaps checks.
func RoleProblems(ctx context.Context, api IAMAPI, role, service string) ([]string, error) {
	docs, trust, err := rolePolicies(ctx, api, role)
	if err != nil {
		return nil, err
	}
	var problems []string
	if trust != nil && !iamx.TrustsService(trust, service) {
		problems = append(problems, "its trust policy does not let "+service+" assume it")
	}
	return append(problems, iamx.AgentGaps(docs)...), nil
}

// rolePolicies reads the role's trust policy and every permission policy attached
// to it or inline in it.
func rolePolicies(ctx context.Context, api IAMAPI, role string) ([]*iamx.PolicyDocument, *iamx.PolicyDocument, error) {
	r, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, nil, fmt.Errorf("iam:GetRole: %w", err)
	}
	trust, _ := iamx.ParsePolicy(aws.ToString(r.Role.AssumeRolePolicyDocument))
	var docs []*iamx.PolicyDocument
	ap := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("iam:ListAttachedRolePolicies: %w", err)
		}
		for _, p := range page.AttachedPolicies {
			pol, err := api.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: p.PolicyArn})
			if err != nil {
				return nil, nil, fmt.Errorf("iam:GetPolicy %s: %w", aws.ToString(p.PolicyArn), err)
			}
			v, err := api.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: p.PolicyArn, VersionId: pol.Policy.DefaultVersionId})
			if err != nil {
				return nil, nil, fmt.Errorf("iam:GetPolicyVersion %s: %w", aws.ToString(p.PolicyArn), err)
			}
			if doc, err := iamx.ParsePolicy(aws.ToString(v.PolicyVersion.Document)); err == nil {
				docs = append(docs, doc)
			}
		}
	}
	ip := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("iam:ListRolePolicies: %w", err)
		}
		names := append([]string(nil), page.PolicyNames...)
		sort.Strings(names)
		for _, n := range names {
			rp, err := api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(n)})
			if err != nil {
				return nil, nil, fmt.Errorf("iam:GetRolePolicy %s: %w", n, err)
			}
			if doc, err := iamx.ParsePolicy(aws.ToString(rp.PolicyDocument)); err == nil {
				docs = append(docs, doc)
			}
		}
	}
	return docs, trust, nil
}

func isNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchEntity"
}

// errText is an API error's code and message, or the error text.
func errText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// tagCandidates lists the instances EC2 knows with all the tags (for diagnosing
// a tag selection); errors yield none.
func tagCandidates(ctx context.Context, api EC2API, tags map[string]string) []string {
	var filters []ec2types.Filter
	for _, k := range sortedKeys(tags) {
		filters = append(filters, ec2types.Filter{Name: aws.String("tag:" + k), Values: []string{tags[k]}})
	}
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(api, &ec2.DescribeInstancesInput{Filters: filters})
	for p.HasMorePages() && len(ids) < maxDiagnosed {
		page, err := p.NextPage(ctx)
		if err != nil {
			return ids
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				ids = append(ids, aws.ToString(inst.InstanceId))
			}
		}
	}
	sort.Strings(ids)
	return ids
}
