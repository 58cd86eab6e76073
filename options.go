package mcplambda

import (
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
)

// DefaultMaxBodyBytes is the request body limit used when
// [Options.MaxBodyBytes] is zero.
const DefaultMaxBodyBytes = 4 << 20

// Options configures [Start], [NewHandler] and [NewLambdaHandler].
// A nil *Options means all defaults; the struct is copied, so changing it
// after the call has no effect.
type Options struct {
	// Addr is the local listen address used by [Start] outside Lambda.
	// If empty, Start listens on 127.0.0.1:$PORT, or 127.0.0.1:8080 when
	// PORT is unset.
	Addr string

	// Path is the path of the MCP endpoint. If empty, "/mcp" is used.
	// Requests for any other path get 404. In Lambda, an API Gateway stage
	// prefix and custom-domain base-path mappings in front of Path are
	// accepted.
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

	// ResponseStream makes the Lambda handler answer Function URL events
	// with a streamed response (invoke mode RESPONSE_STREAM), so progress
	// notifications reach the client while a tool runs. If false, responses
	// are buffered, which is what every front door other than a Function URL
	// in RESPONSE_STREAM mode requires.
	ResponseStream bool

	// Logger receives the adapter's log lines (recovered panics, rejected
	// requests). If nil, [Start] logs to stderr with slog's default
	// handler, and [NewHandler] / [NewLambdaHandler] log nothing.
	Logger *slog.Logger

	// LambdaOptions are passed to lambda.StartWithOptions by [Start].
	LambdaOptions []lambda.Option
}
