package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/gateway"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestSecurity: the gateway authenticates its callers itself (package
// auth), with per-tool scopes on the namespaced names; a backend never
// sees the caller's token, and sees the caller's principal only when
// configured, and then the real one, whatever the client puts in _meta.
func TestSecurity(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	const resource = "https://gw.example.com/mcp"
	alpha, alphaSaw := newBackend(t, "alpha", 0)
	beta, betaSaw := newBackend(t, "beta", 0)
	url, _, _ := startGateway(t, fmt.Sprintf(`{"mcpServers": {
		"alpha": {"url": %q, "forwardPrincipal": true},
		"beta": {"url": %q}
	}, "gateway": {"auth": {"resource": %q, "issuer": %q, "scopes": ["mcp/tools"], "toolScopes": {"alpha__secret": ["mcp/admin"]}}}}`,
		alpha.URL+"/mcp", beta.URL+"/mcp", resource, iss.URL))

	// No token: 401 with the metadata to sign in.
	_, err := mcp.NewClient(&mcp.Implementation{Name: "anon"}, nil).Connect(context.Background(),
		&mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("connecting without a token = %v, want 401", err)
	}

	bearer := func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
	cs := connect(t, url, newer, nil, bearer(iss.Token("alice", resource, "mcp/tools")))
	spoofed := &mcp.CallToolParams{Name: "alpha__echo", Meta: mcp.Meta{gateway.MetaKeyPrincipal: "mallory"}}
	for _, p := range []*mcp.CallToolParams{{Name: "alpha__echo"}, spoofed, {Name: "beta__echo", Meta: mcp.Meta{gateway.MetaKeyPrincipal: "mallory"}}} {
		if _, err := cs.CallTool(context.Background(), p); err != nil {
			t.Fatalf("CallTool(%s): %v", p.Name, err)
		}
	}
	alice := iss.URL + "#alice"
	auths, principals := alphaSaw.get()
	if diff := cmp.Diff([]any{alice, alice}, principals); diff != "" {
		t.Errorf("principals alpha saw (-want +got):\n%s", diff)
	}
	bAuths, bPrincipals := betaSaw.get()
	if diff := cmp.Diff([]any{nil}, bPrincipals); diff != "" {
		t.Errorf("principals beta saw, without forwardPrincipal (-want +got):\n%s", diff)
	}
	if slices.ContainsFunc(append(auths, bAuths...), func(a string) bool { return a != "" }) {
		t.Errorf("a backend saw an Authorization header: %q %q", auths, bAuths)
	}

	// Per-tool scopes on the namespaced name.
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "alpha__secret"}); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("CallTool(alpha__secret) without mcp/admin = %v, want 403", err)
	}
	admin := connect(t, url, older, nil, bearer(iss.Token("root", resource, "mcp/tools", "mcp/admin")))
	if got, err := callText(admin, "alpha__secret", nil); err != nil || got != "secret" {
		t.Errorf("CallTool(alpha__secret) with mcp/admin = %q, %v", got, err)
	}
}

// TestMetrics: in Lambda, every request to a backend is counted in the
// invocation's EMF metrics, by backend and method.
func TestMetrics(t *testing.T) {
	t.Parallel()
	alpha, _ := newBackend(t, "alpha", 0)
	cfg, err := gateway.Parse("gw.json", []byte(fmt.Sprintf(`{"mcpServers": {"alpha": {"url": %q}, "echo": {"command": %q}}}`, alpha.URL+"/mcp", echoServer)), nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var emf bytes.Buffer
	h := mcplambda.NewLambdaHandler(mcplambda.NewHandler(g.Server(), nil), &mcplambda.Options{Metrics: telemetry.NewMetrics(&emf, &telemetry.MetricsOptions{Service: "gw"})})
	invoke := func(body string) {
		t.Helper()
		event, _ := json.Marshal(events.LambdaFunctionURLRequest{
			RawPath: "/mcp", Body: body,
			Headers: map[string]string{"content-type": "application/json", "accept": "application/json, text/event-stream", "mcp-protocol-version": newer,
				"mcp-method": "tools/list"},
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/mcp"}},
		})
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := h.Invoke(ctx, event); err != nil {
			t.Fatal(err)
		}
	}
	invoke(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`)
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(emf.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if b, ok := doc["Backend"].(string); ok {
			got = append(got, fmt.Sprintf("%s %s %v %v", b, doc["Method"], doc["Requests"], doc["Errors"]))
		}
	}
	slices.Sort(got) // the backends answer at once, in any order
	if diff := cmp.Diff([]string{"alpha tools/list 1 0", "echo tools/list 1 0"}, got); diff != "" {
		t.Errorf("backend metrics (-want +got):\n%s\nEMF:\n%s", diff, emf.String())
	}
}
