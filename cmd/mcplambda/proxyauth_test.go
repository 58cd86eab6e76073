package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestProxySigV4 runs the proxy with --sigv4 through a front door that
// verifies each signature by re-signing the request with the AWS SDK's
// signer, in front of "mcplambda dev". The credentials come from a shared
// credentials file: when a request is refused, the proxy loads them again
// and signs once more, which picks up rotated keys; with keys that stay
// wrong, the local client gets the explanation.
func TestProxySigV4(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	dev := startDev(t, "--addr", "127.0.0.1:0", binary(t, "conformance"))
	upstream, _ := url.Parse(dev.invokeURL)
	rp := httputil.NewSingleHostReverseProxy(upstream)
	creds := filepath.Join(t.TempDir(), "credentials")
	writeCreds := func(secret string) {
		if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDPROXYTEST\naws_secret_access_key = "+secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	refused := map[string]int{} // body -> refusals
	var rotate bool             // rotate the keys to the right ones at the first refusal
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifySigV4(r, body, "callsecret", "lambda", "eu-west-1"); err != nil {
			mu.Lock()
			refused[string(body)]++
			if rotate {
				rotate = false
				writeCreds("callsecret")
			}
			mu.Unlock()
			http.Error(w, `{"Message":"Forbidden"}`, http.StatusForbidden)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Host = upstream.Host // the DNS-rebinding guard wants its own host
		rp.ServeHTTP(w, r)
	}))
	defer srv.Close()
	env := append(proxyEnv(t), "AWS_SHARED_CREDENTIALS_FILE="+creds)
	args := []string{"--sigv4", "--service", "lambda", "--region", "eu-west-1", srv.URL + "/mcp"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("rotated keys", func(t *testing.T) {
		writeCreds("old-secret")
		mu.Lock()
		rotate = true
		clear(refused)
		mu.Unlock()
		g := connectGo(t, ctx, "2026-07-28", env, args...)
		res, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_simple_text"})
		if err != nil || textOf(res) != wantSimple {
			t.Fatalf("CallTool through the SigV4 proxy = %v, %v; refused %v", res, err, refused)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(refused) != 1 {
			t.Errorf("refused requests %v, want one: the first, signed with the old keys", refused)
		}
	})

	t.Run("wrong keys", func(t *testing.T) {
		writeCreds("wrong")
		mu.Lock()
		clear(refused)
		mu.Unlock()
		cmd, stderr := proxyCommand(t, env, args...)
		client := mcp.NewClient(&mcp.Implementation{Name: "go-proxy-test", Version: "v1"}, nil)
		_, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		var je *jsonrpc.Error
		if !errors.As(err, &je) || je.Code != jsonrpc.CodeInternalError || !strings.Contains(je.Message, "403 Forbidden") ||
			!strings.Contains(je.Message, "the SigV4 signature was refused") {
			t.Errorf("connecting with wrong keys = %v, want -32603 explaining the refused signature", err)
		}
		mu.Lock()
		for body, n := range refused {
			if n != 2 {
				t.Errorf("request %s refused %d times, want 2: signed again once with reloaded credentials", body, n)
			}
		}
		mu.Unlock()
		lines := stderr.wait(2)
		if len(lines) != 2 || !strings.HasPrefix(lines[1], "mcplambda proxy: connecting: 403 Forbidden from ") {
			t.Errorf("proxy stderr = %q, want the start line and one line for the failure", stderr.String())
		}
	})
}

// TestProxyOAuth signs in through the proxy with the authorization code
// flow (the test plays the browser), to an OAuth-protected function under
// "mcplambda dev" whose authorization server issues refresh tokens and
// access tokens that expire at once: the proxy refreshes them, caches
// them in the user's cache directory readable by the user only, and a new
// proxy starts signed in from the cache.
func TestProxyOAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	as := newRefreshingIssuer(t)
	addr := testtools.FreeAddr(t)
	resource := "http://" + addr + "/mcp"
	startDev(t, "--addr", addr, "--env", "ISSUER="+as.URL, "--env", "RESOURCE="+resource, binary(t, "protected"))
	env := proxyEnv(t)
	cache := t.TempDir()
	env = append(env, "XDG_CACHE_HOME="+cache) // the later value wins
	args := []string{"--oauth", "--client-id", "mcp-client", "--no-browser", resource}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The first proxy: sign in.
	cmd, _ := proxyCommand(t, env, args...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "go-proxy-test", Version: "v1"}, nil)
	type connected struct {
		cs  *mcp.ClientSession
		err error
	}
	done := make(chan connected, 1)
	go func() {
		cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
		done <- connected{cs, err}
	}()
	var authURL string
	for line := range lines {
		if strings.HasPrefix(line, as.URL+"/authorize?") {
			authURL = line
			break
		}
	}
	if authURL == "" {
		t.Fatal("the proxy printed no authorization URL")
	}
	browse(t, authURL, "Signed in")
	c := <-done
	if c.err != nil {
		t.Fatalf("connecting through the OAuth proxy: %v", c.err)
	}
	defer c.cs.Close()
	go io.Copy(io.Discard, pr)
	for range 2 {
		res, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
		if err != nil || !strings.Contains(textOf(res), `"principal":"`+as.URL+`#user"`) {
			t.Fatalf("whoami through the OAuth proxy = %v, %v", res, err)
		}
	}
	if as.count("authorization_code") != 1 || as.count("refresh_token") < 1 {
		t.Errorf("grants %q, want one authorization code and refreshes (the tokens expire at once)", as.grantList())
	}
	files, _ := filepath.Glob(filepath.Join(cache, "mcplambda", "oauth", "*.json"))
	if len(files) != 1 {
		t.Fatalf("token cache files %q, want one", files)
	}
	if fi, err := os.Stat(files[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token cache %s: mode %v (%v), want 0600", files[0], fi.Mode().Perm(), err)
	}
	if fi, err := os.Stat(filepath.Dir(files[0])); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("token cache directory: mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	b, _ := os.ReadFile(files[0])
	var cached struct {
		Token struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"token"`
	}
	if json.Unmarshal(b, &cached) != nil || cached.Token.AccessToken != as.lastAccessToken() || cached.Token.RefreshToken == "" {
		t.Errorf("token cache holds %s, want the last access token issued and a refresh token", b)
	}
	c.cs.Close()

	// The second proxy: signed in from the cache, refreshing.
	before := as.count("refresh_token")
	g := connectGo(t, ctx, "2025-11-25", env, args...)
	res, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil || !strings.Contains(textOf(res), as.URL+"#user") {
		t.Fatalf("whoami through a second OAuth proxy = %v, %v", res, err)
	}
	if as.count("authorization_code") != 1 || as.count("refresh_token") <= before {
		t.Errorf("grants %q, want no new sign-in and a refresh", as.grantList())
	}
	if s := g.stderr.String(); strings.Contains(s, "to sign in") {
		t.Errorf("the second proxy asked to sign in:\n%s", s)
	}
}

// browse does what a browser does with an authorization URL: it follows
// the redirect to the proxy's callback and checks the page says want.
func browse(t *testing.T, authURL, want string) {
	t.Helper()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if u, err := url.Parse(loc); err != nil || u.Hostname() != "127.0.0.1" || u.Path != "/callback" {
		t.Fatalf("authorization redirect to %q, want the proxy's localhost callback", loc)
	}
	resp, err = http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), want) {
		t.Errorf("callback page = %q, want %q", page, want)
	}
}

// refreshingIssuer is an OAuth authorization server for the test (the
// authorization code flow with PKCE, and the refresh token grant) that
// signs with authtest's keys: authtest's own issuer has no refresh
// tokens. Its access tokens are valid for an hour but announced as
// expiring in one second, which clients treat as expired at once.
type refreshingIssuer struct {
	*httptest.Server
	keys *authtest.Issuer

	mu     sync.Mutex
	codes  map[string]codeGrant
	grants []string
	last   string
}

type codeGrant struct{ challenge, redirect, resource, scope string }

func newRefreshingIssuer(t *testing.T) *refreshingIssuer {
	as := &refreshingIssuer{keys: authtest.NewIssuer(nil), codes: map[string]codeGrant{}}
	t.Cleanup(as.keys.Close)
	refreshTokens := map[string]codeGrant{}
	as.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON := func(status int, v any) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(v)
		}
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration":
			writeJSON(http.StatusOK, map[string]any{
				"issuer": as.URL, "jwks_uri": as.keys.JWKSURL(),
				"authorization_endpoint": as.URL + "/authorize", "token_endpoint": as.URL + "/token",
				"response_types_supported": []string{"code"}, "grant_types_supported": []string{"authorization_code", "refresh_token"},
				"code_challenge_methods_supported": []string{"S256"}, "token_endpoint_auth_methods_supported": []string{"none"},
				"scopes_supported": []string{"mcp:tools", "offline_access"},
			})
		case "/authorize":
			q := r.URL.Query()
			code := "code-" + q.Get("state")
			as.mu.Lock()
			as.codes[code] = codeGrant{q.Get("code_challenge"), q.Get("redirect_uri"), q.Get("resource"), q.Get("scope")}
			as.mu.Unlock()
			redirect, _ := url.Parse(q.Get("redirect_uri"))
			rq := redirect.Query()
			rq.Set("code", code)
			rq.Set("state", q.Get("state"))
			redirect.RawQuery = rq.Encode()
			http.Redirect(w, r, redirect.String(), http.StatusFound)
		case "/token":
			r.ParseForm()
			f := r.PostForm
			as.mu.Lock()
			defer as.mu.Unlock()
			var g codeGrant
			var ok bool
			switch f.Get("grant_type") {
			case "authorization_code":
				g, ok = as.codes[f.Get("code")]
				delete(as.codes, f.Get("code"))
				sum := sha256.Sum256([]byte(f.Get("code_verifier")))
				ok = ok && base64.RawURLEncoding.EncodeToString(sum[:]) == g.challenge && f.Get("redirect_uri") == g.redirect
			case "refresh_token":
				g, ok = refreshTokens[f.Get("refresh_token")]
			}
			if !ok {
				writeJSON(http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
				return
			}
			as.grants = append(as.grants, f.Get("grant_type"))
			claims := as.keys.Claims("user", g.resource, strings.Fields(g.scope)...)
			claims["iss"] = as.URL
			as.last = as.keys.Sign(claims)
			refresh := "refresh-" + as.last[len(as.last)-16:]
			refreshTokens[refresh] = g
			writeJSON(http.StatusOK, map[string]any{"access_token": as.last, "token_type": "Bearer", "expires_in": 1, "refresh_token": refresh, "scope": g.scope})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(as.Close)
	return as
}

func (as *refreshingIssuer) count(grant string) int {
	as.mu.Lock()
	defer as.mu.Unlock()
	n := 0
	for _, g := range as.grants {
		if g == grant {
			n++
		}
	}
	return n
}

func (as *refreshingIssuer) grantList() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]string(nil), as.grants...)
}

func (as *refreshingIssuer) lastAccessToken() string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.last
}
