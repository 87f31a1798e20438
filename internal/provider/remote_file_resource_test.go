package provider_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
)

// instanceHasNoS3Permission checks, through IAM, that the instance's role
// grants no S3 action at all: no inline policy, and no attached policy whose
// document names s3.
func instanceHasNoS3Permission(t *testing.T, e *awsemu.Emulator, id string) {
	t.Helper()
	inst, _ := e.Instance(id)
	if inst.Association == nil {
		t.Fatalf("%s has no instance profile", id)
	}
	ctx := t.Context()
	c := iam.NewFromConfig(emuConfig(e))
	name := inst.Association.ProfileArn[strings.LastIndex(inst.Association.ProfileArn, "/")+1:]
	p, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.InstanceProfile.Roles) != 1 {
		t.Fatalf("profile %s has %d roles", name, len(p.InstanceProfile.Roles))
	}
	role := p.InstanceProfile.Roles[0].RoleName
	inl, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: role})
	if err != nil || len(inl.PolicyNames) != 0 {
		t.Fatalf("role %s has inline policies %v (%v)", aws.ToString(role), inl.PolicyNames, err)
	}
	att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: role})
	if err != nil || len(att.AttachedPolicies) == 0 {
		t.Fatalf("role %s: attached %v (%v)", aws.ToString(role), att.AttachedPolicies, err)
	}
	for _, ap := range att.AttachedPolicies {
		pol, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: pol.Policy.DefaultVersionId})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
		if strings.Contains(strings.ToLower(doc), `"s3:`) || strings.Contains(doc, `"*"`) && strings.Contains(doc, `"Action": "*"`) {
			t.Fatalf("policy %s of the instance role grants S3: %s", aws.ToString(ap.PolicyArn), doc)
		}
	}
}

func writeBytes(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func noCalls(e *awsemu.Emulator) error {
	for op, n := range e.Calls() {
		if n > 0 {
			return fmt.Errorf("refresh and plan called %s %d times; ssm_remote_file's Read must make no AWS call", op, n)
		}
	}
	return nil
}

// A 5 KB text file comes back through the command's output, byte-exact, from
// an instance whose role has no S3 permission at all. Day 2: refresh and plan
// make no AWS call and the plan is empty. A changed trigger fetches again (the
// file changed meanwhile).
func TestAccRemoteFile_textDay2Triggers(t *testing.T) {
	f := newFileEnv(t, 1)
	id := f.ids[0]
	instanceHasNoS3Permission(t, f.e, id)
	dir := f.dir(id)
	text := bytes.Repeat([]byte("server: https://10.0.0.1:6443 # kubeconfig-like line\n"), 5*1024/52+1)[:5*1024]
	writeBytes(t, filepath.Join(dir, "app.conf"), text)
	cfg := func(trigger string) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_remote_file" "conf" {
  instance_id      = %[1]q
  path             = "%[2]s/app.conf"
  triggers_replace = %[3]q
}
`, id, dir, trigger)
	}
	text2 := append(append([]byte{}, text...), "# changed\n"...)
	fileTest(t,
		resource.TestStep{Config: cfg("1"),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_remote_file.conf", tfjsonpath.New("content"), knownvalue.StringExact(string(text))),
				statecheck.ExpectKnownValue("ssm_remote_file.conf", tfjsonpath.New("content_base64"), knownvalue.Null()),
				statecheck.ExpectKnownValue("ssm_remote_file.conf", tfjsonpath.New("sha256"), knownvalue.StringExact(sha(text))),
				statecheck.ExpectKnownValue("ssm_remote_file.conf", tfjsonpath.New("size"), knownvalue.Int64Exact(5*1024)),
				statecheck.ExpectKnownValue("ssm_remote_file.conf", tfjsonpath.New("id"), knownvalue.StringExact(id+":"+dir+"/app.conf")),
			},
			Check: checkFunc(func() error {
				if n := f.e.CallCount("s3.PutObject") + f.e.CallCount("s3.GetObject"); n != 0 {
					return fmt.Errorf("%d S3 object calls; a 5 KB file comes back in the command's output", n)
				}
				return nil
			})},
		resource.TestStep{PreConfig: func() { f.e.ResetCalls() }, Config: cfg("1"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check:            checkFunc(func() error { return noCalls(f.e) })},
		resource.TestStep{PreConfig: func() { writeBytes(t, filepath.Join(dir, "app.conf"), text2); f.e.ResetCalls() }, Config: cfg("2"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_remote_file.conf", plancheck.ResourceActionReplace),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_remote_file.conf", tfjsonpath.New("content"), knownvalue.StringExact(string(text2))),
				statecheck.ExpectKnownValue("ssm_remote_file.conf", tfjsonpath.New("sha256"), knownvalue.StringExact(sha(text2))),
			},
			Check: checkFunc(func() error {
				if n := f.e.CallCount("ssm.SendCommand"); n != 1 {
					return fmt.Errorf("SendCommand called %d times, want 1 (one fetch)", n)
				}
				return nil
			})},
	)
}

// A 5 MB binary file comes back through a presigned PUT to the staging
// bucket, byte-exact, from an instance whose role has no S3 permission at
// all; the staged object is gone afterwards.
func TestAccRemoteFile_binaryStaged(t *testing.T) {
	f := newFileEnv(t, 1)
	id := f.ids[0]
	instanceHasNoS3Permission(t, f.e, id)
	bin := make([]byte, 5<<20)
	_, _ = rand.Read(bin)
	src := filepath.Join(f.dir(id), "data.bin")
	writeBytes(t, src, bin)
	fileTest(t, resource.TestStep{
		Config: acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_remote_file" "bin" {
  instance_id    = %q
  path           = %q
  encoding       = "base64"
  staging_bucket = "staging"
}
`, id, src),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("ssm_remote_file.bin", tfjsonpath.New("content"), knownvalue.Null()),
			statecheck.ExpectKnownValue("ssm_remote_file.bin", tfjsonpath.New("sha256"), knownvalue.StringExact(sha(bin))),
			statecheck.ExpectKnownValue("ssm_remote_file.bin", tfjsonpath.New("size"), knownvalue.Int64Exact(5<<20)),
		},
		Check: resource.ComposeAggregateTestCheckFunc(
			resource.TestCheckResourceAttrWith("ssm_remote_file.bin", "content_base64", func(v string) error {
				got, err := base64.StdEncoding.DecodeString(v)
				if err != nil {
					return err
				}
				if sha(got) != sha(bin) {
					return fmt.Errorf("content_base64 decodes to %d bytes, sha256 %s; want %d bytes, %s", len(got), sha(got), len(bin), sha(bin))
				}
				return nil
			}),
			checkFunc(f.noStagedObjects),
			checkFunc(func() error {
				// The instance PUT the file once (presigned); the provider read it once.
				if p, g := f.e.CallCount("s3.PutObject"), f.e.CallCount("s3.GetObject"); p != 1 || g != 1 {
					return fmt.Errorf("PutObject %d, GetObject %d; want 1 and 1", p, g)
				}
				return nil
			})),
	})
}

// A missing file, a directory and a binary file read as text fail with the
// path and the instance named; nothing is stored.
func TestAccRemoteFile_errors(t *testing.T) {
	f := newFileEnv(t, 1)
	id := f.ids[0]
	dir := f.dir(id)
	writeBytes(t, filepath.Join(dir, "blob"), []byte{0xff, 0xfe, 0x00, 0x80})
	one := func(p, extra string) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_remote_file" "test" {
  instance_id = %q
  path        = %q
  %s
}
`, id, p, extra)
	}
	missing := filepath.Join(dir, "etc", "kubernetes", "admin.conf")
	fileTest(t,
		resource.TestStep{Config: one(missing, ""),
			ExpectError: regexp.MustCompile(`(?s)fetching ` + regexp.QuoteMeta(missing) + ` from ` + id + `.*` + regexp.QuoteMeta(missing) + `\s+on\s+` + id + `\s+does\s+not\s+exist`)},
		resource.TestStep{Config: one(dir, ""),
			ExpectError: regexp.MustCompile(`(?s)on\s+` + id + `\s+is\s+a\s+directory`)},
		resource.TestStep{Config: one(filepath.Join(dir, "blob"), ""),
			ExpectError: regexp.MustCompile(`(?s)is\s+not\s+UTF-8\s+text.*encoding\s+=\s+"base64"`)},
		resource.TestStep{Config: one("etc/hosts", ""), PlanOnly: true,
			ExpectError: regexp.MustCompile(`(?s)invalid path.*not an absolute path`)},
	)
}

// The ephemeral form: a file on the instance holds the settings of a second
// instance of this provider (an alias) — its credentials included — and that
// provider creates a role during the apply. The file's content is in neither
// the plan nor the state, and no staged object is left.
func TestAccRemoteFile_ephemeralConfiguresProvider(t *testing.T) {
	if os.Getenv("TF_ACC") != "" {
		switch cli := acctest.DetectCLI(t); {
		case cli.OpenTofu && cli.AtLeast(1, 11), !cli.OpenTofu && cli.AtLeast(1, 10):
			testAccRemoteFileEphemeral(t)
			return
		case cli.OpenTofu:
			t.Skipf("ephemeral resources need OpenTofu >= 1.11 (or Terraform >= 1.10): the CLI under test is %s", cli)
		}
	}
	tf, why := terraform111()
	if tf == "" {
		t.Skipf("ephemeral resources need Terraform >= 1.10: %s", why)
	}
	t.Setenv("TF_ACC_TERRAFORM_PATH", tf)
	testAccRemoteFileEphemeral(t)
}

func testAccRemoteFileEphemeral(t *testing.T) {
	f := newFileEnv(t, 1)
	id := f.ids[0]
	instanceHasNoS3Permission(t, f.e, id)
	o := f.e.Options()
	marker := make([]byte, 12)
	_, _ = rand.Read(marker)
	secret := "kubeconfig-secret-" + hex.EncodeToString(marker)
	creds := fmt.Sprintf(`{"endpoint": %q, "region": %q, "access_key": %q, "secret_key": %q, "marker": %q}`,
		f.e.URL(), o.Region, o.AccessKey, o.SecretKey, secret)
	src := filepath.Join(f.dir(id), "creds.json")
	writeBytes(t, src, []byte(creds))
	cfg := acctest.ProviderConfig(f.e) + fmt.Sprintf(`
ephemeral "ssm_remote_file" "creds" {
  instance_id    = %q
  path           = %q
  staging_bucket = "staging"
}

locals {
  creds = jsondecode(ephemeral.ssm_remote_file.creds.content)
}

provider "ssm" {
  alias      = "second"
  region     = local.creds.region
  access_key = local.creds.access_key
  secret_key = local.creds.secret_key
  endpoints {
    iam = local.creds.endpoint
    sts = local.creds.endpoint
  }
}

resource "ssm_instance_role" "via_second" {
  provider = ssm.second
  name     = "from-fetched-settings"
}
`, id, src)
	noSecret := planFunc(func(req plancheck.CheckPlanRequest) error { return mustNotContain("plan JSON", req.Plan, secret) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{noSecret}},
			ConfigStateChecks: []statecheck.StateCheck{
				stateReqFunc(func(req statecheck.CheckStateRequest) error { return mustNotContain("state", req.State, secret) }),
				statecheck.ExpectKnownValue("ssm_instance_role.via_second", tfjsonpath.New("name"), knownvalue.StringExact("from-fetched-settings")),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkFunc(f.noStagedObjects),
				func(s *terraform.State) error {
					for name := range s.RootModule().Resources {
						if strings.Contains(name, "remote_file") {
							return fmt.Errorf("%s is in the state", name)
						}
					}
					return nil
				},
				checkFunc(func() error {
					// Every fetch went through S3 (a secret never comes back in
					// the command's output): as many PUTs as commands.
					p, s := f.e.CallCount("s3.PutObject"), f.e.CallCount("ssm.SendCommand")
					if p == 0 || p != s {
						return fmt.Errorf("PutObject %d, SendCommand %d: want one staged upload per fetch", p, s)
					}
					return nil
				})),
		}},
	})
}
