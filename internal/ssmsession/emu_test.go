package ssmsession_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/ssmsession"
)

// emuEnv is an emulator with one Online instance (the simulated instance is
// this host) and an HTTP server on the host to forward to.
type emuEnv struct {
	e       *awsemu.Emulator
	ssm     *ssm.Client
	clients ssmsession.Clients
	id      string
	port    int
}

func newEmuEnv(t testing.TB, agentVersion string) *emuEnv {
	t.Helper()
	e := emutest.Start(t, awsemu.Options{})
	cfg := emutest.Config(e)
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true, AgentVersion: agentVersion})
	if err != nil {
		t.Fatal(err)
	}
	emutest.Eventually(t, 30*time.Second, func() error {
		if inst, _ := e.Instance(ids[0]); inst.PingStatus != awsemu.PingOnline {
			return fmt.Errorf("instance %s did not come online (ping status %q)", ids[0], inst.PingStatus)
		}
		return nil
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		_, _ = w.Write(body(n))
	}))
	t.Cleanup(srv.Close)
	sc := ssm.NewFromConfig(cfg)
	return &emuEnv{
		e: e, ssm: sc, id: ids[0], port: portOfAddr(srv.Listener.Addr()),
		clients: ssmsession.Clients{SSM: sc, STS: sts.NewFromConfig(cfg), Agents: agentwait.Clients{
			SSM: sc, EC2: ec2.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg),
		}},
	}
}

var bodies sync.Map // n -> []byte, so that serving a body costs no generation

func body(n int) []byte {
	if b, ok := bodies.Load(n); ok {
		if bb, ok := b.([]byte); ok {
			return bb
		}
	}
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	bodies.Store(n, b)
	return b
}

func (v *emuEnv) open(t testing.TB, spec ssmsession.OpenSpec) *ssmsession.Forwarder {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if spec.Target == "" && spec.InstanceTags == nil {
		spec.Target = v.id
	}
	if spec.RemotePort == 0 {
		spec.RemotePort = v.port
	}
	fw, err := ssmsession.Open(ctx, v.clients, spec)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	return fw
}

func (v *emuEnv) status(t testing.TB, id string) string {
	t.Helper()
	for _, state := range []ssmtypes.SessionState{ssmtypes.SessionStateActive, ssmtypes.SessionStateHistory} {
		out, err := v.ssm.DescribeSessions(t.Context(), &ssm.DescribeSessionsInput{State: state,
			Filters: []ssmtypes.SessionFilter{{Key: ssmtypes.SessionFilterKeySessionId, Value: aws.String(id)}}})
		if err != nil {
			t.Fatalf("DescribeSessions: %v", err)
		}
		for _, s := range out.Sessions {
			if aws.ToString(s.SessionId) == id {
				return string(state) + "/" + string(s.Status)
			}
		}
	}
	return "absent"
}

func TestEmu_portForwardCarriesConcurrentRequestsAndTerminates(t *testing.T) {
	t.Parallel()
	v := newEmuEnv(t, "")
	fw := v.open(t, ssmsession.OpenSpec{})
	if fw.Mode() != ssmsession.ModeMux {
		t.Fatalf("mode %s with a current agent", fw.Mode())
	}
	if got := v.status(t, fw.SessionID()); got != "Active/Connected" {
		t.Fatalf("while open: %s", got)
	}
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			resp, err := c.Get(fmt.Sprintf("http://%s/?n=%d", fw.Addr(), 1000+i))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if got, _ := io.ReadAll(resp.Body); !bytes.Equal(got, body(1000+i)) {
				errs <- fmt.Errorf("request %d: body differs", i)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := v.status(t, fw.SessionID()); got != "History/Terminated" {
		t.Fatalf("after Close: %s", got)
	}
}

func TestEmu_resumeAfterDroppedWebSocketLosesNoByte(t *testing.T) {
	t.Parallel()
	v := newEmuEnv(t, "")
	fw := v.open(t, ssmsession.OpenSpec{})
	const n = 8 << 20
	resp, err := http.Get(fmt.Sprintf("http://%s/?n=%d", fw.Addr(), n))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.CopyN(h, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	ssmsession.DropConnection(fw)
	rest, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("after the drop: %v", err)
	}
	want := sha256.Sum256(body(n))
	if 1<<20+rest != n || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("got %d bytes, want %d byte-exact", 1<<20+rest, n)
	}
	if fw.Stats().Resumes < 1 {
		t.Fatal("the data channel did not resume")
	}
}

func TestEmu_oldAgentOneConnectionAtATime(t *testing.T) {
	t.Parallel()
	v := newEmuEnv(t, "3.0.161.0")
	fw := v.open(t, ssmsession.OpenSpec{})
	if fw.Mode() != ssmsession.ModeBasic {
		t.Fatalf("mode %s with agent 3.0.161.0", fw.Mode())
	}
	for i := 0; i < 3; i++ {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(fmt.Sprintf("http://%s/?n=%d", fw.Addr(), 50000+i))
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, body(50000+i)) {
			t.Fatalf("connection %d: body differs (%d bytes)", i, len(got))
		}
	}
}

func TestEmu_namedFailures(t *testing.T) {
	t.Parallel()
	v := newEmuEnv(t, "")
	ctx := t.Context()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := portOfAddr(ln.Addr())
	_ = ln.Close()
	_, err := ssmsession.Open(ctx, v.clients, ssmsession.OpenSpec{PortSpec: ssmsession.PortSpec{Target: v.id, RemotePort: closed}})
	var refused *ssmsession.RemotePortRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("closed port: %v", err)
	}
	if err := v.e.SetAgentStopped(v.id, true); err != nil {
		t.Fatal(err)
	}
	emutest.Eventually(t, 30*time.Second, func() error {
		if inst, _ := v.e.Instance(v.id); inst.PingStatus == awsemu.PingOnline {
			return errors.New("agent still online")
		}
		return nil
	})
	_, err = ssmsession.Open(ctx, v.clients, ssmsession.OpenSpec{PortSpec: ssmsession.PortSpec{Target: v.id, RemotePort: v.port}})
	var nr *agentwait.NotReadyError
	if !errors.As(err, &nr) {
		t.Fatalf("offline agent: %v", err)
	}
}

// portOfAddr is the port of a listener's address.
func portOfAddr(a net.Addr) int {
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}

func TestEmu_tagsPickAnOnlineAgent(t *testing.T) {
	t.Parallel()
	v := newEmuEnv(t, "")
	ids, err := v.e.AddInstances(awsemu.InstanceSpec{Count: 2, Ready: true, Tags: map[string]string{"Role": "relay"}})
	if err != nil {
		t.Fatal(err)
	}
	down := ids[0]
	if ids[1] < ids[0] {
		down = ids[1] // stop the one that would be picked first
	}
	if err := v.e.SetAgentStopped(down, true); err != nil {
		t.Fatal(err)
	}
	fw := v.open(t, ssmsession.OpenSpec{InstanceTags: map[string]string{"Role": "relay"}, AgentWait: time.Minute})
	if fw.Target() == down || fw.Target() == v.id {
		t.Fatalf("picked %s; want the tagged instance whose agent runs (stopped: %s)", fw.Target(), down)
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/?n=1000", fw.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, body(1000)) {
		t.Fatal("body differs")
	}
}
