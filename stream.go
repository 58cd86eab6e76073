package mcplambda

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// streamedResponse is the start of a streamed response: its status and
// header, and the body, delivered as the handler writes it.
type streamedResponse struct {
	status int
	header http.Header
	body   io.ReadCloser
}

// serveStream runs h in its own goroutine and returns, as soon as the
// handler has written its header (or returned), the response whose body
// delivers what h writes as it writes it. done, if not nil, is called
// once when h has returned or been answered for; onWrite, if not nil,
// after each write.
//
// If r's context has a deadline (the invocation's), the MCP method
// handlers get it less [deadlineMargin], and a handler still running at half the margin before
// it is answered for: the response ends with a JSON-RPC error saying the
// request ran into the function's timeout.
func serveStream(h http.Handler, r *http.Request, logger *slog.Logger, done, onWrite func()) *streamedResponse {
	pr, pw := io.Pipe()
	sw := &streamWriter{header: make(http.Header), pw: pw, ready: make(chan struct{}), onWrite: onWrite}
	var once sync.Once
	finish := func() {
		if done != nil {
			once.Do(done)
		}
	}
	hr := r
	if deadline, ok := r.Context().Deadline(); ok {
		margin := deadlineMargin(time.Until(deadline))
		hr = r.WithContext(withHandlerDeadline(r.Context(), deadline.Add(-margin)))
		watchdog := time.AfterFunc(time.Until(deadline.Add(-margin/2)), func() {
			logger.ErrorContext(r.Context(), "mcplambda: the request did not finish before the function's timeout; answered with an error")
			finish()
			sw.timeout(requestID(r), timeoutMessage(r.Context(), ""))
		})
		inner := finish
		finish = func() {
			watchdog.Stop()
			inner()
		}
	}
	go func() {
		defer func() {
			v := recover()
			if v != nil {
				logger.ErrorContext(r.Context(), "mcplambda: recovered panic in a streamed response", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
			// Finish the invocation's own work (metrics) before the
			// response ends: Lambda may freeze the process right after.
			finish()
			if v != nil {
				sw.WriteHeader(http.StatusInternalServerError)
				pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			}
			sw.WriteHeader(http.StatusOK)
			pw.Close()
		}()
		h.ServeHTTP(sw, hr)
	}()
	<-sw.ready
	return &streamedResponse{status: sw.status, header: sw.snapshot, body: pr}
}

// urlStream is a function URL's streamed response (payload 2.0 headers:
// repeated ones comma-joined, Set-Cookie in cookies).
func urlStream(sr *streamedResponse) *events.LambdaFunctionURLStreamingResponse {
	resp := &events.LambdaFunctionURLStreamingResponse{StatusCode: sr.status, Headers: make(map[string]string, len(sr.header)), Body: sr.body}
	for k, vs := range sr.header {
		if k == "Set-Cookie" {
			resp.Cookies = vs
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	return resp
}

// restStream is a REST API's streamed response (a Lambda proxy
// integration with responseTransferMode STREAM), headers given both ways
// as in a buffered one.
func restStream(sr *streamedResponse) *events.APIGatewayProxyStreamingResponse {
	return &events.APIGatewayProxyStreamingResponse{
		StatusCode:        sr.status,
		Headers:           singleHeaders(sr.header),
		MultiValueHeaders: sr.header,
		Body:              sr.body,
	}
}

// streamWriter is an http.ResponseWriter writing its body into a pipe.
type streamWriter struct {
	header  http.Header
	pw      *io.PipeWriter
	once    sync.Once
	ready   chan struct{}
	onWrite func()

	// Set by the first WriteHeader.
	status   int
	snapshot http.Header // header as of WriteHeader

	mu      sync.Mutex // serializes writes with timeout
	expired bool       // guarded by mu: answered for by timeout
}

func (sw *streamWriter) Header() http.Header { return sw.header }

func (sw *streamWriter) WriteHeader(status int) {
	sw.once.Do(func() {
		sw.status = status
		sw.snapshot = sw.header.Clone()
		close(sw.ready)
	})
}

func (sw *streamWriter) Write(p []byte) (int, error) {
	sw.WriteHeader(http.StatusOK)
	sw.mu.Lock()
	if sw.expired {
		sw.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	n, err := sw.pw.Write(p)
	sw.mu.Unlock()
	if sw.onWrite != nil {
		sw.onWrite()
	}
	return n, err
}

// Flush commits the status and header; the body needs no flushing, as
// every Write reaches the runtime through the pipe.
func (sw *streamWriter) Flush() { sw.WriteHeader(http.StatusOK) }

// timeout ends the response with a JSON-RPC error for the request whose
// id is id: the whole response if nothing was sent yet, else an SSE event
// after what was (a JSON response cut short just ends).
func (sw *streamWriter) timeout(id json.RawMessage, msg string) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.expired {
		return
	}
	sw.expired = true
	var committed bool
	sw.once.Do(func() {}) // nothing sent yet: commit the error below instead
	select {
	case <-sw.ready:
		committed = true
	default:
	}
	rec := newRecorder()
	refuseWith(rec, refuseTimeout, msg, id, nil)
	if !committed {
		sw.status, sw.snapshot = rec.status, rec.header.Clone()
		close(sw.ready)
		sw.pw.Write(rec.body.Bytes())
	} else if strings.HasPrefix(sw.snapshot.Get("Content-Type"), "text/event-stream") {
		fmt.Fprintf(sw.pw, "event: message\ndata: %s\n\n", rec.body.Bytes())
	}
	rec.release()
	sw.pw.Close()
}
