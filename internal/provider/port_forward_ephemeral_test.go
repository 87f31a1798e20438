package provider_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// skipWithoutEphemeral skips, saying why, when the CLI under test has no
// ephemeral resources.
func skipWithoutEphemeral(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	if cli := acctest.DetectCLI(t); !cli.Ephemeral() {
		t.Skipf("ssm_port_forward is an ephemeral resource: %s has none (Terraform 1.10+ or OpenTofu 1.11+ needed)", cli)
	}
}

// streamBody writes n deterministic bytes (a seeded stream) to w and hashes them.
func streamBody(w io.Writer, n int64) []byte {
	h := sha256.New()
	src := io.LimitReader(rand.New(rand.NewSource(n)), n)
	_, _ = io.Copy(io.MultiWriter(w, h), src)
	return h.Sum(nil)
}

// privateEndpoint is the "private" HTTP server on the simulated instance (the
// host): /bytes?n=N streams N deterministic bytes; anything else echoes its path.
func privateEndpoint(t *testing.T) int {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bytes" {
			n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			streamBody(w, n)
			return
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return portOfAddr(srv.Listener.Addr())
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return portOfAddr(ln.Addr())
}

func emuPort(e *awsemu.Emulator) string {
	return e.URL()[strings.LastIndex(e.URL(), ":")+1:]
}

// sessionsByState lists the emulator's sessions as "id:status" per state.
func sessionsByState(t *testing.T, e *awsemu.Emulator, state ssmtypes.SessionState) []string {
	t.Helper()
	var out []string
	p := ssm.NewDescribeSessionsPaginator(ssm.NewFromConfig(emuConfig(e)), &ssm.DescribeSessionsInput{State: state})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Sessions {
			out = append(out, aws.ToString(s.SessionId)+":"+string(s.Status))
		}
	}
	return out
}

// checkAllTerminated: no session is Active, and History holds at least min,
// every one Terminated.
func checkAllTerminated(t *testing.T, e *awsemu.Emulator, atLeast int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if active := sessionsByState(t, e, ssmtypes.SessionStateActive); len(active) > 0 {
			return fmt.Errorf("sessions still Active after the run: %v", active)
		}
		hist := sessionsByState(t, e, ssmtypes.SessionStateHistory)
		if len(hist) < atLeast {
			return fmt.Errorf("%d sessions in History, want at least %d: %v", len(hist), atLeast, hist)
		}
		for _, s := range hist {
			if !strings.HasSuffix(s, ":Terminated") {
				return fmt.Errorf("session %s in History is not Terminated", s)
			}
		}
		return nil
	}
}

func checkNotListening(port int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second); err == nil {
			_ = c.Close()
			return fmt.Errorf("something still listens on 127.0.0.1:%d after the run", port)
		}
		return nil
	}
}

// loadThroughTunnel: 100 concurrent requests and a 100 MB body, byte-exact,
// through the tunnel at addr.
func loadThroughTunnel(addr string) error {
	c := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 100, MaxConnsPerHost: 100}}
	var wg sync.WaitGroup
	errs := make(chan error, 101)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			path := fmt.Sprintf("/request/%d", i)
			resp, err := c.Get("http://" + addr + path)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if b, _ := io.ReadAll(resp.Body); string(b) != path {
				errs <- fmt.Errorf("request %d: got %q", i, b)
			}
		}(i)
	}
	wg.Wait()
	const size = 100 << 20
	resp, err := c.Get(fmt.Sprintf("http://%s/bytes?n=%d", addr, size))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return fmt.Errorf("100 MB body: %w after %d bytes", err, n)
	}
	if want := streamBody(io.Discard, size); n != size || !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("100 MB body: %d bytes, not byte-exact", n)
	}
	close(errs)
	var msgs []string
	for err := range errs {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%d of 100 requests failed: %s", len(msgs), strings.Join(msgs, "; "))
	}
	return nil
}

// providerThroughTunnel is a provider block aliased alias, signing with the
// given keys, that reaches every service only through the tunnel of
// ephemeral.ssm_port_forward.<tunnel> (to the emulator's port on an instance).
func providerThroughTunnel(alias, tunnel, region, accessKey, secretKey string) string {
	addr := "http://${ephemeral.ssm_port_forward." + tunnel + ".local_address}"
	return fmt.Sprintf(`provider "ssm" {
  alias      = %q
  region     = %q
  access_key = %q
  secret_key = %q
  endpoints {
    ec2 = %[5]q
    iam = %[5]q
    ssm = %[5]q
    sts = %[5]q
    s3  = %[5]q
  }
}
`, alias, region, accessKey, secretKey, addr)
}

// TestAccPortForward_secondProviderThroughTunnel: during one apply, a second
// instance of this provider reaches the emulator only through a tunnel
// (its endpoints are the tunnel's local_address) and runs a command through it;
// while that command runs, a second tunnel to a private HTTP server on the
// instance carries 100 concurrent requests and a 100 MB body byte-exact. After
// the run, every session is Terminated and no listener is left.
func TestAccPortForward_secondProviderThroughTunnel(t *testing.T) {
	skipWithoutEphemeral(t)
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{})
	id := addInstances(t, e, awsemu.InstanceSpec{Ready: true})[0]
	web := privateEndpoint(t)
	local := freePort(t)
	syncDir := t.TempDir()
	loadErr := make(chan error, 1)
	go func() {
		// The command below runs only in the apply: wait for it, load the web
		// tunnel, then let the command finish.
		if err := emutest.WaitFor(5*time.Minute, func() error {
			_, err := os.Stat(filepath.Join(syncDir, "started"))
			return err
		}); err != nil {
			loadErr <- fmt.Errorf("the command through the tunnel never started: %w", err)
			return
		}
		start := time.Now()
		err := loadThroughTunnel(net.JoinHostPort("127.0.0.1", strconv.Itoa(local)))
		t.Logf("100 requests and 100 MB through the tunnel in %s", time.Since(start).Round(time.Millisecond))
		_ = os.WriteFile(filepath.Join(syncDir, "done"), nil, 0o600)
		loadErr <- err
	}()
	o := e.Options()
	config := acctest.ProviderConfig(e) + fmt.Sprintf(`
ephemeral "ssm_port_forward" "emulator" {
  instance_id = %[1]q
  remote_port = %[2]s
}

ephemeral "ssm_port_forward" "web" {
  instance_id = %[1]q
  remote_port = %[3]d
  local_port  = %[4]d
  reason      = "acceptance test"
}

%[5]s

resource "ssm_command_run" "through_tunnel" {
  provider     = ssm.tunnel
  instance_ids = [%[1]q]
  commands     = ["touch %[6]s/started", "until [ -f %[6]s/done ]; do sleep 0.1; done", "echo through the tunnel"]
  depends_on   = [ephemeral.ssm_port_forward.web]
}
`, id, emuPort(e), web, local, providerThroughTunnel("tunnel", "emulator", o.Region, o.AccessKey, o.SecretKey), syncDir)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttr("ssm_command_run.through_tunnel", "status", "Success"),
				func(*terraform.State) error {
					select {
					case err := <-loadErr:
						return err
					case <-time.After(time.Minute):
						return fmt.Errorf("the load through the tunnel did not finish")
					}
				},
				checkAllTerminated(t, e, 4),
				checkNotListening(local),
			),
		}},
	})
}

// TestAccPortForward_namedFailures: a refused remote port, an offline agent and
// a denied StartSession each fail the run with their cause and what to do.
func TestAccPortForward_namedFailures(t *testing.T) {
	skipWithoutEphemeral(t)
	t.Parallel()
	e := emutest.Start(t, awsemu.Options{EnforceIAM: true})
	ids := addInstances(t, e, awsemu.InstanceSpec{Count: 2, Ready: true})
	web := privateEndpoint(t)
	closed := freePort(t)
	for _, id := range ids {
		waitOnline(t, e, id)
	}
	// A user who may look at instances and agents but not start sessions.
	viewer := operatorUser(t, e, "viewer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:Describe*","ssm:Get*","ec2:Describe*","iam:Get*","iam:List*","sts:GetCallerIdentity"],"Resource":"*"}]}`)
	forward := func(id string, port int) string {
		return fmt.Sprintf(`
ephemeral "ssm_port_forward" "test" {
  instance_id = %q
  remote_port = %d
}
`, id, port)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      acctest.ProviderConfig(e) + forward(ids[0], closed),
				ExpectError: regexp.MustCompile(`(?s)opening port forward to port \d+.*Remote port refused: the agent could not connect to\s+localhost:\d+`),
			},
			{
				Config:      viewer + forward(ids[0], web),
				ExpectError: regexp.MustCompile(`(?s)Session denied: arn:aws:iam::\d+:user/viewer is not allowed\s+ssm:StartSession on instance ` + ids[0]),
			},
			{
				PreConfig: func() {
					if err := e.SetAgentStopped(ids[1], true); err != nil {
						t.Fatal(err)
					}
					waitNotOnline(t, e, ids[1])
				},
				Config:      acctest.ProviderConfig(e) + forward(ids[1], web),
				ExpectError: regexp.MustCompile(`(?s)Agent offline: .*` + ids[1]),
			},
		},
		CheckDestroy: checkAllTerminated(t, e, 1),
	})
}

func waitNotOnline(t *testing.T, e *awsemu.Emulator, id string) {
	t.Helper()
	emutest.Eventually(t, time.Minute, func() error {
		if inst, _ := e.Instance(id); inst.PingStatus == awsemu.PingOnline {
			return fmt.Errorf("agent of %s still Online", id)
		}
		return nil
	})
}

// portOfAddr is the port of a listener's address.
func portOfAddr(a net.Addr) int {
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}
