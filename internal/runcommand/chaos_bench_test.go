package runcommand_test

import (
	"strings"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// chaos is the benchmarks' fault mix: 30% throttling, 5% 5xx, 5% connection resets
// and 5% lost responses.
var chaos = awsemu.Fault{ThrottleRate: 0.3, ServerErrorRate: 0.05, ResetRate: 0.05, LostResponseRate: 0.05}

// reportCalls reports the emulator's counters: API calls (every request that
// reached an operation, faulted or not) and how many of them each fault kind hit.
func reportCalls(b *testing.B, calls map[string]int64) {
	var total int64
	kinds := map[string]int64{}
	for k, n := range calls {
		if i := strings.LastIndex(k, "#"); i > 0 {
			kinds[k[i+1:]] += n
			continue
		}
		total += n
	}
	b.ReportMetric(float64(total), "api-calls")
	for _, kind := range []string{"throttled", "5xx", "reset", "lost"} {
		b.ReportMetric(float64(kinds[kind]), kind)
	}
}

// BenchmarkChaosRun: send + wait + collect of a run on 60 instances by ids (two
// commands) and one by tag, fault-free and under chaos on every SSM call.
// commands is how many commands the emulator holds afterwards: 3 in both
// cases, or something was sent twice.
func BenchmarkChaosRun(b *testing.B) {
	for _, tc := range []struct {
		name  string
		fault awsemu.Fault
	}{{"fault-free", awsemu.Fault{}}, {"chaos", chaos}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e, c := newEmulator(b, awsemu.Options{Seed: 3, MaxProcesses: 16}, true)
				ids := addReady(b, e, 60, map[string]string{"Fleet": "bench"})
				e.ResetCalls()
				e.SetFault("*", tc.fault)
				b.StartTimer()
				start := time.Now()
				for _, spec := range []runcommand.Spec{
					{InstanceIDs: ids, MaxConcurrency: "100%", Parameters: cmds("echo ok")},
					{Targets: []runcommand.Target{{Key: "tag:Fleet", Values: []string{"bench"}}}, MaxConcurrency: "100%", Parameters: cmds("echo ok")},
				} {
					res, err := runcommand.Run(b.Context(), c, spec)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Invocations) != 60 {
						b.Fatalf("%d invocations, want 60", len(res.Invocations))
					}
				}
				wall := time.Since(start)
				b.StopTimer()
				calls := e.Calls()
				e.ClearFaults()
				b.ReportMetric(float64(wall.Milliseconds()), "wall-ms")
				reportCalls(b, calls)
				b.ReportMetric(float64(len(emulatorCommandsB(b, c))), "commands")
			}
		})
	}
}
