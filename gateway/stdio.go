package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/mcplambda/mcplambda/stdio"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// errClosed is the error of a stdio backend used after Gateway.Close.
var errClosed = errors.New("gateway: closed")

// stdioBackend is a stdio backend: package stdio's Proxy, which runs the
// command as a warm child process (restarted when it dies), started on
// first use and again if it failed to start. The gateway's client reaches
// the Proxy's server in memory, speaking 2026-07-28 to it whatever the
// child speaks.
type stdioBackend struct {
	cmd  stdio.Command      // set at construction
	opts stdio.ProxyOptions // set at construction

	mu     sync.Mutex // held while starting
	p      *stdio.Proxy
	closed bool
}

// transport returns a transport to the backend, for mcpproxy.Backend.
func (s *stdioBackend) transport() mcp.Transport { return (*stdioTransport)(s) }

type stdioTransport stdioBackend

// Connect starts the child if it is not running, and connects to the
// stdio Proxy's server in memory.
func (t *stdioTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	p, err := (*stdioBackend)(t).get(ctx)
	if err != nil {
		return nil, err
	}
	ct, st := mcp.NewInMemoryTransports()
	// The server's side of the session lives until the client closes it.
	if _, err := p.Server().Connect(context.WithoutCancel(ctx), st, nil); err != nil {
		return nil, err
	}
	return ct.Connect(ctx)
}

// get returns the stdio Proxy, starting it if needed; ctx bounds the
// start.
func (s *stdioBackend) get(ctx context.Context) (*stdio.Proxy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if s.p != nil {
		return s.p, nil
	}
	p, err := stdio.NewProxy(ctx, s.cmd, &s.opts)
	if err != nil {
		return nil, err
	}
	s.p = p
	return p, nil
}

// close stops the child process.
func (s *stdioBackend) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.p == nil {
		return nil
	}
	return s.p.Close()
}
