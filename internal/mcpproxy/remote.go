package mcpproxy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

//lint:file-ignore SA1019 the proxy relays sampling, roots and logging, deprecated since 2026-07-28 (SEP-2577) but used by clients and servers of every era.

// remote is one backend and its session.
type remote struct {
	// set at construction
	p *Proxy
	b Backend

	connMu sync.Mutex // held while connecting, so that one connection is made at a time

	mu      sync.Mutex // guards the fields below
	cs      *mcp.ClientSession
	client  *mcp.Client
	subs    map[string]int      // resource URI (the backend's) -> local subscriptions
	lists   map[string]pageSnap // list method + cursor -> the last page, to age cache hints
	down    error               // the last connection failure, while waiting to retry
	retryAt time.Time
	backoff time.Duration

	startNames []string // what Start listed: names and URIs as served, for the collision check
}

// pageSnap is a list page as last received, to tell its age: go-sdk's
// client answers from its cache with the same result until it expires.
type pageSnap struct {
	res mcp.CacheableResult
	at  time.Time
}

// close closes the backend's session.
func (r *remote) close() error {
	r.mu.Lock()
	cs := r.cs
	r.cs = nil
	r.mu.Unlock()
	if cs != nil {
		return cs.Close()
	}
	return nil
}

// session returns the backend's session, connecting with the capabilities
// of the local client if there is none.
func (r *remote) session(ctx context.Context, caps *mcp.ClientCapabilities, info *mcp.Implementation) (*mcp.ClientSession, error) {
	return r.connect(ctx, caps, info, true)
}

// connect is session; prime says whether to list the tools of a new
// session of the 2026-07-28 protocol (which Start does anyway).
func (r *remote) connect(ctx context.Context, caps *mcp.ClientCapabilities, info *mcp.Implementation, prime bool) (*mcp.ClientSession, error) {
	if r.p.isClosed() {
		return nil, ErrClosed
	}
	r.mu.Lock()
	cs, down, retryAt := r.cs, r.down, r.retryAt
	r.mu.Unlock()
	if cs != nil {
		return cs, nil
	}
	if down != nil && time.Now().Before(retryAt) {
		return nil, &unavailableError{err: down, retry: time.Until(retryAt)}
	}
	r.connMu.Lock()
	defer r.connMu.Unlock()
	r.mu.Lock()
	cs = r.cs
	r.mu.Unlock()
	if cs != nil {
		return cs, nil // connected while we waited
	}
	client := r.newClient(caps, info)
	cs, err := client.Connect(ctx, &relayTransport{r: r, t: r.b.Transport()}, &mcp.ClientSessionOptions{ProtocolVersion: r.b.ProtocolVersion})
	if err != nil {
		r.mu.Lock()
		if r.b.RetryAfter > 0 && ctx.Err() == nil {
			r.backoff = min(max(2*r.backoff, r.b.RetryAfter), 8*r.b.RetryAfter)
			r.down, r.retryAt = err, time.Now().Add(r.backoff)
		}
		r.mu.Unlock()
		return nil, err
	}
	if r.p.isClosed() {
		cs.Close()
		return nil, ErrClosed
	}
	r.mu.Lock()
	r.cs, r.client = cs, client
	r.down, r.backoff = nil, 0
	r.mu.Unlock()
	go func() {
		// The next request connects again when this session dies (a
		// stateful remote restarted, a broken stream).
		cs.Wait()
		r.mu.Lock()
		if r.cs == cs {
			r.cs = nil
		}
		r.mu.Unlock()
	}()
	if res := cs.InitializeResult(); prime && isNew(cs) && res.Capabilities != nil && res.Capabilities.Tools != nil {
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

// dropAfter closes cs, r's session, after a request on it failed with err
// in a way that says the backend may be gone (the transport failed, not
// the server, nor a timeout): the next request connects afresh, so that
// nothing is answered from the session's caches of a dead backend, and a
// backend that stays down waits RetryAfter like one that was never
// reached.
func (r *remote) dropAfter(cs *mcp.ClientSession, err error, timedOut bool) {
	if err == nil || timedOut || ServerError(err) != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	r.mu.Lock()
	current := r.cs == cs
	if current {
		r.cs = nil
	}
	r.mu.Unlock()
	if current {
		cs.Close()
	}
}

// unavailableError is the error of a request for a backend that failed to
// connect a moment ago.
type unavailableError struct {
	err   error
	retry time.Duration
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("unavailable (next attempt in %s): %v", e.retry.Round(100*time.Millisecond), e.err)
}

func (e *unavailableError) Unwrap() error { return e.err }

// newClient returns the client for a new backend session: it declares the
// capabilities of the local client that caused the connection (an older
// remote learns them once, at initialize; a 2026-07-28 remote gets each
// request's own client's in its _meta), and its handlers relay what the
// remote sends.
func (r *remote) newClient(caps *mcp.ClientCapabilities, info *mcp.Implementation) *mcp.Client {
	p := r.p
	if caps == nil {
		caps = &mcp.ClientCapabilities{}
	}
	if info == nil {
		info = &mcp.Implementation{Name: p.serverImpl.Name, Version: p.serverImpl.Version}
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
			params := *req.Params
			params.URI = r.outURI(params.URI)
			p.server.ResourceUpdated(context.WithoutCancel(ctx), &params)
		},
		ElicitationCompleteHandler: func(ctx context.Context, req *mcp.ElicitationCompleteNotificationRequest) {
			if ss, err := p.askSession(r); err == nil {
				ss.NotifyElicitationComplete(ctx, req.Params)
			}
		},
	}
	if caps.Elicitation != nil {
		opts.ElicitationHandler = func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			ss, err := p.askSession(r)
			if err != nil {
				return nil, err
			}
			return ss.Elicit(ctx, req.Params)
		}
	}
	if caps.Sampling != nil {
		opts.CreateMessageWithToolsHandler = func(ctx context.Context, req *mcp.CreateMessageWithToolsRequest) (*mcp.CreateMessageWithToolsResult, error) {
			ss, err := p.askSession(r)
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
			ss, err := p.askSession(r)
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

// capabilities returns the capabilities the backend's session declared,
// never nil.
func capabilities(cs *mcp.ClientSession) *mcp.ServerCapabilities {
	if res := cs.InitializeResult(); res != nil && res.Capabilities != nil {
		return res.Capabilities
	}
	return &mcp.ServerCapabilities{}
}

// askSession returns the local session to send a request of remote r to:
// the one whose requests to r are in flight, or the only one.
func (p *Proxy) askSession(r *remote) (*mcp.ServerSession, error) {
	p.mu.Lock()
	var ss *mcp.ServerSession
	several := false
	for _, c := range p.calls {
		if c.r != r {
			continue
		}
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
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: p.name() + ": cannot tell which of its clients the request is for"}
		}
		ss = all[0]
	}
	if init := ss.InitializeParams(); init != nil && init.ProtocolVersion >= newProtocol {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: p.name() + ": the client speaks MCP " + init.ProtocolVersion + ", which allows no server-to-client requests"}
	}
	return ss, nil
}

// name is what the proxy calls itself in messages.
func (p *Proxy) name() string {
	if p.transparent && p.remotes[0].b.Name == "" {
		return "mcplambda proxy"
	}
	return "mcplambda gateway"
}

// failure returns the error for the local client of a request to r that
// failed: the remote's own JSON-RPC error as it is, or an explained
// failure to reach the remote, which is reported. A request the local
// client cancelled is not a failure. backendTimeout says that r's own
// Timeout ran out (rather than ctx).
func (r *remote) failure(ctx context.Context, what string, err error, backendTimeout bool) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) && (r.b.Name == "" || errors.Is(ctx.Err(), context.Canceled)) {
		return err
	}
	p := r.p
	explain := r.b.Explain
	if explain == nil {
		explain = p.opts.Explain
	}
	var out error
	switch {
	case ServerError(err) != nil && !backendTimeout && (explain == nil || r.b.Name != ""):
		out = ServerError(err)
	case r.b.Name != "" && (backendTimeout || ctx.Err() != nil):
		why := fmt.Sprintf("no answer within %s (the backend's timeout)", r.b.Timeout)
		if !backendTimeout {
			why = "no answer before the deadline of the request"
		}
		out = fmt.Errorf("%s: backend %q: %s: %s", p.name(), r.b.Name, what, why)
	case explain != nil:
		out = explain(ctx, what, err)
	case r.b.Name != "":
		out = fmt.Errorf("%s: backend %q: %s: %s", p.name(), r.b.Name, what, OneLine(err))
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

// sdkNoise is the context go-sdk adds to transport errors, which says
// nothing to a person: calling "initialize": sending "initialize":
// rejected by transport: ...
var sdkNoise = regexp.MustCompile(`(calling|sending) "[^"]*": |:? ?rejected by transport:? ?`)

// invokeNoise is the method name package invoke puts before its errors,
// which an explanation names already.
var invokeNoise = regexp.MustCompile(`(?:initialize|[a-z]+(?:/[a-zA-Z]+)+): (invoke: )`)

// OneLine returns err's message on one line, without go-sdk's noise.
func OneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	s = invokeNoise.ReplaceAllString(s, "${1}")
	return strings.TrimSpace(sdkNoise.ReplaceAllString(s, ""))
}

// start connects r and lists what it serves, for [Proxy.Start].
func (r *remote) start(ctx context.Context) Status {
	st := Status{Name: r.b.Name}
	begin := time.Now()
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	cs, err := r.connect(ctx, nil, nil, false)
	if err != nil {
		st.Err = r.failure(ctx, "connecting", err, ctx.Err() != nil)
		r.observe(ctx, "initialize", "", begin, st.Err, false)
		return st
	}
	st.ProtocolVersion = cs.InitializeResult().ProtocolVersion
	// The four lists at once: a start is as slow as its slowest backend,
	// and a backend's lists are round trips.
	items := make([][]item, len(listMethods))
	errs := make([]error, len(listMethods))
	var wg sync.WaitGroup
	for i, method := range listMethods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items[i], _, errs[i] = r.listAll(ctx, cs, method, mcp.Meta{})
		}()
	}
	wg.Wait()
	for i, method := range listMethods {
		if errs[i] != nil {
			st.Err = r.failure(ctx, method, errs[i], ctx.Err() != nil)
			return st
		}
		for _, it := range items[i] {
			r.startNames = append(r.startNames, it.key)
		}
	}
	st.Tools, st.Prompts, st.Resources, st.Templates = len(items[0]), len(items[1]), len(items[2]), len(items[3])
	return st
}

// withTimeout returns ctx bounded by the backend's timeout.
func (r *remote) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.b.Timeout > 0 {
		return context.WithTimeout(ctx, r.b.Timeout)
	}
	return context.WithCancel(ctx)
}

// observe reports a request to the backend to Options.Observe.
func (r *remote) observe(ctx context.Context, method, name string, begin time.Time, err error, isError bool) {
	if r.p.opts.Observe != nil {
		r.p.opts.Observe(ctx, Observation{Backend: r.b.Name, Method: method, Name: name, Duration: time.Since(begin), Err: err, IsError: isError})
	}
}
