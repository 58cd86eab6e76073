package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/internal/testtools"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// TestZeroConfig runs the example as a person would, PORT=... go run
// ./examples/oauth (the binary, built once), waits for the ready line,
// and signs in with go-sdk's OAuth client: dynamic registration, the local
// identity provider, the consent page (the test browser approves), then a
// tool call. It also checks the browser-facing protections of the shared
// origin: the Inspector's origin may call, another may not, and a foreign
// Host (DNS rebinding) is refused on the OAuth endpoints too.
func TestZeroConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the example")
	}
	bin := filepath.Join(t.TempDir(), "oauth")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := testtools.FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+port)
	cmd.Stderr = t.Output()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "mcplambda: listening on "); ok {
				ready <- u
			}
		}
	}()
	var endpoint string
	select {
	case endpoint = <-ready:
	case <-time.After(time.Minute):
		t.Fatal("no ready line")
	}
	issuer := "http://" + addr
	if endpoint != issuer+"/mcp" {
		t.Fatalf("ready line names %s, want %s/mcp", endpoint, issuer)
	}

	const redirect = "http://127.0.0.1/callback"
	h, err := sdkauth.NewAuthorizationCodeHandler(&sdkauth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &sdkauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "example test", RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none",
		}},
		RedirectURL:              redirect,
		AuthorizationCodeFetcher: authtest.NewBrowser().Fetcher(redirect),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "example-test", Version: "v1"}, nil).
		Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, OAuthHandler: h}, nil)
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
	json.Unmarshal(b, &who)
	if !strings.HasPrefix(who.Principal, issuer+"#") || len(who.Principal) != len(issuer)+1+43 {
		t.Errorf("principal = %q, want %s# and a 43-character subject", who.Principal, issuer)
	}
	if diff := cmp.Diff([]string{"mcp:tools"}, who.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		path, origin, host string
		want               int
	}{
		{"/.well-known/oauth-authorization-server", "http://localhost:6274", "", 200},
		{"/.well-known/oauth-authorization-server", "https://evil.example", "", 403},
		{"/oauth/authorize", "", "evil.example:" + port, 403},
		{"/.well-known/oauth-protected-resource/mcp", "", "", 200},
	} {
		req, _ := http.NewRequest(http.MethodGet, issuer+tt.path, nil)
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		if tt.host != "" {
			req.Host = tt.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s (Origin %q, Host %q) = %d, want %d", tt.path, tt.origin, tt.host, resp.StatusCode, tt.want)
		}
		if tt.origin != "" && tt.want == 200 && resp.Header.Get("Access-Control-Allow-Origin") != tt.origin {
			t.Errorf("GET %s from %s: Access-Control-Allow-Origin = %q", tt.path, tt.origin, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

// TestLambdaConfig: in Lambda, the store and the key must be configured;
// the example refuses to start with in-process ones.
func TestLambdaConfig(t *testing.T) {
	env := map[string]string{
		"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
		"ISSUER":                 "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
		"UPSTREAM_ISSUER":        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
		"UPSTREAM_CLIENT_ID":     "client",
	}
	_, err := configure(context.Background(), func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "MCPLAMBDA_TABLE and KMS_KEY_ID") {
		t.Errorf("configure in Lambda without table and key = %v, want an error naming them", err)
	}
}
