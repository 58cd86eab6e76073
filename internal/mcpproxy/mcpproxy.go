// Package mcpproxy serves a remote MCP server — behind a URL, or a Lambda
// function reached through the Invoke API — as a local go-sdk
// [mcp.Server], which "mcplambda proxy" runs over stdio or a loopback
// HTTP listener for clients that cannot reach the remote themselves.
//
//	p := mcpproxy.New(&mcpproxy.Options{
//		Connect: func(ctx context.Context, c *mcp.Client) (*mcp.ClientSession, error) {
//			return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url}, nil)
//		},
//	})
//	defer p.Close()
//	err := p.Server().Run(ctx, &mcp.StdioTransport{})
//
// Both sides are go-sdk, which does all the protocol work: the local side
// is an mcp.Server (initialize or server/discover, whichever era the local
// client speaks), the remote side an mcp.ClientSession (2026-07-28 or an
// older protocol, whichever the remote and [Options.Connect] agree on).
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
// their code. The proxy keeps serving.
//
// What cannot be bridged: a server-to-client request of an older remote
// (elicitation during a tools/call) to a 2026-07-28 local client, which
// can only be asked through input_required; notifications of a remote
// reached through the Lambda Invoke API, which carries none; and
// list_changed from a remote on Lambda, whose instances cannot hold a
// subscription open.
package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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

	mu       sync.Mutex // guards the fields below
	cs       *mcp.ClientSession
	client   *mcp.Client
	calls    map[string]*call // forwarded requests in flight, by the proxy's progress token
	seq      int64
	levels   map[*mcp.ServerSession]mcp.LoggingLevel // set by older local clients with logging/setLevel
	subs     map[string]int                          // resource URI -> local subscriptions
	closed   bool
	rootsSeq int
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
	if isNew(cs) {
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
		//lint:ignore SA1019 sampling is deprecated in 2026-07-28 but older remotes use it
		opts.CreateMessageWithToolsHandler = func(ctx context.Context, req *mcp.CreateMessageWithToolsRequest) (*mcp.CreateMessageWithToolsResult, error) {
			ss, err := p.askSession()
			if err != nil {
				return nil, err
			}
			//lint:ignore SA1019 see above
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
			//lint:ignore SA1019 roots are deprecated in 2026-07-28 but older remotes use them
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

// middleware forwards what the remote serves, and answers the handshake
// with the remote's capabilities.
func (p *Proxy) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize", "server/discover":
			return p.handshake(ctx, method, req, next)
		case "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read",
			"prompts/list", "prompts/get", "completion/complete":
			return p.forward(ctx, method, req)
		case "logging/setLevel":
			res, err := next(ctx, method, req)
			if err == nil {
				p.setLevel(ctx, req)
			}
			return res, err
		}
		return next(ctx, method, req)
	}
}

// clientCaps returns the capabilities and implementation of the local
// client that sent req.
func clientCaps(req mcp.Request) (*mcp.ClientCapabilities, *mcp.Implementation) {
	if p, ok := req.GetParams().(*mcp.InitializeParams); ok && p != nil {
		return p.Capabilities, p.ClientInfo
	}
	var caps *mcp.ClientCapabilities
	var info *mcp.Implementation
	if r, ok := req.(interface {
		ClientCapabilities() *mcp.ClientCapabilities
	}); ok {
		caps = r.ClientCapabilities()
	}
	if r, ok := req.(interface{ ClientInfo() *mcp.Implementation }); ok {
		info = r.ClientInfo()
	}
	return caps, info
}

// localProtocol returns the protocol version of the local client that
// sent req.
func localProtocol(req mcp.Request) string {
	if r, ok := req.(interface{ ProtocolVersion() string }); ok {
		return r.ProtocolVersion()
	}
	return ""
}

// handshake connects to the remote and answers initialize or
// server/discover with the remote's capabilities, instructions and server
// info.
func (p *Proxy) handshake(ctx context.Context, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	caps, info := clientCaps(req)
	cs, err := p.session(ctx, caps, info)
	if err != nil {
		return nil, p.failure(ctx, "connecting", err)
	}
	res, err := next(ctx, method, req)
	if err != nil {
		return res, err
	}
	remote := cs.InitializeResult()
	if remote == nil {
		return res, nil
	}
	rcaps := remote.Capabilities
	if rcaps == nil {
		rcaps = &mcp.ServerCapabilities{}
	}
	switch res := res.(type) {
	case *mcp.InitializeResult:
		res.Capabilities, res.Instructions = rcaps, remote.Instructions
		if remote.ServerInfo != nil {
			res.ServerInfo = remote.ServerInfo
		}
	case *mcp.DiscoverResult:
		res.Capabilities, res.Instructions = rcaps, remote.Instructions
		if remote.ServerInfo != nil {
			if res.Meta == nil {
				res.Meta = mcp.Meta{}
			}
			res.Meta[mcp.MetaKeyServerInfo] = remote.ServerInfo
		}
	}
	return res, nil
}

// params returns the params of req, never a nil pointer: clients may
// leave out the params of a list.
func params(req mcp.Request) mcp.Params {
	switch p := req.GetParams().(type) {
	case *mcp.ListToolsParams:
		if p == nil {
			return &mcp.ListToolsParams{}
		}
	case *mcp.ListResourcesParams:
		if p == nil {
			return &mcp.ListResourcesParams{}
		}
	case *mcp.ListResourceTemplatesParams:
		if p == nil {
			return &mcp.ListResourceTemplatesParams{}
		}
	case *mcp.ListPromptsParams:
		if p == nil {
			return &mcp.ListPromptsParams{}
		}
	case *mcp.CallToolParamsRaw:
		if p == nil {
			return &mcp.CallToolParamsRaw{}
		}
	case *mcp.GetPromptParams:
		if p == nil {
			return &mcp.GetPromptParams{}
		}
	case *mcp.ReadResourceParams:
		if p == nil {
			return &mcp.ReadResourceParams{}
		}
	case *mcp.CompleteParams:
		if p == nil {
			return &mcp.CompleteParams{}
		}
	}
	return req.GetParams()
}

// forward sends req to the remote and returns its result.
func (p *Proxy) forward(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
	defer func() {
		// Whatever goes wrong in one request must not take down the proxy
		// and every other request with it.
		if r := recover(); r != nil {
			res, err = nil, p.failure(ctx, describe(method, params(req)), fmt.Errorf("mcplambda proxy: internal error: %v", r))
		}
	}()
	ss, _ := req.GetSession().(*mcp.ServerSession)
	caps, info := clientCaps(req)
	in := params(req)
	what := describe(method, in)
	cs, err := p.session(ctx, caps, info)
	if err != nil {
		return nil, p.failure(ctx, "connecting", err)
	}
	newLocal := localProtocol(req) >= newProtocol

	// The proxy's own progress token routes the remote's progress
	// notifications to this request; the local client's goes back in them.
	var localToken any
	if pt, ok := in.(interface{ GetProgressToken() any }); ok {
		localToken = pt.GetProgressToken()
	}
	p.mu.Lock()
	p.seq++
	token := "mcplambda-proxy-" + strconv.FormatInt(p.seq, 10)
	p.calls[token] = &call{ctx: ctx, ss: ss, token: localToken, newProt: newLocal}
	level, hasLevel := p.levels[ss]
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.calls, token)
		p.mu.Unlock()
	}()

	meta := p.outgoingMeta(cs, in, caps, info, newLocal, level, hasLevel)
	if localToken != nil && !p.opts.NoNotifications {
		meta["progressToken"] = token
	}
	res, err = p.send(ctx, cs, ss, method, in, meta, newLocal)
	if err != nil {
		return nil, p.remoteError(ctx, what, err)
	}
	if !newLocal {
		res = forOlderClient(res)
	}
	return res, nil
}

// outgoingMeta returns the _meta of the request to the remote: the local
// request's, without the keys of the protocol the local client speaks,
// plus, for a 2026-07-28 remote, the local client's capabilities, info
// and log level (go-sdk adds the protocol version).
func (p *Proxy) outgoingMeta(cs *mcp.ClientSession, in mcp.Params, caps *mcp.ClientCapabilities, info *mcp.Implementation, newLocal bool, level mcp.LoggingLevel, hasLevel bool) mcp.Meta {
	out := mcp.Meta{}
	var localLevel any
	if in != nil {
		for k, v := range in.GetMeta() {
			switch k {
			case "progressToken", mcp.MetaKeyProtocolVersion, mcp.MetaKeyClientInfo, mcp.MetaKeyClientCapabilities, mcp.MetaKeySubscriptionID:
				continue
			case mcp.MetaKeyLogLevel:
				localLevel = v
				continue
			}
			out[k] = v
		}
	}
	if !isNew(cs) {
		return out
	}
	if caps == nil {
		caps = &mcp.ClientCapabilities{}
	}
	out[mcp.MetaKeyClientCapabilities] = capsV2(caps)
	if info != nil {
		out[mcp.MetaKeyClientInfo] = info
	}
	switch {
	case p.opts.NoNotifications:
	case newLocal && localLevel != nil:
		out[mcp.MetaKeyLogLevel] = localLevel
	case !newLocal && hasLevel:
		out[mcp.MetaKeyLogLevel] = level
	}
	return out
}

// capsV2 encodes caps as the clientCapabilities of a 2026-07-28 request:
// "roots" present only when the client has roots (go-sdk issue 607).
func capsV2(caps *mcp.ClientCapabilities) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(caps)
	json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{}
	}
	delete(m, "roots")
	//lint:ignore SA1019 roots are deprecated in 2026-07-28, not gone
	if caps.RootsV2 != nil {
		m["roots"] = caps.RootsV2
	}
	return m
}

// send sends one forwarded request and, for an older local client, runs
// the input_required rounds itself.
func (p *Proxy) send(ctx context.Context, cs *mcp.ClientSession, ss *mcp.ServerSession, method string, params mcp.Params, meta mcp.Meta, newLocal bool) (mcp.Result, error) {
	switch params := params.(type) {
	case *mcp.ListToolsParams:
		out := *params
		out.Meta = meta
		return cs.ListTools(ctx, &out)
	case *mcp.ListResourcesParams:
		out := *params
		out.Meta = meta
		return cs.ListResources(ctx, &out)
	case *mcp.ListResourceTemplatesParams:
		out := *params
		out.Meta = meta
		return cs.ListResourceTemplates(ctx, &out)
	case *mcp.ListPromptsParams:
		out := *params
		out.Meta = meta
		return cs.ListPrompts(ctx, &out)
	case *mcp.CompleteParams:
		out := *params
		out.Meta = meta
		return cs.Complete(ctx, &out)
	case *mcp.CallToolParamsRaw:
		out := &mcp.CallToolParams{Meta: meta, Name: params.Name, InputResponses: params.InputResponses, RequestState: params.RequestState}
		if len(params.Arguments) > 0 {
			out.Arguments = params.Arguments
		}
		return rounds(ctx, p, ss, newLocal, func(in mcp.InputResponseMap, state string) (*mcp.CallToolResult, error) {
			if in != nil {
				out.InputResponses, out.RequestState = in, state
			}
			return cs.CallTool(ctx, withMeta(out, meta))
		})
	case *mcp.GetPromptParams:
		out := *params
		return rounds(ctx, p, ss, newLocal, func(in mcp.InputResponseMap, state string) (*mcp.GetPromptResult, error) {
			if in != nil {
				out.InputResponses, out.RequestState = in, state
			}
			o := out
			o.Meta = cloneMeta(meta)
			return cs.GetPrompt(ctx, &o)
		})
	case *mcp.ReadResourceParams:
		out := *params
		return rounds(ctx, p, ss, newLocal, func(in mcp.InputResponseMap, state string) (*mcp.ReadResourceResult, error) {
			if in != nil {
				out.InputResponses, out.RequestState = in, state
			}
			o := out
			o.Meta = cloneMeta(meta)
			return cs.ReadResource(ctx, &o)
		})
	}
	return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("mcplambda proxy: cannot forward %s", method)}
}

// withMeta returns a copy of params with its own copy of meta: go-sdk
// adds to the _meta of the params it sends.
func withMeta(params *mcp.CallToolParams, meta mcp.Meta) *mcp.CallToolParams {
	out := *params
	out.Meta = cloneMeta(meta)
	return &out
}

func cloneMeta(m mcp.Meta) mcp.Meta {
	out := make(mcp.Meta, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// multiRound is a result that may be input_required.
type multiRound interface {
	mcp.Result
	NeedsInput() bool
}

// rounds sends a request with send and, for an older local client, while
// the remote answers input_required, asks the local client with the real
// requests and sends again with its answers. A 2026-07-28 local client
// gets the input_required result as it is.
func rounds[R multiRound](ctx context.Context, p *Proxy, ss *mcp.ServerSession, newLocal bool, send func(mcp.InputResponseMap, string) (R, error)) (mcp.Result, error) {
	var in mcp.InputResponseMap
	var state string
	for round := 1; ; round++ {
		res, err := send(in, state)
		if err != nil {
			return nil, err
		}
		if newLocal || !res.NeedsInput() {
			return res, nil
		}
		requests, st := inputRequests(res)
		if round >= p.opts.MaxRounds {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("mcplambda proxy: the server still wants input after %d rounds", round)}
		}
		if len(requests) == 0 {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "mcplambda proxy: the server is busy (input_required without requests); retry later"}
		}
		if in, err = p.ask(ctx, ss, requests); err != nil {
			return nil, err
		}
		state = st
	}
}

// inputRequests returns the requests and state of an input_required result.
func inputRequests(res mcp.Result) (mcp.InputRequestMap, string) {
	switch r := res.(type) {
	case *mcp.CallToolResult:
		return r.InputRequests, r.RequestState
	case *mcp.GetPromptResult:
		return r.InputRequests, r.RequestState
	case *mcp.ReadResourceResult:
		return r.InputRequests, r.RequestState
	}
	return nil, ""
}

// ask fulfils the input requests of an input_required result by sending
// the real requests to an older local client, one at a time.
func (p *Proxy) ask(ctx context.Context, ss *mcp.ServerSession, requests mcp.InputRequestMap) (mcp.InputResponseMap, error) {
	var caps *mcp.ClientCapabilities
	if init := ss.InitializeParams(); init != nil {
		caps = init.Capabilities
	}
	if caps == nil {
		caps = &mcp.ClientCapabilities{}
	}
	missing := func(what string) error {
		return &jsonrpc.Error{Code: mcp.CodeMissingRequiredClientCapabilities,
			Message: "mcplambda proxy: the server needs " + what + ", which this client does not support"}
	}
	out := make(mcp.InputResponseMap, len(requests))
	for id, r := range requests {
		var res mcp.InputResponse
		var err error
		switch r := r.(type) {
		case *mcp.ElicitParams:
			if caps.Elicitation == nil {
				return nil, missing("elicitation")
			}
			res, err = ss.Elicit(ctx, r)
		case *mcp.CreateMessageParams:
			if caps.Sampling == nil {
				return nil, missing("sampling")
			}
			//lint:ignore SA1019 deprecated in 2026-07-28, still what older clients do
			res, err = ss.CreateMessage(ctx, r)
		case *mcp.CreateMessageWithToolsParams:
			if caps.Sampling == nil {
				return nil, missing("sampling")
			}
			//lint:ignore SA1019 see above
			res, err = ss.CreateMessageWithTools(ctx, r)
		case *mcp.ListRootsParams:
			//lint:ignore SA1019 see above
			if caps.RootsV2 == nil {
				return nil, missing("roots")
			}
			//lint:ignore SA1019 see above
			res, err = ss.ListRoots(ctx, r)
		default:
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("mcplambda proxy: unknown input request %T", r)}
		}
		if err != nil {
			return nil, fmt.Errorf("mcplambda proxy: asking the client (input request %q): %w", id, err)
		}
		out[id] = res
	}
	return out, nil
}

// forOlderClient returns res without the resultType of 2026-07-28, which a
// client of an older protocol does not know.
func forOlderClient(res mcp.Result) mcp.Result {
	switch r := res.(type) {
	case *mcp.CallToolResult:
		return &mcp.CallToolResult{Meta: r.Meta, Content: r.Content, StructuredContent: r.StructuredContent, IsError: r.IsError}
	case *mcp.GetPromptResult:
		return &mcp.GetPromptResult{Meta: r.Meta, Description: r.Description, Messages: r.Messages}
	case *mcp.ReadResourceResult:
		return &mcp.ReadResourceResult{Meta: r.Meta, Contents: r.Contents}
	case *mcp.ListToolsResult:
		r.ResultType = ""
	case *mcp.ListResourcesResult:
		r.ResultType = ""
	case *mcp.ListResourceTemplatesResult:
		r.ResultType = ""
	case *mcp.ListPromptsResult:
		r.ResultType = ""
	case *mcp.CompleteResult:
		r.ResultType = ""
	}
	return res
}

// describe names a request for messages: its method and what it is about.
func describe(method string, params mcp.Params) string {
	switch p := params.(type) {
	case *mcp.CallToolParamsRaw:
		return method + " " + p.Name
	case *mcp.GetPromptParams:
		return method + " " + p.Name
	case *mcp.ReadResourceParams:
		return method + " " + p.URI
	}
	return method
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

// remoteError returns the error for the local client of a forwarded
// request that failed.
func (p *Proxy) remoteError(ctx context.Context, what string, err error) error {
	return p.failure(ctx, what, err)
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

// relayTransport is the transport to the remote: it relays progress and
// log notifications to the local clients as it reads them, in the order
// they arrive, so that they reach the local client before the response
// that follows them. (go-sdk hands notifications to client handlers on
// another goroutine than the one that completes calls, so a handler could
// see a notification after the forwarded request has returned.)
type relayTransport struct {
	p *Proxy
	t mcp.Transport
}

func (t *relayTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.t.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &relayConn{Connection: c, p: t.p}, nil
}

type relayConn struct {
	mcp.Connection
	p *Proxy
}

// Read returns the next message that is not a relayed notification.
func (c *relayConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	for {
		msg, err := c.Connection.Read(ctx)
		if err != nil {
			return msg, err
		}
		req, ok := msg.(*jsonrpc.Request)
		if !ok || req.IsCall() {
			return msg, nil
		}
		switch req.Method {
		case "notifications/progress":
			var params mcp.ProgressNotificationParams
			if json.Unmarshal(req.Params, &params) == nil {
				c.p.relayProgress(&params)
				continue
			}
		case "notifications/message":
			var params mcp.LoggingMessageParams
			if json.Unmarshal(req.Params, &params) == nil {
				c.p.relayLog(&params)
				continue
			}
		}
		return msg, nil
	}
}

// relayProgress sends a progress notification of the remote to the local
// request it belongs to, with the local client's token.
func (p *Proxy) relayProgress(params *mcp.ProgressNotificationParams) {
	token, _ := params.ProgressToken.(string)
	p.mu.Lock()
	c := p.calls[token]
	p.mu.Unlock()
	if c == nil || c.token == nil || c.ss == nil {
		return
	}
	out := *params
	out.ProgressToken = c.token
	c.ss.NotifyProgress(c.ctx, &out)
}

// relayLog sends a log message of the remote to the local clients that
// asked for log messages: on the stream of a request in flight when there
// is one (a 2026-07-28 client sets its log level per request), else to the
// session of an older client, which set its level with logging/setLevel.
// Log messages carry no request id, so a client with several requests in
// flight gets each message once, on one of them.
func (p *Proxy) relayLog(params *mcp.LoggingMessageParams) {
	type target struct {
		ctx context.Context
		ss  *mcp.ServerSession
	}
	var targets []target
	seen := map[*mcp.ServerSession]bool{}
	p.mu.Lock()
	for _, c := range p.calls {
		if c.ss != nil && !seen[c.ss] {
			seen[c.ss] = true
			targets = append(targets, target{c.ctx, c.ss})
		}
	}
	for ss := range p.levels {
		if !seen[ss] {
			seen[ss] = true
			targets = append(targets, target{context.Background(), ss})
		}
	}
	p.mu.Unlock()
	for _, t := range targets {
		//lint:ignore SA1019 relaying what the remote logs
		t.ss.Log(t.ctx, params)
	}
}

// setLevel records the log level an older local client set, and passes on
// the most verbose level asked for to an older remote (a 2026-07-28 remote
// gets it with each request).
func (p *Proxy) setLevel(ctx context.Context, req mcp.Request) {
	ss, _ := req.GetSession().(*mcp.ServerSession)
	params, _ := req.GetParams().(*mcp.SetLoggingLevelParams)
	if ss == nil || params == nil {
		return
	}
	p.mu.Lock()
	p.levels[ss] = params.Level
	most := params.Level
	for _, l := range p.levels {
		if levelRank(l) < levelRank(most) {
			most = l
		}
	}
	cs := p.cs
	p.mu.Unlock()
	if cs == nil || isNew(cs) || p.opts.NoNotifications {
		return
	}
	//lint:ignore SA1019 logging of the older protocols
	if res := cs.InitializeResult(); res == nil || res.Capabilities == nil || res.Capabilities.Logging == nil {
		return
	}
	//lint:ignore SA1019 logging of the older protocols
	if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: most}); err != nil {
		p.remoteError(ctx, "logging/setLevel", err)
	}
}

// levelRank orders log levels from the most verbose.
func levelRank(l mcp.LoggingLevel) int {
	for i, v := range []mcp.LoggingLevel{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"} {
		if v == l {
			return i
		}
	}
	return 0
}

// listPlaceholder names the feature the proxy adds to and removes from its
// own server to make go-sdk send a list_changed notification to the local
// clients (go-sdk sends them when the server's features change, and has no
// other way to send one). The middleware forwards every list and call, so
// no client ever sees it.
const listPlaceholder = "mcplambda-proxy-list-changed"

// listChanged tells the local clients that the remote's list of kind
// changed.
func (p *Proxy) listChanged(kind string) {
	s := p.server
	switch kind {
	case "tools":
		s.AddTool(&mcp.Tool{Name: listPlaceholder, InputSchema: json.RawMessage(`{"type":"object"}`)},
			func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return nil, ErrClosed })
		s.RemoveTools(listPlaceholder)
	case "prompts":
		s.AddPrompt(&mcp.Prompt{Name: listPlaceholder},
			func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) { return nil, ErrClosed })
		s.RemovePrompts(listPlaceholder)
	case "resources":
		uri := "mcplambda-proxy:" + listPlaceholder
		s.AddResource(&mcp.Resource{URI: uri, Name: listPlaceholder},
			func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
				return nil, ErrClosed
			})
		s.RemoveResources(uri)
	}
}

// subscribe subscribes to a resource on the remote for the local clients
// (go-sdk keeps track of which local sessions want resources/updated).
func (p *Proxy) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	caps, info := clientCaps(req)
	cs, err := p.session(ctx, caps, info)
	if err != nil {
		return p.failure(ctx, "connecting", err)
	}
	p.mu.Lock()
	p.subs[req.Params.URI]++
	first := p.subs[req.Params.URI] == 1
	p.mu.Unlock()
	if !first {
		return nil
	}
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: req.Params.URI}); err != nil {
		p.mu.Lock()
		p.subs[req.Params.URI]--
		p.mu.Unlock()
		return p.remoteError(ctx, "resources/subscribe "+req.Params.URI, err)
	}
	return nil
}

// unsubscribe ends the remote subscription when no local client wants it.
func (p *Proxy) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	p.mu.Lock()
	n := p.subs[req.Params.URI]
	if n > 0 {
		p.subs[req.Params.URI]--
	}
	last := n == 1
	if last {
		delete(p.subs, req.Params.URI)
	}
	cs := p.cs
	p.mu.Unlock()
	if !last || cs == nil {
		return nil
	}
	if err := cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: req.Params.URI}); err != nil {
		return p.remoteError(ctx, "resources/unsubscribe "+req.Params.URI, err)
	}
	return nil
}

// rootsChanged tells an older remote that the local client's roots
// changed. The remote asks for them with roots/list, which the proxy
// answers from the local client; go-sdk sends the notification when the
// client's own roots change, hence the placeholder root, which roots/list
// never shows.
func (p *Proxy) rootsChanged(context.Context, *mcp.RootsListChangedRequest) {
	p.mu.Lock()
	client, cs := p.client, p.cs
	p.rootsSeq++
	n := p.rootsSeq
	p.mu.Unlock()
	if client == nil || cs == nil || isNew(cs) {
		return
	}
	//lint:ignore SA1019 roots of the older protocols
	client.AddRoots(&mcp.Root{URI: "mcplambda-proxy:roots", Name: strconv.Itoa(n)})
}
