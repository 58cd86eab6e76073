package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkCall measures a warm tools/call with go-sdk's client, directly
// to an HTTP backend and through a gateway in front of it, both served by
// mcplambda's HTTP handler in this process: the gateway's own cost per
// call (one more go-sdk server and client, one more loopback HTTP
// request). cmd/mcplambda's BenchmarkGatewayCall measures it between
// processes and under the Lambda emulator.
//
//	go test -run XXX -bench Call ./gateway/
func BenchmarkCall(b *testing.B) {
	backend, _ := newBackend(b, "alpha", 0)
	url, _, _ := startGateway(b, fmt.Sprintf(`{"mcpServers": {"alpha": {"url": %q}}}`, backend.URL+"/mcp"))
	for _, tt := range []struct{ name, url, tool string }{
		{"direct", backend.URL + "/mcp", "echo"},
		{"gateway", url, "alpha__echo"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			cs := connect(b, tt.url, newer, nil, nil)
			params := &mcp.CallToolParams{Name: tt.tool}
			for b.Loop() {
				if _, err := cs.CallTool(context.Background(), params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
