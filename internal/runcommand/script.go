package runcommand

import (
	"encoding/base64"
	"strings"
)

// scriptEOF ends the here-document holding the encoded script; base64 text can
// never contain it.
const scriptEOF = "_SSM_SCRIPT_EOF_"

// ScriptCommands returns AWS-RunShellScript commands that deliver script to the
// instance byte for byte, whatever quotes, `$`, backslashes, here-documents or
// non-ASCII text it holds, and run it:
//
//   - the script travels base64-encoded (76-character lines in a quoted
//     here-document) and is decoded into a mktemp file with `base64 -d`
//     (coreutils or busybox), falling back to `openssl base64 -d`;
//   - interpreter "" runs the file with the interpreter named by its shebang line
//     ("#!/usr/bin/env python3" runs `/usr/bin/env python3 <file>`), or with
//     /bin/sh when it has none; the file is never executed directly, so a noexec
//     /tmp does not matter;
//   - interpreter "python3" (or "bash -e", any command line) runs
//     `<interpreter> <file>`; it is inserted as shell words, unquoted;
//   - the script's exit code is the command's exit code, and the file is removed
//     on exit.
//
// $0 in the script is the temporary file's path. Linux and macOS only: Windows
// (AWS-RunPowerShellScript) is not supported.
func ScriptCommands(script, interpreter string) []string {
	run := strings.TrimSpace(interpreter)
	if run == "" {
		run = "/bin/sh"
		if first, _, _ := strings.Cut(script, "\n"); strings.HasPrefix(first, "#!") {
			// Linux semantics: the interpreter path, then the rest of the line as
			// one optional argument.
			line := strings.TrimSpace(strings.TrimSuffix(first[2:], "\r"))
			if name, arg, _ := strings.Cut(line, " "); name != "" {
				run = shellQuote(name)
				if arg = strings.TrimSpace(arg); arg != "" {
					run += " " + shellQuote(arg)
				}
			}
		}
	}
	enc := base64.StdEncoding.EncodeToString([]byte(script))
	cmds := []string{
		`_ssm_script=$(mktemp "${TMPDIR:-/tmp}/ssm-script.XXXXXXXXXX") || exit 1`,
		`trap 'rm -f "$_ssm_script"' EXIT`,
		`if command -v base64 >/dev/null 2>&1; then _ssm_decode='base64 -d'; else _ssm_decode='openssl base64 -d'; fi`,
		`$_ssm_decode > "$_ssm_script" <<'` + scriptEOF + `' || { echo "ssm_command_run: cannot decode the script (need base64 or openssl)" >&2; exit 1; }`,
	}
	for len(enc) > 76 {
		cmds = append(cmds, enc[:76])
		enc = enc[76:]
	}
	if enc != "" {
		cmds = append(cmds, enc)
	}
	cmds = append(cmds, scriptEOF,
		run+` "$_ssm_script"`,
		`exit $?`,
	)
	return cmds
}

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
