package awsemu

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

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

// parseRate turns "10" or "10%" into a count of n targets.
// GUESS: percentages round down, with at least 1 for MaxConcurrency.
func parseRate(s string, n int, atLeastOne bool) int {
	var v int
	if p, ok := strings.CutSuffix(s, "%"); ok {
		pct, _ := strconv.Atoi(p)
		v = int(math.Floor(float64(pct) * float64(n) / 100))
	} else {
		v, _ = strconv.Atoi(s)
	}
	if atLeastOne && v < 1 {
		v = 1
	}
	return v
}

var reParamRef = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// resolveParams validates parameters against a document version and returns the
// effective values (defaults applied).
func resolveParams(spec *docSpec, given map[string][]string) (map[string][]string, *APIError) {
	known := map[string]docParam{}
	for _, p := range spec.Params {
		known[p.Name] = p
	}
	for name := range given {
		if _, ok := known[name]; !ok {
			return nil, apiErr(400, "InvalidParameters", "Parameter \"%s\" is not defined in the document.", name)
		}
	}
	eff := map[string][]string{}
	for _, p := range spec.Params {
		vals, ok := given[p.Name]
		if !ok {
			if !p.HasDefault {
				return nil, apiErr(400, "InvalidParameters", "Required parameter %s not provided.", p.Name)
			}
			switch dv := p.Default.(type) {
			case string:
				vals = []string{dv}
			case []any:
				for _, x := range dv {
					vals = append(vals, fmt.Sprint(x))
				}
			case nil:
			default:
				vals = []string{fmt.Sprint(dv)}
			}
			eff[p.Name] = vals
			continue
		}
		if p.Type != "StringList" && p.Type != "MapList" && len(vals) > 1 {
			return nil, apiErr(400, "InvalidParameters", "Parameter %s must be a single value.", p.Name)
		}
		if p.MinItems > 0 && len(vals) < p.MinItems {
			return nil, apiErr(400, "InvalidParameters", "Parameter %s requires at least %d item(s).", p.Name, p.MinItems)
		}
		if p.MaxItems > 0 && len(vals) > p.MaxItems {
			return nil, apiErr(400, "InvalidParameters", "Parameter %s allows at most %d item(s).", p.Name, p.MaxItems)
		}
		for _, v := range vals {
			if p.MaxChars > 0 && len([]rune(v)) > p.MaxChars {
				return nil, apiErr(400, "InvalidParameters", "Parameter %s exceeds the maximum length of %d characters.", p.Name, p.MaxChars)
			}
			if p.AllowedPattern != nil && !p.AllowedPattern.MatchString(v) {
				return nil, apiErr(400, "InvalidParameters", "Parameter \"%s\" \"%s\" failed to satisfy constraint: %s", p.Name, v, strings.TrimSuffix(strings.TrimPrefix(p.AllowedPattern.String(), "^(?:"), ")$"))
			}
			if len(p.AllowedValues) > 0 && !contains(p.AllowedValues, v) {
				return nil, apiErr(400, "InvalidParameters", "Parameter %s value %s is not one of the allowed values.", p.Name, v)
			}
		}
		eff[p.Name] = vals
	}
	return eff, nil
}

// buildSteps substitutes parameters into the document's steps.
func buildSteps(spec *docSpec, eff map[string][]string) []runStep {
	subst := func(s string) string {
		return reParamRef.ReplaceAllStringFunc(s, func(m string) string {
			name := reParamRef.FindStringSubmatch(m)[1]
			if v, ok := eff[name]; ok {
				return strings.Join(v, "\n")
			}
			return m
		})
	}
	var out []runStep
	for _, st := range spec.Steps {
		var lines []string
		for _, rc := range st.RunCommand {
			if m := reParamRef.FindStringSubmatch(strings.TrimSpace(rc)); m != nil && m[0] == strings.TrimSpace(rc) {
				if v, ok := eff[m[1]]; ok {
					lines = append(lines, v...)
					continue
				}
			}
			lines = append(lines, subst(rc))
		}
		timeout := 3600
		if ts := strings.TrimSpace(subst(st.TimeoutSeconds)); ts != "" {
			if n, err := strconv.Atoi(ts); err == nil && n > 0 {
				timeout = n
			}
		}
		out = append(out, runStep{
			Action: st.Action, Name: st.Name, ID: st.ID,
			Script: strings.Join(lines, "\n"), WorkingDirectory: subst(st.WorkingDirectory), TimeoutSeconds: timeout,
		})
	}
	return out
}

// sendCommandInput is SendCommand's request.
type sendCommandInput struct {
	InstanceIDs            []string            `json:"InstanceIds"`
	Targets                []ssmTarget         `json:"Targets"`
	DocumentName           string              `json:"DocumentName"`
	DocumentVersion        string              `json:"DocumentVersion"`
	DocumentHash           string              `json:"DocumentHash"`
	DocumentHashType       string              `json:"DocumentHashType"`
	TimeoutSeconds         *int                `json:"TimeoutSeconds"`
	Comment                string              `json:"Comment"`
	Parameters             map[string][]string `json:"Parameters"`
	OutputS3Region         string              `json:"OutputS3Region"`
	OutputS3BucketName     string              `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string              `json:"OutputS3KeyPrefix"`
	MaxConcurrency         string              `json:"MaxConcurrency"`
	MaxErrors              string              `json:"MaxErrors"`
	ServiceRoleArn         string              `json:"ServiceRoleArn"`
	NotificationConfig     json.RawMessage     `json:"NotificationConfig"`
	CloudWatchOutputConfig *cwOutputConfig     `json:"CloudWatchOutputConfig"`
}

func ssmSendCommand(e *Emulator, body []byte) (any, *APIError) {
	var in sendCommandInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if e.ssm.closed {
		return nil, apiErr(500, "InternalServerError", "The emulator is shutting down.")
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	doc, ver, eff, err := e.sendCommandDocumentLocked(&in)
	if err != nil {
		return nil, err
	}
	targetIDs, undeliverable, err := e.sendCommandTargetsLocked(&in)
	if err != nil {
		return nil, err
	}
	cmd := e.newCommandLocked(&in, doc, ver, eff, targetIDs, undeliverable)
	e.ssm.commands[cmd.ID] = cmd
	e.ssm.order = append(e.ssm.order, cmd)
	e.startCommandLocked(cmd)
	return map[string]any{"Command": e.commandOut(cmd)}, nil
}

// validate checks the request against the API model's constraints
// (ValidationException), in the model's member order, and returns the first
// violation.
func (in *sendCommandInput) validate() *APIError {
	if len(in.InstanceIDs) > 50 {
		return validationErr(strings.Join(in.InstanceIDs, ", "), "instanceIds", "Member must have length less than or equal to 50")
	}
	for _, id := range in.InstanceIDs {
		if !reInstanceID.MatchString(id) {
			return validationErr("["+strings.Join(in.InstanceIDs, ", ")+"]", "instanceIds", `Member must satisfy constraint: [Member must satisfy regular expression pattern: (^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)]`)
		}
	}
	if len(in.Targets) > 5 {
		return validationErr(len(in.Targets), "targets", "Member must have length less than or equal to 5")
	}
	for i, t := range in.Targets {
		if len(t.Key) < 1 || len(t.Key) > 163 {
			return lenErr(t.Key, fmt.Sprintf("targets.%d.member.key", i+1), 1, 163, len(t.Key))
		}
		if !reTargetKey.MatchString(t.Key) {
			return validationErr(t.Key, fmt.Sprintf("targets.%d.member.key", i+1), `Member must satisfy regular expression pattern: ^[\p{L}\p{Z}\p{N}_.:/=\-@]*$|resource-groups:ResourceTypeFilters|resource-groups:Name`)
		}
		if len(t.Values) > 50 {
			return lenErr(len(t.Values), fmt.Sprintf("targets.%d.member.values", i+1), 0, 50, len(t.Values))
		}
	}
	if !reDocumentARN.MatchString(in.DocumentName) {
		return validationErr(in.DocumentName, "documentName", `Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\-.:/]{3,128}$`)
	}
	if in.TimeoutSeconds != nil && (*in.TimeoutSeconds < 30 || *in.TimeoutSeconds > 2592000) {
		return rangeErr(*in.TimeoutSeconds, "timeoutSeconds", 30, 2592000)
	}
	if len([]rune(in.Comment)) > 100 {
		return validationErr(in.Comment, "comment", "Member must have length less than or equal to 100")
	}
	if in.MaxConcurrency != "" && (len(in.MaxConcurrency) > 7 || !reMaxConc.MatchString(in.MaxConcurrency)) {
		return validationErr(in.MaxConcurrency, "maxConcurrency", `Member must satisfy regular expression pattern: ^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`)
	}
	if in.MaxErrors != "" && (len(in.MaxErrors) > 7 || !reMaxErrors.MatchString(in.MaxErrors)) {
		return validationErr(in.MaxErrors, "maxErrors", `Member must satisfy regular expression pattern: ^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`)
	}
	if in.OutputS3BucketName != "" && (len(in.OutputS3BucketName) < 3 || len(in.OutputS3BucketName) > 63) {
		return lenErr(in.OutputS3BucketName, "outputS3BucketName", 3, 63, len(in.OutputS3BucketName))
	}
	if len(in.OutputS3KeyPrefix) > 500 {
		return validationErr(in.OutputS3KeyPrefix, "outputS3KeyPrefix", "Member must have length less than or equal to 500")
	}
	if in.CloudWatchOutputConfig != nil && len(in.CloudWatchOutputConfig.CloudWatchLogGroupName) > 512 {
		return validationErr(in.CloudWatchOutputConfig.CloudWatchLogGroupName, "cloudWatchOutputConfig.cloudWatchLogGroupName", "Member must have length less than or equal to 512")
	}
	if len(in.DocumentHash) > 256 {
		return validationErr(in.DocumentHash, "documentHash", "Member must have length less than or equal to 256")
	}
	if in.DocumentHashType != "" && in.DocumentHashType != "Sha256" && in.DocumentHashType != "Sha1" {
		return validationErr(in.DocumentHashType, "documentHashType", "Member must satisfy enum value set: [Sha256, Sha1]")
	}
	if in.DocumentVersion != "" && !reDocVersion.MatchString(in.DocumentVersion) {
		return apiErr(400, "InvalidDocumentVersion", "The document version is not valid or does not exist.")
	}
	return nil
}

// sendCommandDocumentLocked finds the Command document and version the request
// names, checks its hash, and returns the effective parameters (defaults applied).
func (e *Emulator) sendCommandDocumentLocked(in *sendCommandInput) (*ssmDocument, *ssmDocVersion, map[string][]string, *APIError) {
	doc := e.findDocLocked(in.DocumentName)
	if doc == nil || doc.DocumentType != "Command" {
		return nil, nil, nil, apiErr(400, "InvalidDocument", "Document %s does not exist or is not a Command document.", in.DocumentName)
	}
	ver, aerr := doc.version(in.DocumentVersion, "")
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	if in.DocumentHash != "" && in.DocumentHashType != "Sha1" && in.DocumentHash != ver.Hash {
		return nil, nil, nil, apiErr(400, "InvalidDocument", "The document hash does not match the document.")
	}
	eff, aerr := resolveParams(ver.spec, in.Parameters)
	if aerr != nil {
		return nil, nil, nil, aerr
	}
	return doc, ver, eff, nil
}

// sendCommandTargetsLocked checks the explicit instance ids and the output
// bucket, in that order, and resolves the targets to instance ids; the
// undeliverable ones get an invocation that fails at once.
func (e *Emulator) sendCommandTargetsLocked(in *sendCommandInput) (ids []string, undeliverable map[string]bool, _ *APIError) {
	if len(in.InstanceIDs) == 0 && len(in.Targets) == 0 {
		// GUESS: AWS documents Targets as required without instance ids but not the
		// error; a ValidationException is the most plausible answer.
		return nil, nil, apiErr(400, "ValidationException", "Either InstanceIds or Targets must be specified.")
	}
	if len(in.InstanceIDs) > 0 && len(in.Targets) > 0 {
		// GUESS: the two are mutually exclusive.
		return nil, nil, apiErr(400, "ValidationException", "InstanceIds and Targets cannot be specified together.")
	}
	seen := map[string]bool{}
	for _, id := range in.InstanceIDs {
		if seen[id] {
			return nil, nil, apiErr(400, "DuplicateInstanceId", "Instance %s is specified more than once.", id)
		}
		seen[id] = true
	}
	var bad []string
	for _, id := range in.InstanceIDs {
		inst := e.ec2.instances[id]
		if inst == nil || !validCommandTargetLocked(inst) {
			bad = append(bad, id)
		}
	}
	if len(bad) > 0 {
		return nil, nil, apiErr(400, "InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(bad, ", "), e.opts.AccountID)
	}
	if in.OutputS3BucketName != "" && !e.s3BucketExistsLocked(in.OutputS3BucketName) {
		return nil, nil, apiErr(400, "InvalidOutputFolder", "")
	}
	if len(in.Targets) > 0 {
		return e.resolveTargetsLocked(in.Targets)
	}
	return in.InstanceIDs, map[string]bool{}, nil
}

// newCommandLocked builds the command and its invocations, one per target, at
// Pending (Failed/Undeliverable for the undeliverable ones).
func (e *Emulator) newCommandLocked(in *sendCommandInput, doc *ssmDocument, ver *ssmDocVersion, eff map[string][]string, targetIDs []string, undeliverable map[string]bool) *ssmCommand {
	now := time.Now()
	timeout := defaultDeliveryTimeout
	if in.TimeoutSeconds != nil {
		timeout = *in.TimeoutSeconds
	}
	maxConcurrency, maxErrors := cmp.Or(in.MaxConcurrency, "50"), cmp.Or(in.MaxErrors, "0")
	steps := buildSteps(ver.spec, eff)
	execTotal := 0
	for _, st := range steps {
		execTotal += st.TimeoutSeconds
	}
	cmd := &ssmCommand{
		ID: newUUID(), DocName: doc.Name, DocVersion: requestedVersion(in.DocumentVersion), Comment: in.Comment,
		Params: in.Parameters, InstanceIDs: in.InstanceIDs, Targets: in.Targets, Requested: now,
		// ExpiresAfter: delivery timeout + execution timeout, in emulator (scaled) time
		// so that clients bounding their polling by it stay consistent with TimeScale.
		Expires:        now.Add(e.scaled(time.Duration(timeout+execTotal) * time.Second)),
		TimeoutSeconds: timeout, MaxConcurrency: maxConcurrency, MaxErrors: maxErrors,
		S3Bucket: in.OutputS3BucketName, S3Prefix: in.OutputS3KeyPrefix, S3Region: in.OutputS3Region,
		CW: in.CloudWatchOutputConfig, ServiceRole: in.ServiceRoleArn, Notification: in.NotificationConfig,
		steps: steps, visibleAt: now.Add(e.opts.InvocationVisibilityDelay),
		deadline: now.Add(e.scaled(time.Duration(timeout) * time.Second)),
		byInst:   map[string]*ssmInvocation{}, limit: 1, wake: make(chan struct{}, 1),
	}
	if cmd.Params == nil {
		cmd.Params = map[string][]string{}
	}
	if cmd.S3Bucket != "" && cmd.S3Region == "" {
		cmd.S3Region = e.opts.Region
	}
	if cmd.InstanceIDs == nil {
		cmd.InstanceIDs = []string{}
	}
	if cmd.Targets == nil {
		cmd.Targets = []ssmTarget{}
	}
	cmd.maxConc = parseRate(maxConcurrency, len(targetIDs), true)
	cmd.maxErr = parseRate(maxErrors, len(targetIDs), false)
	for _, id := range targetIDs {
		inv := &ssmInvocation{cmd: cmd, InstanceID: id, Status: "Pending", Details: detPending, ResponseCode: -1, cancelCh: make(chan struct{})}
		if inst := e.ec2.instances[id]; inst != nil {
			inv.InstanceName = inst.Tags["Name"]
		}
		if undeliverable[id] {
			inv.Status, inv.Details, inv.dispatched = "Failed", detUndeliverable, true
			inv.end = now
		}
		cmd.invs = append(cmd.invs, inv)
		cmd.byInst[id] = inv
	}
	if len(targetIDs) == 0 {
		cmd.noInstances = true
	}
	return cmd
}

// validCommandTargetLocked: an explicit instance id is accepted when its agent has
// registered and the instance is not shutting down or terminated (running,
// pending, stopping and stopped are "valid" per AWS).
func validCommandTargetLocked(inst *Instance) bool {
	if inst.RegisteredAt.IsZero() || !inst.AgentInstalled {
		return false
	}
	return inst.State != StateShuttingDown && inst.State != StateTerminated
}

// resolveTargetsLocked resolves Targets at send time. Tag targets match managed
// (registered, not stopped or terminated) instances; the keys are ANDed, the
// values of one key ORed. An InstanceIds target naming an instance that is not
// managed yields an Undeliverable invocation (GUESS, per the UG's "the managed
// node might not exist").
func (e *Emulator) resolveTargetsLocked(targets []ssmTarget) ([]string, map[string]bool, *APIError) {
	undeliverable := map[string]bool{}
	var idTargets []string
	var preds []func(*Instance) bool
	for _, t := range targets {
		t := t
		switch {
		case strings.EqualFold(t.Key, "InstanceIds"):
			for _, id := range t.Values {
				if !reInstanceID.MatchString(id) {
					return nil, nil, apiErr(400, "InvalidInstanceId", "Instance Id %s is not valid.", id)
				}
			}
			idTargets = append(idTargets, t.Values...)
		case strings.HasPrefix(t.Key, "tag:") && len(t.Key) > 4:
			k := t.Key[4:]
			preds = append(preds, func(inst *Instance) bool { v, ok := inst.Tags[k]; return ok && contains(t.Values, v) })
		case t.Key == "tag-key":
			preds = append(preds, func(inst *Instance) bool {
				for _, k := range t.Values {
					if _, ok := inst.Tags[k]; ok {
						return true
					}
				}
				return false
			})
		case t.Key == "resource-groups:Name":
			if len(t.Values) > 1 {
				return nil, nil, apiErr(400, "ValidationException", "Only one resource group name can be specified.")
			}
			// The emulator has no Resource Groups: a group resolves to no instances.
			preds = append(preds, func(*Instance) bool { return false })
		case t.Key == "resource-groups:ResourceTypeFilters":
			preds = append(preds, func(*Instance) bool { return true })
		default:
			// GUESS: an unsupported target key for Run Command.
			return nil, nil, apiErr(400, "ValidationException", "Target key %s is not supported for Run Command.", t.Key)
		}
	}
	var out []string
	if len(idTargets) > 0 {
		if len(preds) > 0 {
			return nil, nil, apiErr(400, "ValidationException", "InstanceIds targets cannot be combined with other target keys.")
		}
		seen := map[string]bool{}
		for _, id := range idTargets {
			if seen[id] {
				continue
			}
			seen[id] = true
			inst := e.ec2.instances[id]
			if inst == nil || !validCommandTargetLocked(inst) {
				undeliverable[id] = true
			}
			out = append(out, id)
		}
		return out, undeliverable, nil
	}
	for _, id := range e.ec2.order {
		inst := e.ec2.instances[id]
		if !ssmManagedLocked(inst) {
			continue
		}
		ok := true
		for _, p := range preds {
			if !p(inst) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, undeliverable, nil
}

// ---- aggregation ----

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

// ---- reads ----

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

// formatElapsed renders a duration like java.time.Duration.toString ("PT0.541S",
// "PT1H0.271S"), truncated to milliseconds.
func formatElapsed(d time.Duration) string {
	d = d.Truncate(time.Millisecond)
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("PT")
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h > 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if d > 0 || (h == 0 && m == 0) {
		s := strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		b.WriteString(s + "S")
	}
	return b.String()
}

func ssmGetCommandInvocation(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		CommandID  string `json:"CommandId"`
		InstanceID string `json:"InstanceId"`
		PluginName string `json:"PluginName"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := checkCommandID(in.CommandID); err != nil {
		return nil, err
	}
	if !reInstanceID.MatchString(in.InstanceID) {
		return nil, apiErr(400, "InvalidInstanceId", "Instance Id %s is not valid.", in.InstanceID)
	}
	c := e.ssm.commands[in.CommandID]
	if c == nil || time.Now().Before(c.visibleAt) {
		return nil, apiErr(400, "InvocationDoesNotExist", "")
	}
	inv := c.byInst[in.InstanceID]
	if inv == nil {
		return nil, apiErr(400, "InvocationDoesNotExist", "")
	}
	pluginName, stdoutURL, stderrURL := c.pluginName(), inv.stdoutURL, inv.stderrURL
	if in.PluginName != "" {
		step := -1
		for i, st := range c.steps {
			if st.Name == in.PluginName {
				step = i
			}
		}
		if step < 0 {
			return nil, apiErr(400, "InvalidPluginName", "")
		}
		pluginName = in.PluginName
		if c.S3Bucket != "" {
			stdoutURL, stderrURL = e.stepURL(inv, step, "stdout"), e.stepURL(inv, step, "stderr")
		}
	}
	stdout, stderr := inv.stepOutput(in.PluginName)
	out := map[string]any{
		"CommandId": c.ID, "InstanceId": inv.InstanceID, "Comment": c.Comment, "DocumentName": c.DocName,
		"DocumentVersion": c.DocVersion, "PluginName": pluginName, "ResponseCode": inv.ResponseCode,
		"ExecutionStartDateTime": isoTime(inv.start), "ExecutionElapsedTime": "", "ExecutionEndDateTime": "",
		"Status": inv.Status, "StatusDetails": inv.Details,
		"StandardOutputContent": "", "StandardOutputUrl": stdoutURL,
		"StandardErrorContent": "", "StandardErrorUrl": stderrURL,
		"CloudWatchOutputConfig": c.cwOut(),
	}
	if inv.terminal() {
		// The agent reports each stream cut at 24,000 bytes with its suffix; the
		// API documents StandardOutputContent as empty unless the status is Success
		// or Failed, and StandardErrorContent as the first 8,000 characters
		// (notes/aws-behaviour.md#agent-output).
		if inv.Status == "Success" || inv.Status == "Failed" {
			out["StandardOutputContent"] = agentPrefix(string(stdout), agentMaxOutput)
		}
		out["StandardErrorContent"] = truncRunes(agentPrefix(string(stderr), agentMaxOutput), maxStderrContent)
		if !inv.start.IsZero() {
			out["ExecutionEndDateTime"] = isoTime(inv.end)
			out["ExecutionElapsedTime"] = formatElapsed(inv.end.Sub(inv.start))
		}
	}
	return out, nil
}

func (c *ssmCommand) cwOut() cwOutputConfig {
	if c.CW == nil {
		return cwOutputConfig{}
	}
	return *c.CW
}

type cmdFilter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

var statusFilterValues = []string{"Pending", "InProgress", "Success", "Cancelled", "Failed", "TimedOut", "AccessDenied",
	"DeliveryTimedOut", "ExecutionTimedOut", "Incomplete", "NoInstancesInTag", "LimitExceeded", "Cancelling", "Delayed",
	"Undeliverable", "Terminated", "InvalidPlatform"}

// commandFilterPred builds predicates over (command, status, details).
func commandFilterPreds(filters []cmdFilter, forCommands bool) ([]func(c *ssmCommand, st, det string) bool, *APIError) {
	if len(filters) > 5 {
		return nil, validationErr(len(filters), "filters", "Member must have length less than or equal to 5")
	}
	var preds []func(c *ssmCommand, st, det string) bool
	for _, f := range filters {
		f := f
		if len(f.Value) < 1 || len(f.Value) > 128 {
			return nil, lenErr(f.Value, "filters.member.value", 1, 128, len(f.Value))
		}
		switch f.Key {
		case "InvokedAfter", "InvokedBefore":
			t, err := time.Parse(time.RFC3339, f.Value)
			if err != nil {
				return nil, apiErr(400, "ValidationException", "The filter value %s is not a valid ISO 8601 timestamp.", f.Value)
			}
			after := f.Key == "InvokedAfter"
			preds = append(preds, func(c *ssmCommand, _, _ string) bool {
				if after {
					return !c.Requested.Before(t)
				}
				return !c.Requested.After(t)
			})
		case "Status":
			if !contains(statusFilterValues, f.Value) {
				return nil, apiErr(400, "ValidationException", "The filter value %s is not valid for key Status.", f.Value)
			}
			preds = append(preds, func(_ *ssmCommand, st, det string) bool { return st == f.Value || det == f.Value })
		case "DocumentName":
			preds = append(preds, func(c *ssmCommand, _, _ string) bool { return c.DocName == f.Value })
		case "ExecutionStage":
			if !forCommands {
				return nil, apiErr(400, "InvalidFilterKey", "")
			}
			if f.Value != "Executing" && f.Value != "Complete" {
				return nil, apiErr(400, "ValidationException", "The filter value %s is not valid for key ExecutionStage.", f.Value)
			}
			preds = append(preds, func(c *ssmCommand, st, _ string) bool {
				complete := st != "Pending" && st != "InProgress" && st != "Cancelling"
				return complete == (f.Value == "Complete")
			})
		default:
			return nil, apiErr(400, "InvalidFilterKey", "")
		}
	}
	return preds, nil
}

// listInput is what ListCommands and ListCommandInvocations take alike.
type listInput struct {
	CommandID  string      `json:"CommandId"`
	InstanceID string      `json:"InstanceId"`
	MaxResults *int        `json:"MaxResults"`
	NextToken  string      `json:"NextToken"`
	Filters    []cmdFilter `json:"Filters"`
}

// validate checks the shared inputs and returns the page size, the offset the
// NextToken points at and the filters as predicates.
func (in *listInput) validate(e *Emulator, tokenKind string, forCommands bool) (int, int, []func(c *ssmCommand, st, det string) bool, *APIError) {
	max, start, aerr := ssmPageParams(in.MaxResults, 1, 50, 50, tokenKind, in.NextToken)
	if aerr != nil {
		return 0, 0, nil, aerr
	}
	if in.CommandID != "" {
		if err := checkCommandID(in.CommandID); err != nil {
			return 0, 0, nil, err
		}
		if e.ssm.commands[in.CommandID] == nil {
			return 0, 0, nil, apiErr(400, "InvalidCommandId", "")
		}
	}
	if in.InstanceID != "" && !reInstanceID.MatchString(in.InstanceID) {
		return 0, 0, nil, apiErr(400, "InvalidInstanceId", "Instance Id %s is not valid.", in.InstanceID)
	}
	preds, aerr := commandFilterPreds(in.Filters, forCommands)
	if aerr != nil {
		return 0, 0, nil, aerr
	}
	return max, start, preds, nil
}

func ssmListCommands(e *Emulator, body []byte) (any, *APIError) {
	var in listInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	max, start, preds, aerr := in.validate(e, "cmds", true)
	if aerr != nil {
		return nil, aerr
	}
	if in.InstanceID != "" {
		for _, f := range in.Filters {
			if f.Key == "Status" && f.Value == "Pending" {
				return nil, apiErr(400, "ValidationException", "InstanceId cannot be combined with the Status filter value Pending.")
			}
		}
	}
	var matched []commandOutJSON
	for i := len(e.ssm.order) - 1; i >= 0; i-- {
		c := e.ssm.order[i]
		if in.CommandID != "" && c.ID != in.CommandID {
			continue
		}
		if in.InstanceID != "" && c.byInst[in.InstanceID] == nil {
			continue
		}
		st, det := c.status()
		ok := true
		for _, p := range preds {
			if !p(c, st, det) {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, e.commandOut(c))
		}
	}
	out := map[string]any{"Commands": []commandOutJSON{}}
	if start < len(matched) {
		end := min(start+max, len(matched))
		out["Commands"] = matched[start:end]
		if end < len(matched) {
			out["NextToken"] = pageToken("cmds", end)
		}
	}
	return out, nil
}

type pluginOut struct {
	Name                   string    `json:"Name"`
	Status                 string    `json:"Status"`
	StatusDetails          string    `json:"StatusDetails"`
	ResponseCode           int       `json:"ResponseCode"`
	ResponseStartDateTime  epochTime `json:"ResponseStartDateTime"`
	ResponseFinishDateTime epochTime `json:"ResponseFinishDateTime"`
	Output                 string    `json:"Output"`
	StandardOutputURL      string    `json:"StandardOutputUrl"`
	StandardErrorURL       string    `json:"StandardErrorUrl"`
	OutputS3Region         string    `json:"OutputS3Region"`
	OutputS3BucketName     string    `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string    `json:"OutputS3KeyPrefix"`
}

// pluginOutput is the agent's combined Output: stdout, then stderr after a
// title, within 2,500 bytes (notes/aws-behaviour.md#agent-output).
func pluginOutput(stdout, stderr string) string {
	return agentPluginOutput(stdout, stderr, maxPluginOutput)
}

func (e *Emulator) invocationOut(inv *ssmInvocation, details bool) map[string]any {
	c := inv.cmd
	out := map[string]any{
		"CommandId": c.ID, "InstanceId": inv.InstanceID, "InstanceName": inv.InstanceName, "Comment": c.Comment,
		"DocumentName": c.DocName, "DocumentVersion": c.DocVersion, "RequestedDateTime": epochTime(c.Requested),
		"Status": inv.Status, "StatusDetails": inv.Details, "TraceOutput": "",
		"StandardOutputUrl": inv.stdoutURL, "StandardErrorUrl": inv.stderrURL,
		"CommandPlugins": []pluginOut{}, "ServiceRole": c.ServiceRole, "CloudWatchOutputConfig": c.cwOut(),
	}
	if len(c.Notification) > 0 {
		out["NotificationConfig"] = c.Notification
	}
	if details {
		p := pluginOut{
			Name: c.pluginName(), Status: inv.Status, StatusDetails: inv.Details, ResponseCode: inv.ResponseCode,
			ResponseStartDateTime: epochTime(inv.start), StandardOutputURL: inv.stdoutURL, StandardErrorURL: inv.stderrURL,
			OutputS3Region: c.S3Region, OutputS3BucketName: c.S3Bucket,
		}
		if p.Status == "Delayed" || p.Status == "Cancelling" {
			p.Status = "InProgress"
		}
		if inv.terminal() {
			p.ResponseFinishDateTime = epochTime(inv.end)
			p.Output = pluginOutput(string(inv.stdout), string(inv.stderr))
		}
		if c.S3Bucket != "" && len(c.steps) > 0 {
			p.OutputS3KeyPrefix = s3KeyJoin(c.S3Prefix, c.ID, inv.InstanceID, pluginDir(c.steps[0].Action))
		}
		out["CommandPlugins"] = []pluginOut{p}
	}
	return out
}

func ssmListCommandInvocations(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		listInput
		Details bool `json:"Details"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	max, start, preds, aerr := in.validate(e, "invs", false)
	if aerr != nil {
		return nil, aerr
	}
	now := time.Now()
	var matched []*ssmInvocation
	for i := len(e.ssm.order) - 1; i >= 0; i-- {
		c := e.ssm.order[i]
		if (in.CommandID != "" && c.ID != in.CommandID) || now.Before(c.visibleAt) {
			continue
		}
		for _, inv := range c.invs {
			if in.InstanceID != "" && inv.InstanceID != in.InstanceID {
				continue
			}
			ok := true
			for _, p := range preds {
				if !p(c, inv.Status, inv.Details) {
					ok = false
					break
				}
			}
			if ok {
				matched = append(matched, inv)
			}
		}
	}
	list := []map[string]any{}
	out := map[string]any{}
	if start < len(matched) {
		end := min(start+max, len(matched))
		for _, inv := range matched[start:end] {
			list = append(list, e.invocationOut(inv, in.Details))
		}
		if end < len(matched) {
			out["NextToken"] = pageToken("invs", end)
		}
	}
	out["CommandInvocations"] = list
	return out, nil
}

func ssmCancelCommand(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		CommandID   string   `json:"CommandId"`
		InstanceIDs []string `json:"InstanceIds"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	if err := checkCommandID(in.CommandID); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) > 50 {
		return nil, validationErr(len(in.InstanceIDs), "instanceIds", "Member must have length less than or equal to 50")
	}
	seen := map[string]bool{}
	for _, id := range in.InstanceIDs {
		if !reInstanceID.MatchString(id) {
			return nil, apiErr(400, "InvalidInstanceId", "Instance Id %s is not valid.", id)
		}
		if seen[id] {
			return nil, apiErr(400, "DuplicateInstanceId", "")
		}
		seen[id] = true
	}
	c := e.ssm.commands[in.CommandID]
	if c == nil {
		return nil, apiErr(400, "InvalidCommandId", "")
	}
	if c.done {
		return struct{}{}, nil // nothing left to cancel
	}
	var targets []*ssmInvocation
	if len(in.InstanceIDs) == 0 {
		c.cancelRequested = true
		targets = c.invs
	} else {
		for _, id := range in.InstanceIDs {
			// GUESS: ids that are not part of the command are ignored.
			if inv := c.byInst[id]; inv != nil {
				targets = append(targets, inv)
			}
		}
	}
	now := time.Now()
	for _, inv := range targets {
		if inv.terminal() {
			continue
		}
		if !inv.dispatched {
			e.finishInvocationLocked(inv, "Cancelled", detCancelled, -1, now)
			continue
		}
		inv.Status, inv.Details = "Cancelling", detCancelling
		inv.killLocked("cancel")
	}
	c.poke()
	return struct{}{}, nil
}

func (c *ssmCommand) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// requestedVersion is the DocumentVersion a command reports: what the caller
// asked for, "$DEFAULT" when nothing was (as real send-command output shows).
func requestedVersion(v string) string {
	if v == "" {
		return "$DEFAULT"
	}
	return v
}
