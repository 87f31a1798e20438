package provider

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// What the managed and the ephemeral ssm_remote_file share: the conversion to
// filecopy.FetchSpec, the result's encoding and the diagnostics.

const (
	encodingText   = "text"
	encodingBase64 = "base64"

	defaultRemoteFileTimeout = 20 * time.Minute
)

// remoteFileArgs are the arguments both forms have.
type remoteFileArgs struct {
	InstanceID       string
	Path             string
	Encoding         string
	MaxSize          int64
	Secret           bool
	StagingBucket    string
	StagingKeyPrefix string
	AgentWaitTimeout time.Duration
}

// remoteFileResult is a fetched file converted for the schema: exactly one of
// Content (encoding text) and ContentBase64 (encoding base64) is set.
type remoteFileResult struct {
	Content, ContentBase64 types.String
	SHA256                 string
	Size                   int64
	CommandID              string
}

func fetchClients(d *ProviderData) filecopy.Clients {
	return filecopy.NewClients(runcommand.Clients{SSM: d.SSM, S3: d.S3,
		Agents: &agentwait.Clients{SSM: d.SSM, EC2: d.EC2, IAM: d.IAM}}, d.S3)
}

// fetchRemoteFile fetches the file within timeout and converts it. Text is
// held once (the string is the engine's buffer); base64 is held twice while it
// is encoded (the bytes, then the 4/3 larger text), then once.
func fetchRemoteFile(ctx context.Context, d *ProviderData, a remoteFileArgs, timeout time.Duration, diags *diag.Diagnostics) (remoteFileResult, bool) {
	summary := "fetching " + a.Path + " from " + a.InstanceID
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := fetchClients(d)
	if a.StagingBucket != "" {
		if n, err := filecopy.CleanupFetchStaging(ctx, c, a.StagingBucket, a.StagingKeyPrefix, a.InstanceID, a.Path); err != nil {
			addCleanupWarning(diags, a.Path, a.StagingBucket, err)
		} else if n > 0 {
			diags.AddWarning(cleanupSummary(a.Path, a.StagingBucket),
				fmt.Sprintf("%d object(s) left in s3://%s by an earlier interrupted fetch of %s were deleted.", n, a.StagingBucket, a.Path))
		}
	}
	tflog.Debug(ctx, "fetching file", map[string]any{"instance_id": a.InstanceID, "path": a.Path, "secret": a.Secret})
	f, err := filecopy.Fetch(ctx, c, filecopy.FetchSpec{
		InstanceID: a.InstanceID, Path: a.Path, MaxSize: a.MaxSize, Secret: a.Secret,
		StagingBucket: a.StagingBucket, StagingKeyPrefix: a.StagingKeyPrefix,
		AgentWaitTimeout: a.AgentWaitTimeout, Comment: "ssm_remote_file " + truncate(a.Path, 80),
	})
	if err != nil {
		addFetchError(diags, summary, err, timeout)
		return remoteFileResult{}, false
	}
	tflog.Debug(ctx, "fetched file", map[string]any{"instance_id": a.InstanceID, "path": a.Path, "size": f.Size, "staged": f.Staged, "command_id": f.CommandID})
	r := remoteFileResult{Content: types.StringNull(), ContentBase64: types.StringNull(), SHA256: f.SHA256, Size: f.Size, CommandID: f.CommandID}
	data := f.Data
	f.Data = nil
	if a.Encoding == encodingBase64 {
		r.ContentBase64 = types.StringValue(base64.StdEncoding.EncodeToString(data))
		return r, true
	}
	if !utf8.Valid(data) {
		diags.AddAttributeError(path.Root("encoding"), summary,
			fmt.Sprintf("%s on %s is not UTF-8 text (%d bytes, sha256 %s): set encoding = \"base64\" and read content_base64 "+
				"(base64decode() or filebase64-style consumers take it).", a.Path, a.InstanceID, f.Size, f.SHA256))
		return remoteFileResult{}, false
	}
	// The string takes over the engine's buffer instead of copying it (the
	// buffer is not referenced or written anywhere else), so the file is held
	// once.
	r.Content = types.StringValue(unsafe.String(unsafe.SliceData(data), len(data)))
	return r, true
}

// addFetchError turns a fetch failure into a diagnostic naming the path, the
// instance, the cause and what to do.
func addFetchError(diags *diag.Diagnostics, summary string, err error, timeout time.Duration) {
	var (
		fe *filecopy.FetchError
		ns *filecopy.NeedsStagingError
		un *runcommand.UnreachableError
		nr *agentwait.NotReadyError
		ce *runcommand.CancelledError
		se *filecopy.StagingError
	)
	switch {
	case errors.As(err, &fe):
		next := map[string]string{
			filecopy.FetchKindMissing:     "Check the path (it is case-sensitive and must be absolute), or create the file first (for example with ssm_command_run, and depends_on).",
			filecopy.FetchKindDirectory:   "Give the path of a file inside it; to fetch several files, archive them first with ssm_command_run (tar) and fetch the archive.",
			filecopy.FetchKindNotRegular:  "Only regular files can be fetched.",
			filecopy.FetchKindDenied:      "The SSM agent runs commands as root on Linux; a denied read usually means a mandatory access control (SELinux, AppArmor) or a file system that refuses it.",
			filecopy.FetchKindTooLarge:    fmt.Sprintf("Raise max_size (at most %d bytes).", int64(filecopy.MaxFetchSize)),
			filecopy.FetchKindNoStaging:   fmt.Sprintf("Files above %d bytes come back through S3: set staging_bucket (the instance needs no S3 permission).", filecopy.FetchInlineLimit),
			filecopy.FetchKindUpload:      "The instance must reach S3 over HTTPS (an S3 gateway or interface endpoint in a private subnet). The staged object, if any, was deleted.",
			filecopy.FetchKindNoTool:      "Install the tool named above on the instance.",
			filecopy.FetchKindMismatch:    "Apply again; if the file is being written, wait until it is complete.",
			filecopy.FetchKindUnreachable: "Start the instance or replace it in instance_id.",
		}[fe.Kind]
		diags.AddError(summary, sentence(fe.Error())+"."+strings.TrimSuffix("\n\n"+next, "\n\n"))
	case errors.As(err, &ns):
		diags.AddAttributeError(path.Root("staging_bucket"), summary,
			"A secret fetched by the ephemeral ssm_remote_file always comes back through S3, never in the command's output (which SSM keeps): set staging_bucket.")
	case errors.As(err, &un), errors.As(err, &nr):
		diags.AddError(summary, err.Error()+"\n\nNothing was sent. Start the instance or repair its agent, or "+agentWaitTimeoutAdvice+"."+identityAdvice(err))
	case errors.As(err, &ce):
		why := fmt.Sprintf("Terraform was interrupted (%v).", ce.Cause)
		if errors.Is(ce.Cause, context.DeadlineExceeded) {
			why = fmt.Sprintf("The timeout of %s was reached (raise it with a timeouts block).", shortDuration(timeout))
		}
		diags.AddError(summary, why+" "+sentence(ce.Error())+"."+stagingNote(err))
	case errors.As(err, &se):
		diags.AddError(summary, "Staging in S3 failed: "+se.Error()+"\n\nCheck that the bucket exists in the provider's region and that the "+
			"provider's credentials allow s3:PutObject (to presign the instance's upload), s3:GetObject, s3:DeleteObject and s3:ListBucket on it.")
	default:
		addFileError(diags, summary, "", err, timeout)
	}
}

// remotePath accepts an absolute Linux path of a file (not ending in /).
func remotePath() validator.String { return remotePathValidator{} }

type remotePathValidator struct{}

func (remotePathValidator) Description(context.Context) string {
	return "must be the absolute path of a file on a Linux instance"
}
func (v remotePathValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (remotePathValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := filecopy.ValidateDestination(req.ConfigValue.ValueString(), filecopy.PlatformLinux); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "invalid path", sentence(err.Error())+".")
	}
}
