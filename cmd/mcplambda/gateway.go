package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/gateway"
	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/telemetry"
)

// GatewayCommand is "mcplambda gateway": one MCP endpoint in front of the
// MCP servers a configuration file names, served by mcplambda.Serve
// (inside Lambda, the runtime loop; elsewhere, local HTTP).
type GatewayCommand struct {
	Stdout io.Writer // the ready line; with --check, the summary
	Stderr io.Writer // warnings, logs
}

const gatewayHint = `Run "mcplambda gateway -h" for usage.`

// envGatewayConfig names the configuration file when --config is not
// given.
const envGatewayConfig = "MCPLAMBDA_GATEWAY_CONFIG"

type gatewayConfig struct {
	config  string
	addr    string
	check   bool
	json    bool
	verbose bool
}

func (c *GatewayCommand) flagSet(cfg *gatewayConfig) *flag.FlagSet {
	set := flag.NewFlagSet("mcplambda gateway", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Usage = func() {}
	set.StringVar(&cfg.config, "config", "", "the configuration `file` (default $"+envGatewayConfig+")")
	set.StringVar(&cfg.addr, "addr", "", "local listen `address` (default 127.0.0.1:$PORT, or 127.0.0.1:8080); ignored in Lambda")
	set.BoolVar(&cfg.check, "check", false, "check the configuration, print the backends and the AWS resources they need, and exit")
	set.BoolVar(&cfg.json, "json", false, "with --check, print JSON")
	set.BoolVar(&cfg.verbose, "v", false, "log every request to a backend")
	return set
}

func (c *GatewayCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda gateway [flags] --config FILE

Gateway serves the MCP servers that FILE names as one MCP endpoint: their
tools, prompts, resources and templates, namespaced per backend
(PREFIX__NAME, PREFIX+URI), with calls routed to the owning backend. FILE is
JSON in the mcpServers shape of desktop clients (Claude Desktop, Claude
Code, Cursor, VS Code), with extensions: lambda:FUNCTION[:QUALIFIER] URLs
(Invoke API, the gateway's role), sigv4 and token for HTTP backends,
prefix, allowTools, denyTools, timeout, forwardPrincipal, and a "gateway"
section (name, auth, timeouts); see "go doc github.com/mcplambda/mcplambda/gateway".

Inside AWS Lambda it runs the runtime loop for every front door; elsewhere it
serves http://127.0.0.1:$PORT/mcp and prints "mcplambda: listening on URL".
"mcplambda dev --config FILE" runs it under the Lambda emulator, and
"mcplambda build --config FILE" packages it as a function.

Flags:
`)
	var cfg gatewayConfig
	set := c.flagSet(&cfg)
	set.SetOutput(w)
	set.PrintDefaults()
}

// Run serves until ctx is done (locally) or forever (in Lambda).
func (c *GatewayCommand) Run(ctx context.Context, args []string) error {
	var cfg gatewayConfig
	set := c.flagSet(&cfg)
	if err := set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(c.Stdout)
			return nil
		}
		return &usageError{err: fmt.Errorf("gateway: %w", err), hint: gatewayHint}
	}
	if set.NArg() > 0 {
		return usagef(gatewayHint, "gateway: unexpected argument %q: the backends are in the --config file", set.Arg(0))
	}
	if cfg.config == "" {
		cfg.config = os.Getenv(envGatewayConfig)
	}
	if cfg.config == "" {
		return usagef(gatewayHint, "gateway: no configuration: give --config FILE (or set $%s)", envGatewayConfig)
	}
	conf, err := gateway.Load(cfg.config)
	if err != nil {
		return err
	}
	stderr := syncio.NewWriter(c.Stderr)
	if cfg.check {
		return c.check(conf, cfg.json, stderr)
	}
	var logger *slog.Logger
	if !inLambda() {
		level := slog.LevelInfo
		if cfg.verbose {
			level = slog.LevelDebug
		}
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	} else if cfg.verbose {
		logger = telemetry.NewLogger(os.Stdout, &telemetry.LoggerOptions{Level: slog.LevelDebug})
	}
	return gateway.Serve(ctx, conf, &gateway.Options{
		Logger: logger,
		Serve: mcplambda.Options{
			Addr:   cfg.addr,
			Logger: logger,
			Ready:  func(url string) { fmt.Fprintln(c.Stdout, "mcplambda: listening on "+url) },
		},
	})
}

// check prints what the configuration holds.
func (c *GatewayCommand) check(conf *gateway.Config, asJSON bool, stderr io.Writer) error {
	for _, w := range conf.Warnings {
		fmt.Fprintln(stderr, w)
	}
	grants := conf.Grants()
	if asJSON {
		type backend struct {
			Name   string       `json:"name"`
			Type   gateway.Type `json:"type"`
			Prefix string       `json:"prefix"`
			Target string       `json:"target"`
		}
		out := struct {
			Backends []backend       `json:"backends"`
			Grants   *gateway.Grants `json:"grants"`
		}{Grants: grants}
		for _, b := range conf.Backends {
			out.Backends = append(out.Backends, backend{b.Name, b.Type, b.Prefix, target(&b)})
		}
		data, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "%s\n", data)
		return nil
	}
	fmt.Fprintf(c.Stdout, "%s: %d backend(s)\n", conf.File, len(conf.Backends))
	for _, b := range conf.Backends {
		prefix := b.Prefix + "__*"
		if b.Prefix == "" {
			prefix = "(no prefix)"
		}
		fmt.Fprintf(c.Stdout, "  %-16s %-7s %-20s %s\n", b.Name, b.Type, prefix, target(&b))
	}
	for _, f := range grants.Functions {
		fn := f.Function
		if f.Qualifier != "" {
			fn += ":" + f.Qualifier
		}
		fmt.Fprintf(c.Stdout, "  invokes %s\n", fn)
	}
	for _, p := range grants.SSMParameters {
		fmt.Fprintf(c.Stdout, "  reads SSM parameter %s\n", p)
	}
	for _, s := range grants.Secrets {
		fmt.Fprintf(c.Stdout, "  reads secret %s\n", s)
	}
	return nil
}

// target says where a backend is, for people.
func target(b *gateway.Backend) string {
	switch b.Type {
	case gateway.TypeStdio:
		return strings.Join(append([]string{b.Command}, b.Args...), " ")
	case gateway.TypeLambda:
		s := "lambda:" + b.Function
		if b.Qualifier != "" {
			s += ":" + b.Qualifier
		}
		return s
	}
	return b.URL
}

func inLambda() bool { return os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" }

// bootstrapArgs returns the command line of this binary when Lambda runs
// it as a gateway function's bootstrap: its name is bootstrap (on
// provided.al2023, or as the AWS_LAMBDA_EXEC_WRAPPER of a managed runtime,
// whose command line it then ignores), and a configuration is next to it
// (gateway.ConfigFile, as mcplambda build --config writes it) or named by
// MCPLAMBDA_GATEWAY_CONFIG.
func bootstrapArgs() ([]string, bool) {
	if !inLambda() || filepath.Base(os.Args[0]) != "bootstrap" {
		return nil, false
	}
	config := os.Getenv(envGatewayConfig)
	if config == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, false
		}
		config = filepath.Join(filepath.Dir(exe), gateway.ConfigFile)
		if _, err := os.Stat(config); err != nil {
			return nil, false
		}
	}
	return []string{"gateway", "--config", config}, true
}
