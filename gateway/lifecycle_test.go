package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/gateway"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestListChanged: a backend's list_changed reaches the gateway's clients,
// and the gateway asks that backend again, although its last list was
// still fresh by its cache hint.
func TestListChanged(t *testing.T) {
	t.Parallel()
	s := mcp.NewServer(&mcp.Implementation{Name: "changing"}, &mcp.ServerOptions{
		SetCacheable: func(_ context.Context, _ mcp.Request, c *mcp.Cacheable) { c.TTLMs = int(time.Hour.Milliseconds()) },
	})
	add := func(name string) {
		s.AddTool(&mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	}
	add("first")
	backend := httptest.NewServer(mcplambda.NewHandler(s, nil))
	t.Cleanup(backend.Close)
	cfg, err := gateway.Parse("gw.json", []byte(fmt.Sprintf(`{"mcpServers": {"c": {"url": %q}, "echo": {"command": %q}}}`, backend.URL+"/mcp", echoServer)), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })

	// A client with a session of its own, as over stdio.
	changed := make(chan struct{}, 10)
	ct, st := mcp.NewInMemoryTransports()
	if _, err := g.Server().Connect(context.Background(), st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	}).Connect(context.Background(), ct, &mcp.ClientSessionOptions{ProtocolVersion: older})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	if names, _ := toolNames(t, cs); !slices.Contains(names, "c__first") {
		t.Fatalf("tools = %q", names)
	}
	for _, tt := range []struct {
		change func()
		want   string
	}{
		{func() { add("second") }, "c__second"},
		{func() { callText(cs, "echo__add_tool", map[string]any{"name": "third"}) }, "echo__third"},
	} {
		tt.change()
		select {
		case <-changed:
		case <-time.After(10 * time.Second):
			t.Fatalf("no tools list_changed within 10s for %s", tt.want)
		}
		if names, _ := toolNames(t, cs); !slices.Contains(names, tt.want) {
			t.Errorf("tools after list_changed = %q, want %s among them", names, tt.want)
		}
	}
}

// TestDeadline: the gateway answers before the invocation's deadline,
// whatever its backends do: a list with what arrived, naming the backend
// that did not answer; a call to that backend with an error naming it.
func TestDeadline(t *testing.T) {
	t.Parallel()
	var hang atomic.Bool
	s := mcp.NewServer(&mcp.Implementation{Name: "stuck"}, nil)
	s.AddTool(&mcp.Tool{Name: "wait", InputSchema: map[string]any{"type": "object"}}, func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "tools/list" && hang.Load() {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return next(ctx, method, req)
		}
	})
	stuck := httptest.NewServer(mcplambda.NewHandler(s, nil))
	t.Cleanup(stuck.Close)
	alpha, _ := newBackend(t, "alpha", 0)
	cfg, err := gateway.Parse("gw.json", []byte(fmt.Sprintf(`{"mcpServers": {"alpha": {"url": %q}, "stuck": {"url": %q}},
		"gateway": {"timeout": "1m", "listTimeout": "1m"}}`, alpha.URL+"/mcp", stuck.URL+"/mcp")), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	hang.Store(true)
	h := mcplambda.NewLambdaHandler(mcplambda.NewHandler(g.Server(), nil), nil)

	invoke := func(body string) map[string]any {
		t.Helper()
		event, _ := json.Marshal(events.LambdaFunctionURLRequest{
			RawPath: "/mcp", Body: body,
			Headers:        map[string]string{"content-type": "application/json", "accept": "application/json"},
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/mcp"}},
		})
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req"})
		ctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond) // the invocation's deadline
		defer cancel()
		start := time.Now()
		out, err := h.Invoke(ctx, event)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d >= 1500*time.Millisecond {
			t.Errorf("answered after %v, past the invocation's deadline", d)
		}
		var resp events.LambdaFunctionURLResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		var msg map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &msg); err != nil {
			t.Fatalf("response %q: %v", resp.Body, err)
		}
		return msg
	}
	list := invoke(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	b, _ := json.Marshal(list)
	if !strings.Contains(string(b), `"alpha__echo"`) || !strings.Contains(string(b), `"backend":"stuck"`) ||
		!strings.Contains(string(b), `backend \"stuck\": tools/list: no answer before the deadline of the request`) {
		t.Errorf("tools/list with a backend stuck = %s, want alpha's tools and stuck named unavailable", b)
	}
	call := invoke(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stuck__wait","arguments":{}}}`)
	b, _ = json.Marshal(call)
	if !strings.Contains(string(b), `backend \"stuck\": tools/call wait: no answer before the deadline of the request`) {
		t.Errorf("tools/call of a stuck backend = %s, want an error naming it", b)
	}
}
