package stdio

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// RunOptions configures [Run]. A nil *RunOptions means all defaults.
type RunOptions struct {
	// ResolveEnv replaces the secret references (ssm:NAME,
	// secretsmanager:ID[#KEY]) among the server's KEY=VALUE environment
	// pairs with their values; awssecrets.ResolveEnv does it with the
	// function's role. If nil, a configuration holding a reference is an
	// error.
	ResolveEnv func(ctx context.Context, env []string) ([]string, error)
}

// Run starts the server of cfg behind a [Proxy] and serves it with
// mcplambda.Serve, the one serving path of every mcplambda server: inside
// AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it runs the Lambda runtime
// loop for every front door, with the function's logs and EMF metrics
// (including the ChildRestarts count), and does not return (on SIGTERM it
// stops the server process and exits); elsewhere it serves HTTP on
// cfg.Server.Addr until ctx ends, then stops the server process and
// returns nil. cfg.Server.Ready and cfg.Server.Logger work as for
// mcplambda.Serve; the proxy logs to cfg.Server.Logger unless
// cfg.Proxy.Logger is set.
//
// Secret references in cfg.Command.Env are resolved once, before the
// server starts, with opts.ResolveEnv. With cfg.Server.Sessions set, the
// proxy relays the server's requests to its clients
// ([ProxyOptions.RelayRequests]).
func Run(ctx context.Context, cfg Config, opts *RunOptions) error {
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	if cfg.Server.Logger == nil {
		cfg.Server.Logger = telemetry.DefaultLogger()
	}
	if cfg.Proxy.Logger == nil {
		cfg.Proxy.Logger = cfg.Server.Logger
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
	if cfg.Server.Sessions != nil {
		// Legacy callers can then be asked: relay the server's requests.
		cfg.Proxy.RelayRequests = true
	}
	p, err := NewProxy(ctx, cfg.Command, &cfg.Proxy)
	if err != nil {
		// Serve anyway, so that clients learn why instead of getting a
		// bare 502 for a failed init.
		cfg.Server.Logger.ErrorContext(ctx, "stdio: the server could not start", "err", err)
		return mcplambda.Serve(ctx, failedServer(err), &cfg.Server)
	}
	server := cfg.Server
	server.Shutdown = func() {
		p.Close()
		if cfg.Server.Shutdown != nil {
			cfg.Server.Shutdown()
		}
	}
	return mcplambda.Serve(ctx, p.Server(), &server)
}

// failedServer answers every request with a JSON-RPC internal error that
// says the stdio server could not start, and why.
func failedServer(cause error) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "mcplambda-stdio", Version: "unavailable"}, nil)
	msg := fmt.Sprintf("the stdio MCP server could not start: %v; see the function log", cause)
	s.AddReceivingMiddleware(func(mcp.MethodHandler) mcp.MethodHandler {
		return func(context.Context, string, mcp.Request) (mcp.Result, error) {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: msg}
		}
	})
	return s
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
