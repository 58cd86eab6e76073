package stdio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/telemetry"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Errors describing why a request could not be forwarded. A request that
// fails for one of these reasons gets a JSON-RPC internal error (-32603)
// whose message starts with the error's text; the process is restarted
// before the next request.
var (
	// ErrStart: the server process could not be started or did not
	// complete the MCP initialization handshake.
	ErrStart = errors.New("stdio: starting the server process")
	// ErrExited: the server process exited.
	ErrExited = errors.New("stdio: the server process exited")
	// ErrConnection: the server closed its stdout or wrote something that
	// is not an MCP message stream, or writing to its stdin failed.
	ErrConnection = errors.New("stdio: lost the connection to the server process")
	// ErrTimeout: the server process did not answer before the
	// invocation's deadline minus [ProxyOptions.DeadlineMargin] (or
	// [ProxyOptions.Timeout]); it was killed.
	ErrTimeout = errors.New("stdio: the server process did not answer in time")
	// ErrMessageTooLarge: the server process wrote a message longer than
	// [ProxyOptions.MaxMessageBytes].
	ErrMessageTooLarge = errors.New("stdio: the server process sent a message over the size limit")
	// ErrClosed: the Proxy is closed.
	ErrClosed = errors.New("stdio: proxy closed")
)

// Command is the stdio MCP server to run.
type Command struct {
	// Path is the program. A name without a slash is looked up in PATH;
	// a relative path is relative to Dir (in Lambda: the function's code,
	// /var/task).
	Path string
	// Args are the program's arguments (without the program name).
	Args []string
	// Env holds extra KEY=VALUE pairs, added after the function's own
	// environment, which the server inherits (including the function role's
	// credentials) except for MCPLAMBDA_* variables, AWS_LAMBDA_RUNTIME_API
	// and AWS_LAMBDA_EXEC_WRAPPER.
	Env []string
	// Dir is the working directory; "" means the adapter's own.
	Dir string
}

// Isolation decides which callers may share a server process.
type Isolation string

const (
	// Warm (the default) keeps one server process per execution
	// environment for as long as it lives: every caller that reaches this
	// environment talks to the same process, so whatever one caller leaves
	// in the server's memory (caches, files, global state) another may see.
	// Fastest; right for servers that keep no per-user state.
	Warm Isolation = "warm"
	// PerPrincipal keeps the process while consecutive requests come from
	// the same authenticated principal (IAM ARN, JWT issuer and subject,
	// or Lambda authorizer principalId) and restarts it when the principal
	// changes, so two principals never share a process. Unauthenticated
	// requests all share the anonymous principal "". A restart costs the
	// server's start-up time on the request that triggers it.
	PerPrincipal Isolation = "per-principal"
	// PerRequest starts a fresh process for every request and stops it
	// afterwards, like the reference project
	// (@aws/run-mcp-servers-with-aws-lambda). Nothing is shared; every
	// request pays the server's start-up time.
	PerRequest Isolation = "per-request"
)

// ProxyOptions configures a Proxy. A nil *ProxyOptions means all
// defaults; the struct is copied.
type ProxyOptions struct {
	// Isolation decides which callers may share a server process.
	// "" means [Warm].
	Isolation Isolation

	// DeadlineMargin is kept free before the request context's deadline
	// (the Lambda invocation deadline): a server that has not answered by
	// then is killed and the request gets an error, so that the function
	// answers before Lambda times it out. 0 means 500ms.
	DeadlineMargin time.Duration

	// Timeout bounds each forwarded request, in addition to the
	// context's deadline. 0 means no bound other than the context's.
	Timeout time.Duration

	// StartTimeout bounds the start of a server process and its MCP
	// initialization. 0 means 10s.
	StartTimeout time.Duration

	// ShutdownTimeout bounds stopping a server process: half of it after
	// closing its stdin, the other half after SIGTERM, then SIGKILL.
	// 0 means 400ms, which fits in the 500ms Lambda allows a runtime after
	// SIGTERM.
	ShutdownTimeout time.Duration

	// MaxMessageBytes bounds one message (one line) from the server; a
	// longer one fails the request in progress and restarts the server.
	// 0 means 6 MiB, Lambda's response payload limit; negative means no
	// limit.
	MaxMessageBytes int

	// ProtocolVersion is the MCP protocol version to offer the server.
	// "" means 2025-11-25 through the initialize handshake, which every
	// stdio server understands; the proxy serves clients of both eras
	// whatever the child speaks, so there is rarely a reason to change it.
	// A version from 2026-07-28 on makes the proxy try server/discover
	// first and fall back to initialize.
	ProtocolVersion string

	// Stderr receives the server's standard error, one whole line per
	// Write, and any non-JSON line it writes to stdout. nil means
	// os.Stderr (the function log, in Lambda).
	Stderr io.Writer

	// Logger receives the proxy's own log lines (restarts, timeouts).
	// nil means no logging.
	Logger *slog.Logger

	// RelayRequests declares roots, sampling and elicitation to the server
	// process and relays its requests for them (roots/list,
	// sampling/createMessage, elicitation/create) to the caller of the
	// request it is serving, through the proxy server's session for that
	// caller. They reach legacy clients served with sessions
	// (mcplambda.Options.Sessions) whose response streams; any other
	// caller, a request of the process while it serves none or several,
	// and a 2026-07-28 caller get a JSON-RPC error that says why, which
	// the process sees as its client's answer. [Run] turns it on when
	// its configuration has sessions. The zero value declares no client
	// capabilities, so that servers fall back to what they do without
	// them.
	RelayRequests bool
}

// DefaultMaxMessageBytes is the message size limit used when
// [ProxyOptions.MaxMessageBytes] is 0.
const DefaultMaxMessageBytes = 6 << 20

// Proxy runs a stdio MCP server as a child process and serves it as an
// *mcp.Server: give [Proxy.Server] to mcplambda.Start, NewHandler or any
// go-sdk transport.
//
// At start the proxy initializes the child once and caches its
// capabilities, server info, instructions and the lists of tools,
// resources, resource templates and prompts (refreshed when the child
// sends a list_changed notification); list requests are answered from the
// cache. Calls (tools/call, resources/read, prompts/get,
// completion/complete) are forwarded to the child, with the caller's
// progress token, and the child's progress notifications are relayed to
// the caller. A child that exits, breaks the pipe, writes something that
// is not MCP or does not answer before the deadline fails the request
// with a JSON-RPC error and is restarted before the next request.
//
// The methods of Proxy, and the server's handlers, are safe for concurrent
// use. Concurrent requests share the child in [Warm] mode; in
// [PerPrincipal] mode a request from another principal waits until the
// requests in progress are done; in [PerRequest] mode each request has a
// process of its own.
type Proxy struct {
	// set at construction
	cmd    Command
	opts   ProxyOptions
	logger *slog.Logger
	server *mcp.Server

	ctx    context.Context // ends at Close; for goroutines the proxy owns
	cancel context.CancelFunc
	wg     sync.WaitGroup // goroutines the proxy owns

	mu       sync.Mutex
	cur      *child        // the current child; nil before a (re)start
	gen      int           // children started so far
	starting bool          // a goroutine is starting a child
	failed   bool          // the last child failed: the next start is a restart
	changed  chan struct{} // closed and replaced when cur, starting or inflight change
	closed   bool
	children map[*child]struct{} // every child not yet stopped
	lists    lists               // what the server currently exposes
	relays   map[string]relay    // progress tokens handed to the child
	tokenSeq int64
}

// NewProxy starts the server process described by cmd, initializes it
// and fetches its capabilities and lists, and returns a Proxy serving it.
// ctx bounds the start only. The caller must call [Proxy.Close].
func NewProxy(ctx context.Context, cmd Command, opts *ProxyOptions) (*Proxy, error) {
	if cmd.Path == "" {
		panic("stdio: NewProxy: empty Command.Path")
	}
	var o ProxyOptions
	if opts != nil {
		o = *opts
	}
	switch o.Isolation {
	case "":
		o.Isolation = Warm
	case Warm, PerPrincipal, PerRequest:
	default:
		return nil, fmt.Errorf("stdio: unknown isolation %q (want %s, %s or %s)", o.Isolation, Warm, PerPrincipal, PerRequest)
	}
	if o.DeadlineMargin == 0 {
		o.DeadlineMargin = 500 * time.Millisecond
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 400 * time.Millisecond
	}
	if o.ProtocolVersion == "" {
		o.ProtocolVersion = "2025-11-25"
	}
	if o.MaxMessageBytes == 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	o.Stderr = syncio.NewWriter(o.Stderr)
	p := &Proxy{
		cmd:      cmd,
		opts:     o,
		logger:   o.Logger,
		changed:  make(chan struct{}),
		relays:   make(map[string]relay),
		children: make(map[*child]struct{}),
	}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.gen = 1
	c, err := p.startChild(ctx, p.gen)
	if err != nil {
		p.cancel()
		return nil, err
	}
	if err := p.buildServer(ctx, c); err != nil {
		p.cancel()
		p.stopChild(c, false)
		return nil, err
	}
	p.mu.Lock()
	p.cur = c
	p.children[c] = struct{}{}
	p.mu.Unlock()
	return p, nil
}

// Server returns the *mcp.Server that serves the child's features: give
// it to mcplambda.Start, Serve or NewHandler.
func (p *Proxy) Server() *mcp.Server { return p.server }

// Close stops the child process (closing its stdin, then SIGTERM, then
// SIGKILL, within [ProxyOptions.ShutdownTimeout]) and waits for the
// goroutines the proxy owns. Requests in progress fail. Close is
// idempotent.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.cancel()
		if c := p.cur; c != nil {
			p.cur = nil
			p.retire(c, true)
		}
		p.broadcast()
	}
	for {
		busy := false
		for c := range p.children {
			if c.inflight > 0 {
				busy = true
				c.kill()
			}
		}
		if !busy {
			break
		}
		ch := p.changed
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// broadcast wakes the requests waiting for a state change. p.mu is held.
func (p *Proxy) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// acquire returns the child to use for a request from principal, starting
// one if needed, and counts the request in.
func (p *Proxy) acquire(ctx context.Context, principal string) (*child, error) {
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		c := p.cur
		switch {
		case c != nil && c.dead() != nil:
			// Dead or hung: replace it before serving anyone.
			p.logger.InfoContext(ctx, "stdio: restarting the server process", "pid", c.cmd.Process.Pid, "cause", c.dead())
			p.failed = true
			p.cur = nil
			p.retire(c, c.inflight == 0)
			continue
		case c != nil && p.opts.Isolation == PerRequest && c.claimed:
			p.cur = nil // retired by its own request
			continue
		case c != nil && p.opts.Isolation == PerPrincipal && c.claimed && c.principal != principal:
			if c.inflight == 0 {
				p.logger.Debug("stdio: new principal; restarting the server process")
				p.cur = nil
				p.retire(c, true)
				continue
			}
		case c != nil:
			c.claimed = true
			c.principal = principal
			c.inflight++
			if p.opts.Isolation == PerRequest {
				p.cur = nil
			}
			p.mu.Unlock()
			return c, nil
		case !p.starting:
			if p.opts.Isolation == PerRequest {
				// Every request starts its own process.
				p.gen++
				gen := p.gen
				p.mu.Unlock()
				c, err := p.startChild(ctx, gen)
				if err != nil {
					return nil, err
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				if p.closed {
					p.stopChild(c, false)
					return nil, ErrClosed
				}
				p.children[c] = struct{}{}
				c.claimed, c.principal, c.inflight = true, principal, 1
				return c, nil
			}
			p.starting = true
			p.gen++
			gen := p.gen
			if p.failed {
				// Counted in the metrics of the invocation that pays for it.
				telemetry.Add(ctx, "ChildRestarts", telemetry.Count, 1)
				p.failed = false
			}
			p.mu.Unlock()
			c, err := p.startChild(ctx, gen)
			p.mu.Lock()
			p.starting = false
			p.broadcast()
			if err != nil {
				p.mu.Unlock()
				return nil, err
			}
			if p.closed {
				p.mu.Unlock()
				p.stopChild(c, false)
				return nil, ErrClosed
			}
			p.children[c] = struct{}{}
			p.cur = c
			continue
		}
		// Wait for the requests in progress or the start to finish.
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.mu.Lock()
	}
}

// release counts a request out of c. failed reports that c must not serve
// another request.
func (p *Proxy) release(c *child, failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.inflight--
	p.broadcast()
	if p.opts.Isolation == PerRequest {
		if c.inflight == 0 {
			p.retire(c, !failed)
		}
		return
	}
	if failed && p.cur == c {
		p.cur = nil
		p.failed = true
		p.retire(c, false)
	} else if p.cur != c && c.inflight == 0 && c.dead() != nil {
		// Replaced while this request was using it.
		p.retire(c, false)
	}
}

// retire stops c in the background, gracefully or not. p.mu is held.
func (p *Proxy) retire(c *child, graceful bool) {
	if c.inflight > 0 {
		// Its requests fail quickly once it is killed; release retires it.
		c.kill()
		return
	}
	c.fail(ErrClosed)
	delete(p.children, c)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.stopChild(c, graceful)
	}()
}
