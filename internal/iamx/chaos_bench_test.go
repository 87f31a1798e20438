package iamx_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsclient"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/iamx"
)

// Run with: go test -run '^$' -bench Chaos -benchtime 1x ./internal/iamx
// (make bench). Figures come from the emulator's call counters.

// BenchmarkChaosIdentity: create a role and an instance profile and associate
// it with 60 instances (10 at a time, Terraform's default parallelism), with
// the provider's own clients (internal/awsclient: the default retry mode
// "standard", or "adaptive"), fault-free and under chaos on every service (30%
// throttling, 5% 5xx, 5% resets, 5% lost responses). roles, profiles and
// associations are what the emulator holds afterwards: 1, 1 and 60, or
// something was created twice.
func BenchmarkChaosIdentity(b *testing.B) {
	defer func(d time.Duration) { iamx.ProfileReadyDelay = d }(iamx.ProfileReadyDelay)
	iamx.ProfileReadyDelay = 0 // the same fixed wait in both cases: left out
	chaos := awsemu.Fault{ThrottleRate: 0.3, ServerErrorRate: 0.05, ResetRate: 0.05, LostResponseRate: 0.05}
	for _, tc := range []struct {
		name, retryMode string
		fault           awsemu.Fault
	}{{"fault-free", "", awsemu.Fault{}}, {"chaos-standard", "standard", chaos}, {"chaos-adaptive", "adaptive", chaos}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := emutest.Start(b, awsemu.Options{Seed: 5})
				ids, err := e.AddInstances(awsemu.InstanceSpec{Count: 60})
				if err != nil {
					b.Fatal(err)
				}
				ctx := b.Context()
				eps := map[string]string{}
				for _, s := range awsclient.Services {
					eps[s] = e.URL()
				}
				o := e.Options()
				cl, err := awsclient.New(ctx, awsclient.Settings{Region: o.Region, AccessKey: o.AccessKey, SecretKey: o.SecretKey, Endpoints: eps, RetryMode: tc.retryMode}, nil)
				if err != nil {
					b.Fatal(err)
				}
				e.SetFault("*", tc.fault)
				b.StartTimer()
				start := time.Now()
				_, err = iamx.CreateRole(ctx, cl.IAM, &iam.CreateRoleInput{RoleName: aws.String("bench"), AssumeRolePolicyDocument: aws.String(iamx.TrustPolicy("aws").JSON())})
				if err == nil {
					err = iamx.AttachPolicy(ctx, cl.IAM, "bench", iamx.ManagedCorePolicyARN("aws"))
				}
				if err == nil {
					_, err = iamx.CreateInstanceProfile(ctx, cl.IAM, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("bench")})
				}
				if err == nil {
					err = iamx.WaitInstanceProfileExists(ctx, cl.IAM, "bench", time.Minute)
				}
				if err == nil {
					err = iamx.AddRoleToInstanceProfile(ctx, cl.IAM, "bench", "bench")
				}
				if err == nil {
					_, err = iamx.WaitInstanceProfileReady(ctx, cl.IAM, "bench", time.Minute)
				}
				if err != nil {
					b.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make(chan error, len(ids))
				sem := make(chan struct{}, 10)
				for _, id := range ids {
					wg.Add(1)
					go func() {
						defer wg.Done()
						sem <- struct{}{}
						defer func() { <-sem }()
						if _, err := iamx.Associate(ctx, cl.EC2, id, "bench", false, 2*time.Minute); err != nil {
							errs <- err
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				wall := time.Since(start)
				b.StopTimer()
				calls := e.Calls()
				e.ClearFaults()
				var total int64
				kinds := map[string]int64{}
				for k, n := range calls {
					if j := strings.LastIndex(k, "#"); j > 0 {
						kinds[k[j+1:]] += n
					} else {
						total += n
					}
				}
				b.ReportMetric(float64(wall.Milliseconds()), "wall-ms")
				b.ReportMetric(float64(total), "api-calls")
				for _, kind := range []string{"throttled", "5xx", "reset", "lost"} {
					b.ReportMetric(float64(kinds[kind]), kind)
				}
				roles, _ := cl.IAM.ListRoles(ctx, &iam.ListRolesInput{})
				profiles, _ := cl.IAM.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{})
				assocs := 0
				for _, id := range ids {
					if inst, ok := e.Instance(id); ok && inst.Association != nil {
						assocs++
					}
				}
				b.ReportMetric(float64(len(roles.Roles)), "roles")
				b.ReportMetric(float64(len(profiles.InstanceProfiles)), "profiles")
				b.ReportMetric(float64(assocs), "associations")
				_ = e.Close() // now, not when the benchmark ends
			}
		})
	}
}
