package runcommand_test

import (
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// Run with: go test -run '^$' -bench . -benchtime 1x ./internal/runcommand
// (make bench). Figures come from the emulator's call counters and the
// invocations' own start and end times, never from timed assertions.

const overheadRounds = 5

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkOverhead: wall time minus the command's own run time for one
// instance running `sleep 1`, for runcommand.Run and for aws-sdk-go-v2's
// CommandExecutedWaiter (default options: 5 s minimum delay) in the same run.
// Reports both medians over overheadRounds rounds.
func BenchmarkOverhead(b *testing.B) {
	e, c := newEmulator(b, awsemu.Options{}, false)
	ids := addReady(b, e, 1, nil)
	client := sdkSSM(e)
	ctx := b.Context()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var ours, sdk []time.Duration
		for r := 0; r < overheadRounds; r++ {
			start := time.Now()
			res, err := runcommand.Run(ctx, c, runcommand.Spec{InstanceIDs: ids, Parameters: cmds("sleep 1")})
			wall := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			inv := res.Invocations[ids[0]]
			ours = append(ours, wall-inv.FinishedAt.Sub(inv.StartedAt))

			start = time.Now()
			out, err := client.SendCommand(ctx, &ssm.SendCommandInput{
				DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids, Parameters: cmds("sleep 1"),
			})
			if err != nil {
				b.Fatal(err)
			}
			in := &ssm.GetCommandInvocationInput{CommandId: out.Command.CommandId, InstanceId: aws.String(ids[0])}
			if err := ssm.NewCommandExecutedWaiter(client).Wait(ctx, in, 2*time.Minute); err != nil {
				b.Fatal(err)
			}
			wall = time.Since(start)
			gi, err := client.GetCommandInvocation(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			s, _ := time.Parse(time.RFC3339Nano, aws.ToString(gi.ExecutionStartDateTime))
			f, _ := time.Parse(time.RFC3339Nano, aws.ToString(gi.ExecutionEndDateTime))
			sdk = append(sdk, wall-f.Sub(s))
		}
		b.ReportMetric(float64(median(ours).Milliseconds()), "ours-overhead-ms")
		b.ReportMetric(float64(median(sdk).Milliseconds()), "sdk-waiter-overhead-ms")
	}
}

// BenchmarkAPICalls: API calls for 1, 50 and 1,000 instances targeted by tag
// (one command), split into calls while waiting (ListCommands) and calls to
// collect (ListCommandInvocations pages, GetCommandInvocation, S3). The
// "ids-1000" case sends 1,000 explicit ids: 20 commands, one ListCommands per
// command per poll.
func BenchmarkAPICalls(b *testing.B) {
	for _, tc := range []struct {
		name  string
		n     int
		byIDs bool
	}{{"tags-1", 1, false}, {"tags-50", 50, false}, {"tags-1000", 1000, false}, {"ids-1000", 1000, true}} {
		b.Run(tc.name, func(b *testing.B) {
			e, c := newEmulator(b, awsemu.Options{MaxProcesses: 16}, false)
			ids := addReady(b, e, tc.n, map[string]string{"Role": "bench"})
			spec := runcommand.Spec{MaxConcurrency: "100%", Parameters: cmds("echo ok")}
			if tc.byIDs {
				spec.InstanceIDs = ids
			} else {
				spec.Targets = []runcommand.Target{{Key: "tag:Role", Values: []string{"bench"}}}
			}
			polls := 0
			spec.Progress = func(runcommand.Progress) { polls++ }
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.ResetCalls()
				polls = 0
				start := time.Now()
				res, err := runcommand.Run(b.Context(), c, spec)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Invocations) != tc.n {
					b.Fatalf("%d invocations, want %d", len(res.Invocations), tc.n)
				}
				calls := e.Calls()
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "wall-ms")
				b.ReportMetric(float64(polls), "polls")
				b.ReportMetric(float64(calls["ssm.SendCommand"]), "send-calls")
				b.ReportMetric(float64(calls["ssm.ListCommands"]), "wait-calls")
				if polls > 0 {
					b.ReportMetric(float64(calls["ssm.ListCommands"])/float64(polls), "wait-calls/poll")
				}
				b.ReportMetric(float64(calls["ssm.ListCommandInvocations"]+calls["ssm.GetCommandInvocation"]+calls["s3.GetObject"]), "collect-calls")
			}
		})
	}
}

// BenchmarkPeakMemory: peak Go heap in use (sampled every 5 ms; the in-process
// emulator's own state included) while running on 1,000 instances: `echo ok`,
// and 30 KB of output each with a 4 KiB output limit (memory must follow the
// limit, not fleet size × raw output). kept-KB is what the Result holds.
func BenchmarkPeakMemory(b *testing.B) {
	for _, tc := range []struct {
		name    string
		command string
		limit   int
	}{
		{"1000-echo", "echo ok", 0},
		{"1000-30KB-limit4KiB", bigOutputCommand(600, "stdout"), 4096},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e, c := newEmulator(b, awsemu.Options{MaxProcesses: 16}, false)
			addReady(b, e, 1000, map[string]string{"Role": "bench"})
			spec := runcommand.Spec{
				Targets:        []runcommand.Target{{Key: "tag:Role", Values: []string{"bench"}}},
				MaxConcurrency: "100%", Parameters: cmds(tc.command), OutputLimit: tc.limit,
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapInuse
				peak := base
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					t := time.NewTicker(5 * time.Millisecond)
					defer t.Stop()
					var m runtime.MemStats
					for {
						runtime.ReadMemStats(&m)
						if m.HeapInuse > peak {
							peak = m.HeapInuse
						}
						select {
						case <-stop:
							return
						case <-t.C:
						}
					}
				}()
				res, err := runcommand.Run(b.Context(), c, spec)
				close(stop)
				wg.Wait()
				if err != nil {
					b.Fatal(err)
				}
				kept := 0
				truncated := 0
				for _, inv := range res.Invocations {
					kept += len(inv.Stdout) + len(inv.Stderr)
					if inv.StdoutTruncated {
						truncated++
					}
				}
				if tc.limit > 0 && truncated != 1000 {
					b.Fatalf("%d truncated, want 1000", truncated)
				}
				// What the Result alone retains: heap with it minus heap without it.
				if r := retained(res); r > 0 {
					b.ReportMetric(float64(r)/(1<<20), "result-retained-MB")
				}
				b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(kept)/1024, "kept-KB")
				b.ReportMetric(float64(e.CallCount("ssm.GetCommandInvocation")), "get-invocation-calls")
			}
		})
	}
}

// retained measures the heap the Result keeps alive: HeapAlloc with it, then
// with the invocations dropped.
func retained(res *runcommand.Result) int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	with := int64(ms.HeapAlloc)
	res.Invocations = nil
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return with - int64(ms.HeapAlloc)
}
