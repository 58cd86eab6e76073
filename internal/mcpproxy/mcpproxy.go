// Package mcpproxy serves a remote MCP server — behind a URL, or a Lambda
// function reached through the Invoke API — as a local go-sdk
// [mcp.Server], which "mcplambda proxy" runs over stdio or a loopback
// HTTP listener for clients that cannot reach the remote themselves.
//
//	p := mcpproxy.New(&mcpproxy.Options{
//		Transport: func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: url} },
//	})
//	defer p.Close()
//	err := p.Server().Run(ctx, &mcp.StdioTransport{})
//
// Both sides are go-sdk, which does all the protocol work: the local side
// is an mcp.Server (initialize or server/discover, whichever era the local
// client speaks), the remote side an mcp.ClientSession (2026-07-28 or an
// older protocol, as [Options.ProtocolVersion] asks and the remote agrees).
// A receiving middleware forwards tools, resources, resource templates,
// prompts and completion to the remote and returns its results as they
// are (pages, cursors and cache hints included); the local handshake
// answers with the remote's capabilities, instructions and server info.
// The remote session is opened on the local client's first request, with
// that client's capabilities, and opened again after it dies.
//
// What the remote sends back is relayed to the local client that caused
// it: progress notifications (the proxy gives each forwarded request its
// own progress token), log messages (to the local sessions that asked for
// them), list_changed and resources/updated notifications, and the
// remote's requests for elicitation, sampling and roots. When a
// 2026-07-28 remote answers input_required (multi round-trip requests,
// SEP-2322), a local client of the same era gets the result as it is and
// retries itself; an older local client is asked with the real
// server-to-client requests (elicitation/create, sampling/createMessage,
// roots/list) and the proxy retries with the answers, up to
// [Options.MaxRounds] rounds.
//
// Failures to reach the remote become a JSON-RPC internal error whose
// message is the explanation from [Options.Explain], and one call of
// [Options.OnFailure]; errors the remote answers with pass through with
// their code ([ServerError]). The proxy keeps serving. A panic while
// forwarding fails that request only.
//
// What cannot be bridged: a server-to-client request of an older remote
// (elicitation during a tools/call) to a 2026-07-28 local client, which
// can only be asked through input_required; notifications of a remote
// reached through the Lambda Invoke API, which carries none (see
// [Options.NoNotifications]); and
// list_changed from a remote on Lambda, whose instances cannot hold a
// subscription open.
package mcpproxy

//lint:file-ignore SA1019 the proxy relays sampling, roots and logging, deprecated since 2026-07-28 (SEP-2577) but used by clients and servers of every era.

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// newProtocol is the first protocol version without sessions, where
// input_required replaces server-to-client requests.
const newProtocol = "2026-07-28"

// Options configures a [Proxy]. Transport is required; the zero value of
// every other field is a documented default.
type Options struct {
	// Transport returns a new transport to the remote server. The proxy
	// connects on the first request of a local client, and again after
	// the session dies.
	Transport func() mcp.Transport

	// ProtocolVersion is the protocol version to ask the remote for. ""
	// means go-sdk's latest: 2026-07-28, falling back to initialize when
	// the remote does not know server/discover.
	ProtocolVersion string

	// NoNotifications says that the remote cannot send notifications: the
	// Lambda Invoke API returns a response alone, and a server that tries
	// to notify there may fail the request. The proxy then asks the remote
	// for none: no progress token, no log level.
	NoNotifications bool

	// Explain returns the error the local client gets for err, a failure
	// of a request to the remote; op says what failed: "connecting", or a
	// method and its tool, prompt or resource ("tools/call
	// get_current_time"). A *jsonrpc.Error it returns (typically the
	// remote's own answer, see [ServerError]) is sent as it is; any other
	// error is a failure to reach the remote: it is sent as an internal
	// error with its message, and passed to OnFailure. nil means the
	// remote's JSON-RPC error if err holds one, else err.
	Explain func(ctx context.Context, op string, err error) error

	// OnFailure is called once per failure to reach the remote, with the
	// explained error. nil means nothing is done.
	OnFailure func(err error)

	// MaxRounds bounds the input_required rounds of one request of a
	// local client older than 2026-07-28. 0 means 10.
	MaxRounds int

	// Logger receives go-sdk's debug logs. nil means discard.
	Logger *slog.Logger
}

// Proxy is a local MCP server that forwards to a remote one. Its methods
// are safe for concurrent use.
type Proxy struct {
	opts   Options     // set at construction
	server *mcp.Server // set at construction

	connMu sync.Mutex // held while connecting, so that one connection is made at a time

	mu     sync.Mutex // guards the fields below
	cs     *mcp.ClientSession
	client *mcp.Client
	calls  map[string]*call // forwarded requests in flight, by the proxy's progress token
	seq    int64
	levels map[*mcp.ServerSession]mcp.LoggingLevel // set by older local clients with logging/setLevel
	subs   map[string]int                          // resource URI -> local subscriptions
	closed bool
}

// call is a forwarded request in flight.
type call struct {
	ctx     context.Context // the local request's, which routes notifications to it
	ss      *mcp.ServerSession
	token   any  // the local client's progress token, or nil
	newProt bool // the local client speaks 2026-07-28 or later
}

// New returns a proxy. It connects to nothing until a local client sends
// its first request.
func New(opts *Options) *Proxy {
	p := &Proxy{
		calls:  make(map[string]*call),
		levels: make(map[*mcp.ServerSession]mcp.LoggingLevel),
		subs:   make(map[string]int),
	}
	if opts != nil {
		p.opts = *opts
	}
	if p.opts.Transport == nil {
		panic("mcpproxy: Options.Transport is required")
	}
	if p.opts.MaxRounds <= 0 {
		p.opts.MaxRounds = 10
	}
	if p.opts.Logger == nil {
		p.opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Every capability, with list_changed and subscriptions, so that
	// go-sdk lets local clients subscribe to what the remote may send;
	// the handshake advertises the remote's own capabilities instead.
	p.server = mcp.NewServer(&mcp.Implementation{Name: "mcplambda-proxy", Version: "v1"}, &mcp.ServerOptions{
		Logger: p.opts.Logger,
		Capabilities: &mcp.ServerCapabilities{
			Tools:       &mcp.ToolCapabilities{ListChanged: true},
			Prompts:     &mcp.PromptCapabilities{ListChanged: true},
			Resources:   &mcp.ResourceCapabilities{ListChanged: true, Subscribe: true},
			Completions: &mcp.CompletionCapabilities{},
			Logging:     &mcp.LoggingCapabilities{},
		},
		SubscribeHandler:        p.subscribe,
		UnsubscribeHandler:      p.unsubscribe,
		RootsListChangedHandler: p.rootsChanged,
	})
	p.server.AddReceivingMiddleware(p.middleware)
	return p
}

// Server returns the local server, to run on a transport or serve with
// mcp.NewStreamableHTTPHandler.
func (p *Proxy) Server() *mcp.Server { return p.server }

// Close closes the remote session. The local server stops forwarding.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	cs := p.cs
	p.cs = nil
	p.mu.Unlock()
	if cs != nil {
		return cs.Close()
	}
	return nil
}

// ErrClosed is the error of requests after [Proxy.Close].
var ErrClosed = errors.New("mcpproxy: closed")

// session returns the remote session, connecting with the capabilities of
// the local client if there is none.
func (p *Proxy) session(ctx context.Context, caps *mcp.ClientCapabilities, info *mcp.Implementation) (*mcp.ClientSession, error) {
	p.mu.Lock()
	cs, closed := p.cs, p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if cs != nil {
		return cs, nil
	}
	p.connMu.Lock()
	defer p.connMu.Unlock()
	p.mu.Lock()
	cs = p.cs
	p.mu.Unlock()
	if cs != nil {
		return cs, nil // connected while we waited
	}
	client := p.newClient(caps, info)
	cs, err := client.Connect(ctx, &relayTransport{p: p, t: p.opts.Transport()}, &mcp.ClientSessionOptions{ProtocolVersion: p.opts.ProtocolVersion})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		cs.Close()
		return nil, ErrClosed
	}
	p.cs, p.client = cs, client
	p.mu.Unlock()
	go func() {
		// The next request connects again when this session dies (a
		// stateful remote restarted, a broken stream).
		cs.Wait()
		p.mu.Lock()
		if p.cs == cs {
			p.cs = nil
		}
		p.mu.Unlock()
	}()
	if res := cs.InitializeResult(); isNew(cs) && res.Capabilities != nil && res.Capabilities.Tools != nil {
		// go-sdk mirrors x-mcp-header tool arguments into Mcp-Param-*
		// headers only for tools it has listed.
		for _, err := range cs.Tools(ctx, nil) {
			if err != nil {
				break
			}
		}
	}
	return cs, nil
}

// newClient returns the client for a new remote session: it declares the
// capabilities of the local client that caused the connection (an older
// remote learns them once, at initialize; a 2026-07-28 remote gets each
// request's own client's in its _meta), and its handlers relay what the
// remote sends.
func (p *Proxy) newClient(caps *mcp.ClientCapabilities, info *mcp.Implementation) *mcp.Client {
	if caps == nil {
		caps = &mcp.ClientCapabilities{}
	}
	if info == nil {
		info = &mcp.Implementation{Name: "mcplambda-proxy", Version: "v1"}
	}
	opts := &mcp.ClientOptions{
		Logger: p.opts.Logger,
		// Without RootsV2, go-sdk declares no roots; with it, roots/list
		// is answered by the middleware below from the local client.
		Capabilities: &mcp.ClientCapabilities{RootsV2: caps.RootsV2, Sampling: caps.Sampling, Elicitation: caps.Elicitation,
			Experimental: caps.Experimental, Extensions: caps.Extensions},
		// input_required results come back to the proxy, which passes them
		// on or asks the local client itself.
		// Progress and log notifications are relayed by relayTransport.
		MultiRoundTrip:             &mcp.MultiRoundTripOptions{Disabled: true},
		ToolListChangedHandler:     func(context.Context, *mcp.ToolListChangedRequest) { p.listChanged("tools") },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { p.listChanged("prompts") },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { p.listChanged("resources") },
		ResourceUpdatedHandler: func(ctx context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			p.server.ResourceUpdated(context.WithoutCancel(ctx), req.Params)
		},
		ElicitationCompleteHandler: func(ctx context.Context, req *mcp.ElicitationCompleteNotificationRequest) {
			if ss, err := p.askSession(); err == nil {
				ss.NotifyElicitationComplete(ctx, req.Params)
			}
		},
	}
	if caps.Elicitation != nil {
		opts.ElicitationHandler = func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			ss, err := p.askSession()
			if err != nil {
				return nil, err
			}
			return ss.Elicit(ctx, req.Params)
		}
	}
	if caps.Sampling != nil {
		opts.CreateMessageWithToolsHandler = func(ctx context.Context, req *mcp.CreateMessageWithToolsRequest) (*mcp.CreateMessageWithToolsResult, error) {
			ss, err := p.askSession()
			if err != nil {
				return nil, err
			}
			return ss.CreateMessageWithTools(ctx, req.Params)
		}
	}
	client := mcp.NewClient(info, opts)
	client.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "roots/list" {
				return next(ctx, method, req)
			}
			ss, err := p.askSession()
			if err != nil {
				return nil, err
			}
			params, _ := req.GetParams().(*mcp.ListRootsParams)
			return ss.ListRoots(ctx, params)
		}
	})
	return client
}

// isNew reports whether cs speaks 2026-07-28 or later.
func isNew(cs *mcp.ClientSession) bool {
	res := cs.InitializeResult()
	return res != nil && res.ProtocolVersion >= newProtocol
}

// askSession returns the local session to send a request of the remote
// to: the one whose requests are in flight, or the only one.
func (p *Proxy) askSession() (*mcp.ServerSession, error) {
	p.mu.Lock()
	var ss *mcp.ServerSession
	several := false
	for _, c := range p.calls {
		if ss != nil && c.ss != ss {
			several = true
		}
		ss = c.ss
	}
	p.mu.Unlock()
	if ss == nil || several {
		var all []*mcp.ServerSession
		for s := range p.server.Sessions() {
			all = append(all, s)
		}
		if len(all) != 1 {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "mcplambda proxy: cannot tell which of its clients the request is for"}
		}
		ss = all[0]
	}
	if init := ss.InitializeParams(); init != nil && init.ProtocolVersion >= newProtocol {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: "mcplambda proxy: the client speaks MCP " + init.ProtocolVersion + ", which allows no server-to-client requests"}
	}
	return ss, nil
}

// rejectedCode is the code of go-sdk's marker of a message that failed in
// the transport (the HTTP request or the invocation), not in the server.
const rejectedCode = -32005

// ServerError returns the JSON-RPC error the remote answered with, found
// in err's chain (go-sdk wraps an error body of an HTTP error status in
// its transport-failure marker), or nil.
func ServerError(err error) *jsonrpc.Error {
	if err == nil {
		return nil
	}
	if je, ok := err.(*jsonrpc.Error); ok && je.Code != rejectedCode {
		return je
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return ServerError(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if je := ServerError(e); je != nil {
				return je
			}
		}
	}
	return nil
}

// failure returns the error for the local client of a request that
// failed: the remote's own JSON-RPC error as it is, or an explained
// failure to reach the remote, which is reported. A request the local
// client cancelled is not a failure.
func (p *Proxy) failure(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	var out error
	switch {
	case p.opts.Explain != nil:
		out = p.opts.Explain(ctx, what, err)
	case ServerError(err) != nil:
		out = ServerError(err)
	default:
		out = err
	}
	if je, ok := out.(*jsonrpc.Error); ok {
		return je
	}
	if p.opts.OnFailure != nil {
		p.opts.OnFailure(out)
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: out.Error()}
}
