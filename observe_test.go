package mcplambda

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestObserve(t *testing.T) {
	var logs, metrics bytes.Buffer
	yes := true
	o := &Options{
		Logger:         telemetry.NewLogger(&logs, &telemetry.LoggerOptions{JSON: &yes}),
		Metrics:        telemetry.NewMetrics(&metrics, &telemetry.MetricsOptions{Service: "svc"}),
		TrustFrontDoor: true,
	}
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), o), o)

	invoke := func(id, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "https://x/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer secret-token-value")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id})
		if _, err := lh.Invoke(ctx, makeEvent(t, "httpapi", req, []byte(body))); err != nil {
			t.Fatal(err)
		}
	}
	invoke("r1", callBody("echo", echoIn{Text: "x"}))
	invoke("r2", callBody("nosuch", echoIn{Text: "x"}))
	invoke("r3", callBody("panic", echoIn{Text: "x"}))

	if strings.Contains(logs.String(), "secret-token-value") || strings.Contains(metrics.String(), "secret-token-value") {
		t.Errorf("a token reached the logs or metrics:\n%s\n%s", logs.String(), metrics.String())
	}
	logText := logs.String()
	type line struct {
		Message, Level, RequestID, Method, Name, ProtocolVersion, Principal, Outcome string
		HasDuration                                                                  bool
	}
	var got []line
	sc := bufio.NewScanner(&logs)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if m["message"] != "mcp request" {
			continue // e.g. the recovered-panic line
		}
		s := func(k string) string { v, _ := m[k].(string); return v }
		_, hasDur := m["durationMs"].(float64)
		got = append(got, line{s("message"), s("level"), s("requestId"), s("method"), s("name"), s("protocolVersion"), s("principal"), s("outcome"), hasDur})
	}
	principal := "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example#user-123"
	want := []line{
		{"mcp request", "INFO", "r1", "tools/call", "echo", "2025-06-18", principal, "ok", true},
		{"mcp request", "WARN", "r2", "tools/call", "nosuch", "2025-06-18", principal, "error", true},
		{"mcp request", "INFO", "r3", "tools/call", "panic", "2025-06-18", principal, "tool_error", true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request log lines (-want +got):\n%s", diff)
	}
	if !strings.Contains(logText, `"message":"mcplambda: recovered panic"`) || !strings.Contains(logText, `"requestId":"r3"`) {
		t.Errorf("no recovered-panic line with the request id:\n%s", logText)
	}
	if strings.Contains(logText, `"params"`) {
		t.Errorf("params logged without LogPayloads:\n%s", logText)
	}

	// EMF: one cold start, then tools/call per tool, with the unknown tool
	// counted as "other".
	var docs []map[string]any
	sc = bufio.NewScanner(&metrics)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("EMF line %q: %v", sc.Text(), err)
		}
		docs = append(docs, m)
	}
	type doc struct {
		RequestID, Tool string
		Errors          float64
		Cold            bool
	}
	var gotDocs []doc
	for _, m := range docs {
		d := doc{RequestID: m["requestId"].(string)}
		d.Tool, _ = m["Tool"].(string)
		d.Errors, _ = m["Errors"].(float64)
		_, d.Cold = m["ColdStart"]
		gotDocs = append(gotDocs, d)
	}
	wantDocs := []doc{{"r1", "", 0, true}, {"r1", "echo", 0, false}, {"r2", "other", 1, false}, {"r3", "panic", 1, false}}
	if diff := cmp.Diff(wantDocs, gotDocs); diff != "" {
		t.Errorf("EMF documents (-want +got):\n%s", diff)
	}
}

func TestLogPayloads(t *testing.T) {
	var logs bytes.Buffer
	yes := true
	o := &Options{Logger: telemetry.NewLogger(&logs, &telemetry.LoggerOptions{JSON: &yes}), LogPayloads: true}
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), o), o)
	hdr := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	invokeDoor(t, "url", lh, "POST", "/mcp", hdr, callBody("echo", echoIn{Text: "payload-text"}))
	if got := strings.Count(logs.String(), "payload-text"); got < 2 {
		t.Errorf("with LogPayloads, arguments and result appear %d times, want 2:\n%s", got, logs.String())
	}
}

func TestFrontDoorIdentity(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *Request
		want *identity.Identity
	}{
		{"none", &Request{}, nil},
		{"iam", &Request{IAM: &IAMIdentity{UserARN: "arn:aws:iam::1:user/u"}},
			&identity.Identity{Principal: "arn:aws:iam::1:user/u", Source: identity.SourceIAM, IAM: &IAMIdentity{UserARN: "arn:aws:iam::1:user/u"}}},
		{"jwt", &Request{JWT: &JWTClaims{Claims: map[string]string{"sub": "s", "iss": "https://i", "scope": "b a"}, Scopes: []string{"c"}}},
			&identity.Identity{Principal: "https://i#s", Source: identity.SourceFrontDoorJWT, Issuer: "https://i", Subject: "s", Scopes: []string{"a", "b", "c"},
				Claims: map[string]any{"sub": "s", "iss": "https://i", "scope": "b a"}}},
		// A JWT without an issuer could be any issuer's user s.
		{"jwt without iss", &Request{JWT: &JWTClaims{Claims: map[string]string{"sub": "s"}}}, nil},
		// A Cognito ID token is for the client, not for resource servers.
		{"cognito id token", &Request{JWT: &JWTClaims{Claims: map[string]string{"sub": "s", "iss": "https://i", "token_use": "id"}}}, nil},
		{"authorizer", &Request{Authorizer: map[string]any{"principalId": "p1", "scope": "x"}},
			&identity.Identity{Principal: "p1", Source: identity.SourceAuthorizer, Scopes: []string{"x"}, Claims: map[string]any{"principalId": "p1", "scope": "x"}}},
		{"authorizer without principalId", &Request{Authorizer: map[string]any{"sub": "p1"}}, nil},
		// An HTTP API passes only the context a Lambda authorizer returned.
		{"HTTP API authorizer context with iss and sub", &Request{Authorizer: map[string]any{"iss": "https://i", "sub": "u", "scope": "a"}},
			&identity.Identity{Principal: "https://i#u", Source: identity.SourceAuthorizer, Issuer: "https://i", Subject: "u", Scopes: []string{"a"},
				Claims: map[string]any{"iss": "https://i", "sub": "u", "scope": "a"}}},
	} {
		got := frontDoorIdentity(tc.r)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("frontDoorIdentity(%s) (-want +got):\n%s", tc.name, diff)
		}
	}
}

// BenchmarkObserve measures the per-request cost of the request log line
// and metrics: a tools/call through the observe middleware (JSON log line
// to io.Discard, metrics of a one-request invocation flushed to io.Discard)
// against the bare method handler.
func BenchmarkObserve(b *testing.B) {
	next := func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		return &mcp.CallToolResult{}, nil
	}
	req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "echo"}, Extra: &mcp.RequestExtra{Header: http.Header{"Mcp-Protocol-Version": {"2026-07-28"}}}}
	base := identity.WithFrontDoor(lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "r"}),
		&identity.Identity{Principal: "i#s", Source: identity.SourceFrontDoorJWT})
	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			next(base, "tools/call", req)
		}
	})
	b.Run("logs+metrics", func(b *testing.B) {
		yes := true
		h := observe(telemetry.NewLogger(io.Discard, &telemetry.LoggerOptions{JSON: &yes}), false)(next)
		m := telemetry.NewMetrics(io.Discard, nil)
		b.ReportAllocs()
		for b.Loop() {
			ctx, inv := m.Begin(base)
			h(ctx, "tools/call", req)
			inv.Flush()
		}
	})
}

// TestNewHandlerLeavesServerAlone: NewHandler must not change the server
// it is given. Two handlers on one server log each request once, through
// the handler it came by; a request served another way (a plain go-sdk
// handler) is not logged at all.
func TestNewHandlerLeavesServerAlone(t *testing.T) {
	server := newTestServer(t, nil)
	var logA, logB bytes.Buffer
	yes := true
	a := NewHandler(server, &Options{Logger: telemetry.NewLogger(&logA, &telemetry.LoggerOptions{JSON: &yes})})
	b := NewHandler(server, &Options{Logger: telemetry.NewLogger(&logB, &telemetry.LoggerOptions{JSON: &yes})})
	plain := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true})
	post := func(h http.Handler) {
		t.Helper()
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(callBody("echo", echoIn{Text: "x"})))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("POST = %d %s", rec.Code, rec.Body)
		}
	}
	post(a)
	post(b)
	post(b)
	post(plain)
	if got := strings.Count(logA.String(), `"mcp request"`); got != 1 {
		t.Errorf("handler A logged %d lines for 1 request:\n%s", got, logA.String())
	}
	if got := strings.Count(logB.String(), `"mcp request"`); got != 2 {
		t.Errorf("handler B logged %d lines for 2 requests:\n%s", got, logB.String())
	}
}

// TestWarnLevelLogger: a logger at WARN still gets the lines of failed
// requests, and only those.
func TestWarnLevelLogger(t *testing.T) {
	var logs bytes.Buffer
	yes := true
	h := NewHandler(newTestServer(t, nil), &Options{Logger: telemetry.NewLogger(&logs, &telemetry.LoggerOptions{JSON: &yes, Level: slog.LevelWarn})})
	for _, body := range []string{callBody("echo", echoIn{Text: "x"}), callBody("nosuch", echoIn{Text: "x"})} {
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], `"name":"nosuch"`) {
		t.Errorf("WARN-level log = %q, want one WARN line for the unknown tool", logs.String())
	}
}
