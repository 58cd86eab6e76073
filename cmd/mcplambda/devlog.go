package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// requestLogger wraps h so that each request it serves is logged as one
// line for people on w: the JSON-RPC method and the tool, prompt or
// resource it names, the HTTP status (and the Lambda function error, for
// the Invoke API) and the duration; a JSON object with asJSON.
func requestLogger(h http.Handler, w io.Writer, asJSON bool) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var body []byte
		if r.Body != nil && r.Method == http.MethodPost {
			// The front doors and the Invoke API read the whole body
			// anyway; their limits apply to what they read from here.
			body, _ = io.ReadAll(io.LimitReader(r.Body, 64<<20))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rec := &statusRecorder{ResponseWriter: rw, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		line := describeRequest(r, body)
		line.Status = rec.status
		line.FunctionError = rec.Header().Get("X-Amz-Function-Error")
		line.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		if asJSON {
			b, _ := json.Marshal(line)
			fmt.Fprintf(w, "%s\n", b)
			return
		}
		fmt.Fprintln(w, line.String())
	})
}

// requestLine is one logged request.
type requestLine struct {
	Method        string  `json:"method"`         // JSON-RPC method, or the HTTP method and path
	Name          string  `json:"name,omitempty"` // the tool, prompt or resource
	Status        int     `json:"status"`
	FunctionError string  `json:"functionError,omitempty"`
	DurationMS    float64 `json:"durationMs"`
}

func (l requestLine) String() string {
	var b strings.Builder
	b.WriteString("mcplambda: ")
	b.WriteString(l.Method)
	if l.Name != "" {
		b.WriteString(" " + l.Name)
	}
	fmt.Fprintf(&b, " -> %d", l.Status)
	if l.FunctionError != "" {
		b.WriteString(" " + l.FunctionError)
	}
	fmt.Fprintf(&b, " in %.2f ms", l.DurationMS)
	return b.String()
}

// describeRequest names a request by its JSON-RPC message (or batch), else
// by its HTTP method and path.
func describeRequest(r *http.Request, body []byte) requestLine {
	var msg struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"params"`
	}
	trimmed := bytes.TrimSpace(body)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		var batch []json.RawMessage
		if json.Unmarshal(trimmed, &batch) == nil {
			return requestLine{Method: fmt.Sprintf("batch of %d", len(batch))}
		}
	case json.Unmarshal(trimmed, &msg) == nil && msg.Method != "":
		name := msg.Params.Name
		if name == "" {
			name = msg.Params.URI
		}
		return requestLine{Method: msg.Method, Name: name}
	}
	if strings.HasPrefix(r.URL.Path, "/2015-03-31/functions/") || strings.HasPrefix(r.URL.Path, "/2021-11-15/functions/") {
		return requestLine{Method: "invoke", Name: strings.Split(strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/2015-03-31/functions/"), "/2021-11-15/functions/"), "/")[0]}
	}
	return requestLine{Method: r.Method + " " + r.URL.Path}
}

// statusRecorder remembers the status a handler wrote; it passes Flush
// through, for streamed responses.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// quietWriter passes a function's output through line by line, except
// what a person running dev does not need to read on every request: CloudWatch
// embedded metric documents and structured log records (log/slog text or
// JSON, as package telemetry writes them) at INFO or DEBUG. Records at
// WARN and ERROR, and anything unstructured (a panic, a crash message, a
// wrapped server's own output), pass.
type quietWriter struct {
	w io.Writer

	mu  sync.Mutex
	buf []byte // an incomplete last line
}

func (q *quietWriter) Write(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.buf = append(q.buf, p...)
	for {
		i := bytes.IndexByte(q.buf, '\n')
		if i < 0 {
			break
		}
		line := q.buf[:i+1]
		if !quiet(line) {
			if _, err := q.w.Write(line); err != nil {
				return len(p), err
			}
		}
		q.buf = q.buf[i+1:]
	}
	if len(q.buf) > 64<<10 { // a very long line: pass what we have
		_, _ = q.w.Write(q.buf)
		q.buf = q.buf[:0]
	}
	return len(p), nil
}

// quiet reports whether a line of function output is routine: an EMF
// document or an INFO/DEBUG log record.
func quiet(line []byte) bool {
	line = bytes.TrimSpace(line)
	if bytes.HasPrefix(line, []byte(`{"_aws":`)) {
		return true
	}
	if len(line) > 0 && line[0] == '{' {
		var rec struct {
			Level string `json:"level"`
		}
		if json.Unmarshal(line, &rec) == nil {
			return routineLevel(rec.Level)
		}
		return false
	}
	if bytes.HasPrefix(line, []byte("time=")) {
		for f := range strings.FieldsSeq(string(line)) {
			if lv, ok := strings.CutPrefix(f, "level="); ok {
				return routineLevel(lv)
			}
		}
	}
	return false
}

func routineLevel(level string) bool {
	switch strings.ToUpper(level) {
	case "INFO", "DEBUG", "TRACE":
		return true
	}
	return false
}
