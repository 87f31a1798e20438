package runcommand_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// newEmulator starts an emulator for one test and returns SDK clients for it.
// adaptive gives the clients the SDK's adaptive retryer with 25 attempts and
// backoff capped at 2 s, for runs under heavy injected faults; otherwise the
// clients retry as emutest.Config does.
func newEmulator(t testing.TB, opts awsemu.Options, adaptive bool) (*awsemu.Emulator, runcommand.Clients) {
	t.Helper()
	e := emutest.Start(t, opts)
	cfg := emutest.Config(e)
	if adaptive {
		cfg.Retryer = func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = 25
					so.MaxBackoff = 2 * time.Second
				})
			})
		}
	}
	return e, runcommand.Clients{
		SSM: ssm.NewFromConfig(cfg),
		S3:  s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
	}
}

// sdkSSM and sdkS3 are plain SDK clients of e, for the calls the engine's
// client interfaces lack (documents, buckets, reading back).
func sdkSSM(e *awsemu.Emulator) *ssm.Client { return ssm.NewFromConfig(emutest.Config(e)) }

func sdkS3(e *awsemu.Emulator) *s3.Client {
	return s3.NewFromConfig(emutest.Config(e), func(o *s3.Options) { o.UsePathStyle = true })
}

func addReady(t testing.TB, e *awsemu.Emulator, n int, tags map[string]string) []string {
	t.Helper()
	ids, err := e.AddInstances(awsemu.InstanceSpec{Count: n, Ready: true, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	waitOnline(t, e, ids)
	return ids
}

// waitOnline waits until the emulator's agents for ids have registered.
func waitOnline(t testing.TB, e *awsemu.Emulator, ids []string) {
	t.Helper()
	emutest.Eventually(t, 30*time.Second, func() error {
		for _, id := range ids {
			if inst, _ := e.Instance(id); inst.PingStatus != awsemu.PingOnline {
				return fmt.Errorf("instance %s did not come online (ping status %q)", id, inst.PingStatus)
			}
		}
		return nil
	})
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func cmds(lines ...string) map[string][]string { return map[string][]string{"commands": lines} }
