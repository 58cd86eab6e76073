package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Defaults of [Options] and [ToolOptions].
const (
	DefaultTTL              = time.Hour
	DefaultPollInterval     = 2 * time.Second
	DefaultLeaseDuration    = 30 * time.Second
	DefaultStartTimeout     = 5 * time.Minute
	DefaultProgressInterval = 2 * time.Second
)

// Options configures [New]. A nil *Options means defaults; the struct is
// copied.
type Options struct {
	// Executor starts the runs of tools that became tasks. nil means
	// goroutines of this process (local serving, tests); in Lambda, use
	// package tasks/lambdaexec, which invokes the function itself
	// asynchronously (a goroutine would be frozen with the invocation
	// that created the task).
	Executor Executor

	// TTL is how long a task is kept after its creation, unless the tool's
	// ToolOptions.TTL says otherwise. Zero means DefaultTTL (one hour). A
	// task still running at its TTL is lost: make it longer than the
	// tool's runs and the time a client may take to answer its input
	// requests and fetch its result.
	TTL time.Duration
	// PollInterval is the polling interval suggested to clients
	// (pollIntervalMs), unless the tool's ToolOptions.PollInterval says
	// otherwise. Zero means DefaultPollInterval (2s).
	PollInterval time.Duration
	// LeaseDuration is how long a run's claim on its task lasts unless
	// renewed; a runner renews it every third of it. A run whose lease
	// lapses (its executor crashed or was killed) fails the task, and a
	// running tool learns of a cancellation from another instance at its
	// next renewal. Zero means DefaultLeaseDuration (30s).
	LeaseDuration time.Duration
	// StartTimeout is how long a run may wait to be claimed by an
	// executor before the task fails. Zero means DefaultStartTimeout (5m).
	StartTimeout time.Duration
	// ProgressInterval is the least time between two writes of a running
	// tool's progress to the store. Zero means DefaultProgressInterval (2s).
	ProgressInterval time.Duration

	// Logger, if set, logs each task's creation, runs and end. nil means
	// no logs.
	Logger *slog.Logger
	// Now returns the current time. nil means time.Now.
	Now func() time.Time
}

// Support says when a call of a tool becomes a task.
type Support int

const (
	// Optional (the zero value): a call becomes a task when its request
	// declares the extension (2026-07-28), and runs at once otherwise.
	// 2025-11-25 clients always get the result at once.
	Optional Support = iota
	// Required: every call becomes a task; a 2026-07-28 request that does
	// not declare the extension gets error -32021 (missing required client
	// capability). 2025-11-25 clients see the tool with
	// execution.taskSupport "required" and get 2025-11-25 tasks.
	Required
)

// ToolOptions says how a tool runs as a task. A nil *ToolOptions means
// defaults; the struct is copied.
type ToolOptions struct {
	// Support: see [Support]. The zero value is Optional.
	Support Support
	// RunNow, if set, is asked about each call that would become a task;
	// true runs it at once instead, in the request that made it, as if the
	// tool were not a task tool. A tool that gathers input with
	// input_required results first (SEP-2322) and then does the long work
	// returns true until it has what it needs: the final round becomes
	// the task, and its run sees the same inputResponses and requestState.
	RunNow func(ctx context.Context, req *mcp.CallToolRequest) bool
	// TTL and PollInterval override Options.TTL and Options.PollInterval
	// for this tool's tasks. Zero means the Options' value.
	TTL          time.Duration
	PollInterval time.Duration
}

// Manager serves the tasks extension for one server: it turns calls of
// the tools enabled with [Manager.Enable] (or [AddTool]) into tasks kept
// in a state.Store, answers tasks/get, tasks/update and tasks/cancel, and
// runs tasks through its [Executor]. Its methods are safe for concurrent
// use.
type Manager struct {
	// set at construction
	server   *mcp.Server
	store    *taskStore
	exec     Executor // nil: goroutines
	opts     Options  // defaults applied
	logger   *slog.Logger
	runnerID string // names this process's claims
	next     mcp.MethodHandler

	wg sync.WaitGroup // runs started by the goroutine executor

	mu      sync.Mutex
	tools   map[string]ToolOptions // guarded by mu
	running map[string]*runner     // task id -> its run in this process; guarded by mu
	closed  bool                   // guarded by mu
}

// managers holds the servers that have a Manager.
var managers sync.Map // *mcp.Server -> *Manager

// New returns the Manager of server's tasks, kept in store, and registers
// the extension with server: a receiving middleware (which answers
// tools/call of task tools, adds the extension to server/discover, and
// the 2025-11-25 tasks capability and execution.taskSupport to
// initialize and tools/list for older clients), and the methods
// tasks/get, tasks/update, tasks/cancel and tasks/result.
//
// Call New once per server, before serving it and before adding
// authorization middleware (such as package auth's ToolMiddleware), so
// that those checks apply to the request that creates a task; a run then
// calls the tool with what is inside the Manager's middleware. New panics
// if server already has a Manager.
//
// store holds the tasks: it must be shared by every instance that may
// receive a request or a run (package dynamo in Lambda, a state.Dir for
// processes on one machine). Tasks take one conditional write to create
// and one read per tasks/get.
func New(server *mcp.Server, store state.Store, opts *Options) *Manager {
	if server == nil || store == nil {
		panic("tasks: New needs a server and a store")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = DefaultLeaseDuration
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var id [6]byte
	rand.Read(id[:])
	m := &Manager{
		server:   server,
		store:    &taskStore{s: store, now: o.Now},
		exec:     o.Executor,
		opts:     o,
		logger:   logger,
		runnerID: hex.EncodeToString(id[:]),
		tools:    make(map[string]ToolOptions),
		running:  make(map[string]*runner),
	}
	if _, loaded := managers.LoadOrStore(server, m); loaded {
		panic("tasks: the server already has a Manager")
	}
	m.register()
	return m
}

// Enable makes the server's tool name a task tool, as opts says. The tool
// is added to the server as usual (mcp.AddTool, Server.AddTool); Enable
// may come before or after. Calling it again replaces the options.
func (m *Manager) Enable(name string, opts *ToolOptions) {
	var o ToolOptions
	if opts != nil {
		o = *opts
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tools[name] = o
}

// AddTool adds a tool to m's server, as mcp.AddTool does, and makes it a
// task tool, as [Manager.Enable] does.
func AddTool[In, Out any](m *Manager, t *mcp.Tool, h mcp.ToolHandlerFor[In, Out], opts *ToolOptions) {
	mcp.AddTool(m.server, t, h)
	m.Enable(t.Name, opts)
}

// tool returns the task options of the tool name, if it is a task tool.
func (m *Manager) tool(name string) (ToolOptions, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.tools[name]
	return o, ok
}

// requiredTools reports the task tools with Support Required.
func (m *Manager) requiredTools() map[string]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	req := map[string]bool{}
	for name, o := range m.tools {
		if o.Support == Required {
			req[name] = true
		}
	}
	return req
}

// Close stops the runs the goroutine executor started in this process
// (their tools' contexts are cancelled; a run that stops this way leaves
// its task to fail when its lease lapses) and waits for them. Runs started
// afterwards fail to start. Close does not close the store.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	for _, r := range m.running {
		r.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

func (m *Manager) ttl(o ToolOptions) time.Duration {
	if o.TTL > 0 {
		return o.TTL
	}
	return m.opts.TTL
}

func (m *Manager) pollInterval(o ToolOptions) time.Duration {
	if o.PollInterval > 0 {
		return o.PollInterval
	}
	return m.opts.PollInterval
}

// view is the task as the extension shows it (tasks/get: full = true;
// CreateTaskResult: false, without result, error and input requests).
func view(id string, rec *record, full bool) *Task {
	ttl := rec.TTL
	t := &Task{
		ResultType:     resultTypeComplete,
		TaskID:         id,
		Status:         rec.Status,
		StatusMessage:  rec.Message,
		CreatedAt:      timestamp(rec.Created),
		LastUpdatedAt:  timestamp(rec.Updated),
		TTLMs:          &ttl,
		PollIntervalMs: rec.Poll,
	}
	if !full {
		t.ResultType = resultTypeTask
		return t
	}
	switch rec.Status {
	case InputRequired:
		t.InputRequests = rec.Inputs
	case Completed:
		t.Result = rec.Result
	case Failed:
		t.Error = rec.Error
		if t.Error == nil {
			t.Error = &Error{Code: codeInternal, Message: rec.Message}
		}
	}
	return t
}

// legacyView is the task as 2025-11-25 shows it. A tool error (isError)
// is a failed task there.
func legacyView(id string, rec *record) *legacyTask {
	ttl := rec.TTL
	t := &legacyTask{
		TaskID:        id,
		Status:        rec.Status,
		StatusMessage: rec.Message,
		CreatedAt:     timestamp(rec.Created),
		LastUpdatedAt: timestamp(rec.Updated),
		TTL:           &ttl,
		PollInterval:  rec.Poll,
	}
	if rec.Status == Completed && isToolError(rec.Result) {
		t.Status = Failed
	}
	return t
}

func (m *Manager) String() string { return fmt.Sprintf("tasks.Manager(%s)", m.runnerID) }
