package authserver_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authtest"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// TestClientMetadataDocument signs in with go-sdk's OAuth client
// identified by a Client ID Metadata Document, which the server fetches
// once and then takes from its cache.
func TestClientMetadataDocument(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=600")
		json.NewEncoder(w).Encode(map[string]any{
			"client_id":     srv.URL + "/client.json",
			"client_name":   "Document Client",
			"redirect_uris": []string{redirectURI},
			"grant_types":   []string{"authorization_code", "refresh_token"},
		})
	}))
	defer srv.Close()
	f := newFixture(t, &authserver.Options{ClientMetadata: authserver.ClientMetadataOptions{AllowLoopback: true, RootCAs: poolOf(srv)}}, nil)
	for range 2 {
		h, err := sdkauth.NewAuthorizationCodeHandler(&sdkauth.AuthorizationCodeHandlerConfig{
			ClientIDMetadataDocumentConfig: &sdkauth.ClientIDMetadataDocumentConfig{URL: srv.URL + "/client.json"},
			RedirectURL:                    redirectURI,
			AuthorizationCodeFetcher:       authtest.NewBrowser().Fetcher(redirectURI),
		})
		if err != nil {
			t.Fatal(err)
		}
		who := callWhoami(t, f.resource, h)
		if want := f.issuer + "#" + authserver.Subject(f.idp.URL, "user"); who.Principal != want {
			t.Errorf("principal = %q, want %q", who.Principal, want)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("metadata document fetched %d times for two sign-ins, want 1 (cached)", n)
	}
}

// TestClientMetadataLoopbackRefused: without the test-only allowance, a
// client_id whose host name resolves to a loopback address is refused
// when dialed (the address is checked after name resolution).
func TestClientMetadataLoopbackRefused(t *testing.T) {
	t.Parallel()
	var fetched atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Store(true) }))
	defer srv.Close()
	f := newFixture(t, &authserver.Options{ClientMetadata: authserver.ClientMetadataOptions{RootCAs: poolOf(srv)}}, nil)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "https://"), ":")
	_, ch := pkce()
	got := get(t, noFollow, f.authorizeURL("https://localhost:"+port+"/client.json", ch, nil))
	if want := (outcome{Status: 400, Error: "invalid_client"}); got != want {
		t.Errorf("client_id on localhost = %+v, want %+v", got, want)
	}
	if fetched.Load() {
		t.Error("the metadata host was reached")
	}
}

// TestConsentPage: the page names the client, where the browser goes
// next, the user and the scopes, warns about loopback redirect URIs, and
// cannot be framed.
func TestConsentPage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	c := f.registerClient(t, map[string]any{"client_name": "Claude <Code>"})
	_, ch := pkce()
	b := &http.Client{Jar: newJar(), CheckRedirect: noFollow.CheckRedirect}
	next := f.authorizeURL(c.id, ch, nil)
	var resp *http.Response
	for range 4 {
		var err error
		if resp, err = b.Get(next); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 {
			break
		}
		resp.Body.Close()
		next = resp.Header.Get("Location")
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{
		"Claude &lt;Code&gt;", // escaped
		"the name this application gave itself when it registered",
		"<code>127.0.0.1</code>",
		"user@example.com",
		"<code>mcp:tools</code>",
		"Check that you started this sign-in yourself",
		`name="csrf"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q:\n%s", want, page)
		}
	}
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

// TestDeny: the user denies; the client gets access_denied and its state.
func TestDeny(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	c := f.registerClient(t, nil)
	_, ch := pkce()
	b := authtest.NewBrowser()
	b.Button = "deny"
	u, err := b.Authorize(context.Background(), f.authorizeURL(c.id, ch, nil), redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != "client-state" || q.Get("code") != "" {
		t.Errorf("denied sign-in redirected to %s, want error=access_denied with the state", u)
	}
}

// TestLoopbackAnyPort: a client registered with a loopback redirect URI
// may come back on any port (RFC 8252 §7.3).
func TestLoopbackAnyPort(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	c := f.registerClient(t, nil)
	_, ch := pkce()
	u, err := authtest.NewBrowser().Authorize(context.Background(), f.authorizeURL(c.id, ch, url.Values{"redirect_uri": {"http://127.0.0.1:49152/callback"}}), redirectURI)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "127.0.0.1:49152" || u.Query().Get("code") == "" {
		t.Errorf("sign-in redirected to %s, want a code on port 49152", u)
	}
}

// TestConfidentialClient registers a client with a secret and redeems
// with HTTP Basic and with the secret in the form.
func TestConfidentialClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	for _, method := range []string{"client_secret_basic", "client_secret_post"} {
		c := f.registerClient(t, map[string]any{"token_endpoint_auth_method": method})
		if c.secret == "" {
			t.Fatalf("%s: registration returned no secret", method)
		}
		code, verifier := f.signIn(t, c, nil)
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirectURI}}
		var basic *testClient
		if method == "client_secret_basic" {
			basic = &c
		} else {
			form.Set("client_id", c.id)
			form.Set("client_secret", c.secret)
		}
		if s, b := f.post(t, authserver.PathToken, form, basic); s != 200 {
			t.Errorf("%s: token = %d %v", method, s, b)
		}
		if s, b := f.redeem(t, c, code, verifier); s != 401 || b["error"] != "invalid_client" {
			t.Errorf("%s: token without the secret = %d %v, want 401 invalid_client", method, s, b)
		}
	}
}

// TestRefreshAndRevoke: refresh tokens rotate; revoking one ends the
// grant at once for the resource server, and revoking an access token
// does the same; another client's revocation and unknown tokens change
// nothing.
func TestRefreshAndRevoke(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, nil)
	c := f.registerClient(t, nil)
	other := f.registerClient(t, nil)
	for _, revoke := range []string{"refresh_token", "access_token"} {
		code, verifier := f.signIn(t, c, nil)
		_, tok := f.redeem(t, c, code, verifier)
		s, next := f.refreshWith(t, c, tok["refresh_token"].(string))
		if s != 200 || next["refresh_token"] == tok["refresh_token"] || next["access_token"] == tok["access_token"] {
			t.Fatalf("refresh = %d %v, want new tokens", s, next)
		}
		if s := callMCP(t, f.resource, tok["access_token"].(string)); s != 200 {
			t.Errorf("access token issued before the refresh = %d, want 200 (rotation revokes nothing)", s)
		}
		token := next[revoke].(string)
		for _, by := range []testClient{other, c} {
			if s, b := f.post(t, authserver.PathRevoke, url.Values{"token": {token}, "client_id": {by.id}}, nil); s != 200 {
				t.Errorf("revoke %s by %s = %d %v, want 200", revoke, by.id, s, b)
			}
			wantMCP := 200
			if by == c {
				wantMCP = 401
			}
			if s := callMCP(t, f.resource, next["access_token"].(string)); s != wantMCP {
				t.Errorf("after revoking the %s as %s: MCP call = %d, want %d", revoke, by.id, s, wantMCP)
			}
		}
		if s, b := f.refreshWith(t, c, next["refresh_token"].(string)); s != 400 || b["error"] != "invalid_grant" {
			t.Errorf("refresh after revoking the %s = %d %v, want 400 invalid_grant", revoke, s, b)
		}
	}
	if s, b := f.post(t, authserver.PathRevoke, url.Values{"token": {"garbage"}, "client_id": {c.id}}, nil); s != 200 {
		t.Errorf("revoke an unknown token = %d %v, want 200 (RFC 7009)", s, b)
	}
}

// TestKeyRotation: after a rotation, the JWKS publishes both keys, and
// tokens signed with either verify.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	k1, _ := authserver.GenerateKey()
	k2, err := rsaKey()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	set := &authserver.KeySet{Current: k1}
	f := newFixture(t, &authserver.Options{
		Keys: func(context.Context) (*authserver.KeySet, error) {
			mu.Lock()
			defer mu.Unlock()
			return set, nil
		},
		KeyCacheTime: time.Nanosecond, // ask Keys every time
	}, nil)
	c := f.registerClient(t, nil)
	token := func() string {
		code, verifier := f.signIn(t, c, nil)
		s, b := f.redeem(t, c, code, verifier)
		if s != 200 {
			t.Fatalf("token = %d %v", s, b)
		}
		return b["access_token"].(string)
	}
	first := token()
	mu.Lock()
	set = &authserver.KeySet{Current: k2, Previous: []authserver.Key{k1}}
	mu.Unlock()
	second := token()
	for name, tok := range map[string]string{"ES256 (previous)": first, "RS256 (current)": second} {
		if s := callMCP(t, f.resource, tok); s != 200 {
			t.Errorf("%s token = %d, want 200", name, s)
		}
	}
	resp, err := http.Get(f.as.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, Kty, Alg string }
	}
	json.NewDecoder(resp.Body).Decode(&jwks)
	var got []string
	for _, k := range jwks.Keys {
		got = append(got, k.Kty+" "+k.Alg+" "+k.Kid)
	}
	if diff := cmp.Diff([]string{"RSA RS256 " + k2.ID, "EC ES256 " + k1.ID}, got); diff != "" {
		t.Errorf("JWKS (-want +got):\n%s", diff)
	}
}

// TestEmailNeverIdentity: the provider's email, verified or not, is never
// the principal, and access tokens do not carry it.
func TestEmailNeverIdentity(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, &authtest.IssuerOptions{Subject: "u-123", IDTokenClaims: func(c map[string]any) {
		c["email"] = "victim@example.com"
		c["email_verified"] = false
	}})
	c := f.registerClient(t, nil)
	code, verifier := f.signIn(t, c, nil)
	_, tok := f.redeem(t, c, code, verifier)
	at := tok["access_token"].(string)
	payload, _ := base64Part(at, 1)
	if strings.Contains(payload, "victim") || strings.Contains(payload, "u-123") {
		t.Errorf("access token claims %s reveal the upstream account", payload)
	}
	v, err := f.as.Verifier(f.resource, nil)
	if err != nil {
		t.Fatal(err)
	}
	ti, err := v.Verify(context.Background(), at, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.issuer + "#" + authserver.Subject(f.idp.URL, "u-123"); ti.UserID != want {
		t.Errorf("principal = %q, want %q", ti.UserID, want)
	}
}

// TestMetadata: with an issuer that has a path (an API Gateway stage),
// the RFC 8414 metadata is served at the path-inserted and the OpenID
// Connect paths, with or without the stage in front (mcplambda removes
// it in Lambda), and auth.JWTVerifier finds the keys through discovery
// with no special case.
func TestMetadata(t *testing.T) {
	t.Parallel()
	idp := authtest.NewIssuer(&authtest.IssuerOptions{ClientID: "as"})
	defer idp.Close()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	issuer := srv.URL + "/prod"
	resource := issuer + "/mcp"
	as, err := authserver.New(issuer, []string{resource}, authserver.Upstream{Issuer: idp.URL, ClientID: "as"}, &authserver.Options{Scopes: []string{"mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	h = as
	for _, p := range []string{
		"/.well-known/oauth-authorization-server/prod",
		"/.well-known/openid-configuration/prod",
		"/prod/.well-known/openid-configuration",
		"/.well-known/oauth-authorization-server", // /prod/... once the stage is removed
		"/.well-known/openid-configuration",
	} {
		meta, err := sdkauth.GetAuthServerMetadata(context.Background(), issuer, nil)
		if err != nil || meta == nil || meta.Issuer != issuer || meta.TokenEndpoint != issuer+authserver.PathToken || !meta.ClientIDMetadataDocumentSupported || !meta.AuthorizationResponseIssParameterSupported {
			t.Fatalf("go-sdk discovery of %s: %+v, %v", issuer, meta, err)
		}
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Issuer string }
		json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != 200 || m.Issuer != issuer {
			t.Errorf("GET %s = %d issuer %q, want 200 %q", p, resp.StatusCode, m.Issuer, issuer)
		}
	}
	// A token of the server, verified by a plain JWTVerifier that
	// discovers everything over HTTP.
	f := newFixture(t, nil, nil)
	c := f.registerClient(t, nil)
	code, verifier := f.signIn(t, c, nil)
	_, tok := f.redeem(t, c, code, verifier)
	v, err := auth.NewJWTVerifier(f.issuer, f.resource, &auth.JWTOptions{RequireAccessTokenType: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), tok["access_token"].(string), nil); err != nil {
		t.Errorf("auth.JWTVerifier with discovery: %v", err)
	}
}

func rsaKey() (authserver.Key, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return authserver.Key{}, err
	}
	return authserver.NewKey(priv)
}

// base64Part decodes part i of a compact JWS.
func base64Part(token string, i int) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[i])
	return string(b), err
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}
