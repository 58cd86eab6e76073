package mcplambda

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Start serves server and does not return, like lambda.Start: it is
// [Serve] with a context that ends on SIGINT or SIGTERM outside Lambda, and
// an error is logged and exits the process with status 1.
func Start(server *mcp.Server, opts *Options) {
	ctx := context.Background()
	if !inLambda() {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	if err := Serve(ctx, server, opts); err != nil {
		logger := telemetry.DefaultLogger()
		if opts != nil && opts.Logger != nil {
			logger = opts.Logger
		}
		logger.Error("mcplambda: serve failed", "err", err)
		os.Exit(1)
	}
}

// Serve serves server the way it runs where it is: it is the one serving
// path of mcplambda, for native servers, the stdio adapter's no-code mode
// and anything else that serves an *mcp.Server.
//
// Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it runs the Lambda
// runtime loop with the handler from [NewLambdaHandler], answering every
// supported front door, and does not return. It logs with
// telemetry.DefaultLogger and writes EMF metrics to standard output unless
// [Options] says otherwise, and tunes the GC to the function's memory size
// (unless GOGC or GOMEMLIMIT are set). MCPLAMBDA_RESPONSE_STREAM=true in
// the environment ([EnvResponseStream]) turns on [Options.ResponseStream].
// With [Options.Shutdown] set, it
// asks Lambda for SIGTERM when the execution environment shuts down, and
// calls Shutdown then.
//
// Elsewhere it serves the MCP endpoint over HTTP on [Options.Addr]
// (default 127.0.0.1:$PORT, or 127.0.0.1:8080 without PORT), calls
// [Options.Ready] with the endpoint's URL once it accepts connections
// (by default printing "mcplambda: listening on http://HOST:PORT/mcp" to
// standard output), and serves until ctx is done; it then shuts down
// gracefully, calls Options.Shutdown, and returns nil, or the error that
// stopped it.
//
// Serve does not change opts, nor what server answers other than through
// it (see [NewHandler]).
func Serve(ctx context.Context, server *mcp.Server, opts *Options) error {
	o := withDefaults(opts)
	if o.Logger == nil {
		o.Logger = telemetry.DefaultLogger()
	}
	if inLambda() {
		serveLambda(server, &o)
		return nil // not reached: lambda.Start exits the process on failure
	}
	h := NewHandler(server, &o)
	ready := o.Ready
	if ready == nil {
		ready = func(url string) { fmt.Println("mcplambda: listening on " + url) }
	}
	err := serve(ctx, h, &o, ready)
	if o.Shutdown != nil {
		o.Shutdown()
	}
	return err
}

func inLambda() bool { return os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" }

// serveLambda runs the Lambda runtime loop; it does not return.
func serveLambda(server *mcp.Server, o *Options) {
	if o.Metrics == nil {
		o.Metrics = telemetry.NewMetrics(os.Stdout, nil)
	}
	if v := os.Getenv(EnvResponseStream); v != "" {
		stream, err := strconv.ParseBool(v)
		if err != nil {
			o.Logger.Warn("mcplambda: "+EnvResponseStream+" is not a boolean; responses are not streamed", "value", v)
		}
		o.ResponseStream = o.ResponseStream || stream
	}
	if o.ResponseStream && o.WrapLambdaHandler != nil {
		// A wrapper calls Invoke, which buffers: the streaming prelude
		// would end up in the body.
		o.Logger.Warn("mcplambda: ResponseStream is off because WrapLambdaHandler is set; responses are buffered")
		o.ResponseStream = false
	}
	if o.Shutdown != nil {
		shutdown := o.Shutdown
		// The options go both ways: a streaming handler carries its own
		// and ignores StartWithOptions'.
		o.LambdaOptions = append(slices.Clip(o.LambdaOptions), lambda.WithEnableSIGTERM(func() {
			shutdown()
			os.Exit(0)
		}))
	}
	tuneGC()
	h := NewLambdaHandler(NewHandler(server, o), o)
	if o.WrapLambdaHandler != nil {
		h = o.WrapLambdaHandler(h)
	}
	lambda.StartWithOptions(h, o.LambdaOptions...)
}

// serve listens on o.Addr and serves h until ctx is done, calling ready
// with the endpoint URL once it accepts connections.
func serve(ctx context.Context, h http.Handler, o *Options, ready func(url string)) error {
	addr := o.Addr
	if addr == "" {
		port := os.Getenv("PORT")
		if port == "" {
			port = "8080"
		}
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) && o.Addr == "" {
		return fmt.Errorf("mcplambda: %w (set PORT to serve on another port; PORT=0 picks a free one)", err)
	}
	if err != nil {
		return fmt.Errorf("mcplambda: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ready("http://" + ln.Addr().String() + o.Path)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("mcplambda: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("mcplambda: shutdown: %w", err)
	}
	return nil
}

// withDefaults returns a copy of opts with empty fields filled in.
func withDefaults(opts *Options) Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Path == "" {
		o.Path = "/mcp"
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return o
}

// tuneGC sets production GC defaults for a Lambda execution environment,
// unless GOGC or GOMEMLIMIT say otherwise: a soft memory limit of 3/4 of the
// function's memory (the rest is left to the runtime, and to child
// processes such as a wrapped stdio server), and GOGC=200. go-sdk allocates
// several hundred KB of short-lived garbage per request; with the limit in
// place, collecting less often is safe and cuts the cost of a warm request
// by about a quarter (BenchmarkToolsCall: 210 µs at GOGC=100, 158 µs at 200, 135 µs at
// 400; 200 keeps an idle instance near 20 MB).
func tuneGC() {
	mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if os.Getenv("GOMEMLIMIT") != "" || err != nil || mb <= 0 {
		return
	}
	debug.SetMemoryLimit(int64(mb) << 20 * 3 / 4)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
}
