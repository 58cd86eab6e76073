package mcplambda

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkDecodeEvent is the adapter's own cost on the way in: recognising
// a function URL event and building the *http.Request.
func BenchmarkDecodeEvent(b *testing.B) {
	lh := &lambdaHandler{path: "/mcp"}
	var e events.LambdaFunctionURLRequest
	fixture(b, "url.json", &e)
	e.Body = callBody("echo", echoIn{Text: "hello"})
	payload, _ := json.Marshal(e)
	b.ReportAllocs()
	for b.Loop() {
		ev, _ := lh.decode(context.Background(), payload)
		ev.request(context.Background())
	}
}

// BenchmarkEncodeResponse is its cost on the way out: the payload 2.0
// response of an SSE body.
func BenchmarkEncodeResponse(b *testing.B) {
	rec := newRecorder()
	rec.header.Set("Content-Type", "text/event-stream")
	rec.header.Set("Cache-Control", "no-cache")
	rec.body.WriteString(`event: message` + "\n" + `data: {"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\"echo\":\"hello\"}"}],"structuredContent":{"echo":"hello"}}}` + "\n\n")
	b.ReportAllocs()
	for b.Loop() {
		v2Response(rec)
	}
}
