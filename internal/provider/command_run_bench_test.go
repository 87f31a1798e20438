package provider_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// BenchmarkCommandRunFleet applies one ssm_command_run by tag with the real
// Terraform CLI (TF_ACC_TERRAFORM_PATH, else the newest bin/terraform-<version>) and the provider
// built from this module as a separate plugin process (dev_overrides), on an
// emulated fleet of 1,000 and 10,000 instances, healthy and with 10% of them
// stopped (max_unreachable = "15%"), output_limit = 64. It reports:
//   - calls: every API call the emulator served during the apply;
//   - wall-s: the apply's wall time;
//   - provider-peak-MiB: the provider process's peak resident set (VmHWM in
//     /proc/<pid>/status, read while it runs; Linux only);
//   - terraform-peak-MiB: the Terraform CLI process's own peak resident set,
//     for scale: what the run costs beside the provider;
//   - plan-wall-s, plan-provider-peak-MiB and plan-terraform-peak-MiB: the
//     same for the day-2 `terraform plan -detailed-exitcode` that follows
//     (refresh and plan of the stored results, no AWS call), which must plan
//     nothing on a healthy fleet and the in-place update for the stopped
//     instances otherwise.
//
// Run with make bench (go test -run '^$' -bench ...): it is not a test and
// never runs in make test. The 10,000-instance cases take many minutes (the
// emulator runs every command for real), so they run only with
// BENCH_FLEET_10K=1 (make bench-fleet-10k); alone:
// -bench 'BenchmarkCommandRunFleet/instances=10000$/' (-bench levels are
// unanchored regexes: instances=1000 also matches instances=10000).
func BenchmarkCommandRunFleet(b *testing.B) {
	tfPath := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tfPath == "" {
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			b.Fatal(err)
		}
		tfPath = filepath.Join(strings.TrimSpace(string(root)), "bin", "terraform")
	}
	if _, err := os.Stat(tfPath); err != nil {
		b.Skipf("no Terraform CLI at %s (set TF_ACC_TERRAFORM_PATH)", tfPath)
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc to read the provider's peak memory")
	}
	bin, rc := buildProvider(b)
	for _, n := range []int{1000, 10000} {
		for _, stopped := range []int{0, n / 10} {
			name := fmt.Sprintf("instances=%d/stopped=%d", n, stopped)
			b.Run(name, func(b *testing.B) {
				if n > 1000 && os.Getenv("BENCH_FLEET_10K") != "1" {
					b.Skip("10,000 instances take many minutes: set BENCH_FLEET_10K=1")
				}
				for i := 0; i < b.N; i++ {
					benchFleetApply(b, tfPath, bin, rc, n, stopped)
				}
			})
		}
	}
}

// buildProvider builds the provider once into a temporary directory and
// writes a CLI configuration whose dev_overrides use it.
func buildProvider(b *testing.B) (bin, rc string) {
	dir := b.TempDir()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		b.Fatal(err)
	}
	bin = filepath.Join(dir, "bin", "terraform-provider-ssm")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	rc = filepath.Join(dir, "dev.tfrc")
	cfg := "provider_installation {\n  dev_overrides {\n    \"terraform-ssm/ssm\" = \"" + filepath.Dir(bin) + "\"\n  }\n  direct {}\n}\n"
	if err := os.WriteFile(rc, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	return bin, rc
}

func benchFleetApply(b *testing.B, tfPath, bin, rc string, n, stopped int) {
	b.StopTimer()
	e := emutest.Start(b, awsemu.Options{})
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: n, Ready: true, Tags: map[string]string{"Fleet": "bench"}})
	if err != nil {
		b.Fatal(err)
	}
	emutest.Eventually(b, 2*time.Minute, func() error {
		for _, id := range ids {
			if inst, _ := e.Instance(id); inst.PingStatus != awsemu.PingOnline {
				return fmt.Errorf("agent of %s did not come online (ping status %q)", id, inst.PingStatus)
			}
		}
		return nil
	})
	for _, id := range ids[:stopped] {
		if err := e.SetInstanceState(id, awsemu.StateStopped); err != nil {
			b.Fatal(err)
		}
	}
	work := b.TempDir()
	main := `terraform {
  required_providers {
    ssm = { source = "terraform-ssm/ssm" }
  }
}
` + acctest.ProviderConfig(e) + `
resource "ssm_command_run" "fleet" {
  commands        = ["echo ok"]
  max_concurrency = "100%"
  max_unreachable = "15%"
  output_limit    = 64
  targets {
    key    = "tag:Fleet"
    values = ["bench"]
  }
}
`
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(main), 0o644); err != nil {
		b.Fatal(err)
	}
	e.ResetCalls()
	b.StartTimer()
	apply, err := runMeasured(tfPath, work, rc, bin, "apply", "-auto-approve", "-no-color", "-input=false")
	b.StopTimer()
	if err != nil {
		b.Fatalf("terraform apply: %v\n%s", err, apply.out)
	}
	calls := e.Calls()
	total := int64(0)
	keys := make([]string, 0, len(calls))
	for k, v := range calls {
		total += v
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, calls[k]))
	}
	// Day 2: a plan of the same configuration reads the stored results back
	// (refresh and plan, no AWS call). It plans nothing on a healthy fleet; with
	// stopped instances it plans the in-place update that runs on them.
	plan, err := runMeasured(tfPath, work, rc, bin, "plan", "-detailed-exitcode", "-no-color", "-input=false")
	var exit *exec.ExitError
	updates := errors.As(err, &exit) && exit.ExitCode() == 2 && strings.Contains(plan.out, "0 to add, 1 to change, 0 to destroy")
	switch {
	case stopped == 0 && err != nil:
		b.Fatalf("terraform plan after the apply: %v (exit code 2 means changes)\n%s", err, plan.out)
	case stopped > 0 && !updates:
		b.Fatalf("terraform plan after the apply: %v, want the in-place update for the %d stopped instances\n%s", err, stopped, plan.out)
	}
	b.Logf("%d instances, %d stopped: %d calls (%s), %s, provider peak %.1f MiB, terraform peak %.1f MiB; day-2 plan %s, provider peak %.1f MiB, terraform peak %.1f MiB",
		n, stopped, total, strings.Join(parts, " "), apply.wall.Round(time.Millisecond), mib(apply.providerPeak), mib(apply.terraformPeak),
		plan.wall.Round(time.Millisecond), mib(plan.providerPeak), mib(plan.terraformPeak))
	b.ReportMetric(float64(total), "calls")
	b.ReportMetric(apply.wall.Seconds(), "wall-s")
	b.ReportMetric(mib(apply.providerPeak), "provider-peak-MiB")
	b.ReportMetric(mib(apply.terraformPeak), "terraform-peak-MiB")
	b.ReportMetric(plan.wall.Seconds(), "plan-wall-s")
	b.ReportMetric(mib(plan.providerPeak), "plan-provider-peak-MiB")
	b.ReportMetric(mib(plan.terraformPeak), "plan-terraform-peak-MiB")
}

// measured is one Terraform CLI run of runMeasured.
type measured struct {
	wall          time.Duration
	providerPeak  uint64 // KiB: the largest VmHWM of the provider processes
	terraformPeak uint64 // KiB: the CLI process's own VmHWM
	out           string
}

func mib(kib uint64) float64 { return float64(kib) / 1024 }

// runMeasured runs the Terraform CLI in dir with the dev_overrides
// configuration rc and returns its wall time, the largest peak resident set
// of the provider processes running bin meanwhile, the CLI's own, and its
// output.
func runMeasured(tfPath, dir, rc, bin string, args ...string) (measured, error) {
	cmd := exec.Command(tfPath, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measured{}, err
	}
	var m measured
	cliStatus := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "status")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m.providerPeak = max(m.providerPeak, providerHWM(bin))
			m.terraformPeak = max(m.terraformPeak, vmHWM(cliStatus))
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	err := cmd.Wait()
	m.wall = time.Since(start)
	close(stop)
	wg.Wait()
	m.out = out.String()
	return m, err
}

// providerHWM is the largest VmHWM (KiB) of the running processes executing bin.
func providerHWM(bin string) uint64 {
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	var best uint64
	for _, p := range procs {
		if exe, err := os.Readlink(p); err != nil || exe != bin {
			continue
		}
		best = max(best, vmHWM(filepath.Join(filepath.Dir(p), "status")))
	}
	return best
}

// vmHWM reads the VmHWM (KiB) of a /proc/<pid>/status file, 0 when the
// process is gone.
func vmHWM(status string) uint64 {
	f, err := os.Open(status)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
