package mcplambda

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestToolPastDeadline: a tool still running when the invocation's time
// is nearly up gives the client a JSON-RPC error that says so and points
// at the function log, whether it honours its context (and returns an
// error at its deadline) or not (and is answered for), through a buffered
// front door and a streamed one, instead of a timeout of the whole
// invocation. (When the answer comes is not checked: timings vary too much
// on shared machines; the answer's content says which path made it.)
func TestToolPastDeadline(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := mcp.NewServer(&mcp.Implementation{Name: "slow", Version: "v1"}, nil)
	type in struct{}
	mcp.AddTool(s, &mcp.Tool{Name: "honours"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ in) (*mcp.CallToolResult, any, error) {
		<-ctx.Done()
		return nil, nil, ctx.Err()
	})
	mcp.AddTool(s, &mcp.Tool{Name: "ignores"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ in) (*mcp.CallToolResult, any, error) {
		<-release
		return nil, nil, nil
	})
	buffered := NewLambdaHandler(NewHandler(s, nil), nil)
	streamed := NewLambdaHandler(NewHandler(s, nil), &Options{ResponseStream: true})

	for _, tc := range []struct {
		tool, accept string
		stream       bool
	}{
		{"honours", "application/json", false},
		{"ignores", "application/json", false},
		{"ignores", "application/json, text/event-stream", false},
		{"honours", "application/json, text/event-stream", true},
		{"ignores", "application/json, text/event-stream", true},
		{"ignores", "application/json", true},
	} {
		t.Run(tc.tool+"/"+tc.accept+map[bool]string{true: "/stream"}[tc.stream], func(t *testing.T) {
			t.Parallel()
			var ev events.LambdaFunctionURLRequest
			fixture(t, "url.json", &ev)
			ev.RawPath, ev.RequestContext.HTTP.Method = "/mcp", "POST"
			ev.Headers = map[string]string{"content-type": "application/json", "accept": tc.accept}
			ev.Body = `{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"` + tc.tool + `","arguments":{}}}`
			payload, _ := json.Marshal(ev)
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-7"})
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()

			var body string
			if tc.stream {
				out, err := streamed.Invoke(ctx, payload)
				if err != nil {
					t.Fatal(err)
				}
				_, b, ok := bytes.Cut(out, make([]byte, 8)) // prelude, separator, body
				if !ok {
					t.Fatalf("streamed response %q has no prelude", out)
				}
				body = string(b)
			} else {
				out, err := buffered.Invoke(ctx, payload)
				if err != nil {
					t.Fatalf("Invoke = %v, want an answer before the deadline", err)
				}
				var resp events.LambdaFunctionURLResponse
				json.Unmarshal(out, &resp)
				body = resp.Body
			}
			if !strings.Contains(body, `"id":42`) || !strings.Contains(body, `"code":-32603`) ||
				!strings.Contains(body, "did not finish before the function's timeout; see the function log for request req-7") {
				t.Errorf("tools/call %s = %s, want a JSON-RPC error for id 42 naming the timeout and the request id", tc.tool, body)
			}
		})
	}
}
