package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda/identity"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// An Executor starts the runs of tasks' tools somewhere: Start hands r
// over and returns; whatever then runs it calls [Manager.Run] (in Lambda,
// the task-run payload's handler [Manager.HandleEvent]). Start is called
// after the task is durably in the store; an error fails the task (at
// creation, the tools/call gets a JSON-RPC error instead). A run may be
// delivered more than once: only one claim succeeds.
type Executor interface {
	Start(ctx context.Context, r Run) error
}

// Run names one run of a task's tool, as an [Executor] carries it.
type Run struct {
	TaskID string `json:"taskId"`
	// Token is the run's secret: only a Run carrying the token stored with
	// the task can claim it, so that a caller allowed to invoke the
	// function cannot forge a run. Each run has its own token.
	Token string `json:"token"`
}

// RunEvent is the member name of a task-run payload,
// {"mcplambda/taskRun": {"taskId": "...", "token": "..."}}: register
// [Manager.HandleEvent] under it in mcplambda.Options.Events.
const RunEvent = "mcplambda/taskRun"

// Errors of [Manager.Run].
var (
	// ErrRefused: the run's token is not the task's current one (a forged
	// payload, or a stale one from an earlier run).
	ErrRefused = errors.New("tasks: run refused: the task has no run with this token")
	// ErrClosed: the Manager is closed.
	ErrClosed = errors.New("tasks: manager closed")
)

// start hands r to the executor, or to a goroutine of this process.
func (m *Manager) start(ctx context.Context, r Run) error {
	if m.exec != nil {
		return m.exec.Start(ctx, r)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		if _, err := m.run(context.WithoutCancel(ctx), r); err != nil {
			m.logger.Error("tasks: run failed", "task", r.TaskID, "err", err)
		}
	}()
	return nil
}

// HandleEvent handles a task-run payload, the value of its [RunEvent]
// member: it is [Manager.Run] for the Lambda executor's self-invocations.
// Register it with the Lambda handler:
//
//	mcplambda.Options{Events: map[string]mcplambda.EventHandler{tasks.RunEvent: m.HandleEvent}}
//
// The answer says what happened ({"taskId": ..., "outcome": ...}); a
// malformed or forged payload is an error wrapping [ErrRefused], and a
// store failure an error, so that Lambda retries the invocation.
func (m *Manager) HandleEvent(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
	var r Run
	if err := json.Unmarshal(payload, &r); err != nil || r.TaskID == "" || r.Token == "" {
		return nil, fmt.Errorf("%w: malformed task-run payload", ErrRefused)
	}
	outcome, err := m.run(ctx, r)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"taskId": r.TaskID, "outcome": outcome})
}

// Run claims the run r of its task, runs the tool and records what came
// of it: the result, an error, input requests, or a continuation. In
// Lambda the tool's context has the invocation's deadline less a margin
// (a tenth of the time left, between 0.5s and 10s) to write the outcome;
// a tool that overruns it fails the task. Run returns an error wrapping
// [ErrRefused] for a run whose token is not the task's, and nil when
// there is nothing to run (the task is gone, finished, cancelled, or
// claimed by another live run).
func (m *Manager) Run(ctx context.Context, r Run) error {
	_, err := m.run(ctx, r)
	return err
}

// Continue is what a task tool returns to go on in a new run (a new
// invocation, in Lambda) rather than finish: the run ends, and the next
// one calls the tool again with state as its request's RequestState and
// no InputResponses. Use it to work past one invocation's time limit,
// checkpointing in state (or in a store, keyed by [TaskID]) before the
// context's deadline. Each run costs a read and two writes; the task's
// TTL bounds them all. Outside a task, the result is an input_required
// result with no input requests, which SEP-2322 clients take as "retry".
func Continue(state string) *mcp.CallToolResult {
	return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{}, RequestState: state}
}

// runKey holds the *runner of a tool's run in its context.
type runKey struct{}

// TaskID returns the id of the task whose run ctx belongs to, if the tool
// runs as a task.
func TaskID(ctx context.Context) (string, bool) {
	if r, ok := ctx.Value(runKey{}).(*runner); ok {
		return r.id, true
	}
	return "", false
}

// runner is one claimed run of a task.
type runner struct {
	m     *Manager
	id    string
	owner string // the claim's owner name
	token string

	wake   chan struct{} // a progress message arrived
	cancel func()        // cancels the tool's context (set before the tool runs)

	mu       sync.Mutex
	rec      *record // as last written; guarded by mu
	version  int64   // guarded by mu
	lastSave time.Time
	message  string // latest progress message; guarded by mu
	dirty    bool   // message not saved yet; guarded by mu
}

// run is Run, returning the outcome for the log and the event's answer.
func (m *Manager) run(ctx context.Context, r Run) (string, error) {
	owner := m.runnerID + "/" + newToken()[:8]
	var (
		rec     *record
		version int64
	)
	for attempt := 0; ; attempt++ {
		if attempt == defaultStoreRetryLimit {
			return "", fmt.Errorf("tasks: task %s: too many concurrent writers", r.TaskID)
		}
		cur, v, err := m.store.get(ctx, r.TaskID)
		if errors.Is(err, errNotFound) {
			m.logger.WarnContext(ctx, "tasks: run of an unknown or expired task", "task", r.TaskID)
			return "gone", nil
		}
		if err != nil {
			return "", fmt.Errorf("tasks: claiming task %s: %w", r.TaskID, err)
		}
		if cur.Run == nil || !tokenEqual(cur.Run.Token, r.Token) {
			m.logger.WarnContext(ctx, "tasks: run refused: wrong token (forged or stale payload)", "task", r.TaskID)
			return "", fmt.Errorf("%w (task %s)", ErrRefused, r.TaskID)
		}
		if cur.Status != Working {
			return string(cur.Status), nil
		}
		now := m.opts.Now()
		if cur.Run.Owner != "" {
			msg, lost := cur.lapsed(now)
			if !lost {
				return "running elsewhere", nil
			}
			cur.fail(now, msg)
			if _, err := m.store.put(ctx, r.TaskID, cur, v); errors.Is(err, errConflict) {
				continue
			} else if err != nil {
				return "", fmt.Errorf("tasks: failing task %s: %w", r.TaskID, err)
			}
			m.logger.WarnContext(ctx, "tasks: run lost", "task", r.TaskID, "tool", cur.Tool, "reason", msg)
			return string(Failed), nil
		}
		cur.Run.Owner = owner
		cur.Run.Lease = now.Add(m.opts.LeaseDuration)
		nv, err := m.store.put(ctx, r.TaskID, cur, v)
		if errors.Is(err, errConflict) {
			continue
		}
		if errors.Is(err, errNotFound) {
			return "gone", nil
		}
		if err != nil {
			return "", fmt.Errorf("tasks: claiming task %s: %w", r.TaskID, err)
		}
		rec, version = cur, nv
		break
	}
	run := &runner{m: m, id: r.TaskID, owner: owner, token: r.Token, rec: rec, version: version, lastSave: m.opts.Now(), wake: make(chan struct{}, 1)}
	return run.do(ctx)
}

// margin is the time a run leaves itself before the invocation's
// deadline to record the outcome, given the time remaining.
func margin(remaining time.Duration) time.Duration {
	return min(max(remaining/10, 500*time.Millisecond), 10*time.Second)
}

// outcome is what a tool's run came to.
type outcome struct {
	res *mcp.CallToolResult
	err error
}

func (r *runner) do(parent context.Context) (string, error) {
	m := r.m
	r.mu.Lock()
	rec := r.rec
	r.mu.Unlock()
	start := time.Now()
	log := m.logger.With("task", r.id, "tool", rec.Tool, "run", rec.Run.N)
	log.InfoContext(parent, "tasks: run started")

	ctx := context.WithValue(parent, runKey{}, r)
	if c := rec.Caller; c != nil {
		ctx = identity.WithFrontDoor(ctx, &identity.Identity{Principal: c.Principal, Source: c.Source, Issuer: c.Issuer, Subject: c.Subject, Scopes: c.Scopes})
	}
	var hardStop <-chan time.Time // when the run must record its outcome, tool or not
	if d, ok := parent.Deadline(); ok {
		mg := margin(time.Until(d))
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-mg))
		defer cancel()
		t := time.NewTimer(time.Until(d.Add(-mg / 2)))
		defer t.Stop()
		hardStop = t.C
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.cancel = func() { cancel(errCancelled) }
	m.mu.Lock()
	m.running[r.id] = r
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.running[r.id] == r { // not the next run's
			delete(m.running, r.id)
		}
		m.mu.Unlock()
	}()

	// Renew the lease and save progress while the tool runs.
	stop := make(chan struct{})
	var hb sync.WaitGroup
	hb.Add(1)
	go func() {
		defer hb.Done()
		r.heartbeat(ctx, stop, cancel)
	}()

	done := make(chan outcome, 1)
	go func() { done <- r.call(ctx, rec) }()
	var out outcome
	select {
	case out = <-done:
	case <-hardStop:
		// The tool ignores its context: say so before Lambda ends the
		// invocation, and leave the tool behind.
		out = outcome{err: errOverrun}
	}
	close(stop)
	hb.Wait()
	if out.err == nil && ctx.Err() != nil && context.Cause(ctx) == context.DeadlineExceeded && out.res != nil && out.res.IsError {
		out = outcome{err: errOverrun}
	}
	// The outcome is written even past the tool's deadline, within bounds.
	fctx, cancelFinish := context.WithTimeout(context.WithoutCancel(parent), finishTimeout)
	defer cancelFinish()
	status, next, err := r.finish(fctx, out)
	log.InfoContext(parent, "tasks: run ended", "status", status, "durationMs", float64(time.Since(start).Microseconds())/1000)
	if err != nil {
		return "", err
	}
	if next != nil {
		if err := m.start(parent, *next); err != nil {
			m.failStart(parent, *next, err)
		}
	}
	return status, nil
}

// finishTimeout bounds the writing of a run's outcome.
const finishTimeout = 30 * time.Second

var (
	errCancelled = errors.New("tasks: the task was cancelled")
	errLost      = errors.New("tasks: the task moved on without this run (cancelled, failed or expired)")
	errOverrun   = errors.New("did not finish before the invocation's deadline")
)

// call runs the tool through the server's middleware inside the Manager's
// and go-sdk's own handling (argument validation, input_required
// results), with a session whose progress notifications become the task's
// status message.
func (r *runner) call(ctx context.Context, rec *record) (out outcome) {
	m := r.m
	ss, err := m.server.Connect(ctx, &runTransport{r: r, closed: make(chan struct{})}, nil)
	if err != nil {
		return outcome{err: fmt.Errorf("tasks: connecting a session for the run: %w", err)}
	}
	defer ss.Close()
	p := &mcp.CallToolParamsRaw{Name: rec.Tool, Arguments: rec.Args, RequestState: rec.State}
	caps := json.RawMessage(rec.Caps)
	if len(caps) == 0 {
		caps = json.RawMessage(`{}`)
	}
	p.Meta = mcp.Meta{metaProtocolVersion: extensionProtocol, metaClientCapabilities: caps, "progressToken": r.id}
	if len(rec.Answers) > 0 {
		b, _ := json.Marshal(rec.Answers)
		if err := json.Unmarshal(b, &p.InputResponses); err != nil {
			return outcome{err: &jsonrpc.Error{Code: codeInvalidParams, Message: err.Error()}}
		}
	}
	defer func() {
		if v := recover(); v != nil {
			m.logger.ErrorContext(ctx, "tasks: recovered panic", "task", r.id, "tool", rec.Tool, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			out = outcome{err: &jsonrpc.Error{Code: codeInternal, Message: "internal error in tool " + rec.Tool}}
		}
	}()
	res, err := m.next(ctx, "tools/call", &mcp.CallToolRequest{Session: ss, Params: p})
	if err != nil {
		return outcome{err: err}
	}
	tr, ok := res.(*mcp.CallToolResult)
	if !ok || tr == nil {
		return outcome{err: fmt.Errorf("tasks: tool %s answered %T, not a CallToolResult", rec.Tool, res)}
	}
	return outcome{res: tr}
}

// heartbeat renews the run's lease every third of LeaseDuration, saves
// progress messages at most every ProgressInterval, and reads the task
// every poll interval (pollIntervalMs) between writes, until stop closes.
// If the task moved on (cancelled, failed by a poll, expired), it cancels
// the tool's context: a tool learns of a cancellation made on another
// instance within a poll interval.
func (r *runner) heartbeat(ctx context.Context, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	m := r.m
	ctx = context.WithoutCancel(ctx)
	renew := m.opts.LeaseDuration / 3
	r.mu.Lock()
	check := time.Duration(r.rec.Poll) * time.Millisecond
	r.mu.Unlock()
	if check <= 0 {
		check = m.opts.PollInterval
	}
	tick := time.NewTicker(min(renew, m.opts.ProgressInterval, check))
	defer tick.Stop()
	lastCheck := m.opts.Now()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		case <-r.wake:
		}
		now := m.opts.Now()
		r.mu.Lock()
		write := now.Sub(r.lastSave) >= renew || r.dirty && now.Sub(r.lastSave) >= m.opts.ProgressInterval
		read := !write && now.Sub(r.lastSave) >= check && now.Sub(lastCheck) >= check
		var rec record
		var version int64
		if write {
			rec = *r.rec
			run := *rec.Run
			rec.Run = &run
			rec.Run.Lease = now.Add(m.opts.LeaseDuration)
			if r.dirty && rec.Message != r.message {
				rec.Message = r.message
				rec.Updated = now
			}
			version = r.version
		}
		r.mu.Unlock()

		switch {
		case write:
			opCtx, cancelOp := context.WithTimeout(ctx, renew)
			nv, err := m.store.put(opCtx, r.id, &rec, version)
			cancelOp()
			switch {
			case err == nil:
				r.mu.Lock()
				r.rec, r.version, r.lastSave, r.dirty = &rec, nv, now, r.message != rec.Message
				r.mu.Unlock()
				continue
			case !errors.Is(err, errConflict) && !errors.Is(err, errNotFound):
				// Throttled beyond the client's retries, or unreachable:
				// try again at the next tick, while the lease lasts.
				m.logger.WarnContext(ctx, "tasks: renewing a run's lease", "task", r.id, "err", err)
				continue
			}
		case read:
		default:
			continue
		}
		// Someone else wrote the task, or it is time to look: is it still
		// this run's?
		lastCheck = now
		opCtx, cancelOp := context.WithTimeout(ctx, renew)
		cur, v, err := m.store.get(opCtx, r.id)
		cancelOp()
		switch {
		case err == nil && cur.Status == Working && cur.Run != nil && cur.Run.Owner == r.owner:
			r.mu.Lock()
			if v != r.version {
				r.rec, r.version = cur, v
			}
			r.mu.Unlock()
			continue
		case err != nil && !errors.Is(err, errNotFound):
			m.logger.WarnContext(ctx, "tasks: checking a run's task", "task", r.id, "err", err)
			continue
		}
		m.logger.InfoContext(ctx, "tasks: the task moved on; stopping the tool", "task", r.id)
		if err == nil && cur.Status == Cancelled {
			cancel(errCancelled)
		} else {
			cancel(errLost)
		}
		return
	}
}

// progress records a progress notification of the tool.
func (r *runner) progress(p *mcp.ProgressNotificationParams) {
	msg := p.Message
	if msg == "" {
		if p.Total > 0 {
			msg = fmt.Sprintf("%g/%g", p.Progress, p.Total)
		} else {
			msg = fmt.Sprintf("%g", p.Progress)
		}
	}
	r.mu.Lock()
	r.message, r.dirty = truncate(msg, 1024), true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// maxResultBytes bounds a result kept in the task record, below the
// store's value limit (state.MaxValueBytes) with room for the rest.
const maxResultBytes = 200 << 10

// finish records the outcome: one conditional write, made only while the
// run still owns the task (on the version the run wrote last; only if
// someone else wrote since does it read the task again). It returns the
// status written and, for a task that goes on (a continuation), the next
// run to start.
func (r *runner) finish(ctx context.Context, out outcome) (string, *Run, error) {
	m := r.m
	var next *Run
	var status string
	apply := func(rec *record) (bool, error) {
		next, status = nil, ""
		if rec.Status != Working || rec.Run == nil || rec.Run.Owner != r.owner || !tokenEqual(rec.Run.Token, r.token) {
			status = "discarded (task " + string(rec.Status) + ")"
			return false, nil
		}
		now := m.opts.Now()
		rec.Updated = now
		switch res := out.res; {
		case out.err != nil:
			rec.Status, rec.Error = Failed, toError(out.err)
			rec.Message = rec.Tool + ": " + rec.Error.Message
			if errors.Is(out.err, errOverrun) {
				rec.Message = fmt.Sprintf("tool %s did not finish before the invocation's deadline: one run of a task is limited by the function's timeout (at most 15 minutes in Lambda)", rec.Tool)
				rec.Error = &Error{Code: codeInternal, Message: rec.Message}
			}
		case res.NeedsInput() && len(res.InputRequests) == 0:
			// A continuation: run again, in a new invocation, with the
			// tool's state.
			rec.State, rec.Answers, rec.Message = res.RequestState, nil, "continuing in a new run"
			rec.Run = &runState{N: rec.Run.N + 1, Token: newToken(), StartBy: now.Add(m.opts.StartTimeout)}
			next = &Run{TaskID: r.id, Token: rec.Run.Token}
		case res.NeedsInput() && rec.Legacy:
			rec.fail(now, fmt.Sprintf("tool %s asked for input, which a 2025-11-25 client cannot give to this server; call it with protocol 2026-07-28", rec.Tool))
		case res.NeedsInput():
			if err := rec.ask(res, now); err != nil {
				rec.fail(now, err.Error())
			}
		default:
			b, err := json.Marshal(res)
			switch {
			case err != nil:
				rec.fail(now, fmt.Sprintf("tool %s: encoding its result: %v", rec.Tool, err))
			case len(b) > maxResultBytes:
				rec.fail(now, fmt.Sprintf("tool %s: its result (%d bytes) is larger than a task can keep (%d bytes)", rec.Tool, len(b), maxResultBytes))
			default:
				rec.Status, rec.Result, rec.Message = Completed, b, ""
				rec.Answers, rec.State = nil, ""
			}
		}
		if rec.Status != Working || next != nil {
			if rec.Run != nil && next == nil {
				rec.Run.Owner, rec.Run.Lease = "", time.Time{}
			}
		}
		status = string(rec.Status)
		return true, nil
	}
	r.mu.Lock()
	rec, version := *r.rec, r.version
	r.mu.Unlock()
	run := *rec.Run
	rec.Run = &run
	write, err := apply(&rec)
	if err == nil && write {
		_, err = m.store.put(ctx, r.id, &rec, version)
	}
	if errors.Is(err, errConflict) {
		_, _, err = m.store.update(ctx, r.id, apply)
	}
	if errors.Is(err, errNotFound) {
		return "gone (expired)", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("tasks: recording the outcome of task %s: %w", r.id, err)
	}
	return status, next, nil
}

// ask moves rec to input_required with res's input requests, under keys
// never shown before in the task's life.
func (rec *record) ask(res *mcp.CallToolResult, now time.Time) error {
	b, err := json.Marshal(res.InputRequests)
	if err != nil {
		return fmt.Errorf("tool %s: encoding its input requests: %w", rec.Tool, err)
	}
	var reqs map[string]json.RawMessage
	if err := json.Unmarshal(b, &reqs); err != nil {
		return err
	}
	used := map[string]bool{}
	for _, k := range rec.Used {
		used[k] = true
	}
	rec.Inputs, rec.InputKeys = map[string]json.RawMessage{}, map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(reqs)) {
		wire := k
		for i := rec.Run.N; used[wire]; i++ {
			wire = k + "." + strconv.Itoa(i)
		}
		used[wire] = true
		rec.Used = append(rec.Used, wire)
		rec.Inputs[wire], rec.InputKeys[wire] = reqs[k], k
	}
	rec.Status, rec.State, rec.Answers = InputRequired, res.RequestState, nil
	rec.Message = "waiting for input"
	rec.Updated = now
	return nil
}

// toError is the JSON-RPC error a failed task carries.
func toError(err error) *Error {
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		return &Error{Code: je.Code, Message: je.Message, Data: je.Data}
	}
	return &Error{Code: codeInternal, Message: err.Error()}
}

// runTransport is the connection of a run's session: it delivers the
// tool's progress notifications to the runner and drops everything else
// (nothing reads what a tool sends a client while it runs as a task).
type runTransport struct {
	r      *runner
	once   sync.Once
	closed chan struct{}
}

var _ mcp.Transport = (*runTransport)(nil)

func (t *runTransport) Connect(context.Context) (mcp.Connection, error) { return t, nil }

func (t *runTransport) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-t.closed:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (t *runTransport) Write(_ context.Context, msg jsonrpc.Message) error {
	if req, ok := msg.(*jsonrpc.Request); ok && req.Method == "notifications/progress" {
		var p mcp.ProgressNotificationParams
		if json.Unmarshal(req.Params, &p) == nil {
			t.r.progress(&p)
		}
	}
	return nil
}

func (t *runTransport) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}

func (t *runTransport) SessionID() string { return "" }
