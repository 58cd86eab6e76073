// Command mcplambda develops and runs MCP servers built with
// github.com/mcplambda/mcplambda, the way AWS Lambda runs them.
//
// Usage:
//
//	mcplambda <command> [flags] [arguments]
//
// The commands are:
//
//	dev      serve a function locally under a Lambda Runtime API emulator
//	stdio    serve a stdio MCP server, kept warm, in Lambda or locally (no code)
//	build    cross-compile a package into a reproducible Lambda deployment zip or the stdio layer
//	call     call an MCP server: list and call its tools, resources and prompts
//	proxy    serve a remote MCP server (SigV4, OAuth, Lambda Invoke API) to local clients over stdio
//	gateway  serve the MCP servers a configuration file names as one endpoint, in Lambda or locally
//	init     write a new MCP server module: main.go, a test, go.mod with the mcplambda tool, a CDK app
//	version  print the version of mcplambda (also: mcplambda --version)
//
// Run "mcplambda <command> -h" for a command's flags. Flags may be written
// with one dash or two (-addr, --addr).
//
// # Installing
//
//	go install github.com/mcplambda/mcplambda/cmd/mcplambda@VERSION
//
// puts mcplambda in $(go env GOPATH)/bin. In a module, the Go tool
// directive pins it to the version the module requires:
//
//	go get -tool github.com/mcplambda/mcplambda/cmd/mcplambda@VERSION
//	go tool mcplambda dev .
//
// (mcplambda init writes that directive.) dev and build build a package
// directory in the module that holds it, whatever the current directory.
//
// # mcplambda dev
//
//	mcplambda dev [flags] TARGET [-- ARGS...]
//	mcplambda dev [flags] -- COMMAND [ARGS...]
//	mcplambda dev [flags] --config FILE
//
// Dev is "sam local start-api" without Docker: it runs the function's real
// bootstrap binary under a local Lambda Runtime API emulator
// ([github.com/mcplambda/mcplambda/lambdatest]), puts a front door in front
// of it that turns HTTP requests into Lambda events the way AWS does, and
// serves the Lambda Invoke API next to it.
//
// TARGET is either a Go main package (a directory such as ./examples/time,
// or an import path), which dev builds for this machine with
//
//	go build -tags lambda.norpc -o $TMPDIR/.../bootstrap TARGET
//
// or an executable file, which is used as is. Arguments after "--" are passed
// to the bootstrap. Flags may come before or after TARGET, but not after "--".
// Without TARGET, "-- COMMAND ARGS" serves a stdio MCP server under the
// no-code adapter ("mcplambda stdio"), and --config FILE serves the gateway
// of a configuration file ("mcplambda gateway", function name gateway);
// both start their stdio servers with dev's PATH and HOME.
//
// --function NAME=TARGET (repeatable) runs another function in the same
// emulator, reached through the Invoke API only (with the same --timeout,
// --memory and --instances): a gateway's lambda: backend, say. With
// --function or --config, the function gets AWS_ENDPOINT_URL_LAMBDA (dev's
// Invoke API), placeholder AWS credentials and AWS_REGION=us-east-1, so that
// it invokes the others with the AWS SDK as it would in Lambda with its role:
//
//	mcplambda dev --config gateway.json --function time=./examples/time
//
// Flags:
//
//	--addr host:port     listen address (default 127.0.0.1:8080; port 0 picks a free port)
//	--front url|httpapi|rest|alb|alb-multi
//	                     the front door to emulate: a Lambda function URL, an API
//	                     Gateway HTTP API (payload 2.0) or REST API (payload 1.0),
//	                     an Application Load Balancer target group with
//	                     single-value (alb) or multi-value (alb-multi) headers
//	                     (default url)
//	--instances N        maximum number of concurrent instances; more concurrent
//	                     requests wait for a free one (default 1)
//	--timeout 30s        invocation timeout, at most 15m (default 30s)
//	--memory 128         memory size in MB, 128 to 10240 (default 128); when given,
//	                     each instance runs with the CPU share that size buys in
//	                     Lambda (see below)
//	--env KEY=VALUE      set an environment variable in the function (repeatable)
//	--name NAME          function name in the Invoke API (default: TARGET's base name)
//	--config FILE        serve the gateway of this configuration file instead of a TARGET
//	--function NAME=TARGET
//	                     also run TARGET as the function NAME, behind the Invoke API
//	--state-dir DIR      the function's state directory, MCPLAMBDA_STATE_DIR (default:
//	                     mcplambda/dev/NAME/state in the user cache directory)
//	--sessions           legacy sessions: MCPLAMBDA_SESSIONS=true in the function's
//	                     environment (see below)
//	--stream             stream responses: the function URL in RESPONSE_STREAM mode,
//	                     the REST API with response streaming, and
//	                     MCPLAMBDA_RESPONSE_STREAM=true for the function (default: on
//	                     with --sessions behind url or rest, off otherwise)
//	--json               print request and REPORT lines as JSON objects, and all
//	                     of the function's output
//	-v                   print all of the function's output, and log what the
//	                     emulator and the front door do
//
// When it is ready, dev prints exactly two lines on standard output:
//
//	mcplambda: listening on http://127.0.0.1:8080/mcp
//	mcplambda: invoke endpoint http://127.0.0.1:8080
//
// The first is the MCP endpoint to give to a client; every other path on the
// listener except the Invoke API is forwarded to the function too, as a real
// front door would, so the function decides what is not found. The REST API
// is served as through a custom domain name mapped to its stage "prod": the
// function sees path /mcp of stage prod. The second line is the Lambda Invoke
// API (Invoke, and InvokeWithResponseStream for a streaming function), for
// example:
//
//	aws lambda invoke --endpoint-url http://127.0.0.1:8080 --function-name time \
//	    --cli-binary-format raw-in-base64-out \
//	    --payload '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' out.json
//
// Dev is a web server on the developer's machine, so it refuses what a web
// page open in a browser could send it. On every path, a request that
// reached a loopback listener with a Host header naming another host (DNS
// rebinding) gets 403. The Invoke API, which in Lambda only IAM principals
// may call, is stricter: it refuses a Host that is neither a loopback name
// or address nor the address the connection arrived on, any request with
// an Origin header (403 AccessDeniedException), and a body whose
// Content-Type is not application/json, application/octet-stream or absent
// (415 UnsupportedMediaTypeException); the AWS SDKs and CLI send none of
// these. On the front door, the Origin is the function's business, as in
// production: an mcplambda function refuses origins it does not allow.
//
// Everything else goes to standard error: build progress, then for every
// request one line for people and a CloudWatch-style REPORT line
// (tab-separated, as Lambda writes it):
//
//	REPORT RequestId: 6f1c...  Duration: 1.21 ms  Billed Duration: 6 ms  Memory Size: 128 MB  Max Memory Used: 12 MB  Init Duration: 4.37 ms
//	mcplambda: tools/call get_current_time -> 200 in 1.52 ms
//
// The request line names the JSON-RPC method and the tool, prompt or
// resource, the HTTP status (and X-Amz-Function-Error for the Invoke API)
// and the time the request took. Of the function's own output, dev shows
// by default only what needs attention: log records at WARN and ERROR and
// anything unstructured (a panic, a crash, a wrapped server's messages);
// its metrics (CloudWatch EMF documents) and INFO/DEBUG log records show
// with -v or --json.
//
// Init Duration appears on an instance's first invocation (a cold start)
// only, and Billed Duration includes it, as Lambda bills the init phase.
// Max Memory Used is the peak memory of the instance's whole process tree
// (a wrapped stdio server included): its cgroup's memory.peak under cgroup
// v2, else the sum of its processes' peak resident sets.
//
// Lambda gives a function CPU in proportion to its memory: one full vCPU
// at 1,769 MB. With --memory, dev runs each instance in a Linux cgroup
// whose CPU bandwidth is that share (cpu.max under cgroup v2, else the
// cgroup v1 cpu controller; 7.2% of a CPU per 100 ms at 128 MB), so that
// Duration and Billed Duration predict what the size will cost. Creating
// cgroups needs root; where it is not possible dev prints one line saying
// why, and instances run at full speed. Without --memory they always do.
//
// The instances of a function share one state directory, which dev names
// in their environment as MCPLAMBDA_STATE_DIR (unless --env sets it): a
// function whose store comes from dynamo.StoreFromEnv keeps its state
// there, in a state.Dir that every instance (each its own process) reads
// and writes, so that a legacy session or a task that begins on one
// instance continues on another. The directory is kept across runs of dev:
// by default mcplambda/dev/NAME/state under the user cache directory
// (~/.cache on Linux, ~/Library/Caches on macOS), printed on standard error
// at start. Delete it, or pass another --state-dir, to start afresh. With
// --env MCPLAMBDA_TABLE=TABLE (and AWS credentials) the function uses that
// DynamoDB table instead.
//
// With --sessions, the function finds MCPLAMBDA_SESSIONS=true in its
// environment: one that takes its sessions from dynamo.SessionsFromEnv
// (examples/conformance, the stdio adapter of "dev -- COMMAND") serves
// MCP 2025-11-25 and 2025-06-18 clients with sessions in the shared state
// directory, and a tool's requests to such a client (elicitation,
// sampling, roots) go out on the call's response stream while the
// client's answer, which comes in a new request on another instance,
// meets the waiting call there. That needs a response that streams, so
// --sessions turns on --stream behind the url and rest front doors (as
// the CDK construct streams with sessions), and at least two instances,
// as Lambda scales out: dev says so when either is missing. Try it with
// the conformance suite's fixtures:
//
//	mcplambda dev --front url --sessions --instances 2 ./examples/conformance
//
// --stream alone tells the function its front door streams
// (MCPLAMBDA_RESPONSE_STREAM=true, which mcplambda.Serve honours) and
// lifts the REST API's 29 s integration timeout to the function's own, as
// responseTransferMode STREAM does; without it, the url and rest doors
// are buffered, as a function URL and a REST API are by default, and a
// function that streams anyway gets a warning.
//
// The instances also find dev's own Invoke API in AWS_ENDPOINT_URL_LAMBDA,
// with placeholder credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY;
// --env overrides any of them), so that a function can invoke itself as it
// would in Lambda: package tasks/lambdaexec runs each MCP task's tool in an
// asynchronous (Event) invocation of the function, which dev queues for
// the first free instance while the invocation that created the task
// returns.
//
// Instances start on demand, as in Lambda: the first request pays the cold
// start. An invocation running past --timeout is killed with its instance.
// Each front door applies its service's limits and answers as AWS does:
// API Gateway its 10 MB payload limit (413), 10,240 bytes of request line
// and headers (431) and its integration timeout (29s for a REST API, 30s
// for an HTTP API; 504 after it); a function URL Lambda's 6 MB; a load
// balancer 1 MB of request body (413) and of response JSON (502), 16 KB
// per header and 64 KB in all (400), its 60s idle timeout (504), and its
// own HTML error pages (502 for a function error, timeout or throttling).
// Ctrl-C (SIGINT) or SIGTERM stops the listener, sends SIGTERM to the
// instances, removes the build directory and exits with status 0; a
// second Ctrl-C during that shutdown kills the instances and exits at once
// (status 130). An instance that ends (it exits, is killed, or dev stops)
// takes everything it started with it, as Lambda ends an execution
// environment (see package lambdatest for what cannot be tracked).
//
// # mcplambda build
//
//	mcplambda build [flags] PACKAGE
//	mcplambda build --layer [flags] [PACKAGE]
//	mcplambda build --config FILE [flags] [PACKAGE]
//
// Build cross-compiles the Go main package PACKAGE (a directory or an import
// path) for the provided.al2023 runtime, statically and stripped:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -buildvcs=false -ldflags="-s -w"
//
// and writes OUT/NAME-ARCH.zip (NAME is PACKAGE's base name, ARCH arm64 or
// amd64, so that the two builds of a package do not overwrite each other;
// --name sets the whole base name), whose only entry is the binary, named
// bootstrap, with mode 0755. The zip is reproducible: entries in name order, every
// time stamp 1980-01-01, no other metadata, no VCS stamp, so the same
// source and Go toolchain give byte-identical zips (and an unchanged CDK
// asset hash) whatever the commit or the checkout directory.
// Build prints the zip's path, the binary's and the zip's sizes, and the
// zip's SHA-256:
//
//	dist/time-arm64.zip (provided.al2023, linux/arm64)
//	  bootstrap          <MiB>  <bytes>
//	  zip                <MiB>  <bytes>  sha256:<hash>
//
// (the sizes and the hash depend on the source and the Go toolchain).
//
// With --layer it packages the stdio adapter's no-code mode as a Lambda
// layer, OUT/mcplambda-stdio-layer-ARCH.zip: the mcplambda binary as
// bin/mcplambda and the exec wrapper script mcplambda-stdio. A function on
// a managed runtime (nodejs22.x, python3.13) with the layer and
// AWS_LAMBDA_EXEC_WRAPPER=/opt/mcplambda-stdio serves the stdio server named
// by MCPLAMBDA_COMMAND and MCPLAMBDA_ARGS (see package
// [github.com/mcplambda/mcplambda/stdio]). PACKAGE defaults to
// github.com/mcplambda/mcplambda/cmd/mcplambda, resolved in the current
// module: run it in the mcplambda checkout or in a module that requires
// github.com/mcplambda/mcplambda.
//
// With --config FILE it packages a gateway (see "mcplambda gateway"),
// OUT/gateway-ARCH.zip: PACKAGE (by default this command, resolved as for
// --layer) as bootstrap, FILE as gateway.json next to it, and
// mcplambda-gateway-grants.json, the functions the gateway invokes and the
// SSM parameters and secrets it reads, which the CDK construct NewGateway
// grants and nothing else. FILE is checked first. ${VAR} references are
// expanded with the build's environment where set, and left for the
// function's environment otherwise, except in what is granted: function
// names and secret references must be written out.
//
// Flags:
//
//	--arch arm64|amd64   the Lambda architecture (default arm64)
//	--out DIR            the directory to write the zip into (default dist)
//	--name NAME          the zip's base name (default: PACKAGE's base name and
//	                     the architecture, NAME-ARCH, or
//	                     mcplambda-stdio-layer-ARCH with --layer)
//	--tags a,b           more build tags, added to lambda.norpc
//	--layer              build the stdio layer instead of a function
//	--config FILE        build a gateway of this configuration file
//	--json               print the result as a JSON object: zip, arch, layer,
//	                     files (name and uncompressed bytes), zipBytes, sha256
//
// Progress and the go command's output go to standard error.
//
// # mcplambda call
//
//	mcplambda call [flags] TARGET COMMAND [ARGUMENTS]
//
// Call is an MCP client for one request, built on go-sdk's client. TARGET
// is an http(s) URL of an MCP endpoint (a function URL, an API Gateway API,
// "mcplambda dev"), or lambda:FUNCTION[:QUALIFIER] to invoke the function
// directly through the Lambda Invoke API
// ([github.com/mcplambda/mcplambda/invoke]); FUNCTION is a name or an ARN.
// The commands are:
//
//	discover            the server's name, version, protocol version and capabilities
//	tools               list the tools (a table of names and descriptions)
//	tool NAME           call a tool; arguments with --arg KEY=VALUE (repeatable;
//	                    values that parse as JSON are sent as JSON unless the tool's
//	                    schema makes the property a string) or --args '{...}'
//	resources           list the resources and resource templates
//	read URI            read a resource
//	prompts             list the prompts
//	prompt NAME         get a prompt, with --arg KEY=VALUE
//	tool NAME --task    call a tool declaring the MCP tasks extension: the server
//	                    may make the call a task, which call then polls (tasks/get,
//	                    at the interval the server suggests) until it ends, with
//	                    its status and progress on standard error and the result,
//	                    as for tool, on standard output
//	task get ID         a task's status, and its result or error once it has ended
//	task cancel ID      cancel a task (the server stops its tool)
//
// Flags (before or after TARGET and COMMAND):
//
//	--protocol 2026-07-28|2025-11-25
//	                     the protocol version to ask for (default 2026-07-28,
//	                     stateless, with server/discover; 2025-11-25 uses initialize)
//	--json               print the result as JSON (the MCP result object)
//	--sigv4              sign requests with AWS SigV4, for a function URL or an
//	                     API with IAM auth ([github.com/mcplambda/mcplambda/sigv4]);
//	                     service and region from the URL, credentials from the
//	                     default AWS chain
//	--service NAME       SigV4 signing name, lambda or execute-api, for a custom
//	                     domain (default: from the URL's host)
//	--region REGION      region for --sigv4 and lambda: targets (default: from the
//	                     URL or ARN, else the AWS configuration)
//	--token TOKEN        a static bearer token (default $MCPLAMBDA_TOKEN)
//	--oauth              sign in to an OAuth-protected server with go-sdk's client:
//	                     authorization code with PKCE; call prints the URL to open
//	                     on standard error and waits for the redirect on a
//	                     localhost listener (--callback, default 127.0.0.1:0);
//	                     the client is --client-id, else dynamically registered
//	--client-id ID       OAuth client (default $MCPLAMBDA_CLIENT_ID); with
//	                     $MCPLAMBDA_CLIENT_SECRET set, call uses the client
//	                     credentials grant instead, for machines
//	--endpoint-url URL   the Invoke API for lambda: targets, e.g. the invoke
//	                     endpoint "mcplambda dev" prints
//	--timeout 5m         give up after this long
//
// For example:
//
//	mcplambda call http://127.0.0.1:8080/mcp tools
//	mcplambda call --sigv4 https://abc.lambda-url.eu-west-1.on.aws/mcp tool get_current_time --arg timezone=UTC
//	mcplambda call --endpoint-url http://127.0.0.1:8080 lambda:time discover
//
// A task that fails or is cancelled, or that needs input call cannot give,
// or is still running at --timeout (its id is printed, for task get), is a
// failure too.
//
// On failure call prints one line and exits with status 1: the endpoint
// is unreachable; 401 or 403, with the protected resource metadata URL the
// server names (or serves at its well-known path), or the scope a token
// lacks; a JSON-RPC error, with
// its code; a tool result with isError, with its text; a Lambda function
// error, throttling (retried first) or a payload over 6 MB.
//
// Call shows the server's progress notifications and log messages on
// standard error as they arrive ("mcplambda: progress 50%: step 2 of 3",
// "mcplambda: log info: ..."); --log-level LEVEL (default info) is the
// level it asks for, off for none; --json leaves standard output to the
// result. A lambda: target returns no notifications, so call asks it for
// none.
//
// A lambda: target whose --endpoint-url is a loopback address (what
// "mcplambda dev" prints) needs no AWS configuration: call signs with
// placeholder credentials in region us-east-1 (or --region). Any other
// target uses the default AWS chain; when it finds no credentials, call
// says so in one line.
//
// --oauth caches the tokens it gets, per user, in the user's cache
// directory: $XDG_CACHE_HOME/mcplambda/oauth or ~/.cache/mcplambda/oauth
// on Linux, ~/Library/Caches/mcplambda/oauth on macOS,
// %LocalAppData%\mcplambda\oauth on Windows; one file per endpoint and
// client id, readable by the user only (0600, in a 0700 directory). The
// next run refreshes the access token with the refresh token instead of
// signing in again; deleting the file signs out.
//
// # mcplambda proxy
//
//	mcplambda proxy [flags] TARGET
//
// Proxy is a local MCP server that forwards everything to the MCP server at
// TARGET, which it reaches the way call does: a URL with --sigv4, --token
// or --oauth (browser sign-in once, then cached and refreshed tokens; the
// proxy opens the sign-in page in the default browser unless --no-browser,
// and prints its URL on standard error), or lambda:FUNCTION[:QUALIFIER]
// through the Lambda Invoke API (--region, --endpoint-url, the default
// credential chain and AWS_PROFILE). It is what a desktop MCP client
// starts to reach a server it cannot sign for:
//
//	{"command": "mcplambda", "args": ["proxy", "--sigv4", "https://abc.lambda-url.eu-west-1.on.aws/mcp"]}
//
// The local side is standard input and output, and nothing but the MCP
// protocol is ever written to standard output; with --listen
// 127.0.0.1:PORT it is streamable HTTP at http://127.0.0.1:PORT/mcp
// instead (a loopback address only; a request with another Host, or a
// cross-origin browser request, is refused with 403), and the proxy prints
// "mcplambda: listening on URL" when ready.
//
// Both sides speak both protocol eras: a local client of 2025-11-25 (or
// older) or of 2026-07-28, a remote asked for --protocol 2026-07-28
// (default, falling back to initialize) or 2025-11-25. Tools, resources,
// resource templates, prompts, completion, progress notifications (as
// they arrive), log messages, list_changed and resources/updated are
// forwarded. When a 2026-07-28 remote answers input_required, a local
// client of 2026-07-28 gets it as it is; an older one is asked with the
// real requests (elicitation, sampling, roots) it declared it supports,
// and the proxy retries with its answers. What cannot be bridged: a
// server-to-client request of an older remote to a 2026-07-28 local
// client; notifications from a lambda: target (the Invoke API returns the
// response alone, so the proxy asks it for none); list_changed from a
// remote on Lambda (its instances hold no subscription).
//
// A failure to reach the remote (unreachable, 401 or 403 after signing
// again once, throttling, a function that crashed, a remote that died in
// the middle of a call) is answered to the local client as a JSON-RPC
// error -32603 whose message says why, and written as one line on
// standard error; the proxy keeps serving, and reconnects on the next
// request. Errors the remote answers with are passed on as they are.
//
// Flags: those of call (--sigv4, --service, --region, --token, --oauth,
// --client-id, --callback, --endpoint-url, --protocol), and
//
//	--listen ADDRESS   serve streamable HTTP on this loopback address instead of stdio
//	--no-browser       with --oauth, do not open a browser
//	-v                 log what go-sdk does on standard error
//
// # mcplambda gateway
//
//	mcplambda gateway [--addr host:port] [-v] --config FILE
//	mcplambda gateway --check [--json] --config FILE
//
// Gateway serves the MCP servers that FILE names as one MCP endpoint
// (package [github.com/mcplambda/mcplambda/gateway]): their tools,
// prompts, resources and templates, namespaced per backend
// (PREFIX__NAME, PREFIX+URI), with calls routed to the backend that owns
// the name. FILE is JSON in the mcpServers shape of Claude Desktop, Claude
// Code, Cursor and VS Code ("servers"), so such a file works as it is,
// with extensions: lambda:FUNCTION[:QUALIFIER] URLs (the Lambda Invoke API,
// with the gateway's role), sigv4 and token for HTTP backends, secret
// references (ssm:NAME, secretsmanager:ID[#KEY]) in env, headers and
// tokens, prefix, allowTools, denyTools, timeout, forwardPrincipal, and a
// "gateway" section (name, instructions, timeouts, auth, trustFrontDoor):
//
//	{"mcpServers": {
//	  "time":       {"url": "lambda:time:live"},
//	  "everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]},
//	  "docs":       {"url": "https://abc.lambda-url.eu-west-1.on.aws/mcp", "sigv4": true}
//	}}
//
// Inside Lambda it runs the runtime loop for every front door; elsewhere
// it serves http://127.0.0.1:$PORT/mcp (--addr) and prints "mcplambda:
// listening on URL". A mistake in FILE is reported with the file, the
// backend and the field, and exits with status 1; fields of desktop
// clients that mean nothing to a gateway are ignored with a warning.
// --check prints the backends and the AWS resources the gateway needs,
// and exits. -v logs every request to a backend.
//
// FILE is --config, else $MCPLAMBDA_GATEWAY_CONFIG. Run by Lambda as a
// function's bootstrap (the zip of "mcplambda build --config"), the binary
// needs no arguments: it serves the gateway of the gateway.json next to it.
//
// # mcplambda init
//
//	mcplambda init [--module PATH] [--name NAME] [DIR]
//
// Init writes a new server module into DIR (default "."): go.mod requiring
// mcplambda at this binary's version and go-sdk, with the mcplambda
// command as a tool; main.go with one typed tool; main_test.go, which
// calls the tool through the Lambda emulator (package lambdatest);
// README.md and .gitignore; and deploy/, a CDK app in its own module that
// deploys the function behind a function URL with AWS_IAM auth. It then
// runs "go mod tidy" in both. It writes over nothing: if any of its files
// exists, it stops before writing. The module passes "go test ./...",
// "go tool mcplambda dev ." and "go tool mcplambda build ." as written.
//
// # mcplambda version
//
//	mcplambda version
//
// Version prints the module version of the binary (a release, a
// pseudo-version, or "(devel)"), its commit when it was built from a
// checkout, and the Go version and platform, from the build information.
//
// # Exit status
//
// 0 on success and when stopped by a signal, 1 when something fails (a build
// error, an address in use), 2 for a usage error, with a hint on standard error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second Ctrl-C ends a shutdown that
		// hangs, at once, with what must not outlive the process.
		<-ctx.Done()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		stop()
		<-again
		forcedExit.run()
		os.Exit(130)
	}()
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	args := os.Args[1:]
	if a, ok := bootstrapArgs(); ok {
		args = a // the bootstrap of a gateway function (mcplambda build --config)
	}
	err := m.Run(ctx, args)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// forcedExit is what a second Ctrl-C does before the process exits: dev
// kills its instances, which run in process groups of their own and would
// outlive it.
var forcedExit hooks

type hooks struct {
	mu  sync.Mutex
	fns map[*func()]bool
}

// add registers f and returns the function that unregisters it.
func (h *hooks) add(f func()) (remove func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fns == nil {
		h.fns = make(map[*func()]bool)
	}
	h.fns[&f] = true
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.fns, &f)
	}
}

func (h *hooks) run() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for f := range h.fns {
		(*f)()
	}
}

// exitCode reports err on stderr and returns the process exit status for it:
// 0 for nil, 2 for a [usageError], 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "mcplambda: %v\n", err)
	var uerr *usageError
	if errors.As(err, &uerr) {
		if uerr.hint != "" {
			fmt.Fprintln(stderr, uerr.hint)
		}
		return 2
	}
	return 1
}

// usageError is a mistake on the command line. main exits with status 2 and
// prints the hint after the message.
type usageError struct {
	err  error
	hint string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// parseInterspersed parses args with set, letting flags come before,
// between and after the operands, which it returns; after "--" everything
// is an operand. A bad flag is a [usageError] with hint, prefixed with the
// command's name; -h is flag.ErrHelp.
func parseInterspersed(set *flag.FlagSet, command, hint string, args []string) ([]string, error) {
	var operands []string
	for {
		if err := set.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err: fmt.Errorf("%s: %w", command, err), hint: hint}
		}
		if set.NArg() == 0 {
			return operands, nil
		}
		if consumed := len(args) - set.NArg(); consumed > 0 && args[consumed-1] == "--" {
			return append(operands, set.Args()...), nil
		}
		operands = append(operands, set.Arg(0))
		args = set.Args()[1:]
	}
}

// usagef returns a [usageError] with the given hint.
func usagef(hint, format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...), hint: hint}
}

// Main is the mcplambda command: it dispatches to a subcommand.
type Main struct {
	Stdin  io.Reader // the MCP protocol, for "proxy"
	Stdout io.Writer // the subcommands' result output
	Stderr io.Writer // progress, logs and diagnostics
}

// command is one subcommand. Its Run parses args (which exclude the
// command's name) and does the work; it returns nil when done or when ctx is
// cancelled by a signal, a [usageError] for a command-line mistake.
type command interface {
	Run(ctx context.Context, args []string) error
}

// commands lists the subcommands in the order the usage shows them.
var commands = []struct {
	name, summary string
	new           func(m *Main) command
}{
	{"dev", "serve a function locally under a Lambda Runtime API emulator",
		func(m *Main) command { return &DevCommand{Stdout: m.Stdout, Stderr: m.Stderr} }},
	{"build", "cross-compile a package into a reproducible Lambda deployment zip or the stdio layer",
		func(m *Main) command { return &BuildCommand{Stdout: m.Stdout, Stderr: m.Stderr} }},
	{"stdio", "serve a stdio MCP server, kept warm, in Lambda or locally (no code)",
		func(m *Main) command { return &StdioCommand{Stdout: m.Stdout, Stderr: m.Stderr} }},
	{"call", "call an MCP server: list and call its tools, resources and prompts",
		func(m *Main) command { return &CallCommand{Stdout: m.Stdout, Stderr: m.Stderr} }},
	{"proxy", "serve a remote MCP server (SigV4, OAuth, Lambda Invoke API) to local clients over stdio",
		func(m *Main) command { return &ProxyCommand{Stdin: m.Stdin, Stdout: m.Stdout, Stderr: m.Stderr} }},
	{"gateway", "serve the MCP servers a configuration file names as one endpoint, in Lambda or locally",
		func(m *Main) command { return &GatewayCommand{Stdout: m.Stdout, Stderr: m.Stderr} }},
	{"init", "write a new MCP server module: main.go, a test, go.mod with the mcplambda tool, a CDK app",
		func(m *Main) command { return &InitCommand{Stdout: m.Stdout, Stderr: m.Stderr} }},
	{"version", "print the version of mcplambda",
		func(m *Main) command { return &VersionCommand{Stdout: m.Stdout} }},
}

const mainHint = `Run "mcplambda -h" for the list of commands.`

// Run runs the subcommand named by args[0] with the remaining arguments.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef(mainHint, "no command given")
	}
	name := args[0]
	switch name {
	case "-version", "--version":
		return m.Run(ctx, append([]string{"version"}, args[1:]...))
	case "-h", "-help", "--help", "help":
		if name == "help" && len(args) > 1 {
			// "mcplambda help dev" is "mcplambda dev -h".
			return m.Run(ctx, []string{args[1], "-h"})
		}
		m.usage(m.Stdout)
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			return c.new(m).Run(ctx, args[1:])
		}
	}
	return usagef(mainHint, "unknown command %q", name)
}

func (m *Main) usage(w io.Writer) {
	fmt.Fprint(w, `mcplambda develops and runs MCP servers built with github.com/mcplambda/mcplambda.

Usage:

	mcplambda <command> [flags] [arguments]

The commands are:

`)
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-8s%s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "mcplambda <command> -h" for a command's flags.
`)
}
