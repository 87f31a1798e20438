package provider_test

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

func setState(t *testing.T, e *awsemu.Emulator, id, state string) {
	t.Helper()
	if err := e.SetInstanceState(id, state); err != nil {
		t.Fatal(err)
	}
}

func pendingIs(want map[string]knownvalue.Check) statecheck.StateCheck {
	return statecheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("pending_instances"), knownvalue.MapExact(want))
}

// max_unreachable: over it nothing is sent and the apply fails naming the
// instance; within it the others get the file, the skipped one is recorded
// with its reason and every plan shows the catch-up; once it is back, the next
// apply copies to it alone, and the plan is empty again.
func TestAccFile_maxUnreachable(t *testing.T) {
	f := newFileEnv(t, 3)
	a, b, c := f.ids[0], f.ids[1], f.ids[2]
	dest := filepath.Join(t.TempDir(), "app.conf")
	cfg := func(maxUnreachable string) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids    = %s
  content         = "v1\n"
  destination     = %q
  max_unreachable = %q
}
`, quoteIDs(f.ids), dest, maxUnreachable)
	}
	fileTest(t,
		resource.TestStep{
			PreConfig: func() {
				if err := f.e.SetAgentStopped(c, true); err != nil {
					t.Fatal(err)
				}
				waitPing(t, f.e, c, awsemu.PingConnectionLost)
			},
			Config:      cfg("0"),
			ExpectError: regexp.MustCompile(`(?s)copying .*app.conf to 3 instances.*1 of 3 instances cannot receive commands.*` + c + `.*Nothing was sent.*max_unreachable`),
		},
		resource.TestStep{
			PreConfig: func() {
				if n := f.e.CallCount("ssm.SendCommand"); n != 0 {
					t.Errorf("the refused copy sent %d command(s)", n)
				}
			},
			Config: cfg("1"), ExpectNonEmptyPlan: true,
			ConfigStateChecks: []statecheck.StateCheck{pendingIs(map[string]knownvalue.Check{
				c: knownvalue.StringRegexp(regexp.MustCompile(`^not reached: .*ConnectionLost`)),
			})},
			Check: resource.ComposeAggregateTestCheckFunc(lastCommandsAre(t, f.e, 1, "copy "+sortedIDs(a, b)),
				checkFunc(func() error { return fileIs(dest, []byte("v1\n"), 0o644) })),
		},
		// While it is down, every plan shows the catch-up.
		resource.TestStep{Config: cfg("1"), PlanOnly: true, ExpectNonEmptyPlan: true},
		resource.TestStep{
			PreConfig: func() {
				if err := f.e.SetAgentStopped(c, false); err != nil {
					t.Fatal(err)
				}
				waitPing(t, f.e, c, awsemu.PingOnline)
			},
			Config: cfg("1"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{pendingIs(map[string]knownvalue.Check{})},
			Check:             lastCommandsAre(t, f.e, 2, "copy "+c),
		},
		resource.TestStep{Config: cfg("1"), PlanOnly: true},
	)
}

// What is gone is forgotten, what is stopped is not, silently: removing a
// terminated instance from instance_ids is an in-place update that sends
// nothing; a destroy with a stopped and a terminated instance fails within
// seconds naming the stopped one only (agent_wait_timeout is 10m, never
// waited); forget_unreachable, applied in place without sending anything, lets
// the destroy forget it and remove the file from the others.
func TestAccFile_goneAndStopped(t *testing.T) {
	f := newFileEnv(t, 4)
	a, b, c, d := f.ids[0], f.ids[1], f.ids[2], f.ids[3]
	dest := filepath.Join(t.TempDir(), "app.conf")
	cfg := func(ids []string, forget bool) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids       = %s
  content            = "v1\n"
  destination        = %q
  agent_wait_timeout = "10m"
  forget_unreachable = %t
}
`, quoteIDs(ids), dest, forget)
	}
	var started time.Time
	within := func(d time.Duration) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if took := time.Since(started); took > d {
				return fmt.Errorf("took %s, want under %s", took, d)
			}
			return nil
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := os.Stat(dest); !os.IsNotExist(err) {
				return fmt.Errorf("file not removed by the destroy: %v", err)
			}
			return lastCommandsAre(t, f.e, 2, "remove "+a)(nil)
		},
		Steps: []resource.TestStep{
			{Config: cfg(f.ids, false), Check: lastCommandsAre(t, f.e, 1, "copy "+sortedIDs(a, b, c, d))},
			{
				PreConfig: func() { setState(t, f.e, d, "terminated") },
				Config:    cfg([]string{a, b, c}, false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
				}},
				Check: lastCommandsAre(t, f.e, 1),
			},
			{
				PreConfig: func() {
					setState(t, f.e, b, "stopped")
					setState(t, f.e, c, "terminated")
					started = time.Now()
				},
				Config: cfg([]string{a, b, c}, false), Destroy: true,
				ExpectError: regexp.MustCompile(`(?s)removing .*app.conf from 3 instances.*1 of 2 instances cannot receive commands.*` + b + `: instance is stopped.*forget_unreachable = true`),
			},
			{
				PreConfig: func() {
					if took := time.Since(started); took > 30*time.Second {
						t.Errorf("the refused destroy took %s", took)
					}
					if _, err := os.Stat(dest); err != nil {
						t.Errorf("the refused destroy removed the file: %v", err)
					}
				},
				Config: cfg([]string{a, b, c}, true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
				}},
				Check: lastCommandsAre(t, f.e, 1),
			},
			{
				PreConfig: func() { started = time.Now() },
				Config:    cfg([]string{a, b, c}, true), Destroy: true,
				Check: within(30 * time.Second),
			},
		},
	})
}

// A destroy with a terminated instance succeeds within seconds and removes
// the file from the others.
func TestAccFile_destroyForgetsTerminated(t *testing.T) {
	f := newFileEnv(t, 3)
	a, b, c := f.ids[0], f.ids[1], f.ids[2]
	dest := filepath.Join(t.TempDir(), "app.conf")
	cfg := acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids       = %s
  content            = "v1\n"
  destination        = %q
  agent_wait_timeout = "10m"
}
`, quoteIDs(f.ids), dest)
	var started time.Time
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if took := time.Since(started); took > 30*time.Second {
				return fmt.Errorf("the destroy took %s", took)
			}
			if _, err := os.Stat(dest); !os.IsNotExist(err) {
				return fmt.Errorf("file not removed by the destroy: %v", err)
			}
			return lastCommandsAre(t, f.e, 2, "remove "+sortedIDs(a, b))(nil)
		},
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() { setState(t, f.e, c, "terminated"); started = time.Now() },
				Config:    cfg, Destroy: true,
			},
		},
	})
}

// A tag that matches nothing fails, naming the tag, and records nothing;
// allow_empty = true accepts the empty fleet.
func TestAccFile_emptyTagSelection(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	addInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true, Tags: map[string]string{"Role": "web"}})
	dest := filepath.Join(t.TempDir(), "motd")
	cfg := func(allowEmpty bool) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  targets {
    key    = "tag:Role"
    values = ["nothing-has-this"]
  }
  content     = "hello\n"
  destination = %q
  allow_empty = %t
}
`, dest, allowEmpty)
	}
	fileTest(t,
		resource.TestStep{Config: cfg(false), ExpectError: regexp.MustCompile(`(?s)copying .*motd to instances with tag:Role = nothing-has-this.*select no instance.*allow_empty`)},
		resource.TestStep{
			Config: cfg(true),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("command_ids"), knownvalue.ListSizeExact(0)),
				pendingIs(map[string]knownvalue.Check{}),
			},
			Check: resource.ComposeAggregateTestCheckFunc(sendCount(e, 0), checkFunc(func() error {
				if _, err := os.Stat(dest); !os.IsNotExist(err) {
					return fmt.Errorf("a file was written: %v", err)
				}
				return nil
			})),
		},
	)
}

// A staged copy whose agents register late (the emulator's registration delay
// makes them come online about 15 s after launch, while the copy waits up to
// 2m): the file lands byte-exact, and the URL in the command was signed after
// the agent registered, with a lifetime covering the rest of the run (the
// create timeout, 30m by default).
//
// The emulator has no clock to make 11 minutes pass quickly (its TimeScale
// scales AWS-side timeouts, not agent registration or URL expiry), so this
// shows the order (signed after the wait) and the lifetime (the rest of the
// run); internal/filecopy's TestCopy_presignedAfterAgentWait shows that a URL
// whose whole lifetime is shorter than the agent wait still works.
func TestAccFile_stagedAfterLateAgent(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{RegistrationDelay: 15 * time.Second})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 1, Ready: true})
	f := &fileEnv{e: e, ids: ids}
	f.s3 = newStagingBucket(t, e)
	big := make([]byte, 200<<10)
	_, _ = rand.Read(big)
	src := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(src, big, 0o600); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(f.dir(ids[0]), "late", "big.bin")
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids       = [%q]
  source             = %q
  destination        = %q
  staging_bucket     = "staging"
  agent_wait_timeout = "2m"
}
`, ids[0], src, dest)
	started := time.Now()
	fileTest(t, resource.TestStep{
		Config: cfg,
		Check: resource.ComposeAggregateTestCheckFunc(
			checkFunc(func() error { return fileIs(dest, big, 0o644) }),
			checkFunc(f.noStagedObjects),
			checkFunc(func() error {
				inst, _ := e.Instance(ids[0])
				h := commandHistory(t, e)
				if len(h) != 1 {
					return fmt.Errorf("%d commands, want 1", len(h))
				}
				q := presignedQuery(h[0].script)
				signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
				if err != nil {
					return fmt.Errorf("no X-Amz-Date in the command's URL: %v", err)
				}
				if signed.Before(inst.RegisteredAt.Truncate(time.Second)) || inst.RegisteredAt.Sub(started) < 10*time.Second {
					return fmt.Errorf("URL signed at %s, agent registered at %s (%s after the start)", signed, inst.RegisteredAt, inst.RegisteredAt.Sub(started))
				}
				expires, _ := strconv.Atoi(q.Get("X-Amz-Expires"))
				if left := 30*time.Minute - time.Since(started); time.Duration(expires)*time.Second < left {
					return fmt.Errorf("URL valid %ds, less than the %s left of the run", expires, left)
				}
				return nil
			})),
	})
}

// presignedQuery is the query of the presigned URL in a copy script.
func presignedQuery(script string) url.Values {
	i := strings.Index(script, "_ssm_url=")
	if i < 0 {
		return url.Values{}
	}
	raw := strings.Trim(strings.SplitN(script[i+len("_ssm_url="):], "\n", 2)[0], "'")
	u, err := url.Parse(raw)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// An update that failed on one of three instances keeps the new content in
// state with that instance pending; once the cause is fixed, the next apply
// copies to it alone: exactly one invocation. The failure is real and
// per instance: the emulated instance's own directory (where its agent runs
// commands) is moved away, so its agent cannot start the command.
func TestAccFile_retryOnlyWhereFailed(t *testing.T) {
	f := newFileEnv(t, 3)
	a, b, c := f.ids[0], f.ids[1], f.ids[2]
	dest := filepath.Join(t.TempDir(), "app.conf")
	cfg := func(content string) string {
		return acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids = %s
  content      = %q
  destination  = %q
}
`, quoteIDs(f.ids), content, dest)
	}
	broken := f.dir(c) + ".away"
	fileTest(t,
		resource.TestStep{Config: cfg("v1\n"), Check: lastCommandsAre(t, f.e, 1, "copy "+sortedIDs(a, b, c))},
		resource.TestStep{
			PreConfig: func() {
				if err := os.Rename(f.dir(c), broken); err != nil {
					t.Fatal(err)
				}
			},
			Config:      cfg("v2\n"),
			ExpectError: regexp.MustCompile(`(?s)copying .*app.conf to 3 instances.*` + c),
		},
		resource.TestStep{
			PreConfig: func() {
				if err := os.Rename(broken, f.dir(c)); err != nil {
					t.Fatal(err)
				}
			},
			RefreshState: true, ExpectNonEmptyPlan: true,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("ssm_file.test", "pending_instances.%", "1"),
				resource.TestMatchResourceAttr("ssm_file.test", "pending_instances."+c, regexp.MustCompile(`^copy failed: `)),
				resource.TestCheckResourceAttr("ssm_file.test", "sha256", sha([]byte("v2\n")))),
		},
		resource.TestStep{
			Config: cfg("v2\n"),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ssm_file.test", plancheck.ResourceActionUpdate),
			}},
			ConfigStateChecks: []statecheck.StateCheck{pendingIs(map[string]knownvalue.Check{}),
				statecheck.ExpectKnownValue("ssm_file.test", tfjsonpath.New("sha256"), knownvalue.StringExact(sha([]byte("v2\n"))))},
			Check: resource.ComposeAggregateTestCheckFunc(lastCommandsAre(t, f.e, 3, "copy "+c), checkFunc(func() error {
				h := commandHistory(t, f.e)
				out, err := ssm.NewFromConfig(emuConfig(f.e)).ListCommandInvocations(t.Context(),
					&ssm.ListCommandInvocationsInput{CommandId: &h[len(h)-1].id})
				if err != nil {
					return err
				}
				if len(out.CommandInvocations) != 1 {
					return fmt.Errorf("the retry had %d invocations, want 1", len(out.CommandInvocations))
				}
				return fileIs(dest, []byte("v2\n"), 0o644)
			})),
		},
		resource.TestStep{Config: cfg("v2\n"), PlanOnly: true},
	)
}

// A new directory tree for a 0640 file of a group: the new directories are
// 0755 (not the 0700 a umask 077 would give), the file belongs to the group,
// and a user who is only a member of that group can read it, while one who is
// not cannot. The emulated instance runs its commands on this host as root,
// so the reading users are real host users (set by uid/gid, as root can).
func TestAccFile_parentDirectoriesAndGroup(t *testing.T) {
	f := newFileEnv(t, 1)
	grp, gid := hostGroup(t)
	base := t.TempDir()
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil { // t.TempDir makes them 0700
			t.Fatal(err)
		}
	}
	dest := filepath.Join(base, "new", "dir", "app.conf")
	cfg := acctest.ProviderConfig(f.e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  instance_ids = [%q]
  content      = "secret-ish = 1\n"
  destination  = %q
  mode         = "0640"
  group        = %q
}
`, f.ids[0], dest, grp)
	fileTest(t, resource.TestStep{Config: cfg, Check: checkFunc(func() error {
		for _, d := range []string{filepath.Join(base, "new"), filepath.Join(base, "new", "dir")} {
			fi, err := os.Stat(d)
			if err != nil {
				return err
			}
			if fi.Mode().Perm() != 0o755 {
				return fmt.Errorf("%s: mode %o, want 755", d, fi.Mode().Perm())
			}
		}
		if err := fileIs(dest, []byte("secret-ish = 1\n"), 0o640); err != nil {
			return err
		}
		fi, _ := os.Stat(dest)
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Gid != gid {
			return fmt.Errorf("%s: group %v, want %s (%d)", dest, fi.Sys(), grp, gid)
		}
		if os.Geteuid() != 0 {
			return nil // the modes and the group above are what the reading user needs
		}
		if out, err := catAs(dest, 65534, gid); err != nil || out != "secret-ish = 1\n" {
			return fmt.Errorf("a member of %s cannot read the file: %v %s", grp, err, out)
		}
		if _, err := catAs(dest, 65534, 65534); err == nil {
			return fmt.Errorf("a user outside %s can read the 0640 file: the check proves nothing", grp)
		}
		return nil
	})})
}

// hostGroup is an existing group of this host other than root's.
func hostGroup(t *testing.T) (string, uint32) {
	t.Helper()
	for _, name := range []string{"daemon", "bin", "sys", "adm", "users"} {
		if g, err := user.LookupGroup(name); err == nil {
			if n, err := strconv.Atoi(g.Gid); err == nil && n != 0 && n != 65534 {
				return name, uint32(n)
			}
		}
	}
	t.Fatal("no group to test with on this host")
	return "", 0
}

// catAs reads a file as uid with only gid as its group.
func catAs(p string, uid, gid uint32) (string, error) {
	cmd := exec.Command("cat", p)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{gid}}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// By tag, with one of four tagged instances stopped: 25% lets the copy go to
// the three others and records the stopped one; 10% refuses before sending;
// once it runs again, the next apply copies to it alone.
func TestAccFile_tagFleetPartlyDown(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 4, Ready: true, Tags: map[string]string{"Fleet": "files"}})
	for _, id := range ids {
		waitPing(t, e, id, awsemu.PingOnline)
	}
	down := ids[3]
	dest := filepath.Join(t.TempDir(), "fleet.conf")
	cfg := func(maxUnreachable string) string {
		return acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_file" "test" {
  targets {
    key    = "tag:Fleet"
    values = ["files"]
  }
  content         = "fleet\n"
  destination     = %q
  max_unreachable = %q
}
`, dest, maxUnreachable)
	}
	fileTest(t,
		resource.TestStep{
			PreConfig:   func() { setState(t, e, down, "stopped") },
			Config:      cfg("10%"),
			ExpectError: regexp.MustCompile(`(?s)copying .*fleet.conf to instances with tag:Fleet = files.*1 of 4 instances cannot receive commands.*` + down + `.*Nothing was sent`),
		},
		resource.TestStep{
			PreConfig: func() {
				if n := e.CallCount("ssm.SendCommand"); n != 0 {
					t.Errorf("the refused copy sent %d command(s)", n)
				}
			},
			Config: cfg("25%"), ExpectNonEmptyPlan: true,
			ConfigStateChecks: []statecheck.StateCheck{pendingIs(map[string]knownvalue.Check{
				down: knownvalue.StringRegexp(regexp.MustCompile(`^not reached: .*stopped`)),
			})},
			Check: resource.ComposeAggregateTestCheckFunc(lastCommandsAre(t, e, 1, "copy "+sortedIDs(ids[:3]...)),
				checkFunc(func() error { return fileIs(dest, []byte("fleet\n"), 0o644) })),
		},
		resource.TestStep{
			PreConfig: func() {
				setState(t, e, down, "running")
				waitPing(t, e, down, awsemu.PingOnline)
			},
			Config:            cfg("25%"),
			ConfigStateChecks: []statecheck.StateCheck{pendingIs(map[string]knownvalue.Check{})},
			Check:             lastCommandsAre(t, e, 2, "copy "+down),
		},
		resource.TestStep{Config: cfg("25%"), PlanOnly: true},
	)
}
