package lambdatest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Front-door limits, as AWS documents them.
const (
	// maxFrontDoorBody is API Gateway's request and response payload limit.
	maxFrontDoorBody = 10 * 1024 * 1024
	// maxAPIGatewayHeader bounds the request line and header values
	// together, for REST and HTTP APIs alike.
	maxAPIGatewayHeader = 10240
	// maxALBBody is the largest request body an Application Load Balancer
	// sends to a Lambda target, and the largest response JSON it accepts.
	maxALBBody = 1024 * 1024
	// ALB's HTTP header limits: the request line, any one header, and all
	// of the request's headers together.
	maxALBRequestLine = 16 * 1024
	maxALBHeader      = 16 * 1024
	maxALBHeaders     = 64 * 1024
)

// maxPrelude bounds the JSON prelude of a streamed HTTP response.
const maxPrelude = 1024 * 1024

// NewFrontDoor returns an http.Handler that turns each request into the
// event of the given front door, invokes f with it, and writes the
// function's response back:
//
//   - [FunctionURL]: events.LambdaFunctionURLRequest; the response is an
//     events.LambdaFunctionURLResponse, any other JSON (sent as a 200
//     application/json body), or a streamed response
//     (events.LambdaFunctionURLStreamingResponse, as lambdaurl.Wrap
//     returns), written through with a Flush per chunk. Limits: 6 MB
//     request (413), 6 MB buffered response (502), 200 MB streamed.
//   - [HTTPAPI]: events.APIGatewayV2HTTPRequest with route key $default;
//     responses as for FunctionURL. Limits: 10 MB request (413), 10,240
//     bytes of request line and header values (431), 30 s integration
//     timeout (504).
//   - [RESTAPI]: events.APIGatewayProxyRequest with resource /{proxy+};
//     the response must be an events.APIGatewayProxyResponse (or a
//     streamed events.APIGatewayProxyStreamingResponse), otherwise 502.
//     Limits: 10 MB request (413), 10,240 bytes of request line and header
//     values (431), 29 s integration timeout (504); with
//     [FrontDoorOptions.Stream] (responseTransferMode STREAM), the
//     function's own timeout and 200 MB streamed.
//   - [ALB] and [ALBMultiValue]: events.ALBTargetGroupRequest, with
//     lowercase header names and the query string as it arrived (not
//     decoded), one value per name (the last) or every value; the
//     response must be an events.ALBTargetGroupResponse whose headers are
//     in the mode of the target group (headers, or multiValueHeaders),
//     otherwise 502. Limits: 1 MB request body (413), 1 MB response JSON
//     (502), a request line or any header over 16 KB or all headers over
//     64 KB (400), and the load balancer's 60 s idle timeout (504). The
//     load balancer's own answers are its HTML error pages, as awselb/2.0
//     sends them. A load balancer does not stream: a streamed response is
//     collected first.
//
// Request bodies whose content type is not textual (text/*, JSON, XML,
// form, JavaScript) are base64-encoded in the event, for all of them
// (a REST API behaves so when its binary media types are */*). Every event
// must also fit Lambda's 6 MB invocation limit (413). A function error,
// timeout or crash is a 502 ({"message":"Internal Server Error"} from API
// Gateway and function URLs, an HTML page from a load balancer); a
// throttled invocation ([Options.Throttle]) a 429 (a 502 from a load
// balancer). Streamed responses are written through by the function URL and
// both APIs (a real HTTP API would buffer them); an error in the middle of
// a stream aborts the response.
//
// AWS documents the API Gateway header limit but not its answer; the front
// door answers 431 Request Header Fields Too Large (RFC 6585). Function
// URLs document no header limit; none is applied.
//
// NewFrontDoor panics if door is not one of these. opts may be nil.
func NewFrontDoor(f Invoker, door FrontDoor, opts *FrontDoorOptions) http.Handler {
	var o FrontDoorOptions
	if opts != nil {
		o = *opts
	}
	d := &frontDoor{f: f, door: door}
	if o.Region == "" {
		o.Region = "us-east-1"
		if fn, ok := f.(*Function); ok {
			o.Region = fn.opts.Region
		}
	}
	region := o.Region
	switch door {
	case FunctionURL:
		if o.ID == "" {
			o.ID = "abcdefghijklmnopqrstuvwxyz234567"
		}
		d.domain = o.ID + ".lambda-url." + region + ".on.aws"
		d.bodyLimit = MaxPayload
	case HTTPAPI, RESTAPI:
		if o.Stream && door == HTTPAPI {
			panic("lambdatest: NewFrontDoor: an HTTP API cannot stream its responses")
		}
		d.stage = o.Stage
		if d.stage == "" {
			d.stage = "$default"
			if door == RESTAPI {
				d.stage = "prod"
			}
		}
		if o.ID == "" {
			o.ID = "a1b2c3d4e5"
		}
		d.domain = o.ID + ".execute-api." + region + ".amazonaws.com"
		d.bodyLimit = maxFrontDoorBody
		if o.Timeout <= 0 && !o.Stream {
			o.Timeout = 30 * time.Second
			if door == RESTAPI {
				o.Timeout = 29 * time.Second
			}
		}
	case ALB, ALBMultiValue:
		if o.Stream {
			panic("lambdatest: NewFrontDoor: a load balancer cannot stream its responses")
		}
		if o.ID == "" {
			o.ID = "6d0ecf831eec9f09"
		}
		d.targetGroupARN = "arn:aws:elasticloadbalancing:" + region + ":" + accountID + ":targetgroup/mcplambda/" + o.ID
		d.bodyLimit = maxALBBody
		if o.Timeout <= 0 {
			o.Timeout = 60 * time.Second
		}
	default:
		panic(fmt.Sprintf("lambdatest: NewFrontDoor: unknown front door %q", door))
	}
	d.opts = o
	d.log = o.Logger
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

type frontDoor struct {
	f              Invoker
	door           FrontDoor
	opts           FrontDoorOptions // defaults applied
	stage          string
	domain         string
	targetGroupARN string
	bodyLimit      int
	log            *slog.Logger
	warnOnce       sync.Once // the buffered-door warning for a streamed response
}

// isALB reports whether d is a load balancer (either header mode).
func (d *frontDoor) isALB() bool { return d.door == ALB || d.door == ALBMultiValue }

// jsonError writes API Gateway's {"message": ...} error.
func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// albError writes an Application Load Balancer's own error page.
func albError(w http.ResponseWriter, code int) {
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Server", "awselb/2.0")
	w.WriteHeader(code)
	title := fmt.Sprintf("%d %s", code, http.StatusText(code))
	_, _ = fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", title, title)
}

// fail writes the front door's own answer for a failure: status code is
// the one the service uses, msg API Gateway's message.
func (d *frontDoor) fail(w http.ResponseWriter, code int, msg string) {
	if d.isALB() {
		albError(w, code)
		return
	}
	jsonError(w, code, msg)
}

func (d *frontDoor) internalError(w http.ResponseWriter) {
	if d.door == RESTAPI {
		jsonError(w, http.StatusBadGateway, "Internal server error")
		return
	}
	d.fail(w, http.StatusBadGateway, "Internal Server Error")
}

// headerTooLarge reports whether r exceeds the front door's header limits.
func (d *frontDoor) headerTooLarge(r *http.Request) bool {
	line := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto)
	switch d.door {
	case HTTPAPI, RESTAPI:
		n := line + len(r.Host)
		for _, vs := range r.Header {
			for _, v := range vs {
				n += len(v)
			}
		}
		return n > maxAPIGatewayHeader
	case ALB, ALBMultiValue:
		if line > maxALBRequestLine {
			return true
		}
		total := len("Host: ") + len(r.Host)
		for k, vs := range r.Header {
			for _, v := range vs {
				n := len(k) + 2 + len(v)
				if n > maxALBHeader {
					return true
				}
				total += n
			}
		}
		return total > maxALBHeaders
	}
	return false
}

func (d *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The stage prefix.
	path := r.URL.Path
	if (d.door == HTTPAPI || d.door == RESTAPI) && d.stage != "$default" {
		rest, ok := strings.CutPrefix(path, "/"+d.stage)
		if !ok || (rest != "" && rest[0] != '/') {
			if d.door == RESTAPI {
				jsonError(w, http.StatusForbidden, "Missing Authentication Token")
			} else {
				jsonError(w, http.StatusNotFound, "Not Found")
			}
			return
		}
		path = rest
		if path == "" {
			path = "/"
		}
	}
	if d.headerTooLarge(r) {
		if d.isALB() {
			albError(w, http.StatusBadRequest)
		} else {
			jsonError(w, http.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large")
		}
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, int64(d.bodyLimit)+1))
	if err != nil {
		d.fail(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > d.bodyLimit {
		d.fail(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	var event any
	switch d.door {
	case FunctionURL:
		event = d.urlEvent(r, body)
	case HTTPAPI:
		event = d.httpAPIEvent(r, body)
	case RESTAPI:
		event = d.restEvent(r, path, body)
	case ALB, ALBMultiValue:
		event = d.albEvent(r, body)
	}
	payload, err := json.Marshal(event)
	if err != nil {
		d.log.Error("marshal event", "err", err)
		d.fail(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if len(payload) > MaxPayload {
		d.fail(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	ctx := r.Context()
	if d.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.opts.Timeout)
		defer cancel()
	}
	resp, err := d.f.Invoke(ctx, payload)
	switch {
	case err == nil:
	case errors.Is(err, ErrThrottled):
		if d.isALB() {
			albError(w, http.StatusBadGateway) // a throttled Lambda target is a 502
		} else {
			jsonError(w, http.StatusTooManyRequests, "Too Many Requests")
		}
		return
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		if d.door == RESTAPI {
			jsonError(w, http.StatusGatewayTimeout, "Endpoint request timed out")
		} else {
			d.fail(w, http.StatusGatewayTimeout, "Gateway Timeout")
		}
		return
	case r.Context().Err() != nil:
		return // the client went away
	default:
		d.log.Error("invoke", "err", err)
		d.internalError(w)
		return
	}
	if resp.FunctionError != "" {
		d.log.Info("function error", "request_id", resp.RequestID, "payload", string(resp.Payload))
		d.internalError(w)
		return
	}
	if d.isALB() {
		d.writeALB(w, resp)
		return
	}
	if resp.Streamed {
		if !d.opts.Stream && resp.ContentType == contentTypeHTTPIntegration {
			d.warnOnce.Do(func() {
				d.log.Warn("the function streamed its response, but this front door is buffered " +
					"(a function URL in BUFFERED invoke mode, a REST API integration without responseTransferMode STREAM): " +
					"AWS would not stream it; stream the front door, or turn the function's streaming off")
			})
		}
		d.writeStream(w, resp)
		return
	}
	d.writeBuffered(w, resp.Payload)
}

// writeALB writes a load balancer's answer: the function's
// events.ALBTargetGroupResponse, or a 502 when it is malformed or too large.
func (d *frontDoor) writeALB(w http.ResponseWriter, resp *Response) {
	payload := resp.Payload
	if resp.Streamed {
		// Invoked synchronously, a streamed response arrives whole.
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxALBBody+1))
		resp.Body.Close()
		if err != nil {
			d.log.Info("function error", "request_id", resp.RequestID, "err", err)
			albError(w, http.StatusBadGateway)
			return
		}
		payload = b
	}
	if len(payload) > maxALBBody {
		d.log.Info("response JSON over the load balancer's 1 MB limit", "request_id", resp.RequestID, "bytes", len(payload))
		albError(w, http.StatusBadGateway)
		return
	}
	var out events.ALBTargetGroupResponse
	if err := json.Unmarshal(payload, &out); err != nil || out.StatusCode < 100 || out.StatusCode > 599 {
		d.log.Info("malformed load balancer response", "request_id", resp.RequestID, "payload", string(payload))
		albError(w, http.StatusBadGateway)
		return
	}
	body := []byte(out.Body)
	if out.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(out.Body)
		if err != nil {
			d.log.Info("malformed load balancer response: bad base64 body", "request_id", resp.RequestID)
			albError(w, http.StatusBadGateway)
			return
		}
		body = b
	}
	// The target group reads the header field of its mode only.
	if d.door == ALBMultiValue {
		if len(out.Headers) > 0 {
			d.log.Info("the function answered with headers, which a multi-value target group ignores: use multiValueHeaders", "request_id", resp.RequestID)
		}
		d.writeHeader(w, out.StatusCode, nil, out.MultiValueHeaders, nil)
	} else {
		if len(out.MultiValueHeaders) > 0 {
			d.log.Info("the function answered with multiValueHeaders, which a single-value target group ignores: use headers", "request_id", resp.RequestID)
		}
		d.writeHeader(w, out.StatusCode, out.Headers, nil, nil)
	}
	_, _ = w.Write(body)
}

// writeBuffered writes a buffered function response.
func (d *frontDoor) writeBuffered(w http.ResponseWriter, payload []byte) {
	var probe map[string]json.RawMessage
	isHTTP := json.Unmarshal(payload, &probe) == nil && probe["statusCode"] != nil
	if !isHTTP {
		if d.door == RESTAPI {
			d.log.Info("malformed Lambda proxy response", "payload", string(payload))
			d.internalError(w)
			return
		}
		// Payload format 2.0: any other JSON is the body of a 200.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return
	}
	var resp events.APIGatewayV2HTTPResponse // a superset of the 1.0 response
	if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		d.log.Info("malformed Lambda proxy response", "payload", string(payload))
		d.internalError(w)
		return
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			d.log.Info("malformed Lambda proxy response: bad base64 body")
			d.internalError(w)
			return
		}
		body = b
	}
	if d.door != FunctionURL && len(body) > maxFrontDoorBody {
		d.internalError(w)
		return
	}
	d.writeHeader(w, resp.StatusCode, resp.Headers, resp.MultiValueHeaders, resp.Cookies)
	_, _ = w.Write(body)
}

// writeHeader writes the status and headers of a function's HTTP response.
func (d *frontDoor) writeHeader(w http.ResponseWriter, status int, headers map[string]string, multi map[string][]string, cookies []string) {
	h := w.Header()
	for k, v := range headers {
		h.Set(k, v)
	}
	for k, vs := range multi {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range cookies {
		h.Add("Set-Cookie", c)
	}
	for _, k := range []string{"Content-Length", "Transfer-Encoding", "Connection"} {
		h.Del(k)
	}
	w.WriteHeader(status)
}

// writeStream writes a streamed function response as it arrives.
func (d *frontDoor) writeStream(w http.ResponseWriter, resp *Response) {
	defer resp.Body.Close()
	body := io.Reader(resp.Body)
	if resp.ContentType == contentTypeHTTPIntegration {
		prelude, rest, err := readPrelude(resp.Body)
		if err != nil {
			d.log.Info("streamed response: bad prelude", "err", err)
			d.internalError(w)
			return
		}
		var p struct {
			StatusCode        int                 `json:"statusCode"`
			Headers           map[string]string   `json:"headers"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			Cookies           []string            `json:"cookies"`
		}
		if err := json.Unmarshal(prelude, &p); err != nil {
			d.log.Info("streamed response: bad prelude", "err", err)
			d.internalError(w)
			return
		}
		if p.StatusCode == 0 {
			p.StatusCode = http.StatusOK
		}
		d.writeHeader(w, p.StatusCode, p.Headers, p.MultiValueHeaders, p.Cookies)
		body = io.MultiReader(bytes.NewReader(rest), resp.Body)
	} else {
		if resp.ContentType != "" {
			w.Header().Set("Content-Type", resp.ContentType)
		}
		w.WriteHeader(http.StatusOK)
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	limit := int64(MaxStreamedResponse)
	if d.door != FunctionURL && !d.opts.Stream {
		limit = maxFrontDoorBody
	}
	buf := make([]byte, 32*1024)
	var total int64
	for {
		n, err := body.Read(buf)
		if n > 0 {
			total += int64(n)
			if total > limit {
				d.log.Info("streamed response too large", "request_id", resp.RequestID)
				panic(http.ErrAbortHandler)
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			// Headers are gone: abort the response so that the client
			// sees it fail, as the real services do.
			d.log.Info("streamed response failed", "request_id", resp.RequestID, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// readPrelude reads the JSON prelude of a streamed HTTP response, up to the
// 8 NUL bytes that end it; rest is what was read past them.
func readPrelude(r io.Reader) (prelude, rest []byte, err error) {
	sep := make([]byte, 8)
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		if i := bytes.Index(buf, sep); i >= 0 {
			return buf[:i], buf[i+8:], nil
		}
		if len(buf) > maxPrelude {
			return nil, nil, errors.New("prelude too large")
		}
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err == io.EOF {
			if i := bytes.Index(buf, sep); i >= 0 {
				return buf[:i], buf[i+8:], nil
			}
			return nil, nil, errors.New("missing prelude separator")
		}
		if err != nil {
			return nil, nil, err
		}
	}
}

// requestInfo is what the events have in common.
type requestInfo struct {
	now       time.Time
	requestID string
	sourceIP  string
	body      string
	b64       bool
}

func (d *frontDoor) info(r *http.Request, body []byte) requestInfo {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	ri := requestInfo{now: time.Now().UTC(), requestID: newUUID(), sourceIP: ip}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ri.body = string(body)
		} else {
			ri.body, ri.b64 = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ri
}

// isText reports whether API Gateway and Function URLs pass a body of
// this content type as text rather than base64.
func isText(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript",
		"application/x-www-form-urlencoded", "application/graphql", "application/yaml":
		return true
	}
	return false
}

// forwarded adds the headers the AWS edge adds.
func (d *frontDoor) forwarded(r *http.Request, ri requestInfo, add func(k, v string)) {
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	xff := ri.sourceIP
	if prev := r.Header.Get("X-Forwarded-For"); prev != "" {
		xff = prev + ", " + ri.sourceIP
	}
	add("X-Forwarded-For", xff)
	add("X-Forwarded-Proto", proto)
	add("X-Forwarded-Port", port)
	add("X-Amzn-Trace-Id", fmt.Sprintf("Root=1-%08x-%s", ri.now.Unix(), randHex(24)))
}

// v2Headers returns payload 2.0 headers (lowercase, comma-joined, without
// Cookie) and the cookies.
func (d *frontDoor) v2Headers(r *http.Request, ri requestInfo) (map[string]string, []string) {
	h := map[string]string{"host": r.Host}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		switch lk {
		case "cookie":
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		case "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id":
			continue
		}
		h[lk] = strings.Join(vs, ",")
	}
	d.forwarded(r, ri, func(k, v string) { h[strings.ToLower(k)] = v })
	return h, cookies
}

func v2Query(r *http.Request) map[string]string {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil
	}
	m := make(map[string]string, len(q))
	for k, vs := range q {
		m[k] = strings.Join(vs, ",")
	}
	return m
}

func rawPath(r *http.Request) string {
	return r.URL.EscapedPath()
}

func (d *frontDoor) urlEvent(r *http.Request, body []byte) *events.LambdaFunctionURLRequest {
	ri := d.info(r, body)
	headers, cookies := d.v2Headers(r, ri)
	id := d.opts.ID
	return &events.LambdaFunctionURLRequest{
		Version:               "2.0",
		RawPath:               rawPath(r),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: v2Query(r),
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID:    "anonymous",
			RequestID:    ri.requestID,
			APIID:        id,
			DomainName:   d.domain,
			DomainPrefix: id,
			Time:         ri.now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    ri.now.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  ri.sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
		Body:            ri.body,
		IsBase64Encoded: ri.b64,
	}
}

func (d *frontDoor) httpAPIEvent(r *http.Request, body []byte) *events.APIGatewayV2HTTPRequest {
	ri := d.info(r, body)
	headers, cookies := d.v2Headers(r, ri)
	id := d.opts.ID
	return &events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              "$default",
		RawPath:               rawPath(r),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: v2Query(r),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     "$default",
			AccountID:    accountID,
			Stage:        d.stage,
			RequestID:    ri.requestID,
			APIID:        id,
			DomainName:   d.domain,
			DomainPrefix: id,
			Time:         ri.now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    ri.now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  ri.sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
		Body:            ri.body,
		IsBase64Encoded: ri.b64,
	}
}

func (d *frontDoor) restEvent(r *http.Request, path string, body []byte) *events.APIGatewayProxyRequest {
	ri := d.info(r, body)
	multi := map[string][]string{"Host": {r.Host}}
	for k, vs := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Amzn-Trace-Id":
			continue
		}
		multi[k] = vs
	}
	d.forwarded(r, ri, func(k, v string) { multi[k] = []string{v} })
	headers := make(map[string]string, len(multi))
	for k, vs := range multi {
		headers[k] = vs[len(vs)-1]
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		multiQuery = q
		for k, vs := range q {
			query[k] = vs[len(vs)-1]
		}
	}
	resource := "/{proxy+}"
	var params map[string]string
	if path == "/" {
		resource = "/"
	} else {
		params = map[string]string{"proxy": strings.TrimPrefix(path, "/")}
	}
	fullPath := path
	if d.stage != "$default" {
		fullPath = "/" + d.stage + path
	}
	return &events.APIGatewayProxyRequest{
		Resource:                        resource,
		Path:                            path,
		HTTPMethod:                      r.Method,
		Headers:                         headers,
		MultiValueHeaders:               multi,
		QueryStringParameters:           query,
		MultiValueQueryStringParameters: multiQuery,
		PathParameters:                  params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:        accountID,
			ResourceID:       "abc123",
			Stage:            d.stage,
			DomainName:       d.domain,
			DomainPrefix:     d.opts.ID,
			RequestID:        ri.requestID,
			Protocol:         r.Proto,
			Identity:         events.APIGatewayRequestIdentity{SourceIP: ri.sourceIP, UserAgent: r.UserAgent()},
			ResourcePath:     resource,
			Path:             fullPath,
			HTTPMethod:       r.Method,
			RequestTime:      ri.now.Format("02/Jan/2006:15:04:05 -0700"),
			RequestTimeEpoch: ri.now.UnixMilli(),
			APIID:            d.opts.ID,
		},
		Body:            ri.body,
		IsBase64Encoded: ri.b64,
	}
}

// albQuery splits a raw query string as a load balancer does: names and
// values stay percent-encoded, as they arrived.
func albQuery(raw string) (single map[string]string, multi map[string][]string) {
	if raw == "" {
		return nil, nil
	}
	single, multi = map[string]string{}, map[string][]string{}
	for kv := range strings.SplitSeq(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		single[k] = v
		multi[k] = append(multi[k], v)
	}
	return single, multi
}

func (d *frontDoor) albEvent(r *http.Request, body []byte) *events.ALBTargetGroupRequest {
	ri := d.info(r, body)
	multi := map[string][]string{"host": {r.Host}}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		switch lk {
		case "x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id":
			continue
		}
		multi[lk] = append(multi[lk], vs...)
	}
	d.forwarded(r, ri, func(k, v string) { multi[strings.ToLower(k)] = []string{v} })
	query, multiQuery := albQuery(r.URL.RawQuery)
	ev := &events.ALBTargetGroupRequest{
		HTTPMethod:      r.Method,
		Path:            r.URL.EscapedPath(),
		RequestContext:  events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: d.targetGroupARN}},
		Body:            ri.body,
		IsBase64Encoded: ri.b64,
	}
	if d.door == ALBMultiValue {
		ev.MultiValueHeaders = multi
		ev.MultiValueQueryStringParameters = multiQuery
		return ev
	}
	// One value per name: the last one the client sent.
	ev.Headers = make(map[string]string, len(multi))
	for k, vs := range multi {
		ev.Headers[k] = vs[len(vs)-1]
	}
	ev.QueryStringParameters = query
	return ev
}
