//lint:file-ignore SA1019 the test answers sampling and roots requests, deprecated since 2026-07-28 (SEP-2577) but still relayed to legacy clients.

package stdio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/stdio"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// roundRobin sends each request to the next of its handlers, as Lambda
// spreads invocations over instances.
type roundRobin struct {
	hs []http.Handler
	n  atomic.Int64
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rr.hs[int(rr.n.Add(1))%len(rr.hs)].ServeHTTP(w, r)
}

// A stdio server's requests to its client (elicitation, sampling, roots)
// reach a legacy caller served with sessions, through two instances that
// share the session store; other callers get an error that says why.
func TestRelayRequests(t *testing.T) {
	store := state.NewMemory(nil)
	instance := func(sessions state.Store) http.Handler {
		p, _ := newProxy(t, &stdio.ProxyOptions{RelayRequests: true})
		return mcplambda.NewHandler(p.Server(), &mcplambda.Options{Sessions: sessions})
	}
	withSessions := httptest.NewServer(&roundRobin{hs: []http.Handler{instance(store), instance(store)}})
	defer withSessions.Close()
	stateless := httptest.NewServer(instance(nil))
	defer stateless.Close()
	p, _ := newProxy(t, nil)
	noRelay := httptest.NewServer(mcplambda.NewHandler(p.Server(), &mcplambda.Options{Sessions: store}))
	defer noRelay.Close()

	for _, tc := range []struct {
		name, url, version string
		want               string
		wantError          bool
	}{
		{"legacy client with sessions", withSessions.URL, "2025-11-25", "Ada | hello, greet Ada | file:///work", false},
		{"2025-06-18", withSessions.URL, "2025-06-18", "Ada | hello, greet Ada | file:///work", false},
		{"2026-07-28 client", withSessions.URL, "2026-07-28", "the caller speaks MCP 2026-07-28", true},
		{"without sessions", stateless.URL, "2025-11-25", "client does not support elicitation", true},
		{"relay off", noRelay.URL, "2025-11-25", "client does not support elicitation", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			client := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, &mcp.ClientOptions{
				ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
				},
				CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
					return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "hello, " + req.Params.Messages[0].Content.(*mcp.TextContent).Text}}, nil
				},
			})
			client.AddRoots(&mcp.Root{URI: "file:///work"})
			cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tc.url + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: tc.version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask"})
			if err != nil {
				t.Fatalf("CallTool(ask): %v", err)
			}
			var text string
			for _, c := range res.Content {
				if tc, ok := c.(*mcp.TextContent); ok {
					text += tc.Text
				}
			}
			if res.IsError != tc.wantError || !strings.Contains(text, tc.want) {
				t.Errorf("ask = %q (isError %v), want %q (isError %v)", text, res.IsError, tc.want, tc.wantError)
			}
		})
	}
}
