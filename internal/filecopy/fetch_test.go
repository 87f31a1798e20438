package filecopy_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// A 5 KB text file comes back in the command's output (no S3 call); a 5 MB
// binary file and a small secret come back through the staging bucket (one
// PUT by the instance, one GET by the engine) byte-exact, and the staged
// objects are gone afterwards.
func TestFetch_inlineAndStaged(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	id := v.ids[0]
	dir := t.TempDir()
	text := bytes.Repeat([]byte("apiVersion: v1 # kubeconfig line\n"), 5000/33+1)[:5000]
	bin := make([]byte, 5<<20)
	_, _ = rand.Read(bin)
	if err := os.WriteFile(filepath.Join(dir, "small.txt"), text, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), bin, 0o600); err != nil {
		t.Fatal(err)
	}

	got, err := filecopy.Fetch(ctx(t, time.Minute), v.c, filecopy.FetchSpec{InstanceID: id, Path: filepath.Join(dir, "small.txt"), StagingBucket: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, text) || got.Staged || got.Size != 5000 || got.SHA256 != sha(text) || got.CommandID == "" {
		t.Fatalf("small: staged %v, size %d, sha %s, %d bytes", got.Staged, got.Size, got.SHA256, len(got.Data))
	}
	if n := v.e.CallCount("s3.PutObject") + v.e.CallCount("s3.GetObject"); n != 0 {
		t.Errorf("a small file made %d S3 object calls, want 0", n)
	}

	got, err = filecopy.Fetch(ctx(t, 2*time.Minute), v.c, filecopy.FetchSpec{InstanceID: id, Path: filepath.Join(dir, "big.bin"), StagingBucket: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, bin) || !got.Staged || got.Size != 5<<20 || got.SHA256 != sha(bin) || got.URLLifetime <= 0 {
		t.Fatalf("big: staged %v, size %d, sha %s", got.Staged, got.Size, got.SHA256)
	}
	if p, g := v.e.CallCount("s3.PutObject"), v.e.CallCount("s3.GetObject"); p != 1 || g != 1 {
		t.Errorf("PutObject %d, GetObject %d; want one each", p, g)
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}

	got, err = filecopy.Fetch(ctx(t, time.Minute), v.c, filecopy.FetchSpec{InstanceID: id, Path: filepath.Join(dir, "small.txt"), StagingBucket: "staging", Secret: true})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, text) || !got.Staged {
		t.Fatalf("secret: staged %v, %d bytes", got.Staged, len(got.Data))
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}

// What is wrong with the file comes back as a *FetchError naming the path and
// the instance; a large file without a staging bucket says to set one; a
// secret without a bucket is refused before anything is sent.
func TestFetch_errors(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	id := v.ids[0]
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(big, make([]byte, 20000), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec filecopy.FetchSpec
		kind string
	}{
		{filecopy.FetchSpec{Path: filepath.Join(dir, "missing.conf")}, filecopy.FetchKindMissing},
		{filecopy.FetchSpec{Path: dir}, filecopy.FetchKindDirectory},
		{filecopy.FetchSpec{Path: big}, filecopy.FetchKindNoStaging},
		{filecopy.FetchSpec{Path: big, MaxSize: 1000, StagingBucket: "staging"}, filecopy.FetchKindTooLarge},
	} {
		tc.spec.InstanceID = id
		_, err := filecopy.Fetch(ctx(t, time.Minute), v.c, tc.spec)
		var fe *filecopy.FetchError
		if !errors.As(err, &fe) || fe.Kind != tc.kind || !strings.Contains(err.Error(), tc.spec.Path) || !strings.Contains(err.Error(), id) {
			t.Errorf("%s: %v; want a %q FetchError naming path and instance", tc.spec.Path, err, tc.kind)
		}
	}
	sent := v.e.CallCount("ssm.SendCommand")
	_, err := filecopy.Fetch(ctx(t, time.Minute), v.c, filecopy.FetchSpec{InstanceID: id, Path: big, Secret: true})
	var ns *filecopy.NeedsStagingError
	if !errors.As(err, &ns) || v.e.CallCount("ssm.SendCommand") != sent {
		t.Errorf("secret without bucket: %v", err)
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}

// An instance whose agent cannot receive the command fails before anything
// is sent, with runcommand's error (the engine checks agents when the
// clients carry an agent checker; here the stopped instance is not managed).
func TestFetch_unreachable(t *testing.T) {
	t.Parallel()
	v := newEnv(t, 1)
	c := v.withAgents()
	if err := v.e.SetInstanceState(v.ids[0], "stopped"); err != nil {
		t.Fatal(err)
	}
	_, err := filecopy.Fetch(ctx(t, time.Minute), c, filecopy.FetchSpec{InstanceID: v.ids[0], Path: "/etc/hostname", StagingBucket: "staging"})
	var ue *runcommand.UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), v.ids[0]) {
		t.Fatalf("stopped: %v; want an UnreachableError naming the instance", err)
	}
	if err := v.e.SetInstanceState(v.ids[0], "terminated"); err != nil {
		t.Fatal(err)
	}
	_, err = filecopy.Fetch(ctx(t, time.Minute), c, filecopy.FetchSpec{InstanceID: v.ids[0], Path: "/etc/hostname", StagingBucket: "staging"})
	var fe *filecopy.FetchError
	if !errors.As(err, &fe) || fe.Kind != filecopy.FetchKindUnreachable || !strings.Contains(err.Error(), v.ids[0]) {
		t.Fatalf("terminated: %v; want an unreachable FetchError naming the instance", err)
	}
	if n := v.e.CallCount("ssm.SendCommand"); n != 0 {
		t.Errorf("SendCommand called %d times, want 0", n)
	}
	if keys := v.objects(t); len(keys) != 0 {
		t.Errorf("staged objects left: %v", keys)
	}
}
