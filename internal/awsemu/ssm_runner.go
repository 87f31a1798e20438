package awsemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The runner. Each command has a dispatcher goroutine that hands invocations to
// worker goroutines under the MaxConcurrency ramp (1, then doubling up to
// MaxConcurrency) and stops handing them out once errors exceed MaxErrors. A worker
// waits for the agent to be Online (until the delivery deadline), then for a slot
// of e.procSem (the host-wide process bound), then runs the steps as real
// processes in their own process group. Every state change happens under e.mu;
// nothing waits while holding it.

// startCommandLocked starts the dispatcher of a new command.
func (e *Emulator) startCommandLocked(c *ssmCommand) {
	if c.noInstances || e.ssm.closed {
		c.done = true
		return
	}
	s := e.ssm
	e.wg.Add(1)
	go e.dispatch(s, c)
}

func (e *Emulator) dispatch(s *ssmState, c *ssmCommand) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		if s.closed {
			e.mu.Unlock()
			return
		}
		now := time.Now()
		pastDeadline := !now.Before(c.deadline)
		allTerminal := true
		for _, inv := range c.invs {
			if inv.dispatched || inv.terminal() {
				if !inv.terminal() {
					allTerminal = false
				}
				continue
			}
			switch {
			case c.cancelRequested:
				e.finishInvocationLocked(inv, "Cancelled", detCancelled, -1, now)
			case c.errorsExceeded:
				// The documented pair: StatusDetails Terminated; the status enum has
				// no such value, so Status is Cancelled (GUESS on the Status).
				e.finishInvocationLocked(inv, "Cancelled", detTerminated, -1, now)
			case pastDeadline:
				e.finishInvocationLocked(inv, "TimedOut", detDeliveryTimedOut, -1, now)
			case c.running < c.limit:
				inv.dispatched = true
				c.running++
				e.wg.Add(1)
				go e.work(s, inv)
				allTerminal = false
			default:
				allTerminal = false
			}
		}
		if allTerminal {
			c.done = true
			e.mu.Unlock()
			return
		}
		wait := time.Until(c.deadline)
		e.mu.Unlock()
		if wait < time.Millisecond {
			wait = 50 * time.Millisecond // only dispatched ones are left
		}
		t := time.NewTimer(wait)
		select {
		case <-c.wake:
		case <-s.stopCh:
		case <-t.C:
		}
		t.Stop()
	}
}

// finishInvocationLocked makes an invocation terminal and updates its command.
func (e *Emulator) finishInvocationLocked(inv *ssmInvocation, status, details string, code int, now time.Time) {
	if inv.terminal() {
		return
	}
	c := inv.cmd
	inv.Status, inv.Details, inv.ResponseCode = status, details, code
	if inv.end.IsZero() {
		inv.end = now
	}
	if inv.dispatched {
		c.running--
		if c.limit < c.maxConc {
			c.limit = min(c.limit*2, c.maxConc)
		}
	}
	if details == detFailed || details == detExecutionTimedOut {
		c.errCount++
		if c.errCount > c.maxErr {
			c.errorsExceeded = true
		}
	}
	if !inv.start.IsZero() {
		e.uploadOutputLocked(inv)
	}
	c.poke()
}

func pluginDir(id string) string { return strings.ReplaceAll(id, ":", "") }

func s3KeyJoin(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			keep = append(keep, p)
		}
	}
	return path.Join(keep...)
}

// uploadOutputLocked writes the full output to S3 and CloudWatch Logs as the agent
// does, at <prefix>/<command>/<instance>/<plugin>/<step>/<stream>
// (notes/aws-behaviour.md#s3-output-keys). GUESS: the URL uses the regional
// path-style host form.
func (e *Emulator) uploadOutputLocked(inv *ssmInvocation) {
	c := inv.cmd
	if len(c.steps) == 0 {
		return
	}
	if c.S3Bucket != "" {
		// GUESS: the invocation's URLs are the first step's, reported even for
		// streams that were not uploaded.
		inv.stdoutURL, inv.stderrURL = e.stepURL(inv, 0, "stdout"), e.stepURL(inv, 0, "stderr")
	}
	// The agent creates (or finds) the log group once per run and stops
	// CloudWatch output when it cannot (ssm_agent_authz.go).
	cwOn := c.CW != nil && c.CW.CloudWatchOutputEnabled
	cwGroup := ""
	if cwOn {
		cwGroup = c.CW.CloudWatchLogGroupName
		if cwGroup == "" {
			cwGroup = "/aws/ssm/" + c.DocName
		}
		cwOn = e.agentMayUseLogGroupLocked(inv.InstanceID, cwGroup)
	}
	// Each step that ran has its own output (notes/aws-behaviour.md#s3-output-keys).
	for _, sp := range inv.spans {
		st := c.steps[sp.step]
		so, se := inv.stdout[sp.so0:sp.so1], inv.stderr[sp.se0:sp.se1]
		if c.S3Bucket != "" {
			// The agent uploads a stream only when it is not empty.
			base := stepKey(inv, sp.step)
			if len(so) > 0 && e.agentMayUploadLocked(inv.InstanceID, c.S3Bucket, base+"/stdout") {
				_ = e.s3PutObjectLocked(c.S3Bucket, base+"/stdout", so)
			}
			if len(se) > 0 && e.agentMayUploadLocked(inv.InstanceID, c.S3Bucket, base+"/stderr") {
				_ = e.s3PutObjectLocked(c.S3Bucket, base+"/stderr", se)
			}
		}
		if cwOn {
			stream := c.ID + "/" + inv.InstanceID + "/" + strings.ReplaceAll(st.Name, ":", "-")
			if len(so) > 0 && e.agentMayWriteStreamLocked(inv.InstanceID, cwGroup, stream+"/stdout") {
				e.logsPutLocked(cwGroup, stream+"/stdout", string(so))
			}
			if len(se) > 0 && e.agentMayWriteStreamLocked(inv.InstanceID, cwGroup, stream+"/stderr") {
				e.logsPutLocked(cwGroup, stream+"/stderr", string(se))
			}
		}
	}
}

// stepKey is the S3 folder of one step's output:
// <prefix>/<command>/<instance>/<plugin>/<step>, names without ':'.
func stepKey(inv *ssmInvocation, step int) string {
	c, st := inv.cmd, inv.cmd.steps[step]
	return s3KeyJoin(c.S3Prefix, c.ID, inv.InstanceID, pluginDir(st.Action), pluginDir(st.ID))
}

// stepURL is the S3 URL of one step's stream. GUESS: the regional path-style
// host form, under the partition's DNS suffix.
func (e *Emulator) stepURL(inv *ssmInvocation, step int, stream string) string {
	return fmt.Sprintf("https://s3.%s.%s/%s/%s/%s", e.opts.Region, partitionOf(e.opts.Region).dnsSuffix, inv.cmd.S3Bucket, stepKey(inv, step), stream)
}

// work delivers and runs one invocation. When the instance stops under the
// agent (hostDownLocked) nothing is reported; the invocation stays InProgress
// and is delivered again if the agent comes back before the command expires
// (the agent resumes in-progress documents), else it ends DeliveryTimedOut
// (notes/aws-behaviour.md#statuses).
func (e *Emulator) work(s *ssmState, inv *ssmInvocation) {
	defer e.wg.Done()
	deadline := inv.cmd.deadline
	for {
		platform, ok := e.deliver(s, inv, deadline)
		if !ok || e.runSteps(s, inv, platform) {
			return
		}
		deadline = inv.cmd.Expires
	}
}

// deliver waits for the agent to be Online, until deadline. ok is false when
// the invocation ended instead.
func (e *Emulator) deliver(s *ssmState, inv *ssmInvocation, deadline time.Time) (platform string, ok bool) {
	c := inv.cmd
	for {
		e.mu.Lock()
		if s.closed {
			e.mu.Unlock()
			return "", false
		}
		now := time.Now()
		if inv.cancelled || inv.terminal() {
			e.finishInvocationLocked(inv, "Cancelled", detCancelled, -1, now)
			e.mu.Unlock()
			return "", false
		}
		inst := e.ec2.instances[inv.InstanceID]
		if inst != nil && e.agentOnlineLocked(inst) {
			platform = inst.Platform
			if !stepsApply(c.steps, platform) {
				e.finishInvocationLocked(inv, "Failed", detInvalidPlatform, -1, now)
				e.mu.Unlock()
				return "", false
			}
			inv.Status, inv.Details = "InProgress", detInProgress
			inv.hostDown = false
			e.trackRunningLocked(inv, true)
			e.mu.Unlock()
			return platform, true
		}
		if !now.Before(deadline) {
			e.finishInvocationLocked(inv, "TimedOut", detDeliveryTimedOut, -1, now)
			e.mu.Unlock()
			return "", false
		}
		wait := min(time.Until(deadline), 25*time.Millisecond)
		e.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-inv.cancelCh:
		case <-s.stopCh:
		}
		t.Stop()
	}
}

// runSteps runs a delivered invocation's steps. It returns false when the
// instance went down under the agent (nothing reported, nothing kept).
func (e *Emulator) runSteps(s *ssmState, inv *ssmInvocation, platform string) bool {
	c := inv.cmd
	// 1. A host process slot.
	select {
	case e.procSem <- struct{}{}:
	case <-inv.cancelCh:
		// Received by the agent, cancelled before the plugin started: the plugin
		// reports Cancelled with exit code 1 (notes/aws-behaviour.md#agent-exit-codes).
		e.mu.Lock()
		e.trackRunningLocked(inv, false)
		e.finishInvocationLocked(inv, "Cancelled", detCancelled, 1, time.Now())
		e.mu.Unlock()
		return true
	case <-s.stopCh:
		return true
	}
	defer func() { <-e.procSem }()

	// 2. Run the steps.
	instDir := e.instanceDir(inv.InstanceID)
	orchDir := filepath.Join(e.opts.WorkDir, "ssm", inv.InstanceID, c.ID)
	defer os.RemoveAll(orchDir)
	stdout := &capBuf{max: maxKeptOutput}
	stderr := &capBuf{max: maxKeptOutput}
	e.mu.Lock()
	inv.start = time.Now()
	e.mu.Unlock()
	status, details, code := "Success", detSuccess, 0
	var spans []stepSpan
	for i, st := range c.steps {
		if !stepApplies(st, platform) {
			continue
		}
		e.mu.Lock()
		down, cancelled := inv.hostDown, inv.cancelled
		e.mu.Unlock()
		if down {
			break
		}
		if cancelled {
			// A later plugin sees the cancel flag before it starts (exit code 1).
			status, details, code = "Cancelled", detCancelled, 1
			break
		}
		sp := stepSpan{step: i, so0: len(stdout.b), se0: len(stderr.b), start: time.Now()}
		status, details, code = e.runStep(s, inv, st, instDir, orchDir, stdout, stderr)
		sp.so1, sp.se1 = len(stdout.b), len(stderr.b)
		sp.status, sp.details, sp.code, sp.end = status, details, code, time.Now()
		spans = append(spans, sp)
		if status != "Success" {
			break
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.trackRunningLocked(inv, false)
	if inv.hostDown {
		// The agent died with the instance: it reported and uploaded nothing.
		inv.start = time.Time{}
		return false
	}
	inv.stdout, inv.stderr, inv.spans = stdout.b, stderr.b, spans
	inv.end = time.Now()
	if !s.closed {
		e.finishInvocationLocked(inv, status, details, code, inv.end)
	}
	return true
}

func stepApplies(st runStep, platform string) bool {
	return st.Action != "aws:runShellScript" || platform != "Windows"
}

func stepsApply(steps []runStep, platform string) bool {
	for _, st := range steps {
		if stepApplies(st, platform) {
			return true
		}
	}
	return false
}

// runStep runs one plugin as a process and classifies the outcome.
func (e *Emulator) runStep(s *ssmState, inv *ssmInvocation, st runStep, instDir, orchDir string, stdout, stderr *capBuf) (string, string, int) {
	failed := func(msg string) (string, string, int) {
		_, _ = stderr.Write([]byte(msg + "\n"))
		return "Failed", detFailed, 1
	}
	var argv []string
	stepDir := filepath.Join(orchDir, pluginDir(st.Action), pluginDir(st.ID))
	if err := os.MkdirAll(stepDir, 0o755); err != nil {
		return failed("failed to create the orchestration directory: " + err.Error())
	}
	switch st.Action {
	case "aws:runShellScript":
		script := filepath.Join(stepDir, "_script.sh")
		if err := os.WriteFile(script, []byte(st.Script+"\n"), 0o700); err != nil {
			return failed("failed to write the script: " + err.Error())
		}
		argv = []string{"/bin/sh", script}
	case "aws:runPowerShellScript":
		pwsh, err := exec.LookPath("pwsh")
		if err != nil {
			return failed("pwsh not found on the emulator host: aws:runPowerShellScript needs PowerShell (pwsh) on PATH")
		}
		script := filepath.Join(stepDir, "_script.ps1")
		if err := os.WriteFile(script, []byte(st.Script+"\n"), 0o700); err != nil {
			return failed("failed to write the script: " + err.Error())
		}
		argv = []string{pwsh, "-NoProfile", "-NonInteractive", "-File", script}
	default:
		return failed(fmt.Sprintf("plugin %s is not supported by the emulator", st.Action))
	}
	dir := instDir
	if wd := st.WorkingDirectory; wd != "" {
		if !filepath.IsAbs(wd) {
			wd = filepath.Join(instDir, wd)
		}
		if fi, err := os.Stat(wd); err != nil || !fi.IsDir() {
			return failed(fmt.Sprintf("Invalid working directory: %s does not exist or is not a directory", st.WorkingDirectory))
		}
		dir = wd
	}
	p := os.Getenv("PATH")
	if p == "" {
		p = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + p, "HOME=" + instDir, "LANG=C.UTF-8",
		"AWS_SSM_INSTANCE_ID=" + inv.InstanceID, "AWS_SSM_REGION_NAME=" + e.opts.Region,
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A stray grandchild holding the pipes must not hang us. The real agent
	// writes a script's output to files and reports the shell's exit code, so
	// output still in flight when the delay ends does not fail the invocation
	// (see the ErrWaitDelay case below); 5 s leaves room for a loaded machine
	// to drain the pipes.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return failed("failed to run commands: " + err.Error())
	}
	s.procStarted()
	pid := cmd.Process.Pid
	e.mu.Lock()
	inv.pgid = pid
	if s.closed || inv.cancelled {
		if inv.killReason == "" {
			inv.killReason = "cancel"
		}
		killProcessGroup(pid)
	}
	e.mu.Unlock()
	timer := time.AfterFunc(e.scaled(time.Duration(st.TimeoutSeconds)*time.Second), func() {
		e.mu.Lock()
		if inv.pgid == pid {
			if inv.killReason == "" {
				inv.killReason = "timeout"
			}
			killProcessGroup(pid)
		}
		e.mu.Unlock()
	})
	err := cmd.Wait()
	timer.Stop()
	// Kill what the script left behind in its group (background jobs).
	killProcessGroup(pid)
	s.procEnded()
	e.mu.Lock()
	inv.pgid = 0
	reason := inv.killReason
	inv.killReason = ""
	e.mu.Unlock()
	switch reason {
	case "timeout":
		return "TimedOut", detExecutionTimedOut, agentPreemptedCode
	case "cancel", "closed":
		return "Cancelled", detCancelled, agentPreemptedCode
	case "hostdown":
		return "", "", 0
	}
	// Exit statuses as the agent on Unix maps them
	// (notes/aws-behaviour.md#agent-exit-codes).
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		// ErrWaitDelay alone means the shell exited 0 and something it left
		// behind still held its output (killed above with its group).
		return "Success", detSuccess, 0
	case errors.As(err, &ee):
		code := ee.ExitCode() // -1 when the shell was killed by a signal
		switch code {
		case 0:
			return "Success", detSuccess, 0
		case agentPreemptedCode:
			// Not cancelled by us, so the agent takes 137 for its own timeout kill.
			return "TimedOut", detExecutionTimedOut, agentPreemptedCode
		}
		agentFailedSuffix(stderr, err)
		return "Failed", detFailed, code
	}
	return failed("failed to run commands: " + err.Error())
}

// capBuf keeps the first max bytes written and discards the rest.
type capBuf struct {
	b   []byte
	max int
}

func (w *capBuf) Write(p []byte) (int, error) {
	if room := w.max - len(w.b); room > 0 {
		if len(p) > room {
			w.b = append(w.b, p[:room]...)
		} else {
			w.b = append(w.b, p...)
		}
	}
	return len(p), nil
}
