package awsemu

import "fmt"

// What the simulated SSM agent does with a plugin's output and exit status, as
// the real agent does it (notes/aws-behaviour.md#agent-output and
// #agent-exit-codes).

const (
	// agentMaxOutput is the agent's cut of both streams it reports per plugin: it
	// applies MaxStdoutLength to stderr too.
	agentMaxOutput = 24000
	// agentTruncSuffix ends a stream the agent cut.
	agentTruncSuffix = "--output truncated--"
	// Markers of the plugin Output (ListCommandInvocations Details).
	agentErrTitle      = "\n----------ERROR-------\n"
	agentTruncOut      = "\n---Output truncated---"
	agentTruncErr      = "\n---Error truncated----"
	agentPreemptedCode = 137 // CommandStoppedPreemptivelyExitCode on Unix
)

// agentPrefix is the agent's StringPrefix: a string of maxLength bytes or more
// is cut to maxLength bytes, its last len(suffix) bytes being the suffix. The
// cut is in bytes and may split a UTF-8 sequence (the JSON encoder then writes
// U+FFFD for the stray bytes, as the agent's encoder does).
func agentPrefix(s string, maxLength int) string {
	if len(s) < maxLength {
		return s
	}
	if maxLength > len(agentTruncSuffix) {
		return s[:maxLength-len(agentTruncSuffix)] + agentTruncSuffix
	}
	return agentTruncSuffix[:maxLength]
}

// agentPluginOutput is the agent's TruncateOutput, which makes a plugin's
// combined Output: stdout, then stderr after a title, within maxPluginOutput
// (2,500) bytes, with a marker after a cut stream
// (notes/aws-behaviour.md#agent-output).
func agentPluginOutput(stdout, stderr string) string {
	const capacity = maxPluginOutput
	title := ""
	if len(stderr) > 0 {
		title = agentErrTitle
	}
	avail := capacity - len(title)
	switch {
	case len(stdout)+len(stderr) < avail:
		return stdout + title + stderr
	case len(stdout) > avail/2 && len(stderr) > avail/2:
		n := (avail - len(agentTruncErr) - len(agentTruncOut)) / 2
		return stdout[:n] + agentTruncOut + title + stderr[:n] + agentTruncErr
	case len(stdout) <= avail/2:
		n := avail - len(agentTruncErr) - len(stdout)
		return stdout + title + stderr[:n] + agentTruncErr
	}
	n := avail - len(agentTruncOut) - len(stderr)
	return stdout[:n] + agentTruncOut + title + stderr
}

// agentFailedSuffix is what the agent appends to stderr when the shell ended
// with an error it does not classify as cancelled or timed out
// (MarkAsFailed("failed to run commands: <exec error>")).
func agentFailedSuffix(stderr *capBuf, execErr error) {
	_, _ = fmt.Fprintf(stderr, "failed to run commands: %v", execErr)
}

// hostDownLocked is called when an instance leaves the running state: its agent
// dies with it and reports nothing, so every invocation it was running is cut
// off (its processes killed) and left InProgress. The worker then waits for the
// agent to come back (the agent resumes in-progress documents) or for the
// command to expire (DeliveryTimedOut).
func (e *Emulator) hostDownLocked(inst *Instance) {
	for inv := range inst.running {
		inv.hostDown = true
		if inv.pgid != 0 {
			if inv.killReason == "" {
				inv.killReason = "hostdown"
			}
			killProcessGroup(inv.pgid)
		}
	}
}

// trackRunningLocked records (on) or forgets an invocation the instance's agent
// has received.
func (e *Emulator) trackRunningLocked(inv *ssmInvocation, on bool) {
	inst := e.ec2.instances[inv.InstanceID]
	if inst == nil {
		return
	}
	if on {
		if inst.running == nil {
			inst.running = map[*ssmInvocation]struct{}{}
		}
		inst.running[inv] = struct{}{}
		return
	}
	delete(inst.running, inv)
}
