package mcplambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// NewHandler returns the http.Handler that serves server at [Options.Path].
//
// MCP itself is go-sdk's streamable HTTP transport in stateless mode, which
// serves both protocol eras: 2026-07-28 requests (server/discover,
// per-request _meta, Mcp-Method/Mcp-Name header checks) and legacy clients
// (initialize, then calls, with no server-side session). NewHandler puts
// in front of it what a Lambda front door and real clients need:
//
//   - POST only: other methods get 405 with Allow; OPTIONS answers CORS
//     preflights for [Options.AllowedOrigins].
//   - a cross-origin request from an origin not allowed gets 403.
//   - request bodies over [Options.MaxBodyBytes] get 413, malformed JSON 400
//     (-32700), a content type other than JSON 415; all with a JSON-RPC
//     error body.
//   - clients that accept only application/json (or send no Accept) get a
//     plain JSON response; clients that accept text/event-stream get an SSE
//     body carrying the progress and log notifications sent during the call.
//   - a panic in a tool handler becomes an error result (other methods: a
//     JSON-RPC internal error) and a log line; the process keeps serving.
//
// With [Options.Sessions] set, legacy clients get real sessions instead,
// kept in that store so that Mcp-Session-Id works on every instance and
// only for the principal that created it; DELETE ends one. See
// [Options.Sessions].
//
// With [Options.Logger] set, every MCP request is logged in one line
// (method, tool/prompt/resource name, protocol version, principal,
// duration, outcome; arguments and results only with
// [Options.LogPayloads]), and requests are counted in the invocation's
// metrics when [NewLambdaHandler] has [Options.Metrics].
//
// Requests a tool sends to the client (elicitation, sampling, roots,
// ping) reach legacy clients only on a session (Options.Sessions) whose
// response streams to the client: locally, or through a function URL or
// REST API in streaming mode ([Options.ResponseStream]). The client's
// answer may then arrive on any instance; it meets the waiting call in
// the session store. Anywhere else such a request fails at once with a
// JSON-RPC error that says why and what to change. MCP 2026-07-28 clients
// get input_required results instead, which go-sdk handles.
//
// NewHandler does not change what server answers: the first call for a
// server adds one receiving and one sending middleware that do nothing for
// requests arriving any other way, and every handler brings its own
// logging, metrics, panic recovery and deadline to the requests it serves.
// (It also adds a sending middleware that keeps go-sdk from sending
// list_changed to 2026-07-28 sessions outside the listen streams that
// asked for it.) Several handlers may serve one
// server; each request is logged once, by the handler it arrived through.
func NewHandler(server *mcp.Server, opts *Options) http.Handler {
	o := withDefaults(opts)
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	instrument(server)
	in := &instrumentation{logger: o.Logger, payloads: o.LogPayloads, panics: logger}
	getServer := func(*http.Request) *mcp.Server { return server }
	sdkOpts := mcp.StreamableHTTPOptions{
		Stateless:                  true,
		Logger:                     o.Logger,
		DisableLocalhostProtection: o.DisableLocalhostProtection,
		// We enforce the limit ourselves, with a JSON-RPC error body.
		MaxRequestBodyBytes: -1,
	}
	jsonOpts := sdkOpts
	jsonOpts.JSONResponse = true
	h := &handler{
		in:      in,
		path:    o.Path,
		maxBody: o.MaxBodyBytes,
		logger:  logger,
		sse:     mcp.NewStreamableHTTPHandler(getServer, &sdkOpts),
		json:    mcp.NewStreamableHTTPHandler(getServer, &jsonOpts),
		allow:   "POST, OPTIONS",
	}
	if o.Sessions != nil {
		ttl := o.SessionTTL
		if ttl <= 0 {
			ttl = DefaultSessionTTL
		}
		h.sessions = &sessions{store: o.Sessions, ttl: ttl, server: server, logger: logger, localhostProtection: !o.DisableLocalhostProtection}
		h.allow = "POST, DELETE, OPTIONS"
	}
	for _, origin := range o.AllowedOrigins {
		if origin == "*" {
			h.anyOrigin = true
			continue
		}
		h.origins = append(h.origins, strings.TrimSuffix(strings.ToLower(origin), "/"))
	}
	e := &edge{h: h, next: h}
	if o.Middleware != nil {
		e.next = o.Middleware(h)
	}
	return e
}

// edge is the outermost layer: the origin check and CORS, around
// Options.Middleware, so that what a middleware answers (an auth
// challenge, protected resource metadata) carries CORS headers too.
type edge struct {
	h    *handler
	next http.Handler // h, possibly wrapped by Options.Middleware
}

func (e *edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := e.h
	if origin := r.Header.Get("Origin"); origin != "" {
		if !h.originAllowed(origin, r.Host) {
			refuse(w, refuseForbidden, "origin not allowed: "+origin)
			return
		}
		if h.anyOrigin || len(h.origins) > 0 {
			hdr := w.Header()
			hdr.Set("Access-Control-Allow-Origin", origin)
			hdr.Add("Vary", "Origin")
			hdr.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate")
		}
	}
	if r.Method == http.MethodOptions {
		h.preflight(w, r)
		return
	}
	rw := &refusalWriter{ResponseWriter: w, r: r}
	e.next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), refusalKey{}, rw)))
	rw.finish()
}

type handler struct {
	in        *instrumentation // what the requests of this handler get
	path      string
	maxBody   int64
	origins   []string // lower case, no trailing slash
	anyOrigin bool
	logger    *slog.Logger
	sse       http.Handler // go-sdk, SSE responses
	json      http.Handler // go-sdk, application/json responses
	sessions  *sessions    // legacy sessions; nil when stateless
	allow     string       // the Allow header
}

// Headers a browser client may send; reflected in CORS preflights.
// Mcp-Param-* headers are named by tools, so a preflight's
// Access-Control-Request-Headers is reflected instead when present.
const corsAllowHeaders = "Accept, Authorization, Content-Type, Last-Event-ID, Mcp-Method, Mcp-Name, Mcp-Protocol-Version, Mcp-Session-Id"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.path {
		refuse(w, refuseNotFound, "no MCP endpoint at "+r.URL.Path)
		return
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodDelete:
		if h.sessions != nil {
			h.sessions.delete(w, r)
			return
		}
		fallthrough
	default:
		w.Header().Set("Allow", h.allow)
		refuse(w, refuseMethod, "method "+r.Method+" not allowed; MCP requests are POSTed")
		return
	}

	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			refuse(w, refuseMediaType, "Content-Type must be application/json, not "+ct)
			return
		}
	}
	wantSSE, acceptable := negotiate(r.Header.Values("Accept"))
	if !acceptable {
		refuse(w, refuseNotAcceptable, "Accept must allow application/json or text/event-stream")
		return
	}

	body, err := h.readBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			refuse(w, refuseTooLarge, fmt.Sprintf("request body exceeds %d bytes", h.maxBody))
			return
		}
		refuse(w, refuseParse, "reading request body: "+err.Error())
		return
	}
	noteBody(r, body)
	// Refuse what go-sdk's decoder would refuse in plain text or repair
	// silently: nesting too deep for it (checked first, so that nothing
	// recursive sees such a body), syntax errors, and invalid UTF-8, which
	// it would turn into U+FFFD before a tool sees it.
	switch {
	case nestedDeeper(body, jsonDepthLimit):
		refuse(w, refuseParse, fmt.Sprintf("parse error: request body nested more than %d levels deep", jsonDepthLimit))
		return
	case !json.Valid(body):
		refuse(w, refuseParse, "parse error: request body is not valid JSON")
		return
	case !utf8.Valid(body):
		refuse(w, refuseParse, "parse error: request body is not valid UTF-8")
		return
	}

	// go-sdk requires both media types in Accept and an exact Content-Type;
	// we have checked what the client really accepts and pick the response
	// style accordingly.
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("Content-Type", "application/json")
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	sv := &served{http: r.Context(), in: h.in, sse: wantSSE, streamed: r.Context().Value(streamedKey{}) != nil}
	r = r.WithContext(context.WithValue(r.Context(), servedKey{}, sv))
	if h.sessions != nil && h.sessions.serve(w, r, body, wantSSE) {
		return
	}
	if wantSSE {
		h.sse.ServeHTTP(w, r)
	} else {
		h.json.ServeHTTP(w, r)
	}
}

// readBody reads the whole request body, refusing more than h.maxBody bytes.
func (h *handler) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if h.maxBody < 0 {
		return io.ReadAll(r.Body)
	}
	if r.ContentLength > h.maxBody {
		return nil, &http.MaxBytesError{Limit: h.maxBody}
	}
	if b, ok := r.Body.(*bodyBytes); ok { // from the Lambda adapter: no copy
		if int64(len(b.b)) > h.maxBody {
			return nil, &http.MaxBytesError{Limit: h.maxBody}
		}
		return b.b, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err == nil && int64(len(body)) > h.maxBody {
		return nil, &http.MaxBytesError{Limit: h.maxBody}
	}
	return body, err
}

// originAllowed reports whether a request carrying Origin may proceed: the
// endpoint's own origin always may; others only when allow-listed.
func (h *handler) originAllowed(origin, host string) bool {
	if h.anyOrigin {
		return true
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" && strings.EqualFold(u.Host, host) {
		return true
	}
	return slices.Contains(h.origins, strings.TrimSuffix(strings.ToLower(origin), "/"))
}

func (h *handler) preflight(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Allow", h.allow)
	if hdr.Get("Access-Control-Allow-Origin") != "" {
		hdr.Set("Access-Control-Allow-Methods", h.allow)
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			hdr.Set("Access-Control-Allow-Headers", req)
		} else {
			hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		}
		hdr.Set("Access-Control-Max-Age", "86400")
	}
	w.WriteHeader(http.StatusNoContent)
}

// negotiate reads Accept headers: whether the client accepts an SSE body,
// and whether it accepts anything we can send at all. No Accept header, or
// a wildcard, means JSON.
func negotiate(accept []string) (sse, ok bool) {
	if len(accept) == 0 {
		return false, true
	}
	for _, v := range accept {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if refused(params) {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case "text/event-stream", "text/*":
				sse, ok = true, true
			case "application/json", "application/*", "*/*", "":
				ok = true
			}
		}
	}
	return sse, ok
}

// refused reports whether media-range parameters carry q=0.
func refused(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}

// servedKey holds, in the context go-sdk gives method handlers, what the
// handler a request arrived through brings to it.
type servedKey struct{}

type served struct {
	http context.Context // of the HTTP request (in Lambda, of the invocation)
	in   *instrumentation

	// What decides whether a request to the client can reach it (see
	// served.unreachable), set before go-sdk handles the request.
	sse      bool // the client accepts an SSE response
	streamed bool // in Lambda, the response streams to the client
	session  bool // served on a legacy session, with the rendezvous
}

// streamedKey marks the context of an invocation whose response streams
// to the client (a function URL or REST API in streaming mode).
type streamedKey struct{}

// instrumentation is what one handler from NewHandler adds to the method
// handlers of the requests it serves.
type instrumentation struct {
	logger   *slog.Logger // request log lines; nil: none
	payloads bool         // Options.LogPayloads
	panics   *slog.Logger // recovered panics; never nil
}

// wrap returns next with the handler's additions: the request's deadline,
// the log line and metrics, panic recovery.
func (in *instrumentation) wrap(next mcp.MethodHandler) mcp.MethodHandler {
	return requestLifetime(observe(in.logger, in.payloads)(recoverPanics(in.panics)(next)))
}

// instrumented holds the servers that carry the dispatch middleware.
var instrumented sync.Map // *mcp.Server -> struct{}

// instrument adds the dispatch middleware and the toClient and
// onlySubscribedListChanged sending middlewares to server, once.
func instrument(server *mcp.Server) {
	if _, done := instrumented.LoadOrStore(server, struct{}{}); !done {
		server.AddReceivingMiddleware(dispatch)
		server.AddSendingMiddleware(toClient, onlySubscribedListChanged)
	}
}

// onlySubscribedListChanged drops a list_changed notification go-sdk
// sends to a 2026-07-28 session outside a subscriptions/listen stream.
// Such sessions must get list_changed only through a listen stream that
// asked for it (SEP-2575), tagged with its subscription id, and go-sdk
// means to do so; but it debounces list changes by 10 ms and then also
// notifies, as if it were a legacy session, any 2026-07-28 session that
// is still being set up (it has no initialize parameters), which can land
// the notification on that request's stream — on a listen stream filtered
// to prompts, say. In Lambda the delayed notification fires when the
// instance thaws for its next invocation, another request's. Legacy
// sessions (initialize parameters set) are left alone.
func onlySubscribedListChanged(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed":
			ss, ok := req.GetSession().(*mcp.ServerSession)
			if ok && ss.InitializeParams() == nil {
				if p := req.GetParams(); p == nil || p.GetMeta()[mcp.MetaKeySubscriptionID] == nil {
					return nil, nil
				}
			}
		}
		return next(ctx, method, req)
	}
}

// dispatch runs a request through the instrumentation of the handler it
// arrived through, and leaves requests that came another way (a go-sdk
// transport of the program's own) alone.
func dispatch(next mcp.MethodHandler) mcp.MethodHandler {
	var chains sync.Map // *instrumentation -> mcp.MethodHandler
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		s, ok := ctx.Value(servedKey{}).(*served)
		if !ok {
			return next(ctx, method, req)
		}
		h, ok := chains.Load(s.in)
		if !ok {
			h, _ = chains.LoadOrStore(s.in, s.in.wrap(next))
		}
		return h.(mcp.MethodHandler)(ctx, method, req)
	}
}

// requestLifetime gives method handlers the deadline and cancellation of
// the HTTP request that carried them. go-sdk keeps the request's values
// but drops its deadline and cancellation (except for some 2026-07-28
// requests); without this a tool in Lambda would not see the invocation's
// deadline, and would run on after a local client hung up.
//
// A request that fails (a JSON-RPC error, or a tool error result) once
// the deadline has passed gets an error that says so instead.
func requestLifetime(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		s, ok := ctx.Value(servedKey{}).(*served)
		if !ok || s.http.Done() == nil {
			return next(ctx, method, req)
		}
		parent := s.http
		deadline, hasDeadline := parent.Deadline()
		if d, ok := parent.Value(handlerDeadlineKey{}).(time.Time); ok && (!hasDeadline || d.Before(deadline)) {
			deadline, hasDeadline = d, true
		}
		var cancel context.CancelFunc
		if hasDeadline {
			ctx, cancel = context.WithDeadline(ctx, deadline)
		} else {
			ctx, cancel = context.WithCancel(ctx)
		}
		defer cancel()
		stop := context.AfterFunc(parent, cancel)
		defer stop()
		res, err := next(ctx, method, req)
		if hasDeadline && ctx.Err() != nil && !time.Now().Before(deadline) {
			if r, ok := res.(*mcp.CallToolResult); err != nil || ok && r.IsError {
				what := method
				if name := requestName(req); name != "" {
					what += " " + name
				}
				return nil, &jsonrpc.Error{Code: refusals[refuseTimeout].code, Message: timeoutMessage(parent, what)}
			}
		}
		return res, err
	}
}

// toolError is an isError tools/call result with text, for a call that
// failed outside go-sdk's tool handling: go-sdk marks the results it makes
// for 2026-07-28 requests as complete (resultType), and this one must be
// too. The type is unexported in go-sdk; its JSON decoding sets it.
func toolError(req mcp.Request, text string) *mcp.CallToolResult {
	res := &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: text}}}
	if protocolVersion(req) >= statelessProtocol {
		b, _ := json.Marshal(map[string]any{
			"content":    []any{map[string]string{"type": "text", "text": text}},
			"isError":    true,
			"resultType": "complete",
		})
		json.Unmarshal(b, res)
	}
	return res
}

// recoverPanics turns a panic in a method handler into an error the client
// sees (an isError tool result for tools/call), logged with its stack.
func recoverPanics(logger *slog.Logger) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				name := ""
				if p, ok := req.GetParams().(*mcp.CallToolParamsRaw); ok {
					name = p.Name
				}
				logger.ErrorContext(ctx, "mcplambda: recovered panic", "method", method, "name", name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if method == "tools/call" {
					res, err = toolError(req, "internal error in tool "+name), nil
					return
				}
				res, err = nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "internal error"}
			}()
			return next(ctx, method, req)
		}
	}
}
