// Package awsacc is the opt-in acceptance lane against a real AWS account
// (`make testacc-aws`): the guard that refuses to start without credentials and
// an explicit confirmation, the fixture that launches the lane's own instances
// (Amazon Linux 2023 from its public SSM parameter, the smallest instance type,
// no key pair, an instance profile it creates), the sweeper that deletes by tag
// whatever a run left (`make sweep-aws`), and the fidelity group that measures
// the behaviours notes/aws-behaviour.md marks GUESS.
//
// It talks to AWS only through the SDK's clients, so the same code runs against
// the bundled emulator when AWS_ENDPOINT_URL points at one: that is how `make
// test` proves the lane on every change. The lane's acceptance tests themselves
// (lane_test.go) carry the build tag awsacc and never run in the ordinary
// `go test ./...`.
package awsacc

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The environment the lane reads.
const (
	// EnvConfirm must be "1": the explicit confirmation that the run may create
	// (and pay for) resources in the account the credentials name.
	EnvConfirm = "SSM_ACC_AWS"
	// EnvRunID names the run (default: random). Everything the run creates
	// carries it in the TagKey tag and in its name.
	EnvRunID = "SSM_ACC_RUN_ID"
	// EnvInstances is how many fixture instances to launch (default 1, at most
	// MaxInstances).
	EnvInstances = "SSM_ACC_AWS_INSTANCES"
	// EnvArch is x86_64 (default) or arm64.
	EnvArch = "SSM_ACC_AWS_ARCH"
	// EnvReport is a file the fidelity report is written to (JSON), besides
	// being printed.
	EnvReport = "SSM_ACC_REPORT"
)

// TagKey is the tag every resource of a run carries, with the run id as value.
const TagKey = "ssm-acc-run"

// NamePrefix starts the name of every resource the lane creates; IAM roles and
// instance profiles are also created under IAMPath, so the sweeper lists only
// the lane's own.
const (
	NamePrefix = "ssm-acc-"
	IAMPath    = "/ssm-acc/"
)

// Hard caps: a run never launches more than MaxInstances instances, and its
// instances shut themselves down (and so terminate) MaxWall after boot even if
// the run is killed and no sweeper ever runs.
const (
	MaxInstances = 2
	MaxWall      = 30 * time.Minute
)

// Settings are what the lane runs with, from the environment.
type Settings struct {
	RunID        string
	Region       string
	Arch         string // x86_64 or arm64
	InstanceType string
	Instances    int
	// Endpoint is AWS_ENDPOINT_URL: non-empty when the lane runs against an
	// emulator (or another endpoint) instead of AWS.
	Endpoint string
}

// AMIParameter is the public SSM parameter holding the newest Amazon Linux
// 2023 AMI for the architecture.
func (s Settings) AMIParameter() string {
	return "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + s.Arch
}

// Target says where the run goes: "aws" or "emulator <url>".
func (s Settings) Target() string {
	if s.Endpoint != "" {
		return "endpoint " + s.Endpoint
	}
	return "aws"
}

// instanceTypes are the smallest general-purpose types per architecture, with
// their on-demand Linux price per hour in us-east-1 (notes/aws-behaviour.md#public-ami-parameters-and-fixture-instances).
var instanceTypes = map[string]struct {
	name  string
	price float64
}{
	"x86_64": {"t3.nano", 0.0052},
	"arm64":  {"t4g.nano", 0.0042},
}

// ErrRefused is wrapped by every error of Check: the lane must not start.
var ErrRefused = errors.New("the AWS acceptance lane refuses to start")

// Check reads the settings from getenv (os.Getenv) and refuses, creating
// nothing, unless the confirmation variable is set and credentials and a
// region are given explicitly in the environment. The error says what is
// missing, what the run would create and what it costs at most.
func Check(getenv func(string) string) (Settings, error) {
	s := Settings{
		RunID:     getenv(EnvRunID),
		Region:    firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")),
		Arch:      firstNonEmpty(getenv(EnvArch), "x86_64"),
		Instances: 1,
		Endpoint:  getenv("AWS_ENDPOINT_URL"),
	}
	var missing []string
	if getenv(EnvConfirm) != "1" {
		missing = append(missing, EnvConfirm+"=1 (the confirmation that this run may create and pay for resources)")
	}
	keys := getenv("AWS_ACCESS_KEY_ID") != "" && getenv("AWS_SECRET_ACCESS_KEY") != ""
	if !keys && getenv("AWS_PROFILE") == "" {
		missing = append(missing, "credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
	}
	if s.Region == "" {
		missing = append(missing, "AWS_REGION")
	}
	it, ok := instanceTypes[s.Arch]
	if !ok {
		return s, fmt.Errorf("%w: %s must be x86_64 or arm64, got %q", ErrRefused, EnvArch, s.Arch)
	}
	s.InstanceType = it.name
	if v := getenv(EnvInstances); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxInstances {
			return s, fmt.Errorf("%w: %s must be 1..%d, got %q", ErrRefused, EnvInstances, MaxInstances, v)
		}
		s.Instances = n
	}
	if s.RunID == "" {
		s.RunID = NewRunID()
	} else if !runIDRe(s.RunID) {
		return s, fmt.Errorf("%w: %s must be 4 to 16 lower-case letters and digits, got %q", ErrRefused, EnvRunID, s.RunID)
	}
	if len(missing) > 0 {
		return s, fmt.Errorf("%w: set %s.\n\n%s", ErrRefused, strings.Join(missing, "; "), Plan(s))
	}
	return s, nil
}

// Plan says what a run creates and what it costs at most.
func Plan(s Settings) string {
	it := instanceTypes[s.Arch]
	if it.name == "" {
		it = instanceTypes["x86_64"]
	}
	hours := MaxWall.Hours()
	// Per instance: its hourly price plus an 8 GiB gp3 root volume
	// ($0.08 per GiB-month) for at most MaxWall, rounded up to a cent.
	perInstance := it.price*hours + 8*0.08/730*hours
	maxCost := float64(MaxInstances) * perInstance
	return fmt.Sprintf(`What a run creates (in the account and region of the credentials, all tagged %s=<run id>, names starting %s):
  - an IAM role and instance profile (path %s) for the SSM agent, with AmazonSSMManagedInstanceCore;
  - %d (at most %d) EC2 instance(s) %s (%s) of the newest Amazon Linux 2023 AMI (%s), no key pair,
    in the default VPC with its default security group (no inbound rule from outside the group);
    each shuts itself down and terminates %s after boot, even if the run is killed;
  - one S3 bucket for the file-copy test, and the roles, profiles, commands and files the tests create.
The run deletes everything at its end; `+"`make sweep-aws`"+` deletes whatever a killed run left, by tag.
Cost: at most about $%.2f (%d x %s at $%.4f/hour plus an 8 GiB gp3 volume, for at most %s); IAM,
Run Command and public parameters are free; S3 requests and storage are a fraction of a cent.`,
		TagKey, NamePrefix, IAMPath, max(s.Instances, 1), MaxInstances, it.name, s.Arch, s.AMIParameter(),
		MaxWall, roundUpCents(maxCost), MaxInstances, it.name, it.price, MaxWall)
}

func roundUpCents(v float64) float64 {
	c := float64(int64(v*100)) / 100
	if c < v {
		c += 0.01
	}
	return c
}

// NewRunID is a random run id: 10 lower-case hex digits.
func NewRunID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func runIDRe(s string) bool {
	if len(s) < 4 || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
