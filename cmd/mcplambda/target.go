package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda/internal/mcpproxy"
	"github.com/mcplambda/mcplambda/invoke"
	"github.com/mcplambda/mcplambda/sigv4"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/auth/extauth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// This file is what "call" and "proxy" share: the TARGET operand and the
// flags that say how to reach and authenticate to it, the go-sdk client
// transport built from them, and the one-line explanation of a failure.

// protocolVersions are the --protocol values.
var protocolVersions = []string{"2026-07-28", "2025-11-25"}

// targetConfig is a TARGET and how to reach it, from the command line.
type targetConfig struct {
	target     string // an http(s) URL, or lambda:FUNCTION[:QUALIFIER]
	sigv4      bool
	service    string
	token      string // --token, else $MCPLAMBDA_TOKEN
	region     string
	protocol   string
	endpoint   string
	oauth      bool
	clientID   string // --client-id, else $MCPLAMBDA_CLIENT_ID
	clientSecr string // $MCPLAMBDA_CLIENT_SECRET
	callback   string
	noBrowser  bool // proxy only: print the sign-in URL without opening a browser
}

// addFlags defines the target flags on set.
func (tc *targetConfig) addFlags(set *flag.FlagSet) {
	set.BoolVar(&tc.sigv4, "sigv4", false, "sign requests with AWS SigV4 (a function URL or API Gateway API with IAM auth)")
	set.StringVar(&tc.service, "service", "", "SigV4 signing `name` for --sigv4: lambda or execute-api (default: from the URL's host)")
	set.StringVar(&tc.token, "token", "", "send `TOKEN` as a bearer token (default $MCPLAMBDA_TOKEN)")
	set.StringVar(&tc.region, "region", "", "AWS `region` for --sigv4 and lambda: targets (default: from the URL or ARN, else the AWS configuration)")
	set.StringVar(&tc.protocol, "protocol", "2026-07-28", "MCP protocol `version` to ask for: 2026-07-28 or 2025-11-25 (which uses initialize)")
	set.StringVar(&tc.endpoint, "endpoint-url", "", "Lambda Invoke API `URL` for lambda: targets, e.g. the invoke endpoint of mcplambda dev\n(a loopback URL needs no AWS configuration)")
	set.BoolVar(&tc.oauth, "oauth", false, "sign in with OAuth (authorization code with PKCE): prints a URL to open, and waits for the redirect;\ntokens are cached and refreshed (see the manual for where)")
	set.StringVar(&tc.clientID, "client-id", "", "OAuth client `ID` (default $MCPLAMBDA_CLIENT_ID); with $MCPLAMBDA_CLIENT_SECRET, uses the client credentials grant")
	set.StringVar(&tc.callback, "callback", "127.0.0.1:0", "`address` of the local OAuth redirect listener for --oauth")
}

// validate applies the environment defaults and checks the target flags;
// cmd names the command in messages, hint is its usage hint.
func (tc *targetConfig) validate(cmd, hint string) error {
	if tc.token == "" {
		tc.token = os.Getenv("MCPLAMBDA_TOKEN")
	}
	if tc.clientID == "" {
		tc.clientID = os.Getenv("MCPLAMBDA_CLIENT_ID")
	}
	tc.clientSecr = os.Getenv("MCPLAMBDA_CLIENT_SECRET")
	if !slices.Contains(protocolVersions, tc.protocol) {
		return usagef(hint, "%s: --protocol %q: want one of %s", cmd, tc.protocol, strings.Join(protocolVersions, ", "))
	}
	auths := 0
	for _, on := range []bool{tc.sigv4, tc.token != "", tc.oauth, tc.clientSecr != ""} {
		if on {
			auths++
		}
	}
	if auths > 1 {
		return usagef(hint, "%s: choose one of --sigv4, --token ($MCPLAMBDA_TOKEN), --oauth and client credentials ($MCPLAMBDA_CLIENT_SECRET)", cmd)
	}
	if tc.service != "" && !tc.sigv4 {
		return usagef(hint, "%s: --service is for --sigv4", cmd)
	}
	if tc.clientSecr != "" && tc.clientID == "" {
		return usagef(hint, "%s: $MCPLAMBDA_CLIENT_SECRET needs --client-id", cmd)
	}
	if strings.HasPrefix(tc.target, "lambda:") {
		if strings.TrimPrefix(tc.target, "lambda:") == "" {
			return usagef(hint, "%s: %q: want lambda:FUNCTION[:QUALIFIER]", cmd, tc.target)
		}
		if auths > 0 {
			return usagef(hint, "%s: a lambda: target is authorized by IAM with your AWS credentials; --sigv4, --token and OAuth are for URLs", cmd)
		}
		return nil
	}
	u, err := url.Parse(tc.target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef(hint, "%s: TARGET %q: want an http(s) URL or lambda:FUNCTION[:QUALIFIER]", cmd, tc.target)
	}
	if tc.endpoint != "" {
		return usagef(hint, "%s: --endpoint-url is for lambda: targets", cmd)
	}
	return nil
}

// remote makes go-sdk client transports to one target and explains their
// failures. It keeps what outlives a connection: the HTTP client with its
// SigV4 signer and the OAuth sign-in with its tokens, so that a
// reconnection neither reloads credentials nor signs in again. It is safe
// for concurrent use.
type remote struct {
	cfg     *targetConfig
	cmd     string    // the command, which prefixes explanations: "call" or "proxy"
	stderr  io.Writer // sign-in prompts
	timeout string    // what bounds a request, for explanations, e.g. "--timeout 5m0s"

	rec    *recorder
	http   *http.Client         // nil for a lambda: target
	oauth  sdkauth.OAuthHandler // nil without --oauth or client credentials
	signer *sigv4.Transport     // nil without --sigv4
	fn     string               // lambda: FUNCTION
	opts   *invoke.Options      // for a lambda: target
	ln     net.Listener         // the OAuth redirect listener, if any
	srv    *http.Server         // serving ln
	once   sync.Once            // starts srv
	closed chan struct{}        // closed by close
	closer sync.Once
}

// newRemote returns the remote for a validated cfg.
func newRemote(cfg *targetConfig, cmd, timeout string, stderr io.Writer) (*remote, error) {
	r := &remote{cfg: cfg, cmd: cmd, timeout: timeout, stderr: stderr, rec: &recorder{}, closed: make(chan struct{})}
	if fn, ok := strings.CutPrefix(cfg.target, "lambda:"); ok {
		var qualifier string
		if !strings.HasPrefix(fn, "arn:") {
			// name:qualifier or account:function:name:qualifier
			parts := strings.Split(fn, ":")
			if len(parts) == 2 || len(parts) == 4 {
				qualifier = parts[len(parts)-1]
				fn = strings.Join(parts[:len(parts)-1], ":")
			}
		}
		r.fn = fn
		r.opts = &invoke.Options{
			Qualifier:   qualifier,
			Region:      cfg.region,
			Endpoint:    cfg.endpoint,
			MaxAttempts: 4,
			MaxBackoff:  2 * time.Second,
		}
		return r, nil
	}
	var base http.RoundTripper = http.DefaultTransport
	if cfg.sigv4 {
		r.signer = sigv4.NewTransport(&sigv4.Options{Service: cfg.service, Region: cfg.region, Base: base})
		base = &resignOnce{signer: r.signer}
	}
	if cfg.token != "" {
		base = &bearer{token: cfg.token, base: base}
	}
	r.rec.base = base
	r.http = &http.Client{Transport: r.rec}
	switch {
	case cfg.oauth:
		h, err := r.authorizationCode()
		if err != nil {
			return nil, err
		}
		r.oauth = h
	case cfg.clientSecr != "":
		h, err := extauth.NewClientCredentialsHandler(&extauth.ClientCredentialsHandlerConfig{
			Credentials: &oauthex.ClientCredentials{ClientID: cfg.clientID, ClientSecretAuth: &oauthex.ClientSecretAuth{ClientSecret: cfg.clientSecr}},
		})
		if err != nil {
			return nil, fmt.Errorf("%s: client credentials: %w", cmd, err)
		}
		r.oauth = h
	}
	return r, nil
}

// transport returns a new transport for one connection to the target.
func (r *remote) transport() mcp.Transport {
	if r.opts != nil {
		return invoke.NewTransport(r.fn, r.opts)
	}
	return &mcp.StreamableClientTransport{Endpoint: r.cfg.target, HTTPClient: r.http, MaxRetries: -1, OAuthHandler: r.oauth}
}

// close stops the OAuth redirect listener, if any.
func (r *remote) close() {
	r.closer.Do(func() {
		close(r.closed)
		if r.ln != nil {
			r.srv.Close()
			r.ln.Close()
		}
	})
}

// bearer adds a static bearer token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// resignOnce sends a request through a SigV4 signer and, when it is
// refused with 401 or 403, refreshes the credentials and sends it once
// more: the credentials may have changed since they were loaded (a new
// SSO session, rotated keys).
type resignOnce struct {
	signer *sigv4.Transport
}

func (t *resignOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.signer.RoundTrip(req)
	if err != nil || !replayable || (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) {
		return resp, err
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		body, berr := req.GetBody()
		if berr != nil {
			return resp, nil
		}
		retry.Body = body
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	t.signer.Refresh()
	return t.signer.RoundTrip(retry)
}

// recorder remembers the status and challenge of the last HTTP response
// when it was an error, to explain a failure.
type recorder struct {
	base http.RoundTripper

	mu        sync.Mutex
	status    int
	url       string
	challenge string
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rec.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if resp.StatusCode >= 400 {
		rec.status, rec.url, rec.challenge = resp.StatusCode, r.URL.String(), resp.Header.Get("WWW-Authenticate")
	} else {
		// A later success makes an earlier error irrelevant (a 401
		// answered by signing in).
		rec.status, rec.url, rec.challenge = 0, "", ""
	}
	return resp, err
}

// authFailed reports whether the last HTTP response was a 401 or 403.
func (r *remote) authFailed() bool {
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	return r.rec.status == http.StatusUnauthorized || r.rec.status == http.StatusForbidden
}

// explain turns err, the failure of what ("connecting", a method), into
// the one-line reason for a person.
func (r *remote) explain(ctx context.Context, what string, err error) error {
	r.rec.mu.Lock()
	status, u, challenge := r.rec.status, r.rec.url, r.rec.challenge
	r.rec.mu.Unlock()
	cfg := r.cfg
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		msg := fmt.Sprintf("%s: %s: %d %s from %s", r.cmd, what, status, http.StatusText(status), u)
		if cfg.oauth || cfg.clientSecr != "" {
			return fmt.Errorf("%s: sign-in failed: %s", msg, oneLine(err))
		}
		if p := challengeParams(challenge); p["error"] == "insufficient_scope" {
			return fmt.Errorf("%s: the token lacks a scope the server wants (scope %q)", msg, p["scope"])
		}
		if cfg.sigv4 && status == http.StatusForbidden {
			return fmt.Errorf("%s: the SigV4 signature was refused (check the credentials, region and the caller's lambda:InvokeFunctionUrl or execute-api:Invoke permission)", msg)
		}
		if md := resourceMetadata(ctx, challenge, u); md != "" {
			return fmt.Errorf("%s; the server is OAuth-protected, resource metadata at %s (sign in with --oauth, or pass --token)", msg, md)
		}
		if challenge != "" {
			return fmt.Errorf("%s (WWW-Authenticate: %s)", msg, challenge)
		}
		return errors.New(msg)
	}
	var je *jsonrpc.Error
	if errors.As(err, &je) && je.Code != rejectedCode {
		return fmt.Errorf("%s: %s: JSON-RPC error %d: %s", r.cmd, what, je.Code, je.Message)
	}
	var fe *invoke.FunctionError
	switch {
	case errors.As(err, &fe), errors.Is(err, invoke.ErrThrottled), errors.Is(err, invoke.ErrPayloadTooLarge),
		errors.Is(err, invoke.ErrNoCredentials):
		return fmt.Errorf("%s: %s: %s", r.cmd, what, oneLine(err))
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return fmt.Errorf("%s: cannot reach %s: %v", r.cmd, cfg.target, ne)
	}
	if status != 0 {
		return fmt.Errorf("%s: %s: %d %s from %s", r.cmd, what, status, http.StatusText(status), u)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %s: no answer within %s", r.cmd, what, r.timeout)
	}
	return fmt.Errorf("%s: %s: %s", r.cmd, what, oneLine(err))
}

// rejectedCode is the code of go-sdk's jsonrpc2.ErrRejected, which marks a
// transport failure of one message rather than an error from the server.
const rejectedCode = -32005

// challengeParams returns the parameters of a Bearer challenge.
func challengeParams(challenge string) map[string]string {
	if challenge == "" {
		return nil
	}
	cs, err := oauthex.ParseWWWAuthenticate([]string{challenge})
	if err != nil {
		return nil
	}
	for _, c := range cs {
		if strings.EqualFold(c.Scheme, "bearer") {
			return c.Params
		}
	}
	return nil
}

// resourceMetadata returns the protected resource metadata URL from a
// WWW-Authenticate challenge, or, failing that, the RFC 9728 well-known
// URL of the endpoint if it answers.
func resourceMetadata(ctx context.Context, challenge, endpoint string) string {
	if md := challengeParams(challenge)["resource_metadata"]; md != "" {
		return md
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	md := u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + strings.TrimSuffix(u.Path, "/")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, md, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return md
	}
	return ""
}

// oneLine returns err's message on one line, without go-sdk's noise
// (mcpproxy.OneLine, which the gateway's messages use too).
func oneLine(err error) string { return mcpproxy.OneLine(err) }
