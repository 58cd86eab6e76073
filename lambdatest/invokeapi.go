package lambdatest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mcplambda/mcplambda/internal/hostcheck"
)

// NewInvokeAPI returns an http.Handler serving the Lambda Invoke API for
// fns, so that an AWS SDK Lambda client whose base endpoint is the server's
// URL (any region, any credentials: signatures are not checked) can call
// them:
//
//   - POST /2015-03-31/functions/{name}/invocations (Invoke), with
//     X-Amz-Invocation-Type RequestResponse (default), Event (202, runs in
//     the background) or DryRun (204), the Qualifier query parameter, and
//     X-Amz-Client-Context;
//   - POST /2021-11-15/functions/{name}/response-streaming-invocations
//     (InvokeWithResponseStream), answered in the event-stream encoding.
//
// {name} is a function name, a partial ARN (account:function:name) or a
// full ARN, optionally with a :qualifier suffix. Qualifiers are $LATEST and
// the function's [Options.Aliases]. Errors are Lambda's:
// ResourceNotFoundException (404), RequestTooLargeException (413),
// TooManyRequestsException (429, with [Options.Throttle]),
// InvalidRequestContentException (400). Function errors are 200 responses
// with X-Amz-Function-Error: Unhandled.
//
// In Lambda only IAM principals may invoke; this API checks no signature,
// so it refuses what a web page open in the developer's browser could send
// instead (the AWS SDKs and CLI send none of it):
//
//   - a Host header that names neither a loopback host (localhost,
//     127.0.0.1, [::1]) nor the IP address the connection arrived on (DNS
//     rebinding): 403 AccessDeniedException;
//   - any request carrying an Origin header (every cross-site POST from a
//     browser does): 403 AccessDeniedException;
//   - a request body whose Content-Type is not application/json or
//     application/octet-stream (or binary/octet-stream), nor absent: a
//     browser sends text/plain, form or multipart bodies without asking
//     the server first: 415 UnsupportedMediaTypeException.
//
// The handler does not own the functions: close them after the server.
func NewInvokeAPI(fns ...*Function) http.Handler {
	a := &invokeAPI{fns: make(map[string]*Function, len(fns))}
	for _, f := range fns {
		a.fns[f.Name()] = f
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", a.invoke)
	mux.HandleFunc("POST /2021-11-15/functions/{name}/response-streaming-invocations", a.invokeStream)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "UnknownOperationException", "Unknown operation "+r.Method+" "+r.URL.Path)
	})
	return notFromBrowsers(mux)
}

// notFromBrowsers refuses requests with a foreign Host or an Origin; see
// [NewInvokeAPI]. The Content-Type is checked where a body is read.
func notFromBrowsers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostcheck.OwnHost(r) {
			apiError(w, http.StatusForbidden, "AccessDeniedException",
				fmt.Sprintf("Host %q is not this machine: the local Invoke API answers to localhost, a loopback address or the address it listens on (DNS rebinding protection)", r.Host))
			return
		}
		if origin, ok := r.Header["Origin"]; ok {
			apiError(w, http.StatusForbidden, "AccessDeniedException",
				fmt.Sprintf("requests from web pages (Origin %q) are refused: the local Invoke API is for the AWS SDKs and CLI", strings.Join(origin, ", ")))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// payloadTypes are the Content-Types of an Invoke payload that AWS tools
// send (the Go SDK v2 application/octet-stream, the JavaScript SDK v2
// binary/octet-stream; the CLI none) and that a browser cannot send
// without a CORS preflight.
var payloadTypes = []string{"application/json", "application/octet-stream", "binary/octet-stream"}

// payloadTypeOK reports whether r's Content-Type is absent or one of
// payloadTypes.
func payloadTypeOK(r *http.Request) bool {
	values := r.Header.Values("Content-Type")
	switch {
	case len(values) == 0 || (len(values) == 1 && strings.TrimSpace(values[0]) == ""):
		return true
	case len(values) > 1:
		return false
	}
	mt, _, err := mime.ParseMediaType(values[0])
	return err == nil && slices.Contains(payloadTypes, mt)
}

type invokeAPI struct {
	fns map[string]*Function // by name; read-only
}

// apiError writes an AWS JSON error the SDK understands.
func apiError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(code)
	body := map[string]string{"Type": "User", "message": msg}
	if code >= 500 {
		body["Type"] = "Service"
	}
	if code == http.StatusTooManyRequests {
		body["Reason"] = "ReservedFunctionConcurrentInvocationLimitExceeded"
	}
	_ = json.NewEncoder(w).Encode(body)
}

// resolve finds the function named in the request, or writes an error.
func (a *invokeAPI) resolve(w http.ResponseWriter, r *http.Request) (*Function, string, bool) {
	name := r.PathValue("name")
	qualifier := r.URL.Query().Get("Qualifier")
	parts := strings.Split(name, ":")
	var fn, q string
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function" && len(parts) <= 8:
		fn = parts[6]
		if len(parts) == 8 {
			q = parts[7]
		}
	case len(parts) >= 3 && parts[1] == "function" && len(parts) <= 4:
		fn = parts[2]
		if len(parts) == 4 {
			q = parts[3]
		}
	case len(parts) <= 2:
		fn = parts[0]
		if len(parts) == 2 {
			q = parts[1]
		}
	default:
		apiError(w, http.StatusBadRequest, "ValidationException", "invalid function name "+name)
		return nil, "", false
	}
	if q != "" && qualifier != "" && q != qualifier {
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException",
			"The derived qualifier from the function name does not match the specified qualifier.")
		return nil, "", false
	}
	if q == "" {
		q = qualifier
	}
	f := a.fns[fn]
	if f == nil || (q != "" && q != "$LATEST" && !slices.Contains(f.opts.Aliases, q)) {
		arn := "arn:aws:lambda:us-east-1:" + accountID + ":function:" + fn
		if f != nil {
			arn = f.ARN()
		}
		if q != "" {
			arn += ":" + q
		}
		apiError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
		return nil, "", false
	}
	return f, q, true
}

// readPayload reads the request payload, or writes an error.
func readPayload(w http.ResponseWriter, r *http.Request, limit int) ([]byte, bool) {
	if !payloadTypeOK(r) {
		apiError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException",
			fmt.Sprintf("The content type of the Invoke request body is not JSON: %q (want application/json, application/octet-stream or none)", r.Header.Get("Content-Type")))
		return nil, false
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "could not read the request body")
		return nil, false
	}
	if len(payload) > limit {
		apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			"Request must be smaller than "+strconv.Itoa(limit)+" bytes for the InvokeFunction operation")
		return nil, false
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json")
		return nil, false
	}
	return payload, true
}

// invokeOptions reads the invocation metadata headers, or writes an error.
func invokeOptions(w http.ResponseWriter, r *http.Request, qualifier string) (*InvokeOptions, bool) {
	opts := &InvokeOptions{Qualifier: qualifier, TraceID: r.Header.Get("X-Amzn-Trace-Id")}
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		b, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !json.Valid(b) {
			apiError(w, http.StatusBadRequest, "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object.")
			return nil, false
		}
		opts.ClientContext = string(b)
	}
	return opts, true
}

// invokeStatus maps emulator-level invocation errors to Lambda's API errors.
func invokeStatus(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrThrottled):
		apiError(w, http.StatusTooManyRequests, "TooManyRequestsException", "Rate Exceeded.")
	case errors.Is(err, ErrRequestTooLarge):
		apiError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than "+strconv.Itoa(MaxPayload)+" bytes for the InvokeFunction operation")
	case errors.Is(err, ErrClosed):
		apiError(w, http.StatusServiceUnavailable, "ServiceException", "the function is shut down")
	default:
		// The client went away: nobody to answer.
		apiError(w, http.StatusInternalServerError, "ServiceException", err.Error())
	}
}

// executedVersion is X-Amz-Executed-Version: aliases all point at $LATEST.
func executedVersion(string) string { return "$LATEST" }

func (a *invokeAPI) invoke(w http.ResponseWriter, r *http.Request) {
	f, q, ok := a.resolve(w, r)
	if !ok {
		return
	}
	typ := r.Header.Get("X-Amz-Invocation-Type")
	limit := MaxPayload
	if typ == "Event" {
		limit = MaxAsyncPayload
	}
	payload, ok := readPayload(w, r, limit)
	if !ok {
		return
	}
	opts, ok := invokeOptions(w, r, q)
	if !ok {
		return
	}
	switch typ {
	case "", "RequestResponse":
	case "Event":
		if err := f.InvokeAsync(payload, opts); err != nil {
			invokeStatus(w, err)
			return
		}
		w.Header().Set("X-Amzn-Requestid", newUUID())
		w.WriteHeader(http.StatusAccepted)
		return
	case "DryRun":
		w.Header().Set("X-Amzn-Requestid", newUUID())
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException", "invalid X-Amz-Invocation-Type "+typ)
		return
	}
	resp, err := f.InvokeWith(r.Context(), payload, opts)
	if err != nil {
		invokeStatus(w, err)
		return
	}
	body, ferr := resp.Payload, resp.FunctionError
	if resp.Streamed {
		// Invoke buffers streamed responses, up to the payload limit.
		body, ferr = bufferStream(resp.Body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", executedVersion(q))
	w.Header().Set("X-Amzn-Requestid", resp.RequestID)
	if ferr != "" {
		w.Header().Set("X-Amz-Function-Error", ferr)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// bufferStream reads a streamed response for a buffered caller; a stream
// error or an oversized response becomes a function error.
func bufferStream(body io.ReadCloser) ([]byte, string) {
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, MaxResponse+1))
	var se *StreamError
	switch {
	case errors.As(err, &se):
		return se.Payload, "Unhandled"
	case err != nil:
		return errorDoc(errUnknown, err.Error()), "Unhandled"
	case len(b) > MaxResponse:
		return errorDoc(errTooLarge, "Response payload size exceeded maximum allowed payload size ("+strconv.Itoa(MaxResponse)+" bytes)."), "Unhandled"
	}
	return b, ""
}

// invokeStream serves InvokeWithResponseStream.
func (a *invokeAPI) invokeStream(w http.ResponseWriter, r *http.Request) {
	f, q, ok := a.resolve(w, r)
	if !ok {
		return
	}
	payload, ok := readPayload(w, r, MaxPayload)
	if !ok {
		return
	}
	opts, ok := invokeOptions(w, r, q)
	if !ok {
		return
	}
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		apiError(w, http.StatusBadRequest, "InvalidParameterValueException", "invalid X-Amz-Invocation-Type "+typ)
		return
	}
	opts.Stream = true
	resp, err := f.InvokeWith(r.Context(), payload, opts)
	if err != nil {
		invokeStatus(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("X-Amz-Executed-Version", executedVersion(q))
	w.Header().Set("X-Amzn-Requestid", resp.RequestID)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	complete := func(errType string, doc []byte) {
		c := map[string]string{}
		if errType != "" {
			var d struct {
				Message string `json:"errorMessage"`
			}
			_ = json.Unmarshal(doc, &d)
			c["ErrorCode"] = errType
			c["ErrorDetails"] = d.Message
		}
		b, _ := json.Marshal(c)
		_, _ = w.Write(eventMessage("InvokeComplete", "application/json", b))
		_ = rc.Flush()
	}
	if !resp.Streamed {
		if resp.FunctionError != "" {
			var d struct {
				Type string `json:"errorType"`
			}
			_ = json.Unmarshal(resp.Payload, &d)
			complete(d.Type, resp.Payload)
			return
		}
		_, _ = w.Write(eventMessage("PayloadChunk", "application/octet-stream", resp.Payload))
		complete("", nil)
		return
	}
	defer resp.Body.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(eventMessage("PayloadChunk", "application/octet-stream", buf[:n])); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		var se *StreamError
		switch {
		case err == io.EOF:
			complete("", nil)
			return
		case errors.As(err, &se):
			complete(se.Type, se.Payload)
			return
		case err != nil:
			complete(errUnknown, errorDoc(errUnknown, err.Error()))
			return
		}
	}
}

// eventMessage encodes one event in the AWS event-stream encoding: prelude
// (total length, headers length, CRC), headers, payload, message CRC.
func eventMessage(eventType, contentType string, payload []byte) []byte {
	var h bytes.Buffer
	header := func(name, value string) {
		h.WriteByte(byte(len(name)))
		h.WriteString(name)
		h.WriteByte(7) // string
		_ = binary.Write(&h, binary.BigEndian, uint16(len(value)))
		h.WriteString(value)
	}
	header(":event-type", eventType)
	header(":content-type", contentType)
	header(":message-type", "event")
	total := 12 + h.Len() + len(payload) + 4
	m := make([]byte, 0, total)
	m = binary.BigEndian.AppendUint32(m, uint32(total))
	m = binary.BigEndian.AppendUint32(m, uint32(h.Len()))
	m = binary.BigEndian.AppendUint32(m, crc32.ChecksumIEEE(m))
	m = append(m, h.Bytes()...)
	m = append(m, payload...)
	m = binary.BigEndian.AppendUint32(m, crc32.ChecksumIEEE(m))
	return m
}
