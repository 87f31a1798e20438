package filecopy

import (
	"fmt"
	"strconv"
)

// Exit codes of the fetch script, so that a failure says what is wrong with
// the file (FetchError.Kind).
const (
	ExitFetchMissing    = 20 // the path does not exist
	ExitFetchDirectory  = 21 // the path is a directory
	ExitFetchNotRegular = 22 // a device, FIFO or socket
	ExitFetchDenied     = 23 // the agent's user cannot read it
	ExitFetchTooLarge   = 24 // above FetchSpec.MaxSize
	ExitFetchNoStaging  = 25 // above the inline limit and no presigned URL
	ExitFetchUpload     = 26 // the PUT to the presigned URL failed
	ExitFetchNoTool     = 27 // no hasher, no base64 encoder or no uploader
)

// FetchMarker starts the line the fetch script prints before the content:
// "ssm_remote_file: size=<bytes> sha256=<hex> via=inline|staged". With
// via=inline the next line is the file in base64 (one line).
const FetchMarker = "ssm_remote_file:"

// FetchScriptParams is what one fetch script needs.
type FetchScriptParams struct {
	Path    string
	MaxSize int64
	// InlineLimit: files up to this many bytes come back in the command's
	// output; -1 sends every file through the URL.
	InlineLimit int64
	// URL is the presigned PUT URL of the staging object ("" = no staging).
	URL string
}

// FetchShellCommands returns the AWS-RunShellScript commands that check the
// path (exists, is a regular file, is readable, is at most MaxSize bytes),
// compute its size and sha256, and then either print it in base64 after a
// FetchMarker line (at most InlineLimit bytes) or PUT it to the presigned URL
// (curl, wget or python3; the instance needs no AWS credentials for that) and
// print the marker line only. Every failure names the instance and the path
// on stderr and exits with one of the ExitFetch* codes. The script only reads
// the file.
func FetchShellCommands(p FetchScriptParams) []string {
	fail := func(code int, msg string) string {
		return fmt.Sprintf(`{ echo "ssm_remote_file on ${AWS_SSM_INSTANCE_ID:-$(hostname)}: %s" >&2; exit %d; }`, msg, code)
	}
	return []string{
		`_ssm_src=` + shellQuote(p.Path),
		`_ssm_max=` + strconv.FormatInt(p.MaxSize, 10),
		`_ssm_inline=` + strconv.FormatInt(p.InlineLimit, 10),
		`_ssm_url=` + shellQuote(p.URL),
		shHasher,
		`[ -e "$_ssm_src" ] || ` + fail(ExitFetchMissing, `$_ssm_src does not exist`),
		`[ ! -d "$_ssm_src" ] || ` + fail(ExitFetchDirectory, `$_ssm_src is a directory, not a file`),
		`[ -f "$_ssm_src" ] || ` + fail(ExitFetchNotRegular, `$_ssm_src is not a regular file (a device, FIFO or socket)`),
		`[ -r "$_ssm_src" ] || ` + fail(ExitFetchDenied, `permission denied reading $_ssm_src as $(id -un 2>/dev/null || echo the agent user)`),
		`_ssm_size=$(wc -c < "$_ssm_src" 2>/dev/null | tr -d ' ') && [ -n "$_ssm_size" ] || ` + fail(ExitFetchDenied, `cannot read $_ssm_src (permission denied or I/O error)`),
		`[ "$_ssm_size" -le "$_ssm_max" ] || ` + fail(ExitFetchTooLarge, `$_ssm_src is $_ssm_size bytes, above the limit of $_ssm_max bytes (max_size)`),
		`_ssm_sum=$(_ssm_sha256 "$_ssm_src") || ` + fail(ExitFetchNoTool, `cannot compute the sha256 of $_ssm_src (need sha256sum, shasum or openssl)`),
		`if [ "$_ssm_size" -le "$_ssm_inline" ]; then`,
		`  if command -v base64 >/dev/null 2>&1; then _ssm_enc='base64'; elif command -v openssl >/dev/null 2>&1; then _ssm_enc='openssl base64 -A'; else ` + fail(ExitFetchNoTool, `cannot encode $_ssm_src (need base64 or openssl)`) + `; fi`,
		`  echo "` + FetchMarker + ` size=$_ssm_size sha256=$_ssm_sum via=inline"`,
		`  $_ssm_enc < "$_ssm_src" | tr -d '\n' || ` + fail(ExitFetchDenied, `cannot read $_ssm_src`),
		`  echo`,
		`elif [ -n "$_ssm_url" ]; then`,
		`  if command -v curl >/dev/null 2>&1; then curl -fsS --retry 3 -X PUT -H 'Content-Type:' -T "$_ssm_src" "$_ssm_url" >/dev/null` +
			`; elif command -v wget >/dev/null 2>&1; then wget -q -O /dev/null --method=PUT --body-file="$_ssm_src" "$_ssm_url"` +
			`; elif command -v python3 >/dev/null 2>&1; then python3 -c 'import os,sys,urllib.request` + "\n" +
			`f = open(sys.argv[2], "rb")` + "\n" +
			`r = urllib.request.Request(sys.argv[1], data=f, method="PUT", headers={"Content-Length": str(os.fstat(f.fileno()).st_size)})` + "\n" +
			`urllib.request.urlopen(r).read()' "$_ssm_url" "$_ssm_src"` +
			`; else ` + fail(ExitFetchNoTool, `no uploader for $_ssm_src: install curl, wget or python3`) + `; fi || ` +
			fail(ExitFetchUpload, `upload of $_ssm_src to the staging bucket failed (expired URL, network or S3 error)`),
		`  echo "` + FetchMarker + ` size=$_ssm_size sha256=$_ssm_sum via=staged"`,
		`else`,
		`  ` + fail(ExitFetchNoStaging, `$_ssm_src is $_ssm_size bytes, above the $_ssm_inline bytes that come back in a command's output: set a staging bucket`),
		`fi`,
	}
}
