package filecopy

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fetch script as the agent runs it: the marker line and the base64 of
// every byte value for a small file; the ExitFetch* code and a message naming
// the path for a missing file, a directory, a file above the limit and a large
// file without staging.
func TestFetchShellCommands(t *testing.T) {
	dir := t.TempDir()
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	src := filepath.Join(dir, "it's a file.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runSh(t, FetchShellCommands(FetchScriptParams{Path: src, MaxSize: 1 << 20, InlineLimit: FetchInlineLimit}), "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	size, sha, via, rest, err := parseFetchOutput(out)
	if err != nil || size != 3000 || sha != sum(data) || via != "inline" || rest != base64.StdEncoding.EncodeToString(data) {
		t.Fatalf("parsed %d %s %s %q, %v from %q", size, sha, via, rest, err, out)
	}

	for _, tc := range []struct {
		name  string
		p     FetchScriptParams
		code  int
		words string
	}{
		{"missing", FetchScriptParams{Path: filepath.Join(dir, "nope"), MaxSize: 10, InlineLimit: 10}, ExitFetchMissing, "does not exist"},
		{"directory", FetchScriptParams{Path: dir, MaxSize: 10, InlineLimit: 10}, ExitFetchDirectory, "is a directory"},
		{"too large", FetchScriptParams{Path: src, MaxSize: 100, InlineLimit: 10}, ExitFetchTooLarge, "3000 bytes, above the limit of 100"},
		{"no staging", FetchScriptParams{Path: src, MaxSize: 1 << 20, InlineLimit: 100}, ExitFetchNoStaging, "set a staging bucket"},
		{"secret without url", FetchScriptParams{Path: src, MaxSize: 1 << 20, InlineLimit: -1}, ExitFetchNoStaging, "set a staging bucket"},
		{"upload fails", FetchScriptParams{Path: src, MaxSize: 1 << 20, InlineLimit: -1, URL: "http://127.0.0.1:1/x"}, ExitFetchUpload, "upload of"},
	} {
		out, code := runSh(t, FetchShellCommands(tc.p), "")
		if code != tc.code || !strings.Contains(out, tc.words) || !strings.Contains(out, "i-0123456789abcdef0") {
			t.Errorf("%s: exit %d, output %q; want exit %d and %q", tc.name, code, out, tc.code, tc.words)
		}
	}
}

// A file the agent's user cannot read fails with ExitFetchDenied. Root reads
// everything, so as root the script runs as nobody (setpriv).
func TestFetchShellCommands_permissionDenied(t *testing.T) {
	// Not t.TempDir: its parent directory is 0700, which nobody cannot search,
	// and the denial must come from the file's own mode.
	dir, err := os.MkdirTemp("", "fetch-denied") //nolint:usetesting // see above
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "secret")
	if err := os.WriteFile(src, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	script := strings.Join(FetchShellCommands(FetchScriptParams{Path: src, MaxSize: 10, InlineLimit: 10}), "\n")
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		sp, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root without setpriv: cannot drop privileges to test a denied read")
		}
		cmd = exec.Command(sp, "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", script)
	} else {
		cmd = exec.Command("/bin/sh", "-c", script)
	}
	cmd.Env = []string{"AWS_SSM_INSTANCE_ID=i-0123456789abcdef0", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != ExitFetchDenied || !strings.Contains(string(out), "permission denied reading "+src) {
		t.Fatalf("err %v, output %q; want exit %d, permission denied", err, out, ExitFetchDenied)
	}
}

func TestParseFetchOutput(t *testing.T) {
	for _, bad := range []string{"", "hello", FetchMarker + " size=x sha256=" + strings.Repeat("a", 64), FetchMarker + " size=1 sha256=abc"} {
		if _, _, _, _, err := parseFetchOutput(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
