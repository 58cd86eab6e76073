// Package stdio serves any stdio MCP server (a Node, Python or Go program
// that speaks MCP on its standard input and output) from AWS Lambda and
// locally, keeping the server process warm between invocations.
//
// A [Proxy] starts the server as a child process, initializes it once,
// caches its capabilities and lists, and is itself an *mcp.Server, so
// every mcplambda front door (function URLs, API Gateway HTTP and REST
// APIs, ALB, direct Lambda invokes of a JSON-RPC message or batch,
// Amazon Bedrock AgentCore Gateway targets) and both protocol eras come
// from [github.com/mcplambda/mcplambda]:
//
//	p, err := stdio.NewProxy(ctx, stdio.Command{Path: "node", Args: []string{"server.js"}}, nil)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer p.Close()
//	mcplambda.Start(p.Server(), nil)
//
// or, in one call that also stops the child when the server stops:
//
//	err := stdio.Run(ctx, stdio.Config{Command: stdio.Command{Path: "node", Args: []string{"server.js"}}}, nil)
//
// Both serve through mcplambda.Serve, the one serving path of every
// mcplambda server: the Lambda runtime loop with logs and EMF metrics in
// Lambda, a local HTTP server elsewhere. Forwarded calls see the request's
// deadline (in Lambda, the invocation's).
//
// # Lifecycle
//
// The child is started when the proxy is created (in Lambda: during the
// init phase, which is not billed and runs with a full CPU) and kept
// across warm invocations. Requests are forwarded over one MCP client
// session; the child's progress notifications reach a caller that accepts
// text/event-stream. With [ProxyOptions.RelayRequests] (on in [Run] when
// the server has sessions, MCPLAMBDA_SESSIONS=true in the no-code mode),
// the child's requests to its client (elicitation, sampling, roots) go to
// the caller of the request it serves: legacy clients on a session whose
// response streams answer them, on whatever instance their answer lands;
// others get a JSON-RPC error that says why. A child that exits, breaks its pipes, writes
// something that is not an MCP message stream, sends a message over
// [ProxyOptions.MaxMessageBytes], or does not answer before the
// invocation's deadline minus [ProxyOptions.DeadlineMargin] fails the
// request with a JSON-RPC internal error (-32603) that says which, and is
// killed and restarted before the next request. Lines the child prints on
// stdout that are not JSON (banners, logs) are moved to the function log
// instead of breaking the session. Its stderr goes to the function log
// line by line. [Proxy.Close] stops it: stdin closed, then SIGTERM to its
// process group, then SIGKILL, within [ProxyOptions.ShutdownTimeout].
//
// # Processes
//
// The server runs in a process group of its own, and whatever ends it
// (Close, a crash, a hang, the end of a [PerRequest] process, a new
// principal under [PerPrincipal]) ends what it started in that group: once
// the server has exited, what is left of the group gets SIGTERM, then
// SIGKILL when nothing is left or when ShutdownTimeout (half of it after a
// crash) has run out, at once when the server was killed. On Linux, the
// signals also reach the processes descended from the group that moved to
// a group or session of their own (setsid, setpgid), found through /proc.
//
// What cannot be tracked: a descendant that left the process group and
// whose parent has exited (a daemon's double fork; the system re-parents
// it to init), and so, after a server that exits by itself, one that left
// the group; on systems other than Linux, any descendant that left the
// group; on systems other than Unix, anything but the server process. If
// the adapter itself is killed (SIGKILL), Linux kills the server (a
// parent-death signal) but not what the server started; the lambdatest
// emulator (and so mcplambda dev) kills the whole tree of an execution
// environment it ends, as Lambda does.
//
// # Isolation
//
// [ProxyOptions.Isolation] chooses which callers may share a process:
// [Warm] (the default; fastest, every caller of an execution environment
// shares the process and whatever state it keeps), [PerPrincipal] (a
// process serves one authenticated principal at a time and is restarted
// when the principal changes, as package identity decides it) and
// [PerRequest] (a fresh process per request, the behaviour of the
// reference project @aws/run-mcp-servers-with-aws-lambda; nothing shared,
// slowest).
//
// # No-code mode
//
// [Run] serves a server described by a [Config], usually read with
// [ConfigFromEnv] from MCPLAMBDA_COMMAND, MCPLAMBDA_ARGS (a JSON array),
// MCPLAMBDA_ENV (a JSON object), MCPLAMBDA_DIR and MCPLAMBDA_ISOLATION, or
// from the JSON file named by MCPLAMBDA_CONFIG. Environment values of the
// form ssm:NAME and secretsmanager:ID[#KEY] are secrets, resolved once at
// start by [RunOptions.ResolveEnv] (package
// [github.com/mcplambda/mcplambda/stdio/awssecrets] with the function's
// role) and never logged. The layer/ folder holds the
// AWS_LAMBDA_EXEC_WRAPPER script that runs the mcplambda binary in place
// of a managed runtime (Node.js, Python), so the server can use that
// runtime's interpreter; on provided.al2023 the layer/bootstrap script runs
// the mcplambda binary zipped beside it, and the server binary sits there
// too.
package stdio
