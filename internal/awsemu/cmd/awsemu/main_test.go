package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestParseTags(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{"", map[string]string{}, false},
		{"Env=dev", map[string]string{"Env": "dev"}, false},
		{"Env=dev,Team=a=b, Empty=", map[string]string{"Env": "dev", "Team": "a=b", "Empty": ""}, false},
		{"novalue", nil, true},
		{"=v", nil, true},
		{"a=1,,b=2", nil, true},
	} {
		got, err := parseTags(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseTags(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseTags(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:4566", false, true},
		{"localhost:0", false, true},
		{"[::1]:4566", false, true},
		{"0.0.0.0:4566", false, false},
		{":4566", false, false},
		{"10.1.2.3:4566", false, false},
		{"0.0.0.0:4566", true, true},
		{"nonsense", false, false},
	} {
		if err := checkAddr(tc.addr, tc.remote); (err == nil) != tc.ok {
			t.Errorf("checkAddr(%q, %v) = %v, want ok %v", tc.addr, tc.remote, err, tc.ok)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-platform", "solaris"},
		{"-instances", "-1"},
		{"-time-scale", "0"},
		{"-addr", "0.0.0.0:1"},
		{"-tags", "x"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%v) succeeded, want an error", args)
		}
	}
	c, err := parseFlags([]string{"-platform", "windows", "-tags", "A=1", "-instances", "2", "-no-sigv4"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.platform != "Windows" || c.tags["A"] != "1" || c.instances != 2 || !c.opts.DisableSigV4 {
		t.Errorf("unexpected config %+v", c)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"test": "test", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "http://127.0.0.1:1": "http://127.0.0.1:1"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writer and reader. When
// wrote is set (a channel of capacity 1), each Write leaves a token in it, so a
// reader can wait for the next write instead of polling.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	if s.wrote != nil {
		select {
		case s.wrote <- struct{}{}:
		default: // a token is already waiting
		}
	}
	return n, err
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestRunPrintsEnvironmentAndStops(t *testing.T) {
	t.Parallel()
	var stdout syncBuffer
	stderr := syncBuffer{wrote: make(chan struct{}, 1)}
	stop := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-addr", "127.0.0.1:0", "-instances", "2", "-tags", "Env=dev", "-secret-key", "s e"}, &stdout, &stderr, stop)
	}()
	timeout := time.After(10 * time.Second)
	for !strings.Contains(stderr.String(), "listening on") {
		select {
		case <-stderr.wrote:
		case code := <-done:
			t.Fatalf("run ended (%d) before its listening line; stderr: %s", code, stderr.String())
		case <-timeout:
			t.Fatalf("no listening line; stderr: %s", stderr.String())
		}
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(line, "export ") {
			t.Fatalf("not an export line: %q", line)
		}
		env[k] = v
	}
	if env["AWS_ACCESS_KEY_ID"] != "test" || env["AWS_SECRET_ACCESS_KEY"] != "'s e'" || env["AWS_REGION"] != "us-east-1" || env["AWS_DEFAULT_REGION"] != "us-east-1" {
		t.Errorf("unexpected environment %v", env)
	}
	if ids := strings.Split(env["AWSEMU_INSTANCE_IDS"], ","); len(ids) != 2 || !strings.HasPrefix(ids[0], "i-") {
		t.Errorf("AWSEMU_INSTANCE_IDS = %q", env["AWSEMU_INSTANCE_IDS"])
	}
	resp, err := http.Get(env["AWS_ENDPOINT_URL"] + "/_awsemu/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("health: %d %s", resp.StatusCode, body)
	}
	stop <- syscall.SIGTERM
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop on SIGTERM")
	}
	if _, err := http.Get(env["AWS_ENDPOINT_URL"] + "/_awsemu/health"); err == nil {
		t.Error("server still answers after shutdown")
	}
}
