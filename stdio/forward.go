package stdio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// lists is what the proxy's server exposes, as last fetched from a child.
type lists struct {
	tools     []*mcp.Tool
	resources []*mcp.Resource
	templates []*mcp.ResourceTemplate
	prompts   []*mcp.Prompt
}

// relay is where a child's progress notifications for one forwarded
// request go.
type relay struct {
	ctx     context.Context // the caller's request context, which routes the notification
	child   *child          // the only child whose notifications may use it
	session *mcp.ServerSession
	token   any // the caller's progress token
}

func (p *Proxy) clientOptions() *mcp.ClientOptions {
	o := &mcp.ClientOptions{
		// No roots, sampling or elicitation unless relayed: a stateless
		// front door cannot send requests back to the caller.
		Capabilities:   &mcp.ClientCapabilities{},
		MultiRoundTrip: &mcp.MultiRoundTripOptions{Disabled: true}, // input_required results pass through
		//lint:ignore SA1019 servers from before 2026-07-28 still send log notifications; they go to the function log
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			data, _ := json.Marshal(req.Params.Data)
			p.logger.Info("stdio: server log message", "level", req.Params.Level, "logger", req.Params.Logger, "data", string(data))
		},
		ToolListChangedHandler:     func(context.Context, *mcp.ToolListChangedRequest) { p.refreshLater() },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { p.refreshLater() },
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { p.refreshLater() },
	}
	if p.opts.RelayRequests {
		o.Capabilities = relayCapabilities()
		o.ElicitationHandler = p.relayElicit
		//lint:ignore SA1019 legacy clients still answer sampling requests, relayed to them
		o.CreateMessageHandler = p.relaySampling
	}
	return o
}

// buildServer creates p.server from the capabilities and lists of c.
func (p *Proxy) buildServer(ctx context.Context, c *child) error {
	init := c.cs.InitializeResult()
	impl := &mcp.Implementation{Name: "mcplambda-stdio", Version: "v1"}
	caps := &mcp.ServerCapabilities{}
	var instructions string
	if init != nil {
		if init.ServerInfo != nil {
			impl = init.ServerInfo
		}
		if init.Capabilities != nil {
			caps = init.Capabilities
		}
		instructions = init.Instructions
	}
	// Logging is not mirrored: logging/setLevel needs a session, and the
	// child's log messages go to the function log.
	mirrored := &mcp.ServerCapabilities{
		Experimental: caps.Experimental,
		Completions:  caps.Completions,
		Prompts:      caps.Prompts,
		Resources:    caps.Resources,
		Tools:        caps.Tools,
	}
	if mirrored.Resources != nil {
		r := *mirrored.Resources
		r.Subscribe = false // subscriptions need a session, which stateless serving lacks
		mirrored.Resources = &r
	}
	so := &mcp.ServerOptions{
		Instructions: instructions,
		Logger:       p.opts.Logger,
		Capabilities: mirrored,
	}
	if caps.Completions != nil {
		so.CompletionHandler = p.complete
	}
	p.server = mcp.NewServer(impl, so)
	// resources/read goes to the child for any URI, listed or not: the
	// child decides what exists.
	if caps.Resources != nil {
		p.server.AddReceivingMiddleware(p.readAnyResource)
	}
	l, err := p.fetchLists(ctx, c)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.apply(l)
	return nil
}

// fetchLists lists everything the child advertises, following pages.
func (p *Proxy) fetchLists(ctx context.Context, c *child) (lists, error) {
	var l lists
	caps := &mcp.ServerCapabilities{}
	if r := c.cs.InitializeResult(); r != nil && r.Capabilities != nil {
		caps = r.Capabilities
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.StartTimeout)
	defer cancel()
	var err error
	if caps.Tools != nil {
		if l.tools, err = collect(c.cs.Tools(ctx, nil)); err != nil {
			return l, fmt.Errorf("stdio: tools/list: %w", err)
		}
	}
	if caps.Resources != nil {
		if l.resources, err = collect(c.cs.Resources(ctx, nil)); err != nil {
			return l, fmt.Errorf("stdio: resources/list: %w", err)
		}
		if l.templates, err = collect(c.cs.ResourceTemplates(ctx, nil)); err != nil {
			return l, fmt.Errorf("stdio: resources/templates/list: %w", err)
		}
	}
	if caps.Prompts != nil {
		if l.prompts, err = collect(c.cs.Prompts(ctx, nil)); err != nil {
			return l, fmt.Errorf("stdio: prompts/list: %w", err)
		}
	}
	return l, nil
}

func collect[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// apply makes the server expose l, adding and removing features. p.mu is
// held.
func (p *Proxy) apply(l lists) {
	s := p.server
	var kept lists
	for _, t := range l.tools {
		if p.safeAdd("tool", t.Name, func() { s.AddTool(t, p.callTool) }) {
			kept.tools = append(kept.tools, t)
		}
	}
	for _, r := range l.resources {
		if p.safeAdd("resource", r.URI, func() { s.AddResource(r, p.readResource) }) {
			kept.resources = append(kept.resources, r)
		}
	}
	for _, t := range l.templates {
		if p.safeAdd("resource template", t.URITemplate, func() { s.AddResourceTemplate(t, p.readResource) }) {
			kept.templates = append(kept.templates, t)
		}
	}
	for _, pr := range l.prompts {
		if p.safeAdd("prompt", pr.Name, func() { s.AddPrompt(pr, p.getPrompt) }) {
			kept.prompts = append(kept.prompts, pr)
		}
	}
	// Remove what the child no longer has (adding replaced the rest).
	toolName := func(t *mcp.Tool) string { return t.Name }
	resURI := func(r *mcp.Resource) string { return r.URI }
	tmplURI := func(t *mcp.ResourceTemplate) string { return t.URITemplate }
	promptName := func(pr *mcp.Prompt) string { return pr.Name }
	s.RemoveTools(gone(p.lists.tools, kept.tools, toolName)...)
	s.RemoveResources(gone(p.lists.resources, kept.resources, resURI)...)
	s.RemoveResourceTemplates(gone(p.lists.templates, kept.templates, tmplURI)...)
	s.RemovePrompts(gone(p.lists.prompts, kept.prompts, promptName)...)
	p.lists = kept
}

// gone returns the names in old that are not in cur.
func gone[T any](old, cur []T, name func(T) string) []string {
	keep := make(map[string]bool, len(cur))
	for _, it := range cur {
		keep[name(it)] = true
	}
	var out []string
	for _, it := range old {
		if n := name(it); !keep[n] {
			out = append(out, n)
		}
	}
	return out
}

// safeAdd runs add, which panics (in go-sdk) on a feature it cannot serve,
// such as a tool whose input schema is not an object; such a feature is
// logged and left out.
func (p *Proxy) safeAdd(kind, name string, add func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.logger.Warn("stdio: leaving out a feature the server advertises", "kind", kind, "name", name, "err", fmt.Sprint(r))
			ok = false
		}
	}()
	add()
	return true
}

// refreshLater refetches the lists from the current child in the
// background, after a list_changed notification.
func (p *Proxy) refreshLater() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.cur == nil || p.server == nil {
		return
	}
	c := p.cur
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		l, err := p.fetchLists(p.ctx, c)
		if err != nil {
			p.logger.Warn("stdio: refreshing lists after list_changed", "err", err)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.closed {
			p.apply(l)
		}
	}()
}

// progressParams are outgoing request params that can carry a progress
// token.
type progressParams interface{ SetProgressToken(any) }

// forward runs call against a child chosen for the request, within the
// request's deadline minus the margin, and maps a failure of the child to
// an error for the caller. If the caller sent a progress token, out (the
// params call sends) gets the token to give the child, whose progress
// notifications are relayed to the caller.
func forward[R any](p *Proxy, ctx context.Context, ss *mcp.ServerSession, progressToken any, out progressParams, call func(ctx context.Context, cs *mcp.ClientSession) (R, error)) (R, error) {
	var zero R
	cctx, cancel, deadline, limit := p.callContext(ctx)
	defer cancel()
	c, err := p.acquire(cctx, identity.Principal(ctx))
	if err != nil {
		if cctx.Err() != nil && errors.Is(err, cctx.Err()) {
			err = fmt.Errorf("%w: waiting for a server process", ErrTimeout)
		}
		return zero, toRPCError(err)
	}
	tok, unrelay := p.relay(ctx, c, ss, progressToken)
	if tok != nil && out != nil {
		out.SetProgressToken(tok)
	}
	untrack := p.track(c, ctx, ss, deadline)
	res, err := call(cctx, c.cs)
	untrack()
	unrelay()
	failed := false
	if err != nil {
		var werr *jsonrpc.Error
		switch {
		case errors.As(err, &werr):
			// The child answered with an error: pass it on.
		case cctx.Err() != nil && (deadline.IsZero() || time.Now().Before(deadline)):
			// The caller went away; go-sdk told the child to cancel.
			err = context.Canceled
		case cctx.Err() != nil:
			failed = true
			c.fail(fmt.Errorf("%w (%v)", ErrTimeout, limit.Round(time.Millisecond)))
			c.kill()
			p.logger.Warn("stdio: the server process did not answer in time; killed it", "pid", c.cmd.Process.Pid, "after", limit)
			err = toRPCError(c.dead())
		default:
			// A transport error: the child is gone or unusable.
			failed = true
			waitFor(c.exited, 50*time.Millisecond) // let the reaper tell why
			cause := c.dead()
			if cause == nil {
				cause = fmt.Errorf("%w: %v", ErrConnection, err)
				c.fail(cause)
			}
			c.kill()
			err = toRPCError(cause)
		}
	}
	p.release(c, failed)
	return res, err
}

// callContext derives the context of a forwarded call from the handler's,
// which carries the request's deadline and cancellation when it came
// through mcplambda.NewHandler (in Lambda, the invocation's deadline). It
// returns the call's deadline (zero if none) and the time it allows.
func (p *Proxy) callContext(ctx context.Context) (context.Context, context.CancelFunc, time.Time, time.Duration) {
	deadline, ok := ctx.Deadline()
	if ok {
		deadline = deadline.Add(-p.opts.DeadlineMargin)
	}
	if t := p.opts.Timeout; t > 0 && (!ok || time.Now().Add(t).Before(deadline)) {
		deadline, ok = time.Now().Add(t), true
	}
	if !ok {
		cctx, cancel := context.WithCancel(ctx)
		return cctx, cancel, time.Time{}, 0
	}
	cctx, cancel := context.WithDeadline(ctx, deadline)
	return cctx, cancel, deadline, time.Until(deadline)
}

// toRPCError turns a failure to reach the child into a JSON-RPC internal
// error whose message explains it.
func toRPCError(err error) error {
	var werr *jsonrpc.Error
	if err == nil || errors.As(err, &werr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	msg := err.Error()
	if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrStart) {
		msg += "; it will be restarted for the next request"
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
}

// forwardMeta returns the caller's _meta for the child: the
// protocol-level keys are the proxy's own business.
func forwardMeta(m mcp.Meta) mcp.Meta {
	var out mcp.Meta
	for k, v := range m {
		if k == "progressToken" || strings.HasPrefix(k, "io.modelcontextprotocol/") {
			continue
		}
		if out == nil {
			out = make(mcp.Meta)
		}
		out[k] = v
	}
	return out
}

// relay registers a relay from c to the caller for the caller's progress
// token, if any, and returns the token to give the child and the function
// that removes the relay.
func (p *Proxy) relay(ctx context.Context, c *child, ss *mcp.ServerSession, token any) (any, func()) {
	if token == nil || ss == nil {
		return nil, func() {}
	}
	p.mu.Lock()
	p.tokenSeq++
	proxyToken := "mcplambda-" + strconv.FormatInt(p.tokenSeq, 10)
	p.relays[proxyToken] = relay{ctx: ctx, child: c, session: ss, token: token}
	p.mu.Unlock()
	return proxyToken, func() {
		p.mu.Lock()
		delete(p.relays, proxyToken)
		p.mu.Unlock()
	}
}

// interceptProgress relays a child's progress notification (one line of
// its stdout) to the caller whose request it belongs to, and reports
// whether it did.
func (p *Proxy) interceptProgress(c *child, line []byte) bool {
	var msg struct {
		Method string                          `json:"method"`
		Params *mcp.ProgressNotificationParams `json:"params"`
	}
	if json.Unmarshal(line, &msg) != nil || msg.Method != "notifications/progress" || msg.Params == nil {
		return false
	}
	tok, _ := msg.Params.ProgressToken.(string)
	p.mu.Lock()
	r, ok := p.relays[tok]
	p.mu.Unlock()
	if !ok || r.child != c {
		return false // not ours, or the request is over: let go-sdk drop it
	}
	out := *msg.Params
	out.ProgressToken = r.token
	if err := r.session.NotifyProgress(r.ctx, &out); err != nil {
		p.logger.Debug("stdio: relaying progress", "err", err)
	}
	return true
}

// The forwarding handlers.

func (p *Proxy) callTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	params := &mcp.CallToolParams{
		Meta:           forwardMeta(req.Params.Meta),
		Name:           req.Params.Name,
		InputResponses: req.Params.InputResponses,
		RequestState:   req.Params.RequestState,
	}
	if len(req.Params.Arguments) > 0 {
		params.Arguments = req.Params.Arguments
	}
	return forward(p, ctx, req.Session, req.Params.GetProgressToken(), params, func(ctx context.Context, cs *mcp.ClientSession) (*mcp.CallToolResult, error) {
		return cs.CallTool(ctx, params)
	})
}

func (p *Proxy) getPrompt(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	params := &mcp.GetPromptParams{
		Meta:           forwardMeta(req.Params.Meta),
		Name:           req.Params.Name,
		Arguments:      req.Params.Arguments,
		InputResponses: req.Params.InputResponses,
		RequestState:   req.Params.RequestState,
	}
	return forward(p, ctx, req.Session, req.Params.GetProgressToken(), params, func(ctx context.Context, cs *mcp.ClientSession) (*mcp.GetPromptResult, error) {
		return cs.GetPrompt(ctx, params)
	})
}

func (p *Proxy) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	params := &mcp.ReadResourceParams{
		Meta:           forwardMeta(req.Params.Meta),
		URI:            req.Params.URI,
		InputResponses: req.Params.InputResponses,
		RequestState:   req.Params.RequestState,
	}
	return forward(p, ctx, req.Session, req.Params.GetProgressToken(), params, func(ctx context.Context, cs *mcp.ClientSession) (*mcp.ReadResourceResult, error) {
		return cs.ReadResource(ctx, params)
	})
}

// readAnyResource sends resources/read to the child whether or not the
// URI is listed (servers need not list every resource they serve). It
// bypasses go-sdk's own resources/read, so it also settles the result's
// cache scope as go-sdk does: a child speaking an earlier protocol sends
// none, and 2026-07-28 makes "public" the default.
func (p *Proxy) readAnyResource(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if r, ok := req.(*mcp.ReadResourceRequest); ok && method == "resources/read" && r.Params != nil {
			res, err := p.readResource(ctx, r)
			if res != nil && res.CacheScope == "" {
				res.CacheScope = "public"
			}
			return res, err
		}
		return next(ctx, method, req)
	}
}

func (p *Proxy) complete(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	params := *req.Params
	params.Meta = forwardMeta(req.Params.Meta)
	return forward(p, ctx, req.Session, nil, nil, func(ctx context.Context, cs *mcp.ClientSession) (*mcp.CompleteResult, error) {
		return cs.Complete(ctx, &params)
	})
}
