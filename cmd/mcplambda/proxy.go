package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/internal/hostcheck"
	"github.com/mcplambda/mcplambda/internal/mcpproxy"
	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ProxyCommand is "mcplambda proxy": a local MCP server, on standard
// input and output or a loopback HTTP listener, that forwards to a remote
// one, for clients that cannot sign SigV4, call the Lambda Invoke API or
// sign in with OAuth themselves.
type ProxyCommand struct {
	Stdin  io.Reader // the MCP protocol from the local client, in stdio mode
	Stdout io.Writer // the MCP protocol to the local client, in stdio mode; the ready line with --listen
	Stderr io.Writer // sign-in prompts, one line per failure
}

const proxyHint = `Run "mcplambda proxy -h" for usage.`

// proxyConfig is the parsed command line of proxy.
type proxyConfig struct {
	targetConfig
	listen  string
	verbose bool
}

func (c *ProxyCommand) flagSet(cfg *proxyConfig) *flag.FlagSet {
	set := flag.NewFlagSet("mcplambda proxy", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Usage = func() {}
	cfg.targetConfig.addFlags(set)
	set.StringVar(&cfg.listen, "listen", "", "serve streamable HTTP at http://`ADDRESS`/mcp instead of standard input and output;\na loopback address such as 127.0.0.1:8000 (port 0 picks a free port)")
	set.BoolVar(&cfg.noBrowser, "no-browser", false, "with --oauth, print the sign-in URL on standard error without opening a browser")
	set.BoolVar(&cfg.verbose, "v", false, "log what go-sdk does on standard error")
	return set
}

func (c *ProxyCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda proxy [flags] TARGET

Proxy is a local MCP server that forwards to the MCP server at TARGET, so
that any MCP client (Claude Desktop, Claude Code, Cursor, VS Code, the MCP
Inspector) reaches a server behind IAM (SigV4), OAuth or the Lambda Invoke
API. TARGET is an http(s) URL of an MCP endpoint, or
lambda:FUNCTION[:QUALIFIER] to invoke a function through the Lambda
Invoke API; FUNCTION is a name or ARN.

By default the local side is standard input and output, which is what
desktop clients start: {"command": "mcplambda", "args": ["proxy", "--sigv4", URL]}.
Nothing but the MCP protocol is ever written to standard output. With
--listen, it is streamable HTTP at http://ADDRESS/mcp on a loopback
address. Sign-in prompts and one line per failure go to standard error.

Flags:
`)
	var cfg proxyConfig
	set := c.flagSet(&cfg)
	set.SetOutput(w)
	set.PrintDefaults()
}

// parse parses the command line of proxy; flags may come before and after
// TARGET.
func (c *ProxyCommand) parse(args []string) (*proxyConfig, error) {
	cfg := &proxyConfig{}
	set := c.flagSet(cfg)
	operands, err := parseInterspersed(set, "proxy", proxyHint, args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(operands) == 0:
		return nil, usagef(proxyHint, "proxy: no TARGET given: want an MCP endpoint URL or lambda:FUNCTION[:QUALIFIER]")
	case len(operands) > 1:
		return nil, usagef(proxyHint, "proxy: unexpected argument %q after TARGET", operands[1])
	}
	cfg.target = operands[0]
	if cfg.listen != "" {
		host, _, err := net.SplitHostPort(cfg.listen)
		if err != nil {
			return nil, usagef(proxyHint, "proxy: --listen %q: want host:port, e.g. 127.0.0.1:8000", cfg.listen)
		}
		if !hostcheck.IsLoopback(host) {
			return nil, usagef(proxyHint, "proxy: --listen %q: want a loopback address (127.0.0.1, [::1] or localhost): the proxy acts with your credentials", cfg.listen)
		}
	}
	if err := cfg.targetConfig.validate("proxy", proxyHint); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Run serves until the local client goes away (stdio) or ctx is done.
func (c *ProxyCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(c.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	stderr := syncio.NewWriter(c.Stderr)
	rem, err := newRemote(&cfg.targetConfig, "proxy", "the client's time limit", stderr)
	if err != nil {
		return err
	}
	defer rem.close()
	logger := slog.New(slog.DiscardHandler)
	if cfg.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p := mcpproxy.New(&mcpproxy.Options{
		Transport:       rem.transport,
		ProtocolVersion: cfg.protocol,
		NoNotifications: strings.HasPrefix(cfg.target, "lambda:"),
		Explain: func(ctx context.Context, op string, err error) error {
			if je := mcpproxy.ServerError(err); je != nil && !rem.authFailed() {
				return je // the remote's answer, as it is
			}
			return fmt.Errorf("mcplambda %w", rem.explain(ctx, op, err))
		},
		OnFailure: func(err error) { fmt.Fprintln(stderr, oneLine(err)) },
		Logger:    logger,
	})
	defer p.Close()

	if cfg.listen == "" {
		fmt.Fprintf(stderr, "mcplambda: proxy: serving %s on standard input and output\n", cfg.target)
		err := p.Server().Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(c.Stdin), Writer: nopWriteCloser{c.Stdout}})
		if err != nil && ctx.Err() == nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("proxy: %w", err)
		}
		return nil
	}
	return c.serveHTTP(ctx, cfg, p, stderr)
}

// serveHTTP serves the proxy as streamable HTTP on the loopback listener
// until ctx is done. Clients of 2026-07-28 (which send MCP-Protocol-Version
// 2026-07-28 or later) are served statelessly; older clients get sessions,
// through which the remote's requests, log messages and list_changed
// notifications reach them. go-sdk refuses a Host that is not loopback
// (DNS rebinding); a cross-origin browser request is refused too.
func (c *ProxyCommand) serveHTTP(ctx context.Context, cfg *proxyConfig, p *mcpproxy.Proxy, stderr io.Writer) error {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	defer ln.Close()
	getServer := func(*http.Request) *mcp.Server { return p.Server() }
	sessions := mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{SessionTimeout: time.Hour})
	stateless := mcp.NewStreamableHTTPHandler(getServer, &mcp.StreamableHTTPOptions{Stateless: true})
	mux := http.NewServeMux()
	mux.Handle("/mcp", http.NewCrossOriginProtection().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("MCP-Protocol-Version"); v >= "2026-07-28" {
			stateless.ServeHTTP(w, r)
			return
		}
		sessions.ServeHTTP(w, r)
	})))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(c.Stdout, "mcplambda: listening on http://%s/mcp\n", displayAddr(ln.Addr()))
	fmt.Fprintf(stderr, "mcplambda: proxy: serving %s; Ctrl-C stops\n", cfg.target)
	select {
	case err := <-errc:
		return fmt.Errorf("proxy: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	srv.Close()
	return nil
}

// nopWriteCloser is an io.WriteCloser whose Close does nothing: closing
// the session must not close the process's standard output.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
