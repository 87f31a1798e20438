package runcommand

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
)

// bucketChecker is implemented by S3 clients that can check a bucket exists.
type bucketChecker interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// ErrOutputBucketMissing: the output bucket does not exist (SendCommand's
// InvalidOutputFolder, which AWS sends without a message).
var ErrOutputBucketMissing = errors.New("the output S3 bucket does not exist")

// checkOutputBucket makes sure the output bucket exists before anything is
// sent. Only a definite "no such bucket" fails: a bucket the provider's
// credentials may not see (403) can still be writable by the instances.
// See notes/aws-behaviour.md#sendcommand.
func checkOutputBucket(ctx context.Context, c Clients, spec Spec) error {
	hb, ok := c.S3.(bucketChecker)
	if spec.OutputS3BucketName == "" || !ok || hb == nil {
		return nil
	}
	_, err := hb.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(spec.OutputS3BucketName)})
	switch code := errorCode(err); {
	case err == nil:
		return nil
	case code == "NotFound" || code == "NoSuchBucket":
		return fmt.Errorf("%w: S3 has no bucket %q (HeadBucket: %s)", ErrOutputBucketMissing, spec.OutputS3BucketName, code)
	}
	return nil
}

// explainSendError gives words to SendCommand errors AWS sends without text.
func explainSendError(err error, spec Spec) error {
	if errorCode(err) == "InvalidOutputFolder" {
		return &explainedError{err: err, msg: fmt.Sprintf("%v: SendCommand answered InvalidOutputFolder for bucket %q (HTTP %d)",
			ErrOutputBucketMissing, spec.OutputS3BucketName, awsclient.HTTPStatus(err))}
	}
	return err
}

// explainedError replaces an AWS error's empty text; errors.Is/As still find
// the AWS error and ErrOutputBucketMissing.
type explainedError struct {
	err error
	msg string
}

func (e *explainedError) Error() string   { return e.msg }
func (e *explainedError) Unwrap() []error { return []error{e.err, ErrOutputBucketMissing} }

// s3ReadError says why the full output could not be read from S3 (the bucket
// deleted during the run, access denied, ...): the output stays cut at the API's
// cap.
func s3ReadError(bucket, key string, err error) string {
	return fmt.Sprintf("reading s3://%s/%s failed (%s), so the output is cut at the API's limit", bucket, key, awsclient.Cause(err))
}
