package stdio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// child is one server process and the MCP client session connected to it.
type child struct {
	// set at start
	gen    int
	cmd    *exec.Cmd
	cs     *mcp.ClientSession
	exited chan struct{} // closed once the process has been reaped
	done   chan struct{} // closed once every goroutine of the child has ended

	// guarded by Proxy.mu
	claimed   bool    // it has served (or is serving) a request
	principal string  // per-principal mode: the principal it serves
	inflight  int     // requests using it now
	calls     []*call // forwarded requests in progress, with RelayRequests

	mu     sync.Mutex
	cause  error     // why the child is unusable; nil while healthy
	stopBy time.Time // a graceful stop began: its group must be gone by then
	killed bool      // its group was killed: kill what is left at once
}

// kill kills the child's process group at once (and, once the child has
// exited, whatever is left of it).
func (c *child) kill() {
	c.mu.Lock()
	c.killed = true
	c.mu.Unlock()
	killGroup(c.cmd)
}

// groupDeadline is when what is left of the child's process group after
// the child exited gets SIGKILL: at once if the child was killed, at the
// end of a graceful stop, else (the child exited on its own) after grace.
func (c *child) groupDeadline(grace time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.killed:
		return time.Time{}
	case !c.stopBy.IsZero():
		return c.stopBy
	}
	return time.Now().Add(grace)
}

// fail records why the child became unusable (the first reason wins).
func (c *child) fail(err error) {
	c.mu.Lock()
	if c.cause == nil {
		c.cause = err
	}
	c.mu.Unlock()
}

// dead returns the reason the child is unusable, or nil.
func (c *child) dead() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// startChild starts the process, connects an MCP client session to it over
// its stdin and stdout and performs the initialization handshake, within
// ctx. On failure the process is killed and waited for.
func (p *Proxy) startChild(ctx context.Context, gen int) (_ *child, err error) {
	cmd := exec.Command(p.cmd.Path, p.cmd.Args...)
	cmd.Dir = p.cmd.Dir
	cmd.Env = childEnv(os.Environ(), p.cmd.Env)
	cmd.SysProcAttr = sysProcAttr()

	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdio: %w", err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW)
		return nil, fmt.Errorf("stdio: %w", err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		closeAll(stdinR, stdinW, stdoutR, stdoutW)
		return nil, fmt.Errorf("stdio: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
	if err := cmd.Start(); err != nil {
		closeAll(stdinR, stdinW, stdoutR, stdoutW, stderrR, stderrW)
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	// The child has its copies; keep only our ends.
	closeAll(stdinR, stdoutW, stderrW)

	c := &child{gen: gen, cmd: cmd, exited: make(chan struct{}), done: make(chan struct{})}
	log := p.logger.With("pid", cmd.Process.Pid)

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // stderr, line by line, into the function log
		defer wg.Done()
		copyLines(p.opts.Stderr, stderrR, maxStderrLine)
	}()
	go func() { // reaper
		defer wg.Done()
		werr := cmd.Wait()
		c.fail(fmt.Errorf("%w (%v)", ErrExited, exitReason(werr)))
		close(c.exited)
		// Whatever ended the child, what it started in its process group
		// (and below) ends too.
		endGroup(cmd, c.groupDeadline(p.opts.ShutdownTimeout/2))
		// Give stderr a moment to drain, then stop reading it even if a
		// grandchild that escaped the group still holds it open.
		t := time.NewTimer(stderrDrain)
		defer t.Stop()
		<-t.C
		stderrR.Close()
	}()

	out := &stdoutFilter{r: bufio.NewReaderSize(stdoutR, 64<<10), f: stdoutR, max: p.opts.MaxMessageBytes, junk: p.opts.Stderr, c: c, log: log, progress: func(line []byte) bool { return p.interceptProgress(c, line) }}
	transport := &mcp.IOTransport{Reader: out, Writer: stdinW, MaxLineLength: -1}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcplambda-stdio", Version: "v1"}, p.clientOptions())
	if p.opts.RelayRequests {
		client.AddReceivingMiddleware(p.relayRoots)
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.StartTimeout)
	defer cancel()
	type result struct {
		cs  *mcp.ClientSession
		err error
	}
	// Connect does not return on an exited child until ctx ends; watch
	// for the exit as well.
	resc := make(chan result, 1)
	go func() {
		cs, err := client.Connect(cctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: p.opts.ProtocolVersion})
		resc <- result{cs, err}
	}()
	var res result
	select {
	case res = <-resc:
	case <-c.exited:
		cancel()
		res = <-resc
		if res.err == nil {
			res.cs.Close()
		}
		res.err = c.dead()
	}
	if res.err != nil {
		if cause := c.dead(); cause != nil && !errors.Is(res.err, cause) {
			res.err = fmt.Errorf("%v: %w", res.err, cause)
		}
		c.kill()
		stdinW.Close()
		stdoutR.Close()
		wg.Wait()
		return nil, fmt.Errorf("%w: %s %v: initialize: %v", ErrStart, p.cmd.Path, p.cmd.Args, res.err)
	}
	c.cs = res.cs
	wg.Add(1)
	go func() { // the session ends: stdout closed, garbage, or we closed it
		defer wg.Done()
		werr := c.cs.Wait()
		if werr == nil {
			werr = errors.New("connection closed")
		}
		// An exit closes stdout too; the exit is the better explanation.
		if !waitFor(c.exited, 100*time.Millisecond) {
			c.fail(fmt.Errorf("%w: %v", ErrConnection, werr))
		}
	}()
	go func() {
		wg.Wait()
		close(c.done)
	}()
	log.Debug("stdio: server process started", "gen", gen)
	return c, nil
}

// stopChild ends the child: when graceful, it closes the session (and
// with it the child's stdin), waits up to half of opts.ShutdownTimeout for
// the process to exit, sends SIGTERM to its process group, waits the other
// half, then sends SIGKILL; what is left of the group once the child has
// exited gets SIGTERM, then SIGKILL at the end of opts.ShutdownTimeout.
// Otherwise it kills the process group at once. It returns once the
// child's goroutines have ended.
func (p *Proxy) stopChild(c *child, graceful bool) {
	if graceful {
		c.mu.Lock()
		c.stopBy = time.Now().Add(p.opts.ShutdownTimeout)
		c.mu.Unlock()
	} else {
		c.kill()
	}
	c.fail(ErrClosed)
	closed := make(chan struct{})
	go func() {
		c.cs.Close()
		close(closed)
	}()
	if graceful {
		half := p.opts.ShutdownTimeout / 2
		if !waitFor(c.exited, half) {
			termGroup(c.cmd)
			if !waitFor(c.exited, p.opts.ShutdownTimeout-half) {
				p.logger.Warn("stdio: server process ignored stdin close and SIGTERM; killing it", "pid", c.cmd.Process.Pid)
				c.kill()
			}
		}
	}
	<-c.exited
	// The read side of stdout is closed by the session; if Close is stuck
	// behind a call, the process is gone and the call fails shortly.
	<-closed
	<-c.done
}

// waitFor reports whether ch is closed within d.
func waitFor(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// childEnv is the function's environment without the variables that belong
// to the adapter (MCPLAMBDA_*) or to the Lambda runtime API (a child
// built with a Lambda runtime client would otherwise compete for
// invocations), followed by extra.
func childEnv(base, extra []string) []string {
	env := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MCPLAMBDA_") || k == "AWS_LAMBDA_RUNTIME_API" || k == "AWS_LAMBDA_EXEC_WRAPPER" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func exitReason(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

const (
	maxStderrLine = 64 << 10
	stderrDrain   = 100 * time.Millisecond
)

// copyLines copies r to w one complete line per Write, splitting lines
// longer than max, until r ends.
func copyLines(w io.Writer, r io.Reader, max int) {
	br := bufio.NewReaderSize(r, max)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				line = append(line, '\n')
			}
			w.Write(line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// stdoutFilter is the child's stdout as the MCP client reads it: one JSON
// message per line. Lines that are not JSON (a server printing a banner or
// logs to stdout) are written to junk and skipped, as the reference SDKs
// do; a line longer than max ends the stream with [ErrMessageTooLarge].
type stdoutFilter struct {
	r    *bufio.Reader
	f    *os.File
	max  int
	junk io.Writer
	c    *child
	log  *slog.Logger
	// progress is offered every notifications/progress line and reports
	// whether it consumed it. Relaying here, in stdout order, guarantees
	// the caller gets the notification before the response that follows.
	progress func(line []byte) bool

	pending []byte
	line    []byte
}

func (s *stdoutFilter) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		line, err := s.readLine()
		if err != nil {
			return 0, err
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		if (trimmed[0] != '{' && trimmed[0] != '[') || !json.Valid(trimmed) {
			s.log.Debug("stdio: skipped non-JSON line on the server's stdout", "bytes", len(line))
			w := append(bytes.Clone(trimmed), '\n')
			if len(w) > maxStderrLine {
				w = append(w[:maxStderrLine], '\n')
			}
			s.junk.Write(w)
			continue
		}
		if bytes.Contains(trimmed, []byte(`"notifications/progress"`)) && s.progress(trimmed) {
			continue
		}
		s.pending = append(line, '\n')
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// readLine returns the next line without its newline.
func (s *stdoutFilter) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		s.line = append(s.line, frag...)
		if s.max > 0 && len(s.line) > s.max+1 {
			err := fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, s.max)
			s.c.fail(err)
			return nil, err
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(s.line, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(s.line) > 0:
			return s.line, nil
		default:
			return nil, err
		}
	}
}

func (s *stdoutFilter) Close() error { return s.f.Close() }

// killGroup sends SIGKILL to the child's process group.
func killGroup(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGKILL) }

// termGroup sends SIGTERM to the child's process group.
func termGroup(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGTERM) }
