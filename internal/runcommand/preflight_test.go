package runcommand_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// A missing output bucket is found with HeadBucket before anything is sent;
// without an S3 client, SendCommand's bare InvalidOutputFolder gets words.
func TestRun_missingOutputBucket(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	spec := runcommand.Spec{InstanceIDs: ids, Parameters: cmds("true"), OutputS3BucketName: "no-such-bucket"}

	_, err := runcommand.Run(ctxTimeout(t, time.Minute), c, spec)
	if !errors.Is(err, runcommand.ErrOutputBucketMissing) || !strings.Contains(err.Error(), `"no-such-bucket"`) {
		t.Fatalf("err = %v, want the missing bucket named", err)
	}
	if n := e.CallCount("ssm.SendCommand"); n != 0 {
		t.Errorf("SendCommand called %d times for a missing bucket", n)
	}

	_, err = runcommand.Run(ctxTimeout(t, time.Minute), runcommand.Clients{SSM: c.SSM}, spec)
	if !errors.Is(err, runcommand.ErrOutputBucketMissing) || !strings.Contains(err.Error(), "InvalidOutputFolder") ||
		strings.HasSuffix(strings.TrimSpace(err.Error()), ":") {
		t.Fatalf("err = %v, want InvalidOutputFolder explained", err)
	}
}
