package stdio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/stdio"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const meta2026 = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}`

// TestDirectInvoke forwards every kind of request through a direct
// invoke, in both protocol eras, and compares the results.
func TestDirectInvoke(t *testing.T) {
	t.Parallel()
	p, _ := newProxy(t, nil)
	h := lambdaHandler(p, nil)
	tests := []struct {
		name    string
		payload string
		want    string // the result, as JSON; "" to skip
		check   func(t *testing.T, result json.RawMessage)
	}{
		{
			name:    "tools/call",
			payload: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}`,
			want:    `{"content":[{"type":"text","text":"Echo: hi"}]}`,
		},
		{
			name:    "tools/call 2026-07-28",
			payload: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"new"},` + meta2026 + `}}`,
			check: func(t *testing.T, r json.RawMessage) {
				if !strings.Contains(string(r), `"text":"Echo: new"`) {
					t.Errorf("result %s, want Echo: new", r)
				}
			},
		},
		{
			name:    "resources/read listed",
			payload: `{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"test://static"}}`,
			want:    `{"contents":[{"uri":"test://static","mimeType":"text/plain","text":"static content"}],"cacheScope":"public","ttlMs":0}`,
		},
		{
			name:    "resources/read template",
			payload: `{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"test://items/42"}}`,
			want:    `{"contents":[{"uri":"test://items/42","text":"item 42"}],"cacheScope":"public","ttlMs":0}`,
		},
		{
			name:    "prompts/get",
			payload: `{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"greet","arguments":{"name":"Ada"}}}`,
			want:    `{"messages":[{"content":{"type":"text","text":"Hello, Ada!"},"role":"user"}]}`,
		},
		{
			name:    "completion/complete",
			payload: `{"jsonrpc":"2.0","id":6,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"name","value":"al"}}}`,
			want:    `{"completion":{"total":2,"values":["alice","albert"]}}`,
		},
		{
			name:    "tools/list",
			payload: `{"jsonrpc":"2.0","id":7,"method":"tools/list"}`,
			check: func(t *testing.T, r json.RawMessage) {
				var res struct {
					Tools []struct {
						Name        string         `json:"name"`
						InputSchema map[string]any `json:"inputSchema"`
					} `json:"tools"`
				}
				json.Unmarshal(r, &res)
				var names []string
				for _, tool := range res.Tools {
					names = append(names, tool.Name)
					if tool.Name == "echo" && tool.InputSchema["properties"] == nil {
						t.Errorf("echo's input schema %v lost its properties", tool.InputSchema)
					}
				}
				slices.Sort(names)
				want := []string{"add_tool", "ask", "big", "crash", "echo", "env", "exit_soon", "garbage", "hang", "pid", "progress", "slow", "spawn", "stderr"}
				if diff := cmp.Diff(want, names); diff != "" {
					t.Errorf("tools (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:    "resources/list",
			payload: `{"jsonrpc":"2.0","id":8,"method":"resources/list"}`,
			check: func(t *testing.T, r json.RawMessage) {
				if !strings.Contains(string(r), `"uri":"test://static"`) {
					t.Errorf("resources/list = %s, want test://static", r)
				}
			},
		},
		{
			name:    "resources/templates/list",
			payload: `{"jsonrpc":"2.0","id":9,"method":"resources/templates/list"}`,
			check: func(t *testing.T, r json.RawMessage) {
				if !strings.Contains(string(r), `"uriTemplate":"test://items/{id}"`) {
					t.Errorf("resources/templates/list = %s, want test://items/{id}", r)
				}
			},
		},
		{
			name:    "prompts/list",
			payload: `{"jsonrpc":"2.0","id":10,"method":"prompts/list"}`,
			check: func(t *testing.T, r json.RawMessage) {
				if !strings.Contains(string(r), `"name":"greet"`) {
					t.Errorf("prompts/list = %s, want greet", r)
				}
			},
		},
		{
			name:    "initialize",
			payload: `{"jsonrpc":"2.0","id":11,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
			check: func(t *testing.T, r json.RawMessage) {
				var res mcp.InitializeResult
				json.Unmarshal(r, &res)
				if res.ServerInfo == nil || res.ServerInfo.Name != "echoserver" || res.Instructions != "Echoes." || res.Capabilities.Completions == nil {
					t.Errorf("initialize = %s, want the child's server info, instructions and capabilities", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := invoke(t, h, context.Background(), tt.payload)
			if r.Error != nil {
				t.Fatalf("Invoke(%s) error %d: %s", tt.payload, r.Error.Code, r.Error.Message)
			}
			if tt.want != "" {
				var got, want any
				json.Unmarshal(r.Result, &got)
				json.Unmarshal([]byte(tt.want), &want)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Invoke(%s) result mismatch (-want +got):\n%s", tt.payload, diff)
				}
			}
			if tt.check != nil {
				tt.check(t, r.Result)
			}
		})
	}

	t.Run("notification", func(t *testing.T) {
		out, err := h.Invoke(context.Background(), []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
		if err != nil || string(out) != "{}" {
			t.Errorf("Invoke(notification) = %s, %v; want {}", out, err)
		}
	})
	t.Run("child error passes through", func(t *testing.T) {
		r := invoke(t, h, context.Background(), `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope","arguments":{}}}`)
		if r.Error == nil || r.Error.Code != -32602 {
			t.Errorf("unknown tool: %+v, want error -32602", r)
		}
	})
}

// TestFrontDoors calls a tool through every HTTP front door's event.
func TestFrontDoors(t *testing.T) {
	t.Parallel()
	p, _ := newProxy(t, nil)
	h := lambdaHandler(p, nil)
	for _, door := range []string{"url", "httpapi", "rest", "alb"} {
		t.Run(door, func(t *testing.T) {
			status, body := invokeDoor(t, h, context.Background(), door, callTool(1, "echo", map[string]string{"message": door}), "application/json", "")
			if status != 200 {
				t.Fatalf("%s: status %d, body %s", door, status, body)
			}
			var r rpcResponse
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("%s: body %q: %v", door, body, err)
			}
			if got, want := toolText(t, r), "Echo: "+door; got != want {
				t.Errorf("%s: echo = %q, want %q", door, got, want)
			}
			// A crash mid-request is a JSON-RPC error in a 200 response;
			// the next request gets a new process.
			status, body = invokeDoor(t, h, context.Background(), door, callTool(2, "crash", nil), "application/json", "")
			if status != 200 || !strings.Contains(body, `"code":-32603`) || !strings.Contains(body, "exited") {
				t.Errorf("%s: crash: status %d body %s, want 200 with a -32603 error", door, status, body)
			}
			status, body = invokeDoor(t, h, context.Background(), door, callTool(3, "echo", map[string]string{"message": "again"}), "application/json", "")
			if status != 200 || !strings.Contains(body, "Echo: again") {
				t.Errorf("%s: after crash: status %d body %s", door, status, body)
			}
		})
	}
}

// TestGoClient talks to the proxy with go-sdk's own client over HTTP, in
// both protocol eras, including progress notifications relayed from the
// child.
func TestGoClient(t *testing.T) {
	t.Parallel()
	p, _ := newProxy(t, nil)
	srv := httptest.NewServer(mcplambda.NewHandler(p.Server(), nil))
	defer srv.Close()
	for _, version := range []string{"2026-07-28", "2025-11-25", "2025-03-26"} {
		t.Run(version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			progress := make(chan string, 10)
			client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, &mcp.ClientOptions{
				ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
					progress <- fmt.Sprintf("%v:%s", req.Params.ProgressToken, req.Params.Message)
				},
			})
			cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: version})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]string{"message": "go"}})
			if err != nil || res.Content[0].(*mcp.TextContent).Text != "Echo: go" {
				t.Fatalf("CallTool(echo) = %v, %v", res, err)
			}
			params := &mcp.CallToolParams{Name: "progress", Arguments: map[string]int{"steps": 3}}
			params.SetProgressToken("tok-1")
			if _, err := cs.CallTool(ctx, params); err != nil {
				t.Fatalf("CallTool(progress): %v", err)
			}
			// go-sdk's client delivers notifications asynchronously.
			var got []string
			for len(got) < 3 {
				select {
				case m := <-progress:
					got = append(got, m)
				case <-ctx.Done():
					t.Fatalf("progress notifications = %q, want 3", got)
				}
			}
			if want := []string{"tok-1:step 1", "tok-1:step 2", "tok-1:step 3"}; !cmp.Equal(got, want) {
				t.Errorf("progress notifications = %q, want %q", got, want)
			}
			rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://items/7"})
			if err != nil || rr.Contents[0].Text != "item 7" {
				t.Errorf("ReadResource = %v, %v", rr, err)
			}
			gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "greet", Arguments: map[string]string{"name": "Bo"}})
			if err != nil || gp.Messages[0].Content.(*mcp.TextContent).Text != "Hello, Bo!" {
				t.Errorf("GetPrompt = %v, %v", gp, err)
			}
			comp, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "greet"}, Argument: mcp.CompleteParamsArgument{Name: "name", Value: "b"}})
			if err != nil || !cmp.Equal(comp.Completion.Values, []string{"bob"}) {
				t.Errorf("Complete = %v, %v", comp, err)
			}
		})
	}
}

// TestChildFailures: a child that crashes, hangs, writes garbage, sends
// an oversized message, or does not start.
func TestChildFailures(t *testing.T) {
	t.Parallel()
	p, stderr := newProxy(t, &stdio.ProxyOptions{DeadlineMargin: 200 * time.Millisecond, MaxMessageBytes: 64 << 10}, "-banner")
	h := lambdaHandler(p, nil)
	ctx := context.Background()
	pid := func() int {
		n, err := strconv.Atoi(toolText(t, invoke(t, h, ctx, callTool(1, "pid", nil))))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if !strings.Contains(stderr.String(), "echoserver v1 starting (this line is not JSON)") {
		t.Errorf("stderr = %q, want the banner the child printed on stdout", stderr.String())
	}
	tests := []struct {
		name      string
		tool      string
		args      any
		timeout   time.Duration // of the invocation
		wantErr   string        // in the JSON-RPC error message; "" means success
		restarted bool
	}{
		{"crash", "crash", nil, 0, "the server process exited (exit status 3); it will be restarted", true},
		{"hang", "hang", nil, 1500 * time.Millisecond, "did not answer in time", true},
		{"garbage", "garbage", nil, 0, "", false},
		{"too large", "big", map[string]int{"bytes": 100 << 10}, 0, "over the size limit: more than 65536 bytes", true},
		{"large but fits", "big", map[string]int{"bytes": 60 << 10}, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := pid()
			cctx := ctx
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			r := invoke(t, h, cctx, callTool(2, tt.tool, tt.args))
			switch {
			case tt.wantErr == "" && r.Error != nil:
				t.Errorf("%s: error %q, want success", tt.tool, r.Error.Message)
			case tt.wantErr != "" && (r.Error == nil || r.Error.Code != -32603 || !strings.Contains(r.Error.Message, tt.wantErr)):
				t.Errorf("%s: response %s %+v, want error -32603 containing %q", tt.tool, r.Result, r.Error, tt.wantErr)
			}
			after := pid()
			if restarted := after != before; restarted != tt.restarted {
				t.Errorf("%s: pid %d -> %d; restarted = %v, want %v", tt.tool, before, after, restarted, tt.restarted)
			}
			if tt.restarted {
				testtools.WaitGone(t, before, "the replaced server process")
			}
		})
	}
	if !strings.Contains(stderr.String(), "garbage: this is not JSON") {
		t.Errorf("stderr = %q, want the garbage line moved there", stderr.String())
	}
}

func TestStartFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		cmd  stdio.Command
	}{
		{"exits", stdio.Command{Path: echoServer, Args: []string{"-fail"}}},
		{"not found", stdio.Command{Path: "/nonexistent/server"}},
		{"not MCP", stdio.Command{Path: "cat"}}, // echoes our requests back: never answers
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := stdio.NewProxy(ctx, tt.cmd, &stdio.ProxyOptions{StartTimeout: time.Second, Stderr: new(syncBuffer)})
			if !errors.Is(err, stdio.ErrStart) {
				if p != nil {
					p.Close()
				}
				t.Fatalf("NewProxy(%v) = %v, want ErrStart", tt.cmd, err)
			}
		})
	}
}

func TestStderrLines(t *testing.T) {
	t.Parallel()
	p, stderr := newProxy(t, nil)
	h := lambdaHandler(p, nil)
	invoke(t, h, context.Background(), callTool(1, "stderr", map[string]string{"message": "hello"}))
	want := "stderr line 1: hello\nstderr line 2: hello\n"
	ctx, cancel := context.WithTimeout(context.Background(), testtools.Patience)
	defer cancel()
	if got, err := stderr.Wait(ctx, func(s string) bool { return strings.Contains(s, want) }); err != nil {
		t.Errorf("stderr = %q, want it to contain %q", got, want)
	}
}

// TestCloseStubbornChild: a child that ignores stdin close and SIGTERM
// is killed within the shutdown timeout.
func TestCloseStubbornChild(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"-ignore-stdin-close"}} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			p, stderr := newProxy(t, &stdio.ProxyOptions{ShutdownTimeout: 300 * time.Millisecond}, args...)
			h := lambdaHandler(p, nil)
			pid, _ := strconv.Atoi(toolText(t, invoke(t, h, context.Background(), callTool(1, "pid", nil))))
			p.Close()
			testtools.WaitGone(t, pid, "the server process after Close")
			if len(args) > 0 && !strings.Contains(stderr.String(), "staying up on purpose") {
				t.Errorf("stderr = %q, want the child's complaint", stderr.String())
			}
			r := invoke(t, h, context.Background(), callTool(2, "echo", map[string]string{"message": "x"}))
			if r.Error == nil || !strings.Contains(r.Error.Message, "proxy closed") {
				t.Errorf("call after Close = %+v, want a proxy closed error", r)
			}
		})
	}
}

// TestIsolation checks which callers share a process in each mode, with
// identities from IAM-authenticated function URL events. Those identities
// count only when the function trusts its front door: without
// TrustFrontDoor anyone who may invoke the function could forge one and be
// served by another principal's process, so every caller is anonymous.
func TestIsolation(t *testing.T) {
	t.Parallel()
	const alice, bob = "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob"
	callers := []string{alice, alice, bob, bob, alice, ""}
	tests := []struct {
		isolation stdio.Isolation
		trust     bool // mcplambda.Options.TrustFrontDoor
		// same[i] reports whether call i+1 ran in the same process as call i.
		same []bool
	}{
		{stdio.Warm, true, []bool{true, true, true, true, true}},
		{stdio.PerPrincipal, true, []bool{true, false, true, false, false}},
		{stdio.PerPrincipal, false, []bool{true, true, true, true, true}},
		{stdio.PerRequest, true, []bool{false, false, false, false, false}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/trust=%v", tt.isolation, tt.trust), func(t *testing.T) {
			p, _ := newProxy(t, &stdio.ProxyOptions{Isolation: tt.isolation})
			h := lambdaHandler(p, &mcplambda.Options{TrustFrontDoor: tt.trust})
			var pids []string
			for i, who := range callers {
				status, body := invokeDoor(t, h, context.Background(), "url", callTool(i, "pid", nil), "application/json", who)
				var r rpcResponse
				if err := json.Unmarshal([]byte(body), &r); err != nil || status != 200 {
					t.Fatalf("call %d: status %d body %s", i, status, body)
				}
				pids = append(pids, toolText(t, r))
			}
			var same []bool
			for i := 1; i < len(pids); i++ {
				same = append(same, pids[i] == pids[i-1])
			}
			if diff := cmp.Diff(tt.same, same); diff != "" {
				t.Errorf("pids %v: same process (-want +got):\n%s", pids, diff)
			}
			// Every process but the last one serving has ended.
			for _, pid := range pids[:len(pids)-1] {
				if pid != pids[len(pids)-1] {
					n, _ := strconv.Atoi(pid)
					testtools.WaitGone(t, n, "a server process of another caller")
				}
			}
		})
	}
}

// TestBurst sends concurrent requests to one proxy: in warm mode they
// share the child, in per-request mode each gets its own.
func TestBurst(t *testing.T) {
	t.Parallel()
	for _, iso := range []stdio.Isolation{stdio.Warm, stdio.PerPrincipal, stdio.PerRequest} {
		t.Run(string(iso), func(t *testing.T) {
			p, _ := newProxy(t, &stdio.ProxyOptions{Isolation: iso})
			h := lambdaHandler(p, nil)
			const n = 12
			var wg sync.WaitGroup
			errs := make(chan string, n)
			for i := range n {
				wg.Go(func() {
					who := fmt.Sprintf("arn:aws:iam::111122223333:user/u%d", i%3)
					msg := fmt.Sprint("m", i)
					_, body := invokeDoor(t, h, context.Background(), "url", callTool(i, "echo", map[string]string{"message": msg}), "application/json", who)
					var r rpcResponse
					json.Unmarshal([]byte(body), &r)
					if r.Error != nil || !strings.Contains(string(r.Result), "Echo: "+msg) {
						errs <- fmt.Sprintf("call %d: %s", i, body)
					}
				})
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}

// TestListChanged: a tool the child adds at run time shows up after its
// list_changed notification.
func TestListChanged(t *testing.T) {
	t.Parallel()
	p, _ := newProxy(t, nil)
	h := lambdaHandler(p, nil)
	ctx, cancel := context.WithTimeout(context.Background(), testtools.Patience)
	defer cancel()
	// A client of the proxy's server hears each change of its tools.
	changed := make(chan struct{}, 1)
	client := mcp.NewClient(&mcp.Implementation{Name: "watcher", Version: "v1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	st, ct := mcp.NewInMemoryTransports()
	ss, err := p.Server().Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	invoke(t, h, ctx, callTool(1, "add_tool", map[string]string{"name": "late"}))
	for {
		r := invoke(t, h, ctx, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
		if strings.Contains(string(r.Result), `"name":"late"`) {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatal("tools/list never showed the tool added at run time")
		}
	}
	if got := toolText(t, invoke(t, h, ctx, callTool(3, "late", nil))); got != "I am late" {
		t.Errorf("late tool = %q", got)
	}
}

// TestRequestTooLarge: the front door's body limit applies before the
// child sees anything.
func TestRequestTooLarge(t *testing.T) {
	t.Parallel()
	p, _ := newProxy(t, nil)
	h := lambdaHandler(p, &mcplambda.Options{MaxBodyBytes: 1024})
	status, body := invokeDoor(t, h, context.Background(), "url", callTool(1, "echo", map[string]string{"message": strings.Repeat("x", 2048)}), "application/json", "")
	if status != 413 {
		t.Errorf("oversized request: status %d body %s, want 413", status, body)
	}
	if got := toolText(t, invoke(t, h, context.Background(), callTool(2, "echo", map[string]string{"message": "ok"}))); got != "Echo: ok" {
		t.Errorf("after an oversized request, echo = %q", got)
	}
}

// TestReadResourceCacheScope: on 2026-07-28 a resources/read answered by
// the child (which speaks an earlier version and sends no cacheScope)
// carries the protocol's default, "public", as list results and native
// servers do.
func TestReadResourceCacheScope(t *testing.T) {
	p, _ := newProxy(t, nil)
	h := lambdaHandler(p, nil)
	for _, uri := range []string{"test://static", "test://items/7"} {
		body := `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"` + uri + `","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
		out, err := h.Invoke(context.Background(), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Result struct {
				CacheScope *string `json:"cacheScope"`
			} `json:"result"`
		}
		if err := json.Unmarshal(out, &r); err != nil || r.Result.CacheScope == nil || *r.Result.CacheScope != "public" {
			t.Errorf("resources/read %s = %s, want cacheScope public", uri, out)
		}
	}
}
