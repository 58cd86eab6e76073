package mcpproxy_test

//lint:file-ignore SA1019 the tests exercise sampling, roots and logging, deprecated since 2026-07-28 (SEP-2577) but still relayed.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/mcpproxy"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// These tests run the proxy between two real go-sdk peers connected with
// in-memory transports: a remote server that keeps a session (which is
// what a server-to-client request, a log level or a list_changed
// notification of the older protocols needs), and a local client. The
// command's tests run it against real front doors and real clients.

const (
	older = "2025-11-25"
	newer = "2026-07-28"
)

// rootsChanged receives a value when a remote of newRemote hears that the
// client's roots changed.
var rootsChanged = make(chan string, 10)

// newRemote returns a remote server with tools that use the session:
// elicitation, sampling, roots and logging of the older protocols, and an
// input_required round of the newer one.
func newRemote() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "remote", Version: "v9"}, &mcp.ServerOptions{
		Instructions:            "remote instructions",
		RootsListChangedHandler: func(context.Context, *mcp.RootsListChangedRequest) { rootsChanged <- "roots" },
		SubscribeHandler:        func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler:      func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	})
	text := func(format string, args ...any) *mcp.CallToolResult {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, args...)}}}
	}
	add := func(name string, h mcp.ToolHandler) {
		s.AddTool(&mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object"}}, h)
	}
	add("elicit", func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "name?", RequestedSchema: map[string]any{
			"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}})
		if err != nil {
			return nil, err
		}
		return text("Hello, %v!", res.Content["name"]), nil
	})
	add("sample", func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10,
			Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "capital of France?"}}}})
		if err != nil {
			return nil, err
		}
		return text("sampled %s", res.Content.(*mcp.TextContent).Text), nil
	})
	add("roots", func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := req.Session.ListRoots(ctx, nil)
		if err != nil {
			return nil, err
		}
		var uris []string
		for _, r := range res.Roots {
			uris = append(uris, r.URI)
		}
		return text("%d root(s): %s", len(uris), strings.Join(uris, " ")), nil
	})
	add("log", func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: "remote says hi"}); err != nil {
			return nil, err
		}
		return text("logged"), nil
	})
	add("input", func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if r, ok := req.Params.InputResponses["name"].(*mcp.ElicitResult); ok && r.Action == "accept" {
			return text("Hello, %v!", r.Content["name"]), nil
		}
		return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"name": &mcp.ElicitParams{Message: "name?",
			RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}}}, nil
	})
	s.AddResource(&mcp.Resource{URI: "test://watched", Name: "watched"}, func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "watched"}}}, nil
	})
	return s
}

// local is a local client of the proxy and what reached it.
type local struct {
	client  *mcp.Client
	cs      *mcp.ClientSession
	changed chan string
	updated chan string
	logs    chan string
	asked   chan string
}

// setup starts a proxy to remote (asked for remoteProtocol) and connects
// a local client of localProtocol; elicit says whether the local client
// supports elicitation.
func setup(t *testing.T, remote *mcp.Server, remoteProtocol, localProtocol string, elicit bool) (*local, *mcpproxy.Proxy, *failures) {
	t.Helper()
	ctx := context.Background()
	f := &failures{}
	p := mcpproxy.New(&mcpproxy.Options{
		Transport: func() mcp.Transport {
			ct, st := mcp.NewInMemoryTransports()
			if _, err := remote.Connect(ctx, st, nil); err != nil {
				t.Error(err)
			}
			return ct
		},
		ProtocolVersion: remoteProtocol,
		OnFailure:       f.add,
	})
	t.Cleanup(func() { p.Close() })
	l := &local{changed: make(chan string, 10), updated: make(chan string, 10), logs: make(chan string, 10), asked: make(chan string, 10)}
	opts := &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { l.changed <- "tools" },
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) { l.updated <- r.Params.URI },
		LoggingMessageHandler:  func(_ context.Context, r *mcp.LoggingMessageRequest) { l.logs <- fmt.Sprint(r.Params.Data) },
		CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			l.asked <- "sampling"
			return &mcp.CreateMessageResult{Role: "assistant", Model: "m", Content: &mcp.TextContent{Text: "Paris"}}, nil
		},
	}
	if elicit {
		opts.ElicitationHandler = func(_ context.Context, r *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			l.asked <- "elicitation: " + r.Params.Message
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		}
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "local", Version: "v1"}, opts)
	client.AddRoots(&mcp.Root{URI: "file:///tmp/project"})
	l.client = client
	ct, st := mcp.NewInMemoryTransports()
	if _, err := p.Server().Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := client.Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: localProtocol})
	if err != nil {
		t.Fatalf("connecting through the proxy: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	l.cs = cs
	return l, p, f
}

// failures records what the proxy reports.
type failures struct {
	mu   sync.Mutex
	errs []string
}

func (f *failures) add(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err.Error())
}

func (f *failures) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs
}

func call(t *testing.T, cs *mcp.ClientSession, name string) (string, error) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name})
	if err != nil {
		return "", err
	}
	var s []string
	for _, c := range res.Content {
		s = append(s, c.(*mcp.TextContent).Text)
	}
	return strings.Join(s, " "), nil
}

func receive(t *testing.T, what string, c <-chan string) string {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10s", what)
		return ""
	}
}

// TestHandshake: the local client sees the remote's server info,
// instructions and capabilities, whatever the eras.
func TestHandshake(t *testing.T) {
	for _, remote := range []string{older, newer} {
		for _, lp := range []string{older, newer} {
			l, _, _ := setup(t, newRemote(), remote, lp, true)
			res := l.cs.InitializeResult()
			got := []any{res.ServerInfo.Name, res.ServerInfo.Version, res.Instructions, res.Capabilities.Tools != nil,
				res.Capabilities.Resources != nil && res.Capabilities.Resources.Subscribe, res.Capabilities.Prompts != nil, res.ProtocolVersion}
			want := []any{"remote", "v9", "remote instructions", true, true, false, lp}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("remote %s, local %s: handshake (-want +got):\n%s", remote, lp, diff)
			}
		}
	}
}

// TestOlderRemoteRequests: the requests a remote of the older protocol
// sends in the middle of a tool call (elicitation, sampling, roots) reach
// an older local client, and its log messages, list_changed and
// resources/updated notifications too.
func TestOlderRemoteRequests(t *testing.T) {
	remote := newRemote()
	l, _, f := setup(t, remote, older, older, true)
	ctx := context.Background()
	tests := []struct{ tool, want, asked string }{
		{"elicit", "Hello, Ada!", "elicitation: name?"},
		{"sample", "sampled Paris", "sampling"},
		{"roots", "1 root(s): file:///tmp/project", ""},
	}
	for _, tt := range tests {
		got, err := call(t, l.cs, tt.tool)
		if err != nil || got != tt.want {
			t.Errorf("CallTool(%s) = %q, %v; want %q", tt.tool, got, err, tt.want)
		}
		if tt.asked != "" {
			if got := receive(t, "request to the local client", l.asked); got != tt.asked {
				t.Errorf("CallTool(%s): the local client was asked %q, want %q", tt.tool, got, tt.asked)
			}
		}
	}

	if err := l.cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}
	if got, err := call(t, l.cs, "log"); err != nil || got != "logged" {
		t.Errorf("CallTool(log) = %q, %v", got, err)
	}
	if got := receive(t, "log message", l.logs); got != "remote says hi" {
		t.Errorf("log message = %q", got)
	}

	remote.AddTool(&mcp.Tool{Name: "late", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "late"}}}, nil
	})
	receive(t, "tools list_changed", l.changed)
	if got, err := call(t, l.cs, "late"); err != nil || got != "late" {
		t.Errorf("CallTool(late) after list_changed = %q, %v", got, err)
	}

	if err := l.cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "test://watched"}); err != nil {
		t.Fatal(err)
	}
	remote.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: "test://watched"})
	if got := receive(t, "resources/updated", l.updated); got != "test://watched" {
		t.Errorf("resources/updated for %q", got)
	}
	// The local client's roots change: the remote hears of it, and sees
	// the new roots.
	l.client.AddRoots(&mcp.Root{URI: "file:///tmp/other"})
	receive(t, "roots list_changed at the remote", rootsChanged)
	if got, err := call(t, l.cs, "roots"); err != nil || got != "2 root(s): file:///tmp/other file:///tmp/project" {
		t.Errorf("CallTool(roots) after a change = %q, %v", got, err)
	}

	if errs := f.get(); len(errs) > 0 {
		t.Errorf("failures reported: %q", errs)
	}
}

// TestNewerLocalListChanged: a 2026-07-28 local client subscribed with
// subscriptions/listen hears about a change of the remote's tools.
func TestNewerLocalListChanged(t *testing.T) {
	remote := newRemote()
	l, _, _ := setup(t, remote, newer, newer, true)
	remote.AddTool(&mcp.Tool{Name: "late", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	receive(t, "tools list_changed", l.changed)
}

// TestInputRequired: an input_required result of a 2026-07-28 remote
// reaches a 2026-07-28 local client as it is (go-sdk's client answers it),
// and an older local client as an elicitation request; an older local
// client without elicitation gets -32021.
func TestInputRequired(t *testing.T) {
	for _, lp := range []string{newer, older} {
		l, _, _ := setup(t, newRemote(), newer, lp, true)
		if got, err := call(t, l.cs, "input"); err != nil || got != "Hello, Ada!" {
			t.Errorf("local %s: CallTool(input) = %q, %v", lp, got, err)
		}
		if got := receive(t, "elicitation", l.asked); got != "elicitation: name?" {
			t.Errorf("local %s: asked %q", lp, got)
		}
	}
	l, _, f := setup(t, newRemote(), newer, older, false)
	_, err := call(t, l.cs, "input")
	var je *jsonrpc.Error
	if !errors.As(err, &je) || je.Code != mcp.CodeMissingRequiredClientCapabilities || !strings.Contains(je.Message, "elicitation") {
		t.Errorf("CallTool(input) without elicitation = %v, want -32021 naming elicitation", err)
	}
	if errs := f.get(); len(errs) > 0 {
		t.Errorf("a client's missing capability is not a failure of the proxy: %q", errs)
	}
}

// TestCannotBridge: a server-to-client request of an older remote cannot
// reach a 2026-07-28 local client.
func TestCannotBridge(t *testing.T) {
	l, _, _ := setup(t, newRemote(), older, newer, true)
	if _, err := call(t, l.cs, "elicit"); err == nil || !strings.Contains(err.Error(), "allows no server-to-client requests") {
		t.Errorf("CallTool(elicit) = %v, want an error saying why", err)
	}
}

// TestUnreachable: a remote the proxy cannot connect to fails the local
// client's handshake with the explanation, reported once; the proxy
// connects on the next attempt once the remote is back.
func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	down := true
	var reports []string
	remote := newRemote()
	p := mcpproxy.New(&mcpproxy.Options{
		Transport: func() mcp.Transport {
			mu.Lock()
			defer mu.Unlock()
			if down {
				return unreachable{}
			}
			ct, st := mcp.NewInMemoryTransports()
			remote.Connect(ctx, st, nil)
			return ct
		},
		Explain: func(_ context.Context, op string, err error) error {
			return fmt.Errorf("proxy: %s: %v", op, err)
		},
		OnFailure: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, err.Error())
		},
	})
	defer p.Close()
	connect := func() (*mcp.ClientSession, error) {
		ct, st := mcp.NewInMemoryTransports()
		if _, err := p.Server().Connect(ctx, st, nil); err != nil {
			t.Fatal(err)
		}
		return mcp.NewClient(&mcp.Implementation{Name: "local"}, nil).Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: older})
	}
	_, err := connect()
	var je *jsonrpc.Error
	if !errors.As(err, &je) || je.Code != jsonrpc.CodeInternalError || je.Message != "proxy: connecting: connection refused" {
		t.Errorf("connecting while the remote is down = %v, want -32603 with the explanation", err)
	}
	mu.Lock()
	if diff := cmp.Diff([]string{"proxy: connecting: connection refused"}, reports); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	down = false
	mu.Unlock()
	cs, err := connect()
	if err != nil {
		t.Fatalf("connecting once the remote is up: %v", err)
	}
	defer cs.Close()
	if got, err := call(t, cs, "log"); err != nil || got != "logged" {
		t.Errorf("CallTool(log) = %q, %v", got, err)
	}
}

// unreachable is a transport to a remote that does not answer.
type unreachable struct{}

func (unreachable) Connect(context.Context) (mcp.Connection, error) {
	return nil, errors.New("connection refused")
}

func ExampleNew() {
	ctx := context.Background()
	// The remote: any MCP server, here in memory.
	remote := mcp.NewServer(&mcp.Implementation{Name: "remote", Version: "v1"}, nil)
	mcp.AddTool(remote, &mcp.Tool{Name: "hello"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hello from the remote"}}}, nil, nil
	})
	p := mcpproxy.New(&mcpproxy.Options{Transport: func() mcp.Transport {
		ct, st := mcp.NewInMemoryTransports()
		remote.Connect(ctx, st, nil)
		return ct
	}})
	defer p.Close()

	// A local client of the proxy.
	ct, st := mcp.NewInMemoryTransports()
	p.Server().Connect(ctx, st, nil)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "local"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		panic(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "hello"})
	if err != nil {
		panic(err)
	}
	fmt.Println(cs.InitializeResult().ServerInfo.Name, res.Content[0].(*mcp.TextContent).Text)
	// Output: remote hello from the remote
}
