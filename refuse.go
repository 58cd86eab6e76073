package mcplambda

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// This file is the one place where a refused request becomes an HTTP
// status and a JSON-RPC error: the edge's own checks name a refusal, and
// whatever go-sdk (or a middleware) answers in plain text is classified
// into one, so that a client never sees anything but a JSON-RPC error.

// refusal is a category of refused request.
type refusal int

const (
	refuseOther         refusal = iota // a refusal of some other kind: its status is kept
	refuseParse                        // not JSON: syntax, invalid UTF-8, nested too deep
	refuseInvalid                      // JSON, but not an acceptable MCP request
	refuseUnknownMethod                // a method the server does not have
	refuseVersion                      // an Mcp-Protocol-Version the server does not speak
	refuseUnauthorized                 // no or bad credentials (a middleware's 401, with its WWW-Authenticate)
	refuseForbidden                    // a foreign Origin or Host
	refuseNotFound                     // another path; an unknown or foreign session
	refuseMethod                       // an HTTP method other than POST (and DELETE with sessions)
	refuseNotAcceptable                // an Accept header that allows neither JSON nor SSE
	refuseTooLarge                     // a body over the limit
	refuseMediaType                    // a Content-Type other than JSON
	refuseUnavailable                  // a backing store is down
	refuseInternal                     // a failure of the server itself
	refuseTimeout                      // the function's deadline came first
	refuseUnknownReply                 // a response that matches no outstanding request to the client
	refuseUnreachable                  // a request to the client that cannot reach it (the tool's request fails)
	refuseUnanswered                   // a request to the client that got no answer in time (the tool's request fails)
)

// refusals maps each category to its HTTP status and JSON-RPC code.
var refusals = [...]struct {
	status int
	code   int64
}{
	refuseOther:         {0, 0}, // status kept; -32600 for 4xx, -32603 for 5xx
	refuseParse:         {http.StatusBadRequest, jsonrpc.CodeParseError},
	refuseInvalid:       {http.StatusBadRequest, jsonrpc.CodeInvalidRequest},
	refuseUnknownMethod: {http.StatusBadRequest, jsonrpc.CodeMethodNotFound},
	refuseVersion:       {http.StatusBadRequest, mcp.CodeUnsupportedProtocolVersion},
	refuseUnauthorized:  {http.StatusUnauthorized, jsonrpc.CodeInvalidRequest},
	refuseForbidden:     {http.StatusForbidden, jsonrpc.CodeInvalidRequest},
	refuseNotFound:      {http.StatusNotFound, jsonrpc.CodeInvalidRequest},
	refuseMethod:        {http.StatusMethodNotAllowed, jsonrpc.CodeInvalidRequest},
	refuseNotAcceptable: {http.StatusNotAcceptable, jsonrpc.CodeInvalidRequest},
	refuseTooLarge:      {http.StatusRequestEntityTooLarge, jsonrpc.CodeInvalidRequest},
	refuseMediaType:     {http.StatusUnsupportedMediaType, jsonrpc.CodeInvalidRequest},
	refuseUnavailable:   {http.StatusServiceUnavailable, jsonrpc.CodeInternalError},
	refuseInternal:      {http.StatusInternalServerError, jsonrpc.CodeInternalError},
	// The request's own answer: a client's HTTP library may drop the body
	// of a 504 (go-sdk's does), and with it the reason.
	refuseTimeout: {http.StatusOK, jsonrpc.CodeInternalError},
	// A client's answer to no request of its own outstanding: the spec's
	// 400 for a response the server cannot accept.
	refuseUnknownReply: {http.StatusBadRequest, jsonrpc.CodeInvalidRequest},
	// The errors of a tool's request to the client; never HTTP answers
	// themselves (the tool's result carries them).
	refuseUnreachable: {http.StatusOK, jsonrpc.CodeInternalError},
	refuseUnanswered:  {http.StatusOK, jsonrpc.CodeInternalError},
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
	Data    any    `json:"data,omitempty"`
}

// refuse answers the request with the status and JSON-RPC error of kind.
func refuse(w http.ResponseWriter, kind refusal, msg string) {
	refuseWith(w, kind, msg, nil, nil)
}

// refuseWith is refuse with the request's id (nil: unknown) and the
// error's data member.
func refuseWith(w http.ResponseWriter, kind refusal, msg string, id json.RawMessage, data any) {
	refuseStatus(w, refusals[kind].status, refusals[kind].code, msg, id, data)
}

// refuseStatus writes the JSON-RPC error; only refuseWith and
// refusalWriter.finish call it. Headers already set (WWW-Authenticate,
// Retry-After, CORS) are kept.
func refuseStatus(w http.ResponseWriter, status int, code int64, msg string, id json.RawMessage, data any) {
	var rid any
	if id != nil {
		rid = id
	}
	b, _ := json.Marshal(errorBody{JSONRPC: "2.0", ID: rid, Error: errorObject{Code: code, Message: msg, Data: data}})
	h := w.Header()
	h.Del("X-Content-Type-Options")
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	w.Write(b)
}

// classify puts a plain-text refusal (go-sdk's, or a middleware's
// http.Error) into its category, from its status and message.
func classify(status int, msg string) refusal {
	switch status {
	case http.StatusUnauthorized:
		return refuseUnauthorized
	case http.StatusBadRequest:
		switch {
		case strings.Contains(msg, "Unsupported protocol version"):
			return refuseVersion
		case strings.Contains(msg, errNotHandled):
			return refuseUnknownMethod
		}
		return refuseInvalid
	case http.StatusForbidden:
		return refuseForbidden
	case http.StatusNotFound:
		return refuseNotFound
	case http.StatusMethodNotAllowed:
		return refuseMethod
	case http.StatusNotAcceptable:
		return refuseNotAcceptable
	case http.StatusRequestEntityTooLarge:
		return refuseTooLarge
	case http.StatusUnsupportedMediaType:
		return refuseMediaType
	case http.StatusServiceUnavailable:
		return refuseUnavailable
	case http.StatusInternalServerError:
		return refuseInternal
	}
	return refuseOther
}

// codeFor is the JSON-RPC code of a refusal with status and msg.
func codeFor(status int, msg string) int64 {
	if k := classify(status, msg); k != refuseOther {
		return refusals[k].code
	}
	if status >= 500 {
		return jsonrpc.CodeInternalError
	}
	return jsonrpc.CodeInvalidRequest
}

// errNotHandled is the message of go-sdk's error for an unknown method
// (its internal jsonrpc2.ErrNotHandled).
const errNotHandled = "JSON RPC not handled"

// versionData is the data of a refuseVersion error (SEP-2575): the
// versions the server speaks, parsed from go-sdk's refusal when it lists
// them, else every version go-sdk supports.
func versionData(r *http.Request, msg string) mcp.UnsupportedProtocolVersionData {
	d := mcp.UnsupportedProtocolVersionData{Requested: r.Header.Get("Mcp-Protocol-Version")}
	if _, list, ok := strings.Cut(msg, "supported versions: "); ok {
		list, _, _ = strings.Cut(list, ")")
		for v := range strings.SplitSeq(list, ",") {
			if v = strings.TrimSpace(v); v != "" {
				d.Supported = append(d.Supported, v)
			}
		}
	}
	if len(d.Supported) == 0 {
		d.Supported = mcp.SupportedProtocolVersions()
	}
	return d
}

// refusalWriter passes a response through, except a plain-text error
// (status 400 and above), which it holds back so that [refusalWriter.finish]
// can answer it as a JSON-RPC error instead.
type refusalWriter struct {
	http.ResponseWriter
	r       *http.Request
	msg     []byte // the request body, once the handler has read it
	wrote   bool
	refused int // the status held back; 0 if none
	body    bytes.Buffer
}

func (w *refusalWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if status >= 400 && isPlainText(w.Header().Get("Content-Type")) {
		w.refused = status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *refusalWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.refused != 0 {
		if w.body.Len() < 4<<10 { // a message, not a document
			w.body.Write(p)
		}
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *refusalWriter) Flush() {
	if w.refused != 0 {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish answers a held-back refusal.
func (w *refusalWriter) finish() {
	if w.refused == 0 {
		return
	}
	msg := strings.TrimSpace(w.body.String())
	if msg == "" {
		msg = http.StatusText(w.refused)
	}
	id := messageID(w.msg) // so that the client can match the error
	kind := classify(w.refused, msg)
	switch kind {
	case refuseVersion:
		refuseWith(w.ResponseWriter, kind, msg, id, versionData(w.r, msg))
	case refuseOther:
		refuseStatus(w.ResponseWriter, w.refused, codeFor(w.refused, msg), msg, id, nil)
	default:
		refuseWith(w.ResponseWriter, kind, msg, id, nil)
	}
}

// messageID is the id of body when it is one JSON-RPC request, or nil.
func messageID(body []byte) json.RawMessage {
	if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return nil
	}
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	json.Unmarshal(body, &m)
	return m.ID
}

type refusalKey struct{}

// noteBody lets the edge's refusalWriter, if any, know the request body,
// for the id of a refusal.
func noteBody(r *http.Request, body []byte) {
	if rw, ok := r.Context().Value(refusalKey{}).(*refusalWriter); ok {
		rw.msg = body
	}
}

func isPlainText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "text/plain"
}

// jsonDepthLimit is the deepest nesting of a request body accepted:
// go-sdk's decoder refuses deeper messages.
const jsonDepthLimit = 1000

// nestedDeeper reports whether b nests arrays and objects more than
// limit levels deep. It reads JSON strings, so brackets inside them do
// not count.
func nestedDeeper(b []byte, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if depth++; depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}
