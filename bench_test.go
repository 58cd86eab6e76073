package mcplambda

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkToolsCall compares a warm tools/call served by go-sdk's own
// stateless streamable handler (ServeHTTP with a recorder) with the same
// call arriving as a Function URL event through NewLambdaHandler (event
// decoding, the adapter's checks, go-sdk, response encoding). The README's
// performance table comes from this benchmark.
func BenchmarkToolsCall(b *testing.B) {
	body := callBody("echo", echoIn{Text: "hello"})
	const accept = "application/json, text/event-stream"

	b.Run("gosdk", func(b *testing.B) {
		server := newTestServer(b, nil)
		h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{Stateless: true})
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
			req.Header.Set("Accept", accept)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})

	b.Run("functionurl", func(b *testing.B) {
		lh := NewLambdaHandler(NewHandler(newTestServer(b, nil), nil), nil)
		var e events.LambdaFunctionURLRequest
		fixture(b, "url.json", &e)
		e.Body = body
		payload, _ := json.Marshal(e)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			out, err := lh.Invoke(ctx, payload)
			if err != nil || !strings.Contains(string(out), `"statusCode":200`) {
				b.Fatalf("Invoke = %s, %v", out, err)
			}
		}
	})
}
