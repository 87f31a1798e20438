package awsemu

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// BenchmarkFleetCommand runs `echo ok` on 1,000 of 2,000 registered instances by
// tag through the SDK, waiting with ListCommands, and reports the wall time, the
// peak Go heap, the peak RSS and the most processes that ever ran at once (which
// must not exceed MaxProcesses).
func BenchmarkFleetCommand(b *testing.B) {
	const maxProcs = 8
	e, cl := newSSMTest(b, Options{MaxProcesses: maxProcs})
	onlineInstances(b, e, InstanceSpec{Count: 1000, Tags: map[string]string{"group": "target"}})
	onlineInstances(b, e, InstanceSpec{Count: 1000, Tags: map[string]string{"group": "other"}})
	ctx := b.Context()

	var peakHeap uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peakHeap {
				peakHeap = ms.HeapAlloc
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		out, err := cl.SendCommand(ctx, &ssm.SendCommandInput{
			DocumentName:   aws.String("AWS-RunShellScript"),
			Targets:        []ssmtypes.Target{{Key: aws.String("tag:group"), Values: []string{"target"}}},
			MaxConcurrency: aws.String("100%"),
			Parameters:     map[string][]string{"commands": {"echo ok"}},
		})
		if err != nil {
			b.Fatal(err)
		}
		if out.Command.TargetCount != 1000 {
			b.Fatalf("target count %d", out.Command.TargetCount)
		}
		eventually(b, 10*time.Minute, func() error {
			lc, err := cl.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: out.Command.CommandId})
			if err != nil {
				b.Fatal(err)
			}
			c := lc.Commands[0]
			if c.Status == ssmtypes.CommandStatusSuccess && c.CompletedCount == 1000 {
				return nil
			}
			if c.Status != ssmtypes.CommandStatusPending && c.Status != ssmtypes.CommandStatusInProgress {
				b.Fatalf("command ended %s/%s", c.Status, aws.ToString(c.StatusDetails))
			}
			return fmt.Errorf("command %s, %d of 1000 completed", c.Status, c.CompletedCount)
		})
	}
	wall := time.Since(start)
	b.StopTimer()
	close(stop)
	wg.Wait()
	_, peakProcs := e.ProcessStats()
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/command")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(vmHWM())/1024, "peak-rss-MiB")
	b.ReportMetric(float64(peakProcs), "max-procs")
	if peakProcs > maxProcs {
		b.Fatalf("%d processes ran at once, MaxProcesses is %d", peakProcs, maxProcs)
	}
}

// vmHWM is the peak resident set size in KiB (0 when unknown).
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
