// Package mcpproxy serves remote MCP servers — behind a URL, a Lambda
// function reached through the Invoke API, a stdio child — as one local
// go-sdk [mcp.Server]. "mcplambda proxy" runs it with one remote over
// stdio or a loopback HTTP listener, for clients that cannot reach the
// remote themselves; "mcplambda gateway" (package gateway) runs it with
// several, namespaced, behind one endpoint.
//
//	p := mcpproxy.New(&mcpproxy.Options{
//		Transport: func() mcp.Transport { return &mcp.StreamableClientTransport{Endpoint: url} },
//	})
//	defer p.Close()
//	err := p.Server().Run(ctx, &mcp.StdioTransport{})
//
// Both sides are go-sdk, which does all the protocol work: the local side
// is an mcp.Server (initialize or server/discover, whichever era the local
// client speaks), each remote side an mcp.ClientSession (2026-07-28 or an
// older protocol, as asked and as the remote agrees). A receiving
// middleware forwards tools, resources, resource templates, prompts and
// completion to the remote that owns them. A remote session is opened on
// the first request that needs it (or by [Proxy.Start]), with the
// capabilities of the local client that caused it, and opened again after
// it dies.
//
// # One remote: a transparent proxy
//
// With [Options.Transport], or one [Backend] without a prefix or a tool
// filter, the proxy is transparent: lists are forwarded as they are
// (pages, cursors and cache hints included), and the local handshake
// answers with the remote's capabilities, instructions and server info.
//
// # Several remotes: a gateway
//
// With [Options.Backends], each backend's tools and prompts are named
// PREFIX__NAME and its resources and resource templates PREFIX+URI
// ([NameSeparator], [URISeparator]; PREFIX is [Backend.Prefix], "" for
// none), so that the owner of any name is known from the name alone: a
// prefix is lowercase letters, digits and hyphens ([ValidPrefix]), and at
// most one backend has none. URIs in results (resource contents, resource
// links and embedded resources in tool results and prompt messages, and
// resources/updated notifications) are rewritten the same way. Lists are
// answered in one page, merged from every backend in the order of
// [Options.Backends] (all of each backend's pages); their cache hint
// (ttlMs) is the shortest time any backend's part stays fresh (0 when a
// backend speaks a protocol without cache hints or is missing), and their
// cacheScope is private if any part is. A backend that cannot answer a
// list in time is left out, and the list says so in its _meta under
// [MetaKeyUnavailable]; a call to a backend that fails gets a JSON-RPC
// error that names the backend. [Backend.Timeout] bounds every request to
// a backend, and a context deadline (the Lambda invocation's) bounds them
// all: a list is answered with what arrived before it.
//
// # What is relayed
//
// What a remote sends back is relayed to the local client that caused
// it: progress notifications (the proxy gives each forwarded request its
// own progress token), log messages (to the local sessions that asked for
// them), list_changed and resources/updated notifications, and the
// remote's requests for elicitation, sampling and roots. When a
// 2026-07-28 remote answers input_required (multi round-trip requests,
// SEP-2322), a local client of the same era gets the result as it is and
// retries itself; an older local client is asked with the real
// server-to-client requests (elicitation/create, sampling/createMessage,
// roots/list) and the proxy retries with the answers, up to
// [Options.MaxRounds] rounds.
//
// Failures to reach a remote become a JSON-RPC internal error whose
// message is the explanation from [Options.Explain] (or
// [Backend.Explain]), and one call of [Options.OnFailure]; errors the
// remote answers with pass through with their code ([ServerError]). The
// proxy keeps serving. A panic while forwarding fails that request only.
//
// What cannot be bridged: a server-to-client request of an older remote
// (elicitation during a tools/call) to a 2026-07-28 local client, which
// can only be asked through input_required; notifications of a remote
// reached through the Lambda Invoke API, which carries none (see
// [Backend.NoNotifications]); and
// list_changed from a remote on Lambda, whose instances cannot hold a
// subscription open.
package mcpproxy

//lint:file-ignore SA1019 the proxy relays sampling, roots and logging, deprecated since 2026-07-28 (SEP-2577) but used by clients and servers of every era.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// newProtocol is the first protocol version without sessions, where
// input_required replaces server-to-client requests.
const newProtocol = "2026-07-28"

// The namespacing rule of a proxy with several backends: a backend with
// prefix P serves its tool or prompt N as P + NameSeparator + N, and its
// resource or resource template U as P + URISeparator + U.
const (
	NameSeparator = "__"
	URISeparator  = "+"
)

// MetaKeyUnavailable is the _meta key of a merged list that lacks the
// items of some backends: its value is a list of {"backend": NAME,
// "error": MESSAGE}, in the order of [Options.Backends].
const MetaKeyUnavailable = "io.github.mcplambda/unavailable"

// validPrefix is what a backend prefix may be: it cannot contain the
// separators, and it is a valid start of a URI scheme.
var validPrefix = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// ValidPrefix reports whether p may be a [Backend.Prefix] other than "":
// a lowercase letter, then up to 31 lowercase letters, digits and
// hyphens.
func ValidPrefix(p string) bool { return validPrefix.MatchString(p) }

// Options configures a [Proxy]. Transport or Backends is required; the
// zero value of every other field is a documented default.
type Options struct {
	// Transport returns a new transport to the remote server of a
	// transparent proxy: it is Backends with one unnamed Backend of
	// Transport, ProtocolVersion and NoNotifications.
	Transport func() mcp.Transport

	// ProtocolVersion is the protocol version to ask the remote of
	// Transport for. "" means go-sdk's latest: 2026-07-28, falling back
	// to initialize when the remote does not know server/discover.
	ProtocolVersion string

	// NoNotifications says that the remote of Transport cannot send
	// notifications; see [Backend.NoNotifications].
	NoNotifications bool

	// Backends are the remote servers, when there is more than Transport.
	// Names and prefixes must be unique, prefixes valid ([ValidPrefix])
	// and at most one backend without one: New panics otherwise.
	Backends []Backend

	// Implementation is the server info of a proxy that is not
	// transparent. nil means {Name: "mcplambda-gateway", Version: "v1"}.
	Implementation *mcp.Implementation

	// Instructions are the instructions of a proxy that is not
	// transparent, before each backend's own (as "NAME: INSTRUCTIONS").
	Instructions string

	// Explain returns the error the local client gets for err, a failure
	// of a request to a remote whose Backend has no Explain; op says what
	// failed: "connecting", or a method and its tool, prompt or resource
	// ("tools/call get_current_time"). A *jsonrpc.Error it returns
	// (typically the remote's own answer, see [ServerError]) is sent as it
	// is; any other error is a failure to reach the remote: it is sent as
	// an internal error with its message, and passed to OnFailure. nil
	// means the remote's JSON-RPC error if err holds one, else err (for a
	// named backend: a message naming it).
	Explain func(ctx context.Context, op string, err error) error

	// OnFailure is called once per failure to reach a remote, with the
	// explained error. nil means nothing is done.
	OnFailure func(err error)

	// Observe, if set, is called after every request to a backend (a
	// list counts once, whatever its pages), for metrics and logs.
	Observe func(ctx context.Context, o Observation)

	// MaxRounds bounds the input_required rounds of one request of a
	// local client older than 2026-07-28. 0 means 10.
	MaxRounds int

	// Logger receives go-sdk's debug logs and the proxy's warnings (items
	// a backend lists under another backend's prefix). nil means discard.
	Logger *slog.Logger
}

// Backend is one remote server of a [Proxy].
type Backend struct {
	// Name names the backend in errors, in the _meta of lists and in
	// observations. It is required when Options.Backends has more than
	// one backend.
	Name string

	// Prefix namespaces the backend's tools, prompts, resources and
	// resource templates (see the package documentation). "" means none.
	Prefix string

	// Transport returns a new transport to the backend. The proxy
	// connects when a request needs the backend, and again after the
	// session dies. Required.
	Transport func() mcp.Transport

	// ProtocolVersion is the protocol version to ask the backend for.
	// "" means go-sdk's latest: 2026-07-28, falling back to initialize
	// when the backend does not know server/discover.
	ProtocolVersion string

	// NoNotifications says that the backend cannot send notifications:
	// the Lambda Invoke API returns a response alone, and a server that
	// tries to notify there may fail the request. The proxy then asks the
	// backend for none: no progress token, no log level.
	NoNotifications bool

	// Timeout bounds every request to the backend, connecting included.
	// 0 means no bound other than the request's context.
	Timeout time.Duration

	// Tools, if set, says which of the backend's tools (by the backend's
	// own names) are served; the others are left out of lists and
	// unknown to calls. nil means all.
	Tools func(name string) bool

	// Explain is Options.Explain for this backend. nil means
	// Options.Explain.
	Explain func(ctx context.Context, op string, err error) error

	// Meta, if set, edits the _meta of every request forwarded to the
	// backend, after the proxy has made it (for example, to add the
	// caller's identity).
	Meta func(ctx context.Context, meta mcp.Meta)

	// RetryAfter is how long the proxy waits after a failed connection
	// before it tries again, doubling up to 8 times RetryAfter while the
	// backend stays down; meanwhile requests for it fail at once. 0 means
	// every request tries to connect.
	RetryAfter time.Duration
}

// Observation is one request to a backend, for [Options.Observe].
type Observation struct {
	Backend  string        // Backend.Name
	Method   string        // the MCP method
	Name     string        // the tool or prompt, as the backend names it, for tools/call and prompts/get
	Duration time.Duration // connecting included
	Err      error         // the error the local client got for it, or nil
	IsError  bool          // a tool result with isError
}

// Proxy is a local MCP server that forwards to remote ones. Its methods
// are safe for concurrent use.
type Proxy struct {
	// set at construction
	opts        Options
	server      *mcp.Server
	remotes     []*remote
	byPrefix    map[string]*remote
	unprefixed  *remote             // the backend without a prefix, if any
	transparent bool                // one backend, no prefix, no filter: lists pass through
	impl        *mcp.Implementation // Options.Implementation or its default
	serverImpl  *mcp.Implementation // the local server's: impl, or the proxy's own when transparent

	mu     sync.Mutex       // guards the fields below
	calls  map[string]*call // forwarded requests in flight, by the proxy's progress token
	seq    int64
	levels map[*mcp.ServerSession]mcp.LoggingLevel // set by older local clients with logging/setLevel
	closed bool
}

// call is a forwarded request in flight.
type call struct {
	ctx     context.Context // the local request's, which routes notifications to it
	ss      *mcp.ServerSession
	r       *remote // the only remote whose notifications may use it
	token   any     // the local client's progress token, or nil
	newProt bool    // the local client speaks 2026-07-28 or later
}

// New returns a proxy. It connects to nothing until a local client sends
// its first request, or [Proxy.Start] is called. It panics if opts has
// neither Transport nor Backends, or backends that break the rules of
// [Options.Backends].
func New(opts *Options) *Proxy {
	p := &Proxy{
		calls:    make(map[string]*call),
		levels:   make(map[*mcp.ServerSession]mcp.LoggingLevel),
		byPrefix: make(map[string]*remote),
	}
	if opts != nil {
		p.opts = *opts
	}
	backends := p.opts.Backends
	if p.opts.Transport != nil {
		backends = append([]Backend{{Transport: p.opts.Transport, ProtocolVersion: p.opts.ProtocolVersion, NoNotifications: p.opts.NoNotifications}}, backends...)
	}
	if len(backends) == 0 {
		panic("mcpproxy: Options.Transport or Options.Backends is required")
	}
	names := map[string]bool{}
	for i, b := range backends {
		switch {
		case b.Transport == nil:
			panic(fmt.Sprintf("mcpproxy: backend %d (%q) has no Transport", i, b.Name))
		case b.Name == "" && len(backends) > 1:
			panic(fmt.Sprintf("mcpproxy: backend %d has no Name", i))
		case names[b.Name]:
			panic(fmt.Sprintf("mcpproxy: two backends named %q", b.Name))
		case b.Prefix != "" && !ValidPrefix(b.Prefix):
			panic(fmt.Sprintf("mcpproxy: backend %q: invalid prefix %q", b.Name, b.Prefix))
		case b.Prefix != "" && p.byPrefix[b.Prefix] != nil:
			panic(fmt.Sprintf("mcpproxy: two backends with prefix %q", b.Prefix))
		case b.Prefix == "" && p.unprefixed != nil:
			panic(fmt.Sprintf("mcpproxy: backends %q and %q both have no prefix", p.unprefixed.b.Name, b.Name))
		}
		names[b.Name] = true
		r := &remote{p: p, b: b, subs: make(map[string]int), lists: make(map[string]pageSnap)}
		p.remotes = append(p.remotes, r)
		if b.Prefix == "" {
			p.unprefixed = r
		} else {
			p.byPrefix[b.Prefix] = r
		}
	}
	p.transparent = len(p.remotes) == 1 && p.unprefixed != nil && p.unprefixed.b.Tools == nil
	if p.opts.MaxRounds <= 0 {
		p.opts.MaxRounds = 10
	}
	if p.opts.Logger == nil {
		p.opts.Logger = slog.New(slog.DiscardHandler)
	}
	p.impl = p.opts.Implementation
	if p.impl == nil {
		p.impl = &mcp.Implementation{Name: "mcplambda-gateway", Version: "v1"}
	}
	// Every capability, with list_changed and subscriptions, so that
	// go-sdk lets local clients subscribe to what the remotes may send;
	// the handshake advertises the remotes' own capabilities instead.
	p.serverImpl = &mcp.Implementation{Name: "mcplambda-proxy", Version: "v1"}
	if !p.transparent {
		p.serverImpl = p.impl
	}
	p.server = mcp.NewServer(p.serverImpl, &mcp.ServerOptions{
		Logger: p.opts.Logger,
		Capabilities: &mcp.ServerCapabilities{
			Tools:       &mcp.ToolCapabilities{ListChanged: true},
			Prompts:     &mcp.PromptCapabilities{ListChanged: true},
			Resources:   &mcp.ResourceCapabilities{ListChanged: true, Subscribe: true},
			Completions: &mcp.CompletionCapabilities{},
			Logging:     &mcp.LoggingCapabilities{},
		},
		SubscribeHandler:        p.subscribe,
		UnsubscribeHandler:      p.unsubscribe,
		RootsListChangedHandler: p.rootsChanged,
	})
	p.server.AddReceivingMiddleware(p.middleware)
	return p
}

// Server returns the local server, to run on a transport or serve with
// mcp.NewStreamableHTTPHandler or mcplambda.Serve.
func (p *Proxy) Server() *mcp.Server { return p.server }

// Close closes the remote sessions. The local server stops forwarding.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	var errs []error
	for _, r := range p.remotes {
		if err := r.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// ErrClosed is the error of requests after [Proxy.Close].
var ErrClosed = errors.New("mcpproxy: closed")

// Status is what [Proxy.Start] found of one backend.
type Status struct {
	Name string
	// Err is why the backend could not be reached or listed, or nil.
	Err error
	// ProtocolVersion is the protocol version the backend speaks.
	ProtocolVersion string
	// The number of items the backend lists (after Backend.Tools).
	Tools, Prompts, Resources, Templates int
}

// ErrCollision is wrapped by the error of [Proxy.Start] when the backend
// without a prefix lists a name or URI that another backend's prefix
// claims.
var ErrCollision = errors.New("mcpproxy: name collision")

// Start connects every backend at once, each within its Timeout and ctx,
// and lists what it serves. It returns each backend's status, in the
// order of the backends, and an error wrapping [ErrCollision] if the
// backend without a prefix lists a tool or prompt named PREFIX__NAME or a
// resource PREFIX+URI for another backend's PREFIX, which could never be
// reached. A backend that cannot be reached is not an error: requests
// that need it connect again.
func (p *Proxy) Start(ctx context.Context) ([]Status, error) {
	out := make([]Status, len(p.remotes))
	var wg sync.WaitGroup
	for i, r := range p.remotes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = r.start(ctx)
		}()
	}
	wg.Wait()
	var errs []error
	if u := p.unprefixed; u != nil && !p.transparent {
		for _, name := range u.startNames {
			if owner := p.shadowed(name); owner != nil {
				errs = append(errs, fmt.Errorf("%w: backend %q (no prefix) lists %q, which names backend %q's prefix %q", ErrCollision, u.b.Name, name, owner.b.Name, owner.b.Prefix))
			}
		}
	}
	return out, errors.Join(errs...)
}

// ServerError returns the JSON-RPC error the remote answered with, found
// in err's chain (go-sdk wraps an error body of an HTTP error status in
// its transport-failure marker), or nil.
func ServerError(err error) *jsonrpc.Error {
	if err == nil {
		return nil
	}
	if je, ok := err.(*jsonrpc.Error); ok && je.Code != rejectedCode {
		return je
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return ServerError(u.Unwrap())
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if je := ServerError(e); je != nil {
				return je
			}
		}
	}
	return nil
}

// rejectedCode is the code of go-sdk's marker of a message that failed in
// the transport (the HTTP request or the invocation), not in the server.
const rejectedCode = -32005
