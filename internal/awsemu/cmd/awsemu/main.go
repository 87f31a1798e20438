// Command awsemu runs the local AWS emulator as a standalone server for shells,
// the AWS CLI and Terraform. On start it prints, shell-sourceable, the
// environment those tools need:
//
//	eval "$(awsemu -instances 3 -ready -tags Env=dev)"
//
// It stops on SIGINT or SIGTERM, killing running commands and removing its
// temporary work directory. The admin JSON API is under /_awsemu/.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sig))
}

type config struct {
	addr        string
	allowRemote bool
	instances   int
	tags        map[string]string
	platform    string
	ready       bool
	opts        awsemu.Options
}

// parseTags reads K=V,K2=V2.
func parseTags(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("tag %q: want KEY=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

// checkAddr refuses addresses that are not loopback unless remote is allowed: the
// admin API and the fleet's real command execution must not be exposed by accident.
func checkAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", addr, err)
	}
	if allowRemote || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address: the emulator runs commands on this host; pass -allow-remote to listen there anyway", addr)
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("awsemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var tags string
	fs.StringVar(&c.addr, "addr", "127.0.0.1:4566", "listen address (loopback only unless -allow-remote)")
	fs.BoolVar(&c.allowRemote, "allow-remote", false, "allow a non-loopback -addr")
	fs.IntVar(&c.instances, "instances", 0, "number of instances to launch at start")
	fs.StringVar(&tags, "tags", "", "tags for the initial instances, K=V,K2=V2")
	fs.StringVar(&c.platform, "platform", "Linux", "platform of the initial instances: Linux or Windows")
	fs.BoolVar(&c.ready, "ready", false, "give the initial instances a working instance profile (agents come Online)")
	fs.StringVar(&c.opts.Region, "region", "us-east-1", "region")
	fs.StringVar(&c.opts.AccessKey, "access-key", "test", "access key id accepted by SigV4 verification")
	fs.StringVar(&c.opts.SecretKey, "secret-key", "test", "secret access key")
	fs.BoolVar(&c.opts.DisableSigV4, "no-sigv4", false, "accept any credentials")
	fs.BoolVar(&c.opts.EnforceIAM, "enforce-iam", false, "evaluate each request against its caller's identity policies (assumed-role sessions)")
	fs.DurationVar(&c.opts.RegistrationDelay, "registration-delay", 0, "agent registration delay")
	fs.DurationVar(&c.opts.IAMPropagationDelay, "iam-propagation-delay", 0, "how long EC2 rejects a new instance profile")
	fs.DurationVar(&c.opts.InvocationVisibilityDelay, "invocation-visibility-delay", 0, "how long new invocations stay invisible")
	fs.Float64Var(&c.opts.TimeScale, "time-scale", 1, "multiplier for AWS-side timeouts")
	fs.IntVar(&c.opts.MaxProcesses, "max-processes", 32, "maximum concurrent command processes")
	fs.StringVar(&c.opts.WorkDir, "workdir", "", "directory for instance directories (default: a temporary directory removed on exit)")
	fs.Int64Var(&c.opts.Seed, "seed", 1, "seed for fault injection")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var err error
	if c.tags, err = parseTags(tags); err != nil {
		return nil, err
	}
	switch strings.ToLower(c.platform) {
	case "linux":
		c.platform = "Linux"
	case "windows":
		c.platform = "Windows"
	default:
		return nil, fmt.Errorf("-platform must be Linux or Windows, got %q", c.platform)
	}
	if c.instances < 0 {
		return nil, errors.New("-instances must not be negative")
	}
	for name, d := range map[string]time.Duration{"-registration-delay": c.opts.RegistrationDelay,
		"-iam-propagation-delay": c.opts.IAMPropagationDelay, "-invocation-visibility-delay": c.opts.InvocationVisibilityDelay} {
		if d < 0 {
			return nil, fmt.Errorf("%s must not be negative", name)
		}
	}
	if c.opts.TimeScale <= 0 {
		return nil, errors.New("-time-scale must be positive")
	}
	if c.opts.MaxProcesses <= 0 {
		return nil, errors.New("-max-processes must be positive")
	}
	if c.opts.AccessKey == "" || c.opts.SecretKey == "" {
		return nil, errors.New("-access-key and -secret-key must not be empty")
	}
	if err := checkAddr(c.addr, c.allowRemote); err != nil {
		return nil, err
	}
	return c, nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]*$`)

// shellQuote quotes s for POSIX shells when it needs it.
func shellQuote(s string) string {
	if s != "" && shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// run starts the emulator and serves until stop delivers. It returns the exit code.
func run(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "awsemu:", err)
		return 2
	}
	e, err := awsemu.New(c.opts)
	if err != nil {
		fmt.Fprintln(stderr, "awsemu:", err)
		return 1
	}
	defer e.Close()
	var ids []string
	if c.instances > 0 {
		ids, err = e.AddInstances(awsemu.InstanceSpec{Count: c.instances, Tags: c.tags, Platform: c.platform, Ready: c.ready})
		if err != nil {
			fmt.Fprintln(stderr, "awsemu:", err)
			return 1
		}
	}
	if err := e.Start(c.addr); err != nil {
		fmt.Fprintln(stderr, "awsemu:", err)
		return 1
	}
	o := e.Options()
	for _, kv := range [][2]string{
		{"AWS_ENDPOINT_URL", e.URL()},
		{"AWS_ACCESS_KEY_ID", o.AccessKey},
		{"AWS_SECRET_ACCESS_KEY", o.SecretKey},
		{"AWS_REGION", o.Region},
		{"AWS_DEFAULT_REGION", o.Region},
		{"AWSEMU_INSTANCE_IDS", strings.Join(ids, ",")},
	} {
		fmt.Fprintf(stdout, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	fmt.Fprintf(stderr, "awsemu: listening on %s (admin API: %s/_awsemu/health)\n", e.URL(), e.URL())
	s := <-stop
	fmt.Fprintf(stderr, "awsemu: %v, shutting down\n", s)
	return 0
}
