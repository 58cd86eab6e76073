package mcpproxy

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// This file is what a proxy with several backends adds: names and URIs
// namespaced per backend, requests routed by them, and lists merged.

// outName is the name a tool or prompt of r is served under.
func (r *remote) outName(name string) string {
	if r.b.Prefix == "" {
		return name
	}
	return r.b.Prefix + NameSeparator + name
}

// outURI is the URI a resource or resource template of r is served under.
func (r *remote) outURI(uri string) string {
	if r.b.Prefix == "" {
		return uri
	}
	return r.b.Prefix + URISeparator + uri
}

// routeName returns the backend that serves a tool or prompt named name,
// and the backend's own name for it; nil if none does.
func (p *Proxy) routeName(name string) (*remote, string) {
	if pre, rest, ok := strings.Cut(name, NameSeparator); ok {
		if r := p.byPrefix[pre]; r != nil {
			return r, rest
		}
	}
	return p.unprefixed, name
}

// routeURI returns the backend that serves the resource uri, and the
// backend's own URI for it; nil if none does.
func (p *Proxy) routeURI(uri string) (*remote, string) {
	if pre, rest, ok := strings.Cut(uri, URISeparator); ok {
		if r := p.byPrefix[strings.ToLower(pre)]; r != nil {
			return r, rest
		}
	}
	return p.unprefixed, uri
}

// shadowed returns the backend whose prefix claims key, a name or URI
// listed by the backend without a prefix, or nil.
func (p *Proxy) shadowed(key string) *remote {
	if pre, _, ok := strings.Cut(key, NameSeparator); ok && p.byPrefix[pre] != nil {
		return p.byPrefix[pre]
	}
	if pre, _, ok := strings.Cut(key, URISeparator); ok && p.byPrefix[strings.ToLower(pre)] != nil {
		return p.byPrefix[strings.ToLower(pre)]
	}
	return nil
}

// route returns the backend that owns what the params of a call name, and
// the params with the backend's own name for it.
func (p *Proxy) route(in mcp.Params) (*remote, mcp.Params, error) {
	if p.transparent {
		return p.remotes[0], in, nil
	}
	unknown := func(what, name string) error {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown %s %q", what, name)}
	}
	switch x := in.(type) {
	case *mcp.CallToolParamsRaw:
		r, name := p.routeName(x.Name)
		if r == nil || (r.b.Tools != nil && !r.b.Tools(name)) {
			return nil, nil, unknown("tool", x.Name)
		}
		out := *x
		out.Name = name
		return r, &out, nil
	case *mcp.GetPromptParams:
		r, name := p.routeName(x.Name)
		if r == nil {
			return nil, nil, unknown("prompt", x.Name)
		}
		out := *x
		out.Name = name
		return r, &out, nil
	case *mcp.ReadResourceParams:
		r, uri := p.routeURI(x.URI)
		if r == nil {
			return nil, nil, mcp.ResourceNotFoundError(x.URI)
		}
		out := *x
		out.URI = uri
		return r, &out, nil
	case *mcp.CompleteParams:
		if x.Ref == nil {
			return nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion/complete: missing ref"}
		}
		ref := *x.Ref
		var r *remote
		switch ref.Type {
		case "ref/prompt":
			if r, ref.Name = p.routeName(ref.Name); r == nil {
				return nil, nil, unknown("prompt", x.Ref.Name)
			}
		case "ref/resource":
			if r, ref.URI = p.routeURI(ref.URI); r == nil {
				return nil, nil, mcp.ResourceNotFoundError(x.Ref.URI)
			}
		default:
			return nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("completion/complete: unknown ref type %q", ref.Type)}
		}
		out := *x
		out.Ref = &ref
		return r, &out, nil
	}
	return nil, nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unexpected params %T", in)}
}

// rewrite returns res, a result of r, with the URIs of resources in it
// namespaced, and without r's server info (a gateway answers as itself).
// It copies what it changes: go-sdk may cache the original.
func (r *remote) rewrite(res mcp.Result) mcp.Result {
	switch x := res.(type) {
	case *mcp.CallToolResult:
		out := *x
		out.Meta = withoutServerInfo(x.Meta)
		out.Content = r.rewriteContents(x.Content)
		return &out
	case *mcp.GetPromptResult:
		out := *x
		out.Meta = withoutServerInfo(x.Meta)
		if r.b.Prefix != "" && len(x.Messages) > 0 {
			out.Messages = make([]*mcp.PromptMessage, len(x.Messages))
			for i, m := range x.Messages {
				if m == nil {
					continue
				}
				mm := *m
				mm.Content = r.rewriteContent(m.Content)
				out.Messages[i] = &mm
			}
		}
		return &out
	case *mcp.ReadResourceResult:
		out := *x
		out.Meta = withoutServerInfo(x.Meta)
		if r.b.Prefix != "" && len(x.Contents) > 0 {
			out.Contents = make([]*mcp.ResourceContents, len(x.Contents))
			for i, c := range x.Contents {
				if c == nil {
					continue
				}
				cc := *c
				cc.URI = r.outURI(c.URI)
				out.Contents[i] = &cc
			}
		}
		return &out
	case *mcp.CompleteResult:
		out := *x
		out.Meta = withoutServerInfo(x.Meta)
		return &out
	}
	return res
}

// withoutServerInfo returns m without the server info of SEP-2575.
func withoutServerInfo(m mcp.Meta) mcp.Meta {
	if _, ok := m[mcp.MetaKeyServerInfo]; !ok {
		return m
	}
	out := cloneMeta(m)
	delete(out, mcp.MetaKeyServerInfo)
	return out
}

func (r *remote) rewriteContents(cs []mcp.Content) []mcp.Content {
	if r.b.Prefix == "" || len(cs) == 0 {
		return cs
	}
	out := make([]mcp.Content, len(cs))
	for i, c := range cs {
		out[i] = r.rewriteContent(c)
	}
	return out
}

// rewriteContent namespaces the URI of a resource link or an embedded
// resource.
func (r *remote) rewriteContent(c mcp.Content) mcp.Content {
	if r.b.Prefix == "" {
		return c
	}
	switch c := c.(type) {
	case *mcp.ResourceLink:
		out := *c
		out.URI = r.outURI(c.URI)
		return &out
	case *mcp.EmbeddedResource:
		out := *c
		if c.Resource != nil {
			rc := *c.Resource
			rc.URI = r.outURI(rc.URI)
			out.Resource = &rc
		}
		return &out
	}
	return c
}

// listMethods are the list methods, in the order Start lists.
var listMethods = []string{"tools/list", "prompts/list", "resources/list", "resources/templates/list"}

// item is one entry of a list, as served: key is its name or URI.
type item struct {
	key string
	v   any // *mcp.Tool, *mcp.Prompt, *mcp.Resource or *mcp.ResourceTemplate
}

// cacheHint is how long, and for whom, a list may be cached.
type cacheHint struct {
	ttlMs   int
	private bool
}

// merge makes h the stricter of h and o.
func (h *cacheHint) merge(o cacheHint) {
	h.ttlMs = min(h.ttlMs, o.ttlMs)
	h.private = h.private || o.private
}

// maxPages bounds the pages of one backend's list.
const maxPages = 1000

// listAll returns every item cs lists for method, all pages, namespaced
// and filtered, and for how long the backend says they stay fresh.
func (r *remote) listAll(ctx context.Context, cs *mcp.ClientSession, method string, meta mcp.Meta) ([]item, cacheHint, error) {
	caps := capabilities(cs)
	hint := cacheHint{ttlMs: math.MaxInt}
	switch {
	case method == "tools/list" && caps.Tools == nil,
		method == "prompts/list" && caps.Prompts == nil,
		(method == "resources/list" || method == "resources/templates/list") && caps.Resources == nil:
		return nil, hint, nil // nothing to list, for as long as the capabilities hold
	}
	var items []item
	cursor := ""
	for page := 0; page < maxPages; page++ {
		var res mcp.CacheableResult
		var next string
		var err error
		switch method {
		case "tools/list":
			var lr *mcp.ListToolsResult
			if lr, err = cs.ListTools(ctx, &mcp.ListToolsParams{Meta: cloneMeta(meta), Cursor: cursor}); err == nil {
				for _, t := range lr.Tools {
					if t == nil || (r.b.Tools != nil && !r.b.Tools(t.Name)) {
						continue
					}
					tt := *t
					tt.Name = r.outName(t.Name)
					items = append(items, item{tt.Name, &tt})
				}
				res, next = lr, lr.NextCursor
			}
		case "prompts/list":
			var lr *mcp.ListPromptsResult
			if lr, err = cs.ListPrompts(ctx, &mcp.ListPromptsParams{Meta: cloneMeta(meta), Cursor: cursor}); err == nil {
				for _, pr := range lr.Prompts {
					if pr == nil {
						continue
					}
					pp := *pr
					pp.Name = r.outName(pr.Name)
					items = append(items, item{pp.Name, &pp})
				}
				res, next = lr, lr.NextCursor
			}
		case "resources/list":
			var lr *mcp.ListResourcesResult
			if lr, err = cs.ListResources(ctx, &mcp.ListResourcesParams{Meta: cloneMeta(meta), Cursor: cursor}); err == nil {
				for _, rs := range lr.Resources {
					if rs == nil {
						continue
					}
					rr := *rs
					rr.URI, rr.Name = r.outURI(rs.URI), r.outName(rs.Name)
					items = append(items, item{rr.URI, &rr})
				}
				res, next = lr, lr.NextCursor
			}
		case "resources/templates/list":
			var lr *mcp.ListResourceTemplatesResult
			if lr, err = cs.ListResourceTemplates(ctx, &mcp.ListResourceTemplatesParams{Meta: cloneMeta(meta), Cursor: cursor}); err == nil {
				for _, rt := range lr.ResourceTemplates {
					if rt == nil {
						continue
					}
					tt := *rt
					tt.URITemplate, tt.Name = r.outURI(rt.URITemplate), r.outName(rt.Name)
					items = append(items, item{tt.URITemplate, &tt})
				}
				res, next = lr, lr.NextCursor
			}
		}
		if err != nil {
			return nil, hint, err
		}
		hint.merge(r.fresh(method, page, res))
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	return items, hint, nil
}

// fresh returns how much longer page number page of list method, just
// received as res, stays fresh: go-sdk's client answers from its cache
// with the very result it received until its ttlMs have passed, so a
// result seen before is as old as when it was first seen.
func (r *remote) fresh(method string, page int, res mcp.CacheableResult) cacheHint {
	key := method + "#" + strconv.Itoa(page)
	now := time.Now()
	r.mu.Lock()
	s := r.lists[key]
	if s.res != res {
		s = pageSnap{res: res, at: now}
		r.lists[key] = s
	}
	r.mu.Unlock()
	ttl := res.GetTTLMs() - int(now.Sub(s.at)/time.Millisecond)
	return cacheHint{ttlMs: max(ttl, 0), private: res.GetCacheScope() == "private"}
}

// answerBy returns ctx bounded so that a gateway answers before ctx's own
// deadline (the invocation's, which mcplambda's handler answers itself
// when it passes): a merged list with what has arrived by then, a call
// with an error that names the backend.
func answerBy(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := min(max(time.Until(d)/10, 10*time.Millisecond), 250*time.Millisecond)
	return context.WithDeadline(ctx, d.Add(-margin))
}

// list answers a list request of a gateway with the items of every
// backend, merged.
func (p *Proxy) list(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
	in := params(req)
	if cursorOf(in) != "" {
		// Every list is one page: no cursor was ever given out.
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "invalid cursor"}
	}
	ss, _ := req.GetSession().(*mcp.ServerSession)
	caps, info := clientCaps(req)
	newLocal := localProtocol(req) >= newProtocol
	p.mu.Lock()
	level, hasLevel := p.levels[ss]
	p.mu.Unlock()

	lctx, cancel := answerBy(ctx)
	defer cancel()
	type part struct {
		items []item
		hint  cacheHint
		err   error
	}
	parts := make([]part, len(p.remotes))
	var wg sync.WaitGroup
	for i, r := range p.remotes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			begin := time.Now()
			cctx, cancel := r.withTimeout(lctx)
			defer cancel()
			what := "connecting"
			cs, err := r.session(cctx, caps, info)
			if err == nil {
				what = method
				meta := p.outgoingMeta(ctx, r, cs, in, caps, info, newLocal, level, hasLevel)
				parts[i].items, parts[i].hint, err = r.listAll(cctx, cs, method, meta)
				r.dropAfter(cs, err, cctx.Err() != nil)
			}
			if err != nil {
				err = r.failure(lctx, what, err, cctx.Err() != nil && lctx.Err() == nil)
			}
			parts[i].err = err
			r.observe(ctx, method, "", begin, err, false)
		}()
	}
	wg.Wait()

	hint := cacheHint{ttlMs: math.MaxInt}
	var unavailable []map[string]string
	var items []item
	for i, pt := range parts {
		r := p.remotes[i]
		if pt.err != nil {
			unavailable = append(unavailable, map[string]string{"backend": r.b.Name, "error": pt.err.Error()})
			hint.ttlMs = 0 // ask again soon: it may be back
			continue
		}
		hint.merge(pt.hint)
		for _, it := range pt.items {
			if r == p.unprefixed {
				if owner := p.shadowed(it.key); owner != nil {
					p.opts.Logger.Warn(p.name()+": an item of a backend without a prefix is hidden: another backend's prefix claims its name",
						"backend", r.b.Name, "item", it.key, "prefix", owner.b.Prefix)
					continue
				}
			}
			items = append(items, it)
		}
	}
	if hint.ttlMs == math.MaxInt {
		hint.ttlMs = 0
	}
	cache := mcp.Cacheable{TTLMs: hint.ttlMs, CacheScope: "public"}
	if hint.private {
		cache.CacheScope = "private"
	}
	var meta mcp.Meta
	if len(unavailable) > 0 {
		meta = mcp.Meta{MetaKeyUnavailable: unavailable}
	}
	var res mcp.Result
	switch method {
	case "tools/list":
		out := &mcp.ListToolsResult{Meta: meta, Cacheable: cache, Tools: []*mcp.Tool{}}
		for _, it := range items {
			out.Tools = append(out.Tools, it.v.(*mcp.Tool))
		}
		res = out
	case "prompts/list":
		out := &mcp.ListPromptsResult{Meta: meta, Cacheable: cache, Prompts: []*mcp.Prompt{}}
		for _, it := range items {
			out.Prompts = append(out.Prompts, it.v.(*mcp.Prompt))
		}
		res = out
	case "resources/list":
		out := &mcp.ListResourcesResult{Meta: meta, Cacheable: cache, Resources: []*mcp.Resource{}}
		for _, it := range items {
			out.Resources = append(out.Resources, it.v.(*mcp.Resource))
		}
		res = out
	case "resources/templates/list":
		out := &mcp.ListResourceTemplatesResult{Meta: meta, Cacheable: cache, ResourceTemplates: []*mcp.ResourceTemplate{}}
		for _, it := range items {
			out.ResourceTemplates = append(out.ResourceTemplates, it.v.(*mcp.ResourceTemplate))
		}
		res = out
	}
	return res, nil
}

// cursorOf returns the cursor of list params.
func cursorOf(in mcp.Params) string {
	switch x := in.(type) {
	case *mcp.ListToolsParams:
		return x.Cursor
	case *mcp.ListPromptsParams:
		return x.Cursor
	case *mcp.ListResourcesParams:
		return x.Cursor
	case *mcp.ListResourceTemplatesParams:
		return x.Cursor
	}
	return ""
}
