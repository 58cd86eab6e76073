package mcplambda

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestHTTPEdgeCases(t *testing.T) {
	srv := httptest.NewServer(NewHandler(newTestServer(t, nil), &Options{MaxBodyBytes: 1 << 10, AllowedOrigins: []string{"https://app.example.com"}}))
	defer srv.Close()
	noCORS := httptest.NewServer(NewHandler(newTestServer(t, nil), nil))
	defer noCORS.Close()

	const jsonCT = "application/json"
	both := "application/json, text/event-stream"
	ok := callBody("echo", echoIn{Text: "x"})
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)

	for _, tc := range []struct {
		name        string
		url         string // default srv.URL
		method      string
		path        string
		header      map[string]string
		body        string
		wantStatus  int
		wantCode    int64             // JSON-RPC error code in the body; 0 = not checked
		wantHeader  map[string]string // "" value = must be absent
		wantBodyHas string
	}{
		{name: "get", method: "GET", wantStatus: 405, wantHeader: map[string]string{"Allow": "POST, OPTIONS"}, wantCode: -32600},
		{name: "delete", method: "DELETE", wantStatus: 405, wantHeader: map[string]string{"Allow": "POST, OPTIONS"}},
		{name: "put", method: "PUT", body: ok, wantStatus: 405, wantHeader: map[string]string{"Allow": "POST, OPTIONS"}},
		{name: "preflight allowed", method: "OPTIONS", header: map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, mcp-protocol-version"},
			wantStatus: 204, wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Headers": "content-type, mcp-protocol-version"}},
		{name: "preflight disallowed origin", method: "OPTIONS", header: map[string]string{"Origin": "https://evil.example"}, wantStatus: 403, wantHeader: map[string]string{"Access-Control-Allow-Origin": ""}},
		{name: "preflight no cors configured", url: "nocors", method: "OPTIONS", wantStatus: 204, wantHeader: map[string]string{"Allow": "POST, OPTIONS", "Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}},
		{name: "post allowed origin", method: "POST", header: map[string]string{"Origin": "https://app.example.com", "Accept": jsonCT, "Content-Type": jsonCT}, body: ok, wantStatus: 200, wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"}},
		{name: "post disallowed origin", method: "POST", header: map[string]string{"Origin": "https://evil.example", "Accept": both, "Content-Type": jsonCT}, body: ok, wantStatus: 403, wantCode: -32600},
		{name: "post foreign origin no cors", url: "nocors", method: "POST", header: map[string]string{"Origin": "https://evil.example", "Accept": both, "Content-Type": jsonCT}, body: ok, wantStatus: 403},
		{name: "unknown path", method: "POST", path: "/other", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: ok, wantStatus: 404},
		{name: "too large", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", 2000) + `"}}`, wantStatus: 413, wantCode: -32600},
		{name: "malformed json", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: `{"jsonrpc":"2.0",`, wantStatus: 400, wantCode: -32700},
		{name: "deeply nested", url: "nocors", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: deep, wantStatus: 400, wantCode: -32700},
		{name: "nested 1001 deep", url: "nocors", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: nested(1001), wantStatus: 400, wantCode: -32700},
		{name: "nested 9999 deep", url: "nocors", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: nested(9999), wantStatus: 400, wantCode: -32700},
		{name: "nested 1000 deep", url: "nocors", method: "POST", header: map[string]string{"Accept": jsonCT, "Content-Type": jsonCT}, body: nested(1000), wantStatus: 200, wantBodyHas: `"id":1,"result"`},
		{name: "invalid utf-8", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: strings.Replace(ok, `"x"`, "\"x\xff\xfe\"", 1), wantStatus: 400, wantCode: -32700},
		{name: "null", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: `null`, wantStatus: 400, wantCode: -32600},
		{name: "empty batch", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: `[]`, wantStatus: 400, wantCode: -32600},
		{name: "not json-rpc", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: `{"foo":"bar"}`, wantStatus: 400, wantCode: -32600},
		{name: "unknown method", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: `{"jsonrpc":"2.0","id":9,"method":"no/such"}`, wantStatus: 400, wantCode: -32601, wantBodyHas: `"id":9`},
		{name: "unsupported protocol version", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT, "Mcp-Protocol-Version": "1999-01-01"}, body: ok, wantStatus: 400, wantCode: -32022,
			wantBodyHas: `"data":{"supported":["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"],"requested":"1999-01-01"}`},
		{name: "wrong content type", method: "POST", header: map[string]string{"Accept": both, "Content-Type": "text/plain"}, body: ok, wantStatus: 415, wantCode: -32600},
		{name: "content type with charset", method: "POST", header: map[string]string{"Accept": both, "Content-Type": "application/json; charset=utf-8"}, body: ok, wantStatus: 200, wantBodyHas: `"echo":"x"`},
		{name: "no content type", method: "POST", header: map[string]string{"Accept": jsonCT}, body: ok, wantStatus: 200, wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "accept json only", method: "POST", header: map[string]string{"Accept": jsonCT, "Content-Type": jsonCT}, body: ok, wantStatus: 200, wantHeader: map[string]string{"Content-Type": "application/json"}, wantBodyHas: `"echo":"x"`},
		{name: "accept missing", method: "POST", header: map[string]string{"Content-Type": jsonCT}, body: ok, wantStatus: 200, wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "accept wildcard", method: "POST", header: map[string]string{"Accept": "*/*", "Content-Type": jsonCT}, body: ok, wantStatus: 200},
		{name: "accept sse", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: ok, wantStatus: 200, wantHeader: map[string]string{"Content-Type": "text/event-stream"}},
		{name: "accept unacceptable", method: "POST", header: map[string]string{"Accept": "text/html", "Content-Type": jsonCT}, body: ok, wantStatus: 406},
		{name: "notification", method: "POST", header: map[string]string{"Accept": both, "Content-Type": jsonCT}, body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, wantStatus: 202},
		{name: "panic in tool", method: "POST", header: map[string]string{"Accept": jsonCT, "Content-Type": jsonCT}, body: callBody("panic", echoIn{Text: "x"}), wantStatus: 200, wantBodyHas: `"isError":true`},
		{name: "panic in tool, 2026-07-28", method: "POST", header: map[string]string{"Accept": jsonCT, "Content-Type": jsonCT, "Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "panic"},
			body: `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"panic","arguments":{"text":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`,
			wantStatus: 200, wantBodyHas: `"isError":true,"resultType":"complete"`},
		{name: "after panic still serving", method: "POST", header: map[string]string{"Accept": jsonCT, "Content-Type": jsonCT}, body: ok, wantStatus: 200, wantBodyHas: `"echo":"x"`},
		{name: "header case", method: "POST", header: map[string]string{"accept": jsonCT, "content-type": jsonCT}, body: ok, wantStatus: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := srv.URL
			if tc.url == "nocors" {
				base = noCORS.URL
			}
			path := tc.path
			if path == "" {
				path = "/mcp"
			}
			req, err := http.NewRequest(tc.method, base+path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header[k] = []string{v} // raw, to test header case
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("%s %s = %d, want %d; body %s", tc.method, path, resp.StatusCode, tc.wantStatus, body)
			}
			for k, v := range tc.wantHeader {
				got := resp.Header.Get(k)
				if v == "" && got != "" || v != "" && !strings.HasPrefix(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tc.wantCode != 0 {
				var e errorBody
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != tc.wantCode {
					t.Errorf("body %s: error code = %d (%v), want %d", body, e.Error.Code, err, tc.wantCode)
				}
			}
			// A client never sees anything but a JSON-RPC error.
			if resp.StatusCode >= 400 {
				var e errorBody
				if err := json.Unmarshal(body, &e); err != nil || e.JSONRPC != "2.0" || e.Error.Code == 0 || e.Error.Message == "" || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%d answer %q (%s) is not a JSON-RPC error", resp.StatusCode, body, resp.Header.Get("Content-Type"))
				}
			}
			if tc.wantStatus == 202 && len(body) != 0 {
				t.Errorf("202 body = %q, want empty", body)
			}
			if tc.wantBodyHas != "" && !strings.Contains(string(body), tc.wantBodyHas) {
				t.Errorf("body %s does not contain %s", body, tc.wantBodyHas)
			}
		})
	}
}

// nested returns a tools/call of echo whose arguments nest depth levels
// deep in all.
func nested(depth int) string {
	// The message, params and arguments are three levels.
	pad := depth - 3
	return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x","pad":` +
		strings.Repeat("[", pad) + strings.Repeat("]", pad) + `}}}`
}

// The DNS-rebinding protection of local serving: a loopback listener
// refuses a foreign Host header.
func TestLocalhostProtection(t *testing.T) {
	srv := httptest.NewServer(NewHandler(newTestServer(t, nil), nil))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(callBody("echo", echoIn{Text: "x"})))
	req.Host = "evil.example.com"
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with Host evil.example.com = %d, want 403", resp.StatusCode)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept  []string
		sse, ok bool
	}{
		{nil, false, true},
		{[]string{"application/json"}, false, true},
		{[]string{"application/json, text/event-stream"}, true, true},
		{[]string{"text/event-stream"}, true, true},
		{[]string{"application/json", "text/event-stream"}, true, true},
		{[]string{"*/*"}, false, true},
		{[]string{"application/*;q=0.8"}, false, true},
		{[]string{"text/html"}, false, false},
		{[]string{"application/json;q=0, text/html"}, false, false},
		{[]string{"TEXT/EVENT-STREAM;charset=utf-8"}, true, true},
		{[]string{"application/json;q=0.0, text/html"}, false, false},
		{[]string{"application/json; q=0.000"}, false, false},
		{[]string{"application/json;q=0.5"}, false, true},
		{[]string{"text/*"}, true, true},
	} {
		sse, ok := negotiate(tc.accept)
		if sse != tc.sse || ok != tc.ok {
			t.Errorf("negotiate(%q) = %v, %v; want %v, %v", tc.accept, sse, ok, tc.sse, tc.ok)
		}
	}
}

// TestGoSDKClient drives go-sdk's real client through every front door
// (converted in process by doorTransport) and over local HTTP, in both
// protocol eras.
func TestGoSDKClient(t *testing.T) {
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), nil)
	local := httptest.NewServer(NewHandler(newTestServer(t, nil), nil))
	defer local.Close()

	type target struct {
		name     string
		endpoint string
		client   *http.Client
	}
	targets := []target{{name: "local", endpoint: local.URL + "/mcp", client: local.Client()}}
	for _, d := range doors {
		targets = append(targets, target{name: d.name, endpoint: "https://example.com/mcp", client: &http.Client{Transport: &doorTransport{t: t, door: d.name, h: lh}}})
	}
	for _, tg := range targets {
		for _, version := range []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"} {
			t.Run(tg.name+"/"+version, func(t *testing.T) {
				ctx := context.Background()
				progress := make(chan float64, 10)
				client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v1"}, &mcp.ClientOptions{
					ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
						progress <- req.Params.Progress
					},
				})
				cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: tg.endpoint, HTTPClient: tg.client, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: version})
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer cs.Close()
				if got := cs.InitializeResult().ProtocolVersion; got != version {
					t.Errorf("negotiated protocol %q, want %q", got, version)
				}
				tools, err := cs.ListTools(ctx, nil)
				if err != nil {
					t.Fatalf("ListTools: %v", err)
				}
				var names []string
				for _, tool := range tools.Tools {
					names = append(names, tool.Name)
				}
				if diff := cmp.Diff([]string{"echo", "panic", "progress"}, names); diff != "" {
					t.Errorf("tools (-want +got):\n%s", diff)
				}
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: echoIn{Text: "hello"}})
				if err != nil {
					t.Fatalf("CallTool(echo): %v", err)
				}
				got, _ := json.Marshal(res.StructuredContent)
				if !strings.Contains(string(got), `"echo":"hello"`) {
					t.Errorf("CallTool(echo) structured = %s", got)
				}
				params := &mcp.CallToolParams{Name: "progress", Arguments: progressIn{Steps: 3}}
				params.SetProgressToken("tok")
				if _, err := cs.CallTool(ctx, params); err != nil {
					t.Fatalf("CallTool(progress): %v", err)
				}
				// go-sdk's client delivers notifications asynchronously.
				var got3 []float64
				for range 3 {
					select {
					case p := <-progress:
						got3 = append(got3, p)
					case <-time.After(10 * time.Second):
					}
				}
				if diff := cmp.Diff([]float64{1, 2, 3}, got3); diff != "" {
					t.Errorf("progress notifications (-want +got):\n%s", diff)
				}
				res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "panic", Arguments: echoIn{Text: "x"}})
				if err != nil || !res.IsError {
					t.Errorf("CallTool(panic) = %+v, %v; want an isError result", res, err)
				}
			})
		}
	}
}

// Tool handlers see the deadline of the Lambda invocation, and are
// cancelled when the HTTP request ends, in both protocol eras.
func TestRequestLifetime(t *testing.T) {
	type info struct {
		HasDeadline bool `json:"hasDeadline"`
		Cancelled   bool `json:"cancelled"`
	}
	started, release := make(chan struct{}), make(chan struct{})
	s := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "v1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "deadline"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, info, error) {
		_, ok := ctx.Deadline()
		return nil, info{HasDeadline: ok}, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "wait"}, func(ctx context.Context, req *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, info, error) {
		close(started)
		select {
		case <-ctx.Done():
			close(release)
			return nil, info{Cancelled: true}, nil
		case <-time.After(time.Minute):
			return nil, info{}, nil
		}
	})
	h := NewHandler(s, nil)
	lh := NewLambdaHandler(h, nil)

	for _, version := range []string{"", "2026-07-28"} {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deadline","arguments":{}}}`
		hdr := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
		if version != "" {
			body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deadline","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
			hdr.Set("Mcp-Protocol-Version", version)
			hdr.Set("Mcp-Method", "tools/call")
			hdr.Set("Mcp-Name", "deadline")
		}
		req, _ := http.NewRequest("POST", "https://x/mcp", strings.NewReader(body))
		req.Header = hdr
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := lh.Invoke(ctx, makeEvent(t, "url", req, []byte(body)))
		cancel()
		if err != nil || !strings.Contains(string(out), `\"hasDeadline\":true`) {
			t.Errorf("protocol %q: tool under an invocation with a deadline: %s, %v; want hasDeadline true", version, out, err)
		}
	}

	// Locally, a client that hangs up cancels the tool.
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait","arguments":{}}}`))
	req.Header.Set("Content-Type", "application/json")
	go func() {
		<-started
		cancel()
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	select {
	case <-release:
	case <-time.After(30 * time.Second):
		t.Error("the tool was not cancelled when the client hung up")
	}
}

// Answers of Options.Middleware (an auth challenge, say) carry the CORS
// headers too: the origin check and CORS wrap the middleware.
func TestCORSAroundMiddleware(t *testing.T) {
	deny := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="https://x/.well-known/oauth-protected-resource/mcp"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
	}
	srv := httptest.NewServer(NewHandler(newTestServer(t, nil), &Options{AllowedOrigins: []string{"https://app.example.com"}, Middleware: deny}))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(callBody("echo", echoIn{Text: "x"})))
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Errorf("middleware's 401 = %d, CORS %q / %q; want 401 with CORS headers exposing WWW-Authenticate", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Access-Control-Expose-Headers"))
	}
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin through a middleware = %d, want 403 before the middleware", resp.StatusCode)
	}
}
