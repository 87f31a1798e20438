package filecopy_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// withAgents makes the env's clients check the agents before sending, as the
// provider's do.
func (v *env) withAgents() filecopy.Clients {
	cfg := emutest.Config(v.e)
	c := v.c
	c.Run.Agents = &agentwait.Clients{SSM: ssm.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg)}
	return c
}

// A staged URL is presigned after the agent wait, per command: an agent that
// comes online long after the copy started (here its agent is restarted 6 s
// in, while the copy waits up to a minute) still downloads with a URL whose
// whole lifetime (3 s, fixed for the test) is shorter than that wait. Had the
// URL been made before the wait, it would have expired (see
// TestCopy_presignedURLExpires for what an expired URL does).
func TestCopy_presignedAfterAgentWait(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	id := v.ids[0]
	if err := v.e.SetAgentStopped(id, true); err != nil {
		t.Fatal(err)
	}
	emutest.Eventually(t, 20*time.Second, func() error {
		if inst, _ := v.e.Instance(id); inst.PingStatus != awsemu.PingConnectionLost {
			return fmt.Errorf("agent never lost its connection (ping status %q)", inst.PingStatus)
		}
		return nil
	})
	const lifetime = 3 * time.Second
	restartAt := time.Now().Add(2 * lifetime)
	time.AfterFunc(time.Until(restartAt), func() { _ = v.e.SetAgentStopped(id, false) })
	src, want := randomFile(t, 100<<10)
	dest := filepath.Join(t.TempDir(), "late.bin")
	res, err := filecopy.Copy(ctx(t, 2*time.Minute), v.withAgents(), filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src}, Destination: dest,
		StagingBucket: "staging", URLExpiry: lifetime, AgentWaitTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(restartAt) {
		t.Fatal("the copy finished before the agent came back")
	}
	if got := fileSum(t, dest); got != want {
		t.Errorf("sha256 on disk %s, want %s", got, want)
	}
	if len(res.URLLifetimes) != 1 || res.URLLifetimes[0] != lifetime {
		t.Errorf("URL lifetimes %v, want one of %s", res.URLLifetimes, lifetime)
	}
	// The URL in the command was signed after the agent was back.
	cmd := commandOf(t, v, res.Run.CommandIDs[0])
	signed := urlSignedAt(t, cmd)
	if signed.Before(restartAt.Truncate(time.Second)) {
		t.Errorf("URL signed at %s, before the agent came back at %s", signed, restartAt)
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}

// commandOf is the command's script as SSM keeps it in its history.
func commandOf(t *testing.T, v *env, id string) string {
	t.Helper()
	out, err := ssm.NewFromConfig(emutest.Config(v.e)).ListCommands(t.Context(), &ssm.ListCommandsInput{CommandId: aws.String(id)})
	if err != nil || len(out.Commands) != 1 {
		t.Fatalf("ListCommands %s: %v", id, err)
	}
	return strings.Join(out.Commands[0].Parameters["commands"], "\n")
}

// urlSignedAt is the X-Amz-Date of the presigned URL in a script.
func urlSignedAt(t *testing.T, script string) time.Time {
	t.Helper()
	i := strings.Index(script, "_ssm_url=")
	if i < 0 {
		t.Fatalf("no URL in the script")
	}
	raw := strings.Trim(strings.SplitN(script[i+len("_ssm_url="):], "\n", 2)[0], "'")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse("20060102T150405Z", u.Query().Get("X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date of %s: %v", raw, err)
	}
	return at
}

// A secret is staged whatever its size: neither it, its base64 nor its sha256
// is in the command SSM keeps or its output, the Result holds no digest, the
// staged object is gone afterwards, and without a bucket it is refused before
// anything is sent.
func TestCopy_secretAlwaysStaged(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	secret := []byte("pw-0123456789abcdef!") // 20 bytes
	dest := filepath.Join(t.TempDir(), "secret")
	_, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Data: secret}, Destination: dest, Secret: true,
	})
	var ns *filecopy.NeedsStagingError
	if !errors.As(err, &ns) || !ns.Secret || v.e.CallCount("ssm.SendCommand") != 0 {
		t.Fatalf("without a bucket: %v", err)
	}
	res, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Data: secret}, Destination: dest, Secret: true,
		StagingBucket: "staging", Mode: "0600",
	})
	if err != nil || !res.Staged || res.SHA256 != "" {
		t.Fatalf("%v %+v", err, res)
	}
	if b, _ := os.ReadFile(dest); string(b) != string(secret) {
		t.Errorf("content %q", b)
	}
	if fi, _ := os.Stat(dest); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi)
	}
	script := commandOf(t, v, res.Run.CommandIDs[0])
	if !strings.Contains(script, "_ssm_want=") {
		t.Fatalf("no checksum in the command: the copy would not be checked:\n%s", script)
	}
	inv, err := ssm.NewFromConfig(emutest.Config(v.e)).GetCommandInvocation(t.Context(),
		&ssm.GetCommandInvocationInput{CommandId: aws.String(res.Run.CommandIDs[0]), InstanceId: aws.String(v.ids[0])})
	if err != nil || !strings.Contains(aws.ToString(inv.StandardOutputContent), "ssm_file: wrote") {
		t.Fatalf("output: %v %v", inv, err)
	}
	digest := sha256.Sum256(secret)
	for _, s := range []string{string(secret), base64.StdEncoding.EncodeToString(secret), hex.EncodeToString(digest[:]), base64.StdEncoding.EncodeToString(digest[:])} {
		if strings.Contains(script, s) {
			t.Errorf("the command holds the secret (%q)", s)
		}
		if strings.Contains(aws.ToString(inv.StandardOutputContent), s) {
			t.Errorf("the command's output holds the secret (%q)", s)
		}
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}

// The URL's lifetime: fixed when given, else the command's bound, shortened
// to the caller's deadline (plus the cleanup time), never under a minute.
func TestURLLifetime(t *testing.T) {
	if got := filecopy.URLLifetime(t.Context(), 5*time.Second); got != 5*time.Second {
		t.Errorf("fixed: %s", got)
	}
	if got := filecopy.URLLifetime(t.Context(), 0); got != filecopy.DefaultRunBound {
		t.Errorf("no deadline: %s", got)
	}
	c, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	if got := filecopy.URLLifetime(c, 0); got < 10*time.Minute || got > 10*time.Minute+filecopy.CleanupTimeout {
		t.Errorf("10m deadline: %s", got)
	}
	c2, cancel2 := context.WithTimeout(t.Context(), time.Second)
	defer cancel2()
	if got := filecopy.URLLifetime(c2, 0); got != filecopy.MinURLExpiry {
		t.Errorf("1s deadline: %s", got)
	}
}

// Removal: a terminated instance is dropped and never waited for; a stopped
// one fails the removal before anything is sent unless MaxUnreachable lets it
// be forgotten, and then the file goes from the others only.
func TestRemove_goneAndUnreachable(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 3)
	c := v.withAgents()
	dest := filepath.Join(t.TempDir(), "f")
	if err := v.e.SetInstanceState(v.ids[2], "terminated"); err != nil {
		t.Fatal(err)
	}
	if err := v.e.SetInstanceState(v.ids[1], "stopped"); err != nil {
		t.Fatal(err)
	}
	write := func() {
		if err := os.WriteFile(dest, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write()
	start := time.Now()
	_, err := filecopy.Remove(ctx(t, time.Minute), c, filecopy.Target{InstanceIDs: v.ids}, dest, "", 10*time.Minute, filecopy.Reach{MaxUnreachable: "0"})
	var ue *runcommand.UnreachableError
	if !errors.As(err, &ue) || len(ue.Unreachable) != 1 || ue.Unreachable[0].InstanceID != v.ids[1] {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("waited %s for a stopped and a terminated instance", time.Since(start))
	}
	if v.e.CallCount("ssm.SendCommand") != 0 {
		t.Errorf("something was sent")
	}
	if _, err := os.Stat(dest); err != nil {
		t.Errorf("the file was removed: %v", err)
	}
	res, err := filecopy.Remove(ctx(t, time.Minute), c, filecopy.Target{InstanceIDs: v.ids}, dest, "", 10*time.Minute, filecopy.Reach{MaxUnreachable: "100%"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Invocations) != 1 || res.Invocations[v.ids[0]] == nil {
		t.Errorf("removal ran on %d instances, want only %s", len(res.Invocations), v.ids[0])
	}
	gone := map[string]bool{}
	for _, sk := range res.NotReached {
		gone[sk.InstanceID] = sk.Gone
	}
	if g, ok := gone[v.ids[2]]; !ok || !g {
		t.Errorf("terminated instance not reported gone: %+v", res.NotReached)
	}
	if g, ok := gone[v.ids[1]]; !ok || g {
		t.Errorf("stopped instance not reported unreachable: %+v", res.NotReached)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("the file is still there: %v", err)
	}
}
