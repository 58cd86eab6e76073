package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authtest"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// whoami is what the test server's "whoami" tool reports.
type whoami struct {
	Principal     string   `json:"principal"`
	Source        string   `json:"source"`
	UserID        string   `json:"userId"`
	Scopes        []string `json:"scopes"`
	Authorization string   `json:"authorization"` // the header as the tool sees it: must be empty
	EventHasToken bool     `json:"eventHasToken"` // whether the Lambda event still carries it: must be false
}

type empty struct{}

// newMCPServer returns a server with three tools: whoami (any caller),
// delete (needs mcp:admin in the tests) and echo.
func newMCPServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "authtest", Version: "v1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ empty) (*mcp.CallToolResult, whoami, error) {
		var out whoami
		if id, ok := identity.FromContext(ctx); ok {
			out.Source = string(id.Source)
			out.Principal = id.Principal
		}
		if ev, ok := mcplambda.EventFromContext(ctx); ok {
			b, _ := json.Marshal(ev)
			out.EventHasToken = strings.Contains(string(b), "Bearer ") || strings.Contains(string(b), "AWS4-HMAC-SHA256")
		}
		if req.Extra != nil {
			if ti := req.Extra.TokenInfo; ti != nil {
				out.UserID = ti.UserID
				out.Scopes = ti.Scopes
			}
			out.Authorization = req.Extra.Header.Get("Authorization")
		}
		return nil, out, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "delete"}, func(ctx context.Context, req *mcp.CallToolRequest, _ empty) (*mcp.CallToolResult, empty, error) {
		return nil, empty{}, nil
	})
	return s
}

// fixture is a protected MCP endpoint served over httptest, with its issuer.
type fixture struct {
	iss      *authtest.Issuer
	srv      *httptest.Server
	resource string // srv.URL + "/mcp"
	rs       *auth.ResourceServer
}

var testScopes = &auth.Options{
	Scopes:     []string{"mcp:tools"},
	ToolScopes: map[string][]string{"delete": {"mcp:admin"}},
}

func newFixture(t *testing.T, opts *auth.Options, jwtOpts *auth.JWTOptions) *fixture {
	t.Helper()
	f := &fixture{iss: authtest.NewIssuer(nil)}
	t.Cleanup(f.iss.Close)
	var h http.Handler
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(f.srv.Close)
	f.resource = f.srv.URL + "/mcp"
	v, err := auth.NewJWTVerifier(f.iss.URL, f.resource, jwtOpts)
	if err != nil {
		t.Fatal(err)
	}
	o := *opts
	o.AuthorizationServers = []string{f.iss.URL}
	f.rs = auth.NewResourceServer(f.resource, v.Verify, &o)
	server := newMCPServer()
	server.AddReceivingMiddleware(f.rs.ToolMiddleware())
	h = f.rs.Handler(mcplambda.NewHandler(server, nil))
	return f
}

func callBody(tool string) string {
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": map[string]any{}},
	})
	return string(b)
}

// result is what a test request got back.
type result struct {
	status      int
	challenge   map[string]string // Bearer challenge params but error_description; nil if none
	description string            // error_description
	body        string
}

func do(t *testing.T, method, url string, header http.Header, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, challenge: bearerChallenge(t, resp.Header), body: string(b)}
	if res.challenge != nil {
		res.description = res.challenge["error_description"]
		delete(res.challenge, "error_description") // free text, checked apart
	}
	return res
}

// bearerChallenge parses WWW-Authenticate the way go-sdk's client does.
func bearerChallenge(t *testing.T, h http.Header) map[string]string {
	t.Helper()
	vs := h.Values("WWW-Authenticate")
	if len(vs) == 0 {
		return nil
	}
	cs, err := oauthex.ParseWWWAuthenticate(vs)
	if err != nil {
		t.Fatalf("ParseWWWAuthenticate(%q): %v", vs, err)
	}
	for _, c := range cs {
		if c.Scheme == "bearer" {
			return c.Params
		}
	}
	t.Fatalf("WWW-Authenticate %q has no Bearer challenge", vs)
	return nil
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestTokens(t *testing.T) {
	f := newFixture(t, testScopes, &auth.JWTOptions{ClientIDs: []string{"mcp-client"}})
	iss := f.iss
	good := func() jwt.MapClaims { return iss.Claims("alice", f.resource, "mcp:tools") }
	with := func(change func(jwt.MapClaims)) string {
		c := good()
		change(c)
		return iss.Sign(c)
	}
	key, kid := iss.Key()
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signed := func(method jwt.SigningMethod, k any, header map[string]any) string {
		tok := jwt.NewWithClaims(method, good())
		for h, v := range header {
			tok.Header[h] = v
		}
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := iss.Sign(good())
	parts := strings.Split(valid, ".")
	// Payload of another subject, spliced onto a valid signature.
	otherPayload := strings.Split(with(func(c jwt.MapClaims) { c["sub"] = "mallory" }), ".")[1]
	// Signature with one byte changed.
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[len(sig)/2] ^= 0xff
	tamperedSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)

	meta := f.srv.URL + "/.well-known/oauth-protected-resource/mcp"
	unauthorized := func(errCode string) map[string]string {
		m := map[string]string{"resource_metadata": meta, "scope": "mcp:tools"}
		if errCode != "" {
			m["error"] = errCode
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		query  string
		want   int
		wantCh map[string]string
		why    string // in error_description
	}{
		{name: "valid", header: bearer(valid), want: 200},
		{name: "lower-case scheme", header: http.Header{"Authorization": {"bearer " + valid}}, want: 200},
		{name: "aud list with ours", header: bearer(with(func(c jwt.MapClaims) { c["aud"] = []string{"https://other.example", f.resource} })), want: 200},
		{name: "expired within skew", header: bearer(with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-20 * time.Second).Unix() })), want: 200},
		{name: "no token", want: 401, wantCh: unauthorized("")},
		{name: "basic auth", header: http.Header{"Authorization": {"Basic YWxpY2U6c2VjcmV0"}}, want: 401, wantCh: unauthorized("")},
		{name: "expired", header: bearer(with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() })), want: 401, wantCh: unauthorized("invalid_token"), why: "token is expired"},
		{name: "no exp", header: bearer(with(func(c jwt.MapClaims) { delete(c, "exp") })), want: 401, wantCh: unauthorized("invalid_token"), why: "exp claim is required"},
		{name: "not yet valid", header: bearer(with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() })), want: 401, wantCh: unauthorized("invalid_token"), why: "not valid yet"},
		{name: "issued in the future", header: bearer(with(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() })), want: 401, wantCh: unauthorized("invalid_token"), why: "used before issued"},
		{name: "wrong aud", header: bearer(with(func(c jwt.MapClaims) { c["aud"] = "https://other.example/mcp" })), want: 401, wantCh: unauthorized("invalid_token"), why: "invalid audience"},
		{name: "no aud", header: bearer(with(func(c jwt.MapClaims) { delete(c, "aud") })), want: 401, wantCh: unauthorized("invalid_token"), why: "aud claim is required"},
		{name: "wrong iss", header: bearer(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), want: 401, wantCh: unauthorized("invalid_token"), why: "invalid issuer"},
		{name: "no sub", header: bearer(with(func(c jwt.MapClaims) { delete(c, "sub") })), want: 401, wantCh: unauthorized("invalid_token"), why: "no sub"},
		{name: "id token", header: bearer(with(func(c jwt.MapClaims) { c["token_use"] = "id" })), want: 401, wantCh: unauthorized("invalid_token"), why: "token_use"},
		{name: "typ at+jwt", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "typ": "at+jwt"})), want: 200},
		{name: "typ application/at+JWT", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "typ": "application/at+JWT"})), want: 200},
		{name: "OIDC ID token typ", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "typ": "id_token+jwt"})), want: 401, wantCh: unauthorized("invalid_token"), why: "not an access token type"},
		{name: "logout token typ", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "typ": "logout+jwt"})), want: 401, wantCh: unauthorized("invalid_token"), why: "not an access token type"},
		{name: "DPoP proof typ", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "typ": "dpop+jwt"})), want: 401, wantCh: unauthorized("invalid_token"), why: "not an access token type"},
		{name: "Keycloak ID token", header: bearer(with(func(c jwt.MapClaims) { c["typ"] = "ID" })), want: 401, wantCh: unauthorized("invalid_token"), why: "not an access token type"},
		{name: "Keycloak refresh token", header: bearer(with(func(c jwt.MapClaims) { c["typ"] = "Refresh" })), want: 401, wantCh: unauthorized("invalid_token"), why: "not an access token type"},
		{name: "Keycloak access token", header: bearer(with(func(c jwt.MapClaims) { c["typ"] = "Bearer" })), want: 200},
		{name: "crit extension", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "crit": []string{"exp-ext"}, "exp-ext": 1})), want: 401, wantCh: unauthorized("invalid_token"), why: "crit"},
		{name: "crit empty", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": kid, "crit": []string{}})), want: 401, wantCh: unauthorized("invalid_token"), why: "crit"},
		{name: "other client", header: bearer(with(func(c jwt.MapClaims) { c["client_id"] = "other-client" })), want: 401, wantCh: unauthorized("invalid_token"), why: "other-client"},
		{name: "alg none", header: bearer(signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid})), want: 401, wantCh: unauthorized("invalid_token"), why: "signing method none is invalid"},
		{name: "RS256 to HS256 with the public key", header: bearer(signed(jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": kid})), want: 401, wantCh: unauthorized("invalid_token"), why: "signing method HS256 is invalid"},
		{name: "HS256 with the DER public key", header: bearer(signed(jwt.SigningMethodHS256, der, map[string]any{"kid": kid})), want: 401, wantCh: unauthorized("invalid_token"), why: "signing method HS256 is invalid"},
		{name: "tampered signature", header: bearer(tamperedSig), want: 401, wantCh: unauthorized("invalid_token"), why: "verification error"},
		{name: "tampered payload", header: bearer(parts[0] + "." + otherPayload + "." + parts[2]), want: 401, wantCh: unauthorized("invalid_token"), why: "verification error"},
		{name: "stripped signature", header: bearer(parts[0] + "." + parts[1] + "."), want: 401, wantCh: unauthorized("invalid_token"), why: "verification error"},
		{name: "attacker key with embedded jwk and jku", header: bearer(signed(jwt.SigningMethodRS256, attacker, map[string]any{
			"kid": kid,
			"jwk": map[string]any{"kty": "RSA", "kid": kid, "n": base64.RawURLEncoding.EncodeToString(attacker.N.Bytes()), "e": "AQAB"},
			"jku": "https://evil.example/jwks",
		})), want: 401, wantCh: unauthorized("invalid_token"), why: "verification error"},
		{name: "missing kid", header: bearer(signed(jwt.SigningMethodRS256, key, nil)), want: 401, wantCh: unauthorized("invalid_token"), why: "no kid"},
		{name: "unknown kid", header: bearer(signed(jwt.SigningMethodRS256, key, map[string]any{"kid": "no-such-key"})), want: 401, wantCh: unauthorized("invalid_token"), why: "unknown kid"},
		{name: "oversized", header: bearer(with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("x", 20<<10) })), want: 401, wantCh: unauthorized("invalid_token"), why: "larger than"},
		{name: "garbage", header: bearer("not-a-jwt"), want: 401, wantCh: unauthorized("invalid_token"), why: "malformed"},
		{name: "garbage with dots", header: bearer("a.b.c"), want: 401, wantCh: unauthorized("invalid_token"), why: "malformed"},
		{name: "empty bearer", header: http.Header{"Authorization": {"Bearer "}}, want: 400, wantCh: unauthorized("invalid_request")},
		{name: "two tokens in header", header: http.Header{"Authorization": {"Bearer " + valid + " " + valid}}, want: 400, wantCh: unauthorized("invalid_request")},
		{name: "two Authorization headers", header: http.Header{"Authorization": {"Bearer " + valid, "Bearer " + valid}}, want: 400, wantCh: unauthorized("invalid_request"), why: "more than one"},
		{name: "token in query string", query: "?access_token=" + valid, want: 400, wantCh: unauthorized("invalid_request"), why: "query string"},
		{name: "token in query string and header", header: bearer(valid), query: "?access_token=" + valid, want: 400, wantCh: unauthorized("invalid_request"), why: "query string"},
		{name: "no scope", header: bearer(iss.Token("alice", f.resource)), want: 403,
			wantCh: map[string]string{"error": "insufficient_scope", "scope": "mcp:tools", "resource_metadata": meta}},
		{name: "other scope", header: bearer(iss.Token("alice", f.resource, "mcpx", "tools")), want: 403,
			wantCh: map[string]string{"error": "insufficient_scope", "scope": "mcp:tools", "resource_metadata": meta}},
		{name: "broader scope", header: bearer(iss.Token("alice", f.resource, "mcp")), want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, "POST", f.resource+tc.query, tc.header, callBody("whoami"))
			if got.status != tc.want {
				t.Errorf("POST whoami: status = %d, want %d (body %s)", got.status, tc.want, got.body)
			}
			if diff := cmp.Diff(tc.wantCh, got.challenge); diff != "" {
				t.Errorf("POST whoami: WWW-Authenticate Bearer params (-want +got):\n%s", diff)
			}
			if !strings.Contains(got.description, tc.why) {
				t.Errorf("POST whoami: error_description = %q, want it to contain %q", got.description, tc.why)
			}
		})
	}
}

func TestToolScopes(t *testing.T) {
	f := newFixture(t, testScopes, nil)
	meta := f.srv.URL + "/.well-known/oauth-protected-resource/mcp"
	tok := func(scopes ...string) http.Header { return bearer(f.iss.Token("alice", f.resource, scopes...)) }
	batch := "[" + callBody("whoami") + "," + strings.Replace(callBody("delete"), `"id":1`, `"id":2`, 1) + "]"
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		want   int
		wantCh map[string]string
	}{
		{name: "tools/list", header: tok("mcp:tools"), body: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, want: 200},
		{name: "unscoped tool", header: tok("mcp:tools"), body: callBody("whoami"), want: 200},
		{name: "scoped tool without scope", header: tok("mcp:tools"), body: callBody("delete"), want: 403,
			wantCh: map[string]string{"error": "insufficient_scope", "scope": "mcp:tools mcp:admin", "resource_metadata": meta}},
		{name: "scoped tool with scope", header: tok("mcp:tools", "mcp:admin"), body: callBody("delete"), want: 200},
		{name: "scoped tool with broader scope", header: tok("mcp"), body: callBody("delete"), want: 200},
		{name: "tool scope alone", header: tok("mcp:admin"), body: callBody("delete"), want: 403,
			wantCh: map[string]string{"error": "insufficient_scope", "scope": "mcp:tools mcp:admin", "resource_metadata": meta}},
		{name: "no token names the tool's scopes", body: callBody("delete"), want: 401,
			wantCh: map[string]string{"scope": "mcp:tools mcp:admin", "resource_metadata": meta}},
		{name: "batch with scoped tool", header: tok("mcp:tools"), body: batch, want: 403,
			wantCh: map[string]string{"error": "insufficient_scope", "scope": "mcp:tools mcp:admin", "resource_metadata": meta}},
		{name: "case variant of name", header: tok("mcp:tools"), body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete","Name":"whoami"}}`, want: 400},
		{name: "duplicate name", header: tok("mcp:tools"), body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","name":"delete"}}`, want: 400},
		{name: "upper-case key only", header: tok("mcp:tools"), body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"NAME":"delete"}}`, want: 200}, // go-sdk sees no name: a JSON-RPC error
		{name: "oversized body", header: tok("mcp:tools"), body: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", mcplambda.DefaultMaxBodyBytes) + `"}}`, want: 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := do(t, "POST", f.resource, tc.header, tc.body)
			if got.status != tc.want {
				t.Errorf("POST %s: status = %d, want %d (body %.200s)", tc.name, got.status, tc.want, got.body)
			}
			if diff := cmp.Diff(tc.wantCh, got.challenge); diff != "" {
				t.Errorf("POST %s: WWW-Authenticate Bearer params (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

// TestToolMiddleware checks the defence-in-depth check on a transport that
// does not pass through ResourceServer.Handler: in-memory, no token.
func TestToolMiddleware(t *testing.T) {
	ctx := context.Background()
	rs := auth.NewResourceServer("https://mcp.example.com/mcp", func(context.Context, string, *http.Request) (*sdkauth.TokenInfo, error) {
		return nil, nil
	}, testScopes)
	server := newMCPServer()
	server.AddReceivingMiddleware(rs.ToolMiddleware())
	st, ct := mcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "v1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"}); err != nil {
		t.Errorf("CallTool(whoami) = %v, want success", err)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete"})
	if err == nil || !strings.Contains(err.Error(), "insufficient_scope") {
		t.Errorf("CallTool(delete) = %v, want an insufficient_scope error", err)
	}
}

func TestIdentityInTools(t *testing.T) {
	f := newFixture(t, testScopes, nil)
	got := do(t, "POST", f.resource, bearer(f.iss.Token("alice", f.resource, "mcp:tools", "extra")), callBody("whoami"))
	if got.status != 200 {
		t.Fatalf("POST whoami: status %d, body %s", got.status, got.body)
	}
	var resp struct {
		Result struct {
			StructuredContent whoami `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(got.body), &resp); err != nil {
		t.Fatalf("decoding %s: %v", got.body, err)
	}
	principal := f.iss.URL + "#alice"
	want := whoami{Principal: principal, Source: "bearer", UserID: principal, Scopes: []string{"extra", "mcp:tools"}}
	if diff := cmp.Diff(want, resp.Result.StructuredContent); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
}

func TestMetadata(t *testing.T) {
	f := newFixture(t, testScopes, nil)
	want := map[string]any{
		"resource":                 f.resource,
		"authorization_servers":    []any{f.iss.URL},
		"scopes_supported":         []any{"mcp:admin", "mcp:tools"},
		"bearer_methods_supported": []any{"header"},
	}
	for _, tc := range []struct {
		path   string
		method string
		want   int
	}{
		{path: "/.well-known/oauth-protected-resource/mcp", method: "GET", want: 200},
		{path: "/.well-known/oauth-protected-resource", method: "GET", want: 200},
		{path: "/.well-known/oauth-protected-resource/mcp", method: "OPTIONS", want: 204},
		{path: "/.well-known/oauth-protected-resource/other", method: "GET", want: 401}, // not ours: needs auth, then 404
		{path: "/.well-known/oauth-protected-resource/mcp", method: "POST", want: 405},
	} {
		got := do(t, tc.method, f.srv.URL+tc.path, nil, "")
		if got.status != tc.want {
			t.Errorf("%s %s: status = %d, want %d", tc.method, tc.path, got.status, tc.want)
			continue
		}
		if tc.want != 200 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(got.body), &m); err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		if diff := cmp.Diff(want, m); diff != "" {
			t.Errorf("%s %s: metadata (-want +got):\n%s", tc.method, tc.path, diff)
		}
	}
	// go-sdk's client validates the metadata against the resource.
	prm, err := oauthex.GetProtectedResourceMetadata(context.Background(), f.rs.MetadataURL(), f.resource, http.DefaultClient)
	if err != nil {
		t.Fatalf("GetProtectedResourceMetadata: %v", err)
	}
	if prm.Resource != f.resource {
		t.Errorf("GetProtectedResourceMetadata: resource = %q, want %q", prm.Resource, f.resource)
	}
}

func TestKeysUnavailable(t *testing.T) {
	iss := authtest.NewIssuer(nil)
	tok := iss.Token("alice", "https://mcp.example.com/mcp", "mcp:tools")
	iss.Close() // the issuer is unreachable from the start
	v, err := auth.NewJWTVerifier(iss.URL, "https://mcp.example.com/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := auth.NewResourceServer("https://mcp.example.com/mcp", v.Verify, testScopes)
	srv := httptest.NewServer(rs.Handler(mcplambda.NewHandler(newMCPServer(), nil)))
	defer srv.Close()
	got := do(t, "POST", srv.URL+"/mcp", bearer(tok), callBody("whoami"))
	if got.status != http.StatusServiceUnavailable || got.challenge != nil {
		t.Errorf("POST with the issuer down: status %d, challenge %v; want 503 and no challenge", got.status, got.challenge)
	}
}

// TestCustomVerifier protects the endpoint with a verifier of opaque
// tokens, as for an introspection endpoint, instead of a JWTVerifier.
func TestCustomVerifier(t *testing.T) {
	tokens := map[string]*sdkauth.TokenInfo{
		"good":      {UserID: "user-1", Scopes: []string{"mcp:tools"}, Expiration: time.Now().Add(time.Hour)},
		"expired":   {UserID: "user-1", Scopes: []string{"mcp:tools"}, Expiration: time.Now().Add(-time.Second)},
		"no-expiry": {UserID: "user-1", Scopes: []string{"mcp:tools"}},
		// Callers without a user id would all be one principal, "".
		"no-user": {Scopes: []string{"mcp:tools"}, Expiration: time.Now().Add(time.Hour)},
	}
	verify := func(_ context.Context, token string, _ *http.Request) (*sdkauth.TokenInfo, error) {
		switch token {
		case "oauth-error":
			return nil, fmt.Errorf("%w: introspection refused the request", sdkauth.ErrOAuth)
		case "broken":
			return nil, errors.New("introspection endpoint unreachable")
		}
		if ti, ok := tokens[token]; ok {
			return ti, nil
		}
		return nil, fmt.Errorf("%w: unknown token", sdkauth.ErrInvalidToken)
	}
	rs := auth.NewResourceServer("https://mcp.example.com/mcp", verify, testScopes)
	srv := httptest.NewServer(rs.Handler(mcplambda.NewHandler(newMCPServer(), nil)))
	defer srv.Close()
	for _, tc := range []struct {
		token string
		want  int
	}{
		{"good", 200},
		{"unknown", 401},
		{"expired", 401},
		{"no-expiry", 401},
		{"no-user", 500},
		{"oauth-error", 400},
		{"broken", 500},
	} {
		got := do(t, "POST", srv.URL+"/mcp", bearer(tc.token), callBody("whoami"))
		if got.status != tc.want {
			t.Errorf("POST with token %q: status %d, want %d", tc.token, got.status, tc.want)
		}
		if tc.want == 200 && !strings.Contains(got.body, `"principal":"user-1"`) {
			t.Errorf("POST with token %q: body %s, want principal user-1", tc.token, got.body)
		}
	}
}

// TestRequireAccessTokenType: with JWTOptions.RequireAccessTokenType only
// tokens whose header says "at+jwt" (RFC 9068) are access tokens.
func TestRequireAccessTokenType(t *testing.T) {
	f := newFixture(t, testScopes, &auth.JWTOptions{RequireAccessTokenType: true})
	key, kid := f.iss.Key()
	signed := func(typ any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, f.iss.Claims("alice", f.resource, "mcp:tools"))
		tok.Header["kid"] = kid
		if typ == nil {
			delete(tok.Header, "typ")
		} else {
			tok.Header["typ"] = typ
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		typ  any
		want int
	}{
		{"at+jwt", 200},
		{"application/at+jwt", 200},
		{"JWT", 401},
		{nil, 401},
		{"id_token+jwt", 401},
		{42, 401},
	} {
		got := do(t, "POST", f.resource, bearer(signed(tc.typ)), callBody("whoami"))
		if got.status != tc.want {
			t.Errorf("POST with typ %v: status = %d, want %d (body %s)", tc.typ, got.status, tc.want, got.body)
		}
	}
}
