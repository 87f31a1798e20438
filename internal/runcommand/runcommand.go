// Package runcommand is the Run Command engine: send a command to one instance or
// thousands, wait for it as a whole with an adaptive poll interval, collect
// per-instance results, fetch full output, and cancel on interrupt. It has no
// Terraform types; the provider converts its model to a Spec and back.
package runcommand

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
)

// SSMAPI is the part of the SSM client the engine uses.
type SSMAPI interface {
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	ListCommands(ctx context.Context, in *ssm.ListCommandsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandsOutput, error)
	ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, optFns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)
	GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
	CancelCommand(ctx context.Context, in *ssm.CancelCommandInput, optFns ...func(*ssm.Options)) (*ssm.CancelCommandOutput, error)
}

// S3API is the part of the S3 client used to read full output.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Clients are the SDK clients the engine needs. S3 may be nil when no output
// bucket is used. Agents, when set, is used to check before sending that every
// target's agent can receive the command (and to explain why not); nil skips
// the check.
type Clients struct {
	SSM    SSMAPI
	S3     S3API
	Agents *agentwait.Clients
}

// Target is a SendCommand target: {Key: "tag:Role", Values: ["web"]},
// {Key: "InstanceIds", ...} or {Key: "resource-groups:Name", ...}.
type Target struct {
	Key    string
	Values []string
}

// Spec is one run: what to run, where, and how to wait.
type Spec struct {
	DocumentName    string // default AWS-RunShellScript
	DocumentVersion string // "" = $DEFAULT
	// Parameters of the document (commands, workingDirectory, executionTimeout, ...).
	Parameters map[string][]string

	// InstanceIDs (any number: more than 50 are sent as several commands) or
	// Targets (at most 5).
	InstanceIDs []string
	Targets     []Target

	MaxConcurrency string // "" = AWS default "50"
	MaxErrors      string // "" = AWS default "0"
	Comment        string
	// DeliveryTimeout is SendCommand's TimeoutSeconds (0 = AWS default).
	DeliveryTimeout time.Duration

	OutputS3BucketName   string
	OutputS3KeyPrefix    string
	CloudWatchLogGroup   string
	CloudWatchLogEnabled bool

	// AgentWaitTimeout: how long to wait for targets' agents to be Online before
	// sending (when Clients.Agents is set), and how long InvalidInstanceId from
	// SendCommand (agents still registering) is retried. 0 = check once: the
	// targets that cannot receive the command then count against
	// MaxUnreachable at once. Stopped, stopping and gone instances are never
	// waited for.
	AgentWaitTimeout time.Duration
	// OutputLimit is the most bytes of stdout and of stderr kept per instance
	// (0 = DefaultOutputLimit; NoOutput keeps none). Output beyond the API caps
	// (24,000/8,000 chars) is read from S3 when an output bucket is set.
	OutputLimit int

	// Poll schedule of the wait (zero values: defaults), and the bound on
	// concurrent output fetches.
	MinInterval, MaxInterval time.Duration
	Backoff                  float64
	FetchConcurrency         int

	// PersistentErrorLimit ends the wait or the collection when every call
	// failed with a transient error (throttling, 5xx, connection) for this long
	// (0: DefaultPersistentErrorLimit). Other errors end them at once.
	PersistentErrorLimit time.Duration

	// SendLookupWindow is how long after a SendCommand attempt that may have
	// created a command (5xx, reset, lost response, interrupt) the engine keeps
	// looking for it in ListCommands before sending again: the longest lag of
	// ListCommands behind SendCommand under which nothing runs twice
	// (0: DefaultSendLookupWindow). A lost response is adopted as soon as the
	// command is listed; only an attempt that created nothing waits it out.
	SendLookupWindow time.Duration

	// Progress, when set, is called after each poll of the command(s).
	Progress func(Progress)

	// MaxUnreachable is how many targets may be unreachable when the run is
	// sent: a count ("10") or a percentage of the selected instances ("25%");
	// "" means "0" (every target must be able to receive the command). The
	// readiness check before sending (Clients.Agents set) sorts every target
	// into ready (agent Online), unreachable (instance stopped or stopping,
	// agent ConnectionLost, Inactive or never registered) and gone (instance
	// terminated, shutting down or no longer existing). Gone ones are dropped
	// from the run and never count. Unreachable ones are not sent to and not
	// waited for; when there are more than MaxUnreachable the run fails with
	// an *UnreachableError before anything is sent. Within it, the command goes
	// to the ready ones only, and Result.NotReached lists the others with
	// their reasons. This is not SendCommand's MaxErrors, which counts failed
	// executions of delivered commands (see notes/aws-behaviour.md).
	MaxUnreachable string
	// AllowEmpty lets a tag or resource-group selection that matches no
	// instance (or only gone ones) succeed with an empty Result; without it
	// such a run fails with an *EmptySelectionError naming the targets.
	AllowEmpty bool
	// BeforeSend, when set, is called after the readiness check (and any agent
	// wait), immediately before each SendCommand, with the instance ids that
	// command goes to (nil when it is sent by targets the check could not
	// resolve, such as a resource group). The parameters it returns are merged
	// over Spec.Parameters for that command only (a staged file's presigned
	// URL, made now so that a long agent wait cannot expire it). An error ends
	// the run: commands already sent are cancelled, as for a SendCommand error.
	BeforeSend func(ctx context.Context, instanceIDs []string) (map[string][]string, error)
	// SkipInstanceIDs are selected instances the command must not be sent to
	// again (they ran it already: a re-run after a partial failure). They still
	// count in the total MaxUnreachable's percentage is taken of, and are not
	// reported in Result.NotReached.
	SkipInstanceIDs []string

	track *poll.Tracker // the run's API errors, set by Run
}

// NoOutput as Spec.OutputLimit keeps no output (only whether there was some).
const NoOutput = -1

// Defaults.
const (
	DefaultDocument     = "AWS-RunShellScript"
	DefaultOutputLimit  = 64 * 1024
	DefaultMinInterval  = 200 * time.Millisecond
	DefaultMaxInterval  = 10 * time.Second
	DefaultBackoff      = 1.5
	DefaultFetchWorkers = 8
	// MaxInstanceIDsPerCommand is SendCommand's InstanceIds limit.
	MaxInstanceIDsPerCommand = 50
	// CancelTimeout bounds CancelCommand after the caller's context is done.
	CancelTimeout = 15 * time.Second
)

// Progress is a snapshot of a run while it is waited for.
type Progress struct {
	Targets, Completed, Errors int
}

// Invocation is one instance's result.
type Invocation struct {
	InstanceID    string
	Status        string // Success, Failed, TimedOut, Cancelled, ...
	StatusDetails string // Success, Failed, ExecutionTimedOut, DeliveryTimedOut, Terminated, ...
	ResponseCode  int
	Stdout        string
	Stderr        string
	// StdoutTruncated / StderrTruncated: the stream was longer than what is kept
	// (the API cap without an output bucket, or OutputLimit).
	StdoutTruncated, StderrTruncated bool
	StdoutURL, StderrURL             string
	// OutputError says why output beyond the API's cap could not be read from
	// S3 ("" when it could, or was not needed).
	OutputError           string
	StartedAt, FinishedAt time.Time
}

// Result is what a run produced. It is returned, partially filled, with every
// error after SendCommand succeeded, so command ids are never lost.
type Result struct {
	// CommandIDs lists every command sent (several when more than 50 instance
	// ids were split); CommandIDs[0] is the run's id.
	CommandIDs     []string
	Status         string // aggregated: Success, Failed, TimedOut, Cancelled, InProgress, ...
	StatusDetails  string
	TargetCount    int
	CompletedCount int
	ErrorCount     int
	RequestedAt    time.Time
	CompletedAt    time.Time
	Invocations    map[string]*Invocation
	// NotReached lists the selected instances the command was not sent to,
	// sorted by instance id: unreachable ones (within Spec.MaxUnreachable) and
	// gone ones (Gone set). They have no entry in Invocations.
	NotReached []Skipped
}

// Skipped is a selected instance the command was not sent to, and why.
type Skipped struct {
	InstanceID string
	// Reason says why, in words ("instance is stopped: its agent comes online
	// only after the instance is started", "agent is ConnectionLost ...").
	Reason string
	// Gone: the instance is terminated, shutting down or does not exist, so
	// there is nothing to run on it (never an error, never waited for).
	Gone bool
}

// UnreachableError: more selected instances could not receive the command
// than Spec.MaxUnreachable allows. Nothing was sent.
type UnreachableError struct {
	// Total is how many instances were selected (gone ones excluded).
	Total int
	// Unreachable lists each unreachable instance with its reason.
	Unreachable []Skipped
	// Gone lists the selected instances that are gone (not counted).
	Gone []Skipped
	// MaxUnreachable is the threshold as given ("" = "0"); Allowed is what it
	// came to for Total.
	MaxUnreachable string
	Allowed        int
	// Waited is how long agents were waited for (Spec.AgentWaitTimeout), 0
	// when checked once.
	Waited time.Duration

	notReady *agentwait.NotReadyError
}

// EmptySelectionError: the targets select no instance that exists (and
// Spec.AllowEmpty is not set). Nothing was sent.
type EmptySelectionError struct {
	Targets []Target
	// Gone lists the selected instances that are gone, if any matched at all.
	Gone []Skipped
}

// FailedError: the run finished but some invocations did not succeed.
type FailedError struct {
	Result *Result
	// Failed lists every unsuccessful invocation: real failures (Failed,
	// TimedOut) first, then those that never ran (Terminated after MaxErrors,
	// DeliveryTimedOut, Undeliverable, Cancelled), each by instance id.
	Failed []*Invocation
}

// CancelledError: the context ended (Terraform timeout or interrupt) before the
// run finished. CancelCommand was sent when CancelSent; Result holds what was known.
type CancelledError struct {
	Result     *Result
	CancelSent bool
	// NothingToCancel: every command had finished (or none was sent), so no
	// CancelCommand was needed.
	NothingToCancel bool
	CancelErr       error
	Cause           error
	// LastErr is the last API error seen while waiting or collecting, if any:
	// what kept the run from finishing before the deadline.
	LastErr *poll.CallError
}
