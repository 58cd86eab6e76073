package mcpproxy

import (
	"context"
	"encoding/json"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

//lint:file-ignore SA1019 the proxy relays sampling, roots and logging, deprecated since 2026-07-28 (SEP-2577) but used by clients and servers of every era.

// relayTransport is the transport to the remote: it relays progress and
// log notifications to the local clients as it reads them, in the order
// they arrive, so that they reach the local client before the response
// that follows them. (go-sdk hands notifications to client handlers on
// another goroutine than the one that completes calls, so a handler could
// see a notification after the forwarded request has returned.)
type relayTransport struct {
	r *remote
	t mcp.Transport
}

func (t *relayTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.t.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &relayConn{Connection: c, r: t.r}, nil
}

type relayConn struct {
	mcp.Connection
	r *remote
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
				c.r.p.relayProgress(c.r, &params)
				continue
			}
		case "notifications/message":
			var params mcp.LoggingMessageParams
			if json.Unmarshal(req.Params, &params) == nil {
				c.r.p.relayLog(c.r, &params)
				continue
			}
		}
		return msg, nil
	}
}

// relayProgress sends a progress notification of remote r to the local
// request it belongs to, with the local client's token.
func (p *Proxy) relayProgress(r *remote, params *mcp.ProgressNotificationParams) {
	token, _ := params.ProgressToken.(string)
	p.mu.Lock()
	c := p.calls[token]
	p.mu.Unlock()
	if c == nil || c.r != r || c.token == nil || c.ss == nil {
		return
	}
	out := *params
	out.ProgressToken = c.token
	c.ss.NotifyProgress(c.ctx, &out)
}

// relayLog sends a log message of remote r to the local clients that
// asked for log messages: on the stream of a request to r in flight when
// there is one (a 2026-07-28 client sets its log level per request), else
// to the session of an older client, which set its level with
// logging/setLevel. Log messages carry no request id, so a client with
// several requests in flight gets each message once, on one of them. A
// gateway names the backend in the message's logger: "NAME" or
// "NAME/LOGGER".
func (p *Proxy) relayLog(r *remote, params *mcp.LoggingMessageParams) {
	if !p.transparent {
		out := *params
		out.Logger = r.b.Name
		if params.Logger != "" {
			out.Logger += "/" + params.Logger
		}
		params = &out
	}
	type target struct {
		ctx context.Context
		ss  *mcp.ServerSession
	}
	var targets []target
	seen := map[*mcp.ServerSession]bool{}
	p.mu.Lock()
	for _, c := range p.calls {
		if c.r == r && c.ss != nil && !seen[c.ss] {
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
		t.ss.Log(t.ctx, params)
	}
}

// setLevel records the log level an older local client set, and passes on
// the most verbose level asked for to the older remotes connected (a
// 2026-07-28 remote gets it with each request).
func (p *Proxy) setLevel(ctx context.Context, req mcp.Request) {
	ss, _ := req.GetSession().(*mcp.ServerSession)
	params, _ := req.GetParams().(*mcp.SetLoggingLevelParams)
	if ss == nil || params == nil {
		return
	}
	live := map[*mcp.ServerSession]bool{}
	for s := range p.server.Sessions() {
		live[s] = true
	}
	p.mu.Lock()
	for s := range p.levels {
		if !live[s] {
			delete(p.levels, s) // a session that has ended
		}
	}
	p.levels[ss] = params.Level
	most := params.Level
	for _, l := range p.levels {
		if levelRank(l) < levelRank(most) {
			most = l
		}
	}
	p.mu.Unlock()
	for _, r := range p.remotes {
		r.mu.Lock()
		cs := r.cs
		r.mu.Unlock()
		if cs == nil || isNew(cs) || r.b.NoNotifications || capabilities(cs).Logging == nil {
			continue
		}
		if err := cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: most}); err != nil {
			r.failure(ctx, "logging/setLevel", err, false)
		}
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

// subscribe subscribes to a resource on the remote that serves it, for
// the local clients (go-sdk keeps track of which local sessions want
// resources/updated).
func (p *Proxy) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	r, uri := p.routeURI(req.Params.URI)
	if r == nil {
		return mcp.ResourceNotFoundError(req.Params.URI)
	}
	caps, info := clientCaps(req)
	cs, err := r.session(ctx, caps, info)
	if err != nil {
		return r.failure(ctx, "connecting", err, false)
	}
	r.mu.Lock()
	r.subs[uri]++
	first := r.subs[uri] == 1
	r.mu.Unlock()
	if !first {
		return nil
	}
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uri}); err != nil {
		r.mu.Lock()
		r.subs[uri]--
		r.mu.Unlock()
		return r.failure(ctx, "resources/subscribe "+uri, err, false)
	}
	return nil
}

// unsubscribe ends the remote subscription when no local client wants it.
func (p *Proxy) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	r, uri := p.routeURI(req.Params.URI)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	n := r.subs[uri]
	if n > 0 {
		r.subs[uri]--
	}
	last := n == 1
	if last {
		delete(r.subs, uri)
	}
	cs := r.cs
	r.mu.Unlock()
	if !last || cs == nil {
		return nil
	}
	if err := cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uri}); err != nil {
		return r.failure(ctx, "resources/unsubscribe "+uri, err, false)
	}
	return nil
}

// rootsChanged tells the older remotes that the local client's roots
// changed. A remote asks for them with roots/list, which the proxy
// answers from the local client; go-sdk sends the notification when the
// client's own roots change, hence the placeholder root, which roots/list
// never shows.
func (p *Proxy) rootsChanged(context.Context, *mcp.RootsListChangedRequest) {
	for _, r := range p.remotes {
		r.mu.Lock()
		client, cs := r.client, r.cs
		r.mu.Unlock()
		if client == nil || cs == nil || isNew(cs) {
			continue
		}
		client.AddRoots(&mcp.Root{URI: "mcplambda-proxy:roots"})
	}
}
