package ssmsession

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
	"strings"
	"sync"
	"testing"
	"time"
)

// testBody is n deterministic pseudo-random bytes.
func testBody(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// targetServer serves /bytes?n=N (testBody(N)) and /echo.
func targetServer(t *testing.T) string { return targetServerB(t) }

func targetServerB(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bytes":
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			_, _ = w.Write(testBody(n))
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func startForward(t *testing.T, f *fakeSSM, port int) *Forwarder {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	fw, err := StartPortForwarding(ctx, f, PortSpec{Target: "i-0123456789abcdef0", RemotePort: port})
	if err != nil {
		t.Fatalf("StartPortForwarding: %v", err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	return fw
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}

func httpClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
}

func get(t *testing.T, c *http.Client, url string) []byte {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return b
}

func TestMuxForwardingConcurrentAndBodyExactUnderLoss(t *testing.T) {
	target := targetServer(t)
	f := newFakeSSM("3.3.40.0", target)
	f.dropEvery = 97 // lose some messages both ways: acks and retransmission repair it
	defer f.Close()
	fw := startForward(t, f, portOf(target))
	if fw.Mode() != ModeMux {
		t.Fatalf("mode %s, want mux for agent 3.3.40.0", fw.Mode())
	}
	if !fw.Addr().IP.IsLoopback() {
		t.Fatalf("listener on %s", fw.Addr())
	}
	base := "http://" + fw.Addr().String()
	c := httpClient()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := []byte(fmt.Sprintf("request %d %s", i, strings.Repeat("x", i*37)))
			resp, err := c.Post(base+"/echo", "text/plain", bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(got, body) {
				errs <- fmt.Errorf("request %d: echo mismatch (%d bytes, %v)", i, len(got), err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	const n = 4 << 20
	got := get(t, c, base+"/bytes?n="+strconv.Itoa(n))
	if sha256.Sum256(got) != sha256.Sum256(testBody(n)) {
		t.Fatalf("body of %d bytes differs from the %d bytes sent", len(got), n)
	}
	if fw.Stats().Resends == 0 {
		t.Error("no message was resent although the peer lost some")
	}
}

func TestResumeAfterDroppedWebSocketLosesNoByte(t *testing.T) {
	target := targetServer(t)
	f := newFakeSSM("3.3.40.0", target)
	defer f.Close()
	fw := startForward(t, f, portOf(target))
	const n = 6 << 20
	conn, err := net.Dial("tcp", fw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /bytes?n=%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", n)
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	// Read the first MiB, drop the WebSocket, read the rest.
	if _, err := io.CopyN(h, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	fw.s.ch.dropConnection()
	rest, err := io.Copy(h, resp.Body)
	if err != nil {
		t.Fatalf("after the drop: %v", err)
	}
	if 1<<20+rest != n {
		t.Fatalf("read %d bytes, want %d", 1<<20+rest, n)
	}
	want := sha256.Sum256(testBody(n))
	if !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("bytes differ after resume")
	}
	if fw.Stats().Resumes < 1 {
		t.Fatal("the channel did not resume")
	}
	f.mu.Lock()
	resumes := f.resumes
	f.mu.Unlock()
	if resumes < 1 {
		t.Fatal("ResumeSession was not called")
	}
}

func TestBasicModeOneConnectionAtATime(t *testing.T) {
	target := targetServer(t)
	f := newFakeSSM("3.0.161.0", target)
	defer f.Close()
	fw := startForward(t, f, portOf(target))
	if fw.Mode() != ModeBasic {
		t.Fatalf("mode %s, want basic for agent 3.0.161.0", fw.Mode())
	}
	for i := 0; i < 3; i++ {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		got := get(t, c, "http://"+fw.Addr().String()+"/bytes?n=100000")
		if !bytes.Equal(got, testBody(100000)) {
			t.Fatalf("connection %d: body differs (%d bytes)", i, len(got))
		}
	}
}

func TestRemotePortRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	_ = ln.Close()
	f := newFakeSSM("3.3.40.0", closed)
	defer f.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := StartPortForwarding(ctx, f, PortSpec{Target: "i-0123456789abcdef0", RemotePort: portOf(closed)})
	var refused *RemotePortRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("error %v, want RemotePortRefusedError", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.terminated {
		t.Fatal("the failed session was not terminated")
	}
}

func TestCloseTerminatesAndStopsListening(t *testing.T) {
	target := targetServer(t)
	f := newFakeSSM("3.3.40.0", target)
	defer f.Close()
	fw := startForward(t, f, portOf(target))
	addr := fw.Addr().String()
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	term := f.terminated
	f.mu.Unlock()
	if !term {
		t.Fatal("TerminateSession was not called")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		_ = c.Close()
		t.Fatal("the listener is still open after Close")
	}
	select {
	case <-fw.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("data channel still open")
	}
}

func TestRefusesNonLoopbackAndKMS(t *testing.T) {
	f := newFakeSSM("3.3.40.0", "127.0.0.1:1")
	defer f.Close()
	ctx := t.Context()
	if _, err := StartPortForwarding(ctx, f, PortSpec{Target: "i-1", RemotePort: 80, LocalAddress: "0.0.0.0:0"}); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("0.0.0.0: %v", err)
	}
	f.kms = true
	_, err := StartPortForwarding(ctx, f, PortSpec{Target: "i-1", RemotePort: 80})
	var he *HandshakeError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "KMS") {
		t.Fatalf("KMS: %v", err)
	}
}
