package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/internal/mcpproxy"
	"github.com/mcplambda/mcplambda/invoke"
	"github.com/mcplambda/mcplambda/sigv4"
	"github.com/mcplambda/mcplambda/stdio"
	"github.com/mcplambda/mcplambda/stdio/awssecrets"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MetaKeyPrincipal is the _meta key under which a backend with
// forwardPrincipal gets the caller's principal (identity.Principal: a
// JWT's "issuer#subject", an IAM ARN, a Lambda authorizer's principalId)
// in every request. The gateway removes the key from what clients send,
// so a backend that trusts the gateway (it authenticates the gateway's
// IAM role or token) may trust the key; it is absent for anonymous
// callers.
const MetaKeyPrincipal = "io.github.mcplambda/principal"

// MetaKeyUnavailable is the _meta key of a list that lacks the items of
// some backends: a list of {"backend": NAME, "error": MESSAGE}.
const MetaKeyUnavailable = mcpproxy.MetaKeyUnavailable

// Options configures [New] and [Serve]. A nil *Options means all
// defaults; the struct is copied.
type Options struct {
	// Logger receives the gateway's log lines: the start-up summary, one
	// line per failed request to a backend (WARN), one per other request
	// (DEBUG). nil means discard in New; Serve uses the serving options'
	// Logger, else telemetry.DefaultLogger.
	Logger *slog.Logger

	// Stderr receives the standard error of stdio backends, line by line.
	// nil means os.Stderr (the function log, in Lambda).
	Stderr io.Writer

	// ResolveSecret returns the value of a secret reference
	// (ssm:NAME, secretsmanager:ID[#KEY]) in an env value, a header or a
	// token. nil means package stdio/awssecrets with the default AWS
	// configuration (the function's role).
	ResolveSecret func(ctx context.Context, ref string) (string, error)

	// HTTPTransport sends the requests to http and sse backends (signed
	// or with their token first). nil means http.DefaultTransport.
	HTTPTransport http.RoundTripper

	// Serve are the serving options of [Serve] (address, ready callback,
	// logger, metrics...), as for mcplambda.Serve; the gateway adds its
	// authorization to Middleware, sets TrustFrontDoor when the
	// configuration says so, and closes itself on Shutdown.
	Serve mcplambda.Options
}

// BackendStatus is what the start found of one backend.
type BackendStatus struct {
	Name            string
	Type            Type
	Err             error  // why it could not be reached or listed; nil if ready
	ProtocolVersion string // the protocol version it speaks
	Tools, Prompts  int
	Resources       int
	Templates       int
}

// Gateway is one MCP server in front of the backends of a [Config]. Its
// methods are safe for concurrent use.
type Gateway struct {
	cfg    *Config
	logger *slog.Logger
	proxy  *mcpproxy.Proxy
	rs     *auth.ResourceServer // nil without Config.Auth
	status []BackendStatus

	mu     sync.Mutex
	stdios []*stdioBackend
	closed bool
}

// New starts a gateway for cfg: it resolves the secret references, then
// connects to every backend at once and lists what each serves, within
// Config.StartTimeout. A backend that cannot be reached does not stop
// it: requests that need the backend try again (see [Gateway.Status]).
// New fails on a mistake in the configuration, a secret that cannot be
// resolved, and a name collision (the backend without a prefix lists a
// name another backend's prefix claims). The caller must call
// [Gateway.Close].
func New(ctx context.Context, cfg *Config, opts *Options) (*Gateway, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.HTTPTransport == nil {
		o.HTTPTransport = http.DefaultTransport
	}
	if o.ResolveSecret == nil {
		o.ResolveSecret = awssecrets.Resolve
	}
	g := &Gateway{cfg: cfg, logger: o.Logger}
	if cfg.Auth != nil {
		rs, err := newResourceServer(ctx, cfg, o.Logger)
		if err != nil {
			return nil, err
		}
		g.rs = rs
	}
	backends := make([]mcpproxy.Backend, len(cfg.Backends))
	for i, b := range cfg.Backends {
		pb, err := g.backend(ctx, &b, &o)
		if err != nil {
			g.Close()
			return nil, err
		}
		backends[i] = pb
	}
	g.proxy = mcpproxy.New(&mcpproxy.Options{
		Backends:       backends,
		Implementation: &mcp.Implementation{Name: cfg.Name, Version: cfg.Version},
		Instructions:   cfg.Instructions,
		OnFailure:      func(err error) { g.logger.Warn(err.Error()) },
		Observe:        g.observe,
		// go-sdk logs every session at INFO, which in stateless serving
		// is every request: only its warnings and errors.
		Logger: slog.New(&minLevel{Handler: o.Logger.Handler(), level: slog.LevelWarn}),
	})
	if g.rs != nil {
		// The scopes of tools apply to calls whatever way they arrive.
		g.proxy.Server().AddReceivingMiddleware(g.rs.ToolMiddleware())
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	statuses, err := g.proxy.Start(sctx)
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("gateway: %s: %w", cfg.File, err)
	}
	for i, st := range statuses {
		b := cfg.Backends[i]
		bs := BackendStatus{Name: b.Name, Type: b.Type, Err: st.Err, ProtocolVersion: st.ProtocolVersion,
			Tools: st.Tools, Prompts: st.Prompts, Resources: st.Resources, Templates: st.Templates}
		g.status = append(g.status, bs)
		if st.Err != nil {
			g.logger.WarnContext(ctx, "gateway: backend unavailable at start; requests for it will try again", "backend", b.Name, "type", b.Type, "err", st.Err)
			continue
		}
		g.logger.InfoContext(ctx, "gateway: backend ready", "backend", b.Name, "type", b.Type, "prefix", b.Prefix,
			"protocolVersion", st.ProtocolVersion, "tools", st.Tools, "prompts", st.Prompts, "resources", st.Resources, "templates", st.Templates)
	}
	return g, nil
}

// Server returns the MCP server in front of the backends: serve it with
// mcplambda.Serve (and [Gateway.Middleware]), or use [Serve].
func (g *Gateway) Server() *mcp.Server { return g.proxy.Server() }

// Middleware returns the gateway's authorization (package auth's
// resource server, for mcplambda.Options.Middleware), or nil when the
// configuration has no auth section.
func (g *Gateway) Middleware() func(http.Handler) http.Handler {
	if g.rs == nil {
		return nil
	}
	return g.rs.Handler
}

// Status returns what the start found of each backend, in the order of
// the configuration.
func (g *Gateway) Status() []BackendStatus { return g.status }

// Close closes the sessions with the backends and stops the stdio
// backends' processes. It is idempotent.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	stdios := g.stdios
	g.mu.Unlock()
	var errs []error
	if g.proxy != nil {
		errs = append(errs, g.proxy.Close())
	}
	for _, s := range stdios {
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// Serve starts the gateway of cfg and serves it with mcplambda.Serve, the
// one serving path of mcplambda: in Lambda, the runtime loop for every
// front door (it does not return); elsewhere HTTP on
// opts.Serve.Addr until ctx is done, printing "mcplambda: listening on
// URL" (or calling opts.Serve.Ready). The gateway closes when serving
// stops.
func Serve(ctx context.Context, cfg *Config, opts *Options) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = o.Serve.Logger
	}
	if o.Logger == nil {
		o.Logger = telemetry.DefaultLogger()
	}
	for _, w := range cfg.Warnings {
		o.Logger.Warn(w)
	}
	g, err := New(ctx, cfg, &o)
	if err != nil {
		return err
	}
	so := o.Serve
	if so.Logger == nil {
		so.Logger = o.Logger
	}
	if mw := g.Middleware(); mw != nil {
		if outer := so.Middleware; outer != nil {
			so.Middleware = func(h http.Handler) http.Handler { return outer(mw(h)) }
		} else {
			so.Middleware = mw
		}
	}
	so.TrustFrontDoor = so.TrustFrontDoor || cfg.TrustFrontDoor
	shutdown := so.Shutdown
	so.Shutdown = func() {
		g.Close()
		if shutdown != nil {
			shutdown()
		}
	}
	return mcplambda.Serve(ctx, g.Server(), &so)
}

// observe records a request to a backend in the invocation's metrics and
// the log.
func (g *Gateway) observe(ctx context.Context, o mcpproxy.Observation) {
	telemetry.RecordBackend(ctx, o.Backend, o.Method, o.Duration, o.Err != nil)
	attrs := []slog.Attr{slog.String("backend", o.Backend), slog.String("method", o.Method)}
	if o.Name != "" {
		attrs = append(attrs, slog.String("name", o.Name))
	}
	attrs = append(attrs, slog.Float64("durationMs", float64(o.Duration.Microseconds())/1000))
	switch {
	case o.Err != nil:
		attrs = append(attrs, slog.String("outcome", "error"), slog.String("error", o.Err.Error()))
		g.logger.LogAttrs(ctx, slog.LevelWarn, "gateway: backend request failed", attrs...)
	case o.IsError:
		attrs = append(attrs, slog.String("outcome", "tool_error"))
		g.logger.LogAttrs(ctx, slog.LevelDebug, "gateway: backend request", attrs...)
	default:
		attrs = append(attrs, slog.String("outcome", "ok"))
		g.logger.LogAttrs(ctx, slog.LevelDebug, "gateway: backend request", attrs...)
	}
}

// backend returns the proxy backend for b: its transport, with the
// secrets it references resolved.
func (g *Gateway) backend(ctx context.Context, b *Backend, o *Options) (mcpproxy.Backend, error) {
	resolve := func(field, v string) (string, error) {
		if !awssecrets.IsRef(v) {
			return v, nil
		}
		val, err := o.ResolveSecret(ctx, v)
		if err != nil {
			return "", &Error{File: g.cfg.File, Backend: b.Name, Field: field, Err: err}
		}
		return val, nil
	}
	pb := mcpproxy.Backend{
		Name:            b.Name,
		Prefix:          b.Prefix,
		ProtocolVersion: b.ProtocolVersion,
		Timeout:         b.Timeout,
		RetryAfter:      g.cfg.RetryAfter,
		Meta:            principalMeta(b.ForwardPrincipal),
	}
	if len(b.AllowTools) > 0 || len(b.DenyTools) > 0 {
		pb.Tools = toolFilter(b.AllowTools, b.DenyTools)
	}
	switch b.Type {
	case TypeStdio:
		env := make([]string, len(b.Env))
		for i, kv := range b.Env {
			k, v, _ := strings.Cut(kv, "=")
			val, err := resolve("env."+k, v)
			if err != nil {
				return pb, err
			}
			env[i] = k + "=" + val
		}
		s := &stdioBackend{
			cmd: stdio.Command{Path: b.Command, Args: b.Args, Env: env, Dir: b.Dir},
			opts: stdio.ProxyOptions{
				// The gateway's own timeout of the backend answers the
				// caller, naming the backend; the adapter's, a second
				// later, only ends a child that hangs. Equal, they raced.
				Timeout:         b.Timeout + time.Second,
				ProtocolVersion: b.ProtocolVersion,
				StartTimeout:    g.cfg.StartTimeout,
				Stderr:          o.Stderr,
				Logger:          o.Logger.With("backend", b.Name),
			},
		}
		g.mu.Lock()
		g.stdios = append(g.stdios, s)
		g.mu.Unlock()
		pb.Transport = s.transport
		pb.ProtocolVersion = "" // the gateway speaks 2026-07-28 to the stdio adapter, which speaks b.ProtocolVersion to the child
	case TypeHTTP, TypeSSE:
		var rt http.RoundTripper = o.HTTPTransport
		if b.SigV4 != nil {
			rt = sigv4.NewTransport(&sigv4.Options{Service: b.SigV4.Service, Region: b.SigV4.Region, Base: rt})
		}
		headers := http.Header{}
		for k, v := range b.Headers {
			val, err := resolve("headers."+k, v)
			if err != nil {
				return pb, err
			}
			headers.Set(k, val)
		}
		if b.Token != "" {
			tok, err := resolve("token", b.Token)
			if err != nil {
				return pb, err
			}
			headers.Set("Authorization", "Bearer "+tok)
		}
		if len(headers) > 0 {
			// Added after signing would break a signature; sigv4 and
			// a token are exclusive, and other headers go in first.
			rt = &withHeaders{h: headers, base: rt}
		}
		client := &http.Client{Transport: rt}
		if b.Type == TypeHTTP {
			pb.Transport = func() mcp.Transport {
				return &mcp.StreamableClientTransport{Endpoint: b.URL, HTTPClient: client, MaxRetries: -1}
			}
		} else {
			pb.Transport = func() mcp.Transport {
				return &mcp.SSEClientTransport{Endpoint: b.URL, HTTPClient: client}
			}
		}
	case TypeLambda:
		pb.NoNotifications = true
		invokeOpts := &invoke.Options{Qualifier: b.Qualifier, Region: b.Region, MaxAttempts: 3, MaxBackoff: time.Second}
		fn := b.Function
		pb.Transport = func() mcp.Transport { return invoke.NewTransport(fn, invokeOpts) }
	default:
		return pb, &Error{File: g.cfg.File, Backend: b.Name, Field: "type", Err: fmt.Errorf("unknown type %q", b.Type)}
	}
	return pb, nil
}

// withHeaders sets headers on every request. It runs before any signer,
// so that the signature covers them.
type withHeaders struct {
	h    http.Header
	base http.RoundTripper
}

func (t *withHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.h {
		r.Header[k] = v
	}
	return t.base.RoundTrip(r)
}

// principalMeta returns the Backend.Meta hook that removes MetaKeyPrincipal
// from what the client sent and, when forward is set, puts the caller's
// principal there.
func principalMeta(forward bool) func(context.Context, mcp.Meta) {
	return func(ctx context.Context, meta mcp.Meta) {
		delete(meta, MetaKeyPrincipal)
		if !forward {
			return
		}
		if p := identity.Principal(ctx); p != "" {
			meta[MetaKeyPrincipal] = p
		}
	}
}

// toolFilter returns the filter of a backend's tools by allow and deny
// patterns.
func toolFilter(allow, deny []string) func(string) bool {
	match := func(patterns []string, name string) bool {
		for _, p := range patterns {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	return func(name string) bool {
		if len(allow) > 0 && !match(allow, name) {
			return false
		}
		return !match(deny, name)
	}
}

// newResourceServer returns the resource server of cfg.Auth.
func newResourceServer(ctx context.Context, cfg *Config, logger *slog.Logger) (*auth.ResourceServer, error) {
	a := cfg.Auth
	opts := &auth.Options{
		Scopes:       a.Scopes,
		ToolScopes:   a.ToolScopes,
		IAMScopes:    a.IAMScopes,
		ResourceName: a.ResourceName,
		Logger:       logger,
	}
	if a.Issuer == "" {
		if !cfg.TrustFrontDoor {
			return nil, &Error{File: cfg.File, Field: "gateway.auth.issuer", Err: errors.New("missing: without an issuer only the front door can authenticate callers; set gateway.trustFrontDoor too")}
		}
		return auth.NewResourceServer(a.Resource, nil, opts), nil
	}
	v, err := auth.NewJWTVerifier(a.Issuer, a.Resource, nil)
	if err != nil {
		return nil, &Error{File: cfg.File, Field: "gateway.auth.issuer", Err: err}
	}
	opts.AuthorizationServers = []string{v.Issuer()}
	return auth.NewResourceServer(a.Resource, v.Verify, opts), nil
}

// minLevel is a slog.Handler that drops records below level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h *minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &minLevel{Handler: h.Handler.WithAttrs(attrs), level: h.level}
}

func (h *minLevel) WithGroup(name string) slog.Handler {
	return &minLevel{Handler: h.Handler.WithGroup(name), level: h.level}
}
