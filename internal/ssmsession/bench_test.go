package ssmsession_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/ssmsession"
)

// echoServer echoes every connection on the host (the simulated instance).
func echoServer(b testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return portOfAddr(ln.Addr())
}

// throughputSize is the body each throughput benchmark downloads.
const throughputSize = 64 << 20

// downloadRate downloads throughputSize bytes over HTTP from addr and returns
// the rate in MB/s (MiB per second).
func downloadRate(b *testing.B, addr string) float64 {
	b.Helper()
	start := time.Now()
	resp, err := http.Get(fmt.Sprintf("http://%s/?n=%d", addr, throughputSize))
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil || n != throughputSize {
		b.Fatalf("%d bytes of %d from %s, %v", n, throughputSize, addr, err)
	}
	return float64(throughputSize) / (1 << 20) / time.Since(start).Seconds()
}

// latencyConns is how many connections each set-up latency benchmark opens.
const latencyConns = 100

// connectMean opens latencyConns connections to addr one after the other
// (dial, one byte there and back, close) and returns the mean time of one in
// milliseconds.
func connectMean(b *testing.B, addr string) float64 {
	b.Helper()
	start := time.Now()
	buf := make([]byte, 1)
	for i := 0; i < latencyConns; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write([]byte{'x'}); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatalf("connection %d through %s: %v", i, addr, err)
		}
		_ = c.Close()
	}
	return float64(time.Since(start).Microseconds()) / 1000 / latencyConns
}

// BenchmarkTunnel_throughput downloads 64 MB over HTTP through a tunnel of the
// provider's session engine on the emulator, and the same directly from the
// server, and reports both rates (engine_MB/s, direct_MB/s).
func BenchmarkTunnel_throughput(b *testing.B) {
	v := newEmuEnv(b, "")
	fw := v.open(b, ssmsession.OpenSpec{})
	b.ResetTimer()
	var engine, direct float64
	for i := 0; i < b.N; i++ {
		engine += downloadRate(b, fw.Addr().String())
		direct += downloadRate(b, fmt.Sprintf("127.0.0.1:%d", v.port))
	}
	b.ReportMetric(engine/float64(b.N), "engine_MB/s")
	b.ReportMetric(direct/float64(b.N), "direct_MB/s")
}

// BenchmarkTunnel_throughputPlugin is BenchmarkTunnel_throughput through the
// real session-manager-plugin, driven by `aws ssm start-session` against the
// same kind of emulator (plugin_MB/s, direct_MB/s).
func BenchmarkTunnel_throughputPlugin(b *testing.B) {
	awsCLI := requirePluginTools(b)
	v := newEmuEnv(b, "")
	addr := startPluginForward(b, awsCLI, v, v.port)
	b.ResetTimer()
	var plugin, direct float64
	for i := 0; i < b.N; i++ {
		plugin += downloadRate(b, addr)
		direct += downloadRate(b, fmt.Sprintf("127.0.0.1:%d", v.port))
	}
	b.ReportMetric(plugin/float64(b.N), "plugin_MB/s")
	b.ReportMetric(direct/float64(b.N), "direct_MB/s")
}

// BenchmarkTunnel_connectLatency opens 100 connections one after the other
// (dial, one byte there and back, close) through a tunnel of the session
// engine to an echo server on the emulated instance, and directly, and reports
// the mean set-up time of each (engine_ms/conn, direct_ms/conn).
func BenchmarkTunnel_connectLatency(b *testing.B) {
	v := newEmuEnv(b, "")
	echo := echoServer(b)
	fw := v.open(b, ssmsession.OpenSpec{PortSpec: ssmsession.PortSpec{RemotePort: echo}})
	b.ResetTimer()
	var engine, direct float64
	for i := 0; i < b.N; i++ {
		engine += connectMean(b, fw.Addr().String())
		direct += connectMean(b, fmt.Sprintf("127.0.0.1:%d", echo))
	}
	b.ReportMetric(engine/float64(b.N), "engine_ms/conn")
	b.ReportMetric(direct/float64(b.N), "direct_ms/conn")
}

// BenchmarkTunnel_connectLatencyPlugin is BenchmarkTunnel_connectLatency
// through the real session-manager-plugin (plugin_ms/conn, direct_ms/conn).
func BenchmarkTunnel_connectLatencyPlugin(b *testing.B) {
	awsCLI := requirePluginTools(b)
	v := newEmuEnv(b, "")
	echo := echoServer(b)
	addr := startPluginForward(b, awsCLI, v, echo)
	b.ResetTimer()
	var plugin, direct float64
	for i := 0; i < b.N; i++ {
		plugin += connectMean(b, addr)
		direct += connectMean(b, fmt.Sprintf("127.0.0.1:%d", echo))
	}
	b.ReportMetric(plugin/float64(b.N), "plugin_ms/conn")
	b.ReportMetric(direct/float64(b.N), "direct_ms/conn")
}
