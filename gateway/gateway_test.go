package gateway_test

//lint:file-ignore SA1019 the tests relay log messages, deprecated since 2026-07-28 (SEP-2577) but sent by servers of every era.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/gateway"
	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tests put a gateway, served over HTTP by mcplambda.NewHandler as in
// Lambda, in front of real backends: go-sdk servers behind mcplambda's
// HTTP handler on httptest listeners, and a real stdio server
// (stdio/testdata/echoserver, built by TestMain) run by package stdio.
// Clients are go-sdk's, of both protocol eras. The command's tests run
// the whole thing under mcplambda dev, with a Lambda backend, the
// reference server-everything and the TypeScript SDK's client.

var echoServer string // stdio/testdata/echoserver

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gateway-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoServer = filepath.Join(dir, "echoserver")
	build := exec.Command("go", "build", "-o", echoServer, "../stdio/testdata/echoserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building echoserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	older = "2025-11-25"
	newer = "2026-07-28"
)

// seen is what a backend saw of the requests it served.
type seen struct {
	mu            sync.Mutex
	authorization []string // the Authorization header of each tools/call
	principals    []any    // the principal _meta of each tools/call
}

func (s *seen) get() ([]string, []any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.authorization), slices.Clone(s.principals)
}

// newBackend starts an HTTP backend named name, whose list results are
// fresh for ttl: tools echo, whoami, slow, progress, link and secret, a
// resource, a template and a prompt.
func newBackend(t testing.TB, name string, ttl time.Duration) (*httptest.Server, *seen) {
	t.Helper()
	sn := &seen{}
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "v1"}, &mcp.ServerOptions{
		Instructions: "the " + name + " backend",
		SetCacheable: func(_ context.Context, _ mcp.Request, c *mcp.Cacheable) { c.TTLMs = int(ttl.Milliseconds()) },
	})
	text := func(s string) *mcp.CallToolResult {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
	}
	tool := func(tool string, h mcp.ToolHandler) {
		s.AddTool(&mcp.Tool{Name: tool, Description: name + " " + tool, InputSchema: map[string]any{"type": "object"}},
			func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				sn.mu.Lock()
				sn.authorization = append(sn.authorization, req.Extra.Header.Get("Authorization"))
				sn.principals = append(sn.principals, req.Params.Meta[gateway.MetaKeyPrincipal])
				sn.mu.Unlock()
				return h(ctx, req)
			})
	}
	tool("echo", func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return text(name + " echo"), nil
	})
	tool("secret", func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return text("secret"), nil })
	tool("slow", func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	tool("progress", func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		for i := 1; i <= 2; i++ {
			req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: req.Params.GetProgressToken(), Progress: float64(i), Total: 2})
		}
		return text("progressed"), nil
	})
	tool("log", func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: "tool", Data: "hi from " + name})
		return text("logged"), nil
	})
	tool("link", func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{
			&mcp.ResourceLink{URI: "test://" + name + "/doc", Name: "doc"},
			&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "test://" + name + "/doc", Text: "embedded"}},
		}}, nil
	})
	s.AddResource(&mcp.Resource{URI: "test://" + name + "/doc", Name: "doc", MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: name + " doc"}}}, nil
		})
	s.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "test://" + name + "/items/{id}", Name: "item"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "item of " + name}}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "greet"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello from " + name}}}}, nil
	})
	srv := httptest.NewServer(mcplambda.NewHandler(s, nil))
	t.Cleanup(srv.Close)
	return srv, sn
}

// startGateway starts the gateway of config (a JSON document) behind
// mcplambda's HTTP handler and returns its MCP endpoint.
func startGateway(t testing.TB, config string) (string, *gateway.Gateway, *syncio.Buffer) {
	t.Helper()
	cfg, err := gateway.Parse("gw.json", []byte(config), nil)
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(syncio.Buffer)
	g, err := gateway.New(context.Background(), cfg, &gateway.Options{Stderr: stderr})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	srv := httptest.NewServer(mcplambda.NewHandler(g.Server(), &mcplambda.Options{Middleware: g.Middleware()}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp", g, stderr
}

// connect returns a client session with the gateway at url, speaking
// protocol; progress notifications go to progress.
func connect(t testing.TB, url, protocol string, progress chan<- string, header http.Header) *mcp.ClientSession {
	t.Helper()
	opts := &mcp.ClientOptions{}
	if progress != nil {
		opts.ProgressNotificationHandler = func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			progress <- fmt.Sprintf("%v %v/%v", req.Params.ProgressToken, req.Params.Progress, req.Params.Total)
		}
	}
	client := &http.Client{Transport: &headers{h: header, base: http.DefaultTransport}}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, opts).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: url, HTTPClient: client, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		t.Fatalf("Connect(%s, %s): %v", url, protocol, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

type headers struct {
	h    http.Header
	base http.RoundTripper
}

func (t *headers) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.h {
		r.Header[k] = v
	}
	return t.base.RoundTrip(r)
}

func toolNames(t *testing.T, cs *mcp.ClientSession) ([]string, *mcp.ListToolsResult) {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("ListTools: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names, res
}

func callText(cs *mcp.ClientSession, name string, args map[string]any) (string, error) {
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	var s []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			s = append(s, tc.Text)
		}
	}
	return strings.Join(s, " "), nil
}

// TestGateway: one endpoint for an HTTP backend, another HTTP backend
// with a tool filter and a prefix of its own, and a stdio backend, for
// clients of both eras: lists merged and namespaced in the order of the
// file, calls routed, URIs rewritten, progress relayed.
func TestGateway(t *testing.T) {
	t.Parallel()
	alpha, _ := newBackend(t, "alpha", time.Minute)
	beta, _ := newBackend(t, "beta", time.Minute)
	url, g, _ := startGateway(t, fmt.Sprintf(`{"mcpServers": {
		"alpha": {"url": %q},
		"Beta Server": {"type": "http", "url": %q, "prefix": "b", "denyTools": ["secret", "sl*"]},
		"echo": {"command": %q}
	}, "gateway": {"name": "test-gateway", "instructions": "three backends"}}`, alpha.URL+"/mcp", beta.URL+"/mcp", echoServer))

	var statuses []string
	for _, st := range g.Status() {
		if st.Name == "echo" && st.Tools > 0 {
			st.Tools = -1 // the echo server's own tools, however many
		}
		statuses = append(statuses, fmt.Sprintf("%s %s %v %d", st.Name, st.ProtocolVersion, st.Err, st.Tools))
	}
	if diff := cmp.Diff([]string{"alpha 2026-07-28 <nil> 6", "Beta Server 2026-07-28 <nil> 4", "echo 2026-07-28 <nil> -1"}, statuses); diff != "" {
		t.Errorf("Status() (-want +got):\n%s", diff)
	}

	for _, protocol := range []string{newer, older} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			progress := make(chan string, 10)
			cs := connect(t, url, protocol, progress, nil)
			init := cs.InitializeResult()
			if init.ServerInfo.Name != "test-gateway" || !strings.HasPrefix(init.Instructions, "three backends\n\nalpha: the alpha backend") {
				t.Errorf("handshake: server %q, instructions %q", init.ServerInfo.Name, init.Instructions)
			}
			names, _ := toolNames(t, cs)
			got := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return strings.HasPrefix(n, "echo__") })
			slices.Sort(got)
			if diff := cmp.Diff([]string{"alpha__echo", "alpha__link", "alpha__log", "alpha__progress", "alpha__secret", "alpha__slow",
				"b__echo", "b__link", "b__log", "b__progress"}, got); diff != "" {
				t.Errorf("tools of the HTTP backends (-want +got):\n%s", diff)
			}
			if i, j := slices.Index(names, "b__echo"), slices.Index(names, "echo__echo"); i < slices.Index(names, "alpha__echo") || j < i {
				t.Errorf("tools not in the order of the file: %q", names)
			}

			for name, want := range map[string]string{"alpha__echo": "alpha echo", "b__echo": "beta echo", "echo__echo": "Echo: hi"} {
				if got, err := callText(cs, name, map[string]any{"message": "hi"}); err != nil || got != want {
					t.Errorf("CallTool(%s) = %q, %v; want %q", name, got, err, want)
				}
			}
			for _, name := range []string{"b__secret", "b__slow", "nope__echo", "echo"} {
				_, err := callText(cs, name, nil)
				var je *jsonrpc.Error
				if !errors.As(err, &je) || je.Code != jsonrpc.CodeInvalidParams || !strings.Contains(je.Message, "unknown tool") {
					t.Errorf("CallTool(%s) = %v, want -32602 unknown tool", name, err)
				}
			}

			// URIs in lists, reads and results carry the prefix.
			res, err := cs.ListResources(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var uris []string
			for _, r := range res.Resources {
				uris = append(uris, r.URI+" "+r.Name)
			}
			if diff := cmp.Diff([]string{"alpha+test://alpha/doc alpha__doc", "b+test://beta/doc b__doc", "echo+test://static echo__static"}, uris); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			tmpl, err := cs.ListResourceTemplates(ctx, nil)
			if err != nil || len(tmpl.ResourceTemplates) != 3 || tmpl.ResourceTemplates[1].URITemplate != "b+test://beta/items/{id}" {
				t.Errorf("ListResourceTemplates = %v, %v", tmpl, err)
			}
			read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "b+test://beta/items/7"})
			if err != nil || read.Contents[0].URI != "b+test://beta/items/7" || read.Contents[0].Text != "item of beta" {
				t.Errorf("ReadResource(b+test://beta/items/7) = %+v, %v", read, err)
			}
			if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "zz+test://nothing"}); err == nil {
				t.Errorf("ReadResource of no backend's URI succeeded")
			}
			link, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "alpha__link"})
			if err != nil {
				t.Fatal(err)
			}
			if l, e := link.Content[0].(*mcp.ResourceLink), link.Content[1].(*mcp.EmbeddedResource); l.URI != "alpha+test://alpha/doc" || e.Resource.URI != "alpha+test://alpha/doc" {
				t.Errorf("resource link %q and embedded resource %q, want alpha+test://alpha/doc", l.URI, e.Resource.URI)
			}
			prompts, err := cs.ListPrompts(ctx, nil)
			if err != nil || len(prompts.Prompts) != 3 || prompts.Prompts[0].Name != "alpha__greet" {
				t.Errorf("ListPrompts = %v, %v", prompts, err)
			}
			prompt, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "b__greet"})
			if err != nil || prompt.Messages[0].Content.(*mcp.TextContent).Text != "hello from beta" {
				t.Errorf("GetPrompt(b__greet) = %v, %v", prompt, err)
			}

			// Progress, with the caller's token, from an HTTP and a stdio
			// backend.
			for _, tt := range []struct {
				tool string
				args map[string]any
				want []string
			}{
				{"alpha__progress", nil, []string{"tok 1/2", "tok 2/2"}},
				{"echo__progress", map[string]any{"steps": 2}, []string{"tok 1/2", "tok 2/2"}},
			} {
				params := &mcp.CallToolParams{Name: tt.tool, Arguments: tt.args}
				params.SetProgressToken("tok")
				if _, err := cs.CallTool(ctx, params); err != nil {
					t.Fatalf("CallTool(%s): %v", tt.tool, err)
				}
				var got []string
				for range tt.want {
					select {
					case p := <-progress:
						got = append(got, p)
					case <-time.After(10 * time.Second):
						t.Fatalf("CallTool(%s): no progress within 10s, got %q", tt.tool, got)
					}
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("CallTool(%s) progress (-want +got):\n%s", tt.tool, diff)
				}
			}
		})
	}
}

// TestCacheHints: a merged list may be cached no longer than the
// shortest-lived part: as long as the backend with the shortest ttlMs
// allows, less the age of its part; with a backend that gives no hint,
// not at all.
func TestCacheHints(t *testing.T) {
	t.Parallel()
	long, _ := newBackend(t, "long", time.Hour)
	short, _ := newBackend(t, "short", 20*time.Second)
	url, _, _ := startGateway(t, fmt.Sprintf(`{"mcpServers": {"long": {"url": %q}, "short": {"url": %q}}}`, long.URL+"/mcp", short.URL+"/mcp"))
	cs := connect(t, url, newer, nil, nil)
	_, res := toolNames(t, cs)
	if res.TTLMs <= 0 || res.TTLMs > 20000 || res.CacheScope != "public" {
		t.Errorf("ttlMs %d, cacheScope %q: want at most the shorter backend's 20000, public", res.TTLMs, res.CacheScope)
	}

	url, _, _ = startGateway(t, fmt.Sprintf(`{"mcpServers": {"long": {"url": %q}, "echo": {"command": %q}}}`, long.URL+"/mcp", echoServer))
	cs = connect(t, url, newer, nil, nil)
	if _, res := toolNames(t, cs); res.TTLMs != 0 {
		t.Errorf("ttlMs %d with a backend that gives no cache hint, want 0", res.TTLMs)
	}
}

// TestFailureIsolation: a backend that is down, or too slow, fails only
// its own calls, with an error naming it; lists answer with the others'
// items and name the missing backend.
func TestFailureIsolation(t *testing.T) {
	t.Parallel()
	alpha, _ := newBackend(t, "alpha", 0)
	beta, _ := newBackend(t, "beta", 0)
	url, _, _ := startGateway(t, fmt.Sprintf(`{"mcpServers": {
		"alpha": {"url": %q, "timeout": "300ms"},
		"beta": {"url": %q},
		"echo": {"command": %q, "timeout": "300ms"}
	}, "gateway": {"retryAfter": "1h"}}`, alpha.URL+"/mcp", beta.URL+"/mcp", echoServer))
	cs := connect(t, url, newer, nil, nil)

	for _, tt := range []struct{ tool, want string }{
		{"alpha__slow", `mcplambda gateway: backend "alpha": tools/call slow: no answer within 300ms (the backend's timeout)`},
		{"echo__hang", `mcplambda gateway: backend "echo": tools/call hang: `},
	} {
		_, err := callText(cs, tt.tool, nil)
		var je *jsonrpc.Error
		if !errors.As(err, &je) || je.Code != jsonrpc.CodeInternalError || !strings.HasPrefix(je.Message, tt.want) {
			t.Errorf("CallTool(%s) = %v, want -32603 %q", tt.tool, err, tt.want)
		}
	}
	if got, err := callText(cs, "beta__echo", nil); err != nil || got != "beta echo" {
		t.Errorf("CallTool(beta__echo) while alpha is slow = %q, %v", got, err)
	}

	beta.CloseClientConnections()
	beta.Close()
	_, err := callText(cs, "beta__echo", nil)
	var je *jsonrpc.Error
	if !errors.As(err, &je) || je.Code != jsonrpc.CodeInternalError || !strings.HasPrefix(je.Message, `mcplambda gateway: backend "beta": tools/call echo: `) {
		t.Errorf("CallTool(beta__echo) with beta down = %v, want -32603 naming the backend", err)
	}
	for _, name := range []string{"alpha__echo", "echo__echo"} {
		if _, err := callText(cs, name, map[string]any{"message": "x"}); err != nil {
			t.Errorf("CallTool(%s) with beta down: %v", name, err)
		}
	}
	names, res := toolNames(t, cs)
	if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "beta__") }) || !slices.Contains(names, "alpha__echo") || !slices.Contains(names, "echo__echo") {
		t.Errorf("tools with beta down = %q, want alpha's and echo's only", names)
	}
	var missing []map[string]string
	b, _ := json.Marshal(res.Meta[gateway.MetaKeyUnavailable])
	json.Unmarshal(b, &missing)
	if len(missing) != 1 || missing[0]["backend"] != "beta" || !strings.Contains(missing[0]["error"], `backend "beta"`) {
		t.Errorf("_meta[%s] = %s, want beta and why", gateway.MetaKeyUnavailable, b)
	}
	if res.TTLMs != 0 {
		t.Errorf("ttlMs %d with a backend missing, want 0", res.TTLMs)
	}
}

// TestUnreachableAtStart: a backend that is down at start does not stop
// the gateway; it is missing from lists, its calls fail at once while it
// waits to retry, and the others serve.
func TestUnreachableAtStart(t *testing.T) {
	t.Parallel()
	alpha, _ := newBackend(t, "alpha", 0)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	url, g, _ := startGateway(t, fmt.Sprintf(`{"mcpServers": {"alpha": {"url": %q}, "dead": {"url": %q}}, "gateway": {"retryAfter": "1h"}}`,
		alpha.URL+"/mcp", dead.URL+"/mcp"))
	if st := g.Status(); st[0].Err != nil || st[1].Err == nil || !strings.Contains(st[1].Err.Error(), `backend "dead": connecting: `) {
		t.Errorf("Status() = %+v, want alpha ready and dead unavailable", st)
	}
	cs := connect(t, url, older, nil, nil)
	if names, _ := toolNames(t, cs); len(names) != 6 {
		t.Errorf("tools = %q, want alpha's 6", names)
	}
	_, err := callText(cs, "dead__echo", nil)
	if err == nil || !strings.Contains(err.Error(), `backend "dead": connecting: unavailable (next attempt in `) {
		t.Errorf("CallTool(dead__echo) = %v, want a failure naming the backend, without a new attempt", err)
	}
}

// TestCollision: the gateway refuses to start when the backend without a
// prefix lists a name that another backend's prefix claims.
func TestCollision(t *testing.T) {
	t.Parallel()
	alpha, _ := newBackend(t, "alpha", 0)
	cfg, err := gateway.Parse("gw.json", []byte(fmt.Sprintf(`{"mcpServers": {"plain": {"command": %q, "prefix": ""}, "echo": {"url": %q}}}`,
		echoServer, alpha.URL+"/mcp")), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The echo server, served without a prefix, has a tool "echo" but no
	// "echo__...": no collision yet.
	g, err := gateway.New(context.Background(), cfg, &gateway.Options{Stderr: new(syncio.Buffer)})
	if err != nil {
		t.Fatalf("New without a collision: %v", err)
	}
	// Now it lists echo__x, which backend "echo" (prefix echo) claims.
	cs := connect(t, serve(t, g), newer, nil, nil)
	if _, err := callText(cs, "add_tool", map[string]any{"name": "echo__x"}); err != nil {
		t.Fatal(err)
	}
	if names, _ := toolNames(t, cs); slices.Contains(names, "echo__x") {
		t.Errorf("a tool another backend's prefix claims is listed: %q", names)
	}
	g.Close()

	// A backend without a prefix that lists such a name at start.
	other, _ := newBackend(t, "other", 0)
	collide := mcp.NewServer(&mcp.Implementation{Name: "c"}, nil)
	collide.AddTool(&mcp.Tool{Name: "other__thing", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{}, nil
	})
	csrv := httptest.NewServer(mcplambda.NewHandler(collide, nil))
	t.Cleanup(csrv.Close)
	cfg, err = gateway.Parse("gw.json", []byte(fmt.Sprintf(`{"mcpServers": {"plain": {"url": %q, "prefix": ""}, "other": {"url": %q}}}`,
		csrv.URL+"/mcp", other.URL+"/mcp")), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = gateway.New(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), `name collision: backend "plain" (no prefix) lists "other__thing", which names backend "other"'s prefix "other"`) {
		t.Errorf("New with a collision = %v, want a refusal naming both backends", err)
	}
}

// serve serves g over HTTP and returns its endpoint.
func serve(t *testing.T, g *gateway.Gateway) string {
	srv := httptest.NewServer(mcplambda.NewHandler(g.Server(), &mcplambda.Options{Middleware: g.Middleware()}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

// TestTransparent: a gateway of one backend without a prefix is the
// backend: its server info, and its lists page as it pages them.
func TestTransparent(t *testing.T) {
	t.Parallel()
	s := mcp.NewServer(&mcp.Implementation{Name: "paged", Version: "v7"}, &mcp.ServerOptions{PageSize: 2})
	for i := range 5 {
		s.AddTool(&mcp.Tool{Name: fmt.Sprintf("t%d", i), InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{}, nil
		})
	}
	backend := httptest.NewServer(mcplambda.NewHandler(s, nil))
	t.Cleanup(backend.Close) // after the gateway's, which holds a stream open
	url, _, _ := startGateway(t, fmt.Sprintf(`{"mcpServers": {"only": {"url": %q, "prefix": ""}}}`, backend.URL+"/mcp"))
	for _, protocol := range []string{newer, older} {
		cs := connect(t, url, protocol, nil, nil)
		if info := cs.InitializeResult().ServerInfo; info.Name != "paged" || info.Version != "v7" {
			t.Errorf("%s: server info %+v, want the backend's", protocol, info)
		}
		res, err := cs.ListTools(context.Background(), nil)
		if err != nil || len(res.Tools) != 2 || res.NextCursor == "" {
			t.Errorf("%s: first page = %+v, %v; want 2 tools and a cursor", protocol, res, err)
		}
		var all []string
		for tool, err := range cs.Tools(context.Background(), nil) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, tool.Name)
		}
		if diff := cmp.Diff([]string{"t0", "t1", "t2", "t3", "t4"}, all); diff != "" {
			t.Errorf("%s: all pages (-want +got):\n%s", protocol, diff)
		}
	}
}

// TestLogs: a backend's log messages reach the caller that asked for them
// (a 2026-07-28 client, with the level in the request's _meta), as they
// arrive, with the backend named in the logger.
func TestLogs(t *testing.T) {
	t.Parallel()
	alpha, _ := newBackend(t, "alpha", 0)
	url, _, _ := startGateway(t, fmt.Sprintf(`{"mcpServers": {"alpha": {"url": %q}}}`, alpha.URL+"/mcp"))
	logs := make(chan string, 10)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			logs <- fmt.Sprintf("%s %s: %v", req.Params.Level, req.Params.Logger, req.Params.Data)
		},
	}).Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "alpha__log", Meta: mcp.Meta{mcp.MetaKeyLogLevel: "info"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-logs:
		if got != "info alpha/tool: hi from alpha" {
			t.Errorf("log message %q, want the backend's, named alpha/tool", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no log message within 10s")
	}
}
