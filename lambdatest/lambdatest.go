// Package lambdatest runs a real AWS Lambda bootstrap binary locally, the way
// the Lambda service would, in the spirit of net/http/httptest. It uses no
// Docker, no AWS runtime interface emulator and no AWS service.
//
// A [Function] starts the bootstrap (for example a Go program using
// github.com/aws/aws-lambda-go, built with -tags lambda.norpc) as child
// processes with the environment Lambda sets, serves each of them the
// Lambda Runtime API (2018-06-01) on 127.0.0.1, and hands them invocations
// one at a time: cold starts on demand, warm reuse, a pool of up to
// [Options.Instances] instances (queueing or, with [Options.Throttle],
// throttling beyond it), the configured timeout (the instance is killed and
// replaced), crashes, init errors, response streaming with error trailers,
// and a CloudWatch-style [Report] after each invocation.
//
// On top of a Function:
//
//   - [NewInvokeAPI] serves the Lambda Invoke HTTP API (Invoke and
//     InvokeWithResponseStream), so the AWS SDK's Lambda client, with its
//     base endpoint set to the server's URL, can call it, and refuses what
//     a web page in the developer's browser could send (a foreign Host, an
//     Origin, a form or text body);
//   - [NewFrontDoor] turns plain HTTP requests into the events of a Lambda
//     Function URL, an API Gateway HTTP API (payload 2.0) or REST API
//     (payload 1.0), or an Application Load Balancer target group (single-
//     or multi-value headers), and writes the function's response back,
//     streamed responses included, with each service's limits and error
//     answers. A front door can also be put in front of any other
//     [Invoker].
//
// Quick start:
//
//	// go build -tags lambda.norpc -o bootstrap ./cmd/myfunction
//	f, err := lambdatest.NewFunction("./bootstrap", &lambdatest.Options{Timeout: 10 * time.Second})
//	if err != nil { ... }
//	defer f.Close()
//	resp, err := f.Invoke(ctx, []byte(`{"hello":"world"}`))
//	// resp.Payload, resp.FunctionError ("Unhandled" when the function failed)
//
//	url := httptest.NewServer(lambdatest.NewFrontDoor(f, lambdatest.FunctionURL, nil)).URL
//	api := httptest.NewServer(lambdatest.NewInvokeAPI(f)).URL // lambda.Options{BaseEndpoint: &api}
//
// Function errors are Lambda's error documents ({"errorMessage", "errorType"})
// with these types for failures of the execution environment:
// Sandbox.Timedout (timeout), Runtime.ExitError (the process exited),
// Runtime.InitError (the runtime posted to /runtime/init/error without a
// type of its own) and Function.ResponseSizeTooLarge.
//
// Each instance runs in a process group of its own. When it ends (its
// bootstrap exits or crashes, it times out, the Function is closed),
// everything it started goes with it, as when Lambda ends an execution
// environment: SIGKILL to its process group and, on Linux, to every
// process descended from it, whatever group or session it moved to (found
// through /proc; a process whose parent exited before, such as a daemon
// after a double fork, cannot be found). Process groups and signals need a
// Unix system (elsewhere only the bootstrap process itself is killed). The
// maximum memory used in a [Report] counts the instance's whole process tree:
// the peak of its cgroup with [Options.LimitCPU] on cgroup v2, otherwise the
// sum of the peaks its processes reached, read from /proc (0 where that does
// not exist). [Options.LimitCPU] gives each instance the CPU share its memory
// size buys in Lambda, through a Linux cgroup.
package lambdatest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Errors returned by [Function.Invoke] for emulator-level failures. Function
// errors (the handler failed, timed out or crashed) are not Go errors: they
// are reported in [Response.FunctionError] and [Response.Payload].
var (
	// ErrClosed is returned when the Function is closed.
	ErrClosed = errors.New("lambdatest: function closed")
	// ErrThrottled is returned when [Options.Throttle] is set and all
	// [Options.Instances] instances are busy (Lambda's
	// TooManyRequestsException at the concurrency limit).
	ErrThrottled = errors.New("lambdatest: too many requests: all instances are busy")
	// ErrRequestTooLarge is returned when the payload exceeds Lambda's
	// synchronous invocation limit of 6 MB (RequestTooLargeException).
	ErrRequestTooLarge = errors.New("lambdatest: request payload too large")
)

// Lambda's limits, as documented by AWS.
const (
	// MaxPayload is the maximum size of a synchronous invocation's request
	// payload (6 MB: Lambda refuses a larger one with "Request must be
	// smaller than 6291456 bytes for the InvokeFunction operation").
	MaxPayload = 6 * 1024 * 1024
	// MaxResponse is the maximum size of a buffered response payload:
	// 6 MB and 100 bytes, the limit Lambda's Function.ResponseSizeTooLarge
	// error names ("... maximum allowed payload size (6291556 bytes)"), and
	// AWS's Runtime Interface Emulator enforces.
	MaxResponse = MaxPayload + 100
	// MaxAsyncPayload is the maximum size of an asynchronous (Event)
	// invocation's payload (1 MB).
	MaxAsyncPayload = 1024 * 1024
	// MaxStreamedResponse is the maximum size of a streamed response (200 MB).
	MaxStreamedResponse = 200 * 1024 * 1024
)

// Options configures a [Function]. The zero value of every field is a usable
// default.
type Options struct {
	// FunctionName is the function's name, used in its ARN, its environment
	// and by the Invoke API. "" means "function".
	FunctionName string
	// Timeout is the function timeout: an invocation still running after
	// it is killed with its instance and fails with Sandbox.Timedout.
	// 0 means 3s (Lambda's default).
	Timeout time.Duration
	// MemoryMB is the configured memory size, reported to the function in
	// AWS_LAMBDA_FUNCTION_MEMORY_SIZE and in each [Report]. Memory is not
	// limited; the CPU it buys is with LimitCPU. 0 means 128.
	MemoryMB int
	// LimitCPU runs each instance in its own Linux cgroup whose CPU
	// bandwidth is the share MemoryMB buys in Lambda: one full vCPU at
	// 1,769 MB, proportionally less below (128 MB gets 7.2% of one CPU)
	// and more above, so that a Report's duration shows what the function
	// would take (and bill) at that size. It uses cgroup v2 (cpu.max, and
	// memory.peak for the Report) or else the cgroup v1 cpu controller
	// (cpu.cfs_quota_us), and needs the right to create cgroups (root).
	// Where that is not possible the instances run unlimited and one
	// warning says why on Logger. The default is no limit.
	LimitCPU bool
	// Instances is the maximum number of concurrent instances (execution
	// environments), like reserved concurrency. 0 means 1.
	Instances int
	// Throttle makes an invocation fail with [ErrThrottled] when all
	// Instances are busy, like Lambda at its concurrency limit. By default
	// the invocation waits for a free instance. Asynchronous (Event)
	// invocations always wait.
	Throttle bool
	// Region is the AWS region in the environment and ARNs. "" means "us-east-1".
	Region string
	// Aliases are qualifiers, besides $LATEST, that the Invoke API accepts
	// for this function; all of them run the same bootstrap.
	Aliases []string
	// Env holds extra KEY=VALUE pairs for instances, applied after (and
	// overriding) the variables Lambda sets. Instances do not inherit the
	// emulator's environment: pass AWS credentials here if the function
	// needs them.
	Env []string
	// Args are extra command-line arguments for the bootstrap.
	Args []string
	// Dir is the instances' working directory and LAMBDA_TASK_ROOT.
	// "" means the directory of the bootstrap.
	Dir string
	// Stdout and Stderr receive the instances' output. nil means os.Stderr.
	// Writes are serialised across instances.
	Stdout, Stderr io.Writer
	// OnReport, if set, is called after every invocation, before the
	// instance is released for the next one.
	OnReport func(Report)
	// InitTimeout bounds the init phase (process start to the runtime's
	// first request for an invocation). 0 means 10s, like Lambda.
	InitTimeout time.Duration
	// ShutdownTimeout is how long Close waits after SIGTERM before it sends
	// SIGKILL. 0 means 2s.
	ShutdownTimeout time.Duration
	// Logger receives the emulator's own logs. nil means discard.
	Logger *slog.Logger
}

// Report describes one invocation, like the REPORT line Lambda writes to
// CloudWatch Logs.
type Report struct {
	RequestID string
	// Duration runs from the moment the runtime received the invocation to
	// the end of its response.
	Duration time.Duration
	// BilledDuration is what Lambda bills for the invocation: Duration,
	// plus InitDuration on a cold start (Lambda bills the init phase of
	// provided.al2023 functions, and of every function since August
	// 2025), rounded up to the millisecond.
	BilledDuration time.Duration
	// InitDuration is the instance's init phase; set on cold starts only.
	InitDuration time.Duration
	// MemoryMB is the configured memory size.
	MemoryMB int
	// MaxMemoryMB is the instance's peak memory so far: its cgroup's
	// memory.peak (cgroup v2 with [Options.LimitCPU]), or else the sum of
	// the peak resident memory (VmHWM) of the bootstrap and every process
	// it started (a wrapped stdio server included); 0 if unknown.
	MaxMemoryMB int
	// Cold is true when the invocation started a new instance.
	Cold bool
	// Err is the Lambda error type when the invocation failed
	// ("Sandbox.Timedout", "Runtime.ExitError", or the function's errorType),
	// "" on success.
	Err string
}

// String formats r as Lambda's CloudWatch REPORT line (tab-separated, as
// Lambda writes it), with a Status field when the invocation failed.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, ms(r.Duration), r.BilledDuration.Milliseconds(), r.MemoryMB, r.MaxMemoryMB)
	if r.Cold {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", ms(r.InitDuration))
	}
	switch r.Err {
	case "":
	case errTimeout:
		b.WriteString("\tStatus: timeout")
	default:
		fmt.Fprintf(&b, "\tStatus: error\tError Type: %s", r.Err)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Response is the result of an invocation.
type Response struct {
	// Payload is the buffered response: the handler's result, or the error
	// document ({"errorMessage":...,"errorType":...}) when FunctionError is
	// set. It is nil when Streamed.
	Payload []byte
	// Body delivers a streamed response as the function writes it. It is
	// non-nil only when Streamed; the caller must close it. If the function
	// fails after it started streaming (error trailers, timeout, crash),
	// Read returns a *[StreamError].
	Body io.ReadCloser
	// Streamed reports whether the response is delivered as a stream: the
	// runtime posted it with Lambda-Runtime-Function-Response-Mode:
	// streaming, or with the content type
	// application/vnd.awslambda.http-integration-response (aws-lambda-go's
	// events.LambdaFunctionURLStreamingResponse and
	// events.APIGatewayProxyStreamingResponse), or [InvokeOptions.Stream]
	// was set. Errors before the stream starts are still buffered.
	Streamed bool
	// ContentType is the content type the runtime gave its response.
	ContentType string
	// FunctionError is "" on success and "Unhandled" when the function
	// returned an error, timed out, crashed or failed to initialise.
	FunctionError string
	// RequestID is the invocation's request id (Lambda-Runtime-Aws-Request-Id).
	RequestID string
}

// StreamError is returned by [Response.Body] when a streamed response ends
// in an error: the runtime's error trailers, a timeout or a crash.
type StreamError struct {
	Type    string // the Lambda error type, e.g. "Sandbox.Timedout"
	Message string
	Payload []byte // the error document
}

func (e *StreamError) Error() string {
	return "lambdatest: streamed response failed: " + e.Type + ": " + e.Message
}

// InvokeOptions holds optional invocation metadata for [Function.InvokeWith].
// The zero value is a plain invocation.
type InvokeOptions struct {
	// ClientContext is JSON passed to the runtime in
	// Lambda-Runtime-Client-Context; "" means none.
	ClientContext string
	// CognitoIdentity is JSON passed in Lambda-Runtime-Cognito-Identity.
	CognitoIdentity string
	// TraceID is passed in Lambda-Runtime-Trace-Id; "" means a generated one.
	TraceID string
	// Qualifier is the version or alias in the invoked function ARN;
	// "" means none (the unqualified ARN).
	Qualifier string
	// Stream delivers every response as a stream (Response.Body), as
	// Lambda's InvokeWithResponseStream does, instead of only those the
	// runtime declares as streamed.
	Stream bool
}

// An Invoker invokes a Lambda function synchronously, as [Function.Invoke]
// does; *[Function] is one. Function errors are in the [Response], not
// the error. [NewFrontDoor] can be put in front of any Invoker: the tests
// put one in front of AWS's Runtime Interface Emulator.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (*Response, error)
}

var _ Invoker = (*Function)(nil)

// FrontDoor is an AWS service that turns HTTP requests into Lambda events.
type FrontDoor string

// The front doors [NewFrontDoor] emulates.
const (
	// FunctionURL is a Lambda function URL (events.LambdaFunctionURLRequest).
	FunctionURL FrontDoor = "url"
	// HTTPAPI is an API Gateway HTTP API with payload format 2.0
	// (events.APIGatewayV2HTTPRequest).
	HTTPAPI FrontDoor = "httpapi"
	// RESTAPI is an API Gateway REST API proxy integration, payload
	// format 1.0 (events.APIGatewayProxyRequest).
	RESTAPI FrontDoor = "rest"
	// ALB is an Application Load Balancer forwarding to a Lambda target
	// group with multi-value headers off (the default):
	// events.ALBTargetGroupRequest with headers and queryStringParameters,
	// one value each (the last one the client sent).
	ALB FrontDoor = "alb"
	// ALBMultiValue is an Application Load Balancer whose Lambda target
	// group has multi-value headers on
	// (lambda.multi_value_headers.enabled): multiValueHeaders and
	// multiValueQueryStringParameters in the event, and the function must
	// answer with multiValueHeaders.
	ALBMultiValue FrontDoor = "alb-multi"
)

// FrontDoorOptions configures [NewFrontDoor]. The zero value of every field
// is a usable default.
type FrontDoorOptions struct {
	// Stage is the API Gateway stage. As with the real services, requests
	// must be sent under /{Stage}/ unless the stage is an HTTP API's
	// "$default". "" means "$default" for HTTPAPI and "prod" for RESTAPI;
	// ignored for FunctionURL.
	Stage string
	// ID is the URL id or API id used in the event's domain name.
	// "" means a fixed made-up id.
	ID string
	// Timeout bounds the wait for the function's response (504 after it).
	// 0 means the service's limit: the integration timeout of API Gateway
	// (30s for HTTPAPI, 29s for RESTAPI), the load balancer's idle timeout
	// for ALB (60s), none for FunctionURL (the function's own timeout
	// applies).
	Timeout time.Duration
	// Region is the region in the event's domain name or target group
	// ARN. "" means the Function's region (us-east-1 for an Invoker that
	// is not a *Function).
	Region string
	// Logger receives the front door's logs. nil means discard.
	Logger *slog.Logger
	// Stream makes the front door stream the function's response, as a
	// function URL in RESPONSE_STREAM invoke mode and a REST API whose
	// Lambda proxy integration has responseTransferMode STREAM do (API
	// Gateway then invokes with InvokeWithResponseStream): for a REST API,
	// the integration timeout becomes the function's own (up to 15
	// minutes) instead of 29 s, and the 10 MB response limit gives way to
	// the 200 MB of a stream. HTTP APIs and load balancers cannot stream:
	// NewFrontDoor panics. Without it a function URL and a REST API are
	// buffered; a streamed response reaching them is still written through,
	// with a warning on Logger, since what AWS does with it is not
	// documented (mcplambda functions stream only when told their front
	// door does).
	Stream bool
}
