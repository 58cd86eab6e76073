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
// (method, tool/prompt/resource name, protocol version, [Principal],
// duration, outcome; arguments and results only with
// [Options.LogPayloads]), and requests are counted in the invocation's
// metrics when [NewLambdaHandler] has [Options.Metrics]. NewHandler adds a
// receiving middleware to server for this and for the panic recovery.
func NewHandler(server *mcp.Server, opts *Options) http.Handler {
	o := withDefaults(opts)
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	server.AddReceivingMiddleware(requestLifetime, observe(o.Logger, o.LogPayloads), recoverPanics(logger))
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
			writeError(w, http.StatusForbidden, jsonrpc.CodeInvalidRequest, "origin not allowed: "+origin)
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
	e.next.ServeHTTP(w, r)
}

type handler struct {
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
		writeError(w, http.StatusNotFound, jsonrpc.CodeInvalidRequest, "no MCP endpoint at "+r.URL.Path)
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
		writeError(w, http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest, "method "+r.Method+" not allowed; MCP requests are POSTed")
		return
	}

	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, jsonrpc.CodeInvalidRequest, "Content-Type must be application/json, not "+ct)
			return
		}
	}
	wantSSE, acceptable := negotiate(r.Header.Values("Accept"))
	if !acceptable {
		writeError(w, http.StatusNotAcceptable, jsonrpc.CodeInvalidRequest, "Accept must allow application/json or text/event-stream")
		return
	}

	body, err := h.readBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, jsonrpc.CodeInvalidRequest, fmt.Sprintf("request body exceeds %d bytes", h.maxBody))
			return
		}
		writeError(w, http.StatusBadRequest, jsonrpc.CodeParseError, "reading request body: "+err.Error())
		return
	}
	// json.Valid also bounds nesting depth, so a deeply nested body is
	// refused before anything recursive decodes it.
	if !json.Valid(body) {
		writeError(w, http.StatusBadRequest, jsonrpc.CodeParseError, "parse error: request body is not valid JSON")
		return
	}

	// go-sdk requires both media types in Accept and an exact Content-Type;
	// we have checked what the client really accepts and pick the response
	// style accordingly.
	r.Header.Set("Accept", "application/json, text/event-stream")
	r.Header.Set("Content-Type", "application/json")
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r = r.WithContext(context.WithValue(r.Context(), httpContextKey{}, r.Context()))
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

// errorBody is a JSON-RPC error response with a null id, for requests
// refused before their id is known.
type errorBody struct {
	JSONRPC string      `json:"jsonrpc"`
	ID      any         `json:"id"`
	Error   errorObject `json:"error"`
}

type errorObject struct {
	Code    int64  `json:"code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code int64, msg string) {
	b, _ := json.Marshal(errorBody{JSONRPC: "2.0", Error: errorObject{Code: code, Message: msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// httpContextKey holds the context of the HTTP request (in Lambda, of the
// invocation) in the context go-sdk gives method handlers.
type httpContextKey struct{}

// requestLifetime gives method handlers the deadline and cancellation of
// the HTTP request that carried them. go-sdk keeps the request's values
// but drops its deadline and cancellation (except for some 2026-07-28
// requests); without this a tool in Lambda would not see the invocation's
// deadline, and would run on after a local client hung up.
func requestLifetime(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		parent, ok := ctx.Value(httpContextKey{}).(context.Context)
		if !ok || parent.Done() == nil {
			return next(ctx, method, req)
		}
		var cancel context.CancelFunc
		if deadline, ok := parent.Deadline(); ok {
			ctx, cancel = context.WithDeadline(ctx, deadline)
		} else {
			ctx, cancel = context.WithCancel(ctx)
		}
		defer cancel()
		stop := context.AfterFunc(parent, cancel)
		defer stop()
		return next(ctx, method, req)
	}
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
					res, err = &mcp.CallToolResult{
						IsError: true,
						Content: []mcp.Content{&mcp.TextContent{Text: "internal error in tool " + name}},
					}, nil
					return
				}
				res, err = nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "internal error"}
			}()
			return next(ctx, method, req)
		}
	}
}
