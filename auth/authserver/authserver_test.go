package authserver_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// redirectURI is the redirect URI of the test clients; the test browser
// stops there.
const redirectURI = "http://127.0.0.1/callback"

// fixture is an MCP server and its authorization server on one origin,
// with authtest's issuer as the upstream identity provider.
type fixture struct {
	idp      *authtest.Issuer
	as       *authserver.Server
	store    state.Store
	srv      *httptest.Server
	issuer   string // srv.URL
	resource string // issuer + "/mcp"
	other    string // issuer + "/other": a second resource of the AS
}

// whoami is what the test server's whoami tool reports.
type whoami struct {
	Principal string   `json:"principal"`
	Scopes    []string `json:"scopes"`
}

func newMCPServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "authserver-test", Version: "v1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
		var out whoami
		if id, ok := identity.FromContext(ctx); ok {
			out.Principal, out.Scopes = id.Principal, id.Scopes
		}
		return nil, out, nil
	})
	return s
}

// newFixture starts the servers. opts.Store, if nil, is a new memory
// store; the upstream is a confidential client of idp.
func newFixture(t *testing.T, opts *authserver.Options, idpOpts *authtest.IssuerOptions) *fixture {
	t.Helper()
	upstream := authtest.IssuerOptions{ClientID: "mcplambda-as", ClientSecret: "upstream-secret"}
	if idpOpts != nil {
		upstream.IDTokenClaims, upstream.Subject = idpOpts.IDTokenClaims, idpOpts.Subject
	}
	f := &fixture{idp: authtest.NewIssuer(&upstream)}
	t.Cleanup(f.idp.Close)
	var h http.Handler
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL
	f.resource = f.issuer + "/mcp"
	f.other = f.issuer + "/other"
	var o authserver.Options
	if opts != nil {
		o = *opts
	}
	if o.Scopes == nil {
		o.Scopes = []string{"mcp:tools", "mcp:admin"}
		if o.DefaultScopes == nil {
			o.DefaultScopes = []string{"mcp:tools"}
		}
		if o.GroupScopes == nil {
			o.GroupScopes = map[string][]string{"admins": {"mcp:admin"}}
		}
	}
	if o.Store == nil {
		o.Store = state.NewMemory(nil)
	}
	f.store = o.Store
	var err error
	f.as, err = authserver.New(f.issuer, []string{f.resource, f.other}, authserver.Upstream{
		Issuer: f.idp.URL, ClientID: "mcplambda-as", ClientSecret: "upstream-secret",
	}, &o)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := f.as.Verifier(f.resource, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := auth.NewResourceServer(f.resource, f.as.RevocationCheck(verifier.Verify), &auth.Options{
		AuthorizationServers: []string{f.issuer},
		Scopes:               []string{"mcp:tools"},
	})
	h = f.as.Handler(rs.Handler(mcplambda.NewHandler(newMCPServer(), nil)))
	return f
}

// dcrHandler is go-sdk's OAuth client registering dynamically, with the
// test browser approving the consent page.
func dcrHandler(t *testing.T, b *authtest.Browser) *sdkauth.AuthorizationCodeHandler {
	t.Helper()
	h, err := sdkauth.NewAuthorizationCodeHandler(&sdkauth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &sdkauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName:              "go-sdk test client",
			RedirectURIs:            []string{redirectURI},
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			TokenEndpointAuthMethod: "none",
		}},
		RedirectURL:              redirectURI,
		AuthorizationCodeFetcher: b.Fetcher(redirectURI),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// callWhoami connects with handler and calls whoami.
func callWhoami(t *testing.T, endpoint string, h sdkauth.OAuthHandler) whoami {
	t.Helper()
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "authserver-test", Version: "v1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatalf("CallTool(whoami): %v", err)
	}
	var who whoami
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &who); err != nil {
		t.Fatal(err)
	}
	return who
}

// TestSignIn signs in with go-sdk's OAuth client through Dynamic Client
// Registration, the upstream provider and the consent page, then calls a
// tool: the principal is the issuer and the hashed upstream subject.
func TestSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	who := callWhoami(t, f.resource, dcrHandler(t, authtest.NewBrowser()))
	want := whoami{Principal: f.issuer + "#" + authserver.Subject(f.idp.URL, "user"), Scopes: []string{"mcp:tools"}}
	if diff := cmp.Diff(want, who); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
}

// TestGroupScopes: members of an upstream group get the group's scopes.
func TestGroupScopes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, &authtest.IssuerOptions{Subject: "root", IDTokenClaims: func(c map[string]any) {
		c["cognito:groups"] = []string{"admins"}
	}})
	c := f.registerClient(t, nil)
	code, verifier := f.signIn(t, c, url.Values{"scope": {"mcp:tools mcp:admin"}})
	status, body := f.post(t, authserver.PathToken, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {redirectURI}, "client_id": {c.id}, "resource": {f.resource},
	}, nil)
	if status != 200 || body["scope"] != "mcp:tools mcp:admin" {
		t.Errorf("token = %d %v, want 200 with scope mcp:tools mcp:admin", status, body)
	}

	// A user outside the group asking for the group's scope only is
	// refused rather than given a token that can do nothing.
	g := newFixture(t, nil, nil)
	gc := g.registerClient(t, nil)
	_, ch := pkce()
	u, err := authtest.NewBrowser().Authorize(context.Background(), g.authorizeURL(gc.id, ch, url.Values{"scope": {"mcp:admin"}}), redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Get("error") != "access_denied" {
		t.Errorf("sign-in asking only for a scope the user may not have redirected to %s, want error=access_denied", u)
	}
}

// testClient is a client registered in a test.
type testClient struct {
	id, secret string
}

// registerClient registers a client (metadata merged over a public
// client with refresh tokens) and returns it.
func (f *fixture) registerClient(t *testing.T, meta map[string]any) testClient {
	t.Helper()
	m := map[string]any{
		"client_name":                "test client",
		"redirect_uris":              []string{redirectURI},
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"token_endpoint_auth_method": "none",
	}
	for k, v := range meta {
		m[k] = v
	}
	status, body := f.postJSON(t, authserver.PathRegister, m)
	if status != http.StatusCreated {
		t.Fatalf("register = %d %v", status, body)
	}
	c := testClient{id: body["client_id"].(string)}
	c.secret, _ = body["client_secret"].(string)
	return c
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(rand.Text() + rand.Text()))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is an authorization request of client c for f.resource,
// with params overriding the defaults (an empty value removes one).
func (f *fixture) authorizeURL(clientID, challenge string, params url.Values) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
		"state":                 {"client-state"},
		"resource":              {f.resource},
		"scope":                 {"mcp:tools"},
	}
	for k, v := range params {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return f.issuer + authserver.PathAuthorize + "?" + q.Encode()
}

// signIn runs a whole sign-in of c in a new browser and returns the code
// and the PKCE verifier.
func (f *fixture) signIn(t *testing.T, c testClient, params url.Values) (code, verifier string) {
	t.Helper()
	verifier, challenge := pkce()
	u, err := authtest.NewBrowser().Authorize(context.Background(), f.authorizeURL(c.id, challenge, params), redirectURI)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	q := u.Query()
	if q.Get("code") == "" || q.Get("state") != "client-state" || q.Get("iss") != f.issuer {
		t.Fatalf("sign-in redirected to %s, want a code, state client-state and iss %s", u, f.issuer)
	}
	return q.Get("code"), verifier
}

// post posts a form to one of the server's paths.
func (f *fixture) post(t *testing.T, path string, form url.Values, basic *testClient) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.id), url.QueryEscape(basic.secret))
	}
	return do(t, req)
}

func (f *fixture) postJSON(t *testing.T, path string, v any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m == nil && len(b) > 0 {
		m = map[string]any{"body": string(b)}
	}
	return resp.StatusCode, m
}

// TestHostCheck: on a loopback listener, a foreign Host header (DNS
// rebinding) is refused on every endpoint.
func TestHostCheck(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	for _, p := range []string{authserver.WellKnownAuthorizationServer, authserver.PathAuthorize, authserver.PathToken, authserver.PathJWKS} {
		req, _ := http.NewRequest(http.MethodGet, f.issuer+p, nil)
		req.Host = "evil.example:" + strings.Split(f.srv.Listener.Addr().String(), ":")[1]
		status, body := do(t, req)
		if status != http.StatusForbidden {
			t.Errorf("GET %s with Host %s = %d %v, want 403", p, req.Host, status, body)
		}
	}
	_ = net.IPv4len
}

// poolOf trusts the certificate of a TLS test server.
func poolOf(srv *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool
}
