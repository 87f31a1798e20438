package runcommand_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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

// When the full output cannot be read from S3 (here every GetObject fails; in
// life the bucket was deleted during the run), the invocation says why its
// output is cut instead of cutting it silently.
func TestRun_s3ReadFailureIsReported(t *testing.T) {
	t.Parallel()
	e, c := newEmulator(t, awsemu.Options{}, false)
	ids := addReady(t, e, 1, nil)
	if _, err := sdkS3(e).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String("run-output")}); err != nil {
		t.Fatal(err)
	}
	e.SetFault("s3.GetObject", awsemu.Fault{ServerErrorRate: 1})
	res, err := runcommand.Run(ctxTimeout(t, time.Minute), c, runcommand.Spec{
		InstanceIDs: ids, OutputS3BucketName: "run-output", OutputLimit: 200_000,
		Parameters: cmds(bigOutputCommand(1000, "stdout")),
	})
	if err != nil {
		t.Fatal(err)
	}
	inv := res.Invocations[ids[0]]
	if !inv.StdoutTruncated || !strings.Contains(inv.OutputError, "s3://run-output/") || !strings.Contains(inv.OutputError, "HTTP 500") {
		t.Errorf("truncated %v, output error %q: want the failed S3 read named", inv.StdoutTruncated, inv.OutputError)
	}
}
