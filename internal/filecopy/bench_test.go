package filecopy_test

import (
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/filecopy"
)

// BenchmarkCopy_10MBTo100Instances copies a 10 MB file to 100 instances
// through the staging bucket and reports, per copy, the emulator's API call
// counts and the peak heap of the process. The emulator runs in the same
// process: the peak includes its own in-memory copy of the staged object and
// what it buffers while receiving it, so it is an upper bound for the
// provider's share. A copy that held the file once per instance would need
// more than 1,000 MB.
func BenchmarkCopy_10MBTo100Instances(b *testing.B) {
	v := newEnv(b, 100)
	src, want := randomFile(b, 10<<20)
	dest := filepath.Join(b.TempDir(), "big.bin")

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	v.e.ResetCalls()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := filecopy.Copy(ctx(b, 10*time.Minute), v.c, filecopy.Spec{
			Target: filecopy.Target{InstanceIDs: v.ids}, Payload: filecopy.Payload{Path: src},
			Destination: dest, StagingBucket: "staging", SHA256: want,
		})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Run.Invocations) != 100 {
			b.Fatalf("%d invocations", len(res.Run.Invocations))
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	if got := fileSum(b, dest); got != want {
		b.Fatalf("sha256 %s, want %s", got, want)
	}
	if keys := v.objects(b); len(keys) != 0 {
		b.Fatalf("staged objects left: %v", keys)
	}
	var total int64
	for _, n := range v.e.Calls() {
		total += n
	}
	n := float64(b.N)
	b.ReportMetric(float64(total)/n, "api-calls/op")
	b.ReportMetric(float64(v.e.CallCount("ssm.SendCommand"))/n, "SendCommand/op")
	b.ReportMetric(float64(v.e.CallCount("s3.PutObject"))/n, "PutObject/op")
	b.ReportMetric(float64(v.e.CallCount("s3.GetObject"))/n, "GetObject/op")
	b.ReportMetric(float64(v.e.CallCount("ssm.ListCommands"))/n, "ListCommands/op")
	b.ReportMetric(float64(v.e.CallCount("ssm.ListCommandInvocations"))/n, "ListCommandInvocations/op")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-growth-MB")
}
