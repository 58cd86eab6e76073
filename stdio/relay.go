//lint:file-ignore SA1019 the proxy relays sampling and roots requests of stdio servers, deprecated since 2026-07-28 (SEP-2577) but still sent by servers and answered by legacy clients.

package stdio

import (
	"context"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Requests of the server process to its client (elicitation/create,
// sampling/createMessage, roots/list) are relayed, with
// [ProxyOptions.RelayRequests], to the caller of the request the process
// is serving: they go out through the proxy server's session for that
// caller, so mcplambda's handler decides whether they can reach the
// caller (a legacy client on a session whose response streams) and
// carries the answer back through the session store, whatever instance
// it arrives on. Where they cannot, the process gets a JSON-RPC error that
// says why.

// call is a forwarded request in progress on a child: where the child's
// requests to its client go.
type call struct {
	ctx      context.Context // the caller's: it routes a request to the caller's response stream
	session  *mcp.ServerSession
	deadline time.Time // when the child must have answered; zero if none
}

// track registers a forwarded request on c until the returned function
// is called.
func (p *Proxy) track(c *child, ctx context.Context, ss *mcp.ServerSession, deadline time.Time) func() {
	if !p.opts.RelayRequests || ss == nil {
		return func() {}
	}
	k := &call{ctx: ctx, session: ss, deadline: deadline}
	p.mu.Lock()
	c.calls = append(c.calls, k)
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, other := range c.calls {
			if other == k {
				c.calls = append(c.calls[:i], c.calls[i+1:]...)
				break
			}
		}
	}
}

// caller returns the forwarded request whose caller a request of the
// child with session cs is for: the one request in progress on it.
func (p *Proxy) caller(cs *mcp.ClientSession, method string) (*call, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.children {
		if c.cs != cs {
			continue
		}
		switch len(c.calls) {
		case 1:
			return c.calls[0], nil
		case 0:
			return nil, relayError("%s arrived while the server process is serving no request: mcplambda relays a server's requests only to the caller of a request in progress", method)
		default:
			return nil, relayError("%s arrived while the server process serves %d requests at once: mcplambda cannot tell whose caller to ask (isolation per-request gives each request a process)", method, len(c.calls))
		}
	}
	return nil, relayError("%s arrived from a server process that is no longer in use", method)
}

func relayError(format string, args ...any) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "mcplambda stdio: " + fmt.Sprintf(format, args...)}
}

// relayContext is the context of a relayed request: the caller's (whose
// values route it), ending when the child's request ends and, if the
// forwarded request has a deadline, one DeadlineMargin before it, so that
// the child can still answer its caller after a failure.
func (p *Proxy) relayContext(child context.Context, k *call, method string) (context.Context, context.CancelFunc, error) {
	if v := k.session.InitializeParams(); v != nil && v.ProtocolVersion >= "2026-07-28" {
		return nil, nil, relayError("the caller speaks MCP %s, in which servers send no requests to clients (they return input_required results instead); the server's %s cannot be relayed", v.ProtocolVersion, method)
	}
	ctx, cancel := context.WithCancel(k.ctx)
	if !k.deadline.IsZero() {
		cancel()
		ctx, cancel = context.WithDeadline(k.ctx, k.deadline.Add(-p.opts.DeadlineMargin))
	}
	stop := context.AfterFunc(child, cancel)
	return ctx, func() { stop(); cancel() }, nil
}

// relayElicit relays the child's elicitation/create to the caller.
func (p *Proxy) relayElicit(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	k, err := p.caller(req.Session, "elicitation/create")
	if err != nil {
		return nil, err
	}
	rctx, done, err := p.relayContext(ctx, k, "elicitation/create")
	if err != nil {
		return nil, err
	}
	defer done()
	return k.session.Elicit(rctx, req.Params)
}

// relaySampling relays the child's sampling/createMessage to the caller.
func (p *Proxy) relaySampling(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	k, err := p.caller(req.Session, "sampling/createMessage")
	if err != nil {
		return nil, err
	}
	rctx, done, err := p.relayContext(ctx, k, "sampling/createMessage")
	if err != nil {
		return nil, err
	}
	defer done()
	return k.session.CreateMessage(rctx, req.Params)
}

// relayRoots is the client middleware that relays the child's roots/list
// to the caller, instead of go-sdk's answer from the client's own roots.
func (p *Proxy) relayRoots(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		r, ok := req.(*mcp.ListRootsRequest)
		if method != "roots/list" || !ok {
			return next(ctx, method, req)
		}
		k, err := p.caller(r.Session, method)
		if err != nil {
			return nil, err
		}
		rctx, done, err := p.relayContext(ctx, k, method)
		if err != nil {
			return nil, err
		}
		defer done()
		return k.session.ListRoots(rctx, r.Params)
	}
}

// relayCapabilities are the client capabilities the proxy declares to
// its server process when it relays requests.
func relayCapabilities() *mcp.ClientCapabilities {
	return &mcp.ClientCapabilities{
		RootsV2:     &mcp.RootCapabilities{},
		Sampling:    &mcp.SamplingCapabilities{},
		Elicitation: &mcp.ElicitationCapabilities{Form: &mcp.FormElicitationCapabilities{}, URL: &mcp.URLElicitationCapabilities{}},
	}
}
