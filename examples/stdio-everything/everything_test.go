package main

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/stdio"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// newEverything starts the real server-everything behind the adapter.
func newEverything(t testing.TB, iso stdio.Isolation) *stdio.Proxy {
	t.Helper()
	node, server := testtools.Node22(t), testtools.ServerEverything(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := stdio.NewProxy(ctx, stdio.Command{Path: node, Args: []string{server, "stdio"}}, &stdio.ProxyOptions{Isolation: iso, Stderr: discard{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// TestDirectInvoke sends the reference project's direct-invoke payloads
// and checks the responses, byte for byte where they are deterministic.
func TestDirectInvoke(t *testing.T) {
	t.Parallel()
	p := newEverything(t, stdio.Warm)
	h := mcplambda.NewLambdaHandler(mcplambda.NewHandler(p.Server(), nil), nil)
	tests := []struct {
		name, payload string
		want          string // exact response; "" means check contains
		contains      string
	}{
		{name: "echo", payload: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}`,
			want: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Echo: hello"}]}}`},
		{name: "get-sum", payload: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get-sum","arguments":{"a":2,"b":3}}}`,
			want: `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"The sum of 2 and 3 is 5."}]}}`},
		{name: "notification", payload: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, want: `{}`},
		{name: "tools/list", payload: `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`, contains: `"name":"trigger-long-running-operation"`},
		{name: "resources/read static", payload: `{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"demo://resource/static/document/features.md"}}`, contains: `"uri":"demo://resource/static/document/features.md"`},
		{name: "resources/read template", payload: `{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"demo://resource/dynamic/text/3"}}`, contains: `"uri":"demo://resource/dynamic/text/3"`},
		{name: "prompts/get", payload: `{"jsonrpc":"2.0","id":6,"method":"prompts/get","params":{"name":"args-prompt","arguments":{"city":"Lyon"}}}`, contains: `Lyon`},
		{name: "unknown tool", payload: `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"nope","arguments":{}}}`, contains: `"code":-32602`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h.Invoke(context.Background(), []byte(tt.payload))
			if err != nil {
				t.Fatalf("Invoke(%s): %v", tt.payload, err)
			}
			if tt.want != "" && string(out) != tt.want {
				t.Errorf("Invoke(%s)\n got %s\nwant %s", tt.payload, out, tt.want)
			}
			if tt.contains != "" && !strings.Contains(string(out), tt.contains) {
				t.Errorf("Invoke(%s) = %s, want it to contain %s", tt.payload, out, tt.contains)
			}
		})
	}
}

// TestClient uses go-sdk's client over HTTP in both protocol eras:
// lists, a resource, a prompt, completion and relayed progress.
func TestClient(t *testing.T) {
	t.Parallel()
	p := newEverything(t, stdio.Warm)
	srv := httptest.NewServer(mcplambda.NewHandler(p.Server(), nil))
	defer srv.Close()
	for _, version := range []string{"2026-07-28", "2025-06-18"} {
		t.Run(version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			progress := make(chan float64, 20)
			client := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "v1"}, &mcp.ClientOptions{
				ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) { progress <- req.Params.Progress },
			})
			cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			var names []string
			for tool, err := range cs.Tools(ctx, nil) {
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, tool.Name)
			}
			for _, want := range []string{"echo", "get-sum", "trigger-long-running-operation", "get-tiny-image"} {
				if !slices.Contains(names, want) {
					t.Errorf("tools %v lack %s", names, want)
				}
			}
			params := &mcp.CallToolParams{Name: "trigger-long-running-operation", Arguments: map[string]any{"duration": 0.2, "steps": 2}}
			params.SetProgressToken("p")
			if _, err := cs.CallTool(ctx, params); err != nil {
				t.Fatalf("trigger-long-running-operation: %v", err)
			}
			for i := 1; i <= 2; i++ {
				select {
				case got := <-progress:
					if got != float64(i) {
						t.Errorf("progress %v, want %d", got, i)
					}
				case <-time.After(testtools.Patience):
					t.Fatalf("no progress notification %d", i)
				}
			}
			gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "simple-prompt"})
			if err != nil || len(gp.Messages) == 0 {
				t.Errorf("GetPrompt(simple-prompt) = %v, %v", gp, err)
			}
			comp, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "completable-prompt"}, Argument: mcp.CompleteParamsArgument{Name: "department", Value: "E"}})
			if err != nil || len(comp.Completion.Values) == 0 {
				t.Errorf("Complete = %v, %v", comp, err)
			}
			img, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get-tiny-image", Arguments: map[string]any{}})
			if err != nil || !slices.ContainsFunc(img.Content, func(c mcp.Content) bool { _, ok := c.(*mcp.ImageContent); return ok }) {
				t.Errorf("get-tiny-image = %v, %v", img, err)
			}
		})
	}
}

// BenchmarkEverythingEcho measures a direct-invoke call of server-everything's
// echo tool through the adapter, warm and per request, reporting the median
// (p50-ms). scripts/bench-stdio.sh runs it next to the reference adapter.
func BenchmarkEverythingEcho(b *testing.B) {
	payload := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}`)
	for _, iso := range []stdio.Isolation{stdio.Warm, stdio.PerRequest} {
		b.Run(string(iso), func(b *testing.B) {
			p := newEverything(b, iso)
			h := mcplambda.NewLambdaHandler(mcplambda.NewHandler(p.Server(), nil), nil)
			ctx := context.Background()
			call := func() time.Duration {
				start := time.Now()
				out, err := h.Invoke(ctx, payload)
				d := time.Since(start)
				if err != nil || !strings.Contains(string(out), "Echo: hello") {
					b.Fatalf("Invoke = %s, %v", out, err)
				}
				return d
			}
			call() // warm up
			var samples []time.Duration
			for b.Loop() {
				samples = append(samples, call())
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(samples[len(samples)*99/100])/1e6, "p99-ms")
		})
	}
}
