package mcplambda

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// seen records the Request each tool call observed through the context.
type seen struct {
	mu   sync.Mutex
	last *Request
}

func (s *seen) set(r *Request) {
	s.mu.Lock()
	s.last = r
	s.mu.Unlock()
}

func (s *seen) get() *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

type echoIn struct {
	Text string `json:"text"`
}

type echoOut struct {
	Echo      string `json:"echo"`
	FrontDoor string `json:"frontDoor,omitempty"`
}

type progressIn struct {
	Steps int `json:"steps"`
}

// newTestServer returns a server with tools exercising the adapter: echo
// (records the request context), progress (sends progress notifications),
// and panic.
func newTestServer(t testing.TB, rec *seen) *mcp.Server {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "v1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "echoes text"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
		out := echoOut{Echo: in.Text}
		if r, ok := RequestFromContext(ctx); ok {
			out.FrontDoor = string(r.FrontDoor)
			if rec != nil {
				rec.set(r)
			}
		}
		return nil, out, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "progress", Description: "reports progress"}, func(ctx context.Context, req *mcp.CallToolRequest, in progressIn) (*mcp.CallToolResult, echoOut, error) {
		token := req.Params.GetProgressToken()
		for i := range in.Steps {
			if token == nil {
				break
			}
			err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: float64(i + 1), Total: float64(in.Steps), Message: fmt.Sprintf("step %d", i+1)})
			if err != nil {
				return nil, echoOut{}, err
			}
		}
		return nil, echoOut{Echo: "done"}, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "panic", Description: "panics"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, echoOut, error) {
		panic("boom: " + in.Text)
	})
	return s
}

// callBody returns a legacy-style (no initialize, stateless) tools/call body.
func callBody(tool string, args any) string {
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args},
	})
	return string(b)
}
