package authserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/internal/testtools"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// devAccessTTL is the access token lifetime of the server under dev:
// short, so that the test can wait for a token to expire.
const devAccessTTL = 3 * time.Second

// TestDevEndToEnd is the sign-in real clients do, end to end: the real
// mcplambda CLI ("mcplambda dev") runs the authorization server and the
// MCP server (testdata/devserver, one binary built once) behind each
// front door it emulates, with authtest's issuer as the upstream identity
// provider and authtest's browser as the user, and
//
//   - the official TypeScript SDK's OAuth client, registering dynamically
//     and with a Client ID Metadata Document,
//   - go-sdk's OAuth client, the same two ways,
//
// each sign in, call a tool as the upstream user, wait for the access
// token to expire and call again (the client refreshes, no new sign-in),
// then revoke: the access and refresh tokens stop working at once, and
// the client has to sign in again.
func TestDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mcplambda CLI and Node")
	}
	node := testtools.Node22(t)
	sdk := filepath.Join(testtools.Dir(), "node_modules", "@modelcontextprotocol", "sdk", "dist", "esm")
	if _, err := os.Stat(sdk); err != nil {
		if testtools.Required() {
			t.Fatalf("TypeScript SDK not installed at %s: run scripts/install-test-tools.sh", sdk)
		}
		t.Skipf("TypeScript SDK not installed: %v", err)
	}
	dir := t.TempDir()
	build := func(name, pkg string, tags ...string) string {
		out := filepath.Join(dir, name)
		args := append([]string{"build", "-o", out}, tags...)
		if b, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	cli := build("mcplambda", "../../cmd/mcplambda")
	bootstrap := build("devserver", "./testdata/devserver", "-tags", "lambda.norpc")

	// Cleanups, not defers: the front doors' subtests run in parallel,
	// after this function returns.
	idp := authtest.NewIssuer(&authtest.IssuerOptions{ClientID: "mcplambda-as", ClientSecret: "upstream-secret"})
	t.Cleanup(idp.Close)
	// The clients' metadata documents, over TLS on loopback, which the
	// server may fetch only because the test bootstrap allows loopback.
	var docs *httptest.Server
	docs = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"client_id":                  docs.URL + r.URL.Path,
			"client_name":                "e2e client " + strings.TrimSuffix(r.URL.Path[1:], ".json"),
			"redirect_uris":              []string{redirectURI},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"token_endpoint_auth_method": "none",
		})
	}))
	t.Cleanup(docs.Close)
	caFile := filepath.Join(dir, "docs-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: docs.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, front := range []string{"url", "httpapi", "rest", "alb"} {
		t.Run(front, func(t *testing.T) {
			t.Parallel()
			addr := testtools.FreeAddr(t)
			issuer := "http://" + addr
			endpoint := startDev(t, cli, bootstrap, addr, front,
				"ISSUER="+issuer, "UPSTREAM_ISSUER="+idp.URL, "UPSTREAM_CLIENT_ID=mcplambda-as",
				"UPSTREAM_CLIENT_SECRET=upstream-secret", "ACCESS_TTL="+devAccessTTL.String(), "CIMD_CA_FILE="+caFile)
			e := &e2e{issuer: issuer, endpoint: endpoint, principal: issuer + "#" + authserver.Subject(idp.URL, "user")}
			// The clients run at once: they mostly wait for tokens to
			// expire, so they need not hold -parallel slots.
			var wg sync.WaitGroup
			for name, run := range map[string]func(*testing.T){
				"typescript/dcr":  func(t *testing.T) { e.typescript(t, node, sdk, "dcr", "") },
				"typescript/cimd": func(t *testing.T) { e.typescript(t, node, sdk, "cimd", docs.URL+"/ts-"+front+".json") },
				"go/dcr":          func(t *testing.T) { e.goSDK(t, "") },
				"go/cimd":         func(t *testing.T) { e.goSDK(t, docs.URL+"/go-"+front+".json") },
			} {
				wg.Go(func() { t.Run(name, run) })
			}
			wg.Wait()
		})
	}
}

// startDev runs "mcplambda dev" until the test ends and returns the MCP
// endpoint from its ready line.
func startDev(t *testing.T, cli, bootstrap, addr, front string, env ...string) string {
	t.Helper()
	args := []string{"dev", "--addr", addr, "--front", front}
	for _, e := range env {
		args = append(args, "--env", e)
	}
	cmd := exec.Command(cli, append(args, bootstrap)...)
	cmd.Stderr = t.Output()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "mcplambda: listening on "); ok {
				ready <- u
			}
		}
	}()
	select {
	case u := <-ready:
		if want := "http://" + addr + "/mcp"; u != want {
			t.Fatalf("mcplambda dev listens on %s, want %s", u, want)
		}
		return u
	case <-time.After(2 * time.Minute):
		t.Fatal("mcplambda dev did not start")
	}
	return ""
}

// e2e is one server under dev.
type e2e struct {
	issuer, endpoint, principal string
}

// tsMessage is a line of tsclient.mjs.
type tsMessage struct {
	Authorize      string  `json:"authorize"`
	Step           string  `json:"step"`
	Whoami         *whoami `json:"whoami"`
	ClientID       string  `json:"client_id"`
	AccessToken    string  `json:"access_token"`
	RefreshToken   string  `json:"refresh_token"`
	Authorizations int     `json:"authorizations"`
	Reauthorize    bool    `json:"reauthorize"`
	Error          string  `json:"error"`
}

// typescript runs tsclient.mjs and plays the browser and the clock.
func (e *e2e) typescript(t *testing.T, node, sdk, mode, clientIDURL string) {
	cmd := exec.Command(node, "testdata/tsclient.mjs", sdk, e.endpoint, mode, clientIDURL)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("node tsclient.mjs: %v\n%s", err, stderr.String())
		}
	}()
	answer := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(stdin, "%s\n", b)
	}
	browser := authtest.NewBrowser()
	var first tsMessage
	steps := 0
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m tsMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("client printed %q", sc.Text())
		}
		switch {
		case m.Error != "":
			t.Errorf("client: %s", m.Error)
		case m.Authorize != "":
			if steps > 0 {
				t.Errorf("a new sign-in after step %d, want none before the revocation", steps)
			}
			u, err := browser.Authorize(context.Background(), m.Authorize, redirectURI)
			if err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			answer(map[string]string{"callback": u.String()})
		case m.Step == "first":
			steps++
			first = m
			e.checkWho(t, m.Whoami)
			if mode == "cimd" && m.ClientID != clientIDURL || mode == "dcr" && !strings.HasPrefix(m.ClientID, "c_") {
				t.Errorf("%s client id = %q", mode, m.ClientID)
			}
			waitExpiry(t, m.AccessToken)
			answer(struct{}{})
		case m.Step == "after-expiry":
			steps++
			e.checkWho(t, m.Whoami)
			if m.AccessToken == first.AccessToken || m.RefreshToken == first.RefreshToken || m.Authorizations != 1 {
				t.Errorf("after expiry: tokens changed %v/%v, sign-ins %d; want a refresh, no new sign-in",
					m.AccessToken != first.AccessToken, m.RefreshToken != first.RefreshToken, m.Authorizations)
			}
			e.revoke(t, m.ClientID, m.RefreshToken, m.AccessToken)
			answer(struct{}{})
		case m.Step == "after-revocation":
			steps++
			if !m.Reauthorize {
				t.Errorf("after revocation the client was not asked to sign in again")
			}
		}
	}
	if steps != 3 {
		t.Errorf("client went through %d steps, want 3\n%s", steps, stderr.String())
	}
}

// goSDK signs in with go-sdk's OAuth client: dynamic registration, or the
// metadata document at clientIDURL.
func (e *e2e) goSDK(t *testing.T, clientIDURL string) {
	ctx := context.Background()
	browser := authtest.NewBrowser()
	var signIns atomic.Int32
	cfg := &sdkauth.AuthorizationCodeHandlerConfig{
		RedirectURL: redirectURI,
		AuthorizationCodeFetcher: func(ctx context.Context, args *sdkauth.AuthorizationArgs) (*sdkauth.AuthorizationResult, error) {
			signIns.Add(1)
			return browser.Fetcher(redirectURI)(ctx, args)
		},
	}
	if clientIDURL != "" {
		cfg.ClientIDMetadataDocumentConfig = &sdkauth.ClientIDMetadataDocumentConfig{URL: clientIDURL}
	} else {
		cfg.DynamicClientRegistrationConfig = &sdkauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "go e2e", RedirectURIs: []string{redirectURI},
			GrantTypes: []string{"authorization_code", "refresh_token"}, TokenEndpointAuthMethod: "none",
		}}
	}
	h, err := sdkauth.NewAuthorizationCodeHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "go-e2e", Version: "v1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: e.endpoint, OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cs.Close()
	call := func() (*whoami, error) {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
		if err != nil {
			return nil, err
		}
		var who whoami
		b, _ := json.Marshal(res.StructuredContent)
		return &who, json.Unmarshal(b, &who)
	}
	who, err := call()
	if err != nil {
		t.Fatalf("CallTool(whoami): %v", err)
	}
	e.checkWho(t, who)
	ts, _ := h.TokenSource(ctx)
	before, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	waitExpiry(t, before.AccessToken)
	// The token expired: the client refreshes (oauth2 refreshes tokens
	// about to expire) and the call works without a new sign-in.
	who, err = call()
	if err != nil {
		t.Fatalf("CallTool(whoami) after expiry: %v", err)
	}
	e.checkWho(t, who)
	after, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken || signIns.Load() != 1 {
		t.Errorf("after expiry: tokens changed %v/%v, sign-ins %d; want a refresh, no new sign-in",
			after.AccessToken != before.AccessToken, after.RefreshToken != before.RefreshToken, signIns.Load())
	}
	var claims struct {
		ClientID string `json:"client_id"`
	}
	payload, _ := base64Part(after.AccessToken, 1)
	json.Unmarshal([]byte(payload), &claims)
	if clientIDURL != "" && claims.ClientID != clientIDURL {
		t.Errorf("client_id = %q, want the metadata document's URL %q", claims.ClientID, clientIDURL)
	}
	e.revoke(t, claims.ClientID, after.RefreshToken, after.AccessToken)
	// The client cannot go on with its grant: its refresh fails, or its
	// token is refused and it signs in again.
	if _, err := call(); err == nil && signIns.Load() == 1 {
		t.Errorf("a call after revocation succeeded without a new sign-in")
	}
}

func (e *e2e) checkWho(t *testing.T, who *whoami) {
	t.Helper()
	want := &whoami{Principal: e.principal, Scopes: []string{"mcp:tools"}}
	if diff := cmp.Diff(want, who); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
}

// revoke revokes the grant with its refresh token, as a client signing
// out does (RFC 7009), and checks that both tokens stop working at once.
func (e *e2e) revoke(t *testing.T, clientID, refreshToken, accessToken string) {
	t.Helper()
	post := func(path string, form url.Values) (int, string) {
		resp, err := http.PostForm(e.issuer+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if s, b := post(authserver.PathRevoke, url.Values{"token": {refreshToken}, "client_id": {clientID}}); s != 200 {
		t.Fatalf("revoke = %d %s", s, b)
	}
	if s := callMCP(t, e.endpoint, accessToken); s != 401 {
		t.Errorf("access token after revocation = %d, want 401", s)
	}
	if s, b := post(authserver.PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "client_id": {clientID}}); s != 400 || !strings.Contains(b, "invalid_grant") {
		t.Errorf("refresh after revocation = %d %s, want 400 invalid_grant", s, b)
	}
}

// waitExpiry sleeps until the access token has expired: until its exp
// claim plus a second (exp is in whole seconds; the server under test
// allows no clock skew).
func waitExpiry(t *testing.T, token string) {
	t.Helper()
	payload, err := base64Part(token, 1)
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Exp int64 }
	if err := json.Unmarshal([]byte(payload), &c); err != nil || c.Exp == 0 {
		t.Fatalf("access token claims %s: %v", payload, err)
	}
	if d := time.Until(time.Unix(c.Exp+1, 0)); d > 0 {
		if d > 2*devAccessTTL {
			t.Fatalf("access token lives %s more, want at most %s", d, devAccessTTL)
		}
		time.Sleep(d)
	}
}
