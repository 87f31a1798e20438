package provider_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
)

// fileEnv is an emulator with ready instances and a staging bucket.
type fileEnv struct {
	e   *awsemu.Emulator
	s3  *s3.Client
	ids []string
}

func newFileEnv(t *testing.T, n int) *fileEnv {
	t.Helper()
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: n, Ready: true})
	for _, id := range ids {
		waitPing(t, e, id, awsemu.PingOnline)
	}
	return &fileEnv{e: e, s3: newStagingBucket(t, e), ids: ids}
}

// newStagingBucket creates the bucket "staging" and returns an S3 client.
func newStagingBucket(t *testing.T, e *awsemu.Emulator) *s3.Client {
	t.Helper()
	s3c := s3.NewFromConfig(emuConfig(e), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("staging")}); err != nil {
		t.Fatal(err)
	}
	return s3c
}

// dir is an instance's own directory in the emulator (where its commands run).
func (f *fileEnv) dir(id string) string {
	return filepath.Join(f.e.Options().WorkDir, "instances", id)
}

// noStagedObjects checks that the staging bucket is empty.
func (f *fileEnv) noStagedObjects() error {
	out, err := f.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("staging")})
	if err != nil {
		return err
	}
	if len(out.Contents) > 0 {
		return fmt.Errorf("%d staged object(s) left in the bucket, first %s", len(out.Contents), aws.ToString(out.Contents[0].Key))
	}
	return nil
}

// hclString is s as an HCL string literal (no interpolation).
func hclString(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strconv.Quote(s), "${", "$${"), "%{", "%%{")
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// fileIs checks a file's bytes (by sha256) and mode.
func fileIs(p string, want []byte, mode os.FileMode) error {
	got, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if sha(got) != sha(want) {
		return fmt.Errorf("%s: %d bytes, sha256 %s; want %d bytes, %s", p, len(got), sha(got), len(want), sha(want))
	}
	if mode != 0 {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm() != mode {
			return fmt.Errorf("%s: mode %o, want %o", p, fi.Mode().Perm(), mode)
		}
	}
	return nil
}

func checkFunc(f func() error) resource.TestCheckFunc {
	return func(*terraform.State) error { return f() }
}

func fileTest(t *testing.T, steps ...resource.TestStep) {
	t.Helper()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps:                    steps,
	})
}

// The emulated instances share the host's file system, so each instance gets
// its own destination inside its own directory: one resource per instance
// (count), inline and staged, checked byte for byte in the instance directories.
func TestAccFile_inlineAndStagedOnThreeInstances(t *testing.T) {
	f := newFileEnv(t, 3)
	big := make([]byte, 10<<20)
	_, _ = rand.Read(big)
	src := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(src, big, 0o600); err != nil {
		t.Fatal(err)
	}
	small := "# app.conf\nlisten = 8080\nname = \"it's $HOME ${x} `q`\"\n"
	cfg := acctest.ProviderConfig(f.e) + fmt.Sprintf(`
locals {
  ids  = %s
  work = %q
}
resource "ssm_file" "conf" {
  count        = 3
  instance_ids = [local.ids[count.index]]
  content      = %s
  destination  = "${local.work}/instances/${local.ids[count.index]}/etc/app/app.conf"
  mode         = "0640"
}
resource "ssm_file" "big" {
  count          = 3
  instance_ids   = [local.ids[count.index]]
  source         = %q
  destination    = "${local.work}/instances/${local.ids[count.index]}/opt/bin/big.bin"
  mode           = "0755"
  staging_bucket = "staging"
}
`, quoteIDs(f.ids), f.e.Options().WorkDir, hclString(small), src)
	var checks []resource.TestCheckFunc
	for i, id := range f.ids {
		checks = append(checks,
			checkFunc(func() error { return fileIs(filepath.Join(f.dir(id), "etc/app/app.conf"), []byte(small), 0o640) }),
			checkFunc(func() error { return fileIs(filepath.Join(f.dir(id), "opt/bin/big.bin"), big, 0o755) }),
			resource.TestCheckResourceAttr(fmt.Sprintf("ssm_file.big.%d", i), "sha256", sha(big)),
			resource.TestCheckResourceAttr(fmt.Sprintf("ssm_file.big.%d", i), "size", strconv.Itoa(len(big))),
			resource.TestCheckResourceAttr(fmt.Sprintf("ssm_file.conf.%d", i), "sha256", sha([]byte(small))),
			resource.TestCheckResourceAttr(fmt.Sprintf("ssm_file.conf.%d", i), "command_ids.#", "1"),
		)
	}
	checks = append(checks, checkFunc(f.noStagedObjects), checkFunc(func() error {
		if n := f.e.CallCount("s3.GetObject"); n != 3 {
			return fmt.Errorf("GetObject called %d times, want 3 (one download per instance)", n)
		}
		if n := f.e.CallCount("s3.PutObject"); n != 3 {
			return fmt.Errorf("PutObject called %d times, want 3 (one upload per staged resource, none for inline)", n)
		}
		return nil
	}))
	fileTest(t, resource.TestStep{Config: cfg, Check: resource.ComposeAggregateTestCheckFunc(checks...)},
		resource.TestStep{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}})
}

// Update in place on a content change, replace on a destination change (the
// old file removed), verify_on_read drift -> non-empty plan -> apply -> empty
// plan, and delete.
func TestAccFile_lifecycle(t *testing.T) {
	f := newFileEnv(t, 1)
	id := f.ids[0]
	d := f.dir(id)
	conf := func(content, dest string, verify bool) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids   = [%q]
  content        = %q
  destination    = %q
  verify_on_read = %t
}
`, id, content, filepath.Join(d, dest), verify)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := os.Stat(filepath.Join(d, "b.conf")); !os.IsNotExist(err) {
				return fmt.Errorf("file not removed on destroy: %v", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: conf("v1\n", "a.conf", false), Check: checkFunc(func() error { return fileIs(filepath.Join(d, "a.conf"), []byte("v1\n"), 0o644) })},
			{
				Config: conf("v2\n", "a.conf", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("sha256"), knownvalue.StringExact(sha([]byte("v2\n")))),
				}},
				Check: checkFunc(func() error { return fileIs(filepath.Join(d, "a.conf"), []byte("v2\n"), 0) }),
			},
			{
				Config: conf("v2\n", "b.conf", false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionReplace),
				}},
				Check: checkFunc(func() error {
					if _, err := os.Stat(filepath.Join(d, "a.conf")); !os.IsNotExist(err) {
						return fmt.Errorf("old destination not removed on replace: %v", err)
					}
					return fileIs(filepath.Join(d, "b.conf"), []byte("v2\n"), 0)
				}),
			},
			// Changing verify_on_read alone copies nothing.
			{
				Config: conf("v2\n", "b.conf", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("sha256"), knownvalue.StringExact(sha([]byte("v2\n")))),
				}},
			},
			{
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(d, "b.conf"), []byte("edited by hand\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: conf("v2\n", "b.conf", true), PlanOnly: true, ExpectNonEmptyPlan: true,
			},
			{
				Config: conf("v2\n", "b.conf", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
				}},
				Check: checkFunc(func() error { return fileIs(filepath.Join(d, "b.conf"), []byte("v2\n"), 0) }),
			},
			{Config: conf("v2\n", "b.conf", true), PlanOnly: true},
			// A removed file is drift too.
			{
				PreConfig: func() { _ = os.Remove(filepath.Join(d, "b.conf")) },
				Config:    conf("v2\n", "b.conf", true), PlanOnly: true, ExpectNonEmptyPlan: true,
			},
			{Config: conf("v2\n", "b.conf", true), Check: checkFunc(func() error { return fileIs(filepath.Join(d, "b.conf"), []byte("v2\n"), 0) })},
			// Drift stored by a refresh, then repaired by hand: the next refresh
			// finds the file right again and nothing is planned.
			{
				PreConfig:    func() { _ = os.WriteFile(filepath.Join(d, "b.conf"), []byte("edited\n"), 0o644) },
				RefreshState: true, ExpectNonEmptyPlan: true,
				Check: resource.TestMatchResourceAttr("ssm_file.test", "sha256", regexp.MustCompile(`^drifted from `+sha([]byte("v2\n"))+`: `+id+` sha256 `+sha([]byte("edited\n"))+`$`)),
			},
			{
				PreConfig:    func() { _ = os.WriteFile(filepath.Join(d, "b.conf"), []byte("v2\n"), 0o644) },
				RefreshState: true,
				Check:        resource.TestCheckResourceAttr("ssm_file.test", "sha256", sha([]byte("v2\n"))),
			},
			{Config: conf("v2\n", "b.conf", true), PlanOnly: true},
		},
	})
}

// keep_on_destroy leaves the file; the destroy still deletes a staged object
// that an interrupted copy left behind.
func TestAccFile_keepOnDestroy(t *testing.T) {
	f := newFileEnv(t, 1)
	dest := filepath.Join(f.dir(f.ids[0]), "kept.conf")
	cfg := acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids    = [%q]
  content         = "keep me\n"
  destination     = %q
  mode            = "0600"
  keep_on_destroy = true
  staging_bucket  = "staging"
}
`, f.ids[0], dest)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if err := f.noStagedObjects(); err != nil {
				return fmt.Errorf("after destroy: %w", err)
			}
			return fileIs(dest, []byte("keep me\n"), 0o600)
		},
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() {
					key := filecopy.StagingKey("", dest, filecopy.Target{InstanceIDs: f.ids})
					if _, err := f.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("staging"), Key: aws.String(key), Body: strings.NewReader("left")}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A staged copy whose download fails (connection reset on every S3 GET) fails
// the apply, leaves the previous file intact, deletes the staged object, and a
// later apply copies. An apply interrupted by its timeout deletes the staged
// object too.
func TestAccFile_stagedFailureKeepsPreviousAndCleansUp(t *testing.T) {
	f := newFileEnv(t, 1)
	dest := filepath.Join(f.dir(f.ids[0]), "data.bin")
	src := filepath.Join(t.TempDir(), "data.bin")
	v1 := make([]byte, 100<<10)
	_, _ = rand.Read(v1)
	v2 := append([]byte("v2"), v1...)
	cfg := func(timeout string) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids   = [%q]
  source         = %q
  destination    = %q
  staging_bucket = "staging"
  timeouts {
    update = %q
  }
}
`, f.ids[0], src, dest, timeout)
	}
	write := func(b []byte) {
		if err := os.WriteFile(src, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(v1)
	fileTest(t,
		resource.TestStep{Config: cfg("5m"), Check: resource.ComposeAggregateTestCheckFunc(
			checkFunc(func() error { return fileIs(dest, v1, 0o644) }), checkFunc(f.noStagedObjects))},
		resource.TestStep{
			PreConfig: func() {
				write(v2)
				f.e.SetFault("s3.GetObject", awsemu.Fault{ResetRate: 1})
			},
			Config:      cfg("5m"),
			ExpectError: regexp.MustCompile(`(?s)copying .*data.bin to instance .*1 of 1 invocations failed.*download of .*data.bin.*previous file`),
		},
		resource.TestStep{
			PreConfig: func() {
				if err := fileIs(dest, v1, 0o644); err != nil {
					t.Errorf("after the failed copy: %v", err)
				}
				if err := f.noStagedObjects(); err != nil {
					t.Errorf("after the failed copy: %v", err)
				}
				f.e.SetFault("s3.GetObject", awsemu.Fault{Latency: time.Minute})
			},
			Config:      cfg("4s"),
			ExpectError: regexp.MustCompile(`(?s)copying .*data.bin to instance .*The timeout of 4s was reached.*Run\s+interrupted`),
		},
		resource.TestStep{
			PreConfig: func() {
				if err := fileIs(dest, v1, 0o644); err != nil {
					t.Errorf("after the interrupted copy: %v", err)
				}
				if err := f.noStagedObjects(); err != nil {
					t.Errorf("after the interrupted copy: %v", err)
				}
				f.e.ClearFaults()
				// What a provider killed mid-copy would leave: the next apply deletes it.
				key := filecopy.StagingKey("", dest, filecopy.Target{InstanceIDs: f.ids})
				if _, err := f.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("staging"), Key: aws.String(key), Body: strings.NewReader("left")}); err != nil {
					t.Fatal(err)
				}
			},
			Config: cfg("5m"),
			Check: resource.ComposeAggregateTestCheckFunc(
				checkFunc(func() error { return fileIs(dest, v2, 0o644) }), checkFunc(f.noStagedObjects)),
		},
	)
}

// Bad input fails at plan time, naming the attribute.
func TestAccFile_invalidInput(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 20000), 0o600); err != nil {
		t.Fatal(err)
	}
	res := func(body string) string {
		return acctest.ProviderConfig(e) + "resource \"ssm_file\" \"test\" {\n  instance_ids = [\"i-0123456789abcdef0\"]\n" + body + "\n}\n"
	}
	step := func(body, want string) resource.TestStep {
		return resource.TestStep{Config: res(body), PlanOnly: true, ExpectError: regexp.MustCompile(want)}
	}
	fileTest(t,
		step(`content = "x"
destination = "etc/app.conf"`, `(?s)invalid destination.*destination: "etc/app.conf" is not an absolute path`),
		step(`content = "x"
destination = ""`, `(?s)invalid destination.*destination: the destination is empty`),
		step(`content = "x"
content_base64 = "eA=="
destination = "/etc/x"`, `(?s)Invalid Attribute Combination.*content.*content_base64`),
		step(`source = "/nonexistent/file.bin"
destination = "/etc/x"`, `(?s)source file not readable.*source: stat /nonexistent/file.bin`),
		step(fmt.Sprintf(`source = %q
destination = "/etc/x"`, big), `(?s)staging_bucket required.*source is 20000 bytes`),
		step(`content = "x"
destination = "/etc/x"
mode = "644x"`, `(?s)Invalid Attribute Value Match.*mode.*octal permissions`),
		step(`content_base64 = "not base64!"
destination = "/etc/x"`, `(?s)invalid content_base64`),
		step(`content = "x"
platform = "windows"
destination = "C:\\app\\x.conf"
mode = "0644"`, `(?s)mode is Linux only`),
	)
}

// terraform111 finds a `terraform` on PATH that reports version 1.11 or newer
// (write-only attributes), or "".
func terraform111() (string, string) {
	p, err := exec.LookPath("terraform")
	if err != nil {
		return "", "no terraform on PATH"
	}
	cmd := exec.Command(p, "version", "-json")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Sprintf("%s version failed: %v", p, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return "", fmt.Sprintf("%s version -json: %v", p, err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(v.Version, "%d.%d", &major, &minor); err != nil || major < 1 || (major == 1 && minor < 11) {
		return "", fmt.Sprintf("%s is Terraform %s; write-only attributes need 1.11 or newer", p, v.Version)
	}
	return p, ""
}

// mustNotContain is a check that the JSON of a plan or a state does not hold s.
func mustNotContain(what string, v any, s string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if i := strings.Index(string(b), s); i >= 0 {
		return fmt.Errorf("the secret is in the %s: ...%s...", what, string(b)[max(0, i-300):min(len(b), i+100)])
	}
	return nil
}

type planFunc func(plancheck.CheckPlanRequest) error

func (f planFunc) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = f(req)
}

type stateReqFunc func(statecheck.CheckStateRequest) error

func (f stateReqFunc) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f(req)
}

// content_wo lands on the instance and is in neither the plan JSON nor the
// state; bumping content_wo_version copies the new secret.
func TestAccFile_contentWriteOnly(t *testing.T) {
	if os.Getenv("TF_ACC") != "" {
		switch cli := acctest.DetectCLI(t); {
		case cli.WriteOnly():
			// The CLI under test (Terraform or OpenTofu >= 1.11) runs it.
			testAccFileContentWriteOnly(t)
			return
		case cli.OpenTofu:
			// Under OpenTofu (make testacc-tofu) the suite stays with OpenTofu.
			t.Skipf("write-only attributes need OpenTofu >= 1.11 (or Terraform >= 1.11): the CLI under test is %s", cli)
		}
	}
	// An older Terraform under test: a Terraform >= 1.11 on PATH runs it.
	tf, why := terraform111()
	if tf == "" {
		t.Skipf("write-only attributes need Terraform >= 1.11: %s", why)
	}
	t.Setenv("TF_ACC_TERRAFORM_PATH", tf)
	testAccFileContentWriteOnly(t)
}

func testAccFileContentWriteOnly(t *testing.T) {
	f := newFileEnv(t, 1)
	dest := filepath.Join(f.dir(f.ids[0]), "secret.env")
	// The provider's own log lines (and Terraform's) at TRACE go to this file.
	logPath := filepath.Join(t.TempDir(), "tf.log")
	t.Setenv("TF_ACC_LOG_PATH", logPath)
	t.Setenv("TF_LOG", "TRACE")
	cfg := func(version int, staging bool) string {
		bucket := ""
		if staging {
			bucket = `staging_bucket     = "staging"`
		}
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
# An ephemeral variable: its value (from TF_VAR_secret) is kept in neither the
# plan nor the state, so only the provider could leak it there.
variable "secret" {
  type      = string
  sensitive = true
  ephemeral = true
}
resource "ssm_file" "test" {
  instance_ids       = [%q]
  content_wo         = var.secret
  content_wo_version = %d
  destination        = %q
  mode               = "0600"
  %s
}
`, f.ids[0], version, dest, bucket)
	}
	noSecret := func(secret string) (resource.ConfigPlanChecks, []statecheck.StateCheck) {
		return resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{planFunc(func(req plancheck.CheckPlanRequest) error {
				for _, form := range secretForms(secret) {
					if err := mustNotContain("plan JSON", req.Plan, form); err != nil {
						return err
					}
				}
				return nil
			})}},
			[]statecheck.StateCheck{
				stateReqFunc(func(req statecheck.CheckStateRequest) error {
					for _, form := range secretForms(secret) {
						if err := mustNotContain("state", req.State, form); err != nil {
							return err
						}
					}
					return nil
				}),
				statecheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("content_wo"), knownvalue.Null()),
				statecheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("sha256"), knownvalue.Null()),
				statecheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("size"), knownvalue.Null()),
			}
	}
	// Secrets of 20 bytes: far below the inline threshold, staged anyway.
	one, two := "s3cr3t-one-20-bytes!", "s3cr3t-two-20-bytes!"
	p1, s1 := noSecret(one)
	p2, s2 := noSecret(two)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			// Without a staging bucket the plan fails, saying why.
			{PreConfig: func() { t.Setenv("TF_VAR_secret", one) }, Config: cfg(1, false), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)staging_bucket required with content_wo.*never travels inside a command.*ssm:ListCommands.*Set staging_bucket`)},
			// verify_on_read would need a digest of the secret.
			{Config: strings.Replace(cfg(1, true), `mode               = "0600"`, `mode = "0600"
  verify_on_read = true`, 1), PlanOnly: true,
				ExpectError: regexp.MustCompile(`(?s)verify_on_read cannot check content_wo.*digest`)},
			{Config: cfg(1, true), ConfigPlanChecks: p1, ConfigStateChecks: s1,
				Check: resource.ComposeAggregateTestCheckFunc(checkFunc(func() error { return fileIs(dest, []byte(one), 0o600) }),
					checkFunc(func() error { return secretNowhere(t, f, one) }))},
			// A changed secret without a new version copies nothing.
			{PreConfig: func() { t.Setenv("TF_VAR_secret", two) }, Config: cfg(1, true), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: checkFunc(func() error { return fileIs(dest, []byte(one), 0) })},
			{Config: cfg(2, true), ConfigPlanChecks: p2, ConfigStateChecks: s2,
				Check: resource.ComposeAggregateTestCheckFunc(checkFunc(func() error { return fileIs(dest, []byte(two), 0o600) }),
					checkFunc(func() error { return secretNowhere(t, f, one, two) }),
					checkFunc(func() error { return notInLog(logPath, dest, one, two) }))},
		},
	})
}

// secretNowhere checks that no secret (in any of its secretForms) is in SSM's command
// history (ListCommands, GetCommandInvocation with its output) or in any S3
// object, and that the staging bucket is empty.
func secretNowhere(t *testing.T, f *fileEnv, secrets ...string) error {
	t.Helper()
	ctx := t.Context()
	ssmc := ssm.NewFromConfig(emuConfig(f.e))
	var seen []any
	cmds, err := ssmc.ListCommands(ctx, &ssm.ListCommandsInput{})
	if err != nil {
		return err
	}
	if len(cmds.Commands) == 0 {
		return fmt.Errorf("no command in the history: the check would prove nothing")
	}
	seen = append(seen, cmds)
	for _, c := range cmds.Commands {
		for _, id := range c.InstanceIds {
			inv, err := ssmc.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: c.CommandId, InstanceId: aws.String(id)})
			if err != nil {
				return err
			}
			seen = append(seen, inv)
		}
		invs, err := ssmc.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: c.CommandId, Details: true})
		if err != nil {
			return err
		}
		seen = append(seen, invs)
	}
	objs, err := f.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("staging")})
	if err != nil {
		return err
	}
	if len(objs.Contents) > 0 {
		return fmt.Errorf("%d object(s) left in the staging bucket", len(objs.Contents))
	}
	for _, s := range secrets {
		for _, form := range secretForms(s) {
			if err := mustNotContain("command history", seen, form); err != nil {
				return err
			}
		}
	}
	return nil
}

// secretForms are the forms in which a secret must never appear: itself, its
// base64, and its sha256 (hex and base64), which would let anyone holding them
// test guesses.
func secretForms(secret string) []string {
	d := sha256.Sum256([]byte(secret))
	return []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), hex.EncodeToString(d[:]), base64.StdEncoding.EncodeToString(d[:])}
}

// notInLog checks that the log holds none of the secrets (in any secretForms),
// and that it does hold the provider's own lines: control, a value the
// provider logs (the destination of the "copying file" line), and its AWS API
// call lines, so the grep is known to cover the provider's log.
func notInLog(path, control string, secrets ...string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	log := string(b)
	for _, want := range []string{"copying file", control, "aws.operation=SendCommand", "aws.operation=PutObject"} {
		if !strings.Contains(log, want) {
			return fmt.Errorf("the log %s lacks %q: it does not capture the provider's lines, so the check would prove nothing", path, want)
		}
	}
	for _, s := range secrets {
		for _, form := range secretForms(s) {
			if i := strings.Index(log, form); i >= 0 {
				return fmt.Errorf("the log holds the secret: ...%s...", log[max(0, i-200):min(len(log), i+50)])
			}
		}
	}
	return nil
}

// Tag targets: one command reaches every tagged instance (they share the
// emulator host's file system, so the file is checked once and the command's
// invocations per instance); verify_on_read checks them all with one command;
// an instance whose agent is offline fails the copy at once, naming it.
func TestAccFile_tagTargets(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 3, Ready: true, Tags: map[string]string{"Role": "filecopy"}})
	for _, id := range ids {
		waitPing(t, e, id, awsemu.PingOnline)
	}
	dest := filepath.Join(t.TempDir(), "shared", "motd")
	cfg := func(content string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  targets {
    key    = "tag:Role"
    values = ["filecopy"]
  }
  content        = %q
  destination    = %q
  verify_on_read = true
}
`, content, dest)
	}
	ssmc := ssm.NewFromConfig(emuConfig(e))
	allSucceeded := func(s *terraform.State) error {
		id := s.RootModule().Resources["ssm_file.test"].Primary.Attributes["command_ids.0"]
		out, err := ssmc.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: aws.String(id)})
		if err != nil {
			return err
		}
		ok := 0
		for _, inv := range out.CommandInvocations {
			if inv.Status == "Success" {
				ok++
			}
		}
		if ok != 3 {
			return fmt.Errorf("command %s succeeded on %d of %d instances, want 3", id, ok, len(out.CommandInvocations))
		}
		return nil
	}
	fileTest(t,
		resource.TestStep{Config: cfg("hello\n"), Check: resource.ComposeAggregateTestCheckFunc(allSucceeded,
			checkFunc(func() error { return fileIs(dest, []byte("hello\n"), 0o644) }))},
		resource.TestStep{
			PreConfig: func() {
				if err := e.SetAgentStopped(ids[1], true); err != nil {
					t.Fatal(err)
				}
				waitPing(t, e, ids[1], awsemu.PingConnectionLost)
			},
			Config:      cfg("changed\n"),
			ExpectError: regexp.MustCompile(`(?s)copying .*motd to instances with tag:.*cannot receive commands.*` + ids[1] + `.*Nothing was sent`),
		},
		resource.TestStep{
			PreConfig: func() {
				if err := fileIs(dest, []byte("hello\n"), 0); err != nil {
					t.Errorf("after the refused copy: %v", err)
				}
				if err := e.SetAgentStopped(ids[1], false); err != nil {
					t.Fatal(err)
				}
				waitPing(t, e, ids[1], awsemu.PingOnline)
			},
			Config: cfg("changed\n"),
			Check: resource.ComposeAggregateTestCheckFunc(allSucceeded,
				checkFunc(func() error { return fileIs(dest, []byte("changed\n"), 0o644) })),
		},
	)
}

// sentCommand is one command in the emulator's Run Command history.
type sentCommand struct {
	id     string
	ids    []string // instances it was sent to (by id, or by targets and not cancelled)
	script string   // its commands, joined
}

// commandHistory lists every command sent so far, oldest first.
func commandHistory(t *testing.T, e *awsemu.Emulator) []sentCommand {
	t.Helper()
	ssmc := ssm.NewFromConfig(emuConfig(e))
	var out []sentCommand
	p := ssm.NewListCommandsPaginator(ssmc, &ssm.ListCommandsInput{})
	var cmds []ssmtypes.Command
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, page.Commands...)
	}
	sort.SliceStable(cmds, func(i, j int) bool {
		return aws.ToTime(cmds[i].RequestedDateTime).Before(aws.ToTime(cmds[j].RequestedDateTime))
	})
	for _, c := range cmds {
		ids := append([]string(nil), c.InstanceIds...)
		if len(ids) == 0 {
			// Sent by targets: the instances it ran on (invocations of
			// unreachable agents are cancelled at once and never run).
			invs, err := ssmc.ListCommandInvocations(t.Context(), &ssm.ListCommandInvocationsInput{CommandId: c.CommandId})
			if err != nil {
				t.Fatal(err)
			}
			for _, inv := range invs.CommandInvocations {
				if inv.Status != ssmtypes.CommandInvocationStatusCancelled {
					ids = append(ids, aws.ToString(inv.InstanceId))
				}
			}
		}
		sort.Strings(ids)
		out = append(out, sentCommand{id: aws.ToString(c.CommandId), ids: ids, script: strings.Join(c.Parameters["commands"], "\n")})
	}
	return out
}

// lastCommandsAre checks that the newest len(want) commands went to exactly
// these instances, each a copy ("copy") or a removal ("remove"), and that
// there are total commands in all.
func lastCommandsAre(t *testing.T, e *awsemu.Emulator, total int, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		h := commandHistory(t, e)
		if len(h) != total {
			return fmt.Errorf("%d commands sent in all, want %d", len(h), total)
		}
		for i, w := range want {
			c := h[len(h)-len(want)+i]
			kind, ids, _ := strings.Cut(w, " ")
			got := "copy"
			if strings.HasPrefix(c.script, "rm -f ") {
				got = "remove"
			}
			if got != kind || strings.Join(c.ids, ",") != ids {
				return fmt.Errorf("command %s: a %s to %v, want a %s to %s", c.id, got, c.ids, kind, ids)
			}
		}
		return nil
	}
}

// Reordering instance_ids is no change at all (empty plan, nothing sent);
// adding an instance updates in place and copies to it only; removing a
// reachable one updates in place and removes the file there only (the
// emulated instances share this host's file system, so which instance a
// command went to is read from SSM's command history).
func TestAccFile_instanceIDsOrder(t *testing.T) {
	f := newFileEnv(t, 3)
	dest := filepath.Join(t.TempDir(), "order.conf")
	cfg := func(ids []string) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids = %s
  content      = "same\n"
  destination  = %q
}
`, quoteIDs(ids), dest)
	}
	a, b, c := f.ids[0], f.ids[1], f.ids[2]
	fileTest(t,
		resource.TestStep{Config: cfg([]string{a, b}), Check: lastCommandsAre(t, f.e, 1, "copy "+sortedIDs(a, b))},
		resource.TestStep{
			Config: cfg([]string{a, b, c}),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
			}},
			Check: resource.ComposeAggregateTestCheckFunc(lastCommandsAre(t, f.e, 2, "copy "+c),
				checkFunc(func() error { return fileIs(dest, []byte("same\n"), 0o644) })),
		},
		// The same instances in another order: an empty plan (what
		// plan -detailed-exitcode reports as 0), nothing sent.
		resource.TestStep{Config: cfg([]string{c, a, b}), PlanOnly: true},
		resource.TestStep{
			Config:           cfg([]string{c, a, b}),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check:            lastCommandsAre(t, f.e, 2),
		},
		resource.TestStep{
			Config: cfg([]string{c, a}),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
			}},
			Check: lastCommandsAre(t, f.e, 3, "remove "+b),
		},
		// One in, one out, in the same apply: a removal there, a copy here.
		resource.TestStep{
			Config: cfg([]string{a, b}),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
			}},
			Check: resource.ComposeAggregateTestCheckFunc(lastCommandsAre(t, f.e, 5, "remove "+c, "copy "+b),
				checkFunc(func() error { return fileIs(dest, []byte("same\n"), 0o644) })),
		},
		resource.TestStep{Config: cfg([]string{b, a}), PlanOnly: true},
	)
}

func sortedIDs(ids ...string) string {
	s := append([]string(nil), ids...)
	sort.Strings(s)
	return strings.Join(s, ",")
}
