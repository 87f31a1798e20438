package awsemu

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"time"
)

// Run Command's commands and invocations: the state SendCommand creates, the
// runner (ssm_runner.go) advances and the reads report. Handlers run with e.mu held.

// Invocation status details (the CamelCase wire spellings).
const (
	detPending           = "Pending"
	detInProgress        = "InProgress"
	detSuccess           = "Success"
	detFailed            = "Failed"
	detCancelled         = "Cancelled"
	detCancelling        = "Cancelling"
	detDeliveryTimedOut  = "DeliveryTimedOut"
	detExecutionTimedOut = "ExecutionTimedOut"
	detTerminated        = "Terminated"
	detUndeliverable     = "Undeliverable"
	detInvalidPlatform   = "InvalidPlatform"
	detIncomplete        = "Incomplete"
	detNoInstancesInTag  = "NoInstancesInTag"
)

const (
	maxStderrContent = 8000
	maxPluginOutput  = 2500
	maxKeptOutput    = 16 << 20 // full output kept in memory per stream
	// defaultDeliveryTimeout is used when SendCommand has no TimeoutSeconds.
	// GUESS: the UG gives both 600 (console) and 3600; the API default is unclear.
	defaultDeliveryTimeout = 3600
)

type ssmTarget struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type cwOutputConfig struct {
	CloudWatchLogGroupName  string `json:"CloudWatchLogGroupName,omitempty"`
	CloudWatchOutputEnabled bool   `json:"CloudWatchOutputEnabled"`
}

// runStep is one plugin of a command, with parameters substituted.
type runStep struct {
	Action           string
	Name             string // PluginName
	ID               string // plugin id (S3 folder without ':')
	Script           string
	WorkingDirectory string
	TimeoutSeconds   int
}

type ssmCommand struct {
	ID             string
	DocName        string
	DocVersion     string
	Comment        string
	Params         map[string][]string
	InstanceIDs    []string
	Targets        []ssmTarget
	Requested      time.Time
	Expires        time.Time
	TimeoutSeconds int
	MaxConcurrency string
	MaxErrors      string
	S3Bucket       string
	S3Prefix       string
	S3Region       string
	CW             *cwOutputConfig
	ServiceRole    string
	Notification   json.RawMessage

	steps     []runStep
	maxConc   int
	maxErr    int
	visibleAt time.Time
	deadline  time.Time // delivery deadline (scaled)

	invs   []*ssmInvocation
	byInst map[string]*ssmInvocation

	cancelRequested bool
	errorsExceeded  bool
	noInstances     bool
	running         int // dispatched, not terminal
	limit           int // current ramp-up concurrency
	errCount        int
	done            bool
	wake            chan struct{}
}

type ssmInvocation struct {
	cmd          *ssmCommand
	InstanceID   string
	InstanceName string
	Status       string
	Details      string
	ResponseCode int

	dispatched bool
	start, end time.Time
	stdout     []byte
	stderr     []byte
	stdoutURL  string
	stderrURL  string

	pgid       int // running process group, 0 when none
	killReason string
	hostDown   bool       // the instance stopped under the agent running this
	spans      []stepSpan // each step's part of stdout and stderr
	cancelCh   chan struct{}
	cancelled  bool
}

// stepSpan is one step's part of an invocation's output: stdout[so0:so1],
// stderr[se0:se1].
type stepSpan struct {
	step               int // index in cmd.steps
	so0, so1, se0, se1 int
	// The step's own result, listed as its plugin.
	status, details string
	code            int
	start, end      time.Time
}

// stepOutput is the output of the step named plugin, or the whole output when
// plugin is "" or the step did not run.
func (inv *ssmInvocation) stepOutput(plugin string) (stdout, stderr []byte) {
	if plugin != "" {
		for _, sp := range inv.spans {
			if inv.cmd.steps[sp.step].Name == plugin {
				return inv.stdout[sp.so0:sp.so1], inv.stderr[sp.se0:sp.se1]
			}
		}
		return nil, nil
	}
	return inv.stdout, inv.stderr
}

func (inv *ssmInvocation) terminal() bool {
	switch inv.Status {
	case "Success", "Failed", "TimedOut", "Cancelled":
		return true
	}
	return false
}

// killLocked kills the invocation's running process group, if any, and wakes a
// worker waiting for delivery or a process slot.
func (inv *ssmInvocation) killLocked(reason string) {
	if !inv.cancelled {
		inv.cancelled = true
		close(inv.cancelCh)
	}
	if inv.pgid != 0 {
		if inv.killReason == "" {
			inv.killReason = reason
		}
		killProcessGroup(inv.pgid)
	}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type cmdCounts struct {
	completed, errors, deliveryTimedOut int
}

func (c *ssmCommand) counts() cmdCounts {
	var n cmdCounts
	for _, inv := range c.invs {
		if inv.terminal() {
			n.completed++
		}
		switch inv.Details {
		case detFailed, detExecutionTimedOut:
			n.errors++
		case detDeliveryTimedOut:
			n.deliveryTimedOut++
		}
	}
	return n
}

// status aggregates the invocations (notes/aws-behaviour.md#statuses).
func (c *ssmCommand) status() (string, string) {
	if c.noInstances {
		// GUESS: a tag target matching nothing ends at once as Success with
		// StatusDetails NoInstancesInTag.
		return "Success", detNoInstancesInTag
	}
	allTerminal, anyStarted := true, false
	for _, inv := range c.invs {
		if !inv.terminal() {
			allTerminal = false
		}
		if inv.Status != "Pending" {
			anyStarted = true
		}
	}
	if !allTerminal {
		switch {
		case c.cancelRequested:
			return "Cancelling", detCancelling
		case anyStarted:
			return "InProgress", detInProgress
		}
		return "Pending", detPending
	}
	if c.cancelRequested {
		return "Cancelled", detCancelled
	}
	// Undeliverable, InvalidPlatform and AccessDenied do not count; if all are, Failed.
	byDetail := map[string]int{}
	counted := 0
	for _, inv := range c.invs {
		switch inv.Details {
		case detUndeliverable, detInvalidPlatform, "AccessDenied":
			continue
		}
		counted++
		byDetail[inv.Details]++
	}
	switch {
	case counted == 0:
		return "Failed", detFailed
	case byDetail[detSuccess] == counted:
		return "Success", detSuccess
	case byDetail[detDeliveryTimedOut] == counted:
		return "TimedOut", detDeliveryTimedOut
	case byDetail[detExecutionTimedOut] == counted:
		return "TimedOut", detExecutionTimedOut
	case byDetail[detFailed] == counted:
		return "Failed", detFailed
	case byDetail[detCancelled] == counted:
		return "Cancelled", detCancelled
	case c.errorsExceeded:
		return "Failed", detFailed
	}
	// GUESS: a mix within MaxErrors is "Incomplete"; the Status enum has no such
	// value, so the status is Failed.
	return "Failed", detIncomplete
}

type commandOutJSON struct {
	CommandID              string              `json:"CommandId"`
	DocumentName           string              `json:"DocumentName"`
	DocumentVersion        string              `json:"DocumentVersion"`
	Comment                string              `json:"Comment"`
	ExpiresAfter           epochTime           `json:"ExpiresAfter"`
	Parameters             map[string][]string `json:"Parameters"`
	InstanceIDs            []string            `json:"InstanceIds"`
	Targets                []ssmTarget         `json:"Targets"`
	RequestedDateTime      epochTime           `json:"RequestedDateTime"`
	Status                 string              `json:"Status"`
	StatusDetails          string              `json:"StatusDetails"`
	OutputS3Region         string              `json:"OutputS3Region"`
	OutputS3BucketName     string              `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string              `json:"OutputS3KeyPrefix"`
	MaxConcurrency         string              `json:"MaxConcurrency"`
	MaxErrors              string              `json:"MaxErrors"`
	TargetCount            int                 `json:"TargetCount"`
	CompletedCount         int                 `json:"CompletedCount"`
	ErrorCount             int                 `json:"ErrorCount"`
	DeliveryTimedOutCount  int                 `json:"DeliveryTimedOutCount"`
	ServiceRole            string              `json:"ServiceRole"`
	NotificationConfig     json.RawMessage     `json:"NotificationConfig,omitempty"`
	CloudWatchOutputConfig cwOutputConfig      `json:"CloudWatchOutputConfig"`
	TimeoutSeconds         int                 `json:"TimeoutSeconds"`
}

func (e *Emulator) commandOut(c *ssmCommand) commandOutJSON {
	st, det := c.status()
	n := c.counts()
	out := commandOutJSON{
		CommandID: c.ID, DocumentName: c.DocName, DocumentVersion: c.DocVersion, Comment: c.Comment,
		ExpiresAfter: epochTime(c.Expires), Parameters: c.Params, InstanceIDs: c.InstanceIDs, Targets: c.Targets,
		RequestedDateTime: epochTime(c.Requested), Status: st, StatusDetails: det,
		OutputS3Region: c.S3Region, OutputS3BucketName: c.S3Bucket, OutputS3KeyPrefix: c.S3Prefix,
		MaxConcurrency: c.MaxConcurrency, MaxErrors: c.MaxErrors, TargetCount: len(c.invs),
		CompletedCount: n.completed, ErrorCount: n.errors, DeliveryTimedOutCount: n.deliveryTimedOut,
		ServiceRole: c.ServiceRole, NotificationConfig: c.Notification, TimeoutSeconds: c.TimeoutSeconds,
	}
	if c.CW != nil {
		out.CloudWatchOutputConfig = *c.CW
	}
	return out
}

func checkCommandID(id string) *APIError {
	if len(id) != 36 {
		if len(id) < 36 {
			return validationErr(id, "commandId", "Member must have length greater than or equal to 36")
		}
		return validationErr(id, "commandId", "Member must have length less than or equal to 36")
	}
	return nil
}

func (c *ssmCommand) pluginName() string {
	if len(c.steps) > 0 {
		return c.steps[0].Name
	}
	return ""
}

func (c *ssmCommand) cwOut() cwOutputConfig {
	if c.CW == nil {
		return cwOutputConfig{}
	}
	return *c.CW
}

func (c *ssmCommand) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
