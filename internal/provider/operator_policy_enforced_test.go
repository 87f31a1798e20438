package provider_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// The operator policy as an operator holds it: an IAM user whose only policy is
// exactly the JSON ssm_operator_policy_document returns, under the emulator's
// enforcement of IAM actions (internal/awsemu/authz_actions.go).

// operatorArgs are the data source arguments of these tests: commands to
// instances tagged Team=web, ssm_file staging under a prefix, command output in
// a bucket, and the diagnosis reads (on by default).
const operatorArgs = `
  instance_tags         = { Team = "web" }
  staging_bucket_name   = "op-staging"
  staging_key_prefix    = "ssm-file/"
  output_s3_bucket_name = "op-output"
`

// operatorPolicyJSON reads ssm_operator_policy_document (as the account's root)
// and returns its json.
func operatorPolicyJSON(t *testing.T, e *awsemu.Emulator, args string) string {
	t.Helper()
	var got string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + "data \"ssm_operator_policy_document\" \"op\" {" + args + "}\n",
			Check: resource.TestCheckResourceAttrWith("data.ssm_operator_policy_document.op", "json", func(v string) error {
				got = v
				return nil
			}),
		}},
	})
	if got == "" {
		t.Fatal("the data source returned no json")
	}
	return got
}

// withoutStatement is the policy with the statement whose Sid is sid left out.
func withoutStatement(t *testing.T, policy, sid string) string {
	t.Helper()
	doc, err := iamx.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	var kept iamx.Statements
	for _, st := range doc.Statement {
		if st.Sid != sid {
			kept = append(kept, st)
		}
	}
	if len(kept) != len(doc.Statement)-1 {
		t.Fatalf("the policy has no statement %s", sid)
	}
	doc.Statement = kept
	return doc.JSON()
}

// operatorUser creates an IAM user whose only policy is policy, and returns a
// provider block signing with its access key.
func operatorUser(t *testing.T, e *awsemu.Emulator, name, policy string) string {
	t.Helper()
	block, _ := operatorUserConfig(t, e, name, policy)
	return block
}

// operatorUserConfig is operatorUser, with an SDK config signing as the user.
func operatorUserConfig(t *testing.T, e *awsemu.Emulator, name, policy string) (string, aws.Config) {
	t.Helper()
	ctx := t.Context()
	ic := iamClient(e)
	if _, err := ic.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("operator"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := emuConfig(e)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	return fmt.Sprintf(`
provider "ssm" {
  region     = %[2]q
  access_key = %[3]q
  secret_key = %[4]q

  endpoints {
    ec2  = %[1]q
    iam  = %[1]q
    logs = %[1]q
    s3   = %[1]q
    ssm  = %[1]q
    sts  = %[1]q
  }
}
`, e.URL(), e.Options().Region, aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)), cfg
}

// operatorFixture is an enforcing emulator with the buckets of operatorArgs
// (made by the account's root) and two online instances tagged Team=web. Their
// role (the emulator's ready-made one, with AmazonSSMManagedInstanceCore) also
// gets what the agent needs to upload command output to the output bucket
// (which AmazonSSMManagedInstanceCore does not grant, on AWS either).
func operatorFixture(t *testing.T) (*awsemu.Emulator, []string) {
	t.Helper()
	ctx := t.Context()
	e := emutest.Start(t, awsemu.Options{EnforceIAM: true})
	web := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true, Tags: map[string]string{"Team": "web"}})
	s3c := s3.NewFromConfig(emuConfig(e), func(o *s3.Options) { o.UsePathStyle = true })
	for _, b := range []string{"op-staging", "op-output"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	grants, _ := iamx.InstanceRolePolicy(false, iamx.Grants{OutputBucketARNs: []string{"arn:aws:s3:::op-output"}})
	if _, err := iamClient(e).PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("AWSEmuSSMInstanceRole"),
		PolicyName: aws.String("command-output"), PolicyDocument: aws.String(grants.JSON())}); err != nil {
		t.Fatal(err)
	}
	return e, web
}

// denied lists the requests the emulator denied ("service.Operation#denied").
func denied(e *awsemu.Emulator) []string {
	var out []string
	for k, n := range e.Calls() {
		if strings.HasSuffix(k, "#denied") && n > 0 {
			out = append(out, fmt.Sprintf("%s=%d", k, n))
		}
	}
	sort.Strings(out)
	return out
}

// bigFile is a file above ssm_file's inline limit, so it is staged.
func bigFile(t *testing.T) string {
	t.Helper()
	big := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(big, []byte(strings.Repeat("staged through S3\n", 8192)), 0o600); err != nil {
		t.Fatal(err)
	}
	return big
}

// As a user holding exactly the generated policy: ssm_agent_online, commands by
// ids (with output read back from the output bucket) and by tag, ssm_file
// inline and staged (whose leftover cleanup lists the staging prefix) all work,
// and not one request is denied, so no warning can come of one; the diagnosis
// of offline agents reads IAM and the Default Host Management setting and says
// what is wrong. A command to an instance outside the tag condition is denied.
func TestAccOperatorPolicy_enforced(t *testing.T) {
	t.Parallel()
	e, web := operatorFixture(t)
	db := addInstances(t, e, awsemu.InstanceSpec{Ready: true, Tags: map[string]string{"Team": "db"}})
	noProfile := addInstances(t, e, awsemu.InstanceSpec{})[0]
	weakRole := addInstances(t, e, awsemu.InstanceSpec{})[0]
	profileWithPolicy(t, e, "copied-minimal", copiedMinimalPolicy, weakRole)
	policy := operatorPolicyJSON(t, e, operatorArgs)
	for _, want := range []string{`"s3:ListBucket"`, `"s3:prefix":"ssm-file/*"`, `"arn:aws:s3:::op-output/*"`} {
		if !strings.Contains(policy, want) {
			t.Fatalf("policy lacks %s: %s", want, policy)
		}
	}
	cfg := operatorUser(t, e, "operator", policy)
	big := bigFile(t)
	weakDiag := `role\s+copied-minimal\s+of\s+instance\s+profile\s+copied-minimal\s+cannot\s+run\s+the\s+SSM\s+agent:\s+it\s+does\s+not\s+allow\s+ssm:UpdateInstanceInformation`
	dhmDiag := `Default\s+Host\s+Management\s+is\s+off`
	dest := func(id, name string) string { return filepath.Join(e.Options().WorkDir, "instances", id, name) }
	e.ResetCalls()
	resources := fmt.Sprintf(`
data "ssm_agent_online" "web" {
  instance_ids = [%[1]q, %[2]q]
}

resource "ssm_command_run" "by_ids" {
  instance_ids          = data.ssm_agent_online.web.online_instance_ids
  commands              = ["head -c 30000 /dev/zero | tr '\\0' x"]
  output_s3_bucket_name = "op-output"
  output_limit          = 40000
}

resource "ssm_command_run" "by_tag" {
  targets {
    key    = "tag:Team"
    values = ["web"]
  }
  commands = ["echo by-tag"]
}

resource "ssm_file" "inline" {
  instance_ids = [%[1]q]
  content      = "inline under the operator policy\n"
  destination  = %[3]q
}

resource "ssm_file" "staged" {
  instance_ids       = [%[2]q]
  source             = %[4]q
  destination        = %[5]q
  staging_bucket     = "op-staging"
  staging_key_prefix = "ssm-file/"
}
`, web[0], web[1], dest(web[0], "op/inline.txt"), big, dest(web[1], "op/big.bin"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg + resources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_command_run.by_ids", tfjsonpath.New("status"), knownvalue.StringExact("Success")),
					statecheck.ExpectKnownValue("ssm_command_run.by_ids", tfjsonpath.New("invocations").AtMapKey(web[0]).AtMapKey("stdout_truncated"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("ssm_command_run.by_ids", tfjsonpath.New("invocations").AtMapKey(web[0]).AtMapKey("stdout"),
						knownvalue.StringExact(strings.Repeat("x", 30000))),
					statecheck.ExpectKnownValue("ssm_command_run.by_tag", tfjsonpath.New("status"), knownvalue.StringExact("Success")),
					statecheck.ExpectKnownValue("ssm_command_run.by_tag", tfjsonpath.New("target_count"), knownvalue.Int64Exact(2)),
					stateFunc(func() error {
						if b, err := os.ReadFile(dest(web[0], "op/inline.txt")); err != nil || string(b) != "inline under the operator policy\n" {
							return fmt.Errorf("inline file: %q, %v", b, err)
						}
						want, _ := os.ReadFile(big)
						if b, err := os.ReadFile(dest(web[1], "op/big.bin")); err != nil || string(b) != string(want) {
							return fmt.Errorf("staged file: %d bytes, %v", len(b), err)
						}
						// The staged copy listed the staging prefix for leftovers and
						// the run read its output back from S3, as the operator.
						for _, k := range []string{"s3.ListObjectsV2", "s3.PutObject", "s3.DeleteObject", "s3.GetObject", "ssm.SendCommand"} {
							if e.CallCount(k) == 0 {
								return fmt.Errorf("no %s call", k)
							}
						}
						if d := denied(e); len(d) > 0 {
							return fmt.Errorf("requests denied: %v", d)
						}
						return nil
					}),
				},
			},
			{
				// Diagnosis: the IAM reads and the Default Host Management read pass,
				// so it names the real cause, not a check it could not make.
				Config: cfg + resources + fmt.Sprintf(`
data "ssm_agent_online" "offline" {
  instance_ids = [%q, %q]
  timeout      = "2s"
}
`, noProfile, weakRole),
				ExpectError: regexp.MustCompile(`(?s)(` + weakDiag + `.*` + dhmDiag + `|` + dhmDiag + `.*` + weakDiag + `)`),
			},
			{
				Config: cfg + resources,
				Check: func(*terraform.State) error {
					if d := denied(e); len(d) > 0 {
						return fmt.Errorf("requests denied: %v", d)
					}
					return nil
				},
			},
			{
				Config: cfg + resources + fmt.Sprintf(`
resource "ssm_command_run" "db" {
  instance_ids = [%q]
  commands     = ["echo should not run"]
}
`, db[0]),
				ExpectError: regexp.MustCompile(`(?s)AccessDeniedException.*not\s+authorized\s+to\s+perform:\s+ssm:SendCommand.*instance/` + db[0]),
			},
		},
		CheckDestroy: func(*terraform.State) error {
			// Destroy (ssm_file removes its files and lists leftovers) as the
			// operator too: the only denial is the command to the db instance.
			if d := denied(e); strings.Join(d, ",") != "ssm.SendCommand#denied=1" {
				return fmt.Errorf("requests denied: %v", d)
			}
			return nil
		},
	})
}

// Each statement of the generated policy is needed: without it, a named
// operation of the provider fails with AccessDenied naming the action. These
// go through Terraform; the ones whose failure the provider reports as a
// warning (or that only an interrupt triggers) are below, through the engines.
func TestAccOperatorPolicy_everyStatementNeeded(t *testing.T) {
	t.Parallel()
	byTag := `
resource "ssm_command_run" "by_tag" {
  targets {
    key    = "tag:Team"
    values = ["web"]
  }
  commands = ["echo by-tag"]
}
`
	agentOnline := func(id string) string {
		return fmt.Sprintf(`
data "ssm_agent_online" "test" {
  instance_ids = [%q]
  timeout      = "2s"
}
`, id)
	}
	cases := []struct {
		sid    string
		config func(t *testing.T, e *awsemu.Emulator, web []string) string
		want   string
	}{
		{iamx.SidSendCommandDocuments, func(*testing.T, *awsemu.Emulator, []string) string { return byTag },
			`not\s+authorized\s+to\s+perform:\s+ssm:SendCommand\s+on\s+resource:\s+arn:aws:ssm:[a-z0-9-]+::document/AWS-RunShellScript`},
		{iamx.SidSendCommandInstances, func(*testing.T, *awsemu.Emulator, []string) string { return byTag },
			`not\s+authorized\s+to\s+perform:\s+ssm:SendCommand\s+on\s+resource:\s+arn:aws:ec2:[a-z0-9-]+:123456789012:instance/`},
		{iamx.SidReadCommandsAgents, func(*testing.T, *awsemu.Emulator, []string) string { return byTag },
			`not\s+authorized\s+to\s+perform:\s+ec2:DescribeInstances`},
		{iamx.SidDiagnoseIdentity, func(t *testing.T, e *awsemu.Emulator, _ []string) string {
			id := addInstances(t, e, awsemu.InstanceSpec{})[0]
			profileWithPolicy(t, e, "p", copiedMinimalPolicy, id)
			return agentOnline(id)
		}, `could\s+not\s+check\s+the\s+instance\s+profile\s+p.*iam:GetInstanceProfile\s+failed:\s+AccessDenied.*not\s+authorized\s+to\s+perform:\s+iam:GetInstanceProfile`},
		{iamx.SidDiagnoseDefaultHost, func(t *testing.T, e *awsemu.Emulator, _ []string) string {
			return agentOnline(addInstances(t, e, awsemu.InstanceSpec{})[0])
		}, `ssm:GetServiceSetting\s+failed:\s+AccessDeniedException.*not\s+authorized\s+to\s+perform:\s+ssm:GetServiceSetting`},
		{iamx.SidFileStaging, func(t *testing.T, e *awsemu.Emulator, web []string) string {
			return fmt.Sprintf(`
resource "ssm_file" "staged" {
  instance_ids       = [%q]
  source             = %q
  destination        = %q
  staging_bucket     = "op-staging"
  staging_key_prefix = "ssm-file/"
}
`, web[0], bigFile(t), filepath.Join(e.Options().WorkDir, "instances", web[0], "op/big.bin"))
		}, `AccessDenied.*not\s+authorized\s+to\s+perform:\s+s3:PutObject\s+on\s+resource:\s+arn:aws:s3:::op-staging/ssm-file/`},
	}
	for _, c := range cases {
		t.Run(c.sid, func(t *testing.T) {
			t.Parallel()
			e, web := operatorFixture(t)
			policy := withoutStatement(t, operatorPolicyJSON(t, e, operatorArgs), c.sid)
			cfg := operatorUser(t, e, "operator", policy)
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      cfg + c.config(t, e, web),
					ExpectError: regexp.MustCompile(`(?s)` + c.want),
				}},
			})
		})
	}
}

// The statements whose loss the provider reports as a warning, or that only an
// interrupted run needs, through the engines the provider calls, as the user:
// with the statement the operation works; without it, it fails with
// AccessDenied naming the action.
func TestAccOperatorPolicy_statementsBehindWarnings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e, web := operatorFixture(t)
	policy := operatorPolicyJSON(t, e, operatorArgs)
	// Every statement of the policy is proven needed here or in
	// TestAccOperatorPolicy_everyStatementNeeded.
	doc, err := iamx.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	var sids []string
	for _, st := range doc.Statement {
		sids = append(sids, st.Sid)
	}
	sort.Strings(sids)
	covered := []string{iamx.SidCancelCommands, iamx.SidCommandOutputBucket, iamx.SidDiagnoseDefaultHost, iamx.SidDiagnoseIdentity,
		iamx.SidFileStaging, iamx.SidFileStagingList, iamx.SidCommandOutput, iamx.SidReadCommandsAgents,
		iamx.SidSendCommandDocuments, iamx.SidSendCommandInstances}
	sort.Strings(covered)
	if strings.Join(sids, ",") != strings.Join(covered, ",") {
		t.Fatalf("statements %v, tests cover %v", sids, covered)
	}
	_, full := operatorUserConfig(t, e, "operator", policy)
	_, noCancel := operatorUserConfig(t, e, "no-cancel", withoutStatement(t, policy, iamx.SidCancelCommands))
	_, noList := operatorUserConfig(t, e, "no-list", withoutStatement(t, policy, iamx.SidFileStagingList))
	_, noOutput := operatorUserConfig(t, e, "no-output", withoutStatement(t, policy, iamx.SidCommandOutput))
	_, noOutputBucket := operatorUserConfig(t, e, "no-output-bucket", withoutStatement(t, policy, iamx.SidCommandOutputBucket))
	notAuthorized := func(err error, action string) error {
		if err == nil || !strings.Contains(err.Error(), "not authorized to perform: "+action) {
			return fmt.Errorf("want AccessDenied naming %s, got %v", action, err)
		}
		return nil
	}

	// An interrupted run cancels its command (ssm:CancelCommand). The run is
	// interrupted once it holds its command id: at its first poll.
	interrupt := func(cfg aws.Config) *runcommand.CancelledError {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := runcommand.Run(cctx, runcommand.Clients{SSM: ssm.NewFromConfig(cfg)}, runcommand.Spec{
			InstanceIDs: []string{web[0]}, Parameters: map[string][]string{"commands": {"sleep 20"}},
			Progress: func(runcommand.Progress) { cancel() }})
		var ce *runcommand.CancelledError
		if !errors.As(err, &ce) {
			t.Fatalf("interrupted run: %v", err)
		}
		return ce
	}
	if ce := interrupt(full); !ce.CancelSent || ce.CancelErr != nil {
		t.Errorf("with %s: cancel sent %v, %v", iamx.SidCancelCommands, ce.CancelSent, ce.CancelErr)
	}
	if err := notAuthorized(interrupt(noCancel).CancelErr, "ssm:CancelCommand"); err != nil {
		t.Errorf("without %s: %v", iamx.SidCancelCommands, err)
	}

	// ssm_file's cleanup of leftovers lists the staging prefix (s3:ListBucket).
	target := filecopy.Target{InstanceIDs: []string{web[0]}}
	dest := "/tmp/op/file"
	leftover := filecopy.StagingKey("ssm-file/", dest, target)
	if _, err := s3.NewFromConfig(emuConfig(e), func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("op-staging"), Key: aws.String(leftover), Body: strings.NewReader("left over")}); err != nil {
		t.Fatal(err)
	}
	cleanup := func(cfg aws.Config) (int, error) {
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		return filecopy.CleanupStaging(ctx, filecopy.NewClients(runcommand.Clients{SSM: ssm.NewFromConfig(cfg)}, s3c), "op-staging", "ssm-file/", dest, target)
	}
	_, err = cleanup(noList)
	if err := notAuthorized(err, "s3:ListBucket"); err != nil {
		t.Errorf("without %s: %v", iamx.SidFileStagingList, err)
	}
	if n, err := cleanup(full); n != 1 || err != nil {
		t.Errorf("with %s: deleted %d leftovers, %v", iamx.SidFileStagingList, n, err)
	}

	// Output beyond what SSM returns is read from the output bucket (s3:GetObject).
	run := func(cfg aws.Config) *runcommand.Invocation {
		res, err := runcommand.Run(ctx, runcommand.Clients{SSM: ssm.NewFromConfig(cfg), S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })},
			runcommand.Spec{InstanceIDs: []string{web[0]}, OutputS3BucketName: "op-output", OutputLimit: 40000,
				Parameters: map[string][]string{"commands": {"head -c 30000 /dev/zero | tr '\\0' x"}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Invocations[web[0]]
	}
	if inv := run(full); inv.OutputError != "" || len(inv.Stdout) != 30000 {
		t.Errorf("with %s: %d bytes of stdout, %q", iamx.SidCommandOutput, len(inv.Stdout), inv.OutputError)
	}
	if inv := run(noOutput); !strings.Contains(inv.OutputError, "not authorized to perform: s3:GetObject") {
		t.Errorf("without %s: output error %q", iamx.SidCommandOutput, inv.OutputError)
	}

	// The check that the output bucket exists (HeadBucket, s3:ListBucket). A HEAD
	// response has no body to name the action in: the 403 and the emulator's
	// record of the denied HeadBucket say which check failed.
	head := func(cfg aws.Config) error {
		_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("op-output")})
		return err
	}
	if err := head(full); err != nil {
		t.Errorf("with %s: HeadBucket: %v", iamx.SidCommandOutputBucket, err)
	}
	e.ResetCalls()
	if err := head(noOutputBucket); err == nil || !strings.Contains(err.Error(), "403") || e.CallCount("s3.HeadBucket#denied") != 1 {
		t.Errorf("without %s: HeadBucket: %v (denied %d)", iamx.SidCommandOutputBucket, err, e.CallCount("s3.HeadBucket#denied"))
	}
}

// Session documents of the operator policy, enforced: an operator whose policy
// lists AWS-StartPortForwardingSession opens ssm_port_forward to a tagged
// instance, and a second provider signing as that operator reaches the
// emulator only through the tunnel, with not one request denied; an operator
// holding the default list (shell sessions only) is denied the same tunnel,
// and the error names the document and the argument that grants it.
func TestAccOperatorPolicy_portForward(t *testing.T) {
	skipWithoutEphemeral(t)
	t.Parallel()
	e, web := operatorFixture(t)
	for _, id := range web {
		waitOnline(t, e, id)
	}
	forwarderPolicy := operatorPolicyJSON(t, e, operatorArgs+`
  sessions          = true
  session_documents = ["AWS-StartPortForwardingSession"]
`)
	if want := `"arn:aws:ssm:*::document/AWS-StartPortForwardingSession"`; !strings.Contains(forwarderPolicy, want) {
		t.Fatalf("policy lacks %s: %s", want, forwarderPolicy)
	}
	forwarder, cfg := operatorUserConfig(t, e, "forwarder", forwarderPolicy)
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	shell := operatorUser(t, e, "shell", operatorPolicyJSON(t, e, operatorArgs+"  sessions = true\n"))
	tunnel := fmt.Sprintf(`
ephemeral "ssm_port_forward" "emulator" {
  instance_id = %q
  remote_port = %s
}
`, web[0], emuPort(e))
	throughTunnel := providerThroughTunnel("tunnel", "emulator", e.Options().Region, creds.AccessKeyID, creds.SecretAccessKey) + fmt.Sprintf(`
data "ssm_managed_instances" "through_tunnel" {
  provider     = ssm.tunnel
  instance_ids = [%q]
}
`, web[0])
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: shell + tunnel,
				ExpectError: regexp.MustCompile(`(?s)Session denied: arn:aws:iam::\d+:user/shell is not allowed\s+ssm:StartSession on instance ` +
					web[0] + `\s+with\s+document\s+AWS-StartPortForwardingSession.*session_documents\s+=\s+\["AWS-StartPortForwardingSession"\]`),
			},
			{
				Config: forwarder + tunnel + throughTunnel,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.ssm_managed_instances.through_tunnel",
						tfjsonpath.New("instances").AtMapKey(web[0]).AtMapKey("ping_status"), knownvalue.StringExact("Online")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error {
						// The one denial is the shell operator's StartSession of the first step.
						if d := denied(e); len(d) != 1 || d[0] != "ssm.StartSession#denied=1" {
							return fmt.Errorf("denied requests: %v, want only the shell operator's StartSession", d)
						}
						return nil
					},
					func(*terraform.State) error {
						for _, s := range sessionsByState(t, e, ssmtypes.SessionStateHistory) {
							if !strings.HasPrefix(s, "forwarder-") {
								return fmt.Errorf("session %s is not the forwarder's", s)
							}
						}
						return nil
					},
					checkAllTerminated(t, e, 1),
				),
			},
		},
	})
}
