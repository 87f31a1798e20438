package emutest_test

import (
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
)

// Clients built from Config reach the emulator with its region and keys (SigV4
// is verified, so other keys would be refused), and the emulator closes when
// the test that started it ends.
func TestStartAndConfig(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("serve", func(t *testing.T) {
		e := emutest.Start(t, awsemu.Options{Region: "eu-west-3", AccountID: "111122223333", AccessKey: "AKIDEMUTEST", SecretKey: "emutest-secret"})
		u, err := url.Parse(e.URL())
		if err != nil || u.Scheme != "http" {
			t.Fatalf("URL %q: %v", e.URL(), err)
		}
		if host, _, _ := net.SplitHostPort(u.Host); host != "127.0.0.1" {
			t.Fatalf("URL %q is not on the loopback address", e.URL())
		}
		addr = u.Host
		cfg := emutest.Config(e)
		if cfg.Region != "eu-west-3" || aws.ToString(cfg.BaseEndpoint) != e.URL() {
			t.Errorf("config region %q, endpoint %q", cfg.Region, aws.ToString(cfg.BaseEndpoint))
		}
		ctx := t.Context()
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(id.Arn) != "arn:aws:iam::111122223333:root" {
			t.Errorf("caller %s, want the emulator's root user", aws.ToString(id.Arn))
		}
		s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("emutest"),
			CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraintEuWest3}}); err != nil {
			t.Fatal(err)
		}

		// Another emulator is another account on another port.
		other := emutest.Start(t, awsemu.Options{})
		if other.URL() == e.URL() {
			t.Fatalf("two emulators on %s", e.URL())
		}
		_, err = sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(other.URL()) }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidClientTokenId" {
			t.Errorf("keys of one emulator at the other: %v, want InvalidClientTokenId", err)
		}
	})
	if conn, err := net.Dial("tcp", addr); err == nil {
		_ = conn.Close()
		t.Fatalf("%s still accepts connections after the test ended", addr)
	}
}
