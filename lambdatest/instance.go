package lambdatest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Runtime API headers, as sent and read by aws-lambda-go's runtime client.
const (
	hdrRequestID       = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline        = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID         = "Lambda-Runtime-Trace-Id"
	hdrClientContext   = "Lambda-Runtime-Client-Context"
	hdrCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	hdrErrorType       = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody       = "Lambda-Runtime-Function-Error-Body"
	hdrResponseMode    = "Lambda-Runtime-Function-Response-Mode"
	hdrExtensionName   = "Lambda-Extension-Name"
	hdrExtensionID     = "Lambda-Extension-Identifier"

	// contentTypeHTTPIntegration is the content type of aws-lambda-go's
	// streaming HTTP responses: a JSON prelude, 8 NUL bytes, the body.
	contentTypeHTTPIntegration = "application/vnd.awslambda.http-integration-response"
)

// outcome is how an invocation ended.
type outcome struct {
	errType     string // "" on success
	payload     []byte // response or error document
	contentType string
}

// invocation is one invocation's state, shared by the caller, the run
// goroutine and the Runtime API handlers.
type invocation struct {
	// set at construction
	id       string
	payload  []byte
	arn      string
	opts     InvokeOptions
	head     chan *Response // the Response, sent once (buffered)
	done     chan struct{}  // closed when the invocation has completed
	released chan struct{}  // closed when its instance is back in the pool

	deadline time.Time // set by run before the hand-off to the runtime

	mu        sync.Mutex
	started   time.Time // the runtime received it
	finished  time.Time
	responded bool // the runtime began posting a response or error
	headSent  bool
	abandoned bool
	completed bool
	pw        *io.PipeWriter // streamed response
	final     outcome
}

func (inv *invocation) setStarted() {
	inv.mu.Lock()
	inv.started = time.Now()
	inv.mu.Unlock()
}

func (inv *invocation) startedAt() time.Time {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.started
}

// result returns the duration and error type of a completed invocation.
func (inv *invocation) result() (time.Duration, string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.finished.Sub(inv.started), inv.final.errType
}

// beginResponse claims the right to respond; false if the runtime already
// responded or the invocation is over (timed out).
func (inv *invocation) beginResponse() bool {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.responded || inv.completed {
		return false
	}
	inv.responded = true
	return true
}

// startStream delivers a streamed Response whose body is fed through the
// returned writer, or returns nil if the invocation is already over.
func (inv *invocation) startStream(contentType string) *io.PipeWriter {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.completed {
		return nil
	}
	pr, pw := io.Pipe()
	inv.pw = pw
	inv.headSent = true
	if inv.abandoned {
		pr.Close()
		return pw
	}
	inv.head <- &Response{
		Body:        &streamBody{pr: pr, inv: inv},
		Streamed:    true,
		ContentType: contentType,
		RequestID:   inv.id,
	}
	return pw
}

// complete ends the invocation with o, unless it already ended: it delivers
// a buffered Response, or ends the stream (with a *StreamError if o failed).
func (inv *invocation) complete(o outcome) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.completed {
		return
	}
	inv.completed = true
	inv.final = o
	inv.finished = time.Now()
	if inv.started.IsZero() {
		inv.started = inv.finished
	}
	if inv.headSent {
		if o.errType != "" {
			var doc struct {
				Message string `json:"errorMessage"`
			}
			_ = json.Unmarshal(o.payload, &doc)
			inv.pw.CloseWithError(&StreamError{Type: o.errType, Message: doc.Message, Payload: o.payload})
		} else {
			inv.pw.Close()
		}
	} else {
		inv.headSent = true
		r := &Response{Payload: o.payload, ContentType: o.contentType, RequestID: inv.id}
		if o.errType != "" {
			r.FunctionError = "Unhandled"
			r.ContentType = "application/json"
		}
		if r.Payload == nil {
			r.Payload = []byte{}
		}
		if !inv.abandoned {
			inv.head <- r
		}
	}
	close(inv.done)
}

// abandon is called when the caller stopped waiting for the Response.
func (inv *invocation) abandon() {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.abandoned = true
	select {
	case r := <-inv.head:
		if r.Body != nil {
			r.Body.Close()
		}
	default:
	}
}

// streamBody is Response.Body for streamed responses.
type streamBody struct {
	pr  *io.PipeReader
	inv *invocation
}

func (b *streamBody) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	if err != nil && err != io.ErrClosedPipe {
		// The stream is over: wait until the instance is released so that
		// the caller's next invocation can reuse it.
		<-b.inv.released
	}
	return n, err
}

func (b *streamBody) Close() error { return b.pr.Close() }

// instance is one execution environment: a bootstrap process and the
// Runtime API server it talks to.
type instance struct {
	// set at construction
	f          *Function
	n          int
	invokes    chan *invocation // hand-off to the runtime's next request
	ready      chan struct{}    // closed on the runtime's first next request
	initFailed chan struct{}    // closed when the runtime posts init/error
	exited     chan struct{}    // closed when the process has exited
	shutdownEv chan struct{}    // closed when shutdown begins
	stopping   chan struct{}    // closed once the process is gone

	readyOnce, initOnce, stopOnce sync.Once

	// owned by the holder of the instance (one invocation at a time)
	used bool

	// set by start, before the process runs
	startTime time.Time
	srv       *http.Server
	cmd       *exec.Cmd
	cg        *cgroup        // with Options.LimitCPU, where possible
	wg        sync.WaitGroup // Serve and Wait goroutines

	initDuration time.Duration // set before ready is closed
	initErr      outcome       // set before initFailed is closed
	exitErr      error         // set before exited is closed

	mu          sync.Mutex
	shut        bool // shutdown began
	started     bool
	broken      bool
	current     *invocation
	maxMemoryKB int
	pid         int // set once started

	shutdownSubscribers map[string]bool // extension id: subscribed to SHUTDOWN
}

func newInstance(f *Function, n int) *instance {
	return &instance{
		f:          f,
		n:          n,
		invokes:    make(chan *invocation),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
		exited:     make(chan struct{}),
		shutdownEv: make(chan struct{}),
		stopping:   make(chan struct{}),
	}
}

// start serves the Runtime API and starts the bootstrap process.
func (inst *instance) start() error {
	f := inst.f
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("lambdatest: runtime API: %w", err)
	}
	inst.srv = &http.Server{
		Handler:           inst.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(f.log.Handler(), slog.LevelDebug),
	}
	inst.wg.Add(1)
	go func() {
		defer inst.wg.Done()
		_ = inst.srv.Serve(ln)
	}()

	o := f.opts
	now := time.Now().UTC()
	env := []string{
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=" + o.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(o.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + o.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + now.Format("2006/01/02") + "/[$LATEST]" + randHex(32),
		"AWS_REGION=" + o.Region,
		"AWS_DEFAULT_REGION=" + o.Region,
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"_HANDLER=" + filepath.Base(f.bootstrap),
		"LAMBDA_TASK_ROOT=" + o.Dir,
		"LAMBDA_RUNTIME_DIR=/var/runtime",
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
	env = append(env, o.Env...)

	cmd := exec.Command(f.bootstrap, o.Args...)
	cmd.Dir = o.Dir
	cmd.Env = env
	cmd.Stdout = f.stdout
	cmd.Stderr = f.stderr
	setProcessGroup(cmd)
	cmd.WaitDelay = time.Second
	cg := f.newCgroup(inst.n)
	if cg != nil {
		cg.prepare(cmd)
	}
	inst.mu.Lock()
	if inst.shut {
		inst.mu.Unlock()
		inst.srv.Close()
		inst.wg.Wait()
		if cg != nil {
			cg.remove()
		}
		return ErrClosed
	}
	inst.startTime = time.Now()
	if err := cmd.Start(); err != nil {
		inst.mu.Unlock()
		inst.srv.Close()
		inst.wg.Wait()
		if cg != nil {
			cg.remove()
		}
		return fmt.Errorf("lambdatest: start bootstrap: %w", err)
	}
	if cg != nil {
		if err := cg.add(cmd.Process.Pid); err != nil {
			f.log.Warn("lambdatest: cannot limit the instance's CPU: moving it into its cgroup failed; it runs at full speed", "instance", inst.n, "err", err)
		}
		inst.cg = cg
	}
	inst.cmd = cmd
	inst.pid = cmd.Process.Pid
	inst.started = true
	inst.mu.Unlock()
	pid := cmd.Process.Pid
	f.log.Debug("instance started", "instance", inst.n, "pid", pid, "runtime_api", ln.Addr().String())
	inst.wg.Add(1)
	go func() {
		defer inst.wg.Done()
		err := cmd.Wait()
		// When the runtime exits, Lambda ends its execution environment:
		// whatever the bootstrap started goes too.
		killLeftovers(pid)
		inst.exitErr = err
		close(inst.exited)
		if cg != nil {
			cg.remove() // and with it whatever the bootstrap left running
		}
		f.log.Debug("instance exited", "instance", inst.n, "pid", pid, "status", inst.exitStatus())
	}()
	return nil
}

// waitInit waits for the end of the init phase. On failure it returns the
// invocation's outcome and false.
func (inst *instance) waitInit(requestID string) (outcome, bool) {
	f := inst.f
	timer := time.NewTimer(time.Until(inst.startTime.Add(f.opts.InitTimeout)))
	defer timer.Stop()
	initFailed := func() outcome {
		inst.initDuration = time.Since(inst.startTime)
		return inst.initErr
	}
	select {
	case <-inst.ready:
		return outcome{}, true
	case <-inst.initFailed:
		return initFailed(), false
	case <-inst.exited:
		select {
		case <-inst.initFailed:
			return initFailed(), false
		default:
		}
		inst.initDuration = time.Since(inst.startTime)
		return outcome{errType: errExit, payload: errorDoc(errExit,
			fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", requestID, inst.exitStatus()))}, false
	case <-timer.C:
		inst.kill()
		inst.initDuration = time.Since(inst.startTime)
		return outcome{errType: errTimeout, payload: errorDoc(errTimeout,
			fmt.Sprintf("RequestId: %s Error: Init timed out after %.2f seconds", requestID, f.opts.InitTimeout.Seconds()))}, false
	case <-f.closing:
		return outcome{errType: errExit, payload: errorDoc(errExit,
			fmt.Sprintf("RequestId: %s Error: Runtime exited: the function was closed", requestID))}, false
	}
}

// alive reports whether the instance can take an invocation.
func (inst *instance) alive() bool {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.broken {
		return false
	}
	if !inst.started {
		return true
	}
	select {
	case <-inst.exited:
		return false
	default:
		return true
	}
}

func (inst *instance) markBroken() {
	inst.mu.Lock()
	inst.broken = true
	inst.mu.Unlock()
}

func (inst *instance) isBroken() bool {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.broken {
		return true
	}
	if !inst.started {
		return false
	}
	select {
	case <-inst.exited:
		return true
	default:
		return false
	}
}

// exitStatus describes how the process exited, as Lambda does
// ("exit status 2", "signal: killed"). Only valid once exited is closed.
func (inst *instance) exitStatus() string {
	var ee *exec.ExitError
	switch {
	case inst.exitErr == nil:
		return "exit status 0"
	case errors.As(inst.exitErr, &ee):
		return ee.String()
	default:
		return inst.exitErr.Error()
	}
}

// signal sends SIGKILL (force) or SIGTERM to the instance's process group.
func (inst *instance) signal(force bool) {
	if pid := inst.procID(); pid > 0 {
		signalGroup(pid, force)
	}
}

// procID returns the process id, 0 before start.
func (inst *instance) procID() int {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	return inst.pid
}

// kill kills the instance's process group and waits (a little) for the
// process to exit.
func (inst *instance) kill() {
	inst.markBroken()
	inst.signal(true)
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-inst.exited:
	case <-t.C:
	}
}

// shutdown stops the instance: SIGTERM, up to grace, SIGKILL; then stops
// its Runtime API server. It waits for the instance's goroutines.
func (inst *instance) shutdown(grace time.Duration) {
	inst.stopOnce.Do(func() {
		inst.markBroken()
		close(inst.shutdownEv)
		inst.mu.Lock()
		inst.shut = true
		started := inst.started
		inst.mu.Unlock()
		if !started {
			close(inst.stopping)
			return
		}
		if grace > 0 {
			inst.signal(false)
			t := time.NewTimer(grace)
			select {
			case <-inst.exited:
			case <-t.C:
			}
			t.Stop()
		}
		// Kill the whole group, including anything the bootstrap left behind.
		inst.signal(true)
		<-inst.exited
		inst.signal(true)
		close(inst.stopping)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := inst.srv.Shutdown(ctx); err != nil {
			inst.srv.Close()
		}
		inst.wg.Wait()
	})
}

// maxMemoryMB returns the instance's peak memory: its cgroup's
// memory.peak, or the sum of the peaks of its process tree (see
// [treeMemoryKB]); the largest value read so far once the process is gone.
func (inst *instance) maxMemoryMB() int {
	inst.mu.Lock()
	defer inst.mu.Unlock()
	if inst.pid > 0 {
		select {
		case <-inst.exited:
		default:
			kb, ok := 0, false
			if inst.cg != nil {
				kb, ok = inst.cg.memoryPeakKB()
			}
			if !ok {
				kb = treeMemoryKB(inst.pid)
			}
			inst.maxMemoryKB = max(inst.maxMemoryKB, kb)
		}
	}
	return (inst.maxMemoryKB + 1023) / 1024
}

func readVmHWM(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb
		}
	}
	return 0
}

// routes returns the instance's Runtime API (and the bit of the Extensions
// API that aws-lambda-go uses to enable SIGTERM).
func (inst *instance) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", inst.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", inst.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", inst.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", inst.initError)
	mux.HandleFunc("POST /2020-01-01/extension/register", inst.extensionRegister)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", inst.extensionNext)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		runtimeError(w, http.StatusNotFound, "UnknownPath", "unknown Runtime API path "+r.URL.Path)
	})
	return mux
}

func runtimeError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(errorDoc(typ, msg))
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

// next serves GET /runtime/invocation/next: it blocks until the instance is
// handed an invocation.
func (inst *instance) next(w http.ResponseWriter, r *http.Request) {
	inst.readyOnce.Do(func() {
		inst.mu.Lock()
		inst.initDuration = time.Since(inst.startTime)
		inst.mu.Unlock()
		close(inst.ready)
	})
	var inv *invocation
	select {
	case inv = <-inst.invokes:
	case <-r.Context().Done():
		return
	case <-inst.stopping:
		runtimeError(w, http.StatusInternalServerError, "ShuttingDown", "the execution environment is shutting down")
		return
	}
	inst.mu.Lock()
	inst.current = inv
	inst.mu.Unlock()
	inv.setStarted()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(hdrRequestID, inv.id)
	h.Set(hdrDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(hdrFunctionARN, inv.arn)
	h.Set(hdrTraceID, inv.opts.TraceID)
	if inv.opts.ClientContext != "" {
		h.Set(hdrClientContext, inv.opts.ClientContext)
	}
	if inv.opts.CognitoIdentity != "" {
		h.Set(hdrCognitoIdentity, inv.opts.CognitoIdentity)
	}
	h.Set("Content-Length", strconv.Itoa(len(inv.payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload)
}

// invocation returns the current invocation if it has the id in the path
// and may still be responded to, or writes the Runtime API's error.
func (inst *instance) invocation(w http.ResponseWriter, r *http.Request) *invocation {
	id := r.PathValue("id")
	inst.mu.Lock()
	inv := inst.current
	inst.mu.Unlock()
	if inv == nil || inv.id != id {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "invalid request id "+strconv.Quote(id))
		return nil
	}
	if !inv.beginResponse() {
		runtimeError(w, http.StatusForbidden, "InvalidStateTransition", "the invocation "+id+" was already responded to or is over")
		return nil
	}
	return inv
}

// response serves POST /runtime/invocation/{id}/response.
func (inst *instance) response(w http.ResponseWriter, r *http.Request) {
	inv := inst.invocation(w, r)
	if inv == nil {
		return
	}
	ct := r.Header.Get("Content-Type")
	if inv.opts.Stream || strings.EqualFold(r.Header.Get(hdrResponseMode), "streaming") || ct == contentTypeHTTPIntegration {
		inst.streamResponse(w, r, inv, ct)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
	if err != nil {
		return // the connection broke: the process probably died
	}
	if len(body) > MaxResponse {
		_, _ = io.Copy(io.Discard, r.Body)
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponse)
		inv.complete(outcome{errType: errTooLarge, payload: errorDoc(errTooLarge, msg)})
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	}
	if o, failed := trailerError(r); failed {
		inv.complete(o)
	} else {
		inv.complete(outcome{payload: body, contentType: ct})
	}
	accepted(w)
}

// streamResponse delivers a streamed response to the caller as it arrives.
func (inst *instance) streamResponse(w http.ResponseWriter, r *http.Request, inv *invocation, ct string) {
	pw := inv.startStream(ct)
	if pw == nil {
		runtimeError(w, http.StatusForbidden, "InvalidStateTransition", "the invocation "+inv.id+" is over")
		return
	}
	buf := make([]byte, 32*1024)
	var total int64
	discard := false
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			total += int64(n)
			if total > MaxStreamedResponse && !discard {
				discard = true
				msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxStreamedResponse)
				inv.complete(outcome{errType: errTooLarge, payload: errorDoc(errTooLarge, msg)})
			}
			if !discard {
				if _, werr := pw.Write(buf[:n]); werr != nil {
					discard = true // the caller closed the body or the invocation is over
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return // the connection broke: the process probably died
		}
	}
	if o, failed := trailerError(r); failed {
		inv.complete(o)
	} else {
		inv.complete(outcome{contentType: ct})
	}
	accepted(w)
}

// trailerError reads aws-lambda-go's error trailers (set when reading the
// handler's response failed).
func trailerError(r *http.Request) (outcome, bool) {
	typ := r.Trailer.Get(hdrErrorType)
	if typ == "" {
		return outcome{}, false
	}
	body, err := base64.StdEncoding.DecodeString(r.Trailer.Get(hdrErrorBody))
	if err != nil || !json.Valid(body) {
		body = errorDoc(typ, string(body))
	}
	return outcome{errType: typ, payload: body}, true
}

// invocationError serves POST /runtime/invocation/{id}/error.
func (inst *instance) invocationError(w http.ResponseWriter, r *http.Request) {
	inv := inst.invocation(w, r)
	if inv == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
	if err != nil {
		return
	}
	inv.complete(errorOutcome(r.Header.Get(hdrErrorType), body))
	accepted(w)
}

// errorOutcome builds the outcome of an error the runtime posted.
func errorOutcome(typ string, body []byte) outcome {
	var doc struct {
		Type string `json:"errorType"`
	}
	if json.Unmarshal(body, &doc) != nil {
		if typ == "" {
			typ = errUnknown
		}
		return outcome{errType: typ, payload: errorDoc(typ, string(body))}
	}
	if typ == "" {
		typ = doc.Type
	}
	if typ == "" {
		typ = errUnknown
	}
	return outcome{errType: typ, payload: body}
}

// initError serves POST /runtime/init/error.
func (inst *instance) initError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload))
	if err != nil {
		return
	}
	typ := r.Header.Get(hdrErrorType)
	if typ == "" {
		typ = errInit
	}
	o := errorOutcome(typ, body)
	inst.initOnce.Do(func() {
		inst.initErr = o
		close(inst.initFailed)
	})
	accepted(w)
}

// extensionRegister serves the Extensions API's register: aws-lambda-go
// registers an internal extension, subscribed to no event, so that Lambda
// sends the runtime SIGTERM before shutdown.
func (inst *instance) extensionRegister(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(hdrExtensionName) == "" {
		runtimeError(w, http.StatusBadRequest, "InvalidRequest", "missing "+hdrExtensionName)
		return
	}
	var req struct {
		Events []string `json:"events"`
	}
	if body, err := io.ReadAll(io.LimitReader(r.Body, 64*1024)); err == nil && len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			runtimeError(w, http.StatusBadRequest, "InvalidRequest", "invalid register body: "+err.Error())
			return
		}
	}
	id := newUUID()
	inst.mu.Lock()
	if inst.shutdownSubscribers == nil {
		inst.shutdownSubscribers = map[string]bool{}
	}
	inst.shutdownSubscribers[id] = slices.Contains(req.Events, "SHUTDOWN")
	inst.mu.Unlock()
	o := inst.f.opts
	w.Header().Set(hdrExtensionID, id)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    o.FunctionName,
		"functionVersion": "$LATEST",
		"handler":         filepath.Base(inst.f.bootstrap),
	})
}

// extensionNext serves the Extensions API's event/next. An extension
// subscribed to SHUTDOWN gets the SHUTDOWN event when shutdown begins; one
// subscribed to nothing (aws-lambda-go's internal extension) waits, as in
// Lambda, until its process ends: answering it would make aws-lambda-go
// log "Reached expected unreachable code!".
func (inst *instance) extensionNext(w http.ResponseWriter, r *http.Request) {
	inst.mu.Lock()
	shutdown := inst.shutdownSubscribers[r.Header.Get(hdrExtensionID)]
	inst.mu.Unlock()
	shutdownEv := inst.shutdownEv
	if !shutdown {
		shutdownEv = nil // never
	}
	select {
	case <-r.Context().Done():
	case <-inst.stopping:
	case <-shutdownEv:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"eventType":      "SHUTDOWN",
			"shutdownReason": "spindown",
			"deadlineMs":     time.Now().Add(inst.f.opts.ShutdownTimeout).UnixMilli(),
		})
	}
}
