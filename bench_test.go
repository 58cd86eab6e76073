package mcplambda

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

// BenchmarkToolsCallRatio runs the two sides of BenchmarkToolsCall
// alternately in one loop, so that load on a shared machine hits both
// equally, and reports each side's ns per call and their ratio.
func BenchmarkToolsCallRatio(b *testing.B) {
	body := callBody("echo", echoIn{Text: "hello"})
	server := newTestServer(b, nil)
	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{Stateless: true})
	lh := NewLambdaHandler(NewHandler(newTestServer(b, nil), nil), nil)
	var e events.LambdaFunctionURLRequest
	fixture(b, "url.json", &e)
	e.Body = body
	payload, _ := json.Marshal(e)
	ctx := context.Background()
	var sdkTime, adapterTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		sdk.ServeHTTP(rec, req)
		t1 := time.Now()
		if _, err := lh.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		sdkTime += t1.Sub(t0)
		adapterTime += t2.Sub(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(sdkTime.Nanoseconds())/n, "gosdk-ns/call")
	b.ReportMetric(float64(adapterTime.Nanoseconds())/n, "adapter-ns/call")
	b.ReportMetric(float64(adapterTime)/float64(sdkTime), "ratio")
}
