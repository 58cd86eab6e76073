// Package gateway serves many MCP servers as one: a configuration file
// names the backends — stdio commands, Lambda functions, Streamable HTTP
// (or HTTP+SSE) URLs — and the gateway is one MCP server in front of them
// all, on Lambda or locally, through mcplambda.Serve. "mcplambda gateway
// --config FILE" runs it; the same binary is its Lambda bootstrap.
//
//	cfg, err := gateway.Load("gateway.json")
//	if err != nil {
//		log.Fatal(err)
//	}
//	err = gateway.Serve(ctx, cfg, nil) // mcplambda: listening on http://127.0.0.1:8080/mcp
//
// # Configuration
//
// The file is JSON in the shape of the mcpServers files of Claude
// Desktop, Claude Code, Cursor and VS Code ("servers"), so an existing
// file deploys unchanged:
//
//	{
//	  "mcpServers": {
//	    "everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"],
//	                   "env": {"API_KEY": "secretsmanager:prod/everything#key"}},
//	    "time":       {"url": "lambda:time:live"},
//	    "docs":       {"type": "http", "url": "https://abc.lambda-url.eu-west-1.on.aws/mcp", "sigv4": true},
//	    "search":     {"url": "https://search.example.com/mcp", "token": "ssm:/prod/search-token",
//	                   "prefix": "s", "allowTools": ["search_*"], "timeout": "10s", "forwardPrincipal": true}
//	  },
//	  "gateway": {"name": "team-tools", "timeout": "30s",
//	              "auth": {"resource": "https://gw.example.com/mcp", "issuer": "https://issuer.example.com",
//	                       "toolScopes": {"time__convert_time": ["tools:admin"]}}}
//	}
//
// A backend's type is "type" (stdio, http — also streamable-http —,
// sse, lambda) or, without it: command means stdio, a url of the form
// lambda:FUNCTION[:QUALIFIER] (or a "function" field, with "qualifier"
// and "region") means a Lambda function invoked through the Invoke API
// with the gateway's role (mcplambda functions and the reference stdio
// adapter's alike), another url means Streamable HTTP. An http or sse
// backend authenticates the gateway with "sigv4" (true, or {"service",
// "region"}: SigV4 with the gateway's role, for a function URL or API
// Gateway with IAM auth), "token" (a bearer token) or "headers". Every
// backend may have "prefix", "allowTools" and "denyTools" (patterns of the
// backend's own tool names, path.Match syntax; Gemini CLI's includeTools
// and excludeTools are the same), "timeout" (a duration such as "30s", or
// seconds), "forwardPrincipal" and "protocolVersion". "disabled": true
// leaves a backend out. Fields of desktop clients that mean nothing here
// (autoApprove, ...) and unknown fields are ignored with a warning.
//
// Values of env, headers and token may be secret references, resolved
// once at start with the gateway's role: ssm:NAME (an SSM parameter,
// SecureString decrypted) or secretsmanager:ID[#KEY] (a Secrets Manager
// secret, or one key of a JSON secret), as in package stdio. String
// values may hold ${VAR}, ${VAR:-default} and ${env:VAR}, replaced with
// the gateway's environment when the file is read. Relative paths (a
// command, "cwd") start in the file's directory: /var/task in Lambda.
//
// The "gateway" section holds the gateway's own settings: name, version,
// instructions, timeout (the default of backends, [DefaultTimeout]),
// listTimeout ([DefaultListTimeout]), startTimeout
// ([DefaultStartTimeout]), retryAfter ([DefaultRetryAfter]),
// trustFrontDoor, and auth (resource, issuer, scopes, toolScopes,
// iamScopes, resourceName: package auth's ResourceServer).
//
// A mistake is reported with the file, the backend and the field:
//
//	gateway: gateway.json: backend "time": url: "lambda:": missing: want lambda:FUNCTION[:QUALIFIER]
//
// # Names
//
// A backend's tools and prompts are served as PREFIX__NAME, its
// resources and resource templates as PREFIX+URI (time__get_current_time,
// everything+test://static/resource/1). PREFIX is the backend's "prefix",
// by default its name in lowercase with every run of other characters
// than letters and digits made one hyphen ("My Server" gives
// "my-server"); a prefix is lowercase letters, digits and hyphens,
// starting with a letter. Since no prefix holds an underscore or a plus
// sign, the owner of a name is known from the name alone: two backends
// cannot collide, and the gateway refuses at start a file where two
// backends have one prefix. "prefix": "" serves a backend's names as
// they are; at most one backend may do that, and the gateway refuses to
// start when that backend lists a name another backend's prefix claims
// (later, such an item is left out of lists, with a warning). URIs are
// rewritten in results too: resource contents, resource links and
// embedded resources. Per-tool scopes (auth.toolScopes) name tools as
// served, PREFIX__NAME.
//
// A gateway with one backend and "prefix": "" is transparent: its lists
// page as the backend pages them, and it answers with the backend's
// server info, instructions and capabilities.
//
// # Lists, calls and failures
//
// Lists (tools, prompts, resources, templates) are merged from every
// backend, in the file's order, in one page. Their ttlMs is the
// shortest time any backend's part stays fresh (0 for a backend of a
// protocol without cache hints), so a client never caches a part longer
// than its backend allows; list_changed from any backend is passed on
// and makes the gateway ask that backend again. Calls go to the backend
// that owns the name, with the caller's progress token; progress
// notifications and log messages come back as they arrive where the
// front door streams (log messages name the backend as their logger).
// Both protocol eras are served whatever each backend speaks. Extensions
// are not relayed (as by mcplambda proxy): the tasks extension's methods
// and results do not pass through a gateway, and it offers none.
//
// A backend that fails fails only its own calls, with a JSON-RPC error
// naming it ("mcplambda gateway: backend \"time\": tools/call
// get_current_time: no answer within 30s (the backend's timeout)"). A
// list answers with the items of the backends that answered within
// ListTimeout (and before the invocation's deadline), and names the
// missing ones in its _meta under [MetaKeyUnavailable]. A backend that
// cannot be reached is tried again after RetryAfter, doubling while it
// stays down; meanwhile its calls fail at once.
//
// # Security
//
// The gateway's own callers are authenticated by package auth (bearer
// tokens of the configured issuer, or the front door's identity with
// trustFrontDoor); per-tool scopes apply to the namespaced names. The
// client's token is never passed to a backend: backends see the gateway's
// identity — its IAM role for lambda backends and sigv4, its own token or
// headers otherwise — and, for backends with forwardPrincipal, the
// caller's principal (package identity) in the _meta key
// [MetaKeyPrincipal], which the gateway removes from what clients send.
// stdio backends run in the gateway's execution environment and inherit
// its environment, AWS credentials included, as in package stdio; each is
// one warm child process shared by every caller of the execution
// environment (package stdio's Warm isolation: a gateway does not restart
// a child per caller), so put a server that keeps per-user state behind a
// function of its own and name it as a lambda: backend.
//
// # Metrics and logs
//
// Every request to a backend is counted in the invocation's EMF metrics
// (telemetry.RecordBackend: Requests, Errors, Latency by Service+Backend
// and Service+Backend+Method) and logged: failures at WARN, others at
// DEBUG, with the backend, method, tool or prompt and duration.
//
// # Deploying
//
// "mcplambda build --config gateway.json" writes a zip whose bootstrap is
// the mcplambda binary, with the configuration next to it as [ConfigFile]
// and the AWS resources it needs as [GrantsFile]; run as "bootstrap" in
// Lambda, the binary serves the gateway of the [ConfigFile] next to it
// (or of the file MCPLAMBDA_GATEWAY_CONFIG names). The CDK construct
// NewGateway (module deploy/cdk) deploys that zip and grants
// lambda:InvokeFunction on exactly the configured functions and read
// access to exactly the referenced parameters and secrets.
package gateway
