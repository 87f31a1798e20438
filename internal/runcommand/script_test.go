package runcommand_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// A script full of shell pitfalls prints itself back: what runs is byte for byte
// what was given.
const trickyScript = `#!/bin/sh
# 'single' "double" $HOME ${PATH} $(id -u) ` + "`backticks`" + ` \ \\ \n \$ %s %%
cat "$0"
cat <<'EOF' >/dev/null
inner heredoc with $dollar and 'quotes'
EOF
cat <<_SSM_SCRIPT_EOF_ >/dev/null
our own end marker $0
_SSM_SCRIPT_EOF_
# UTF-8: héllo wörld ✓ 日本語 🚀
# tab:	end, CR:` + "\r" + `
true # no trailing newline`

func TestScriptCommands_byteExact(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids,
		Parameters:  map[string][]string{"commands": runcommand.ScriptCommands(trickyScript, "")},
	})
	if err != nil {
		t.Fatal(err)
	}
	inv := res.Invocations[ids[0]]
	if inv.Stdout != trickyScript {
		t.Errorf("script arrived changed:\n got %q\nwant %q", inv.Stdout, trickyScript)
	}
	if inv.Stderr != "" {
		t.Errorf("stderr = %q", inv.Stderr)
	}
}

func TestScriptCommands_exitCodeAndCleanup(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	script := "echo \"$0\" > script-path\necho 'bad thing' >&2\nexit 7\n"
	_, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids,
		Parameters:  map[string][]string{"commands": runcommand.ScriptCommands(script, "")},
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) || fe.Failed[0].ResponseCode != 7 || fe.Failed[0].Stderr != "bad thing\nfailed to run commands: exit status 7" {
		t.Fatalf("err = %v", err)
	}
	// The temporary file is gone.
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, Parameters: cmds(`f=$(cat script-path); if [ -e "$f" ]; then echo "left behind: $f"; else echo removed; fi`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Invocations[ids[0]].Stdout; got != "removed\n" {
		t.Errorf("temp file: %q", got)
	}
}

func TestScriptCommands_python3(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	script := "import sys\nprint(f\"{sys.version_info[0]} says 'hi' to $USER \\\\ ✓\")\nsys.exit(0)\n"
	// By the interpreter argument.
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids,
		Parameters:  map[string][]string{"commands": runcommand.ScriptCommands(script, "python3")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "3 says 'hi' to $USER \\ ✓\n"
	if got := res.Invocations[ids[0]].Stdout; got != want {
		t.Errorf("python3 stdout = %q, want %q", got, want)
	}
	// By the shebang.
	res, err = runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids,
		Parameters:  map[string][]string{"commands": runcommand.ScriptCommands("#!/usr/bin/env python3\n"+script, "")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Invocations[ids[0]].Stdout; got != want {
		t.Errorf("shebang python3 stdout = %q, want %q", got, want)
	}
}

func TestScriptCommands_shape(t *testing.T) {
	t.Parallel()
	lines := runcommand.ScriptCommands(strings.Repeat("x", 1000), "bash -e")
	for _, l := range lines {
		if len(l) > 200 {
			t.Errorf("line of %d characters", len(l))
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), `bash -e "$_ssm_script"`) {
		t.Errorf("interpreter not used: %q", lines)
	}
}
