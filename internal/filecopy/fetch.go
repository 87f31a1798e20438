package filecopy

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// Fetch limits and defaults (notes/aws-behaviour.md#fetching-a-file-ssm_remote_file).
const (
	// FetchInlineLimit is the largest file (bytes) that comes back in the
	// command's output: its base64 (4/3 of it, 21,848 characters) plus the
	// marker line stays below the 24,000 bytes the agent keeps of stdout.
	FetchInlineLimit = 16 * 1024
	// DefaultFetchMaxSize is the largest file fetched when no limit is given.
	DefaultFetchMaxSize = 16 << 20
	// MaxFetchSize is the largest limit that can be set: the file is held in
	// memory once, and Terraform keeps the managed form's content in state.
	MaxFetchSize = 256 << 20
	// DefaultFetchKeyPrefix is where fetched files are staged when no prefix
	// is given.
	DefaultFetchKeyPrefix = "ssm-remote-file-staging/"
)

// FetchSpec is one fetch of one file from one instance (Linux only).
type FetchSpec struct {
	InstanceID string
	Path       string
	// MaxSize (0 = DefaultFetchMaxSize, at most MaxFetchSize) is the largest
	// file accepted; a larger one fails on the instance before it is sent.
	MaxSize int64
	// Secret: the content must never travel in the command's output (which
	// SSM keeps, readable with GetCommandInvocation): it is staged whatever
	// its size, and a missing StagingBucket is a *NeedsStagingError.
	Secret bool

	StagingBucket    string
	StagingKeyPrefix string // "" = DefaultFetchKeyPrefix
	// URLExpiry, when set, is the presigned URL's lifetime instead of the one
	// computed per command (see URLLifetime).
	URLExpiry time.Duration

	AgentWaitTimeout time.Duration
	Comment          string
	MinInterval      time.Duration
}

// Fetched is a fetched file. Data is the only copy of the content the engine
// keeps.
type Fetched struct {
	Data       []byte
	SHA256     string
	Size       int64
	Staged     bool
	StagingKey string
	CommandID  string
	// URLLifetime is the presigned PUT URL's lifetime (0 when none was made).
	URLLifetime time.Duration
}

// FetchError says what is wrong with the file on the instance, or with what
// came back.
type FetchError struct {
	InstanceID, Path string
	// Kind is one of the FetchKind* values.
	Kind string
	// Detail is what the instance said (its stderr's last line) or what the
	// provider found.
	Detail string
	// ExitCode of the script, -1 when the failure was found by the provider.
	ExitCode int
}

// Kinds of FetchError.
const (
	FetchKindMissing     = "missing"
	FetchKindDirectory   = "directory"
	FetchKindNotRegular  = "not a regular file"
	FetchKindDenied      = "permission denied"
	FetchKindTooLarge    = "too large"
	FetchKindNoStaging   = "needs staging"
	FetchKindUpload      = "upload failed"
	FetchKindNoTool      = "missing tool"
	FetchKindMismatch    = "checksum mismatch"
	FetchKindUnreachable = "unreachable"
	FetchKindFailed      = "failed"
)

func (e *FetchError) Error() string {
	what := map[string]string{
		FetchKindMissing:     "does not exist",
		FetchKindDirectory:   "is a directory, not a file",
		FetchKindNotRegular:  "is not a regular file",
		FetchKindDenied:      "cannot be read (permission denied)",
		FetchKindTooLarge:    "is larger than the size limit",
		FetchKindNoStaging:   "is too large to come back in the command's output and no staging bucket is set",
		FetchKindUpload:      "could not be uploaded to the staging bucket",
		FetchKindNoTool:      "could not be read: a tool is missing on the instance",
		FetchKindMismatch:    "did not arrive intact",
		FetchKindUnreachable: "cannot be read: the instance cannot receive commands",
	}[e.Kind]
	if what == "" {
		what = "could not be fetched"
	}
	s := fmt.Sprintf("%s on %s %s", e.Path, e.InstanceID, what)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

var exitKinds = map[int]string{
	ExitFetchMissing: FetchKindMissing, ExitFetchDirectory: FetchKindDirectory, ExitFetchNotRegular: FetchKindNotRegular,
	ExitFetchDenied: FetchKindDenied, ExitFetchTooLarge: FetchKindTooLarge, ExitFetchNoStaging: FetchKindNoStaging,
	ExitFetchUpload: FetchKindUpload, ExitFetchNoTool: FetchKindNoTool,
}

// Fetch reads one file from one instance with one command. A file of at most
// FetchInlineLimit bytes (and not Secret) comes back in the command's output,
// in base64; a larger one (or any Secret one) is PUT by the instance to a
// presigned URL of a fresh object in the staging bucket, made immediately
// before SendCommand (after the agent was found ready), read by Fetch and
// deleted before Fetch returns, whatever the outcome. Either way the size and
// sha256 the instance computed are checked against the bytes received.
//
// The instance must be able to receive the command: runcommand's
// *UnreachableError, *agentwait.NotReadyError and *CancelledError come back
// unchanged. What is wrong with the file is a *FetchError.
func Fetch(ctx context.Context, c Clients, spec FetchSpec) (res *Fetched, err error) {
	if spec.InstanceID == "" {
		return nil, errors.New("no instance id")
	}
	if err := ValidateDestination(spec.Path, PlatformLinux); err != nil {
		return nil, err
	}
	maxSize := spec.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultFetchMaxSize
	}
	if maxSize > MaxFetchSize {
		return nil, fmt.Errorf("the size limit %d is above the %d bytes a fetch can hold", maxSize, MaxFetchSize)
	}
	params := FetchScriptParams{Path: spec.Path, MaxSize: maxSize, InlineLimit: FetchInlineLimit}
	if spec.Secret {
		params.InlineLimit = -1
		if spec.StagingBucket == "" {
			return nil, &NeedsStagingError{Secret: true}
		}
	}
	rspec := runcommand.Spec{
		InstanceIDs:      []string{spec.InstanceID},
		Comment:          spec.Comment,
		AgentWaitTimeout: spec.AgentWaitTimeout,
		MinInterval:      spec.MinInterval,
		MaxUnreachable:   "0",
	}
	res = &Fetched{}
	var key string
	if spec.StagingBucket != "" {
		if c.S3 == nil || c.Presign == nil {
			return nil, errors.New("filecopy: no S3 client for staging")
		}
		prefix := spec.StagingKeyPrefix
		if prefix == "" {
			prefix = DefaultFetchKeyPrefix
		}
		key = StagingKey(prefix, spec.Path, Target{InstanceIDs: []string{spec.InstanceID}})
		defer func() {
			// A fresh context: an interrupted operation must not leave the
			// object behind. Deleting a key that was never written succeeds.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
			defer cancel()
			if derr := deleteObject(dctx, c.S3, spec.StagingBucket, key); derr != nil {
				err = errors.Join(err, derr)
			}
		}()
		placeholder := params
		placeholder.URL = "https://presigned-per-command.invalid/"
		rspec.Parameters = map[string][]string{"commands": FetchShellCommands(placeholder)}
		rspec.BeforeSend = func(ctx context.Context, _ []string) (map[string][]string, error) {
			lifetime := URLLifetime(ctx, spec.URLExpiry)
			req, err := c.Presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(spec.StagingBucket), Key: aws.String(key)},
				s3.WithPresignExpires(lifetime))
			if err != nil {
				return nil, &StagingError{Op: "presigning the upload to", Bucket: spec.StagingBucket, Key: key, Err: err}
			}
			for h := range req.SignedHeader {
				// The instance sends no header but Host with its PUT.
				if !strings.EqualFold(h, "host") {
					return nil, &StagingError{Op: "presigning the upload to", Bucket: spec.StagingBucket, Key: key,
						Err: fmt.Errorf("the presigned PUT signs header %s, which the instance's upload does not send", h)}
				}
			}
			res.URLLifetime = lifetime
			p := params
			p.URL = req.URL
			return map[string][]string{"commands": FetchShellCommands(p)}, nil
		}
	} else {
		rspec.Parameters = map[string][]string{"commands": FetchShellCommands(params)}
	}
	run, err := runcommand.Run(ctx, c.Run, rspec)
	if run != nil && len(run.CommandIDs) > 0 {
		res.CommandID = run.CommandIDs[0]
	}
	var fe *runcommand.FailedError
	if errors.As(err, &fe) {
		if len(fe.Failed) > 0 {
			return res, fetchFailure(spec, fe.Failed[0])
		}
	}
	if err != nil {
		return res, err
	}
	inv := run.Invocations[spec.InstanceID]
	if inv == nil {
		if len(run.NotReached) > 0 {
			return res, &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: FetchKindUnreachable, ExitCode: -1, Detail: run.NotReached[0].Reason}
		}
		return res, &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: FetchKindFailed, ExitCode: -1,
			Detail: "the command reported no result for the instance"}
	}
	size, sum, via, rest, perr := parseFetchOutput(inv.Stdout)
	if perr != nil || inv.StdoutTruncated {
		if perr == nil {
			perr = errors.New("the output was truncated")
		}
		return res, &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: FetchKindFailed, ExitCode: -1, Detail: perr.Error()}
	}
	if size > maxSize {
		return res, &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: FetchKindTooLarge, ExitCode: -1,
			Detail: fmt.Sprintf("%d bytes, above the limit of %d", size, maxSize)}
	}
	res.Size, res.SHA256 = size, sum
	switch via {
	case "inline":
		if spec.Secret {
			return res, errors.New("filecopy: a secret came back inline")
		}
		data, derr := base64.StdEncoding.DecodeString(rest)
		if derr != nil {
			return res, &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: FetchKindMismatch, ExitCode: -1,
				Detail: "the output is not valid base64: " + derr.Error()}
		}
		res.Data = data
	case "staged":
		if key == "" {
			return res, errors.New("filecopy: the instance reported a staged upload without a staging bucket")
		}
		res.Staged, res.StagingKey = true, key
		if res.Data, err = readStaged(ctx, c, spec.StagingBucket, key, size); err != nil {
			var mm *FetchError
			if errors.As(err, &mm) {
				mm.InstanceID, mm.Path = spec.InstanceID, spec.Path
			}
			return res, err
		}
	default:
		return res, &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: FetchKindFailed, ExitCode: -1, Detail: "unknown transfer " + strconv.Quote(via)}
	}
	h := sha256.Sum256(res.Data)
	if got := hex.EncodeToString(h[:]); int64(len(res.Data)) != size || got != sum {
		n := len(res.Data)
		res.Data = nil
		return res, &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: FetchKindMismatch, ExitCode: -1,
			Detail: fmt.Sprintf("the instance read %d bytes with sha256 %s, %d bytes with sha256 %s arrived (was the file changed while it was read? try again)",
				size, sum, n, got)}
	}
	return res, nil
}

// fetchFailure turns an unsuccessful invocation into a *FetchError.
func fetchFailure(spec FetchSpec, inv *runcommand.Invocation) error {
	kind, ok := exitKinds[inv.ResponseCode]
	if !ok || inv.Status != "Failed" {
		kind = FetchKindFailed
	}
	detail := ""
	for _, line := range strings.Split(strings.TrimSpace(inv.Stderr), "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "failed to run commands:") {
			detail = l
		}
	}
	if i := strings.Index(detail, ": "); i >= 0 && strings.HasPrefix(detail, "ssm_remote_file on ") {
		detail = detail[i+2:]
	}
	if kind == FetchKindFailed {
		st := inv.Status
		if inv.StatusDetails != "" && inv.StatusDetails != st {
			st += " (" + inv.StatusDetails + ")"
		}
		detail = strings.TrimSuffix(fmt.Sprintf("the command ended %s, exit code %d; %s", st, inv.ResponseCode, detail), "; ")
	}
	return &FetchError{InstanceID: spec.InstanceID, Path: spec.Path, Kind: kind, Detail: detail, ExitCode: inv.ResponseCode}
}

// parseFetchOutput finds the marker line and returns its fields and, for an
// inline transfer, the base64 line after it.
func parseFetchOutput(stdout string) (size int64, sum, via, rest string, err error) {
	i := strings.Index(stdout, FetchMarker)
	if i < 0 {
		return 0, "", "", "", errors.New("the command's output has no " + FetchMarker + " line")
	}
	line, after, _ := strings.Cut(stdout[i+len(FetchMarker):], "\n")
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "size":
			if size, err = strconv.ParseInt(v, 10, 64); err != nil || size < 0 {
				return 0, "", "", "", fmt.Errorf("bad size %q in the command's output", v)
			}
		case "sha256":
			sum = strings.ToLower(v)
		case "via":
			via = v
		}
	}
	if len(sum) != 64 {
		return 0, "", "", "", fmt.Errorf("bad sha256 %q in the command's output", sum)
	}
	rest, _, _ = strings.Cut(after, "\n")
	return size, sum, via, strings.TrimSpace(rest), nil
}

// readStaged reads the staged object into one buffer of the announced size,
// refusing an object of another size.
func readStaged(ctx context.Context, c Clients, bucket, key string, size int64) ([]byte, error) {
	out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, &StagingError{Op: "reading the staged file", Bucket: bucket, Key: key, Err: err}
	}
	defer out.Body.Close()
	if n := aws.ToInt64(out.ContentLength); out.ContentLength != nil && n != size {
		return nil, &FetchError{Kind: FetchKindMismatch, ExitCode: -1,
			Detail: fmt.Sprintf("the instance read %d bytes, the staged object holds %d", size, n)}
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(out.Body, buf); err != nil {
		return nil, &StagingError{Op: "reading the staged file", Bucket: bucket, Key: key, Err: err}
	}
	if n, _ := out.Body.Read(make([]byte, 1)); n > 0 {
		return nil, &FetchError{Kind: FetchKindMismatch, ExitCode: -1,
			Detail: fmt.Sprintf("the staged object holds more than the %d bytes the instance read", size)}
	}
	return buf, nil
}

// CleanupFetchStaging deletes what an interrupted fetch of path from the
// instance left in the staging bucket, and returns how many objects it
// deleted.
func CleanupFetchStaging(ctx context.Context, c Clients, bucket, prefix, instanceID, path string) (int, error) {
	if prefix == "" {
		prefix = DefaultFetchKeyPrefix
	}
	return CleanupStaging(ctx, c, bucket, prefix, path, Target{InstanceIDs: []string{instanceID}})
}
