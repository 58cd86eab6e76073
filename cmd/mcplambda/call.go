package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mcplambda/mcplambda/invoke"
	"github.com/mcplambda/mcplambda/sigv4"
	"github.com/mcplambda/mcplambda/tasks"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/auth/extauth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// CallCommand is "mcplambda call": an MCP client for one request to a
// server behind an HTTP endpoint or a Lambda function.
type CallCommand struct {
	Stdout io.Writer // the result
	Stderr io.Writer // sign-in prompts
}

const callHint = `Run "mcplambda call -h" for usage.`

// protocolVersions are the --protocol values.
var protocolVersions = []string{"2026-07-28", "2025-11-25"}

// callConfig is the parsed command line of call.
type callConfig struct {
	sigv4      bool
	service    string
	token      string
	region     string
	protocol   string
	json       bool
	endpoint   string
	oauth      bool
	clientID   string
	callback   string
	timeout    time.Duration
	args       []string // --arg k=v
	argsJSON   string   // --args '{...}'
	target     string
	command    string
	operands   []string
	clientSecr string // from MCPLAMBDA_CLIENT_SECRET
	task       bool   // --task (calltask.go)
}

func (c *CallCommand) flagSet(cfg *callConfig) *flag.FlagSet {
	set := flag.NewFlagSet("mcplambda call", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Usage = func() {}
	set.BoolVar(&cfg.sigv4, "sigv4", false, "sign requests with AWS SigV4 (a function URL or API Gateway API with IAM auth)")
	set.StringVar(&cfg.service, "service", "", "SigV4 signing `name` for --sigv4: lambda or execute-api (default: from the URL's host)")
	set.StringVar(&cfg.token, "token", "", "send `TOKEN` as a bearer token (default $MCPLAMBDA_TOKEN)")
	set.StringVar(&cfg.region, "region", "", "AWS `region` for --sigv4 and lambda: targets (default: from the URL or ARN, else the AWS configuration)")
	set.StringVar(&cfg.protocol, "protocol", "2026-07-28", "MCP protocol `version` to ask for: 2026-07-28 or 2025-11-25 (which uses initialize)")
	set.BoolVar(&cfg.json, "json", false, "print results as JSON, for scripts")
	set.StringVar(&cfg.endpoint, "endpoint-url", "", "Lambda Invoke API `URL` for lambda: targets, e.g. the invoke endpoint of mcplambda dev")
	set.BoolVar(&cfg.oauth, "oauth", false, "sign in with OAuth (authorization code with PKCE): prints a URL to open, and waits for the redirect")
	set.StringVar(&cfg.clientID, "client-id", "", "OAuth client `ID` (default $MCPLAMBDA_CLIENT_ID); with $MCPLAMBDA_CLIENT_SECRET, uses the client credentials grant")
	set.StringVar(&cfg.callback, "callback", "127.0.0.1:0", "`address` of the local OAuth redirect listener for --oauth")
	set.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "give up after this `duration`")
	set.Func("arg", "an argument of the tool or prompt, as `KEY=VALUE` (repeatable); tool values that are JSON\n(numbers, true, objects) are sent as such unless the tool's schema says string", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		cfg.args = append(cfg.args, s)
		return nil
	})
	set.StringVar(&cfg.argsJSON, "args", "", "all the tool's arguments as a JSON `object`")
	cfg.addTaskFlags(set)
	return set
}

func (c *CallCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda call [flags] TARGET COMMAND [ARGUMENTS]

Call talks to an MCP server and prints what it answers.

TARGET is an http(s) URL of an MCP endpoint (a function URL, an API
Gateway API, "mcplambda dev"), or lambda:FUNCTION[:QUALIFIER] to invoke a
function directly through the Lambda Invoke API; FUNCTION is a name or ARN.

The commands are:

	discover            the server's name, version, protocol and capabilities
	tools               list the tools
	tool NAME           call a tool, with --arg KEY=VALUE... or --args '{...}'
	resources           list the resources and resource templates
	read URI            read a resource
	prompts             list the prompts
	prompt NAME         get a prompt, with --arg KEY=VALUE...
`+taskUsage+`
Output is a table or text for people, JSON with --json. On failure call
exits with status 1 and a one-line reason (status 2 for a usage error).

Flags:
`)
	var cfg callConfig
	set := c.flagSet(&cfg)
	set.SetOutput(w)
	set.PrintDefaults()
}

// commandOperands is the number of operands of each command.
var commandOperands = map[string]int{
	"discover": 0, "tools": 0, "tool": 1, "resources": 0, "read": 1, "prompts": 0, "prompt": 1, "task": 2,
}

// parse parses the command line of call; flags may come anywhere.
func (c *CallCommand) parse(args []string) (*callConfig, error) {
	cfg := &callConfig{}
	set := c.flagSet(cfg)
	var pos []string
	for {
		if err := set.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err: fmt.Errorf("call: %w", err), hint: callHint}
		}
		if set.NArg() == 0 {
			break
		}
		// After "--", everything is an operand.
		if consumed := len(args) - set.NArg(); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, set.Args()...)
			break
		}
		pos = append(pos, set.Arg(0))
		args = set.Args()[1:]
	}
	if cfg.token == "" {
		cfg.token = os.Getenv("MCPLAMBDA_TOKEN")
	}
	if cfg.clientID == "" {
		cfg.clientID = os.Getenv("MCPLAMBDA_CLIENT_ID")
	}
	cfg.clientSecr = os.Getenv("MCPLAMBDA_CLIENT_SECRET")
	if len(pos) < 2 {
		return nil, usagef(callHint, "call: want TARGET and COMMAND, e.g. mcplambda call http://127.0.0.1:8080/mcp tools")
	}
	cfg.target, cfg.command, cfg.operands = pos[0], pos[1], pos[2:]
	n, ok := commandOperands[cfg.command]
	switch {
	case !ok:
		return nil, usagef(callHint, "call: unknown command %q: want discover, tools, tool, resources, read, prompts, prompt or task", cfg.command)
	case len(cfg.operands) != n && n == 0:
		return nil, usagef(callHint, "call %s: unexpected argument %q", cfg.command, cfg.operands[0])
	case cfg.command == "task":
		// checked by checkTask
	case len(cfg.operands) != n:
		what := map[string]string{"tool": "NAME", "read": "URI", "prompt": "NAME"}[cfg.command]
		return nil, usagef(callHint, "call %s: want one %s", cfg.command, what)
	}
	if (len(cfg.args) > 0 || cfg.argsJSON != "") && cfg.command != "tool" && cfg.command != "prompt" {
		return nil, usagef(callHint, "call %s: --arg and --args are for tool and prompt", cfg.command)
	}
	if cfg.argsJSON != "" && cfg.command != "tool" {
		return nil, usagef(callHint, "call prompt: --args is for tool; prompts take --arg KEY=VALUE")
	}
	if cfg.argsJSON != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(cfg.argsJSON), &m); err != nil || m == nil {
			return nil, usagef(callHint, "call tool: --args %q: want a JSON object", cfg.argsJSON)
		}
	}
	if !slices.Contains(protocolVersions, cfg.protocol) {
		return nil, usagef(callHint, "call: --protocol %q: want one of %s", cfg.protocol, strings.Join(protocolVersions, ", "))
	}
	if err := cfg.checkTask(); err != nil {
		return nil, err
	}
	auths := 0
	for _, on := range []bool{cfg.sigv4, cfg.token != "", cfg.oauth, cfg.clientSecr != ""} {
		if on {
			auths++
		}
	}
	if auths > 1 {
		return nil, usagef(callHint, "call: choose one of --sigv4, --token ($MCPLAMBDA_TOKEN), --oauth and client credentials ($MCPLAMBDA_CLIENT_SECRET)")
	}
	if cfg.service != "" && !cfg.sigv4 {
		return nil, usagef(callHint, "call: --service is for --sigv4")
	}
	if cfg.clientSecr != "" && cfg.clientID == "" {
		return nil, usagef(callHint, "call: $MCPLAMBDA_CLIENT_SECRET needs --client-id")
	}
	if strings.HasPrefix(cfg.target, "lambda:") {
		if strings.TrimPrefix(cfg.target, "lambda:") == "" {
			return nil, usagef(callHint, "call: %q: want lambda:FUNCTION[:QUALIFIER]", cfg.target)
		}
		if auths > 0 {
			return nil, usagef(callHint, "call: a lambda: target is authorized by IAM with your AWS credentials; --sigv4, --token and OAuth are for URLs")
		}
		return cfg, nil
	}
	u, err := url.Parse(cfg.target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usagef(callHint, "call: TARGET %q: want an http(s) URL or lambda:FUNCTION[:QUALIFIER]", cfg.target)
	}
	if cfg.endpoint != "" {
		return nil, usagef(callHint, "call: --endpoint-url is for lambda: targets")
	}
	return cfg, nil
}

// Run runs call and prints the result.
func (c *CallCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(c.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	rec := &recorder{}
	transport, err := c.transport(cfg, rec)
	if err != nil {
		return err
	}
	clientOpts, transport := taskClient(cfg, transport)
	client := mcp.NewClient(&mcp.Implementation{Name: "mcplambda", Version: "v1"}, clientOpts)
	if err := tasks.RegisterClient(client); err != nil {
		return err
	}
	cs, err := client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: cfg.protocol})
	if err != nil {
		return c.explain(ctx, cfg, rec, "connecting", err)
	}
	defer cs.Close()
	if err := c.do(ctx, cfg, cs); err != nil {
		var te *toolError
		var ke *taskError
		if errors.As(err, &te) || errors.As(err, &ke) {
			return err
		}
		return c.explain(ctx, cfg, rec, cfg.command, err)
	}
	return nil
}

// transport returns the MCP transport for the target.
func (c *CallCommand) transport(cfg *callConfig, rec *recorder) (mcp.Transport, error) {
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
		return invoke.NewTransport(fn, &invoke.Options{
			Qualifier:   qualifier,
			Region:      cfg.region,
			Endpoint:    cfg.endpoint,
			MaxAttempts: 4,
			MaxBackoff:  2 * time.Second,
		}), nil
	}
	var base http.RoundTripper = http.DefaultTransport
	if cfg.sigv4 {
		base = sigv4.NewTransport(&sigv4.Options{Service: cfg.service, Region: cfg.region, Base: base})
	}
	if cfg.token != "" {
		base = &bearer{token: cfg.token, base: base}
	}
	rec.base = base
	httpClient := &http.Client{Transport: rec}
	t := &mcp.StreamableClientTransport{Endpoint: cfg.target, HTTPClient: httpClient, MaxRetries: -1}
	switch {
	case cfg.oauth:
		h, err := c.authorizationCode(cfg)
		if err != nil {
			return nil, err
		}
		t.OAuthHandler = h
	case cfg.clientSecr != "":
		h, err := extauth.NewClientCredentialsHandler(&extauth.ClientCredentialsHandlerConfig{
			Credentials: &oauthex.ClientCredentials{ClientID: cfg.clientID, ClientSecretAuth: &oauthex.ClientSecretAuth{ClientSecret: cfg.clientSecr}},
		})
		if err != nil {
			return nil, fmt.Errorf("call: client credentials: %w", err)
		}
		t.OAuthHandler = h
	}
	return t, nil
}

// authorizationCode returns go-sdk's authorization code handler with a
// redirect listener on cfg.callback. The listener starts when the flow
// does; the URL to open goes to stderr.
func (c *CallCommand) authorizationCode(cfg *callConfig) (sdkauth.OAuthHandler, error) {
	ln, err := net.Listen("tcp", cfg.callback)
	if err != nil {
		return nil, fmt.Errorf("call: OAuth redirect listener: %w", err)
	}
	redirect := "http://" + ln.Addr().String() + "/callback"
	results := make(chan *sdkauth.AuthorizationResult, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if e := q.Get("error"); e != "" {
			http.Error(w, "Sign-in failed: "+e+" "+q.Get("error_description"), http.StatusBadRequest)
		} else {
			io.WriteString(w, "Signed in. You can close this window and return to the terminal.\n")
		}
		select {
		case results <- &sdkauth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}:
		default:
		}
	})}
	var once sync.Once
	fetcher := func(ctx context.Context, args *sdkauth.AuthorizationArgs) (*sdkauth.AuthorizationResult, error) {
		once.Do(func() { go srv.Serve(ln) })
		fmt.Fprintf(c.Stderr, "mcplambda: to sign in, open this URL in a browser:\n%s\n", args.URL)
		select {
		case r := <-results:
			if r.Code == "" {
				return nil, errors.New("the authorization server sent no code")
			}
			return r, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	conf := &sdkauth.AuthorizationCodeHandlerConfig{RedirectURL: redirect, AuthorizationCodeFetcher: fetcher}
	if cfg.clientID != "" {
		conf.PreregisteredClient = &oauthex.ClientCredentials{ClientID: cfg.clientID}
	} else {
		conf.DynamicClientRegistrationConfig = &sdkauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "mcplambda", RedirectURIs: []string{redirect},
		}}
	}
	h, err := sdkauth.NewAuthorizationCodeHandler(conf)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("call: OAuth: %w", err)
	}
	return h, nil
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

// toolError is a tool result with isError set.
type toolError struct {
	name, text string
}

func (e *toolError) Error() string {
	if e.text == "" {
		return fmt.Sprintf("call: tool %s returned an error", e.name)
	}
	return fmt.Sprintf("call: tool %s returned an error: %s", e.name, e.text)
}

// explain turns err into the one-line reason call prints.
func (c *CallCommand) explain(ctx context.Context, cfg *callConfig, rec *recorder, what string, err error) error {
	rec.mu.Lock()
	status, u, challenge := rec.status, rec.url, rec.challenge
	rec.mu.Unlock()
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		msg := fmt.Sprintf("call: %s: %d %s from %s", what, status, http.StatusText(status), u)
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
	if errors.As(err, &je) && je.Code != -32005 {
		return fmt.Errorf("call: %s: JSON-RPC error %d: %s", what, je.Code, je.Message)
	}
	var fe *invoke.FunctionError
	switch {
	case errors.As(err, &fe), errors.Is(err, invoke.ErrThrottled), errors.Is(err, invoke.ErrPayloadTooLarge):
		return fmt.Errorf("call: %s: %s", what, oneLine(err))
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return fmt.Errorf("call: cannot reach %s: %v", cfg.target, ne)
	}
	if status != 0 {
		return fmt.Errorf("call: %s: %d %s from %s", what, status, http.StatusText(status), u)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("call: %s: no answer within --timeout %s", what, cfg.timeout)
	}
	return fmt.Errorf("call: %s: %s", what, oneLine(err))
}

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
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
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

// sdkNoise is the context go-sdk adds to transport errors, which says
// nothing to a person: calling "initialize": sending "initialize":
// rejected by transport: ...
var sdkNoise = regexp.MustCompile(`(calling|sending) "[^"]*": |:? ?rejected by transport:? ?`)

// oneLine returns err's message on one line, without go-sdk's noise.
func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	return strings.TrimSpace(sdkNoise.ReplaceAllString(s, ""))
}

// do runs the command on an open session and prints the result.
func (c *CallCommand) do(ctx context.Context, cfg *callConfig, cs *mcp.ClientSession) error {
	switch cfg.command {
	case "discover":
		res := cs.InitializeResult()
		if cfg.json {
			return c.printJSON(res)
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		if res.ServerInfo != nil {
			fmt.Fprintf(tw, "server\t%s %s\n", res.ServerInfo.Name, res.ServerInfo.Version)
		}
		fmt.Fprintf(tw, "protocol\t%s\n", res.ProtocolVersion)
		fmt.Fprintf(tw, "capabilities\t%s\n", strings.Join(capabilities(res.Capabilities), ", "))
		if res.Instructions != "" {
			fmt.Fprintf(tw, "instructions\t%s\n", oneLine(errors.New(res.Instructions)))
		}
		return tw.Flush()

	case "tools":
		var tools []*mcp.Tool
		for t, err := range cs.Tools(ctx, nil) {
			if err != nil {
				return err
			}
			tools = append(tools, t)
		}
		if cfg.json {
			return c.printJSON(map[string]any{"tools": nonNil(tools)})
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDESCRIPTION")
		for _, t := range tools {
			fmt.Fprintf(tw, "%s\t%s\n", t.Name, summary(t.Description))
		}
		return tw.Flush()

	case "tool":
		name := cfg.operands[0]
		args, err := c.toolArgs(ctx, cfg, cs, name)
		if err != nil {
			return err
		}
		if cfg.task {
			return c.toolTask(ctx, cfg, cs, name, args)
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
		if err != nil {
			return err
		}
		if cfg.json {
			if err := c.printJSON(res); err != nil {
				return err
			}
		} else if !res.IsError {
			c.printContent(res.Content)
			if len(res.Content) == 0 && res.StructuredContent != nil {
				c.printJSON(res.StructuredContent)
			}
		}
		if res.IsError {
			var b strings.Builder
			for _, ct := range res.Content {
				if t, ok := ct.(*mcp.TextContent); ok {
					b.WriteString(t.Text + " ")
				}
			}
			return &toolError{name: name, text: oneLine(errors.New(b.String()))}
		}
		return nil

	case "resources":
		var resources []*mcp.Resource
		var templates []*mcp.ResourceTemplate
		if caps := cs.InitializeResult().Capabilities; caps == nil || caps.Resources == nil {
			if cfg.json {
				return c.printJSON(map[string]any{"resources": []any{}, "resourceTemplates": []any{}})
			}
			fmt.Fprintln(c.Stdout, "The server has no resources.")
			return nil
		}
		for r, err := range cs.Resources(ctx, nil) {
			if err != nil {
				return err
			}
			resources = append(resources, r)
		}
		for r, err := range cs.ResourceTemplates(ctx, nil) {
			if err != nil {
				return err
			}
			templates = append(templates, r)
		}
		if cfg.json {
			return c.printJSON(map[string]any{"resources": nonNil(resources), "resourceTemplates": nonNil(templates)})
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "URI\tNAME\tMIME TYPE\tDESCRIPTION")
		for _, r := range resources {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.URI, r.Name, r.MIMEType, summary(r.Description))
		}
		for _, r := range templates {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.URITemplate, r.Name, r.MIMEType, summary(r.Description))
		}
		return tw.Flush()

	case "read":
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: cfg.operands[0]})
		if err != nil {
			return err
		}
		if cfg.json {
			return c.printJSON(res)
		}
		for _, rc := range res.Contents {
			switch {
			case rc.Blob != nil:
				fmt.Fprintf(c.Stdout, "[%s: %s, %d bytes]\n", rc.URI, rc.MIMEType, len(rc.Blob))
			default:
				fmt.Fprint(c.Stdout, rc.Text)
				if !strings.HasSuffix(rc.Text, "\n") {
					fmt.Fprintln(c.Stdout)
				}
			}
		}
		return nil

	case "prompts":
		var prompts []*mcp.Prompt
		if caps := cs.InitializeResult().Capabilities; caps == nil || caps.Prompts == nil {
			if cfg.json {
				return c.printJSON(map[string]any{"prompts": []any{}})
			}
			fmt.Fprintln(c.Stdout, "The server has no prompts.")
			return nil
		}
		for p, err := range cs.Prompts(ctx, nil) {
			if err != nil {
				return err
			}
			prompts = append(prompts, p)
		}
		if cfg.json {
			return c.printJSON(map[string]any{"prompts": nonNil(prompts)})
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tARGUMENTS\tDESCRIPTION")
		for _, p := range prompts {
			var args []string
			for _, a := range p.Arguments {
				s := a.Name
				if !a.Required {
					s += "?"
				}
				args = append(args, s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, strings.Join(args, " "), summary(p.Description))
		}
		return tw.Flush()

	case "task":
		return c.doTask(ctx, cfg, cs)

	case "prompt":
		args := map[string]string{}
		for _, kv := range cfg.args {
			k, v, _ := strings.Cut(kv, "=")
			args[k] = v
		}
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: cfg.operands[0], Arguments: args})
		if err != nil {
			return err
		}
		if cfg.json {
			return c.printJSON(res)
		}
		for _, m := range res.Messages {
			fmt.Fprintf(c.Stdout, "%s: ", m.Role)
			c.printContent([]mcp.Content{m.Content})
		}
		return nil
	}
	return nil
}

// toolArgs builds a tool's arguments from --args and --arg, after listing
// the tools. A --arg value is JSON when it parses as JSON and the tool's
// schema does not make the property a string.
func (c *CallCommand) toolArgs(ctx context.Context, cfg *callConfig, cs *mcp.ClientSession, name string) (map[string]any, error) {
	args := map[string]any{}
	if cfg.argsJSON != "" {
		if err := json.Unmarshal([]byte(cfg.argsJSON), &args); err != nil {
			return nil, err // checked by parse
		}
	}
	// List the tools even without --arg: go-sdk's client mirrors
	// x-mcp-header arguments into Mcp-Param-* headers only for tools it
	// has listed.
	types := map[string]string{}
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		if t.Name != name {
			continue
		}
		var schema struct {
			Properties map[string]struct {
				Type any `json:"type"`
			} `json:"properties"`
		}
		b, _ := json.Marshal(t.InputSchema)
		_ = json.Unmarshal(b, &schema)
		for k, p := range schema.Properties {
			if s, ok := p.Type.(string); ok {
				types[k] = s
			}
		}
	}
	for _, kv := range cfg.args {
		k, v, _ := strings.Cut(kv, "=")
		var j any
		if types[k] != "string" && json.Unmarshal([]byte(v), &j) == nil {
			args[k] = j
		} else {
			args[k] = v
		}
	}
	return args, nil
}

// printContent prints content for people: text as is, other kinds as a
// one-line summary.
func (c *CallCommand) printContent(content []mcp.Content) {
	for _, ct := range content {
		switch ct := ct.(type) {
		case *mcp.TextContent:
			fmt.Fprint(c.Stdout, ct.Text)
			if !strings.HasSuffix(ct.Text, "\n") {
				fmt.Fprintln(c.Stdout)
			}
		case *mcp.ImageContent:
			fmt.Fprintf(c.Stdout, "[image: %s, %d bytes]\n", ct.MIMEType, len(ct.Data))
		case *mcp.AudioContent:
			fmt.Fprintf(c.Stdout, "[audio: %s, %d bytes]\n", ct.MIMEType, len(ct.Data))
		case *mcp.ResourceLink:
			fmt.Fprintf(c.Stdout, "[resource link: %s]\n", ct.URI)
		case *mcp.EmbeddedResource:
			if ct.Resource != nil && ct.Resource.Text != "" {
				fmt.Fprint(c.Stdout, ct.Resource.Text)
				if !strings.HasSuffix(ct.Resource.Text, "\n") {
					fmt.Fprintln(c.Stdout)
				}
			} else if ct.Resource != nil {
				fmt.Fprintf(c.Stdout, "[resource: %s]\n", ct.Resource.URI)
			}
		default:
			b, _ := json.Marshal(ct)
			fmt.Fprintln(c.Stdout, string(b))
		}
	}
}

func (c *CallCommand) printJSON(v any) error {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// summary returns the first line of a description, at most 80 characters.
func summary(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

// capabilities names the server's capabilities.
func capabilities(c *mcp.ServerCapabilities) []string {
	if c == nil {
		return nil
	}
	var s []string
	if c.Tools != nil {
		s = append(s, "tools")
	}
	if c.Resources != nil {
		r := "resources"
		if c.Resources.Subscribe {
			r += " (subscribe)"
		}
		s = append(s, r)
	}
	if c.Prompts != nil {
		s = append(s, "prompts")
	}
	if c.Completions != nil {
		s = append(s, "completions")
	}
	//lint:ignore SA1019 older servers still declare it, and it still works
	if c.Logging != nil {
		s = append(s, "logging")
	}
	return s
}
