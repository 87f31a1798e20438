package ssmsession_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// lockedBuffer collects a subprocess's output while the benchmark reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var sessionIDLine = regexp.MustCompile(`Starting session with SessionId: (\S+)`)

// requirePluginTools skips the benchmark when the AWS CLI or the real
// session-manager-plugin is not on PATH, and returns the CLI's path.
func requirePluginTools(b *testing.B) string {
	b.Helper()
	if _, err := exec.LookPath("session-manager-plugin"); err != nil {
		b.Skip("session-manager-plugin is not on PATH: build it from github.com/aws/session-manager-plugin " +
			"as README.md (Quick start, the `make conformance` paragraph) shows and put it on PATH")
	}
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		b.Skip("the AWS CLI (aws) is not on PATH: install it (e.g. `pip install awscli` or apt-get install awscli)")
	}
	return awsCLI
}

// startPluginForward runs `aws ssm start-session` (awsCLI, from
// requirePluginTools) with the AWS-StartPortForwardingSession document against
// v's emulator, so that the AWS CLI hands the session to the real
// session-manager-plugin, and returns the loopback address the plugin listens
// on, forwarding to remotePort on the instance (this host), once that address
// accepts connections. When the benchmark ends the session is terminated (and
// must then be Terminated in the session history) and the CLI and the plugin
// are killed (their whole process group).
func startPluginForward(b *testing.B, awsCLI string, v *emuEnv, remotePort int) string {
	b.Helper()
	// A free loopback port for the plugin to listen on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	localPort := portOfAddr(ln.Addr())
	_ = ln.Close()

	// The CLI sees the emulator's own key pair and region, nothing of the
	// user's AWS configuration.
	dir := b.TempDir()
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	o := v.e.Options()
	env := []string{
		"AWS_ACCESS_KEY_ID=" + o.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + o.SecretKey,
		"AWS_DEFAULT_REGION=" + o.Region,
		"AWS_REGION=" + o.Region,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}

	out := &lockedBuffer{}
	cmd := exec.Command(awsCLI, "--endpoint-url", v.e.URL(), "ssm", "start-session",
		"--target", v.id, "--document-name", "AWS-StartPortForwardingSession",
		"--parameters", fmt.Sprintf("portNumber=%d,localPortNumber=%d", remotePort, localPort))
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that killing it kills the plugin the CLI starts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s ssm start-session: %v", awsCLI, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		// Terminate the session (the plugin then exits by itself, as after
		// `aws ssm terminate-session`), and kill whatever is left in any case.
		if m := sessionIDLine.FindStringSubmatch(out.String()); m != nil {
			// b.Context() is cancelled before cleanups run.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) //nolint:usetesting // a cleanup's own context
			_, err := v.ssm.TerminateSession(ctx, &ssm.TerminateSessionInput{SessionId: aws.String(m[1])})
			cancel()
			if err != nil {
				b.Errorf("TerminateSession %s: %v", m[1], err)
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
			}
			if got := v.status(b, m[1]); got != "History/Terminated" {
				b.Errorf("session %s after TerminateSession: %s", m[1], got)
			}
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	// The plugin prints "Port N opened for sessionId ..." once it listens.
	addr := fmt.Sprintf("127.0.0.1:%d", localPort)
	opened := fmt.Sprintf("Port %d opened", localPort)
	emutest.Eventually(b, 2*time.Minute, func() error {
		select {
		case <-exited:
			b.Fatalf("aws ssm start-session exited before the plugin opened port %d: %s", localPort, out.String())
		default:
		}
		if !strings.Contains(out.String(), opened) {
			return fmt.Errorf("the plugin did not open port %d: %s", localPort, out.String())
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return fmt.Errorf("the plugin does not accept on %s: %w", addr, err)
		}
		_ = c.Close()
		return nil
	})
	return addr
}
