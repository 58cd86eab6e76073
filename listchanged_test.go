package mcplambda

import (
	"context"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestListChangedOnlyToSubscribers: go-sdk debounces a list change and
// then notifies, as if it were a legacy session, every session without
// initialize parameters, which a 2026-07-28 session is until its first
// request is handled; the notification can then land on that request's
// stream (seen as a tools/list_changed on a listen stream filtered to
// prompts; in Lambda the timer fires when the instance thaws for its next
// invocation). The handler's filter drops it. Here a session in that
// state is held open, a tool is added, and two probes of the sending
// path, outside the filter and inside it, show what go-sdk tries to send
// and what gets through.
func TestListChangedOnlyToSubscribers(t *testing.T) {
	s := mcp.NewServer(&mcp.Implementation{Name: "x", Version: "1"}, &mcp.ServerOptions{Capabilities: &mcp.ServerCapabilities{
		Tools: &mcp.ToolCapabilities{ListChanged: true}}})
	noop := func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return nil, nil, nil
	}
	mcp.AddTool(s, &mcp.Tool{Name: "a"}, noop)

	var mu sync.Mutex
	var passed []string
	s.AddSendingMiddleware(sendProbe("notifications/tools/list_changed", func() { // inside the filter
		mu.Lock()
		defer mu.Unlock()
		passed = append(passed, "notifications/tools/list_changed")
	}))
	NewHandler(s, nil) // adds the filter around the inner probe
	attempted := make(chan struct{}, 1)
	s.AddSendingMiddleware(sendProbe("notifications/tools/list_changed", func() { // outside it
		select {
		case attempted <- struct{}{}:
		default:
		}
	}))

	for _, tc := range []struct {
		name  string
		state *mcp.ServerSessionState
		want  int // list_changed notifications let through
	}{
		{"2026-07-28 session before its first request", &mcp.ServerSessionState{}, 0},
		{"legacy session", &mcp.ServerSessionState{
			InitializeParams:  &mcp.InitializeParams{ProtocolVersion: "2025-11-25"},
			InitializedParams: &mcp.InitializedParams{},
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			passed = nil
			mu.Unlock()
			ct, st := mcp.NewInMemoryTransports()
			ss, err := s.Connect(context.Background(), st, &mcp.ServerSessionOptions{State: tc.state})
			if err != nil {
				t.Fatal(err)
			}
			defer ss.Close()
			cconn, err := ct.Connect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer cconn.Close()
			go func() { // the client end reads whatever arrives
				for {
					if _, err := cconn.Read(context.Background()); err != nil {
						return
					}
				}
			}()
			mcp.AddTool(s, &mcp.Tool{Name: "t" + tc.name}, noop) // notified after go-sdk's debounce
			<-attempted
			mu.Lock()
			defer mu.Unlock()
			if len(passed) != tc.want {
				t.Errorf("tools/list_changed let through %d times, want %d", len(passed), tc.want)
			}
		})
	}
}

// sendProbe is a sending middleware calling seen for each message of method.
func sendProbe(method string, seen func()) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, m string, req mcp.Request) (mcp.Result, error) {
			if m == method {
				seen()
			}
			return next(ctx, m, req)
		}
	}
}
