package filecopy

import (
	"fmt"
	"strings"
)

// Exit codes of the on-instance script, so a failure says which step failed.
const (
	ExitMkdir        = 10 // the parent directory could not be created
	ExitTemp         = 11 // no temporary file beside the destination
	ExitDecode       = 12 // the inline payload could not be decoded
	ExitNoDownloader = 13 // none of curl, wget, python3
	ExitDownload     = 14 // the download failed
	ExitChecksum     = 15 // sha256 of what arrived differs
	ExitAttrs        = 16 // chmod/chown failed
	ExitRename       = 17 // the final rename failed
	ExitNoHasher     = 18 // none of sha256sum, shasum, openssl
)

// DirectoryMode is the mode of the parent directories a copy creates (those
// that exist are left as they are).
const DirectoryMode = "0755"

// payloadEOF ends the here-document holding the base64 payload; base64 text
// can never contain it.
const payloadEOF = "_SSM_FILE_EOF_"

// lineLen is the length of each base64 line (one command line each).
const lineLen = 76

// ScriptParams is what one copy script needs.
type ScriptParams struct {
	Destination string
	SHA256      string // lower-case hex of the payload
	Mode        string // octal, "" = keep mktemp's 0600
	Owner       string // "" = the agent's user (root)
	Group       string
	// Inline holds the base64 payload when it travels in the command; URL is the
	// presigned GET URL otherwise.
	Inline string
	URL    string
	// Salted: the download starts with SaltLen random bytes, which SHA256
	// covers and which are stripped after the check; the output names no
	// checksum (a Secret: see Spec.Secret).
	Salted bool
}

// shHasher is a shell function printing the sha256 of a file, with whichever
// tool the instance has.
const shHasher = `_ssm_sha256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1; elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1" | cut -d' ' -f1; else return 1; fi; }`

// ShellCommands returns the AWS-RunShellScript commands (one line each) that
// write the payload to a temporary file beside the destination (creating the
// parent directories), verify its sha256, apply mode/owner/group and rename it
// over the destination, so the destination is either the old file or the new
// one, never a partial file (notes/aws-behaviour.md#file-copy-ssm_file). Every
// failure names the instance, the step and the destination on stderr and exits
// with one of the Exit* codes.
func ShellCommands(p ScriptParams) []string {
	q := shellQuote
	fail := func(code int, msg string) string {
		return fmt.Sprintf(`{ echo "ssm_file on ${AWS_SSM_INSTANCE_ID:-$(hostname)}: %s" >&2; exit %d; }`, msg, code)
	}
	cmds := []string{
		`_ssm_dest=` + q(p.Destination),
		`_ssm_want=` + q(p.SHA256),
		`_ssm_dir=$(dirname "$_ssm_dest")`,
		// Missing parents are created 0755 (DirectoryMode) whatever the agent's
		// umask, so that the users and groups the file is meant for can reach it;
		// only the file itself is written privately (umask 077, mktemp's 0600)
		// until mode/owner/group are applied and it is renamed into place.
		`[ -d "$_ssm_dir" ] || ( umask 022 && mkdir -p "$_ssm_dir" ) || ` + fail(ExitMkdir, `cannot create directory $_ssm_dir`),
		`umask 077`,
		`_ssm_tmp=$(mktemp "$_ssm_dir/.ssm-file.XXXXXXXXXX") || ` + fail(ExitTemp, `cannot create a temporary file in $_ssm_dir`),
		`trap 'rm -f "$_ssm_tmp"' EXIT`,
		shHasher,
	}
	if p.URL == "" {
		cmds = append(cmds,
			`if command -v base64 >/dev/null 2>&1; then _ssm_decode='base64 -d'; else _ssm_decode='openssl base64 -d -A'; fi`,
			`tr -d '\n' <<'`+payloadEOF+`' | $_ssm_decode > "$_ssm_tmp" || `+fail(ExitDecode, `cannot decode the payload for $_ssm_dest (need base64 or openssl)`),
		)
		enc := p.Inline
		for len(enc) > lineLen {
			cmds = append(cmds, enc[:lineLen])
			enc = enc[lineLen:]
		}
		if enc != "" {
			cmds = append(cmds, enc)
		}
		cmds = append(cmds, payloadEOF)
	} else {
		cmds = append(cmds,
			`_ssm_url=`+q(p.URL),
			`if command -v curl >/dev/null 2>&1; then curl -fsS --retry 3 -o "$_ssm_tmp" "$_ssm_url"`+
				`; elif command -v wget >/dev/null 2>&1; then wget -q -O "$_ssm_tmp" "$_ssm_url"`+
				`; elif command -v python3 >/dev/null 2>&1; then python3 -c 'import shutil,sys,urllib.request`+"\n"+`with urllib.request.urlopen(sys.argv[1]) as r, open(sys.argv[2], "wb") as f: shutil.copyfileobj(r, f)' "$_ssm_url" "$_ssm_tmp"`+
				`; else `+fail(ExitNoDownloader, `no downloader for $_ssm_dest: install curl, wget or python3`)+`; fi || `+
				fail(ExitDownload, `download of $_ssm_dest from the staging bucket failed (expired URL, network or S3 error)`),
		)
	}
	cmds = append(cmds,
		`_ssm_got=$(_ssm_sha256 "$_ssm_tmp") || `+fail(ExitNoHasher, `cannot compute sha256 (need sha256sum, shasum or openssl)`),
		`[ "$_ssm_got" = "$_ssm_want" ] || `+fail(ExitChecksum, `checksum mismatch for $_ssm_dest: expected $_ssm_want, got $_ssm_got; the destination was left unchanged`),
	)
	if p.Salted {
		cmds = append(cmds,
			`_ssm_plain=$(mktemp "$_ssm_dir/.ssm-file.XXXXXXXXXX") || `+fail(ExitTemp, `cannot create a temporary file in $_ssm_dir`),
			`trap 'rm -f "$_ssm_tmp" "$_ssm_plain"' EXIT`,
			fmt.Sprintf(`tail -c +%d "$_ssm_tmp" > "$_ssm_plain" && mv -f "$_ssm_plain" "$_ssm_tmp" || `, SaltLen+1)+
				fail(ExitDecode, `cannot strip the salt of the staged $_ssm_dest`),
			`_ssm_got='checksum not shown: a secret'`,
		)
	}
	if p.Mode != "" {
		cmds = append(cmds, `chmod `+q(p.Mode)+` "$_ssm_tmp" || `+fail(ExitAttrs, `chmod `+p.Mode+` failed for $_ssm_dest`))
	}
	if owner := ownerSpec(p.Owner, p.Group); owner != "" {
		cmds = append(cmds, `chown `+q(owner)+` "$_ssm_tmp" || `+fail(ExitAttrs, `chown `+owner+` failed for $_ssm_dest`))
	}
	cmds = append(cmds,
		`mv -f "$_ssm_tmp" "$_ssm_dest" || `+fail(ExitRename, `cannot rename the temporary file over $_ssm_dest`),
		`trap - EXIT`,
		`echo "ssm_file: wrote $_ssm_dest ($_ssm_got)"`,
	)
	return cmds
}

func ownerSpec(owner, group string) string {
	switch {
	case owner != "" && group != "":
		return owner + ":" + group
	case owner != "":
		return owner
	case group != "":
		return ":" + group
	}
	return ""
}

// VerifyMarker starts the line a verify command prints per instance.
const VerifyMarker = "ssm_file_sha256:"

// VerifyShellCommands prints "ssm_file_sha256:<hex>" for the destination,
// "ssm_file_sha256:missing" when it is not a regular file, and always exits 0
// so that every instance reports.
func VerifyShellCommands(destination string) []string {
	return []string{
		shHasher,
		`_ssm_dest=` + shellQuote(destination),
		`if [ -f "$_ssm_dest" ]; then echo "` + VerifyMarker + `$(_ssm_sha256 "$_ssm_dest" || echo unknown)"; else echo "` + VerifyMarker + `missing"; fi`,
	}
}

// RemoveShellCommands removes the destination (no error when it is gone).
func RemoveShellCommands(destination string) []string {
	return []string{`rm -f ` + shellQuote(destination)}
}

// PowerShellCommands is ShellCommands for Windows (AWS-RunPowerShellScript): the
// same steps (temporary file beside the destination, sha256 check, atomic
// replace) in PowerShell. Mode, owner and group do not apply on Windows.
// Downloads use Invoke-WebRequest.
func PowerShellCommands(p ScriptParams) []string {
	q := psQuote
	fail := func(code int, msg string) string {
		return fmt.Sprintf(`[Console]::Error.WriteLine("ssm_file on $env:COMPUTERNAME: %s"); exit %d`, msg, code)
	}
	cmds := []string{
		`$ErrorActionPreference = 'Stop'`,
		`$ProgressPreference = 'SilentlyContinue'`,
		`$ssmDest = ` + q(p.Destination),
		`$ssmWant = ` + q(p.SHA256),
		`$ssmDir = Split-Path -Parent $ssmDest`,
		`try { New-Item -ItemType Directory -Force -Path $ssmDir | Out-Null } catch { ` + fail(ExitMkdir, `cannot create directory $ssmDir`) + ` }`,
		`$ssmTmp = Join-Path $ssmDir ('.ssm-file.' + [guid]::NewGuid().ToString('N'))`,
		`try {`,
	}
	if p.URL == "" {
		cmds = append(cmds, `$ssmB64 = @'`)
		enc := p.Inline
		for len(enc) > lineLen {
			cmds = append(cmds, enc[:lineLen])
			enc = enc[lineLen:]
		}
		if enc != "" {
			cmds = append(cmds, enc)
		}
		cmds = append(cmds, `'@`,
			`try { [IO.File]::WriteAllBytes($ssmTmp, [Convert]::FromBase64String(($ssmB64 -replace '\s', ''))) } catch { `+fail(ExitDecode, `cannot decode the payload for $ssmDest`)+` }`)
	} else {
		cmds = append(cmds, `$ssmUrl = `+q(p.URL),
			`try { Invoke-WebRequest -UseBasicParsing -Uri $ssmUrl -OutFile $ssmTmp } catch { `+fail(ExitDownload, `download of $ssmDest from the staging bucket failed: $($_.Exception.Message)`)+` }`)
	}
	cmds = append(cmds,
		`$ssmGot = (Get-FileHash -Algorithm SHA256 -LiteralPath $ssmTmp).Hash.ToLowerInvariant()`,
		`if ($ssmGot -ne $ssmWant) { `+fail(ExitChecksum, `checksum mismatch for ${ssmDest}: expected $ssmWant, got $ssmGot; the destination was left unchanged`)+` }`,
	)
	if p.Salted {
		cmds = append(cmds,
			fmt.Sprintf(`try { $ssmAll = [IO.File]::ReadAllBytes($ssmTmp); $ssmPlain = New-Object byte[] ($ssmAll.Length - %[1]d); [Array]::Copy($ssmAll, %[1]d, $ssmPlain, 0, $ssmPlain.Length); [IO.File]::WriteAllBytes($ssmTmp, $ssmPlain); $ssmAll = $null; $ssmPlain = $null } catch { `, SaltLen)+
				fail(ExitDecode, `cannot strip the salt of the staged $ssmDest`)+` }`,
			`$ssmGot = 'checksum not shown: a secret'`,
		)
	}
	cmds = append(cmds,
		`try { if (Test-Path -LiteralPath $ssmDest) { [IO.File]::Replace($ssmTmp, $ssmDest, [NullString]::Value) } else { [IO.File]::Move($ssmTmp, $ssmDest) } } catch { `+fail(ExitRename, `cannot replace ${ssmDest}: $($_.Exception.Message)`)+` }`,
		`Write-Output "ssm_file: wrote $ssmDest ($ssmGot)"`,
		`} finally {`,
		`if (Test-Path -LiteralPath $ssmTmp) { Remove-Item -Force -LiteralPath $ssmTmp }`,
		`}`,
	)
	return cmds
}

// VerifyPowerShellCommands is VerifyShellCommands for Windows.
func VerifyPowerShellCommands(destination string) []string {
	return []string{
		`$ssmDest = ` + psQuote(destination),
		`if (Test-Path -LiteralPath $ssmDest -PathType Leaf) { Write-Output ('` + VerifyMarker + `' + (Get-FileHash -Algorithm SHA256 -LiteralPath $ssmDest).Hash.ToLowerInvariant()) } else { Write-Output '` + VerifyMarker + `missing' }`,
	}
}

// RemovePowerShellCommands is RemoveShellCommands for Windows.
func RemovePowerShellCommands(destination string) []string {
	return []string{`Remove-Item -Force -ErrorAction SilentlyContinue -LiteralPath ` + psQuote(destination)}
}

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:@+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// psQuote quotes s as a PowerShell verbatim string.
func psQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
