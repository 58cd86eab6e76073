package mcplambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	json "github.com/segmentio/encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/telemetry"
)

// ErrUnknownEvent is returned (as a Lambda function error) for a payload
// that is not JSON, or nested too deeply to be read. A JSON payload that
// is neither a front door's event nor a JSON-RPC message is answered as a
// direct invoke, with a JSON-RPC invalid-request error.
var ErrUnknownEvent = errors.New("mcplambda: unrecognised event: want a function URL, API Gateway, ALB or JSON-RPC payload")

// NewLambdaHandler returns the Lambda handler that serves h to every front
// door: Lambda function URLs, API Gateway HTTP APIs (payload 2.0) and REST
// APIs (payload 1.0), Application Load Balancers (single- and multi-value
// headers), and direct invokes whose payload is a JSON-RPC message (the
// response payload is then the JSON-RPC response, or {} for a
// notification, as the reference stdio adapter answers). The event shape is recognised per invocation, so one
// function can sit behind several front doors.
//
// Each event becomes an *http.Request: base64 bodies are decoded,
// multi-value headers, query strings and cookies are kept, and an API
// Gateway stage or base-path prefix before [Options.Path] is removed. The
// response is converted back the front door's way, base64-encoding bodies
// that are not text. Handlers reach the event through [RequestFromContext].
//
// With [Options.ResponseStream] set, function URL and REST API events get
// a streamed response (for a URL in RESPONSE_STREAM invoke mode, and a
// REST API whose Lambda proxy integration has responseTransferMode
// STREAM); pass the result to lambda.Start as is, since streaming needs
// aws-lambda-go's io.Reader path. The event does not tell the two modes
// apart, so every function URL and REST API in front of such a function
// must stream.
//
// The handler is safe for concurrent use.
func NewLambdaHandler(h http.Handler, opts *Options) lambda.Handler {
	o := withDefaults(opts)
	lh := &lambdaHandler{h: h, path: o.Path, metrics: o.Metrics, logger: o.Logger, trustFrontDoor: o.TrustFrontDoor, events: o.Events}
	if lh.logger == nil {
		lh.logger = slog.New(slog.DiscardHandler)
	}
	if o.ResponseStream {
		// Streaming needs aws-lambda-go's io.Reader path, which only a
		// handler built by aws-lambda-go has; it carries o.LambdaOptions,
		// since lambda.StartWithOptions ignores options for such a handler.
		return lambda.NewHandlerWithOptions(lh.invokeStream, o.LambdaOptions...)
	}
	return lh
}

type lambdaHandler struct {
	h       http.Handler
	path    string
	metrics *telemetry.Metrics // nil: none
	logger  *slog.Logger

	trustFrontDoor bool // package identity may use the event's identity

	events map[string]EventHandler // Options.Events
}

// EventHandler handles an invocation of one of [Options.Events]: event is
// the value of the payload's only member, and the answer is the
// invocation's response payload.
type EventHandler func(ctx context.Context, event json.RawMessage) (json.RawMessage, error)

// otherEvent is an invocation for one of Options.Events. It is no HTTP
// request: Invoke hands it to its handler before asking for one.
type otherEvent struct {
	handle EventHandler
	value  json.RawMessage
}

func (*otherEvent) request(context.Context) (*http.Request, error) {
	return nil, errors.New("mcplambda: not an HTTP event")
}

func (*otherEvent) response(*recorder) ([]byte, error) {
	return nil, errors.New("mcplambda: not an HTTP event")
}

// other returns the Options.Events handler for payload, if it is a JSON
// object whose only member names one.
func (lh *lambdaHandler) other(payload []byte) (*otherEvent, bool) {
	if len(lh.events) == 0 {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(payload, &m) != nil || len(m) != 1 {
		return nil, false
	}
	for k, v := range m {
		if h := lh.events[k]; h != nil {
			return &otherEvent{handle: h, value: v}, true
		}
	}
	return nil, false
}

// probe is decoded first to tell the event shapes apart.
type probe struct {
	Version    string `json:"version"`
	JSONRPC    string `json:"jsonrpc"`
	HTTPMethod string `json:"httpMethod"`
	// For a direct invoke, what its HTTP headers would carry.
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`

	RequestContext struct {
		ELB        json.RawMessage `json:"elb"`
		HTTP       json.RawMessage `json:"http"`
		DomainName string          `json:"domainName"`
	} `json:"requestContext"`
}

// Invoke serves one event with a buffered response.
func (lh *lambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if lh.metrics != nil {
		var inv *telemetry.Invocation
		ctx, inv = lh.metrics.Begin(ctx)
		defer inv.Flush()
	}
	ev, err := lh.decode(ctx, payload)
	if err != nil {
		return nil, err
	}
	if oe, ok := ev.(*otherEvent); ok {
		return oe.handle(ctx, oe.value)
	}
	req, err := ev.request(ctx)
	if err != nil {
		return nil, err
	}
	rec := newRecorder()
	if isListen(req) {
		var cancel context.CancelFunc
		req, cancel = withCancel(req)
		defer cancel()
		rec.onWrite = cancel
	}
	if !lh.serveWithin(rec, req) {
		// The handler goes on in the background and may still write to
		// rec, which is therefore left to the garbage collector.
		rec = newRecorder()
		refuseWith(rec, refuseTimeout, timeoutMessage(ctx, ""), requestID(req), nil)
	}
	defer rec.release()
	return ev.response(rec)
}

// deadlineMargin is the time a request leaves before the invocation's
// deadline, given the time remaining: the handler's deadline is the
// invocation's less the margin, so that a tool that honours it can still
// answer, and at half the margin a handler that has not returned is
// answered for.
func deadlineMargin(remaining time.Duration) time.Duration {
	return min(max(remaining/20, 100*time.Millisecond), time.Second)
}

// serveWithin serves req into w within the invocation's deadline (that
// of req's context, if any). It reports false if the handler has not
// returned at half the margin before the deadline; it then goes on in
// the background and w must be abandoned. A panic of the handler is
// raised again in the caller's goroutine.
func (lh *lambdaHandler) serveWithin(w http.ResponseWriter, req *http.Request) bool {
	deadline, ok := req.Context().Deadline()
	if !ok {
		lh.h.ServeHTTP(w, req)
		return true
	}
	margin := deadlineMargin(time.Until(deadline))
	ctx := withHandlerDeadline(req.Context(), deadline.Add(-margin))
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		lh.h.ServeHTTP(w, req.WithContext(ctx))
	}()
	t := time.NewTimer(time.Until(deadline.Add(-margin / 2)))
	defer t.Stop()
	select {
	case v := <-done:
		if v != nil {
			panic(v)
		}
		return true
	case <-t.C:
		lh.logger.ErrorContext(req.Context(), "mcplambda: the request did not finish before the function's timeout; answered with an error")
		return false
	}
}

type handlerDeadlineKey struct{}

// withHandlerDeadline returns ctx telling the MCP method handlers of the
// request to finish by t (requestLifetime gives them that deadline). The
// request's own context keeps the invocation's deadline, so that go-sdk
// still writes the answer of a handler that stops at t.
func withHandlerDeadline(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, handlerDeadlineKey{}, t)
}

// timeoutMessage is the error a client gets for a request that ran into
// the function's timeout; what names the request ("" for none).
func timeoutMessage(ctx context.Context, what string) string {
	if what == "" {
		what = "the request"
	}
	msg := what + " did not finish before the function's timeout"
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		msg += "; see the function log for request " + lc.AwsRequestID
	} else {
		msg += "; see the function log"
	}
	return msg
}

// requestID is the id of a request whose body is one JSON-RPC request,
// or nil.
func requestID(r *http.Request) json.RawMessage {
	b, ok := r.Body.(*bodyBytes)
	if !ok {
		return nil
	}
	return messageID(b.b)
}

// isListen reports whether r is a 2026-07-28 subscriptions/listen request.
//
// A listen stream waits for notifications triggered by other requests, but
// Lambda runs one invocation at a time per execution environment, so none
// can ever reach it, and holding it open would pin the instance (and, behind
// a buffered front door, hide even the acknowledgement) until the function
// times out. The Lambda handler therefore ends a listen request as soon as
// its acknowledgement is written.
func isListen(r *http.Request) bool {
	b, ok := r.Body.(*bodyBytes)
	if !ok || !bytes.Contains(b.b, []byte(`"subscriptions/listen"`)) {
		return false
	}
	var m struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(b.b, &m) == nil && m.Method == "subscriptions/listen"
}

func withCancel(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	return r.WithContext(ctx), cancel
}

// invokeStream serves one event, streaming the body for function URLs
// and REST APIs.
func (lh *lambdaHandler) invokeStream(ctx context.Context, payload json.RawMessage) (io.Reader, error) {
	ev, err := lh.decode(ctx, payload)
	if err != nil {
		return nil, err
	}
	var respond func(*streamedResponse) io.Reader
	switch ev.(type) {
	case *urlEvent:
		respond = func(sr *streamedResponse) io.Reader { return urlStream(sr) }
	case *restEvent:
		respond = func(sr *streamedResponse) io.Reader { return restStream(sr) }
	default:
		b, err := lh.Invoke(ctx, payload)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(b), nil
	}
	var done func()
	if lh.metrics != nil {
		var inv *telemetry.Invocation
		ctx, inv = lh.metrics.Begin(ctx)
		done = func() { inv.Flush() }
	}
	// The handler may send requests to the client mid-call: they reach it.
	ctx = context.WithValue(ctx, streamedKey{}, true)
	req, err := ev.request(ctx)
	if err != nil {
		if done != nil {
			done()
		}
		return nil, err
	}
	if isListen(req) {
		var cancel context.CancelFunc
		req, cancel = withCancel(req)
		after := done
		done = func() {
			cancel()
			if after != nil {
				after()
			}
		}
		return respond(serveStream(lh.h, req, lh.logger, done, cancel)), nil
	}
	return respond(serveStream(lh.h, req, lh.logger, done, nil)), nil
}

// event is one decoded front-door event.
type event interface {
	request(ctx context.Context) (*http.Request, error)
	response(rec *recorder) ([]byte, error)
}

func (lh *lambdaHandler) decode(ctx context.Context, payload []byte) (event, error) {
	// The decoder below recurses per nesting level without a limit, so a
	// deeply nested payload could exhaust the stack; refuse it first, with
	// the standard library's limit.
	if tooDeep(payload) {
		return nil, fmt.Errorf("%w: nested more than %d levels deep", ErrUnknownEvent, maxDepth)
	}
	// An AgentCore Gateway target gets bare tool arguments, which may look
	// like anything, so the client context is checked first.
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if name := lc.ClientContext.Custom[agentCoreToolKey]; name != "" {
			return newAgentCoreEvent(lh, name, payload)
		}
	}
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return &directEvent{lh: lh, payload: payload}, nil
	}
	var p probe
	if err := json.Unmarshal(payload, &p); err != nil {
		if json.Valid(payload) {
			// JSON, but no event and no JSON-RPC message: refused as an
			// invalid request, as the reference stdio adapter does.
			return &directEvent{lh: lh, payload: payload}, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, err)
	}
	var ev event
	var dst any
	switch {
	case p.JSONRPC != "":
		return &directEvent{lh: lh, payload: payload, method: p.Method, params: p.Params}, nil
	case p.RequestContext.HTTP != nil && (p.Version != "2.0" || strings.Contains(p.RequestContext.DomainName, ".lambda-url.")):
		// A function URL, also behind a custom domain.
		e := &urlEvent{lh: lh}
		ev, dst = e, &e.e
	case p.RequestContext.HTTP != nil:
		e := &httpAPIEvent{lh: lh}
		ev, dst = e, &e.e
	case p.RequestContext.ELB != nil:
		e := &albEvent{lh: lh}
		ev, dst = e, &e.e
	case p.HTTPMethod != "":
		e := &restEvent{lh: lh}
		ev, dst = e, &e.e
	default:
		if oe, ok := lh.other(payload); ok {
			return oe, nil
		}
		// No front door's event: a direct invoke, whose payload go-sdk
		// refuses as an invalid request unless it is a JSON-RPC message.
		return &directEvent{lh: lh, payload: payload, method: p.Method, params: p.Params}, nil
	}
	if err := json.Unmarshal(payload, dst); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownEvent, err)
	}
	return ev, nil
}

// maxDepth is the deepest nesting of an event accepted, as in
// encoding/json; the MCP message in it is then held to jsonDepthLimit.
const maxDepth = 10000

func tooDeep(b []byte) bool { return nestedDeeper(b, maxDepth) }

// newRequest builds the *http.Request common to every front door.
func (lh *lambdaHandler) newRequest(ctx context.Context, info *Request, method, path, rawQuery, body string, b64 bool) (*http.Request, error) {
	var data []byte
	if b64 {
		var err error
		if data, err = base64.StdEncoding.DecodeString(body); err != nil {
			return nil, fmt.Errorf("mcplambda: decoding base64 body: %w", err)
		}
	} else {
		data = []byte(body)
	}
	if lh.trustFrontDoor {
		ctx = identity.WithFrontDoor(ctx, frontDoorIdentity(info))
	}
	r := &http.Request{
		Method:        method,
		URL:           &url.URL{Path: lh.route(path, info.Stage), RawQuery: rawQuery},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header),
		Body:          &bodyBytes{Reader: bytes.NewReader(data), b: data},
		ContentLength: int64(len(data)),
		RemoteAddr:    info.SourceIP,
		RequestURI:    path,
	}
	return r.WithContext(withRequest(ctx, info)), nil
}

// route maps the path the front door saw to the handler's: an API Gateway
// stage prefix is removed, and so is a custom-domain base path before the
// MCP path ("/prod/tools/mcp" -> "/mcp"). Other paths, including
// well-known metadata paths, are left for the handler to route.
func (lh *lambdaHandler) route(p, stage string) string {
	if stage != "" && stage != "$default" && strings.HasPrefix(p, "/"+stage+"/") {
		p = p[len(stage)+1:]
	}
	if p == lh.path || !strings.HasPrefix(lh.path, "/") {
		return p
	}
	if prefix, ok := strings.CutSuffix(p, lh.path); ok && !strings.Contains(prefix, "/.well-known") {
		return lh.path
	}
	return p
}

// setHeaders copies single- and multi-value header maps into h.
func setHeaders(h http.Header, single map[string]string, multi map[string][]string) {
	if len(multi) > 0 {
		for k, vs := range multi {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
		return
	}
	for k, v := range single {
		h.Add(k, v)
	}
}

// The four HTTP front doors and direct invoke.

type urlEvent struct {
	lh *lambdaHandler
	e  events.LambdaFunctionURLRequest
}

func (ev *urlEvent) request(ctx context.Context) (*http.Request, error) {
	e := &ev.e
	info := &Request{FrontDoor: FunctionURL, Event: e, RequestID: e.RequestContext.RequestID, SourceIP: e.RequestContext.HTTP.SourceIP, IAM: urlIAM(e.RequestContext.Authorizer)}
	r, err := ev.lh.newRequest(ctx, info, e.RequestContext.HTTP.Method, e.RawPath, e.RawQueryString, e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	setHeaders(r.Header, e.Headers, nil)
	setV2Common(r, e.Cookies, e.RequestContext.DomainName)
	return r, nil
}

func (ev *urlEvent) response(rec *recorder) ([]byte, error) { return v2Response(rec) }

type httpAPIEvent struct {
	lh *lambdaHandler
	e  events.APIGatewayV2HTTPRequest
}

func (ev *httpAPIEvent) request(ctx context.Context) (*http.Request, error) {
	e := &ev.e
	info := &Request{FrontDoor: HTTPAPI, Event: e, RequestID: e.RequestContext.RequestID, SourceIP: e.RequestContext.HTTP.SourceIP, Stage: e.RequestContext.Stage}
	httpAPIIdentity(info, e.RequestContext.Authorizer)
	r, err := ev.lh.newRequest(ctx, info, e.RequestContext.HTTP.Method, e.RawPath, e.RawQueryString, e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	setHeaders(r.Header, e.Headers, nil)
	setV2Common(r, e.Cookies, e.RequestContext.DomainName)
	return r, nil
}

func (ev *httpAPIEvent) response(rec *recorder) ([]byte, error) { return v2Response(rec) }

// setV2Common restores what payload 2.0 moves out of the headers.
func setV2Common(r *http.Request, cookies []string, domain string) {
	if len(cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	r.Host = r.Header.Get("Host")
	if r.Host == "" {
		r.Host = domain
	}
}

type restEvent struct {
	lh *lambdaHandler
	e  events.APIGatewayProxyRequest
}

func (ev *restEvent) request(ctx context.Context) (*http.Request, error) {
	e := &ev.e
	info := &Request{FrontDoor: RESTAPI, Event: e, RequestID: e.RequestContext.RequestID, SourceIP: e.RequestContext.Identity.SourceIP, Stage: e.RequestContext.Stage}
	restIdentity(info, &e.RequestContext)
	r, err := ev.lh.newRequest(ctx, info, e.HTTPMethod, e.Path, encodeQuery(e.QueryStringParameters, e.MultiValueQueryStringParameters), e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	setHeaders(r.Header, e.Headers, e.MultiValueHeaders)
	r.Host = r.Header.Get("Host")
	return r, nil
}

func (ev *restEvent) response(rec *recorder) ([]byte, error) {
	body, b64 := encodeBody(rec)
	return json.Marshal(events.APIGatewayProxyResponse{
		StatusCode:        rec.status,
		Headers:           singleHeaders(rec.header),
		MultiValueHeaders: rec.header,
		Body:              body,
		IsBase64Encoded:   b64,
	})
}

type albEvent struct {
	lh *lambdaHandler
	e  events.ALBTargetGroupRequest
}

func (ev *albEvent) request(ctx context.Context) (*http.Request, error) {
	e := &ev.e
	info := &Request{FrontDoor: ALB, Event: e}
	// ALB passes the query string as it arrived (still percent-encoded).
	q := rawQuery(e.QueryStringParameters, e.MultiValueQueryStringParameters)
	r, err := ev.lh.newRequest(ctx, info, e.HTTPMethod, e.Path, q, e.Body, e.IsBase64Encoded)
	if err != nil {
		return nil, err
	}
	setHeaders(r.Header, e.Headers, e.MultiValueHeaders)
	r.Host = r.Header.Get("Host")
	// The load balancer appends the address it saw to X-Forwarded-For;
	// earlier entries come from the client and prove nothing.
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		last := xff[len(xff)-1]
		info.SourceIP = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
		r.RemoteAddr = info.SourceIP
	}
	return r, nil
}

func (ev *albEvent) response(rec *recorder) ([]byte, error) {
	body, b64 := encodeBody(rec)
	resp := events.ALBTargetGroupResponse{
		StatusCode:        rec.status,
		StatusDescription: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		Body:              body,
		IsBase64Encoded:   b64,
	}
	// The target group answers in the mode the request arrived in.
	if ev.e.MultiValueHeaders != nil {
		resp.MultiValueHeaders = rec.header
	} else {
		resp.Headers = singleHeaders(rec.header)
	}
	return json.Marshal(resp)
}

// directEvent is a JSON-RPC message (or batch) sent with the Invoke API.
type directEvent struct {
	lh      *lambdaHandler
	payload []byte
	method  string          // of a single message; "" for a batch
	params  json.RawMessage // of a single message
}

// messageParams are the parts of a JSON-RPC message's params that a
// 2026-07-28 HTTP client would repeat in headers.
type messageParams struct {
	Name   string `json:"name"`
	URI    string `json:"uri"`
	TaskID string `json:"taskId"`
	Meta   struct {
		ProtocolVersion string `json:"io.modelcontextprotocol/protocolVersion"`
	} `json:"_meta"`
}

func (ev *directEvent) request(ctx context.Context) (*http.Request, error) {
	// aws-lambda-go reuses the payload's buffer for the next invocation;
	// the event outlives this one in a handler answered for by the
	// deadline watchdog, or one that keeps it.
	info := &Request{FrontDoor: DirectInvoke, Event: json.RawMessage(bytes.Clone(ev.payload))}
	r, err := ev.lh.newRequest(ctx, info, http.MethodPost, ev.lh.path, "", string(ev.payload), false)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	ev.setHeaders(r.Header)
	return r, nil
}

// setHeaders sets the headers a 2026-07-28 HTTP client would send with
// the message, since a direct invoke has no HTTP headers.
func (ev *directEvent) setHeaders(h http.Header) {
	var params messageParams
	if ev.params == nil || json.Unmarshal(ev.params, &params) != nil || params.Meta.ProtocolVersion == "" {
		return
	}
	v := params.Meta.ProtocolVersion
	h.Set("Mcp-Protocol-Version", v)
	h.Set("Mcp-Method", ev.method)
	switch ev.method {
	case "tools/call", "prompts/get":
		h.Set("Mcp-Name", params.Name)
	case "resources/read":
		h.Set("Mcp-Name", params.URI)
	case "tasks/get", "tasks/update", "tasks/cancel":
		// The routing header of the tasks extension (SEP-2663).
		h.Set("Mcp-Name", params.TaskID)
	}
}

func (ev *directEvent) response(rec *recorder) ([]byte, error) {
	body := rec.body.Bytes()
	if rec.status == http.StatusAccepted && len(body) == 0 {
		return []byte("{}"), nil // a notification, answered as the reference adapter does
	}
	if isJSONRPC(body) {
		return bytes.Clone(body), nil
	}
	// A middleware refused the message with a body of its own (an auth
	// challenge, say); give the caller a JSON-RPC error for it, as an HTTP
	// client would get a status code.
	text := string(bytes.TrimSpace(body))
	if text == "" {
		text = http.StatusText(rec.status)
	}
	out := newRecorder()
	defer out.release()
	refuseStatus(out, rec.status, codeFor(rec.status, text), text, messageID(ev.payload), nil)
	return bytes.Clone(out.body.Bytes()), nil
}

// isJSONRPC reports whether body is a JSON-RPC message or batch, rather
// than some other JSON (an auth middleware's error document, say).
func isJSONRPC(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || !json.Valid(body) {
		return false
	}
	if body[0] == '[' {
		return true
	}
	var m struct {
		JSONRPC string `json:"jsonrpc"`
	}
	return json.Unmarshal(body, &m) == nil && m.JSONRPC != ""
}

// agentCoreToolKey is the client-context key through which Amazon Bedrock
// AgentCore Gateway names the tool of a Lambda target, as
// "<target>___<tool>".
const agentCoreToolKey = "bedrockAgentCoreToolName"

// agentCoreEvent is an AgentCore Gateway invocation: the payload is the
// tool's arguments and the result is the bare CallToolResult.
type agentCoreEvent struct {
	lh   *lambdaHandler
	args json.RawMessage
	body []byte // the tools/call request
}

func newAgentCoreEvent(lh *lambdaHandler, gatewayName string, payload []byte) (event, error) {
	_, tool, ok := strings.Cut(gatewayName, "___")
	if !ok || tool == "" {
		return nil, fmt.Errorf("mcplambda: AgentCore tool name %q is not <target>___<tool>", gatewayName)
	}
	args := json.RawMessage(bytes.Clone(bytes.TrimSpace(payload))) // the buffer is reused, see directEvent.request
	if len(args) == 0 || string(args) == "null" {
		args = json.RawMessage("{}")
	}
	if tooDeep(args) || !json.Valid(args) {
		return nil, fmt.Errorf("mcplambda: AgentCore arguments are not JSON")
	}
	body, err := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args},
	})
	if err != nil {
		return nil, err
	}
	return &agentCoreEvent{lh: lh, args: args, body: body}, nil
}

func (ev *agentCoreEvent) request(ctx context.Context) (*http.Request, error) {
	info := &Request{FrontDoor: AgentCore, Event: ev.args}
	r, err := ev.lh.newRequest(ctx, info, http.MethodPost, ev.lh.path, "", string(ev.body), false)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	return r, nil
}

func (ev *agentCoreEvent) response(rec *recorder) ([]byte, error) {
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *errorObject    `json:"error"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &resp); err != nil {
		return nil, fmt.Errorf("mcplambda: status %d: %s", rec.status, bytes.TrimSpace(rec.body.Bytes()))
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("mcplambda: %s (code %d)", resp.Error.Message, resp.Error.Code)
	}
	if resp.Result == nil {
		return nil, fmt.Errorf("mcplambda: status %d without a result: %s", rec.status, bytes.TrimSpace(rec.body.Bytes()))
	}
	return resp.Result, nil
}

// v2Response is the payload 2.0 response of function URLs and HTTP APIs:
// repeated headers are comma-joined, Set-Cookie moves to cookies.
func v2Response(rec *recorder) ([]byte, error) {
	body, b64 := encodeBody(rec)
	headers := make(map[string]string, len(rec.header))
	var cookies []string
	for k, vs := range rec.header {
		if k == "Set-Cookie" {
			cookies = vs
			continue
		}
		headers[k] = strings.Join(vs, ", ")
	}
	return json.Marshal(events.APIGatewayV2HTTPResponse{
		StatusCode:      rec.status,
		Headers:         headers,
		Body:            body,
		IsBase64Encoded: b64,
		Cookies:         cookies,
	})
}

// singleHeaders flattens h for single-value responses: repeated values are
// comma-joined (RFC 9110), except Set-Cookie, of which only the last fits.
func singleHeaders(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, vs := range h {
		switch {
		case len(vs) == 0:
		case k == "Set-Cookie":
			m[k] = vs[len(vs)-1]
		default:
			m[k] = strings.Join(vs, ", ")
		}
	}
	return m
}

// encodeBody returns the body as a string, base64-encoded unless it is
// valid UTF-8 of a textual content type.
func encodeBody(rec *recorder) (string, bool) {
	b := rec.body.Bytes()
	if len(b) == 0 {
		return "", false
	}
	if isText(rec.header.Get("Content-Type")) && utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

func isText(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded":
		return true
	}
	return false
}

// encodeQuery encodes REST API query parameters, which arrive decoded.
func encodeQuery(single map[string]string, multi map[string][]string) string {
	v := url.Values(multi)
	if len(v) == 0 {
		v = make(url.Values, len(single))
		for k, s := range single {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

// rawQuery joins ALB query parameters, which arrive still encoded.
func rawQuery(single map[string]string, multi map[string][]string) string {
	var parts []string
	if len(multi) > 0 {
		for k, vs := range multi {
			for _, v := range vs {
				parts = append(parts, k+"="+v)
			}
		}
	} else {
		for k, v := range single {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, "&")
}

// bodyBytes is a request body whose bytes the handler can take without a
// copy.
type bodyBytes struct {
	*bytes.Reader
	b []byte
}

func (*bodyBytes) Close() error { return nil }

// recorder is a buffering http.ResponseWriter.
type recorder struct {
	header      http.Header
	body        bytes.Buffer
	status      int
	wroteHeader bool
	onWrite     func() // if set, called after each Write
}

var recorderPool = sync.Pool{New: func() any { return new(recorder) }}

func newRecorder() *recorder {
	rec := recorderPool.Get().(*recorder)
	rec.header = make(http.Header)
	rec.status = http.StatusOK
	return rec
}

func (rec *recorder) release() {
	if rec.body.Cap() > 64<<10 {
		return // don't keep large buffers alive
	}
	rec.body.Reset()
	rec.header = nil
	rec.wroteHeader = false
	rec.onWrite = nil
	recorderPool.Put(rec)
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.wroteHeader {
		return
	}
	rec.status, rec.wroteHeader = status, true
}

func (rec *recorder) Write(p []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	n, err := rec.body.Write(p)
	if rec.onWrite != nil {
		rec.onWrite()
	}
	return n, err
}

// Flush is a no-op: a buffered response is sent when the handler returns.
func (rec *recorder) Flush() {}
