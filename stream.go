package mcplambda

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// serveStream runs h in its own goroutine and returns, as soon as the
// handler has written its header (or returned), a function URL streaming
// response whose body delivers what h writes as it writes it. done, if
// not nil, is called when h has returned; onWrite, if not nil, after each
// write.
func serveStream(h http.Handler, r *http.Request, logger *slog.Logger, done, onWrite func()) *events.LambdaFunctionURLStreamingResponse {
	pr, pw := io.Pipe()
	sw := &streamWriter{header: make(http.Header), pw: pw, ready: make(chan struct{}), onWrite: onWrite}
	go func() {
		defer func() {
			v := recover()
			if v != nil {
				logger.ErrorContext(r.Context(), "mcplambda: recovered panic in a streamed response", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
			// Finish the invocation's own work (metrics) before the
			// response ends: Lambda may freeze the process right after.
			if done != nil {
				done()
			}
			if v != nil {
				sw.WriteHeader(http.StatusInternalServerError)
				pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			}
			sw.WriteHeader(http.StatusOK)
			pw.Close()
		}()
		h.ServeHTTP(sw, r)
	}()
	<-sw.ready
	resp := &events.LambdaFunctionURLStreamingResponse{StatusCode: sw.status, Headers: make(map[string]string, len(sw.snapshot)), Body: pr}
	for k, vs := range sw.snapshot {
		if k == "Set-Cookie" {
			resp.Cookies = vs
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	return resp
}

// streamWriter is an http.ResponseWriter writing its body into a pipe.
type streamWriter struct {
	header   http.Header
	pw       *io.PipeWriter
	once     sync.Once
	ready    chan struct{}
	status   int
	snapshot http.Header // header as of WriteHeader
	onWrite  func()
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
	n, err := sw.pw.Write(p)
	if sw.onWrite != nil {
		sw.onWrite()
	}
	return n, err
}

// Flush commits the status and header; the body needs no flushing, as
// every Write reaches the runtime through the pipe.
func (sw *streamWriter) Flush() { sw.WriteHeader(http.StatusOK) }
