package filecopy

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// runSh runs commands joined by newlines (as the agent does) with /bin/sh and
// the given PATH ("" = inherited).
func runSh(t *testing.T, cmds []string, pathEnv string) (string, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", strings.Join(cmds, "\n"))
	env := []string{"AWS_SSM_INSTANCE_ID=i-0123456789abcdef0"}
	if pathEnv == "" {
		pathEnv = os.Getenv("PATH")
	}
	cmd.Env = append(env, "PATH="+pathEnv)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// The inline script writes byte-exact content (every byte value, no trailing
// newline), creates parent directories, applies the mode and leaves no
// temporary file.
func TestShellCommands_inline(t *testing.T) {
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	dest := filepath.Join(t.TempDir(), "a dir", "it's", "file.bin")
	out, code := runSh(t, ShellCommands(ScriptParams{Destination: dest, SHA256: sum(data), Mode: "0640",
		Inline: base64.StdEncoding.EncodeToString(data)}), "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	got, err := os.ReadFile(dest)
	if err != nil || string(got) != string(data) {
		t.Fatalf("content differs (err %v, %d bytes)", err, len(got))
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the file", len(ents))
	}
}

// A checksum mismatch fails with the checksum exit code and a message naming
// the instance and the destination, and leaves the previous file as it was.
func TestShellCommands_checksumMismatchKeepsPrevious(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "app.conf")
	if err := os.WriteFile(dest, []byte("previous\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := []byte("new content\n")
	out, code := runSh(t, ShellCommands(ScriptParams{Destination: dest, SHA256: sum([]byte("something else")),
		Inline: base64.StdEncoding.EncodeToString(data)}), "")
	if code != ExitChecksum || !strings.Contains(out, "checksum mismatch for "+dest) || !strings.Contains(out, "i-0123456789abcdef0") {
		t.Fatalf("exit %d: %s", code, out)
	}
	if got, _ := os.ReadFile(dest); string(got) != "previous\n" {
		t.Errorf("destination now %q", got)
	}
	if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
		t.Errorf("a temporary file was left: %d entries", len(ents))
	}
}

// toolDir is a PATH directory holding only the named host tools.
func toolDir(t *testing.T, tools ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range tools {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("host tool %s not found", name)
		}
		if err := os.Symlink(p, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Without curl, wget and python3 a staged copy fails saying so, and leaves the
// destination as it was.
func TestShellCommands_noDownloader(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "bin", "tool")
	path := toolDir(t, "dirname", "mkdir", "mktemp", "rm", "cut", "sha256sum", "hostname")
	out, code := runSh(t, ShellCommands(ScriptParams{Destination: dest, SHA256: sum(nil), URL: "http://127.0.0.1:1/x"}), path)
	if code != ExitNoDownloader || !strings.Contains(out, "no downloader for "+dest+": install curl, wget or python3") {
		t.Fatalf("exit %d: %s", code, out)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("destination exists: %v", err)
	}
}

// A failed download (nothing listens) fails with the download exit code.
func TestShellCommands_downloadFails(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(dest, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runSh(t, ShellCommands(ScriptParams{Destination: dest, SHA256: sum(nil), URL: "http://127.0.0.1:1/x"}), "")
	if code != ExitDownload || !strings.Contains(out, "download of "+dest) {
		t.Fatalf("exit %d: %s", code, out)
	}
	if got, _ := os.ReadFile(dest); string(got) != "old" {
		t.Errorf("destination now %q", got)
	}
}

// Verify prints the checksum, or "missing".
func TestVerifyShellCommands(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "x y")
	_ = os.WriteFile(f, []byte("abc"), 0o600)
	out, code := runSh(t, VerifyShellCommands(f), "")
	if code != 0 || strings.TrimSpace(out) != VerifyMarker+sum([]byte("abc")) {
		t.Errorf("exit %d: %q", code, out)
	}
	out, _ = runSh(t, VerifyShellCommands(filepath.Join(dir, "none")), "")
	if strings.TrimSpace(out) != VerifyMarker+Missing {
		t.Errorf("missing file: %q", out)
	}
}

// The PowerShell variant cannot run here (no pwsh): its text and structure are
// checked: the same steps in the same order, a here-string whose lines are the
// base64 payload, verbatim quoting of the destination, and a finally block that
// removes the temporary file.
func TestPowerShellCommands_structure(t *testing.T) {
	data := []byte(strings.Repeat("windows payload ", 20))
	enc := base64.StdEncoding.EncodeToString(data)
	cmds := PowerShellCommands(ScriptParams{Destination: `C:\Program Files\it's\app.conf`, SHA256: sum(data), Inline: enc})
	text := strings.Join(cmds, "\n")
	order := []string{
		`$ErrorActionPreference = 'Stop'`,
		`$ssmDest = 'C:\Program Files\it''s\app.conf'`,
		`$ssmWant = '` + sum(data) + `'`,
		`New-Item -ItemType Directory -Force -Path $ssmDir`,
		`$ssmTmp = Join-Path $ssmDir ('.ssm-file.'`,
		"try {",
		"$ssmB64 = @'\n",
		"\n'@\n",
		`[Convert]::FromBase64String(`,
		`Get-FileHash -Algorithm SHA256 -LiteralPath $ssmTmp`,
		`if ($ssmGot -ne $ssmWant)`,
		`exit 15`,
		`[IO.File]::Replace($ssmTmp, $ssmDest`,
		"} finally {",
		`Remove-Item -Force -LiteralPath $ssmTmp`,
	}
	pos := 0
	for _, s := range order {
		i := strings.Index(text[pos:], s)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", s, text)
		}
		pos += i + len(s)
	}
	// The here-string body is exactly the payload.
	start := strings.Index(text, "@'\n") + 3
	end := strings.Index(text, "\n'@")
	if got := strings.ReplaceAll(text[start:end], "\n", ""); got != enc {
		t.Errorf("here-string body differs from the payload")
	}
	for _, c := range cmds {
		if len(c) > 400 {
			t.Errorf("line of %d characters", len(c))
		}
	}
	// Balanced braces (a structural check of the script as PowerShell parses it).
	if strings.Count(text, "{") != strings.Count(text, "}") {
		t.Errorf("unbalanced braces")
	}
	staged := strings.Join(PowerShellCommands(ScriptParams{Destination: `D:\x`, SHA256: "ab", URL: "https://b.s3.amazonaws.com/k?X-Amz-Signature=1&a='"}), "\n")
	if !strings.Contains(staged, `$ssmUrl = 'https://b.s3.amazonaws.com/k?X-Amz-Signature=1&a='''`) || !strings.Contains(staged, "Invoke-WebRequest -UseBasicParsing -Uri $ssmUrl -OutFile $ssmTmp") {
		t.Errorf("staged script:\n%s", staged)
	}
}

func TestValidateDestination(t *testing.T) {
	for _, c := range []struct {
		dest, platform string
		ok             bool
	}{
		{"/etc/app.conf", "", true}, {"etc/app.conf", "", false}, {"", "", false}, {"/etc/", "", false},
		{`C:\app\x.conf`, PlatformWindows, true}, {`app\x.conf`, PlatformWindows, false}, {"/etc/x", PlatformWindows, false},
	} {
		if err := ValidateDestination(c.dest, c.platform); (err == nil) != c.ok {
			t.Errorf("%q (%s): %v", c.dest, c.platform, err)
		}
	}
}

// Missing parent directories are created 0755 even under a strict umask (as an
// agent may run with), so the file's group can reach it; an existing directory
// keeps its mode; the file gets exactly its mode.
func TestShellCommands_parentDirectories(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(base, 0o700); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(base, "new", "dir", "app.conf")
	data := []byte("listen = 8080\n")
	cmds := append([]string{"umask 077"}, ShellCommands(ScriptParams{Destination: dest, SHA256: sum(data), Mode: "0640",
		Inline: base64.StdEncoding.EncodeToString(data)})...)
	if out, code := runSh(t, cmds, ""); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	for _, d := range []string{filepath.Join(base, "new"), filepath.Join(base, "new", "dir")} {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v (err %v), want 0755", d, fi.Mode().Perm(), err)
		}
	}
	if fi, _ := os.Stat(base); fi.Mode().Perm() != 0o700 {
		t.Errorf("existing directory changed to %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o640 {
		t.Errorf("file mode %v, want 0640", fi.Mode().Perm())
	}
	if DirectoryMode != "0755" {
		t.Errorf("DirectoryMode %s", DirectoryMode)
	}
}
