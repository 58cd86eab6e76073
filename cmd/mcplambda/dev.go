package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/gateway"
	"github.com/mcplambda/mcplambda/internal/hostcheck"
	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/mcplambda/mcplambda/state"
)

// DevCommand is "mcplambda dev": it serves a function locally under the
// Lambda Runtime API emulator of package lambdatest.
type DevCommand struct {
	Stdout io.Writer // the two ready lines, nothing else
	Stderr io.Writer // build progress, instance output, REPORT lines
}

const devHint = `Run "mcplambda dev -h" for usage.`

// Lambda's limits, which dev enforces so that what works locally deploys.
const (
	minMemoryMB = 128
	maxMemoryMB = 10240
	maxTimeout  = 15 * time.Minute
)

// frontDoors are the --front values, in the order the usage lists them.
var frontDoors = []lambdatest.FrontDoor{lambdatest.FunctionURL, lambdatest.HTTPAPI, lambdatest.RESTAPI, lambdatest.ALB, lambdatest.ALBMultiValue}

// devConfig is the parsed command line of dev.
type devConfig struct {
	addr      string
	front     lambdatest.FrontDoor
	instances int
	timeout   time.Duration
	memoryMB  int
	limitCPU  bool // --memory was given: instances get its CPU share
	env       []string
	name      string
	stateDir  string // --state-dir; see devstate.go
	sessions  bool   // --sessions: MCPLAMBDA_SESSIONS=true for the function
	stream    bool   // --stream, or its default: the front door streams, MCPLAMBDA_RESPONSE_STREAM=true
	json      bool
	verbose   bool
	target    string
	args      []string // for the bootstrap, after "--"
	command   []string // "dev -- COMMAND ARGS": a stdio server, no TARGET
	config    string   // "dev --config FILE": a gateway, no TARGET
	functions []devFunction
}

// devFunction is a --function NAME=TARGET: another function in the
// emulator, reached through the Invoke API.
type devFunction struct {
	name, target string
}

func (c *DevCommand) flagSet(cfg *devConfig) *flag.FlagSet {
	set := flag.NewFlagSet("mcplambda dev", flag.ContinueOnError)
	set.SetOutput(io.Discard) // Run reports parse errors itself, with a hint.
	set.Usage = func() {}
	set.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen `address`; port 0 picks a free port")
	set.Func("front", "the front `door` to emulate: url (function URL), httpapi (API Gateway HTTP API, payload 2.0),\nrest (API Gateway REST API, payload 1.0), alb (Application Load Balancer) or alb-multi\n(ALB with multi-value headers) (default url)", func(s string) error {
		door := lambdatest.FrontDoor(s)
		if !slices.Contains(frontDoors, door) {
			return fmt.Errorf("want one of %s", joinDoors())
		}
		cfg.front = door
		return nil
	})
	set.IntVar(&cfg.instances, "instances", 1, "run at most `N` instances at once; more concurrent requests wait")
	set.DurationVar(&cfg.timeout, "timeout", 30*time.Second, "invocation timeout, a `duration` of at most 15m")
	set.IntVar(&cfg.memoryMB, "memory", 128, "memory size in `MB`, 128 to 10240; when given, each instance gets the CPU share\nit buys in Lambda (one vCPU at 1769), where cgroups allow")
	set.Func("env", "set an environment variable in the function, as `KEY=VALUE` (repeatable)", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		cfg.env = append(cfg.env, s)
		return nil
	})
	set.StringVar(&cfg.name, "name", "", "function `name` in the Invoke API (default: TARGET's base name; gateway with --config)")
	set.StringVar(&cfg.config, "config", "", "serve the gateway of this configuration `file` (mcplambda gateway) instead of a TARGET")
	set.Func("function", "also run the function TARGET as NAME in the emulator, reached through the Invoke API,\nas `NAME=TARGET` (repeatable); e.g. a gateway's lambda: backend", func(s string) error {
		name, target, ok := strings.Cut(s, "=")
		if !ok || name == "" || target == "" {
			return errors.New("want NAME=TARGET")
		}
		if !validName.MatchString(name) {
			return fmt.Errorf("%q: want letters, digits, hyphens and underscores, as in Lambda", name)
		}
		cfg.functions = append(cfg.functions, devFunction{name, target})
		return nil
	})
	cfg.addStateFlag(set)
	set.BoolVar(&cfg.sessions, "sessions", false, "legacy sessions: MCPLAMBDA_SESSIONS=true in the function's environment, so that a\nfunction calling dynamo.SessionsFromEnv (the conformance example, \"dev -- COMMAND\")\nkeeps 2025-11-25 sessions in the state directory its instances share")
	set.BoolVar(&cfg.stream, "stream", false, "stream responses: a function URL in RESPONSE_STREAM mode or a REST API with response\nstreaming, and MCPLAMBDA_RESPONSE_STREAM=true for the function (default: on with\n--sessions behind url or rest, where requests to legacy clients need it; else off)")
	set.BoolVar(&cfg.json, "json", false, "print request and REPORT lines as JSON objects, and all of the function's output")
	set.BoolVar(&cfg.verbose, "v", false, "print all of the function's output (metrics, info logs), and what the emulator\nand the front door do")
	return set
}

func joinDoors() string {
	s := make([]string, len(frontDoors))
	for i, d := range frontDoors {
		s[i] = string(d)
	}
	return strings.Join(s, ", ")
}

func (c *DevCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda dev [flags] TARGET [-- ARGS...]
       mcplambda dev [flags] -- COMMAND [ARGS...]
       mcplambda dev [flags] --config FILE

Dev serves a function locally the way AWS Lambda runs it: the real bootstrap
under a Lambda Runtime API emulator, behind an emulated front door.

TARGET is a Go main package (a directory or an import path), built for this
machine with "go build -tags lambda.norpc", or an executable file used as is.
ARGS are passed to the bootstrap. In the second form, with no TARGET, the
function is the stdio adapter ("mcplambda stdio") serving the stdio MCP server
COMMAND ARGS, kept warm, as the no-code mode does in Lambda. With --config,
the function is the gateway of FILE ("mcplambda gateway"). --function
NAME=TARGET runs more functions behind the Invoke API (a gateway's lambda:
backends); the main function then reaches them with the AWS SDK.

When ready, dev prints two lines on standard output:

	mcplambda: listening on http://HOST:PORT/mcp
	mcplambda: invoke endpoint http://HOST:PORT

the MCP endpoint behind the front door, and the Lambda Invoke API
(POST /2015-03-31/functions/NAME/invocations). Build progress, the
instances' output and a REPORT line per invocation go to standard error.
Ctrl-C stops everything.

Flags:
`)
	var cfg devConfig
	set := c.flagSet(&cfg)
	set.SetOutput(w)
	set.PrintDefaults()
}

// parse parses the command line of dev. Flags may come before and after
// TARGET; everything after "--" following TARGET goes to the bootstrap.
func (c *DevCommand) parse(args []string) (*devConfig, error) {
	cfg := &devConfig{front: lambdatest.FunctionURL}
	set := c.flagSet(cfg)
	parse := func(args []string) error {
		err := set.Parse(args)
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err: fmt.Errorf("dev: %w", err), hint: devHint}
	}
	// "dev [flags] -- COMMAND ARGS" (no TARGET): a stdio MCP server under
	// the no-code adapter, "mcplambda stdio", as the bootstrap.
	if i := slices.Index(args, "--"); i >= 0 {
		if err := parse(args[:i]); err != nil {
			return nil, err
		}
		if cfg.config != "" {
			return nil, usagef(devHint, "dev: --config serves a gateway: no TARGET, no \"--\"")
		}
		if set.NArg() == 0 {
			if len(args) == i+1 {
				return nil, usagef(devHint, "dev: nothing after \"--\": want a stdio MCP server's command, or put TARGET before \"--\"")
			}
			cfg.command = args[i+1:]
			if cfg.name == "" {
				cfg.name = "stdio"
			}
			cfg.given(set)
			return cfg, cfg.validate()
		}
		// TARGET came before "--": parse the whole line afresh below.
		cfg = &devConfig{front: lambdatest.FunctionURL}
		set = c.flagSet(cfg)
	}
	if err := parse(args); err != nil {
		return nil, err
	}
	if cfg.config != "" {
		// "dev --config FILE": the gateway, "mcplambda gateway", as the
		// bootstrap.
		if set.NArg() > 0 {
			return nil, usagef(devHint, "dev: unexpected argument %q: --config serves a gateway, with no TARGET", set.Arg(0))
		}
		if cfg.name == "" {
			cfg.name = "gateway"
		}
		cfg.given(set)
		return cfg, cfg.validate()
	}
	if set.NArg() == 0 {
		return nil, usagef(devHint, "dev: no TARGET given: want a Go main package (e.g. ./cmd/server) or a bootstrap binary")
	}
	cfg.target = set.Arg(0)
	rest := set.Args()[1:]
	flags := rest
	if i := slices.Index(rest, "--"); i >= 0 {
		flags, cfg.args = rest[:i], rest[i+1:]
	}
	if len(flags) > 0 {
		if err := parse(flags); err != nil {
			return nil, err
		}
		if set.NArg() > 0 {
			return nil, usagef(devHint, "dev: unexpected argument %q after TARGET: arguments for the function go after \"--\"", set.Arg(0))
		}
	}

	if cfg.name == "" {
		cfg.name = defaultName(cfg.target)
	}
	cfg.given(set)
	return cfg, cfg.validate()
}

// given settles the flags whose default depends on others: instances get
// the CPU share of --memory only when it was given, and --stream defaults
// to on with --sessions behind a front door that can stream.
func (cfg *devConfig) given(set *flag.FlagSet) {
	stream := false
	set.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "memory":
			cfg.limitCPU = true
		case "stream":
			stream = true
		}
	})
	if !stream {
		cfg.stream = cfg.sessions && canStream(cfg.front)
	}
}

// canStream reports whether a front door can stream its responses.
func canStream(door lambdatest.FrontDoor) bool {
	return door == lambdatest.FunctionURL || door == lambdatest.RESTAPI
}

// validate checks the flag values.
func (cfg *devConfig) validate() error {
	switch {
	case cfg.instances < 1:
		return usagef(devHint, "dev: --instances %d: want at least 1", cfg.instances)
	case cfg.timeout <= 0 || cfg.timeout > maxTimeout:
		return usagef(devHint, "dev: --timeout %s: want more than 0s and at most %s, as in Lambda", cfg.timeout, maxTimeout)
	case cfg.memoryMB < minMemoryMB || cfg.memoryMB > maxMemoryMB:
		return usagef(devHint, "dev: --memory %d: want %d to %d (MB), as in Lambda", cfg.memoryMB, minMemoryMB, maxMemoryMB)
	case cfg.stream && !canStream(cfg.front):
		return usagef(devHint, "dev: --stream: the %s front door cannot stream its responses; use --front url or rest", cfg.front)
	}
	if _, _, err := net.SplitHostPort(cfg.addr); err != nil {
		return usagef(devHint, "dev: --addr %q: want host:port, e.g. 127.0.0.1:8080 (port 0 picks a free port)", cfg.addr)
	}
	if !validName.MatchString(cfg.name) {
		return usagef(devHint, "dev: --name %q: want letters, digits, hyphens and underscores, as in Lambda", cfg.name)
	}
	names := map[string]bool{cfg.name: true}
	for _, f := range cfg.functions {
		if names[f.name] {
			return usagef(devHint, "dev: --function %s: a function of that name is already served (use --name or another NAME)", f.name)
		}
		names[f.name] = true
	}
	return nil
}

var (
	validName        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	invalidNameChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)
)

// defaultName derives a Lambda function name from TARGET: the base name of
// the package directory, import path or binary.
func defaultName(target string) string {
	base := filepath.Base(strings.TrimRight(target, `/\`))
	if base == "." || base == ".." || base == string(filepath.Separator) || base == "" {
		if abs, err := filepath.Abs(target); err == nil {
			base = filepath.Base(abs)
		}
	}
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".go"), ".exe")
	name := invalidNameChars.ReplaceAllString(base, "-")
	name = strings.Trim(name, "-")
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "function"
	}
	return name
}

// Run runs dev until ctx is done (Ctrl-C), then stops everything and
// returns nil.
func (c *DevCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(c.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	stateDir, err := cfg.setStateDir()
	if err != nil {
		return err
	}
	cfg.setModeEnv()
	stderr := syncio.NewWriter(c.Stderr)
	level := slog.LevelWarn
	if cfg.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// Check TARGET, then listen, so that a mistake on the command line is
	// a usage error whatever listens where, and a busy address fails
	// before a long build.
	if cfg.command == nil && cfg.config == "" {
		if err := checkTarget(cfg.target); err != nil {
			return err
		}
	}
	for _, f := range cfg.functions {
		if err := checkTarget(f.target); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer ln.Close()
	base := "http://" + displayAddr(ln.Addr())
	if cfg.config != "" || len(cfg.functions) > 0 {
		// The function reaches the others through this Invoke API with
		// the AWS SDK's default chain, as it would reach real functions
		// with its role.
		cfg.env = append([]string{"AWS_ENDPOINT_URL_LAMBDA=" + base, "AWS_ACCESS_KEY_ID=mcplambda-local",
			"AWS_SECRET_ACCESS_KEY=mcplambda-local", "AWS_REGION=us-east-1"}, cfg.env...) // --env wins
	}

	bootstrap, cleanup, err := c.bootstrap(ctx, cfg, stderr)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while building
		}
		return err
	}

	// The function's output: all of it with -v or --json; by default
	// without metrics and routine log records, which the request lines
	// below sum up.
	var fnOut io.Writer = stderr
	if !cfg.verbose && !cfg.json {
		fnOut = &quietWriter{w: stderr}
	}
	cfg.setSelfInvoke(ln.Addr())
	fn, err := lambdatest.NewFunction(bootstrap, &lambdatest.Options{
		FunctionName: cfg.name,
		Timeout:      cfg.timeout,
		MemoryMB:     cfg.memoryMB,
		LimitCPU:     cfg.limitCPU,
		Instances:    cfg.instances,
		Env:          cfg.env,
		Args:         cfg.args,
		Stdout:       fnOut, // our stdout carries the ready lines only
		Stderr:       fnOut,
		OnReport:     reportPrinter(stderr, cfg.json),
		Logger:       logger,
	})
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer fn.Close()
	defer forcedExit.add(fn.Kill)()
	fns := []*lambdatest.Function{fn}
	for _, f := range cfg.functions {
		other, cleanup, err := c.extraFunction(ctx, cfg, f, fnOut, stderr, logger)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped while building
			}
			return err
		}
		if cleanup != nil {
			defer cleanup() // after Close, deferred below
		}
		defer other.Close()
		defer forcedExit.add(other.Kill)()
		fns = append(fns, other)
	}

	mux := http.NewServeMux()
	invokeAPI := lambdatest.NewInvokeAPI(fns...)
	mux.Handle("/2015-03-31/", invokeAPI) // Invoke
	mux.Handle("/2021-11-15/", invokeAPI) // InvokeWithResponseStream
	mux.Handle("/", rebindingGuard(newFrontDoor(fn, cfg.front, cfg.stream, logger)))
	srv := &http.Server{Handler: requestLogger(mux, stderr, cfg.json), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	fmt.Fprintf(c.Stdout, "mcplambda: listening on %s/mcp\n", base)
	fmt.Fprintf(c.Stdout, "mcplambda: invoke endpoint %s\n", base)
	cpu := "full-speed CPU"
	if cfg.limitCPU {
		cpu = fmt.Sprintf("%.1f%% of a vCPU", 100*float64(cfg.memoryMB)/1769)
	}
	door := string(cfg.front)
	if cfg.stream {
		door += " (streaming)"
	}
	fmt.Fprintf(stderr, "mcplambda: function %q: %s front door, %d MB (%s), timeout %s, up to %d instance(s); Ctrl-C stops\n",
		cfg.name, door, cfg.memoryMB, cpu, cfg.timeout, cfg.instances)
	fmt.Fprintf(stderr, "mcplambda: state in %s (%s)\n", stateDir, state.EnvStateDir)
	for _, f := range cfg.functions {
		fmt.Fprintf(stderr, "mcplambda: function %q (%s) through the Invoke API only\n", f.name, f.target)
	}
	switch {
	case cfg.sessions && !cfg.stream:
		fmt.Fprintf(stderr, "mcplambda: legacy sessions on, but the %s front door buffers responses: requests to legacy clients (elicitation, sampling, roots) fail; they need --front url or rest with --stream\n", cfg.front)
	case cfg.sessions && cfg.instances < 2:
		fmt.Fprintln(stderr, "mcplambda: legacy sessions on with one instance: a client's answer to a request waits for the instance the asking call holds; use --instances 2 or more, as Lambda scales out")
	case cfg.sessions:
		fmt.Fprintln(stderr, "mcplambda: legacy sessions on (MCPLAMBDA_SESSIONS), shared by the instances through the state directory")
	}

	select {
	case err := <-errc:
		return fmt.Errorf("dev: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "mcplambda: stopping")
	// Let requests in flight finish briefly, then stop the instances, which
	// fails whatever is still waiting for them.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	for _, f := range fns {
		if err := f.Close(); err != nil {
			fmt.Fprintf(stderr, "mcplambda: dev: stopping instances: %v\n", err)
		}
	}
	srv.Close()
	return nil
}

// extraFunction builds and starts a --function: it runs as the main
// function does (timeout, memory, instances, output), with its own
// environment: only the --env values.
// cleanup, if not nil, removes its build directory once it is closed.
func (c *DevCommand) extraFunction(ctx context.Context, cfg *devConfig, f devFunction, out, stderr io.Writer, logger *slog.Logger) (*lambdatest.Function, func(), error) {
	bootstrap, cleanup, err := resolveTarget(ctx, f.target, stderr)
	if err != nil {
		if cleanup != nil {
			cleanup()
		}
		return nil, nil, err
	}
	fn, err := lambdatest.NewFunction(bootstrap, &lambdatest.Options{
		FunctionName: f.name,
		Timeout:      cfg.timeout,
		MemoryMB:     cfg.memoryMB,
		LimitCPU:     cfg.limitCPU,
		Instances:    cfg.instances,
		Stdout:       out,
		Stderr:       out,
		OnReport:     reportPrinter(stderr, cfg.json),
		Logger:       logger,
	})
	if err != nil {
		if cleanup != nil {
			cleanup()
		}
		return nil, nil, fmt.Errorf("dev: --function %s: %w", f.name, err)
	}
	return fn, cleanup, nil
}

// bootstrap returns the bootstrap to run: TARGET, built if it is a package,
// or, for "dev -- COMMAND ARGS", this very binary as "mcplambda stdio" with
// the command in MCPLAMBDA_COMMAND (and this shell's PATH and HOME, so that
// npx, node or python are found as they are here).
func (c *DevCommand) bootstrap(ctx context.Context, cfg *devConfig, stderr io.Writer) (string, func(), error) {
	if cfg.command == nil && cfg.config == "" {
		return resolveTarget(ctx, cfg.target, stderr)
	}
	self, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("dev: finding the mcplambda binary: %w", err)
	}
	env := []string{"PATH=" + os.Getenv("PATH")}
	if home := os.Getenv("HOME"); home != "" {
		env = append(env, "HOME="+home)
	}
	if cfg.config != "" {
		// "dev --config FILE": the gateway, with its stdio backends
		// started as they are here.
		config, err := filepath.Abs(cfg.config)
		if err != nil {
			return "", nil, fmt.Errorf("dev: %w", err)
		}
		cfg.env = append(env, cfg.env...) // --env wins
		data, err := os.ReadFile(config)
		if err != nil {
			return "", nil, fmt.Errorf("dev: --config: %w", err)
		}
		// Checked here, with the function's environment, rather than
		// when the function starts.
		lookup := func(k string) (string, bool) {
			for _, kv := range slices.Backward(cfg.env) {
				if key, v, _ := strings.Cut(kv, "="); key == k {
					return v, true
				}
			}
			return "", false
		}
		if _, err := gateway.Parse(config, data, &gateway.ParseOptions{LookupEnv: lookup}); err != nil {
			return "", nil, err
		}
		cfg.args = []string{"gateway", "--config", config}
		return self, nil, nil
	}
	command, err := json.Marshal(cfg.command)
	if err != nil {
		return "", nil, err
	}
	env = append(env, "MCPLAMBDA_COMMAND="+string(command))
	cfg.env = append(env, cfg.env...) // --env wins
	cfg.args = []string{"stdio"}
	return self, nil, nil
}

// restStage is the REST API stage dev deploys to.
const restStage = "prod"

// newFrontDoor returns the front door at the root of the listener, so that
// the MCP endpoint is /mcp whatever the door. For a REST API, whose URLs
// start with the stage, that is what a custom domain name with an API
// mapping does: /mcp reaches the function as path /mcp of stage prod.
func newFrontDoor(fn *lambdatest.Function, door lambdatest.FrontDoor, stream bool, logger *slog.Logger) http.Handler {
	opts := &lambdatest.FrontDoorOptions{Logger: logger, Stream: stream}
	if door != lambdatest.RESTAPI {
		return lambdatest.NewFrontDoor(fn, door, opts)
	}
	opts.Stage = restStage
	h := lambdatest.NewFrontDoor(fn, door, opts)
	prefix := "/" + restStage
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		u.Path = prefix + u.Path
		if u.RawPath != "" {
			u.RawPath = prefix + u.RawPath
		}
		r2 := r.WithContext(r.Context())
		r2.URL = &u
		r2.RequestURI = u.RequestURI()
		h.ServeHTTP(w, r2)
	})
}

// rebindingGuard refuses, with 403, requests that reached a loopback
// listener with a Host header naming another host: a web page that got
// its domain re-pointed at 127.0.0.1 (DNS rebinding) must not reach a
// local dev server. A real front door is never reachable that way; local
// serving (mcplambda.Start) has the same guard from go-sdk. The refusal
// is JSON, as the emulated services answer their own errors. The Invoke
// API has stricter checks of its own (lambdatest.NewInvokeAPI).
func rebindingGuard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostcheck.LoopbackHost(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"message": fmt.Sprintf("Forbidden: Host %q is not this machine (DNS rebinding protection)", r.Host),
			})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// displayAddr is addr as a client should dial it: an unspecified listen
// address (":8080", "0.0.0.0:8080") is shown as loopback.
func displayAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// isBinary reports whether target names a file to run as is (rather than
// a Go package to build), and fi describes it.
func isBinary(target string) (fi fs.FileInfo, ok bool, statErr error) {
	fi, statErr = os.Stat(target)
	return fi, statErr == nil && fi.Mode().IsRegular() && !strings.HasSuffix(target, ".go"), statErr
}

// checkTarget reports, as a usage error, a TARGET that can be neither run
// nor built, without building anything: a file that is not executable, a
// path that does not exist.
func checkTarget(target string) error {
	fi, binary, statErr := isBinary(target)
	if binary && fi.Mode().Perm()&0o111 == 0 {
		return usagef(devHint, "dev: %s is not executable: want a Go main package or a bootstrap binary", target)
	}
	looksLikePath := filepath.IsAbs(target) || strings.HasPrefix(target, ".")
	if !binary && errors.Is(statErr, fs.ErrNotExist) && looksLikePath && !strings.Contains(target, "...") {
		return usagef(devHint, "dev: TARGET %s does not exist: want a Go main package or a bootstrap binary", target)
	}
	return nil
}

// resolveTarget returns the bootstrap binary for target, building it when
// target is a Go package. cleanup, if not nil, removes the build directory.
func resolveTarget(ctx context.Context, target string, stderr io.Writer) (bootstrap string, cleanup func(), err error) {
	if err := checkTarget(target); err != nil {
		return "", nil, err
	}
	_, binary, _ := isBinary(target)
	if binary {
		abs, err := filepath.Abs(target)
		if err != nil {
			return "", nil, fmt.Errorf("dev: %w", err)
		}
		return abs, nil, nil
	}
	pkg, dir := goPackage(target)
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", nil, fmt.Errorf("dev: building %s needs the go command: %w", target, err)
	}
	tmp, err := os.MkdirTemp("", "mcplambda-dev-")
	if err != nil {
		return "", nil, fmt.Errorf("dev: %w", err)
	}
	cleanup = func() { os.RemoveAll(tmp) }
	bootstrap = filepath.Join(tmp, "bootstrap")
	fmt.Fprintf(stderr, "mcplambda: building %s (go build -tags lambda.norpc)\n", target)
	start := time.Now()
	cmd := exec.CommandContext(ctx, gobin, "build", "-tags", "lambda.norpc", "-o", bootstrap, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return "", cleanup, fmt.Errorf("dev: building %s: %w", target, err)
	}
	if fi, err := os.Stat(bootstrap); err != nil || fi.Mode().Perm()&0o111 == 0 {
		// go build -o writes an archive for a package that is not main.
		return "", cleanup, usagef(devHint, "dev: %s is not a main package", target)
	}
	fmt.Fprintf(stderr, "mcplambda: built %s in %s\n", target, time.Since(start).Round(time.Millisecond))
	return bootstrap, cleanup, nil
}

// goPackage returns how to name target to go build, and the directory to
// run it in: a directory is built in itself, as ".", so that it may belong
// to any module (the one that holds it, not the one of the current
// directory); an import path is resolved in the current directory.
func goPackage(target string) (pkg, dir string) {
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		return ".", target
	}
	return target, ""
}

// reportPrinter returns the OnReport callback: one REPORT line per
// invocation on w, in CloudWatch text or as JSON.
func reportPrinter(w io.Writer, asJSON bool) func(lambdatest.Report) {
	return func(r lambdatest.Report) {
		if !asJSON {
			fmt.Fprintln(w, r.String())
			return
		}
		b, err := json.Marshal(jsonReport{
			RequestID:        r.RequestID,
			DurationMS:       ms(r.Duration),
			BilledDurationMS: ms(r.BilledDuration),
			MemorySizeMB:     r.MemoryMB,
			MaxMemoryUsedMB:  r.MaxMemoryMB,
			InitDurationMS:   ms(r.InitDuration),
			Cold:             r.Cold,
			Error:            r.Err,
		})
		if err != nil {
			return // cannot happen: the fields are plain values
		}
		fmt.Fprintf(w, "%s\n", b)
	}
}

// jsonReport is a REPORT line for --json, with CloudWatch's units.
type jsonReport struct {
	RequestID        string  `json:"requestId"`
	DurationMS       float64 `json:"durationMs"`
	BilledDurationMS float64 `json:"billedDurationMs"`
	MemorySizeMB     int     `json:"memorySizeMb"`
	MaxMemoryUsedMB  int     `json:"maxMemoryUsedMb"`
	InitDurationMS   float64 `json:"initDurationMs,omitempty"`
	Cold             bool    `json:"cold"`
	Error            string  `json:"error,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
