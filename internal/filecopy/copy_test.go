package filecopy_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

type env struct {
	e   *awsemu.Emulator
	c   filecopy.Clients
	s3  *s3.Client
	ids []string
}

func newEnv(t testing.TB, n int) *env {
	t.Helper()
	e := emutest.Start(t, awsemu.Options{})
	cfg := emutest.Config(e)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("staging")}); err != nil {
		t.Fatal(err)
	}
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: n, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	waitOnline(t, e, ids...)
	c := filecopy.NewClients(runcommand.Clients{SSM: ssm.NewFromConfig(cfg)}, s3c)
	return &env{e: e, c: c, s3: s3c, ids: ids}
}

// waitOnline waits until the agents of ids are Online.
func waitOnline(t testing.TB, e *awsemu.Emulator, ids ...string) {
	t.Helper()
	emutest.Eventually(t, 30*time.Second, func() error {
		for _, id := range ids {
			if inst, _ := e.Instance(id); inst.PingStatus != awsemu.PingOnline {
				return fmt.Errorf("%s not online (ping status %q)", id, inst.PingStatus)
			}
		}
		return nil
	})
}

func (v *env) objects(t testing.TB) []string {
	t.Helper()
	out, err := v.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("staging")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func randomFile(t testing.TB, size int) (string, string) {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.Read(b)
	p := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return p, hex.EncodeToString(s[:])
}

func fileSum(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func ctx(t testing.TB, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return c
}

// A 10 MB file is staged, downloaded by 3 instances (one presigned GET each),
// lands byte-exact with the requested mode, and the staged object is gone.
// Inline content lands too, without touching S3.
func TestCopy_stagedAndInline(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 3)
	src, want := randomFile(t, 10<<20)
	dest := filepath.Join(t.TempDir(), "opt", "big.bin")
	res, err := filecopy.Copy(ctx(t, 2*time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src},
		Destination: dest, Mode: "0750", StagingBucket: "staging", SHA256: want,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Staged || res.SHA256 != want || res.Size != 10<<20 || len(res.Run.Invocations) != 3 {
		t.Fatalf("result %+v", res)
	}
	if got := fileSum(t, dest); got != want {
		t.Errorf("sha256 on disk %s, want %s", got, want)
	}
	if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o750 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if n := v.e.CallCount("s3.GetObject"); n != 3 {
		t.Errorf("GetObject called %d times, want one per instance", n)
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}

	puts := v.e.CallCount("s3.PutObject")
	small := []byte("listen 8080\n")
	dest2 := filepath.Join(t.TempDir(), "app.conf")
	res, err = filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Data: small}, Destination: dest2, Mode: "0644",
	})
	if err != nil || res.Staged {
		t.Fatalf("inline: %v %+v", err, res)
	}
	if b, _ := os.ReadFile(dest2); string(b) != string(small) {
		t.Errorf("inline content %q", b)
	}
	if v.e.CallCount("s3.PutObject") != puts {
		t.Errorf("inline copy used S3")
	}
	sends := v.e.CallCount("ssm.SendCommand")
	_ = os.Remove(dest) // shared by the emulated instances: missing on all of them
	sums, _, err := filecopy.Verify(ctx(t, time.Minute), v.c, filecopy.Target{InstanceIDs: v.ids}, dest2, "", 0, filecopy.Reach{})
	if err != nil || len(sums) != 3 {
		t.Fatalf("verify: %v %v", sums, err)
	}
	for _, id := range v.ids {
		if sums[id] != res.SHA256 {
			t.Errorf("verify %s: %q, want %s", id, sums[id], res.SHA256)
		}
	}
	sums, _, err = filecopy.Verify(ctx(t, time.Minute), v.c, filecopy.Target{InstanceIDs: v.ids}, dest, "", 0, filecopy.Reach{})
	if err != nil || sums[v.ids[2]] != filecopy.Missing {
		t.Errorf("verify of a removed file: %v %v", sums, err)
	}
	if n := v.e.CallCount("ssm.SendCommand") - sends; n != 2 {
		t.Errorf("two verifies of 3 instances sent %d commands, want one each", n)
	}
}

// A download that fails (connection reset on every S3 GetObject) fails the
// run on every instance, leaves the previous file intact, and the staged object
// is deleted anyway.
func TestCopy_failedDownloadKeepsPreviousAndCleansUp(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	dest := filepath.Join(t.TempDir(), "f.bin")
	if err := os.WriteFile(dest, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.e.SetFault("s3.GetObject", awsemu.Fault{ResetRate: 1})
	src, _ := randomFile(t, 100<<10)
	_, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src}, Destination: dest, StagingBucket: "staging",
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 2 || !strings.Contains(err.Error(), "download of "+dest) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "previous" {
		t.Errorf("destination now %d bytes", len(b))
	}
	if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
		t.Errorf("temporary files left: %d entries", len(ents))
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}

// An interrupted copy (context cancelled while the instances download) deletes
// the staged object.
func TestCopy_interruptedCleansUp(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	v.e.SetFault("s3.GetObject", awsemu.Fault{Latency: 20 * time.Second})
	src, _ := randomFile(t, 100<<10)
	c, cancel := context.WithCancel(t.Context())
	time.AfterFunc(2*time.Second, cancel)
	_, err := filecopy.Copy(c, v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src},
		Destination: filepath.Join(t.TempDir(), "x"), StagingBucket: "staging",
	})
	var ce *runcommand.CancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}

// The presigned URL stops working after its expiry: the instances download
// after it expired (SendCommand delayed) and the copy fails.
func TestCopy_presignedURLExpires(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	v.e.SetFault("ssm.SendCommand", awsemu.Fault{Latency: 3 * time.Second})
	src, _ := randomFile(t, 100<<10)
	dest := filepath.Join(t.TempDir(), "x")
	_, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src},
		Destination: dest, StagingBucket: "staging", URLExpiry: time.Second,
	})
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "download of") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Errorf("destination written: %v", err)
	}

	// Directly: a presigned GET works before expiry and is refused after.
	if _, err := v.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("staging"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	req, err := v.c.Presign.PresignGetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String("staging"), Key: aws.String("k")}, s3.WithPresignExpires(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	get := func() int {
		resp, err := http.Get(req.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatalf("before expiry: %d", code)
	}
	time.Sleep(2100 * time.Millisecond) // wall time on purpose: the URL's 1 s expiry must pass
	if code := get(); code != 403 {
		t.Errorf("after expiry: %d, want 403", code)
	}
}

// Above the inline threshold without a bucket: a typed error before anything
// is sent; a payload changed since the plan: *ChangedError.
func TestCopy_errors(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	src, _ := randomFile(t, filecopy.DefaultInlineThreshold+1)
	_, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src}, Destination: "/tmp/x",
	})
	var ns *filecopy.NeedsStagingError
	if !errors.As(err, &ns) {
		t.Errorf("err = %v", err)
	}
	_, err = filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Data: []byte("a")}, Destination: "/tmp/x", SHA256: "00",
	})
	var ch *filecopy.ChangedError
	if !errors.As(err, &ch) {
		t.Errorf("err = %v", err)
	}
	if n := v.e.CallCount("ssm.SendCommand"); n != 0 {
		t.Errorf("SendCommand called %d times", n)
	}
}

// CleanupStaging deletes what a crashed apply left under the file's prefix,
// and nothing else.
func TestCleanupStaging(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	tg := filecopy.Target{InstanceIDs: v.ids}
	for _, k := range []string{filecopy.StagingKey("p/", "/etc/a", tg), filecopy.StagingKey("p/", "/etc/a", tg), "p/other"} {
		if _, err := v.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("staging"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := filecopy.CleanupStaging(ctx(t, time.Minute), v.c, "staging", "p/", "/etc/a", tg)
	if err != nil || n != 2 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	if keys := v.objects(t); len(keys) != 1 || keys[0] != "p/other" {
		t.Errorf("left: %v", keys)
	}
}

// On Windows the copy is sent as AWS-RunPowerShellScript with the PowerShell
// script (the emulator cannot run it without pwsh: the command and its
// parameters are checked as SSM received them, and the invocation fails
// saying why).
func TestCopy_windowsSendsPowerShell(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 0)
	ids, err := v.e.AddInstances(awsemu.InstanceSpec{Count: 1, Ready: true, Platform: "Windows"})
	if err != nil {
		t.Fatal(err)
	}
	waitOnline(t, v.e, ids...)
	data := []byte("[app]\r\nport=8080\r\n")
	res, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: ids}, Payload: filecopy.Payload{Data: data},
		Destination: `C:\ProgramData\App\app.ini`, Platform: filecopy.PlatformWindows,
	})
	if res == nil || res.Run == nil || len(res.Run.CommandIDs) != 1 {
		t.Fatalf("no command sent: %v", err)
	}
	ssmc := ssm.NewFromConfig(emutest.Config(v.e))
	out, lerr := ssmc.ListCommands(t.Context(), &ssm.ListCommandsInput{CommandId: aws.String(res.Run.CommandIDs[0])})
	if lerr != nil || len(out.Commands) != 1 {
		t.Fatalf("ListCommands: %v", lerr)
	}
	cmd := out.Commands[0]
	want := filecopy.PowerShellCommands(filecopy.ScriptParams{Destination: `C:\ProgramData\App\app.ini`, SHA256: res.SHA256,
		Inline: base64.StdEncoding.EncodeToString(data)})
	if aws.ToString(cmd.DocumentName) != "AWS-RunPowerShellScript" || strings.Join(cmd.Parameters["commands"], "\n") != strings.Join(want, "\n") {
		t.Errorf("sent %s with %d command lines, want AWS-RunPowerShellScript with the PowerShell script", aws.ToString(cmd.DocumentName), len(cmd.Parameters["commands"]))
	}
	if strings.Contains(strings.Join(cmd.Parameters["commands"], "\n"), "mktemp") {
		t.Errorf("the shell script was sent to Windows")
	}
	// The emulator host has no pwsh: the invocation fails and says so.
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "pwsh") {
		if _, lookErr := exec.LookPath("pwsh"); lookErr != nil {
			t.Errorf("err = %v, want the emulator's pwsh failure", err)
		}
	}
}

// A staged object swapped in the bucket after the upload (while SendCommand is
// slow) reaches the instances with the wrong bytes: the checksum check fails
// on every instance, naming it, and the previous file stays.
func TestCopy_checksumMismatchKeepsPrevious(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 2)
	dest := filepath.Join(t.TempDir(), "app.bin")
	if err := os.WriteFile(dest, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.e.SetFault("ssm.SendCommand", awsemu.Fault{Latency: 3 * time.Second})
	tampered := make(chan error, 1)
	go func() {
		// Once the payload is staged, swap it.
		tampered <- emutest.WaitFor(20*time.Second, func() error {
			out, err := v.s3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("staging")})
			if err != nil {
				return err
			}
			if len(out.Contents) == 0 {
				return errors.New("nothing staged")
			}
			_, err = v.s3.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String("staging"), Key: out.Contents[0].Key, Body: strings.NewReader("tampered")})
			return err
		})
	}()
	src, want := randomFile(t, 64<<10)
	_, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src}, Destination: dest, StagingBucket: "staging",
	})
	if terr := <-tampered; terr != nil {
		t.Fatalf("swapping the staged object: %v", terr)
	}
	var fe *runcommand.FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 2 {
		t.Fatalf("err = %v", err)
	}
	// With AWS's default MaxErrors of 0 the first failure may terminate the
	// invocations that have not started yet.
	mismatches := 0
	for _, inv := range fe.Failed {
		switch {
		case inv.ResponseCode == filecopy.ExitChecksum && strings.Contains(inv.Stderr, "checksum mismatch for "+dest+": expected "+want) && strings.Contains(inv.Stderr, inv.InstanceID):
			mismatches++
		case inv.StatusDetails == "Terminated":
		default:
			t.Errorf("%s: %s, exit %d, stderr %q", inv.InstanceID, inv.StatusDetails, inv.ResponseCode, inv.Stderr)
		}
	}
	if mismatches == 0 {
		t.Errorf("no invocation reported the checksum mismatch")
	}
	if b, _ := os.ReadFile(dest); string(b) != "previous" {
		t.Errorf("destination now %q", b)
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}

// A payload of exactly the inline threshold travels inline and lands; one
// byte more needs the bucket.
func TestCopy_inlineThreshold(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	data := make([]byte, filecopy.DefaultInlineThreshold)
	_, _ = rand.Read(data)
	dest := filepath.Join(t.TempDir(), "edge.bin")
	res, err := filecopy.Copy(ctx(t, time.Minute), v.c, filecopy.Spec{
		Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Data: data}, Destination: dest,
	})
	if err != nil || res.Staged {
		t.Fatalf("%v %+v", err, res)
	}
	if b, _ := os.ReadFile(dest); string(b) != string(data) {
		t.Errorf("content differs (%d bytes)", len(b))
	}
	if !filecopy.NeedsStaging(int64(len(data))+1, 0) || filecopy.NeedsStaging(int64(len(data)), 0) {
		t.Errorf("threshold off by one")
	}
}
