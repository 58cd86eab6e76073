package mcpproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

//lint:file-ignore SA1019 the proxy relays sampling, roots and logging, deprecated since 2026-07-28 (SEP-2577) but used by clients and servers of every era.

// middleware forwards what the remotes serve, and answers the handshake
// with their capabilities.
func (p *Proxy) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "initialize", "server/discover":
			return p.handshake(ctx, method, req, next)
		case "tools/list", "resources/list", "resources/templates/list", "prompts/list":
			if !p.transparent {
				return p.list(ctx, method, req)
			}
			return p.forward(ctx, p.remotes[0], method, req, params(req))
		case "tools/call", "resources/read", "prompts/get", "completion/complete":
			r, in, err := p.route(params(req))
			if err != nil {
				return nil, err
			}
			return p.forward(ctx, r, method, req, in)
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

// handshake answers initialize or server/discover: a transparent proxy
// connects to the remote and answers with its capabilities, instructions
// and server info; a gateway answers at once, with the capabilities of
// the backends connected so far.
func (p *Proxy) handshake(ctx context.Context, method string, req mcp.Request, next mcp.MethodHandler) (mcp.Result, error) {
	if !p.transparent {
		res, err := next(ctx, method, req)
		if err != nil {
			return res, err
		}
		caps, instructions := p.merged()
		switch res := res.(type) {
		case *mcp.InitializeResult:
			res.Capabilities, res.Instructions = caps, instructions
		case *mcp.DiscoverResult:
			res.Capabilities, res.Instructions = caps, instructions
		}
		return res, nil
	}
	r := p.remotes[0]
	caps, info := clientCaps(req)
	cctx, cancel := r.withTimeout(ctx)
	defer cancel()
	cs, err := r.session(cctx, caps, info)
	if err != nil {
		return nil, r.failure(ctx, "connecting", err, cctx.Err() != nil && ctx.Err() == nil)
	}
	res, err := next(ctx, method, req)
	if err != nil {
		return res, err
	}
	remote := cs.InitializeResult()
	if remote == nil {
		return res, nil
	}
	rcaps := *capabilities(cs)
	// Extensions are not relayed: the proxy forwards the methods and
	// result shapes go-sdk knows, not an extension's (the tasks
	// extension's tasks/* methods and CreateTaskResult), so it must not
	// offer them to its clients.
	rcaps.Extensions = nil
	switch res := res.(type) {
	case *mcp.InitializeResult:
		res.Capabilities, res.Instructions = &rcaps, remote.Instructions
		if remote.ServerInfo != nil {
			res.ServerInfo = remote.ServerInfo
		}
	case *mcp.DiscoverResult:
		res.Capabilities, res.Instructions = &rcaps, remote.Instructions
		if remote.ServerInfo != nil {
			if res.Meta == nil {
				res.Meta = mcp.Meta{}
			}
			res.Meta[mcp.MetaKeyServerInfo] = remote.ServerInfo
		}
	}
	return res, nil
}

// merged returns the capabilities and instructions of a gateway: tools,
// prompts and resources with list_changed (backends come and go),
// subscriptions and completion if a connected backend has them, logging;
// its own instructions, then each connected backend's.
func (p *Proxy) merged() (*mcp.ServerCapabilities, string) {
	caps := &mcp.ServerCapabilities{
		Tools:     &mcp.ToolCapabilities{ListChanged: true},
		Prompts:   &mcp.PromptCapabilities{ListChanged: true},
		Resources: &mcp.ResourceCapabilities{ListChanged: true},
		Logging:   &mcp.LoggingCapabilities{},
	}
	var instructions []string
	if p.opts.Instructions != "" {
		instructions = append(instructions, p.opts.Instructions)
	}
	for _, r := range p.remotes {
		r.mu.Lock()
		cs := r.cs
		r.mu.Unlock()
		if cs == nil {
			continue
		}
		rc := capabilities(cs)
		if rc.Resources != nil && rc.Resources.Subscribe {
			caps.Resources.Subscribe = true
		}
		if rc.Completions != nil {
			caps.Completions = &mcp.CompletionCapabilities{}
		}
		if res := cs.InitializeResult(); res != nil && res.Instructions != "" {
			instructions = append(instructions, r.b.Name+": "+res.Instructions)
		}
	}
	return caps, strings.Join(instructions, "\n\n")
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

// forward sends a request with params in (renamed for r) to r and returns
// its result.
func (p *Proxy) forward(ctx context.Context, r *remote, method string, req mcp.Request, in mcp.Params) (res mcp.Result, err error) {
	begin := time.Now()
	what := describe(method, in)
	defer func() {
		// Whatever goes wrong in one request must not take down the proxy
		// and every other request with it.
		if rec := recover(); rec != nil {
			res, err = nil, r.failure(ctx, what, fmt.Errorf("%s: internal error: %v", p.name(), rec), false)
		}
		tr, _ := res.(*mcp.CallToolResult)
		r.observe(ctx, method, observedName(method, in), begin, err, tr != nil && tr.IsError)
	}()
	ss, _ := req.GetSession().(*mcp.ServerSession)
	caps, info := clientCaps(req)
	bctx := ctx // the deadline the request has: the invocation's
	if !p.transparent {
		var cancel context.CancelFunc
		bctx, cancel = answerBy(ctx)
		defer cancel()
	}
	cctx, cancel := r.withTimeout(bctx)
	defer cancel()
	timedOut := func() bool { return cctx.Err() != nil && bctx.Err() == nil }
	cs, err := r.session(cctx, caps, info)
	if err != nil {
		return nil, r.failure(bctx, "connecting", err, timedOut())
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
	p.calls[token] = &call{ctx: ctx, ss: ss, r: r, token: localToken, newProt: newLocal}
	level, hasLevel := p.levels[ss]
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.calls, token)
		p.mu.Unlock()
	}()

	meta := p.outgoingMeta(ctx, r, cs, in, caps, info, newLocal, level, hasLevel)
	if localToken != nil && !r.b.NoNotifications {
		meta["progressToken"] = token
	}
	res, err = p.send(cctx, cs, ss, method, in, meta, newLocal)
	if err != nil {
		if !p.transparent {
			r.dropAfter(cs, err, timedOut())
		}
		return nil, r.failure(bctx, what, err, timedOut())
	}
	if !newLocal {
		res = forOlderClient(res)
	}
	if !p.transparent {
		res = r.rewrite(res)
	}
	return res, nil
}

// observedName is the tool or prompt a request names, for observations.
func observedName(method string, in mcp.Params) string {
	switch p := in.(type) {
	case *mcp.CallToolParamsRaw:
		return p.Name
	case *mcp.GetPromptParams:
		return p.Name
	}
	return ""
}

// outgoingMeta returns the _meta of the request to the remote r: the local
// request's, without the keys of the protocol the local client speaks,
// plus, for a 2026-07-28 remote, the local client's capabilities, info
// and log level (go-sdk adds the protocol version), edited last by
// Backend.Meta.
func (p *Proxy) outgoingMeta(ctx context.Context, r *remote, cs *mcp.ClientSession, in mcp.Params, caps *mcp.ClientCapabilities, info *mcp.Implementation, newLocal bool, level mcp.LoggingLevel, hasLevel bool) mcp.Meta {
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
	if isNew(cs) {
		if caps == nil {
			caps = &mcp.ClientCapabilities{}
		}
		out[mcp.MetaKeyClientCapabilities] = capsV2(caps)
		if info != nil {
			out[mcp.MetaKeyClientInfo] = info
		}
		switch {
		case r.b.NoNotifications:
		case newLocal && localLevel != nil:
			out[mcp.MetaKeyLogLevel] = localLevel
		case !newLocal && hasLevel:
			out[mcp.MetaKeyLogLevel] = level
		}
	}
	if r.b.Meta != nil {
		r.b.Meta(ctx, out)
	}
	return out
}

// capsV2 encodes caps as the clientCapabilities of a 2026-07-28 request:
// "roots" present only when the client has roots (go-sdk issue 607), no
// "extensions".
func capsV2(caps *mcp.ClientCapabilities) map[string]any {
	var m map[string]any
	b, _ := json.Marshal(caps)
	json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{}
	}
	delete(m, "roots")
	if caps.RootsV2 != nil {
		m["roots"] = caps.RootsV2
	}
	// No extension is relayed (see the capabilities offered): a client
	// declaring, say, the tasks extension would make the remote answer
	// with a CreateTaskResult that the proxy cannot pass on.
	delete(m, "extensions")
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
	return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("%s: cannot forward %s", p.name(), method)}
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
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("%s: the server still wants input after %d rounds", p.name(), round)}
		}
		if len(requests) == 0 {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: p.name() + ": the server is busy (input_required without requests); retry later"}
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
			Message: p.name() + ": the server needs " + what + ", which this client does not support"}
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
			res, err = ss.CreateMessage(ctx, r)
		case *mcp.CreateMessageWithToolsParams:
			if caps.Sampling == nil {
				return nil, missing("sampling")
			}
			res, err = ss.CreateMessageWithTools(ctx, r)
		case *mcp.ListRootsParams:
			if caps.RootsV2 == nil {
				return nil, missing("roots")
			}
			res, err = ss.ListRoots(ctx, r)
		default:
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("%s: unknown input request %T", p.name(), r)}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: asking the client (input request %q): %w", p.name(), id, err)
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
