package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/testtools"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/mcplambda/mcplambda/auth/authtest"
)

func init() {
	// The OAuth-protected bootstrap of package auth's tests: ISSUER and
	// RESOURCE configure it.
	binaries["protected"] = &struct {
		pkg  string
		tags string
		once sync.Once
		path string
		err  error
	}{pkg: "../../auth/testdata/protected", tags: "lambda.norpc"}
}

// awsEnv is the environment of call for lambda: targets and --sigv4: fake
// credentials, and no configuration files from this machine.
var awsEnv = []string{
	"AWS_ACCESS_KEY_ID=AKIDCALLTEST",
	"AWS_SECRET_ACCESS_KEY=callsecret",
	"AWS_SESSION_TOKEN=",
	"AWS_REGION=us-east-1",
	"AWS_PROFILE=",
	"AWS_CONFIG_FILE=" + os.DevNull,
	"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
	"AWS_EC2_METADATA_DISABLED=true",
	"MCPLAMBDA_TOKEN=",
	"MCPLAMBDA_CLIENT_ID=",
	"MCPLAMBDA_CLIENT_SECRET=",
}

// runCall runs "mcplambda call args..." to completion.
func runCall(tb testing.TB, env []string, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(tb, "mcplambda"), append([]string{"call"}, args...)...)
	// A cache directory of the test's own: --oauth caches tokens there.
	cmd.Env = append(append(os.Environ(), awsEnv...), append([]string{"XDG_CACHE_HOME=" + tb.TempDir()}, env...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		tb.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// callCase is one run of call and what it must print. want and wantErr
// are regular expressions for stdout and stderr; an empty wantErr means
// stderr must be empty.
type callCase struct {
	name     string
	args     []string
	wantCode int
	want     string
	wantErr  string
}

func (tt callCase) check(t *testing.T, target []string, env ...string) {
	t.Helper()
	args := append(append([]string{}, target...), tt.args...)
	code, stdout, stderr := runCall(t, env, args...)
	if code != tt.wantCode {
		t.Errorf("call %s: exit %d, want %d; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, tt.wantCode, stdout, stderr)
		return
	}
	if !regexp.MustCompile(tt.want).MatchString(stdout) {
		t.Errorf("call %s: stdout =\n%s\nwant a match for %s", strings.Join(args, " "), stdout, tt.want)
	}
	if tt.wantErr == "" && stderr != "" {
		t.Errorf("call %s: stderr = %q, want nothing", strings.Join(args, " "), stderr)
	}
	if tt.wantErr != "" {
		if !regexp.MustCompile(tt.wantErr).MatchString(stderr) {
			t.Errorf("call %s: stderr = %q, want a match for %s", strings.Join(args, " "), stderr, tt.wantErr)
		}
		if tt.wantCode == 1 && strings.Count(stderr, "\n") != 1 {
			t.Errorf("call %s: stderr = %q, want one line", strings.Join(args, " "), stderr)
		}
	}
}

// TestCallFrontDoors runs call end to end against the conformance server
// under "mcplambda dev", through each front door's MCP endpoint and
// through the Lambda Invoke API (lambda: target), in both protocol eras.
func TestCallFrontDoors(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	common := []callCase{
		{name: "discover", args: []string{"discover"}, want: `(?m)^server +mcplambda-conformance 1\.0\.0\nprotocol +PROTOCOL\ncapabilities +tools, resources \(subscribe\), prompts, completions, logging\n`},
		{name: "tools", args: []string{"tools"}, want: `(?m)^NAME +DESCRIPTION\n(.*\n)*test_simple_text +Returns one text`},
		{name: "tool", args: []string{"tool", "test_simple_text"}, want: `^This is a simple text response for testing\.\n$`},
		{name: "tool with --arg", args: []string{"tool", "test_x_mcp_header", "--arg", "region=123", "--arg", "level=3"}, want: `^region=123\n$`},
		{name: "tool with --args", args: []string{"tool", "--args", `{"region":"eu","level":2}`, "test_x_mcp_header"}, want: `^region=eu\n$`},
		{name: "tool content kinds", args: []string{"tool", "test_multiple_content_types"}, want: `^This is text content\n\[image: image/png, \d+ bytes\]\nThis is an embedded resource\n$`},
		{name: "tool isError", args: []string{"tool", "test_error_handling"}, wantCode: 1,
			wantErr: `^mcplambda: call: tool test_error_handling returned an error: this tool intentionally returns an error for testing\n$`},
		{name: "tool isError --json", args: []string{"--json", "tool", "test_error_handling"}, wantCode: 1, want: `"isError": true`,
			wantErr: `returned an error`},
		{name: "unknown tool", args: []string{"tool", "nope"}, wantCode: 1, wantErr: `^mcplambda: call: tool: JSON-RPC error -32602: unknown tool "nope"\n$`},
		{name: "resources", args: []string{"resources"}, want: `(?m)^URI +NAME +MIME TYPE +DESCRIPTION\n(.*\n)*test://static-text +static-text +text/plain +A static text resource\n(.*\n)*test://template/\{id\}/data +template`},
		{name: "read", args: []string{"read", "test://static-text"}, want: `^This is the content of the static text resource\.\n$`},
		{name: "read unknown", args: []string{"read", "test://nope"}, wantCode: 1, wantErr: `^mcplambda: call: read: JSON-RPC error -?\d+: .*\n$`},
		{name: "prompts", args: []string{"prompts"}, want: `(?m)^test_prompt_with_arguments +arg1 arg2 +A prompt with two required arguments$`},
		{name: "prompt", args: []string{"prompt", "test_prompt_with_arguments", "--arg", "arg1=a", "--arg", "arg2=b b"}, want: `^user: Prompt with arguments: arg1='a', arg2='b b'\n$`},
	}
	jsonCases := []struct {
		name  string
		args  []string
		check func(map[string]any) bool
	}{
		{"tools", []string{"tools"}, func(m map[string]any) bool {
			tools, _ := m["tools"].([]any)
			return len(tools) > 10
		}},
		{"tool", []string{"tool", "test_simple_text"}, func(m map[string]any) bool {
			c, _ := m["content"].([]any)
			return len(c) == 1 && c[0].(map[string]any)["text"] == "This is a simple text response for testing."
		}},
		{"discover", []string{"discover"}, func(m map[string]any) bool {
			return m["serverInfo"].(map[string]any)["name"] == "mcplambda-conformance"
		}},
		{"read", []string{"read", "test://static-text"}, func(m map[string]any) bool {
			c, _ := m["contents"].([]any)
			return len(c) == 1
		}},
	}

	for _, front := range []string{"url", "httpapi", "rest"} {
		dev := startDev(t, "--addr", "127.0.0.1:0", "--front", front, binary(t, "conformance"))
		targets := map[string][]string{front: {dev.mcpURL}}
		if front == "url" {
			targets["lambda"] = []string{"--endpoint-url", dev.invokeURL, "lambda:conformance"}
		}
		for name, target := range targets {
			for _, protocol := range protocolVersions {
				t.Run(name+"/"+protocol, func(t *testing.T) {
					target := append(append([]string{}, target...), "--protocol", protocol)
					for _, tt := range common {
						if name == "lambda" && strings.Contains(strings.Join(tt.args, " "), "test_x_mcp_header") && protocol == "2026-07-28" {
							// A direct invoke carries no HTTP headers, and the
							// root package derives Mcp-Method and Mcp-Name
							// from the message but not the Mcp-Param-*
							// headers of x-mcp-header arguments, so go-sdk
							// answers -32020. Not a client problem.
							continue
						}
						tt.want = strings.ReplaceAll(tt.want, "PROTOCOL", regexp.QuoteMeta(protocol))
						tt.check(t, target)
					}
					// Progress and log messages go to stderr as they arrive, with
					// --json too;
					// a lambda: target carries no notifications, so call asks
					// for none there.
					if name == "lambda" {
						callCase{args: []string{"tool", "test_tool_with_progress"}, want: `^progress reported for token <nil>\n$`}.check(t, target)
					} else {
						progress := `^mcplambda: progress 0%: step 1 of 3\nmcplambda: progress 50%: step 2 of 3\nmcplambda: progress 100%: step 3 of 3\n$`
						logs := `^mcplambda: log info: Tool execution started\nmcplambda: log info: Tool processing data\nmcplambda: log info: Tool execution completed\n$`
						for _, tt := range []callCase{
							{args: []string{"tool", "test_tool_with_progress"}, want: `^progress reported for token mcplambda-call\n$`, wantErr: progress},
							{args: []string{"--json", "tool", "test_tool_with_progress"}, want: `^\{\n(.*\n)*  "content": \[`, wantErr: progress},
							{args: []string{"tool", "test_tool_with_logging"}, want: `^Tool with logging executed successfully\n$`, wantErr: logs},
							{args: []string{"--log-level", "off", "tool", "test_tool_with_logging"}, want: `^Tool with logging executed successfully\n$`},
						} {
							tt.check(t, target)
						}
					}
					for _, tt := range jsonCases {
						_, stdout, stderr := runCall(t, nil, append(append(target, "--json"), tt.args...)...)
						var m map[string]any
						if err := json.Unmarshal([]byte(stdout), &m); err != nil || !tt.check(m) {
							t.Errorf("call --json %s = %s (%v), stderr %s", tt.name, stdout, err, stderr)
						}
					}
				})
			}
		}
	}
}

// TestCallErrors covers the failures call explains in one line.
func TestCallErrors(t *testing.T) {
	t.Parallel()
	closed := testtools.FreeAddr(t) // nothing listens there

	tests := []callCase{
		{name: "unreachable", args: []string{"http://" + closed + "/mcp", "tools"}, wantCode: 1,
			wantErr: `^mcplambda: call: cannot reach http://` + regexp.QuoteMeta(closed) + `/mcp: dial tcp .*connection refused\n$`},
		{name: "unreachable invoke endpoint", args: []string{"--endpoint-url", "http://" + closed, "lambda:fn", "tools"}, wantCode: 1,
			wantErr: `^mcplambda: call: cannot reach lambda:fn: dial tcp .*connection refused\n$`},
		{name: "no arguments", wantCode: 2, wantErr: `want TARGET and COMMAND.*\nRun "mcplambda call -h" for usage\.\n$`},
		{name: "unknown command", args: []string{"http://127.0.0.1:1/mcp", "list"}, wantCode: 2, wantErr: `unknown command "list"`},
		{name: "read without URI", args: []string{"http://127.0.0.1:1/mcp", "read"}, wantCode: 2, wantErr: `call read: want one URI`},
		{name: "extra operand", args: []string{"http://127.0.0.1:1/mcp", "tools", "x"}, wantCode: 2, wantErr: `unexpected argument "x"`},
		{name: "bad target", args: []string{"ftp://x/mcp", "tools"}, wantCode: 2, wantErr: `want an http\(s\) URL or lambda:FUNCTION`},
		{name: "bad protocol", args: []string{"--protocol", "2024-11-05", "http://127.0.0.1:1/mcp", "tools"}, wantCode: 2, wantErr: `--protocol "2024-11-05": want one of 2026-07-28, 2025-11-25`},
		{name: "two auths", args: []string{"--sigv4", "--token", "t", "http://127.0.0.1:1/mcp", "tools"}, wantCode: 2, wantErr: `choose one of`},
		{name: "auth for lambda", args: []string{"--token", "t", "lambda:fn", "tools"}, wantCode: 2, wantErr: `authorized by IAM`},
		{name: "arg for a list", args: []string{"--arg", "a=b", "http://127.0.0.1:1/mcp", "tools"}, wantCode: 2, wantErr: `--arg and --args are for tool and prompt`},
		{name: "bad arg", args: []string{"--arg", "ab", "http://127.0.0.1:1/mcp", "tool", "x"}, wantCode: 2, wantErr: `want KEY=VALUE`},
		{name: "help", args: []string{"-h"}, want: `^Usage: mcplambda call`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, nil) })
	}

	t.Run("listed in the usage", func(t *testing.T) {
		if _, stdout, _ := runMain(t, "-h"); !strings.Contains(stdout, "call    call an MCP server") {
			t.Errorf("mcplambda -h = %q, want it to list call", stdout)
		}
		if _, stdout, _ := runMain(t, "help", "call"); !strings.HasPrefix(stdout, "Usage: mcplambda call [flags] TARGET COMMAND") {
			t.Errorf("mcplambda help call = %q", stdout)
		}
	})

	t.Run("no AWS credentials", func(t *testing.T) {
		// The default chain finds nothing (and the instance metadata
		// service is off or refuses): one line that says what to set.
		callCase{args: []string{"lambda:arn:aws:lambda:eu-west-1:123456789012:function:time", "tools"}, wantCode: 1,
			wantErr: `^mcplambda: call: connecting: invoke: no AWS credentials found \(.*\): set AWS_PROFILE .* or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n$`}.
			check(t, nil, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_REGION=")
	})

	t.Run("bad --args", func(t *testing.T) {
		dev := startDev(t, "--addr", "127.0.0.1:0", binary(t, "conformance"))
		// The Invoke API of mcplambda dev needs no AWS configuration.
		callCase{args: []string{"tool", "test_simple_text"}, want: `^This is a simple text response for testing\.\n$`}.
			check(t, []string{"--endpoint-url", dev.invokeURL, "lambda:conformance"}, "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_REGION=")
		callCase{args: []string{"tool", "test_simple_text", "--args", "[1]"}, wantCode: 2, wantErr: `--args "\[1\]": want a JSON object`}.check(t, []string{dev.mcpURL})
		callCase{args: []string{"lambda:nope", "tools"}, wantCode: 1,
			wantErr: `^mcplambda: call: connecting: .*ResourceNotFoundException: Function not found: .*:function:nope\n$`}.check(t, []string{"--endpoint-url", dev.invokeURL})
	})
}

// TestCallOAuth runs call against an OAuth-protected function under
// "mcplambda dev": the 401 names the resource metadata; a bearer token
// works; --oauth signs in with the authorization code flow through the
// local issuer, the test acting as the browser.
func TestCallOAuth(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	addr := testtools.FreeAddr(t)
	resource := "http://" + addr + "/mcp"
	dev := startDev(t, "--addr", addr, "--env", "ISSUER="+iss.URL, "--env", "RESOURCE="+resource, binary(t, "protected"))

	metadata := regexp.QuoteMeta("http://" + addr + "/.well-known/oauth-protected-resource/mcp")
	tests := []callCase{
		{name: "no token", args: []string{dev.mcpURL, "tools"}, wantCode: 1,
			wantErr: `^mcplambda: call: connecting: 401 Unauthorized from ` + regexp.QuoteMeta(dev.mcpURL) + `; the server is OAuth-protected, resource metadata at ` + metadata + ` \(sign in with --oauth, or pass --token\)\n$`},
		{name: "bad token", args: []string{"--token", "not-a-jwt", dev.mcpURL, "tools"}, wantCode: 1, wantErr: `401 Unauthorized from .*resource metadata at ` + metadata},
		{name: "token", args: []string{"--token", iss.Token("user", resource, "mcp:tools"), dev.mcpURL, "tool", "whoami"},
			want: `"principal":"` + regexp.QuoteMeta(iss.URL) + `#user"`},
		{name: "token from the environment", args: []string{dev.mcpURL, "tools"}, want: `whoami`},
		{name: "token without the tool's scope", args: []string{"--token", iss.Token("user", resource, "mcp:tools"), dev.mcpURL, "tool", "delete"}, wantCode: 1,
			wantErr: `^mcplambda: call: tool: 403 Forbidden from ` + regexp.QuoteMeta(dev.mcpURL) + `: the token lacks a scope the server wants \(scope ".*mcp:admin.*"\)\n$`},
		{name: "token, JSON-RPC error", args: []string{"--token", iss.Token("user", resource, "mcp:tools"), dev.mcpURL, "tool", "nope"}, wantCode: 1,
			wantErr: `JSON-RPC error -32602`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			if tt.name == "token from the environment" {
				env = []string{"MCPLAMBDA_TOKEN=" + iss.Token("user", resource, "mcp:tools")}
			}
			tt.check(t, nil, env...)
		})
	}

	t.Run("authorization code", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary(t, "mcplambda"), "call", "--oauth", "--client-id", iss.ClientID(), dev.mcpURL, "tool", "whoami")
		cache := t.TempDir()
		cmd.Env = append(os.Environ(), append(awsEnv, "XDG_CACHE_HOME="+cache)...)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var errLines []string
		sc := bufio.NewScanner(stderr)
		var authURL string
		for sc.Scan() {
			errLines = append(errLines, sc.Text())
			if strings.HasPrefix(sc.Text(), iss.URL+"/") {
				authURL = sc.Text()
				break
			}
		}
		if authURL == "" {
			cmd.Wait()
			t.Fatalf("no authorization URL on stderr:\n%s", strings.Join(errLines, "\n"))
		}
		if want := "mcplambda: to sign in, open this URL in a browser:"; len(errLines) < 2 || errLines[len(errLines)-2] != want {
			t.Errorf("stderr before the URL = %q, want %q", errLines, want)
		}
		go io.Copy(io.Discard, stderr)
		// The browser: the issuer redirects to call's localhost listener.
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if u, err := url.Parse(loc); err != nil || u.Hostname() != "127.0.0.1" || u.Path != "/callback" {
			t.Fatalf("authorization redirect to %q, want call's localhost callback", loc)
		}
		resp, err = http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(page), "Signed in") {
			t.Errorf("callback page = %q", page)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("call --oauth: %v; stdout %s", err, stdout.String())
		}
		if want := `"principal":"` + iss.URL + `#user"`; !strings.Contains(stdout.String(), want) {
			t.Errorf("call --oauth stdout = %s, want %s", stdout.String(), want)
		}

		// The token is cached: the next call needs no sign-in.
		callCase{args: []string{"--oauth", "--client-id", iss.ClientID(), dev.mcpURL, "tool", "whoami"},
			want: `"principal":"` + regexp.QuoteMeta(iss.URL) + `#user"`}.check(t, nil, "XDG_CACHE_HOME="+cache)
	})
}

// TestCallSigV4 runs call --sigv4 through a front door that verifies
// signatures by re-signing each request with the AWS SDK's signer and the
// known secret, in front of "mcplambda dev".
func TestCallSigV4(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	dev := startDev(t, "--addr", "127.0.0.1:0", binary(t, "conformance"))
	upstream, _ := url.Parse(dev.invokeURL)
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	var mu sync.Mutex
	var verified int
	var refused []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifySigV4(r, body, "callsecret", "lambda", "eu-west-1"); err != nil {
			mu.Lock()
			refused = append(refused, err.Error())
			mu.Unlock()
			http.Error(w, `{"Message":"Forbidden"}`, http.StatusForbidden)
			return
		}
		mu.Lock()
		verified++
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Host = upstream.Host // the DNS-rebinding guard wants its own host
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	target := srv.URL + "/mcp"

	callCase{args: []string{"--sigv4", "--service", "lambda", "--region", "eu-west-1", target, "tool", "test_simple_text"},
		want: `^This is a simple text response for testing\.\n$`}.check(t, nil)
	callCase{args: []string{"--sigv4", "--service", "lambda", "--region", "eu-west-1", "--protocol", "2025-11-25", target, "tools"},
		want: `test_simple_text`}.check(t, nil)
	mu.Lock()
	if verified < 3 || len(refused) > 0 {
		t.Errorf("verified %d requests, refused %v", verified, refused)
	}
	mu.Unlock()

	callCase{args: []string{"--sigv4", "--service", "lambda", "--region", "eu-west-1", target, "tools"}, wantCode: 1,
		wantErr: `^mcplambda: call: connecting: 403 Forbidden from ` + regexp.QuoteMeta(target) + `: the SigV4 signature was refused`}.check(t, nil, "AWS_SECRET_ACCESS_KEY=wrong")
	callCase{args: []string{"--sigv4", target, "tools"}, wantCode: 1,
		wantErr: `^mcplambda: call: connecting: .*sigv4: cannot tell the service from host`}.check(t, nil)
}

// verifySigV4 checks r's signature the way AWS does: it re-signs the
// signed headers with the SDK's signer and compares.
func verifySigV4(r *http.Request, body []byte, secret, service, region string) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("not signed")
	}
	fields := map[string]string{}
	for f := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[2] != region || scope[3] != service {
		return errors.New("bad credential scope " + fields["Credential"])
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return err
	}
	re, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	re.ContentLength = int64(len(body))
	for h := range strings.SplitSeq(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" {
			re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hex.EncodeToString(sum[:]), service, region, when); err != nil {
		return err
	}
	if re.Header.Get("Authorization") != auth {
		return errors.New("signature mismatch")
	}
	return nil
}

// TestCallClientCredentials signs in as a machine: call with --client-id
// and $MCPLAMBDA_CLIENT_SECRET uses go-sdk's client credentials handler
// against an OAuth-protected function under "mcplambda dev". The
// authorization server is a stand-in (authtest's issuer has no client
// credentials grant): its own metadata and token endpoint, authtest's keys.
func TestCallClientCredentials(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	keys := authtest.NewIssuer(nil)
	defer keys.Close()
	addr := testtools.FreeAddr(t)
	resource := "http://" + addr + "/mcp"

	var as *httptest.Server
	var mu sync.Mutex
	var grants []string
	as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"issuer":                                as.URL,
				"token_endpoint":                        as.URL + "/token",
				"jwks_uri":                              keys.JWKSURL(),
				"grant_types_supported":                 []string{"client_credentials"},
				"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
				"response_types_supported":              []string{"token"},
				"code_challenge_methods_supported":      []string{"S256"}, // go-sdk checks it for every grant
			})
		case "/token":
			id, secret, _ := r.BasicAuth()
			r.ParseForm()
			if id != "machine" || secret != "s3cret" || r.PostForm.Get("grant_type") != "client_credentials" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"invalid_client"}`)
				return
			}
			mu.Lock()
			grants = append(grants, r.PostForm.Get("scope"))
			mu.Unlock()
			claims := keys.Claims("machine", resource, strings.Fields(r.PostForm.Get("scope"))...)
			claims["iss"] = as.URL
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"access_token": keys.Sign(claims), "token_type": "Bearer", "expires_in": 300})
		default:
			http.NotFound(w, r)
		}
	}))
	defer as.Close()
	dev := startDev(t, "--addr", addr, "--env", "ISSUER="+as.URL, "--env", "RESOURCE="+resource, binary(t, "protected"))

	callCase{args: []string{"--client-id", "machine", dev.mcpURL, "tool", "whoami"},
		want: `"principal":"` + regexp.QuoteMeta(as.URL) + `#machine"`}.check(t, nil, "MCPLAMBDA_CLIENT_SECRET=s3cret")
	mu.Lock()
	if len(grants) == 0 || !strings.Contains(grants[0], "mcp:tools") {
		t.Errorf("client credentials grants = %q, want one for mcp:tools", grants)
	}
	mu.Unlock()
	callCase{args: []string{"--client-id", "machine", dev.mcpURL, "tools"}, wantCode: 1,
		wantErr: `^mcplambda: call: connecting: .*invalid_client`}.check(t, nil, "MCPLAMBDA_CLIENT_SECRET=wrong")
	callCase{args: []string{dev.mcpURL, "tools"}, wantCode: 2,
		wantErr: `needs --client-id`}.check(t, nil, "MCPLAMBDA_CLIENT_SECRET=s3cret")
}
