package awsemu

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// GetCommandInvocation.

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
	d %= time.Hour
	m := d / time.Minute
	d %= time.Minute
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
