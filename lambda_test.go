package mcplambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// rpcResult decodes a JSON (or single-event SSE) JSON-RPC response.
func rpcResult(t *testing.T, contentType string, body []byte) map[string]any {
	t.Helper()
	if strings.HasPrefix(contentType, "text/event-stream") {
		for line := range strings.SplitSeq(string(body), "\n") {
			if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, `"result"`) {
				body = []byte(data)
			}
		}
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("response %q: %v", body, err)
	}
	return m
}

func TestFrontDoorsToolCall(t *testing.T) {
	var rec seen
	lh := NewLambdaHandler(NewHandler(newTestServer(t, &rec), nil), nil)
	want := map[string]struct {
		door FrontDoor
		info func(*Request) any
		val  any
	}{
		"url": {FunctionURL, func(r *Request) any { return []string{r.RequestID, r.SourceIP, r.IAM.UserARN} }, []string{"id-url-1", "198.51.100.7", "arn:aws:iam::111122223333:user/example-user"}},
		"httpapi": {HTTPAPI, func(r *Request) any {
			return []string{r.RequestID, r.SourceIP, r.Stage, r.JWT.Claims["sub"], strings.Join(r.JWT.Scopes, " ")}
		}, []string{"id-httpapi-1", "192.0.2.1", "prod", "user-123", "mcp/tools"}},
		"rest": {RESTAPI, func(r *Request) any {
			return []string{r.RequestID, r.SourceIP, r.Stage, r.JWT.Claims["cognito:username"]}
		}, []string{"id-rest-1", "203.0.113.9", "prod", "alice"}},
		"alb":       {ALB, func(r *Request) any { return []string{r.SourceIP} }, []string{"72.12.164.125"}},
		"alb-multi": {ALB, func(r *Request) any { return []string{r.SourceIP} }, []string{"72.12.164.125"}},
	}
	for _, d := range doors {
		for _, accept := range []string{"application/json, text/event-stream", "application/json"} {
			t.Run(d.name+"/"+accept, func(t *testing.T) {
				hdr := http.Header{"Accept": {accept}, "Content-Type": {"application/json"}}
				resp, body := invokeDoor(t, d.name, lh, "POST", "/mcp", hdr, callBody("echo", echoIn{Text: "hi"}))
				if resp.StatusCode != 200 {
					t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
				}
				res := rpcResult(t, resp.Header.Get("Content-Type"), body)
				got, _ := json.Marshal(res["result"].(map[string]any)["structuredContent"])
				wantOut, _ := json.Marshal(echoOut{Echo: "hi", FrontDoor: string(want[d.name].door)})
				if string(got) != string(wantOut) {
					t.Errorf("structuredContent = %s, want %s", got, wantOut)
				}
				w := want[d.name]
				if diff := cmp.Diff(w.val, w.info(rec.get())); diff != "" {
					t.Errorf("request info mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// echoHTTP records what the adapter made of the event and answers with a
// binary body, repeated headers and cookies.
type echoHTTP struct {
	got  *http.Request
	body []byte
}

func (e *echoHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.got = r
	e.body, _ = readAll(r)
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	w.Header().Add("Set-Cookie", "s1=v1; Path=/")
	w.Header().Add("Set-Cookie", "s2=v2")
	w.Header().Set("Content-Type", r.Header.Get("X-Want-Type"))
	w.WriteHeader(http.StatusTeapot)
	w.Write(e.body)
}

func readAll(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(r.Body)
	return buf.Bytes(), err
}

func TestEventConversion(t *testing.T) {
	binary := string([]byte{0, 1, 2, 0xff, 0xfe, 'x'})
	for _, d := range doors {
		for _, tc := range []struct {
			name, body, contentType string
		}{
			{"text", `{"a":"é"}`, "application/json"},
			{"binary", binary, "application/octet-stream"},
		} {
			t.Run(d.name+"/"+tc.name, func(t *testing.T) {
				e := &echoHTTP{}
				lh := NewLambdaHandler(e, nil)
				hdr := http.Header{"X-Want-Type": {tc.contentType}, "X-Custom": {"v1"}, "Cookie": {"c1=x; c2=y"}}
				resp, body := invokeDoor(t, d.name, lh, "PUT", "/mcp?q=1&q=2", hdr, tc.body)
				if e.got == nil {
					t.Fatal("handler not called")
				}
				if got, want := e.got.Method, "PUT"; got != want {
					t.Errorf("method = %q, want %q", got, want)
				}
				if got, want := e.got.URL.Path, "/mcp"; got != want {
					t.Errorf("path = %q, want %q", got, want)
				}
				if got := e.got.Header.Get("X-Custom"); got != "v1" {
					t.Errorf("X-Custom = %q, want v1", got)
				}
				if got := e.got.URL.Query()["q"]; d.name != "alb" && d.name != "url" && d.name != "httpapi" && !cmp.Equal(got, []string{"1", "2"}) {
					t.Errorf("query q = %v, want [1 2]", got)
				}
				if c, err := e.got.Cookie("c2"); err != nil || c.Value != "y" {
					t.Errorf("cookie c2 = %v, %v; want y", c, err)
				}
				if string(e.body) != tc.body {
					t.Errorf("request body = %q, want %q", e.body, tc.body)
				}
				if resp.StatusCode != http.StatusTeapot {
					t.Errorf("status = %d, want %d", resp.StatusCode, http.StatusTeapot)
				}
				if string(body) != tc.body {
					t.Errorf("response body = %q, want %q", body, tc.body)
				}
				wantMulti := []string{"a", "b"}
				if d.name == "url" || d.name == "httpapi" || d.name == "alb" {
					// Payload 2.0 and single-value ALB comma-join.
					wantMulti = []string{"a, b"}
				}
				if diff := cmp.Diff(wantMulti, resp.Header.Values("X-Multi")); diff != "" {
					t.Errorf("X-Multi (-want +got):\n%s", diff)
				}
				wantCookies := []string{"s1=v1; Path=/", "s2=v2"}
				if d.name == "alb" {
					wantCookies = []string{"s2=v2"} // single-value mode can carry one
				}
				if diff := cmp.Diff(wantCookies, resp.Header.Values("Set-Cookie")); diff != "" {
					t.Errorf("Set-Cookie (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestRoute(t *testing.T) {
	lh := &lambdaHandler{path: "/mcp"}
	for _, tc := range []struct{ path, stage, want string }{
		{"/mcp", "", "/mcp"},
		{"/prod/mcp", "prod", "/mcp"},
		{"/mcp", "prod", "/mcp"},
		{"/base/mcp", "$default", "/mcp"},
		{"/prod/base/mcp", "prod", "/mcp"},
		{"/other", "", "/other"},
		{"/mcpx", "", "/mcpx"},
		{"/prod/.well-known/oauth-protected-resource/mcp", "prod", "/.well-known/oauth-protected-resource/mcp"},
		{"/xmcp", "", "/xmcp"},
	} {
		if got := lh.route(tc.path, tc.stage); got != tc.want {
			t.Errorf("route(%q, %q) = %q, want %q", tc.path, tc.stage, got, tc.want)
		}
	}
}

// TestUnknownEvent: a payload that is JSON but neither an event nor a
// JSON-RPC message is answered with a JSON-RPC invalid-request error, as
// the reference stdio adapter answers it; a payload that is not JSON (the
// Invoke API admits none) is a function error.
func TestUnknownEvent(t *testing.T) {
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), nil)
	for _, payload := range []string{`{}`, `{"foo":"bar"}`, `{"Records":[]}`, `"hello"`, `42`, `null`, `[]`, `{"jsonrpc":"2.0"}`} {
		out, err := lh.Invoke(context.Background(), []byte(payload))
		var resp struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Error   *errorObject    `json:"error"`
		}
		if err != nil || json.Unmarshal(out, &resp) != nil || resp.JSONRPC != "2.0" || string(resp.ID) != "null" || resp.Error == nil || resp.Error.Code != jsonrpc.CodeInvalidRequest {
			t.Errorf("Invoke(%q) = %s, %v; want a JSON-RPC error -32600 with id null", payload, out, err)
		}
	}
	for _, payload := range []string{`not json`, ``} {
		_, err := lh.Invoke(context.Background(), []byte(payload))
		if !errors.Is(err, ErrUnknownEvent) {
			t.Errorf("Invoke(%q) error = %v, want ErrUnknownEvent", payload, err)
		}
	}
}

func TestBadBase64Body(t *testing.T) {
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), nil)
	var e events.LambdaFunctionURLRequest
	fixture(t, "url.json", &e)
	e.Body, e.IsBase64Encoded = "!!!not base64", true
	b, _ := json.Marshal(e)
	if _, err := lh.Invoke(context.Background(), b); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Errorf("Invoke(bad base64) error = %v, want a base64 error", err)
	}
}

func TestDirectInvoke(t *testing.T) {
	var rec seen
	lh := NewLambdaHandler(NewHandler(newTestServer(t, &rec), nil), nil)
	ctx := context.Background()

	out, err := lh.Invoke(ctx, []byte(callBody("echo", echoIn{Text: "direct"})))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		ID     int `json:"id"`
		Result struct {
			StructuredContent echoOut `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("Invoke = %s: %v", out, err)
	}
	if diff := cmp.Diff(echoOut{Echo: "direct", FrontDoor: "invoke"}, resp.Result.StructuredContent); diff != "" {
		t.Errorf("structuredContent (-want +got):\n%s", diff)
	}

	// A 2026-07-28 request: headers are derived from the message.
	newReq := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"new"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	out, err = lh.Invoke(ctx, []byte(newReq))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"echo":"new"`) {
		t.Errorf("Invoke(2026-07-28 call) = %s, want the echo result", out)
	}

	out, err = lh.Invoke(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil || string(out) != "{}" {
		t.Errorf("Invoke(notification) = %s, %v; want {}, nil", out, err)
	}

	// Positional params are not MCP, but they are JSON-RPC: go-sdk answers.
	out, err = lh.Invoke(ctx, []byte(`{"jsonrpc":"2.0","id":4,"method":"tools/list","params":[]}`))
	if err != nil || !strings.Contains(string(out), `"jsonrpc"`) {
		t.Errorf("Invoke(positional params) = %s, %v; want a JSON-RPC answer", out, err)
	}

	out, err = lh.Invoke(ctx, []byte(`{"jsonrpc":"2.0","id":3,"method":"no/such/method"}`))
	if err != nil || !strings.Contains(string(out), `"code":-32601`) || !strings.Contains(string(out), `"id":3`) {
		t.Errorf("Invoke(unknown method) = %s, %v; want a JSON-RPC error -32601 for id 3", out, err)
	}
	out, err = lh.Invoke(ctx, []byte(`{"jsonrpc":"2.0","id":3,"method":"no/such/method","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`))
	if err != nil || !strings.Contains(string(out), `"code":-32601`) {
		t.Errorf("Invoke(unknown 2026-07-28 method) = %s, %v; want a JSON-RPC error -32601", out, err)
	}
}

func TestResponseStream(t *testing.T) {
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), &Options{ResponseStream: true})
	var e events.LambdaFunctionURLRequest
	fixture(t, "url.json", &e)
	e.Body = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"progress","arguments":{"steps":3},"_meta":{"progressToken":"p1"}}}`
	payload, _ := json.Marshal(e)
	out, err := lh.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	prelude, body, ok := bytes.Cut(out, make([]byte, 8))
	if !ok {
		t.Fatalf("streamed response %q has no prelude separator", out)
	}
	var p struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(prelude, &p); err != nil {
		t.Fatalf("prelude %q: %v", prelude, err)
	}
	if p.StatusCode != 200 || !strings.HasPrefix(p.Headers["Content-Type"], "text/event-stream") {
		t.Errorf("prelude = %+v, want 200 text/event-stream", p)
	}
	if got := strings.Count(string(body), "notifications/progress"); got != 3 {
		t.Errorf("streamed body has %d progress notifications, want 3:\n%s", got, body)
	}
	if !strings.Contains(string(body), `"echo":"done"`) {
		t.Errorf("streamed body lacks the result:\n%s", body)
	}

	// Other front doors still get a buffered response.
	var ev events.APIGatewayV2HTTPRequest
	fixture(t, "httpapi.json", &ev)
	ev.Body = callBody("echo", echoIn{Text: "x"})
	payload, _ = json.Marshal(ev)
	out, err = lh.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &r); err != nil || r.StatusCode != 200 {
		t.Errorf("HTTP API response with ResponseStream = %s, %v; want a buffered 200", out, err)
	}
}

// Progress notifications must survive a buffered front door as SSE events.
func TestProgressThroughBufferedDoor(t *testing.T) {
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), nil)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"progress","arguments":{"steps":2},"_meta":{"progressToken":5}}}`
	hdr := http.Header{"Accept": {"application/json, text/event-stream"}, "Content-Type": {"application/json"}}
	resp, out := invokeDoor(t, "url", lh, "POST", "/mcp", hdr, body)
	if resp.StatusCode != 200 {
		t.Fatalf("status = %d: %s", resp.StatusCode, out)
	}
	if got := strings.Count(string(out), "notifications/progress"); got != 2 {
		t.Errorf("got %d progress notifications, want 2:\n%s", got, out)
	}
}

var _ mcp.Transport = (*mcp.StreamableClientTransport)(nil)

func TestAgentCoreGateway(t *testing.T) {
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), nil)
	withTool := func(name string) context.Context {
		lc := &lambdacontext.LambdaContext{AwsRequestID: "req-1"}
		lc.ClientContext.Custom = map[string]string{"bedrockAgentCoreToolName": name}
		return lambdacontext.NewContext(context.Background(), lc)
	}
	out, err := lh.Invoke(withTool("mytarget___echo"), []byte(`{"text":"gw"}`))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		StructuredContent json.RawMessage `json:"structuredContent"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("Invoke = %s: %v", out, err)
	}
	if want := `{"echo":"gw","frontDoor":"agentcore"}`; string(res.StructuredContent) != want {
		t.Errorf("structuredContent = %s, want %s", res.StructuredContent, want)
	}
	// Arguments that look like an API Gateway event are still arguments:
	// the tool's schema validation sees them.
	out, err = lh.Invoke(withTool("mytarget___echo"), []byte(`{"httpMethod":"POST","requestContext":{"elb":{}}}`))
	if err != nil || !strings.Contains(string(out), `"isError":true`) || !strings.Contains(string(out), "httpMethod") {
		t.Errorf("Invoke(event-like arguments) = %s, %v; want the tool's validation error", out, err)
	}
	for _, tc := range []struct{ name, payload, wantErr string }{
		{"no-delimiter", `{}`, "<target>___<tool>"},
		{"target___", `{}`, "<target>___<tool>"},
		{"t___echo", `not json`, "not JSON"},
		{"t___nosuchtool", `{}`, "nosuchtool"},
	} {
		_, err := lh.Invoke(withTool(tc.name), []byte(tc.payload))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Invoke(tool %q, %s) error = %v, want it to mention %q", tc.name, tc.payload, err, tc.wantErr)
		}
	}
}

// A subscriptions/listen request through Lambda is acknowledged and then
// ended, instead of pinning the instance until the function times out.
func TestListenEndsAfterAck(t *testing.T) {
	body := `{"jsonrpc":"2.0","id":5,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
	hdr := http.Header{"Accept": {"application/json, text/event-stream"}, "Content-Type": {"application/json"}, "Mcp-Protocol-Version": {"2026-07-28"}, "Mcp-Method": {"subscriptions/listen"}}
	for _, stream := range []bool{false, true} {
		lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), &Options{ResponseStream: stream})
		req, _ := http.NewRequest("POST", "https://x/mcp", strings.NewReader(body))
		req.Header = hdr
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := lh.Invoke(ctx, makeEvent(t, "url", req, []byte(body)))
		expired := ctx.Err() != nil
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if expired {
			t.Fatalf("stream=%v: listen ran until the deadline", stream)
		}
		if !strings.Contains(string(out), "notifications/subscriptions/acknowledged") {
			t.Errorf("stream=%v: listen response %s lacks the acknowledgement", stream, out)
		}
	}
}

// Deeply nested payloads are refused before anything recursive decodes
// them; they must not exhaust the stack.
func TestDeepPayload(t *testing.T) {
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), nil), nil)
	deep := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":` + strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000) + `}}`
	if _, err := lh.Invoke(context.Background(), []byte(deep)); !errors.Is(err, ErrUnknownEvent) {
		t.Errorf("Invoke(1e6 levels) error = %v, want ErrUnknownEvent", err)
	}
	lc := &lambdacontext.LambdaContext{}
	lc.ClientContext.Custom = map[string]string{"bedrockAgentCoreToolName": "t___echo"}
	ctx := lambdacontext.NewContext(context.Background(), lc)
	if _, err := lh.Invoke(ctx, []byte(strings.Repeat("[", 1_000_000))); err == nil {
		t.Errorf("Invoke(AgentCore, 1e6 levels) = nil error, want a refusal")
	}
	// Brackets inside strings do not count.
	if tooDeep([]byte(`{"a":"` + strings.Repeat("[", 20000) + `"}`)) {
		t.Errorf("tooDeep counted brackets inside a string")
	}
	if !tooDeep([]byte(strings.Repeat("{\"a\":", maxDepth+1))) {
		t.Errorf("tooDeep(%d objects) = false", maxDepth+1)
	}
}
