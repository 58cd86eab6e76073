package mcplambda

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/telemetry"
)

// EnvResponseStream is the environment variable that, set to true, makes
// [Serve] turn on [Options.ResponseStream]: the CDK construct of
// deploy/cdk sets it for a streaming front door, and `mcplambda dev
// --stream` for its instances.
const EnvResponseStream = "MCPLAMBDA_RESPONSE_STREAM"

// DefaultMaxBodyBytes is the request body limit used when
// [Options.MaxBodyBytes] is zero.
const DefaultMaxBodyBytes = 4 << 20

// Options configures [Start], [Serve], [NewHandler] and [NewLambdaHandler].
// A nil *Options means all defaults; the struct is copied, so changing it
// after the call has no effect.
type Options struct {
	// Addr is the local listen address used by [Serve] outside Lambda.
	// If empty, Serve listens on 127.0.0.1:$PORT, or 127.0.0.1:8080 when
	// PORT is unset.
	Addr string

	// Path is the path of the MCP endpoint. If empty, "/mcp" is used.
	// Requests for any other path get 404. In Lambda, the API Gateway stage
	// prefix is removed and any path ending in Path (a custom-domain
	// base-path mapping, say "/prod/tools/mcp") reaches the endpoint, except
	// under /.well-known/.
	Path string

	// MaxBodyBytes limits the size of a request body. Larger bodies get 413
	// with a JSON-RPC error. If zero, [DefaultMaxBodyBytes] (4 MiB) is used;
	// a negative value disables the limit.
	MaxBodyBytes int64

	// AllowedOrigins lists the browser origins (e.g.
	// "https://app.example.com") allowed to call the endpoint; "*" allows
	// any. If empty, no CORS headers are sent and requests carrying an Origin
	// header that is not the endpoint's own origin get 403.
	AllowedOrigins []string

	// DisableLocalhostProtection turns off go-sdk's DNS-rebinding
	// protection for local serving (a request arriving on a loopback
	// address with a non-loopback Host header gets 403). Leave it false
	// unless a trusted proxy rewrites Host.
	DisableLocalhostProtection bool

	// TrustFrontDoor makes the identity a Lambda front door verified (an
	// IAM-authenticated function URL or API, an API Gateway JWT, Cognito or
	// Lambda authorizer) the caller of a request that carries no verified
	// bearer token, for everything that asks package identity who is
	// calling: session ownership, app state, sealed state, the stdio
	// adapter's per-principal isolation, package auth's ResourceServer,
	// logs. Leave it false unless every way to invoke the function goes
	// through such a front door: anyone allowed to call
	// lambda:InvokeFunction can send an event carrying any identity. The
	// event's identity fields are always readable through
	// [RequestFromContext]; this only decides whether they count.
	TrustFrontDoor bool

	// ResponseStream makes the Lambda handler answer function URL and REST
	// API events with a streamed response, for a function URL in
	// RESPONSE_STREAM invoke mode and a REST API whose Lambda proxy
	// integration streams (responseTransferMode STREAM): progress
	// notifications reach the client while a tool runs, and so do the
	// requests a tool sends to a legacy client (elicitation, sampling,
	// roots; see Sessions). An event does not say whether its front door
	// streams, so every function URL and REST API in front of the function
	// must. HTTP APIs, load balancers and direct invokes are always
	// answered buffered. If false, responses are buffered, unless [Serve]
	// (or [Start]) finds MCPLAMBDA_RESPONSE_STREAM ([EnvResponseStream])
	// true in the environment, as the CDK construct of deploy/cdk and
	// `mcplambda dev --stream` set it.
	ResponseStream bool

	// Logger receives one line per MCP request and the adapter's own log
	// lines (recovered panics). If nil, [Serve] and [Start] use
	// telemetry.DefaultLogger (stdout in Lambda, JSON when the function's
	// log format is JSON; stderr text locally), and [NewHandler] logs
	// nothing. Failed requests are logged at WARN, others at INFO.
	Logger *slog.Logger

	// LogPayloads adds each request's params and result to its log line.
	// Off by default: arguments and results may hold personal data.
	LogPayloads bool

	// Metrics, if set, makes [NewLambdaHandler] write one batch of
	// CloudWatch EMF metrics per invocation (requests, errors and latency
	// per method and tool; cold starts). If nil, [Serve] and [Start] use
	// telemetry.NewMetrics(os.Stdout, nil) inside Lambda, and
	// NewLambdaHandler records no metrics.
	Metrics *telemetry.Metrics

	// Middleware, if set, wraps the MCP handler inside [NewHandler] (so in
	// everything [Start] serves, locally and in Lambda), inside the origin
	// check and CORS, so that its own answers carry CORS headers — for
	// example the authorization of package auth: Middleware: rs.Handler.
	Middleware func(http.Handler) http.Handler

	// Sessions, if set, turns on stateful mode for legacy clients
	// (2025-11-25, 2025-06-18, 2025-03-26): initialize creates a session
	// record in Sessions (protocol version, client info and capabilities,
	// log level, and the principal that owns it, see package identity) and answers with an
	// Mcp-Session-Id that works on every instance sharing the store (use
	// package dynamo in Lambda). A session presented by another principal,
	// or unknown or expired, gets 404 and reveals nothing; DELETE ends it;
	// legacy requests without a session get 400. A request reads the
	// session once and writes only when its state changed (logging/setLevel)
	// or to extend a session past half its idle time. Tool handlers find
	// the session with state.SessionFromContext, and state.App keeps app
	// state per session. MCP 2026-07-28 requests stay stateless. If nil,
	// legacy clients are served without a server-side session.
	//
	// With sessions, a tool may send requests to a legacy client
	// (ServerSession.Elicit, CreateMessage, ListRoots) when the response
	// streams (locally, or with ResponseStream behind a function URL or
	// REST API): the request goes out on the call's response stream, the
	// client's answer comes in a new POST that any instance may serve, and
	// meets the waiting call in the store (one write, and polling reads:
	// at most 8 in the first second, then 4 a second). An unanswered
	// request fails shortly before the handler's deadline. Behind a
	// buffered front door, or without sessions, such a request fails at
	// once with an error that says why. dynamo.SessionsFromEnv returns the
	// store when MCPLAMBDA_SESSIONS is true.
	Sessions state.Store

	// SessionTTL is how long a legacy session lives without use. If zero,
	// [DefaultSessionTTL] (one hour).
	SessionTTL time.Duration

	// Ready, if set, is called by [Serve] (and [Start]) with the MCP
	// endpoint's URL once a local server accepts connections. If nil, the
	// line "mcplambda: listening on URL" is printed to standard output.
	Ready func(url string)

	// Shutdown, if set, is called once when [Serve] (or [Start]) stops
	// serving: locally after the listener has shut down, in Lambda when
	// the execution environment receives SIGTERM (Serve then asks Lambda
	// for it), before the process exits. Use it to stop what the server
	// owns, such as package stdio's child process.
	Shutdown func()

	// Events handles invocations that carry none of the front doors'
	// events and no JSON-RPC message, but a JSON object whose only member
	// is named by one of the map's keys: that member's handler gets its
	// value, and answers the invocation (an error is a Lambda function
	// error). For example, the task-run payloads that package tasks' Lambda
	// executor (tasks/lambdaexec) sends the function itself:
	//
	//	Events: map[string]mcplambda.EventHandler{tasks.RunEvent: m.HandleEvent}
	//
	// Local serving has no invocations and ignores it. nil means none.
	Events map[string]EventHandler

	// LambdaOptions are passed to lambda.StartWithOptions by [Start].
	LambdaOptions []lambda.Option

	// WrapLambdaHandler, if set, wraps the Lambda handler [Start] runs,
	// for instrumentation such as package telemetry/tracing. A wrapper
	// calls Invoke, which cannot stream, so Start then turns
	// ResponseStream off (and logs that it did).
	WrapLambdaHandler func(lambda.Handler) lambda.Handler
}
