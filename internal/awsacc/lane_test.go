//go:build awsacc

// The AWS acceptance lane (`make testacc-aws`): the provider's acceptance
// tests against the account and region of the environment's credentials — or
// against the emulator AWS_ENDPOINT_URL names — on instances the lane launches
// itself, then the fidelity group, then the sweep. Built only with -tags awsacc.

package awsacc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

var (
	lane struct {
		s   Settings
		c   Clients
		cfg aws.Config
		f   *Fixture
	}
	laneReport *Report
)

func TestMain(m *testing.M) { os.Exit(runLane(m)) }

func runLane(m *testing.M) int {
	s, err := Check(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("==> AWS acceptance lane: run %s, target %s, region %s\n%s\n", s.RunID, s.Target(), s.Region, Plan(s))
	ctx, cancel := context.WithTimeout(context.Background(), MaxWall)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading the AWS configuration:", err)
		return 2
	}
	pathStyle, _ := strconv.ParseBool(os.Getenv("AWS_S3_USE_PATH_STYLE"))
	c := NewClients(cfg, pathStyle || s.Endpoint != "")
	lane.s, lane.c, lane.cfg = s, c, cfg

	sweep := func() int {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer scancel()
		for attempt := 1; ; attempt++ {
			found, err := Sweep(sctx, c, s.RunID)
			if err == nil {
				left, ferr := Find(sctx, c, s.RunID)
				if ferr == nil && left.Empty() {
					fmt.Printf("==> sweep of run %s: removed %s; nothing left\n", s.RunID, found)
					return 0
				}
				err = errors.Join(ferr, fmt.Errorf("still there: %s", left))
			}
			if attempt == 5 || sctx.Err() != nil {
				fmt.Fprintf(os.Stderr, "==> sweep of run %s incomplete: %v\n    run `make sweep-aws SSM_ACC_RUN_ID=%s`\n", s.RunID, err, s.RunID)
				return 1
			}
			_ = poll.Sleep(sctx, 5*time.Second)
		}
	}
	// Interrupted: sweep before going.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		fmt.Fprintf(os.Stderr, "==> %v: sweeping run %s\n", sig, s.RunID)
		cancel()
		sweep()
		os.Exit(130)
	}()

	// The wall-time cap: past it, sweep and stop, whatever is running (go
	// test's own -timeout is longer, and would stop without sweeping).
	capTimer := time.AfterFunc(MaxWall, func() {
		fmt.Fprintf(os.Stderr, "==> wall-time cap of %s reached: sweeping run %s\n", MaxWall, s.RunID)
		sweep()
		os.Exit(1)
	})
	defer capTimer.Stop()

	start := time.Now()
	f, err := Launch(ctx, c, s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "==> fixture launch failed:", err)
		sweep()
		return 1
	}
	lane.f = f
	fmt.Printf("==> fixture: %v of %s (%s) Online after %s\n", f.InstanceIDs, f.AMI, s.InstanceType, time.Since(start).Round(time.Second))

	code := m.Run()

	if laneReport != nil {
		js := laneReport.JSON()
		fmt.Printf("==> fidelity report (%d differences from the emulator)\n%s\n", len(laneReport.Differences()), js)
		if p := os.Getenv(EnvReport); p != "" {
			if err := os.WriteFile(p, []byte(js+"\n"), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "writing the report:", err)
				code = 1
			}
		}
	}
	if sweep() != 0 && code == 0 {
		code = 1
	}
	fmt.Printf("==> lane done in %s\n", time.Since(start).Round(time.Second))
	return code
}

// providerBlock configures the provider from the environment (credentials,
// region, AWS_ENDPOINT_URL) and tags everything with the run id.
func providerBlock() string {
	return fmt.Sprintf(`
provider "ssm" {
  default_tags {
    tags = { %q = %q }
  }
}
`, TagKey, lane.s.RunID)
}

func instanceList() string {
	q := make([]string, len(lane.f.InstanceIDs))
	for i, id := range lane.f.InstanceIDs {
		q[i] = strconv.Quote(id)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// The agents are Online, a command runs on every fixture instance, and files
// are copied inline and through the run's bucket, checksums verified on the
// instances.
func TestLane_commandRunAndFile(t *testing.T) {
	acctest.PreCheck(t)
	dir := "/tmp/" + Name(lane.s.RunID, "files")
	small := "hello from the AWS lane\n"
	big := strings.Repeat("0123456789abcdef", 20*1024/16) // 20 KiB: staged in S3
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	cfg := providerBlock() + fmt.Sprintf(`
data "ssm_agent_online" "nodes" {
  instance_ids = %[1]s
  timeout      = "5m"
}

resource "ssm_command_run" "hello" {
  instance_ids = data.ssm_agent_online.nodes.online_instance_ids
  commands     = ["echo hello from $(uname -s)"]
}

resource "ssm_file" "small" {
  instance_ids = data.ssm_agent_online.nodes.online_instance_ids
  destination  = "%[2]s/small.txt"
  content      = %[3]q
}

resource "ssm_file" "big" {
  instance_ids   = data.ssm_agent_online.nodes.online_instance_ids
  destination    = "%[2]s/big.txt"
  content        = %[4]q
  staging_bucket = %[5]q
}

resource "ssm_command_run" "check" {
  depends_on   = [ssm_file.small, ssm_file.big]
  instance_ids = data.ssm_agent_online.nodes.online_instance_ids
  commands     = ["cd %[2]s && sha256sum small.txt big.txt"]
  destroy {
    commands = ["rm -rf %[2]s"]
  }
}
`, instanceList(), dir, small, big, lane.f.Bucket)
	id0 := lane.f.InstanceIDs[0]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("data.ssm_agent_online.nodes", "online_instance_ids.#", strconv.Itoa(len(lane.f.InstanceIDs))),
				resource.TestCheckResourceAttr("ssm_command_run.hello", "status", "Success"),
				resource.TestCheckResourceAttr("ssm_command_run.hello", "invocations."+id0+".stdout", "hello from Linux\n"),
				resource.TestCheckResourceAttrWith("ssm_command_run.check", "invocations."+id0+".stdout", func(v string) error {
					want := sum(small) + "  small.txt\n" + sum(big) + "  big.txt\n"
					if v != want {
						return fmt.Errorf("checksums on the instance:\n%s\nwant\n%s", v, want)
					}
					return nil
				}),
			),
		}},
	})
}

// An instance role and profile made by the provider carry the run's tag and
// are gone after destroy.
func TestLane_instanceRoleAndProfile(t *testing.T) {
	acctest.PreCheck(t)
	name := Name(lane.s.RunID, "tf")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: providerBlock() + fmt.Sprintf(`
resource "ssm_instance_role" "r" {
  name = %[1]q
  path = %[2]q
}

resource "ssm_instance_profile" "p" {
  name = %[1]q
  path = %[2]q
  role = ssm_instance_role.r.name
}
`, name, IAMPath),
			Check: func(*terraform.State) error {
				out, err := lane.c.IAM.ListRoleTags(t.Context(), &iam.ListRoleTagsInput{RoleName: aws.String(name)})
				if err != nil {
					return err
				}
				for _, tg := range out.Tags {
					if aws.ToString(tg.Key) == TagKey && aws.ToString(tg.Value) == lane.s.RunID {
						return nil
					}
				}
				return fmt.Errorf("role %s lacks the run tag: %v", name, out.Tags)
			},
		}},
		CheckDestroy: func(*terraform.State) error {
			_, err := lane.c.IAM.GetRole(t.Context(), &iam.GetRoleInput{RoleName: aws.String(name)})
			if !notFound(err) {
				return fmt.Errorf("role %s after destroy: %v", name, err)
			}
			return nil
		},
	})
}

// TestFidelity measures every GUESS of notes/aws-behaviour.md that can be
// measured, one subtest each, and records the report TestMain prints. A
// measurement fails only when it cannot get an answer; an answer that differs
// from the emulator's is the point of the report, not a failure.
func TestFidelity(t *testing.T) {
	p := &Probe{C: lane.c, S: lane.s, F: lane.f, Cfg: lane.cfg}
	r := Report{Target: lane.s.Target(), Region: lane.s.Region, RunID: lane.s.RunID, Time: time.Now().UTC().Format(time.RFC3339)}
	for _, g := range Ordered() {
		if g.Measure == nil {
			r.Findings = append(r.Findings, Measure(t.Context(), p, g))
			continue
		}
		t.Run(g.ID, func(t *testing.T) {
			f := Measure(t.Context(), p, g)
			r.Findings = append(r.Findings, f)
			switch {
			case f.Error != "" && g.ID == "s3_explicit_us_east_1_constraint" && lane.s.Region != "us-east-1":
				t.Logf("not measurable here: %s", f.Error)
			case f.Error != "":
				t.Errorf("%s: %s", g.ID, f.Error)
			case f.Differs:
				t.Logf("%s differs from the emulator: %q (emulator: %q)", g.ID, f.Observed, f.Emulator)
			}
		})
	}
	laneReport = &r
}
