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

// BenchmarkTunnel_throughput downloads 64 MB over HTTP through a tunnel on the
// emulator, and the same directly from the server, and reports both rates
// (tunnel_MB/s, direct_MB/s).
func BenchmarkTunnel_throughput(b *testing.B) {
	v := newEmuEnv(b, "")
	fw := v.open(b, ssmsession.OpenSpec{})
	const size = 64 << 20
	rate := func(addr string) float64 {
		start := time.Now()
		resp, err := http.Get(fmt.Sprintf("http://%s/?n=%d", addr, size))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != size {
			b.Fatalf("%d bytes, %v", n, err)
		}
		return float64(size) / (1 << 20) / time.Since(start).Seconds()
	}
	var tunnel, direct float64
	for i := 0; i < b.N; i++ {
		tunnel += rate(fw.Addr().String())
		direct += rate(fmt.Sprintf("127.0.0.1:%d", v.port))
	}
	b.ReportMetric(tunnel/float64(b.N), "tunnel_MB/s")
	b.ReportMetric(direct/float64(b.N), "direct_MB/s")
}

// BenchmarkTunnel_connectLatency opens 100 connections one after the other
// (dial, one byte there and back, close) through a tunnel to an echo server
// on the emulated instance, and directly, and reports the mean set-up time of
// each (tunnel_ms/conn, direct_ms/conn).
func BenchmarkTunnel_connectLatency(b *testing.B) {
	v := newEmuEnv(b, "")
	echo := echoServer(b)
	fw := v.open(b, ssmsession.OpenSpec{PortSpec: ssmsession.PortSpec{RemotePort: echo}})
	const conns = 100
	mean := func(addr string) float64 {
		start := time.Now()
		buf := make([]byte, 1)
		for i := 0; i < conns; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write([]byte{'x'}); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				b.Fatal(err)
			}
			_ = c.Close()
		}
		return float64(time.Since(start).Microseconds()) / 1000 / conns
	}
	var tunnel, direct float64
	for i := 0; i < b.N; i++ {
		tunnel += mean(fw.Addr().String())
		direct += mean(fmt.Sprintf("127.0.0.1:%d", echo))
	}
	b.ReportMetric(tunnel/float64(b.N), "tunnel_ms/conn")
	b.ReportMetric(direct/float64(b.N), "direct_ms/conn")
}
