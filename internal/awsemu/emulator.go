// Package awsemu is a local emulator of the AWS APIs the provider uses (STS, IAM,
// EC2, SSM Run Command, S3 and CloudWatch Logs) with a simulated fleet of
// instances whose agents really run commands. It speaks each service's real wire
// protocol so that aws-sdk-go-v2, the AWS CLI and Terraform cannot tell it from AWS
// for the calls the provider makes. notes/aws-behaviour.md is its behaviour sheet.
package awsemu

import (
	"context"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Options configure an Emulator. The zero value is usable: defaults are applied by New.
type Options struct {
	// Region reported by the emulator (default us-east-1).
	Region string
	// AccountID of the emulated account (default 123456789012).
	AccountID string
	// AccessKey and SecretKey are the long-term key pair accepted by SigV4
	// verification (default test/test).
	AccessKey, SecretKey string
	// DisableSigV4 turns signature verification off: any credentials are accepted.
	DisableSigV4 bool
	// EnforceIAM evaluates each request against its caller's identity policies
	// (see authz.go). Off by default: every authenticated call is allowed.
	EnforceIAM bool

	// RegistrationDelay is how long an agent takes to register (PingStatus Online)
	// after its instance runs with a suitable role.
	RegistrationDelay time.Duration
	// IAMPropagationDelay is how long a new instance profile is rejected by EC2
	// ("Invalid IAM Instance Profile name").
	IAMPropagationDelay time.Duration
	// InvocationVisibilityDelay is how long after SendCommand the invocations stay
	// invisible (InvocationDoesNotExist, empty lists).
	InvocationVisibilityDelay time.Duration
	// TimeScale multiplies AWS-side timeouts (delivery timeout, execution timeout),
	// so tests need not wait 30 real seconds. 0 means 1.
	TimeScale float64

	// MaxProcesses bounds the number of command processes running at once on the
	// host, whatever the fleet size (default 32).
	MaxProcesses int
	// WorkDir holds each instance's directory. Default: a temporary directory
	// removed by Close.
	WorkDir string
	// Seed makes fault injection reproducible (default: 1).
	Seed int64
}

// Emulator is one emulated AWS account and region. All state is guarded by mu;
// handlers hold it only briefly, never while a command process runs.
type Emulator struct {
	opts Options

	mu      sync.Mutex
	rng     *rand.Rand
	calls   map[string]int64
	faults  map[string]Fault // key: "service" or "service.Operation"
	creds   map[string]credential
	seq     int64
	iam     *iamState
	ec2     *ec2State
	ssm     *ssmState
	s3      *s3State
	logs    *logsState
	procSem chan struct{}
	admin   *http.ServeMux // the admin API (admin.go)

	ownsWorkDir bool
	srv         *http.Server
	ln          net.Listener
	url         string
	stop        chan struct{}
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

type credential struct {
	secret  string
	token   string // session token, for temporary credentials
	expires time.Time
	arn     string // principal ARN reported by GetCallerIdentity
}

// New creates an emulator with defaults applied. It does not listen: call Start,
// or use it as an http.Handler.
func New(opts Options) (*Emulator, error) {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.AccessKey == "" {
		opts.AccessKey = "test"
	}
	if opts.SecretKey == "" {
		opts.SecretKey = "test"
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.MaxProcesses <= 0 {
		opts.MaxProcesses = 32
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	e := &Emulator{opts: opts, stop: make(chan struct{})}
	if opts.WorkDir == "" {
		dir, err := os.MkdirTemp("", "awsemu-")
		if err != nil {
			return nil, err
		}
		e.opts.WorkDir = dir
		e.ownsWorkDir = true
	} else if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, err
	}
	e.procSem = make(chan struct{}, e.opts.MaxProcesses)
	e.admin = e.newAdminMux()
	e.resetLocked()
	e.wg.Add(1)
	go e.fleetLoop()
	return e, nil
}

// resetLocked drops every resource and counter. Callers hold mu (or own e exclusively).
func (e *Emulator) resetLocked() {
	e.rng = rand.New(rand.NewSource(e.opts.Seed))
	e.calls = map[string]int64{}
	e.faults = map[string]Fault{}
	e.creds = map[string]credential{
		e.opts.AccessKey: {secret: e.opts.SecretKey, arn: e.rootArn()},
	}
	if e.ssm != nil {
		e.ssm.cancelAllLocked()
	}
	e.iam = newIAMState()
	e.ec2 = newEC2State()
	e.ssm = newSSMState()
	e.s3 = newS3State()
	e.logs = newLogsState()
}

// Reset drops every resource, fault and call count, and cancels running commands.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
}

// Options returns the options in force (defaults applied).
func (e *Emulator) Options() Options { return e.opts }

// Start listens on addr ("127.0.0.1:0" for a random loopback port) and serves
// until Close.
func (e *Emulator) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	e.ln = ln
	e.url = "http://" + ln.Addr().String()
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return nil
}

// URL is the base endpoint URL once Start has returned.
func (e *Emulator) URL() string { return e.url }

// Close stops the server, kills running commands and removes a temporary work dir.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		if e.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = e.srv.Shutdown(ctx)
			cancel()
		}
		e.mu.Lock()
		e.ssm.cancelAllLocked()
		e.mu.Unlock()
		e.wg.Wait()
		if e.ownsWorkDir {
			_ = os.RemoveAll(e.opts.WorkDir)
		}
	})
	return nil
}

// scaled converts an AWS-side duration to emulator wall time using TimeScale.
func (e *Emulator) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * e.opts.TimeScale)
}

// nextSeq returns a process-unique counter. Callers hold mu.
func (e *Emulator) nextSeq() int64 { e.seq++; return e.seq }

// instanceDir is the directory commands on the instance run in.
func (e *Emulator) instanceDir(id string) string {
	return filepath.Join(e.opts.WorkDir, "instances", id)
}

// Calls returns a copy of the per-operation call counts, keyed "service.Operation"
// (e.g. "ssm.SendCommand"). Requests rejected before routing are counted under
// "unknown".
func (e *Emulator) Calls() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.calls))
	for k, v := range e.calls {
		out[k] = v
	}
	return out
}

// CallCount returns the count for one "service.Operation" key.
func (e *Emulator) CallCount(key string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[key]
}

// ResetCalls zeroes the call counters.
func (e *Emulator) ResetCalls() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = map[string]int64{}
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
