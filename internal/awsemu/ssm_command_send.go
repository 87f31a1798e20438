package awsemu

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SendCommand: validation, the document and its parameters, the targets, and
// the command with its invocations.

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

// requestedVersion is the DocumentVersion a command reports: what the caller
// asked for, "$DEFAULT" when nothing was (as real send-command output shows).
func requestedVersion(v string) string {
	if v == "" {
		return "$DEFAULT"
	}
	return v
}
