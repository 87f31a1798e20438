package runcommand

import (
	"strings"
	"testing"
)

func TestSplitPluginOutput(t *testing.T) {
	for _, tc := range []struct{ in, out, err string }{
		{"hello\n", "hello\n", ""},
		{"a\n" + errorMarker + "b\n", "a\n", "b\n"},
		{errorMarker + "only err", "", "only err"},
	} {
		o, e, ok := splitPluginOutput(tc.in)
		if !ok || o != tc.out || e != tc.err {
			t.Errorf("%q: %q %q %v", tc.in, o, e, ok)
		}
	}
	for _, in := range []string{strings.Repeat("x", 2500), "a" + errorMarker + "b" + errorMarker + "c", "abc\n---Output truncated---"} {
		if _, _, ok := splitPluginOutput(in); ok {
			t.Errorf("%.40q taken as complete", in)
		}
	}
}

func TestClip_utf8Boundary(t *testing.T) {
	s, cut := clip("aé✓", 3) // a(1) é(2) ✓(3)
	if s != "aé" || !cut {
		t.Errorf("clip = %q %v", s, cut)
	}
	s, cut = clip("aé✓", 5)
	if s != "aé" || !cut {
		t.Errorf("clip inside ✓ = %q %v", s, cut)
	}
	if s, cut = clip("abc", 3); s != "abc" || cut {
		t.Errorf("clip = %q %v", s, cut)
	}
}

func TestS3Key(t *testing.T) {
	task := fetchTask{inv: &Invocation{InstanceID: "i-0123456789abcdef0"}, commandID: "c0000000-0000-0000-0000-000000000000", bucket: "out", prefix: "p/q/"}
	for url, want := range map[string]string{
		"https://s3.us-east-1.amazonaws.com/out/p/q/c/i/awsrunShellScript/0.awsrunShellScript/stdout": "p/q/c/i/awsrunShellScript/0.awsrunShellScript/stdout",
		"https://out.s3.eu-west-1.amazonaws.com/x/y%20z/stdout":                                       "x/y z/stdout",
		"": "p/q/c0000000-0000-0000-0000-000000000000/i-0123456789abcdef0/awsrunShellScript/0.awsrunShellScript/stdout",
	} {
		if got := s3Key(url, task, pluginRef{}, "stdout"); got != want {
			t.Errorf("%q: key %q, want %q", url, got, want)
		}
	}
	// Without a URL, the agent's layout: plugin name, then the plugin id (1.2)
	// or the step name (2.x), both without ':'.
	base := "p/q/c0000000-0000-0000-0000-000000000000/i-0123456789abcdef0/"
	ps := task
	ps.document = "AWS-RunPowerShellScript"
	for _, tc := range []struct {
		task fetchTask
		p    pluginRef
		want string
	}{
		{task, pluginRef{listed: "aws:runShellScript", s3Dir: "awsrunShellScript"}, base + "awsrunShellScript/0.awsrunShellScript/stderr"},
		{task, pluginRef{listed: "aws:runShellScript"}, base + "awsrunShellScript/0.awsrunShellScript/stderr"},
		{ps, pluginRef{}, base + "awsrunPowerShellScript/0.awsrunPowerShellScript/stderr"},
		{ps, pluginRef{listed: "aws:runPowerShellScript", s3Dir: "awsrunPowerShellScript"}, base + "awsrunPowerShellScript/0.awsrunPowerShellScript/stderr"},
		{task, pluginRef{name: "second", listed: "second", s3Dir: "awsrunShellScript"}, base + "awsrunShellScript/second/stderr"},
		{task, pluginRef{listed: "my:step", s3Dir: "awsrunPowerShellScript"}, base + "awsrunPowerShellScript/mystep/stderr"},
	} {
		if got := s3Key("", tc.task, tc.p, "stderr"); got != tc.want {
			t.Errorf("%+v: key %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestStripAgentCut(t *testing.T) {
	for in, want := range map[string]string{
		"abc":                                "abc",
		"abc--output truncated--":            "abc",
		"ab\uFFFD\uFFFD--output truncated--": "ab",
		"ab\uFFFD":                           "ab\uFFFD",
	} {
		if got := stripAgentCut(in); got != want {
			t.Errorf("stripAgentCut(%q) = %q, want %q", in, got, want)
		}
	}
	if o, ok := pluginStdout("out\n---Output truncated---\n----------ERROR-------\nerr"); o != "out" || ok {
		t.Errorf("pluginStdout = %q %v", o, ok)
	}
	if o, ok := pluginStdout("out\n"); o != "out\n" || !ok {
		t.Errorf("pluginStdout = %q %v", o, ok)
	}
}

func TestTail(t *testing.T) {
	var lines []string
	for i := 1; i <= 30; i++ {
		lines = append(lines, "line")
	}
	if got := Tail(strings.Join(lines, "\n")+"\n", 10, 1000); strings.Count(got, "\n") != 9 {
		t.Errorf("tail = %q", got)
	}
	if got := Tail(strings.Repeat("é", 1000), 10, 1001); len(got) != 1000 {
		t.Errorf("tail cut inside a rune: %d bytes", len(got))
	}
}
