// Package filecopy copies a file to instances over Run Command, without SCP:
// small payloads travel inline in the command (base64, decoded on the
// instance), larger ones and every secret (Spec.Secret) are staged in an S3
// bucket and downloaded by the instances through a presigned GET URL. The URL
// is made per command, after the agents were found ready and immediately
// before SendCommand, and lives as long as that command can run; the staged
// object is deleted after the run whatever its outcome, so the URL left in the
// command history leads nowhere. On the instance the file is written beside
// the destination, checked against its sha256 and renamed over the
// destination, so a failed copy leaves the previous file. Instances that cannot
// receive the command are handled by internal/runcommand (Reach).
//
// Fetch (fetch.go) is the way back: one file from one instance, in the
// command's output when small, else PUT by the instance to a presigned URL of
// the staging bucket (so the instance needs no S3 permission), read and
// deleted; size and sha256 are checked end to end.
//
// It has no Terraform types; it runs its commands through internal/runcommand.
package filecopy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// Defaults.
const (
	// DefaultInlineThreshold is the largest payload (bytes, before base64) sent
	// inside the command. See notes/aws-behaviour.md#file-copy-ssm_file.
	DefaultInlineThreshold = 16 * 1024
	// DefaultRunBound is how long a command of a copy can last at most when
	// nothing shorter bounds it: SendCommand's default delivery timeout (one
	// hour) plus AWS-RunShellScript's default executionTimeout (3600 s). A
	// presigned URL lives this long, or until the caller's deadline (plus
	// CleanupTimeout) when that comes first. See
	// notes/aws-behaviour.md#file-copy-ssm_file.
	DefaultRunBound = 2 * time.Hour
	// MinURLExpiry is the shortest lifetime given to a presigned URL.
	MinURLExpiry = time.Minute
	// DefaultKeyPrefix is where staged objects go when no prefix is given.
	DefaultKeyPrefix = "ssm-file-staging/"
	// CleanupTimeout bounds deleting the staged object after the run, also when
	// the caller's context has ended.
	CleanupTimeout = 30 * time.Second

	PlatformLinux   = "linux"
	PlatformWindows = "windows"
)

// S3API is the part of the S3 client used for staging.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// PresignAPI presigns the GET of a staged object for a copy, and the PUT of
// one for a fetch (s3.NewPresignClient).
type PresignAPI interface {
	PresignPutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
	PresignGetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// Clients are what a copy needs: the command engine's clients, and S3 for
// staging (nil when nothing is staged).
type Clients struct {
	Run     runcommand.Clients
	S3      S3API
	Presign PresignAPI
}

// NewClients builds Clients from an SSM run's clients and an S3 client.
func NewClients(run runcommand.Clients, s3c *s3.Client) Clients {
	c := Clients{Run: run}
	if s3c != nil {
		c.S3 = s3c
		c.Presign = s3.NewPresignClient(s3c)
	}
	return c
}

// Payload is what is copied: in-memory bytes, or a local file that is
// streamed (never read whole into memory when staged).
type Payload struct {
	Data []byte
	Path string
}

// Digest reads the payload once and returns its sha256 (lower-case hex) and
// size.
func (p Payload) Digest() (string, int64, error) {
	if p.Path == "" {
		sum := sha256.Sum256(p.Data)
		return hex.EncodeToString(sum[:]), int64(len(p.Data)), nil
	}
	f, err := os.Open(p.Path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", p.Path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Target selects the instances: ids or SendCommand targets, as in runcommand.
type Target struct {
	InstanceIDs []string
	Targets     []runcommand.Target
}

// Reach says what to do with instances that cannot receive a command, as
// runcommand.Spec's fields of the same names: MaxUnreachable ("" = "0") is how
// many may be skipped (count or percentage; they are listed in
// Result.Run.NotReached), and AllowEmpty lets a selection that matches nothing
// succeed. Instances that are gone (terminated, not existing) are always
// dropped.
type Reach struct {
	MaxUnreachable string
	AllowEmpty     bool
}

// Spec is one copy.
type Spec struct {
	Target
	Payload     Payload
	Destination string
	Mode        string // octal; "" leaves the temporary file's 0600
	Owner       string
	Group       string
	Platform    string // PlatformLinux (default) or PlatformWindows

	// SHA256, when set, is the checksum planned: a payload that no longer
	// matches fails with *ChangedError before anything is sent.
	SHA256 string

	// Secret: neither the payload nor anything computed from it alone may
	// appear in the command's parameters or output (and so in the command
	// history): it is staged whatever its size (a missing StagingBucket is a
	// *NeedsStagingError), behind SaltLen random bytes that the checksum the
	// command carries covers, so that the checksum cannot be used to guess the
	// secret; Result.SHA256 is empty.
	Secret bool

	StagingBucket    string
	StagingKeyPrefix string // "" = DefaultKeyPrefix
	InlineThreshold  int64  // 0 = DefaultInlineThreshold
	// URLExpiry, when set, is the presigned URL's lifetime instead of the one
	// computed per command (the command's own bound, see DefaultRunBound).
	URLExpiry time.Duration

	// Run settings passed to runcommand.Spec.
	Reach
	AgentWaitTimeout time.Duration
	Comment          string
	MinInterval      time.Duration
}

// Result is what a copy did.
type Result struct {
	SHA256 string // of the payload; empty for a Secret

	Size       int64
	Staged     bool
	StagingKey string
	// URLLifetimes is the lifetime of each presigned URL, one per command sent.
	URLLifetimes []time.Duration
	Run          *runcommand.Result
}

// NeedsStagingError: the payload is above the inline threshold, or a secret,
// and no staging bucket is set.
type NeedsStagingError struct {
	Size, Threshold int64
	Secret          bool
}

func (e *NeedsStagingError) Error() string {
	if e.Secret {
		return "a secret never travels inline in a command (SSM keeps a command's parameters in its history): set a staging bucket"
	}
	return fmt.Sprintf("the payload is %d bytes, above the %d bytes that travel inline in a command: set a staging bucket", e.Size, e.Threshold)
}

// ChangedError: the payload's checksum differs from the one planned.
type ChangedError struct {
	Want, Got string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("the content changed since the plan (sha256 %s planned, %s now)", e.Want, e.Got)
}

// StagingError: uploading, presigning or deleting the staged object failed.
type StagingError struct {
	Op, Bucket, Key string
	Err             error
}

func (e *StagingError) Error() string {
	return fmt.Sprintf("%s s3://%s/%s: %v", e.Op, e.Bucket, e.Key, e.Err)
}

func (e *StagingError) Unwrap() error { return e.Err }

// NeedsStaging reports whether a payload of size bytes goes through the
// staging bucket.
func NeedsStaging(size, threshold int64) bool {
	if threshold <= 0 {
		threshold = DefaultInlineThreshold
	}
	return size > threshold
}

// Copy copies the payload to every target that can receive it (see Reach).
// The staged object, if any, is deleted before Copy returns, whether the run
// succeeded, failed or was interrupted; a failure to delete it is joined to the
// returned error. A staged payload's URL is presigned per command, after the
// readiness check and any agent wait, immediately before SendCommand.
// runcommand's *FailedError, *CancelledError, *UnreachableError and
// *EmptySelectionError come back unchanged (with the Result), so callers map
// them with errors.As.
func Copy(ctx context.Context, c Clients, spec Spec) (res *Result, err error) {
	if err := ValidateDestination(spec.Destination, spec.Platform); err != nil {
		return nil, err
	}
	sum, size, err := spec.Payload.Digest()
	if err != nil {
		return nil, err
	}
	if spec.SHA256 != "" && !strings.EqualFold(spec.SHA256, sum) {
		return nil, &ChangedError{Want: spec.SHA256, Got: sum}
	}
	res = &Result{SHA256: sum, Size: size}
	params := ScriptParams{Destination: spec.Destination, SHA256: sum, Mode: spec.Mode, Owner: spec.Owner, Group: spec.Group}
	var staged []byte // what is uploaded, when not the payload itself
	if spec.Secret {
		if staged, err = salted(spec.Payload); err != nil {
			return nil, err
		}
		s := sha256.Sum256(staged)
		res.SHA256, params.SHA256, params.Salted = "", hex.EncodeToString(s[:]), true
	}
	commands := ShellCommands
	rspec := runSpec(spec)
	if spec.Platform == PlatformWindows {
		rspec.DocumentName = "AWS-RunPowerShellScript"
		commands = PowerShellCommands
	}
	threshold := spec.InlineThreshold
	if threshold <= 0 {
		threshold = DefaultInlineThreshold
	}
	if !spec.Secret && !NeedsStaging(size, threshold) {
		data := spec.Payload.Data
		if spec.Payload.Path != "" {
			if data, err = os.ReadFile(spec.Payload.Path); err != nil {
				return nil, err
			}
		}
		params.Inline = base64.StdEncoding.EncodeToString(data)
		rspec.Parameters = map[string][]string{"commands": commands(params)}
		run, err := runcommand.Run(ctx, c.Run, rspec)
		res.Run = run
		return res, err
	}
	if spec.StagingBucket == "" {
		return nil, &NeedsStagingError{Size: size, Threshold: threshold, Secret: spec.Secret}
	}
	if c.S3 == nil || c.Presign == nil {
		return nil, errors.New("filecopy: no S3 client for staging")
	}
	key := StagingKey(spec.StagingKeyPrefix, spec.Destination, spec.Target)
	res.Staged, res.StagingKey = true, key
	defer func() {
		// Delete with a fresh context: an interrupted apply must not leave
		// the object behind.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
		defer cancel()
		if derr := deleteObject(dctx, c.S3, spec.StagingBucket, key); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	if err := upload(ctx, c, spec, key, staged, size, sum); err != nil {
		return res, err
	}
	// What SendCommand is validated with; BeforeSend replaces it, per command,
	// with the script holding a freshly presigned URL.
	placeholder := params
	placeholder.URL = "https://presigned-per-command.invalid/"
	rspec.Parameters = map[string][]string{"commands": commands(placeholder)}
	rspec.BeforeSend = func(ctx context.Context, _ []string) (map[string][]string, error) {
		lifetime := URLLifetime(ctx, spec.URLExpiry)
		url, err := presign(ctx, c, spec.StagingBucket, key, lifetime)
		if err != nil {
			return nil, err
		}
		res.URLLifetimes = append(res.URLLifetimes, lifetime)
		p := params
		p.URL = url
		return map[string][]string{"commands": commands(p)}, nil
	}
	run, err := runcommand.Run(ctx, c.Run, rspec)
	res.Run = run
	return res, err
}

// URLLifetime is how long a URL presigned now must stay valid: fixed when set,
// else the command's bound (DefaultRunBound), shortened to the caller's
// deadline plus CleanupTimeout when that comes first (the run is cancelled and
// the object deleted by then), never below MinURLExpiry.
func URLLifetime(ctx context.Context, fixed time.Duration) time.Duration {
	if fixed > 0 {
		return fixed
	}
	d := DefaultRunBound
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)+CleanupTimeout)
	}
	return max(d, MinURLExpiry).Round(time.Second)
}

func runSpec(spec Spec) runcommand.Spec {
	return runcommand.Spec{
		InstanceIDs:      spec.InstanceIDs,
		Targets:          spec.Targets,
		Comment:          spec.Comment,
		AgentWaitTimeout: spec.AgentWaitTimeout,
		MinInterval:      spec.MinInterval,
		MaxUnreachable:   spec.MaxUnreachable,
		AllowEmpty:       spec.AllowEmpty,
	}
}

// SaltLen is the number of random bytes a Secret's staged object starts with.
const SaltLen = 32

// salted returns SaltLen fresh random bytes followed by the payload.
func salted(p Payload) ([]byte, error) {
	data := p.Data
	if p.Path != "" {
		var err error
		if data, err = os.ReadFile(p.Path); err != nil {
			return nil, err
		}
	}
	b := make([]byte, SaltLen, SaltLen+len(data))
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return append(b, data...), nil
}

// upload stages the payload (streamed from the file when it is one), or the
// bytes of staged when they are given (a Secret behind its salt)
// (notes/aws-behaviour.md#file-copy-ssm_file).
//
// The sha256 computed once is sent as the object's checksum: S3 rejects an
// upload whose bytes do not match it (BadDigest), and the SDK computes no
// checksum of its own.
func upload(ctx context.Context, c Clients, spec Spec, key string, staged []byte, size int64, sum string) error {
	if staged != nil {
		s := sha256.Sum256(staged)
		sum, size = hex.EncodeToString(s[:]), int64(len(staged))
	}
	raw, err := hex.DecodeString(sum)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:         aws.String(spec.StagingBucket),
		Key:            aws.String(key),
		ContentLength:  aws.Int64(size),
		ContentType:    aws.String("application/octet-stream"),
		ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(raw)),
	}
	switch {
	case staged != nil:
		in.Body = bytes.NewReader(staged)
	case spec.Payload.Path != "":
		f, err := os.Open(spec.Payload.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		in.Body = f // seekable: the SDK signs and retries without buffering
	default:
		in.Body = bytes.NewReader(spec.Payload.Data)
	}
	if _, err := c.S3.PutObject(ctx, in); err != nil {
		return &StagingError{Op: "uploading to", Bucket: spec.StagingBucket, Key: key, Err: err}
	}
	return nil
}

// presign makes the GET URL of the staged object, valid for lifetime.
func presign(ctx context.Context, c Clients, bucket, key string, lifetime time.Duration) (string, error) {
	req, err := c.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		s3.WithPresignExpires(lifetime))
	if err != nil {
		return "", &StagingError{Op: "presigning", Bucket: bucket, Key: key, Err: err}
	}
	return req.URL, nil
}

func deleteObject(ctx context.Context, api S3API, bucket, key string) error {
	if _, err := api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return &StagingError{Op: "deleting staged object", Bucket: bucket, Key: key, Err: err}
	}
	return nil
}

// StagingDir is the key prefix under which one file's staged objects go: the
// prefix, then a hash of destination and targets, so that a later apply or a
// destroy can find what an earlier, crashed, apply left.
func StagingDir(prefix, destination string, t Target) string {
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	ids := append([]string(nil), t.InstanceIDs...)
	sort.Strings(ids) // the same instances in another order are the same file
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s", destination, strings.Join(ids, ","))
	for _, tg := range t.Targets {
		fmt.Fprintf(h, "\x00%s=%s", tg.Key, strings.Join(tg.Values, ","))
	}
	return path.Join(prefix, hex.EncodeToString(h.Sum(nil))[:24]) + "/"
}

// StagingKey is a fresh object key under StagingDir.
func StagingKey(prefix, destination string, t Target) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return StagingDir(prefix, destination, t) + hex.EncodeToString(b)
}

// CleanupStaging deletes every object left under the file's StagingDir (by an
// apply that crashed before its own cleanup) and returns how many it deleted.
func CleanupStaging(ctx context.Context, c Clients, bucket, prefix, destination string, t Target) (int, error) {
	if bucket == "" || c.S3 == nil {
		return 0, nil
	}
	dir := StagingDir(prefix, destination, t)
	n := 0
	p := s3.NewListObjectsV2Paginator(c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(dir)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, &StagingError{Op: "listing leftovers under", Bucket: bucket, Key: dir, Err: err}
		}
		for _, o := range page.Contents {
			if err := deleteObject(ctx, c.S3, bucket, aws.ToString(o.Key)); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// ValidateDestination checks that the destination is an absolute path for the
// platform.
func ValidateDestination(dest, platform string) error {
	switch {
	case strings.TrimSpace(dest) == "":
		return errors.New("the destination is empty: give an absolute path")
	case platform == PlatformWindows:
		if !windowsDrivePath(dest) && !strings.HasPrefix(dest, `\\`) {
			return fmt.Errorf("%q is not an absolute Windows path (C:\\dir\\file or \\\\server\\share\\file)", dest)
		}
	case !strings.HasPrefix(dest, "/"):
		return fmt.Errorf("%q is not an absolute path (it must start with /)", dest)
	case strings.HasSuffix(dest, "/") || path.Base(dest) == "." || path.Base(dest) == "..":
		return fmt.Errorf("%q names a directory, not a file", dest)
	}
	return nil
}

// windowsDrivePath reports whether p starts with a drive letter, a colon and a
// separator (C:\ or C:/).
func windowsDrivePath(p string) bool {
	if len(p) < 3 || p[1] != ':' || (p[2] != '\\' && p[2] != '/') {
		return false
	}
	c := p[0]
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
}

// Remove deletes the destination on every target that can receive the command
// (see Reach: gone instances are dropped, unreachable ones within
// MaxUnreachable are skipped and listed in the Result's NotReached).
func Remove(ctx context.Context, c Clients, t Target, destination, platform string, agentWait time.Duration, reach Reach) (*runcommand.Result, error) {
	rspec := runSpec(Spec{Target: t, AgentWaitTimeout: agentWait, Reach: reach})
	if platform == PlatformWindows {
		rspec.DocumentName = "AWS-RunPowerShellScript"
		rspec.Parameters = map[string][]string{"commands": RemovePowerShellCommands(destination)}
	} else {
		rspec.Parameters = map[string][]string{"commands": RemoveShellCommands(destination)}
	}
	return runcommand.Run(ctx, c.Run, rspec)
}

// Missing is the checksum Verify reports for an instance without the file.
const Missing = "missing"

// Verify reads the destination's sha256 on every target with one command (one
// per 50 instance ids) and returns it per instance id: the hex sum, Missing, or
// "" when the instance did not answer. Gone instances are dropped (they are
// in the Result's NotReached, marked Gone).
func Verify(ctx context.Context, c Clients, t Target, destination, platform string, agentWait time.Duration, reach Reach) (map[string]string, *runcommand.Result, error) {
	rspec := runSpec(Spec{Target: t, AgentWaitTimeout: agentWait, Reach: reach})
	if platform == PlatformWindows {
		rspec.DocumentName = "AWS-RunPowerShellScript"
		rspec.Parameters = map[string][]string{"commands": VerifyPowerShellCommands(destination)}
	} else {
		rspec.Parameters = map[string][]string{"commands": VerifyShellCommands(destination)}
	}
	res, err := runcommand.Run(ctx, c.Run, rspec)
	if res == nil {
		return nil, nil, err
	}
	sums := map[string]string{}
	for id, inv := range res.Invocations {
		sums[id] = ""
		for _, line := range strings.Split(inv.Stdout, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), VerifyMarker); ok {
				sums[id] = v
			}
		}
	}
	return sums, res, err
}
