package awsemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/creack/pty"
)

// The agent's shell plugin (agent/session/shell/shell.go, shell_unix.go) for
// Standard_Stream (SSM-SessionManagerRunShell and other Session documents)
// and InteractiveCommands (AWS-StartInteractiveCommand) sessions: a real `sh`
// (or `sh -c <command>`) on a pty on the host, which is the simulated
// instance. No handshake: the client learns the session type from the first
// output. Before the shell starts the agent checks the logging preferences
// (validate in shell.go): a CloudWatch log group that must be KMS-encrypted,
// an S3 bucket that must be encrypted. RunAs: with runAsEnabled the shell runs
// as runAsDefaultUser, which must exist; otherwise as ssm-user.
// GUESS/limitation: the emulator creates no ssm-user; without one the shell
// runs as the emulator's own user.

const (
	cwEncryptionErrorMsg = "We couldn't start the session because encryption is not set up on the selected CloudWatch Logs log group. Either encrypt the log group or choose an option to enable logging without encryption."
	s3EncryptionErrorMsg = "We couldn't start the session because encryption is not set up on the selected Amazon S3 bucket. Either encrypt the bucket or choose an option to enable logging without encryption."
)

// shellLogging is what the agent decided about session logs before the shell started.
type shellLogging struct {
	s3, cw bool
}

func (c *dataChannel) checkLogging() (shellLogging, error) {
	s := c.sess
	p := s.prefs
	var out shellLogging
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.CWGroup != "" {
		// IsLogGroupPresent: DescribeLogGroups with the group name as prefix.
		g := e.logs.groups[p.CWGroup]
		present := g != nil && e.agentMayLocked(s.Target, "logs:DescribeLogGroups", e.logGroupARN(p.CWGroup))
		out.cw = present
		if present && p.CWEncryption && g.kmsKeyID == "" {
			return out, agentFailf("%s", cwEncryptionErrorMsg)
		}
	}
	if p.S3Bucket != "" {
		out.s3 = true
		if p.S3Encryption {
			// Every bucket has default encryption (SSE-S3) since January 2023;
			// reading it needs s3:GetEncryptionConfiguration.
			if _, ok := e.s3.buckets[p.S3Bucket]; !ok {
				return out, agentFailf("Couldn't start the session because we are unable to validate encryption on Amazon S3 bucket. Error: NoSuchBucket: The specified bucket does not exist")
			}
			if !e.agentMayLocked(s.Target, "s3:GetEncryptionConfiguration", "arn:"+e.partition()+":s3:::"+p.S3Bucket) {
				return out, agentFailf("Couldn't start the session because we are unable to validate encryption on Amazon S3 bucket. Error: AccessDenied: Access Denied")
			}
		}
	}
	return out, nil
}

func (c *dataChannel) runShell() error {
	s := c.sess
	logging, err := c.checkLogging()
	if err != nil {
		return err
	}
	var cmd *exec.Cmd
	if s.sessType == "InteractiveCommands" {
		command := ""
		if linux, ok := s.props["linux"].(map[string]any); ok {
			command, _ = linux["commands"].(string)
		}
		cmd = exec.Command("sh", "-c", command)
	} else {
		cmd = exec.Command("sh")
	}
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	if os.Getenv("LANG") == "" {
		cmd.Env = append(cmd.Env, "LANG=C.UTF-8")
	}
	c.e.mu.Lock()
	cmd.Dir = c.e.instanceDir(s.Target)
	c.e.mu.Unlock()
	_ = os.MkdirAll(cmd.Dir, 0o755)
	runAs := "ssm-user"
	if s.prefs.RunAsEnabled {
		runAs = strings.TrimSpace(s.prefs.RunAsUser)
		if runAs == "" {
			return errors.New("please set the RunAs default user")
		}
	}
	if u, err := user.Lookup(runAs); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		}
		cmd.Env = append(cmd.Env, "HOME="+u.HomeDir, "USER="+runAs)
	} else if s.prefs.RunAsEnabled {
		return fmt.Errorf("failed to start pty since RunAs user %s does not exist", runAs)
	}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 80})
	if err != nil {
		return agentFailf("Unable to start shell: %v", err)
	}
	var transcript bytes.Buffer
	var tmu sync.Mutex
	c.setHandler(func(m *dcMessage) error {
		switch m.PayloadType {
		case ptOutput:
			_, _ = f.Write(m.Payload)
		case ptSize:
			var sz struct {
				Cols uint16 `json:"cols"`
				Rows uint16 `json:"rows"`
			}
			if json.Unmarshal(m.Payload, &sz) == nil && sz.Cols > 0 && sz.Rows > 0 {
				_ = pty.Setsize(f, &pty.Winsize{Rows: sz.Rows, Cols: sz.Cols})
			}
		case ptFlag:
			if readFlag(m.Payload) == flagTerminateSession {
				go c.end(sessTerminated, "")
			}
		}
		return nil
	})
	if s.sessType == "Standard_Stream" && s.prefs.ShellProfileLinux != "" {
		_, _ = f.Write([]byte(s.prefs.ShellProfileLinux + "\n"))
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, dcPacketSize)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				tmu.Lock()
				transcript.Write(buf[:n])
				tmu.Unlock()
				if c.send(ptOutput, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	waitDone := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
		<-readDone
	case <-c.done:
		_ = cmd.Process.Kill()
		<-waitDone
	}
	_ = f.Close()
	tmu.Lock()
	log := cleanTranscript(transcript.Bytes())
	tmu.Unlock()
	c.writeSessionLog(logging, log)
	c.end(sessTerminated, "")
	return nil
}

// cleanTranscript drops carriage returns and terminal escape sequences, as the
// agent's log file (written with control characters removed) has none.
func cleanTranscript(b []byte) []byte {
	var out bytes.Buffer
	for i := 0; i < len(b); i++ {
		ch := b[i]
		switch {
		case ch == 0x1b: // ESC [ ... final byte
			if i+1 < len(b) && b[i+1] == '[' {
				i += 2
				for i < len(b) && (b[i] < 0x40 || b[i] > 0x7e) {
					i++
				}
			} else {
				i++
			}
		case ch == '\r':
		case ch == '\n' || ch == '\t' || ch >= 0x20:
			out.WriteByte(ch)
		}
	}
	return out.Bytes()
}

// writeSessionLog uploads the transcript to S3 (<prefix>/<session id>.log) and
// CloudWatch Logs (stream <session id>), each when the instance role allows it.
func (c *dataChannel) writeSessionLog(l shellLogging, log []byte) {
	s := c.sess
	p := s.prefs
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if l.s3 {
		key := s.ID + ".log"
		if pre := strings.Trim(p.S3Prefix, "/"); pre != "" {
			key = pre + "/" + key
		}
		if e.agentMayUploadLocked(s.Target, p.S3Bucket, key) && e.s3PutObjectLocked(p.S3Bucket, key, log) == nil {
			s.S3URL = fmt.Sprintf("https://s3.%s.amazonaws.com/%s/%s", e.opts.Region, p.S3Bucket, key)
		}
	}
	if l.cw && len(log) > 0 && e.agentMayWriteStreamLocked(s.Target, p.CWGroup, s.ID) {
		e.logsPutLocked(p.CWGroup, s.ID, string(log))
		s.CWURL = fmt.Sprintf("https://console.aws.amazon.com/cloudwatch/home?region=%s#logEventViewer:group=%s;stream=%s", e.opts.Region, p.CWGroup, s.ID)
	}
}
