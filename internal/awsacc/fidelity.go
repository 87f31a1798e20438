package awsacc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// Guess is one behaviour notes/aws-behaviour.md marks GUESS, with how the
// fidelity group measures it or why it cannot.
type Guess struct {
	// ID names the measurement: the lane reports it as test TestFidelity/<ID>.
	ID string
	// Notes is a phrase of the notes next to the GUESS it settles (compared with
	// runs of white space folded), so the report names it and a test can check
	// that every GUESS of the notes has an entry.
	Notes string
	// Emulator is what the emulator answers: the notes' assumption.
	Emulator string
	// Measure asks the target and describes its answer in the words of Emulator.
	// Nil when no test can measure it; WhyNone says why.
	Measure func(ctx context.Context, p *Probe) (string, error)
	WhyNone string
	// StopsInstance marks a measurement that stops the fixture's last instance:
	// those run after all others (Ordered).
	StopsInstance bool
}

// Ordered is Guesses with the measurements that stop an instance last.
func Ordered() []Guess {
	var first, last []Guess
	for _, g := range Guesses {
		if g.StopsInstance {
			last = append(last, g)
		} else {
			first = append(first, g)
		}
	}
	return append(first, last...)
}

// Probe is what a measurement may use: the target's clients, the run's
// settings and fixture, and the configuration (for credentials).
type Probe struct {
	C   Clients
	S   Settings
	F   *Fixture
	Cfg aws.Config

	stopped *stoppedNode // measured once, by the first measurement needing it
}

// Finding is one line of the fidelity report.
type Finding struct {
	ID       string `json:"id"`
	Notes    string `json:"notes"`
	Test     string `json:"test,omitempty"`
	WhyNone  string `json:"why_none,omitempty"`
	Emulator string `json:"emulator_answer,omitempty"`
	Observed string `json:"observed,omitempty"`
	// Differs is true when the target answered otherwise than the emulator: the
	// note (and the emulator) need correcting.
	Differs bool   `json:"differs"`
	Error   string `json:"error,omitempty"`
}

// Report is the fidelity group's machine-readable result.
type Report struct {
	Target   string    `json:"target"`
	Region   string    `json:"region"`
	RunID    string    `json:"run_id"`
	Time     string    `json:"time"`
	Findings []Finding `json:"findings"`
}

// JSON is the report, indented.
func (r Report) JSON() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// Differences lists the findings where the target and the emulator differ.
func (r Report) Differences() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Differs {
			out = append(out, f)
		}
	}
	return out
}

// TestName is the name the lane runs a measurement under.
func TestName(id string) string { return "TestFidelity/" + id }

// Measure runs one guess against the probe's target.
func Measure(ctx context.Context, p *Probe, g Guess) Finding {
	f := Finding{ID: g.ID, Notes: g.Notes, Emulator: g.Emulator, WhyNone: g.WhyNone}
	if g.Measure == nil {
		return f
	}
	f.Test = TestName(g.ID)
	obs, err := g.Measure(ctx, p)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	f.Observed = obs
	f.Differs = obs != g.Emulator
	return f
}

const (
	whyIAMEval = "needs a second principal with a restrictive policy to observe a denial; not written yet (the emulator's authorizer is checked against the IAM docs instead)"
	whyAccount = "would change an account-wide setting of the account under test; the lane must not"
)

// Guesses lists every GUESS of notes/aws-behaviour.md (TestGuessesCoverTheNotes
// checks it), in the notes' order.
var Guesses = []Guess{
	{ID: "stopped_node_status", Notes: "whether the service reports `Delayed` for such an invocation while the node is stopped",
		Emulator: "status while the node is stopped: InProgress", Measure: measureStoppedNodeStatus, StopsInstance: true},
	{ID: "stderr_multibyte_cap", Notes: "how the service applies its 8,000-character stderr cap",
		Emulator: "stderr of 9000 two-byte characters: 8000 characters, 16000 bytes, valid UTF-8: true", Measure: measureStderrCap},
	{ID: "dhm_role_checked", Notes: "whether UpdateServiceSetting checks that the role exists", WhyNone: whyAccount},
	{ID: "stopped_instance_tag_target", Notes: "a stopped instance is not among the resolved tag targets",
		Emulator: "stopped instance among the tag targets: false", Measure: measureStoppedTagTarget, StopsInstance: true},
	{ID: "ec2_max_results_above_1000", Notes: "the wording above 1000",
		Emulator: "InvalidParameterValue: Value ( 1001 ) for parameter maxResults is invalid. Expecting a value less than 1000.", Measure: measureMaxResults},
	{ID: "list_commands_after_send", Notes: "that ListCommands shows a command less than 15 s after SendCommand created it",
		Emulator: "listed", Measure: measureListAfterSend},
	{ID: "instance_ids_filter_pages", Notes: "emulator pages those from the ids; GUESS",
		WhyNone: "paging by ids shows only with more than 50 managed nodes; the lane launches at most 2"},
	{ID: "instance_properties_same_nodes", Notes: "DescribeInstanceProperties lists the same nodes as DescribeInstanceInformation",
		Emulator: "the fixture's nodes listed alike: true", Measure: measureInstanceProperties},
	{ID: "session_data_channel_denied", Notes: "fails the session when it lacks the data channel ones",
		WhyNone: "the lane opens no Session Manager session (its fixture role keeps the data channel actions)"},
	{ID: "session_id_caller_name", Notes: "session name for assumed roles and `root` for the account's keys",
		WhyNone: "the lane opens no Session Manager session yet; a StartSession on the fixture instance would show it"},
	{ID: "terminate_session_at_once", Notes: "TerminateSession moves the session to Terminated at once",
		WhyNone: "the lane opens no Session Manager session yet; a StartSession on the fixture instance would show it"},
	{ID: "idle_session_timeout_default", Notes: "that the service applies 20 when the input is missing",
		WhyNone: "only a Session Manager session shows it, and the lane opens none (no session-manager-plugin)"},
	{ID: "document_reserved_prefix_case", Notes: "The emulator compares them case-insensitively",
		Emulator: "Aws-: ValidationException", Measure: measureReservedPrefix},
	{ID: "duplicate_document_content", Notes: "whether AWS compares with every version or only the latest",
		Emulator: "content of version 1 again after version 2: DuplicateDocumentContent", Measure: measureDuplicateContent},
	{ID: "userid_assumed_role_session", Notes: "matches the session id of an assumed-role session",
		WhyNone: "needs a federated (IAM Identity Center) session and Session Manager; the lane has neither"},
	{ID: "unimplemented_condition_operators", Notes: "operators the emulator does not implement never hold",
		WhyNone: "about the emulator's own authorizer, not an answer of AWS"},
	{ID: "send_command_targets_authorized_per_instance", Notes: "a command sent by tag `Targets` is authorized against each instance", WhyNone: whyIAMEval},
	{ID: "iam_role_and_profile_both_checked", Notes: "AddRoleToInstanceProfile: both are checked", WhyNone: whyIAMEval},
	{ID: "s3_delete_objects_denied_per_key", Notes: "S3 reports denied keys one by one", WhyNone: whyIAMEval},
	{ID: "logs_describe_streams_resource", Notes: "and CreateLogStream against the stream", WhyNone: whyIAMEval},
	{ID: "send_command_inline_size", Notes: "payloads up to 16 KiB (about 22 KB once base64",
		Emulator: "22528 B: accepted; 65536 B: accepted; 102400 B: accepted", Measure: measureInlineSize},
	{ID: "public_ami_parameter_fields", Notes: "the `DataType` of the public AMI parameters",
		Emulator: "Type=String DataType=text ARN=arn:<partition>:ssm:<region>::parameter<name>; unknown name: ParameterNotFound with message \"\"", Measure: measurePublicParameter},
	{ID: "auth_error_codes", Notes: "from the services' \"common errors\" reference pages as remembered",
		Emulator: "bad secret key: ec2=AuthFailure iam=SignatureDoesNotMatch ssm=InvalidSignatureException sts=SignatureDoesNotMatch", Measure: measureAuthErrors},
	{ID: "s3_explicit_us_east_1_constraint", Notes: "`InvalidLocationConstraint` for an explicit",
		Emulator: "InvalidLocationConstraint", Measure: measureExplicitUSEast1},
	{ID: "ec2_max_results_above_1000_emulator", Notes: "Above 1000: GUESS",
		Emulator: "InvalidParameterValue: Value ( 1001 ) for parameter maxResults is invalid. Expecting a value less than 1000.", Measure: measureMaxResults},
	{ID: "amazon_ec2_role_for_ssm_actions", Notes: "Still GUESS: its action list",
		Emulator: amazonEC2RoleforSSMActions, Measure: measureEC2RoleforSSM},
}

// RunFidelity measures every guess against p's target.
func RunFidelity(ctx context.Context, p *Probe) Report {
	r := Report{Target: p.S.Target(), Region: p.S.Region, RunID: p.S.RunID, Time: time.Now().UTC().Format(time.RFC3339)}
	for _, g := range Ordered() {
		r.Findings = append(r.Findings, Measure(ctx, p, g))
	}
	return r
}

func errCode(err error) (string, string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage()
	}
	return "", err.Error()
}

// run sends commands to the fixture's first instance and waits for the end.
func run(ctx context.Context, p *Probe, commands ...string) (*ssm.GetCommandInvocationOutput, error) {
	id := p.F.InstanceIDs[0]
	out, err := p.C.SSM.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{id},
		Parameters: map[string][]string{"commands": commands}, Comment: aws.String(Name(p.S.RunID, "fidelity")),
	})
	if err != nil {
		return nil, err
	}
	cid := out.Command.CommandId
	deadline := time.Now().Add(3 * time.Minute)
	for {
		inv, err := p.C.SSM.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: cid, InstanceId: aws.String(id)})
		if err == nil {
			switch inv.Status {
			case ssmtypes.CommandInvocationStatusSuccess, ssmtypes.CommandInvocationStatusFailed, ssmtypes.CommandInvocationStatusCancelled, ssmtypes.CommandInvocationStatusTimedOut:
				return inv, nil
			}
		} else if code, _ := errCode(err); code != "InvocationDoesNotExist" {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("command %s not done after 3 minutes", aws.ToString(cid))
		}
		if err := poll.Sleep(ctx, time.Second); err != nil {
			return nil, err
		}
	}
}

func measureStderrCap(ctx context.Context, p *Probe) (string, error) {
	inv, err := run(ctx, p, "yes é | head -n 9000 | tr -d '\\n' >&2")
	if err != nil {
		return "", err
	}
	e := aws.ToString(inv.StandardErrorContent)
	return fmt.Sprintf("stderr of 9000 two-byte characters: %d characters, %d bytes, valid UTF-8: %v",
		utf8.RuneCountInString(e), len(e), utf8.ValidString(e)), nil
}

func measureMaxResults(ctx context.Context, p *Probe) (string, error) {
	_, err := p.C.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1001)})
	if err == nil {
		return "accepted", nil
	}
	code, msg := errCode(err)
	return code + ": " + msg, nil
}

func measureListAfterSend(ctx context.Context, p *Probe) (string, error) {
	out, err := p.C.SSM.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: p.F.InstanceIDs[:1],
		Parameters: map[string][]string{"commands": {"true"}},
	})
	if err != nil {
		return "", err
	}
	l, err := p.C.SSM.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: out.Command.CommandId})
	if err != nil {
		return "", err
	}
	if len(l.Commands) == 1 {
		return "listed", nil
	}
	return fmt.Sprintf("not listed (%d commands)", len(l.Commands)), nil
}

// measureInstanceProperties compares which of the fixture's nodes
// DescribeInstanceInformation and DescribeInstanceProperties list (the account
// may hold other nodes, which come and go between the two listings).
func measureInstanceProperties(ctx context.Context, p *Probe) (string, error) {
	info, props := map[string]bool{}, map[string]bool{}
	pi := ssm.NewDescribeInstanceInformationPaginator(p.C.SSM, &ssm.DescribeInstanceInformationInput{})
	for pi.HasMorePages() {
		page, err := pi.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, i := range page.InstanceInformationList {
			info[aws.ToString(i.InstanceId)] = true
		}
	}
	pp := ssm.NewDescribeInstancePropertiesPaginator(p.C.SSM, &ssm.DescribeInstancePropertiesInput{})
	for pp.HasMorePages() {
		page, err := pp.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, i := range page.InstanceProperties {
			props[aws.ToString(i.InstanceId)] = true
		}
	}
	var differ []string
	for _, id := range p.F.InstanceIDs {
		if info[id] != props[id] {
			differ = append(differ, fmt.Sprintf("%s (information %t, properties %t)", id, info[id], props[id]))
		}
	}
	if len(differ) > 0 {
		return "the fixture's nodes listed alike: false: " + strings.Join(differ, ", "), nil
	}
	return "the fixture's nodes listed alike: true", nil
}

const tinyDocument = `{"schemaVersion":"2.2","description":"%s","mainSteps":[{"action":"aws:runShellScript","name":"run","inputs":{"runCommand":["true"]}}]}`

func measureReservedPrefix(ctx context.Context, p *Probe) (string, error) {
	name := "Aws-" + Name(p.S.RunID, "reserved")
	_, err := p.C.SSM.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String(name), Content: aws.String(fmt.Sprintf(tinyDocument, "a")), DocumentType: ssmtypes.DocumentTypeCommand})
	if err == nil {
		_, derr := p.C.SSM.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String(name)})
		return "Aws-: accepted", derr
	}
	code, _ := errCode(err)
	return "Aws-: " + code, nil
}

func measureDuplicateContent(ctx context.Context, p *Probe) (string, error) {
	name := Name(p.S.RunID, "dup")
	if _, err := p.C.SSM.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String(name), Content: aws.String(fmt.Sprintf(tinyDocument, "a")), DocumentType: ssmtypes.DocumentTypeCommand}); err != nil {
		return "", err
	}
	defer func() {
		_, _ = p.C.SSM.DeleteDocument(context.WithoutCancel(ctx), &ssm.DeleteDocumentInput{Name: aws.String(name)})
	}()
	update := func(desc string) error {
		_, err := p.C.SSM.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String(name), Content: aws.String(fmt.Sprintf(tinyDocument, desc)), DocumentVersion: aws.String("$LATEST")})
		return err
	}
	if err := update("b"); err != nil {
		return "", err
	}
	if err := update("a"); err != nil {
		code, _ := errCode(err)
		return "content of version 1 again after version 2: " + code, nil
	}
	return "content of version 1 again after version 2: accepted", nil
}

func measureInlineSize(ctx context.Context, p *Probe) (string, error) {
	var parts []string
	for _, n := range []int{22528, 65536, 102400} {
		// A shell no-op whose argument makes the parameter n bytes long.
		cmd := ": " + strings.Repeat("x", n-2)
		_, err := p.C.SSM.SendCommand(ctx, &ssm.SendCommandInput{
			DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: p.F.InstanceIDs[:1],
			Parameters: map[string][]string{"commands": {cmd}},
		})
		res := "accepted"
		if err != nil {
			code, _ := errCode(err)
			res = "refused " + code
		}
		parts = append(parts, fmt.Sprintf("%d B: %s", n, res))
	}
	return strings.Join(parts, "; "), nil
}

func measurePublicParameter(ctx context.Context, p *Probe) (string, error) {
	name := p.S.AMIParameter()
	out, err := p.C.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		return "", err
	}
	arn := aws.ToString(out.Parameter.ARN)
	want := fmt.Sprintf("arn:%s:ssm:%s::parameter%s", p.F.Partition, p.S.Region, name)
	if arn == want {
		arn = "arn:<partition>:ssm:<region>::parameter<name>"
	}
	_, err = p.C.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/aws/service/ami-amazon-linux-latest/" + Name(p.S.RunID, "none"))})
	code, msg := "none", ""
	if err != nil {
		code, msg = errCode(err)
	}
	return fmt.Sprintf("Type=%s DataType=%s ARN=%s; unknown name: %s with message %q",
		out.Parameter.Type, aws.ToString(out.Parameter.DataType), arn, code, msg), nil
}

func measureAuthErrors(ctx context.Context, p *Probe) (string, error) {
	creds, err := p.Cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	bad := p.Cfg.Copy()
	bad.Credentials = credentials.NewStaticCredentialsProvider(creds.AccessKeyID, "wrong"+creds.SecretAccessKey, creds.SessionToken)
	bad.RetryMaxAttempts = 1
	c := NewClients(bad, true)
	codes := map[string]error{}
	_, codes["ec2"] = c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	_, codes["iam"] = c.IAM.ListRoles(ctx, &iam.ListRolesInput{})
	_, codes["ssm"] = c.SSM.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{})
	_, codes["sts"] = c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	var parts []string
	for _, svc := range []string{"ec2", "iam", "ssm", "sts"} {
		code := "accepted"
		if err := codes[svc]; err != nil {
			code, _ = errCode(err)
		}
		parts = append(parts, svc+"="+code)
	}
	return "bad secret key: " + strings.Join(parts, " "), nil
}

func measureExplicitUSEast1(ctx context.Context, p *Probe) (string, error) {
	if p.S.Region != "us-east-1" {
		return "", fmt.Errorf("measurable only in us-east-1 (this run: %s)", p.S.Region)
	}
	name := Name(p.S.RunID, "loc")
	_, err := p.C.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint("us-east-1")}})
	if err == nil {
		_, derr := p.C.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
		return "accepted", derr
	}
	code, _ := errCode(err)
	return code, nil
}

func measureEC2RoleforSSM(ctx context.Context, p *Probe) (string, error) {
	arn := "arn:" + p.F.Partition + ":iam::aws:policy/service-role/AmazonEC2RoleforSSM"
	pol, err := p.C.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return "", err
	}
	v, err := p.C.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: pol.Policy.DefaultVersionId})
	if err != nil {
		return "", err
	}
	doc, err := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
	if err != nil {
		return "", err
	}
	return policyActions(doc)
}

// policyActions lists a policy document's Allow actions, sorted, comma-separated.
func policyActions(doc string) (string, error) {
	var d struct {
		Statement []struct {
			Effect string
			Action any
		}
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return "", fmt.Errorf("policy document: %w", err)
	}
	set := map[string]bool{}
	for _, s := range d.Statement {
		if s.Effect != "Allow" {
			continue
		}
		switch a := s.Action.(type) {
		case string:
			set[a] = true
		case []any:
			for _, x := range a {
				if s, ok := x.(string); ok {
					set[s] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return strings.Join(out, ","), nil
}

// amazonEC2RoleforSSMActions is the action list of the emulator's copy of
// AmazonEC2RoleforSSM (internal/awsemu/iam_managed.go).
const amazonEC2RoleforSSMActions = "cloudwatch:PutMetricData,ds:CreateComputer,ds:DescribeDirectories,ec2:DescribeInstanceStatus,ec2messages:AcknowledgeMessage,ec2messages:DeleteMessage," +
	"ec2messages:FailMessage,ec2messages:GetEndpoint,ec2messages:GetMessages,ec2messages:SendReply,logs:CreateLogGroup,logs:CreateLogStream," +
	"logs:DescribeLogGroups,logs:DescribeLogStreams,logs:PutLogEvents,s3:AbortMultipartUpload,s3:GetBucketLocation,s3:GetEncryptionConfiguration," +
	"s3:GetObject,s3:ListBucket,s3:ListBucketMultipartUploads,s3:ListMultipartUploadParts,s3:PutObject,ssm:DescribeAssociation," +
	"ssm:DescribeDocument,ssm:GetDeployablePatchSnapshotForInstance,ssm:GetDocument,ssm:GetManifest,ssm:GetParameters,ssm:ListAssociations," +
	"ssm:ListInstanceAssociations,ssm:PutComplianceItems,ssm:PutConfigurePackageResult,ssm:PutInventory,ssm:UpdateAssociationStatus,ssm:UpdateInstanceAssociationStatus," +
	"ssm:UpdateInstanceInformation,ssmmessages:CreateControlChannel,ssmmessages:CreateDataChannel,ssmmessages:OpenControlChannel,ssmmessages:OpenDataChannel"

// stoppedNode is what the fixture's last instance showed once stopped in the
// middle of a command.
type stoppedNode struct {
	status    string // the invocation's status while the node is stopped
	tagTarget bool   // whether a command by tag targets then included the node
	err       error
}

// measureStopped stops the fixture's last instance while it runs a long
// command, then reads the invocation's status and sends a command by the run's
// tag: does it target the stopped node? The instance stays stopped (the sweep
// terminates it).
func measureStopped(ctx context.Context, p *Probe) *stoppedNode {
	if p.stopped != nil {
		return p.stopped
	}
	r := &stoppedNode{}
	p.stopped = r
	id := p.F.InstanceIDs[len(p.F.InstanceIDs)-1]
	out, err := p.C.SSM.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{id},
		Parameters: map[string][]string{"commands": {"sleep 600"}},
	})
	if err != nil {
		r.err = err
		return r
	}
	cid := out.Command.CommandId
	status := func() (ssmtypes.CommandInvocationStatus, error) {
		inv, err := p.C.SSM.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: cid, InstanceId: aws.String(id)})
		if err != nil {
			if code, _ := errCode(err); code == "InvocationDoesNotExist" {
				return "", nil
			}
			return "", err
		}
		return inv.Status, nil
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := status()
		if err != nil {
			r.err = err
			return r
		}
		if st == ssmtypes.CommandInvocationStatusInProgress {
			break
		}
		if time.Now().After(deadline) {
			r.err = fmt.Errorf("the long command never went InProgress (last %q)", st)
			return r
		}
		if r.err = poll.Sleep(ctx, time.Second); r.err != nil {
			return r
		}
	}
	if _, err := p.C.EC2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		r.err = err
		return r
	}
	deadline = time.Now().Add(5 * time.Minute)
	for {
		d, err := p.C.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			r.err = err
			return r
		}
		if len(d.Reservations) == 1 && len(d.Reservations[0].Instances) == 1 && d.Reservations[0].Instances[0].State.Name == "stopped" {
			break
		}
		if time.Now().After(deadline) {
			r.err = fmt.Errorf("instance %s not stopped after 5 minutes", id)
			return r
		}
		if r.err = poll.Sleep(ctx, 2*time.Second); r.err != nil {
			return r
		}
	}
	st, err := status()
	if err != nil {
		r.err = err
		return r
	}
	r.status = string(st)

	// A command by the run's tag: is the stopped node among its targets?
	tagged, err := p.C.SSM.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"),
		Targets:      []ssmtypes.Target{{Key: aws.String("tag:" + TagKey), Values: []string{p.S.RunID}}},
		Parameters:   map[string][]string{"commands": {"true"}},
	})
	if err != nil {
		r.err = err
		return r
	}
	// Tag targets resolve within moments; wait for the command to settle.
	deadline = time.Now().Add(2 * time.Minute)
	for {
		l, err := p.C.SSM.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: tagged.Command.CommandId})
		if err != nil {
			r.err = err
			return r
		}
		for _, inv := range l.CommandInvocations {
			if aws.ToString(inv.InstanceId) == id {
				r.tagTarget = true
			}
		}
		c, err := p.C.SSM.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: tagged.Command.CommandId})
		if err != nil {
			r.err = err
			return r
		}
		if r.tagTarget || (len(c.Commands) == 1 && c.Commands[0].Status != ssmtypes.CommandStatusPending && c.Commands[0].Status != ssmtypes.CommandStatusInProgress) {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		if r.err = poll.Sleep(ctx, 2*time.Second); r.err != nil {
			return r
		}
	}
	// Leave no command waiting for the stopped node.
	_, _ = p.C.SSM.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: tagged.Command.CommandId})
	_, _ = p.C.SSM.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: cid})
	return r
}

func measureStoppedNodeStatus(ctx context.Context, p *Probe) (string, error) {
	r := measureStopped(ctx, p)
	if r.err != nil {
		return "", r.err
	}
	return "status while the node is stopped: " + r.status, nil
}

func measureStoppedTagTarget(ctx context.Context, p *Probe) (string, error) {
	r := measureStopped(ctx, p)
	if r.err != nil {
		return "", r.err
	}
	return fmt.Sprintf("stopped instance among the tag targets: %v", r.tagTarget), nil
}
