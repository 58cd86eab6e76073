package main

import (
	"context"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/invoke"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkProxy measures what the proxy adds to a call: a warm
// tools/call of examples/time under "mcplambda dev", made directly with
// go-sdk's client (streamable HTTP to the function URL front door, or the
// invoke transport to the Invoke API) and through "mcplambda proxy" over
// stdio to the same target, interleaved in the same run. It reports the
// medians (direct-ms, proxy-ms) and their difference (added-ms).
//
//	go test -run XXX -bench Proxy -benchtime 500x ./cmd/mcplambda/
func BenchmarkProxy(b *testing.B) {
	dev := startDev(b, "--addr", "127.0.0.1:0", "--name", "time", binary(b, "time"))
	targets := []struct {
		name   string
		direct func() mcp.Transport
		args   []string
	}{
		{"url", func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: dev.mcpURL} }, []string{dev.mcpURL}},
		{"lambda", func() mcp.Transport { return invoke.NewTransport("time", &invoke.Options{Endpoint: dev.invokeURL}) },
			[]string{"--endpoint-url", dev.invokeURL, "lambda:time"}},
	}
	for _, target := range targets {
		b.Run(target.name, func(b *testing.B) {
			ctx := context.Background()
			client := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "v1"}, nil)
			direct, err := client.Connect(ctx, target.direct(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer direct.Close()
			cmd, stderr := proxyCommand(b, proxyEnv(b), target.args...)
			proxied, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
			if err != nil {
				b.Fatalf("connecting to the proxy: %v\n%s", err, stderr.String())
			}
			defer proxied.Close()
			params := &mcp.CallToolParams{Name: "get_current_time", Arguments: map[string]any{"timezone": "UTC"}}
			call := func(cs *mcp.ClientSession) time.Duration {
				start := time.Now()
				res, err := cs.CallTool(ctx, params)
				if err != nil || res.IsError {
					b.Fatalf("CallTool = %v, %v", res, err)
				}
				return time.Since(start)
			}
			for range 20 { // warm both paths: the instance, connections, caches
				call(direct)
				call(proxied)
			}
			var d, p []time.Duration
			b.ResetTimer()
			for range b.N {
				d = append(d, call(direct))
				p = append(p, call(proxied))
			}
			b.StopTimer()
			dm, pm := percentile(d, 0.5), percentile(p, 0.5)
			b.ReportMetric(msf(dm), "direct-ms")
			b.ReportMetric(msf(pm), "proxy-ms")
			b.ReportMetric(msf(pm-dm), "added-ms")
		})
	}
}
