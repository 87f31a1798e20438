package emutest_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

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

// WaitFor returns once the condition holds, and with the condition's last error
// when it never does within the bound.
func TestWaitFor(t *testing.T) {
	t.Parallel()
	calls := 0
	if err := emutest.WaitFor(time.Minute, func() error {
		if calls++; calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	}); err != nil || calls != 3 {
		t.Fatalf("WaitFor = %v after %d calls, want nil after 3", err, calls)
	}
	errNever := errors.New("never")
	start := time.Now()
	err := emutest.WaitFor(20*time.Millisecond, func() error { return errNever })
	if !errors.Is(err, errNever) || !strings.Contains(err.Error(), "after 20ms") {
		t.Fatalf("WaitFor on a condition that never holds = %v, want its error and the bound", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("WaitFor gave up after %s, before its 20ms bound", waited)
	}
}
