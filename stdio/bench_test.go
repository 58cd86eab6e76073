package stdio_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/stdio"
)

// BenchmarkToolsCall measures a direct-invoke tools/call of the Go echo
// server through the whole adapter (event decoding, the MCP server, the
// child round trip), in warm and per-request isolation. Besides ns/op it
// reports the median (p50-ms) and p99 (p99-ms) latency of the calls.
//
//	go test -run XXX -bench ToolsCall -benchtime 2000x ./stdio
func BenchmarkToolsCall(b *testing.B) {
	for _, iso := range []stdio.Isolation{stdio.Warm, stdio.PerRequest} {
		b.Run(string(iso), func(b *testing.B) {
			p, _ := newProxy(b, &stdio.ProxyOptions{Isolation: iso})
			h := lambdaHandler(p, nil)
			payload := []byte(callTool(1, "echo", map[string]string{"message": "hello"}))
			ctx := context.Background()
			// One call to warm up (and, per request, to retire the first
			// child).
			if out, err := h.Invoke(ctx, payload); err != nil || !strings.Contains(string(out), "Echo: hello") {
				b.Fatalf("Invoke = %s, %v", out, err)
			}
			samples := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				out, err := h.Invoke(ctx, payload)
				samples = append(samples, time.Since(start))
				if err != nil || !strings.Contains(string(out), "Echo: hello") {
					b.Fatalf("Invoke = %s, %v", out, err)
				}
			}
			b.StopTimer()
			reportPercentiles(b, samples)
		})
	}
}

func reportPercentiles(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(samples[len(samples)/2]), "p50-ms")
	b.ReportMetric(ms(samples[len(samples)*99/100]), "p99-ms")
}
