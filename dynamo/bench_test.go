package dynamo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkLegacyCall measures one legacy tools/call (JSON response)
// through NewHandler, in process: stateless (no session), and stateful
// with the session in memory and in DynamoDB Local. The difference is the
// latency stateful mode adds; store-gets/op and store-puts/op are the
// store calls per MCP request.
func BenchmarkLegacyCall(b *testing.B) {
	cases := []struct {
		name  string
		store func(testing.TB) state.Store
	}{
		{"stateless", nil},
		{"stateful-memory", func(testing.TB) state.Store { return state.NewMemory(nil) }},
		{"stateful-dynamodb-local", newDynamoStore},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			server := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "v1"}, nil)
			mcp.AddTool(server, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{ Text string }) (*mcp.CallToolResult, any, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
			})
			opts := &mcplambda.Options{SessionTTL: time.Hour}
			var counting *countingStore
			if c.store != nil {
				counting = &countingStore{Store: c.store(b)}
				opts.Sessions = counting
			}
			h := mcplambda.NewHandler(server, opts)
			do := func(sid, body string) *httptest.ResponseRecorder {
				req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json")
				req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
				if sid != "" {
					req.Header.Set("Mcp-Session-Id", sid)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w
			}
			init := httptest.NewRequest("POST", "/mcp", strings.NewReader(initBody))
			init.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, init)
			sid := w.Header().Get("Mcp-Session-Id")
			if w.Code != http.StatusOK || (c.store != nil && sid == "") {
				b.Fatalf("initialize = %d %s", w.Code, w.Body)
			}
			call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"Text":"hi"}}}`
			if counting != nil {
				counting.take()
			}
			b.ResetTimer()
			for b.Loop() {
				if w := do(sid, call); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"hi"`) {
					b.Fatalf("tools/call = %d %s", w.Code, w.Body)
				}
			}
			if counting != nil {
				b.ReportMetric(float64(counting.gets.Load())/float64(b.N), "store-gets/op")
				b.ReportMetric(float64(counting.puts.Load())/float64(b.N), "store-puts/op")
			}
		})
	}
}

// BenchmarkStoreGet is one strongly consistent GetItem against DynamoDB
// Local (through the test harness's Unix-socket forwarder).
func BenchmarkStoreGet(b *testing.B) {
	store := newDynamoStore(b)
	ctx := context.Background()
	if _, err := store.Put(ctx, "k", []byte(`{"a":1}`), state.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := store.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}
