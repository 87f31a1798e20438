package awsemu

import "time"

// ListCommands and ListCommandInvocations.

type cmdFilter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

var statusFilterValues = []string{"Pending", "InProgress", "Success", "Cancelled", "Failed", "TimedOut", "AccessDenied",
	"DeliveryTimedOut", "ExecutionTimedOut", "Incomplete", "NoInstancesInTag", "LimitExceeded", "Cancelling", "Delayed",
	"Undeliverable", "Terminated", "InvalidPlatform"}

// commandFilterPreds builds predicates over (command, status, details).
func commandFilterPreds(filters []cmdFilter, forCommands bool) ([]func(c *ssmCommand, st, det string) bool, *APIError) {
	if len(filters) > 5 {
		return nil, validationErr(len(filters), "filters", "Member must have length less than or equal to 5")
	}
	var preds []func(c *ssmCommand, st, det string) bool
	for _, f := range filters {
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
	pageSize, start, aerr := ssmPageParams(in.MaxResults, 1, 50, 50, tokenKind, in.NextToken)
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
	return pageSize, start, preds, nil
}

func ssmListCommands(e *Emulator, body []byte) (any, *APIError) {
	var in listInput
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	pageSize, start, preds, aerr := in.validate(e, "cmds", true)
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
	// A ListLag fault leaves out the commands requested less than that ago.
	var listedBefore time.Time
	if f, ok := e.faultForLocked("ssm", "ListCommands"); ok && f.ListLag > 0 {
		listedBefore = time.Now().Add(-f.ListLag)
	}
	var matched []commandOutJSON
	for i := len(e.ssm.order) - 1; i >= 0; i-- {
		c := e.ssm.order[i]
		if in.CommandID != "" && c.ID != in.CommandID {
			continue
		}
		if !listedBefore.IsZero() && c.Requested.After(listedBefore) {
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
		end := min(start+pageSize, len(matched))
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
			p.Output = agentPluginOutput(string(inv.stdout), string(inv.stderr))
		}
		if c.S3Bucket != "" && len(c.steps) > 0 {
			p.OutputS3KeyPrefix = s3KeyJoin(c.S3Prefix, c.ID, inv.InstanceID, pluginDir(c.steps[0].Action))
		}
		out["CommandPlugins"] = []pluginOut{p}
		if len(c.steps) > 1 && inv.terminal() && len(inv.spans) > 0 {
			out["CommandPlugins"] = e.stepPlugins(inv)
		}
	}
	return out
}

// stepPlugins lists one plugin per step of a finished multi-step invocation,
// each with its own status, exit code, times and output, as the agent reports
// each plugin of the document (CommandInvocation.CommandPlugins: "A list of
// plugins returned by SendCommand for the command"; SDK model
// types.CommandPlugin.Name: "the name of the plugin, or the step name for
// SSM Command documents that are version 2.0 and later"). GUESS: steps that
// did not run (after a failed step) are left out.
func (e *Emulator) stepPlugins(inv *ssmInvocation) []pluginOut {
	c := inv.cmd
	var ps []pluginOut
	for _, sp := range inv.spans {
		st := c.steps[sp.step]
		so, se := inv.stdout[sp.so0:sp.so1], inv.stderr[sp.se0:sp.se1]
		p := pluginOut{
			Name: st.Name, Status: sp.status, StatusDetails: sp.details, ResponseCode: sp.code,
			ResponseStartDateTime: epochTime(sp.start), ResponseFinishDateTime: epochTime(sp.end),
			Output: agentPluginOutput(string(so), string(se)), OutputS3Region: c.S3Region, OutputS3BucketName: c.S3Bucket,
		}
		if c.S3Bucket != "" {
			p.StandardOutputURL, p.StandardErrorURL = e.stepURL(inv, sp.step, "stdout"), e.stepURL(inv, sp.step, "stderr")
			p.OutputS3KeyPrefix = s3KeyJoin(c.S3Prefix, c.ID, inv.InstanceID, pluginDir(st.Action))
		}
		ps = append(ps, p)
	}
	return ps
}

func ssmListCommandInvocations(e *Emulator, body []byte) (any, *APIError) {
	var in struct {
		listInput
		Details bool `json:"Details"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	pageSize, start, preds, aerr := in.validate(e, "invs", false)
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
		end := min(start+pageSize, len(matched))
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
