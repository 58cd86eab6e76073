package stdio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda"
)

// RunOptions configures [Run]. A nil *RunOptions means all defaults.
type RunOptions struct {
	// ResolveEnv replaces the secret references (ssm:NAME,
	// secretsmanager:ID[#KEY]) among the server's KEY=VALUE environment
	// pairs with their values; awssecrets.ResolveEnv does it with the
	// function's role. If nil, a configuration holding a reference is an
	// error.
	ResolveEnv func(ctx context.Context, env []string) ([]string, error)

	// Logger receives the adapter's log lines. nil means a text handler
	// on stderr (the function log).
	Logger *slog.Logger

	// Ready is called with the MCP endpoint's URL once a local server
	// listens. nil prints "mcplambda: listening on URL" to stdout, as
	// mcplambda.Start does.
	Ready func(url string)
}

// Run starts the server of cfg behind a [Proxy] and serves it: inside
// AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it runs the Lambda runtime
// loop for every mcplambda front door and does not return (on SIGTERM it
// stops the server and exits); elsewhere it serves HTTP on
// cfg.Server.Addr (default 127.0.0.1:$PORT or 127.0.0.1:8080) until ctx
// ends, then stops the server and returns nil.
//
// Secret references in cfg.Command.Env are resolved once, before the
// server starts, with opts.ResolveEnv.
func Run(ctx context.Context, cfg Config, opts *RunOptions) error {
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if hasSecretRefs(cfg.Command.Env) {
		if o.ResolveEnv == nil {
			return errors.New("stdio: the server environment references secrets (ssm:, secretsmanager:) but no resolver is configured")
		}
		env, err := o.ResolveEnv(ctx, cfg.Command.Env)
		if err != nil {
			return err
		}
		cfg.Command.Env = env
	}
	if cfg.Proxy.Logger == nil {
		cfg.Proxy.Logger = o.Logger
	}
	if cfg.Server.Logger == nil {
		cfg.Server.Logger = o.Logger
	}
	p, err := NewProxy(ctx, cfg.Command, &cfg.Proxy)
	if err != nil {
		return err
	}
	defer p.Close()
	h := p.Handler(&cfg.Server)

	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		lopts := append(cfg.Server.LambdaOptions[:len(cfg.Server.LambdaOptions):len(cfg.Server.LambdaOptions)],
			lambda.WithEnableSIGTERM(func() {
				p.Close()
				os.Exit(0)
			}))
		// The options go both ways: a streaming handler (ResponseStream)
		// carries its own and ignores StartWithOptions'.
		server := cfg.Server
		server.LambdaOptions = lopts
		lambda.StartWithOptions(mcplambda.NewLambdaHandler(h, &server), lopts...)
		return nil // not reached: lambda.Start exits the process on failure
	}
	return serveLocal(ctx, h, &cfg.Server, o.Ready)
}

func serveLocal(ctx context.Context, h http.Handler, so *mcplambda.Options, ready func(string)) error {
	addr := so.Addr
	if addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	path := so.Path
	if path == "" {
		path = "/mcp"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("stdio: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + path
	if ready == nil {
		fmt.Println("mcplambda: listening on " + url)
	} else {
		ready(url)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("stdio: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("stdio: shutdown: %w", err)
	}
	return nil
}

// hasSecretRefs reports whether a KEY=VALUE pair's value is a secret
// reference.
func hasSecretRefs(env []string) bool {
	for _, kv := range env {
		_, v, _ := strings.Cut(kv, "=")
		if IsSecretRef(v) {
			return true
		}
	}
	return false
}

// IsSecretRef reports whether an environment value refers to a secret to
// be resolved at start: "ssm:" followed by a parameter name or ARN, or
// "secretsmanager:" followed by a secret name or ARN and optionally
// "#" and a JSON key.
func IsSecretRef(v string) bool {
	return strings.HasPrefix(v, "ssm:") || strings.HasPrefix(v, "secretsmanager:")
}
