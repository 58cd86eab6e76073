package invoke

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/mcplambda/mcplambda/internal/awsconfig"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxPayload is Lambda's limit on the request and the response payload of
// a synchronous invocation: 6 MB.
const MaxPayload = 6 * 1024 * 1024

var (
	// ErrThrottled is wrapped by the error of a request whose invocations
	// were all throttled (TooManyRequestsException, HTTP 429).
	ErrThrottled = errors.New("invoke: throttled: the function is at its concurrency limit")

	// ErrPayloadTooLarge is wrapped by the error of a request whose message,
	// or whose response, is over Lambda's 6 MB payload limit.
	ErrPayloadTooLarge = errors.New("invoke: payload over Lambda's 6 MB limit")

	// ErrNoCredentials is wrapped by the error of Connect when the default
	// AWS configuration chain finds no credentials; its message says, in
	// one line, what to set.
	ErrNoCredentials = awsconfig.ErrNoCredentials
)

// Client is the method of *lambda.Client that the transport uses.
type Client interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ Client = (*lambda.Client)(nil)

// Options configures a [Transport]. The zero value of every field is a
// documented default.
type Options struct {
	// Qualifier is the version or alias to invoke. "" means the qualifier
	// in the function name, if any, else $LATEST.
	Qualifier string

	// Client is the Lambda client. nil means a client from the default
	// AWS configuration chain, loaded by Connect, with Region and
	// Endpoint.
	Client Client

	// Region is the region of the default client. "" means the region of
	// the function ARN, else the configuration chain's (AWS_REGION,
	// AWS_DEFAULT_REGION, the profile). It is not used with Client.
	Region string

	// Endpoint is the base URL of the Invoke API for the default client,
	// such as a local emulator's ("mcplambda dev" prints it). "" means
	// AWS's endpoint for the region, or AWS_ENDPOINT_URL_LAMBDA. A
	// loopback endpoint needs no AWS configuration: the default client
	// then signs with placeholder credentials, in Region or us-east-1,
	// and reads nothing from the environment.
	Endpoint string

	// MaxAttempts bounds the invocations of one message, the first
	// included, when Lambda throttles them or fails with a retryable
	// service error. 0 means 5; 1 means no retries.
	MaxAttempts int

	// MaxBackoff bounds the wait between two attempts, which grows
	// exponentially with jitter. 0 means 20s.
	MaxBackoff time.Duration

	// Logger receives a debug line per invocation. nil means discard.
	Logger *slog.Logger
}

// Transport is an [mcp.Transport] to an MCP server function, through the
// Lambda Invoke API. A Transport is used for one [mcp.Client.Connect].
type Transport struct {
	function string
	opts     Options
}

var _ mcp.Transport = (*Transport)(nil)

// NewTransport returns a transport to function: a function name
// ("time"), a name with a qualifier ("time:live"), a partial ARN
// ("123456789012:function:time") or a full ARN. Options may be nil.
func NewTransport(function string, opts *Options) *Transport {
	t := &Transport{function: function}
	if opts != nil {
		t.opts = *opts
	}
	if t.opts.MaxAttempts <= 0 {
		t.opts.MaxAttempts = 5
	}
	if t.opts.MaxBackoff <= 0 {
		t.opts.MaxBackoff = 20 * time.Second
	}
	if t.opts.Logger == nil {
		t.opts.Logger = slog.New(slog.DiscardHandler)
	}
	return t
}

// Connect implements [mcp.Transport]. When [Options.Client] is nil, it
// loads the default AWS configuration and retrieves credentials, failing
// with an error that wraps [ErrNoCredentials] when there are none; it
// does not invoke the function.
func (t *Transport) Connect(ctx context.Context) (mcp.Connection, error) {
	if t.function == "" {
		return nil, errors.New("invoke: no function name")
	}
	client := t.opts.Client
	if client == nil {
		region := t.opts.Region
		if region == "" {
			region = arnRegion(t.function)
		}
		cfg, err := awsconfig.Load(ctx, region, t.opts.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("invoke: loading the AWS configuration: %w", err)
		}
		if cfg.Region == "" {
			return nil, errors.New("invoke: no AWS region: set AWS_REGION, a profile region, or use a function ARN")
		}
		if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			return nil, fmt.Errorf("invoke: %w", awsconfig.Explain(cfg.Credentials, err))
		}
		client = lambda.NewFromConfig(cfg, func(o *lambda.Options) {
			if t.opts.Endpoint != "" {
				o.BaseEndpoint = aws.String(t.opts.Endpoint)
			}
		})
	}
	return &conn{t: t, client: client, incoming: make(chan jsonrpc.Message, 16), done: make(chan struct{})}, nil
}

// arnRegion returns the region of a full function ARN, or "".
func arnRegion(function string) string {
	parts := strings.Split(function, ":")
	if len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function" {
		return parts[3]
	}
	return ""
}

// conn is one client connection. Write invokes the function and queues the
// response for Read. Write and Read are safe for concurrent use.
type conn struct {
	t        *Transport
	client   Client
	incoming chan jsonrpc.Message
	done     chan struct{}
	once     sync.Once
}

// SessionID implements [mcp.Connection]: direct invoke has no session.
func (c *conn) SessionID() string { return "" }

// Read implements [mcp.Connection]: it returns the next response.
func (c *conn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case m := <-c.incoming:
		return m, nil
	case <-c.done:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close implements [mcp.Connection]. Invocations in flight finish, but
// their responses are dropped.
func (c *conn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// Write implements [mcp.Connection]: it invokes the function with msg and,
// for a request, queues its response for Read.
func (c *conn) Write(ctx context.Context, msg jsonrpc.Message) error {
	select {
	case <-c.done:
		return mcp.ErrConnectionClosed
	default:
	}
	req, ok := msg.(*jsonrpc.Request)
	if !ok {
		// The server cannot send requests over direct invoke, so the client
		// never has a response to send.
		return rejected(errors.New("invoke: cannot send a response to the server over direct invoke"))
	}
	if !req.IsCall() && req.Method == "notifications/cancelled" {
		// The invocation of the cancelled request is the only place that
		// could act on it, and no other invocation can reach it.
		return nil
	}
	payload, err := jsonrpc.EncodeMessage(req)
	if err != nil {
		return rejected(fmt.Errorf("invoke: encoding %s: %w", req.Method, err))
	}
	if len(payload) > MaxPayload {
		return rejected(fmt.Errorf("%w: %s request is %d bytes", ErrPayloadTooLarge, req.Method, len(payload)))
	}
	out, err := c.invoke(ctx, payload)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return rejected(fmt.Errorf("%s: %w", req.Method, err))
	}
	if !req.IsCall() {
		return nil // the answer to a notification is {} or null
	}
	resp, err := decodeResponse(out)
	if err != nil {
		return rejected(fmt.Errorf("invoke: %s: %w", req.Method, err))
	}
	if resp.ID != req.ID {
		return rejected(fmt.Errorf("invoke: %s: response id %v does not match request id %v", req.Method, resp.ID.Raw(), req.ID.Raw()))
	}
	select {
	case c.incoming <- resp:
		return nil
	case <-c.done:
		return mcp.ErrConnectionClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// invoke runs one synchronous invocation and returns its payload, or the
// error that explains why there is none.
func (c *conn) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	in := &lambda.InvokeInput{FunctionName: aws.String(c.t.function), Payload: payload}
	if c.t.opts.Qualifier != "" {
		in.Qualifier = aws.String(c.t.opts.Qualifier)
	}
	out, err := c.client.Invoke(ctx, in, func(o *lambda.Options) {
		r := o.Retryer
		if r == nil {
			r = retry.NewStandard()
		}
		o.Retryer = retry.AddWithMaxAttempts(retry.AddWithMaxBackoffDelay(r, c.t.opts.MaxBackoff), c.t.opts.MaxAttempts)
	})
	if err != nil {
		return nil, c.apiError(err)
	}
	c.t.opts.Logger.DebugContext(ctx, "invoke", "function", c.t.function, "status", out.StatusCode,
		"functionError", aws.ToString(out.FunctionError), "bytes", len(out.Payload))
	if fe := aws.ToString(out.FunctionError); fe != "" {
		e := &FunctionError{Function: c.t.function, Kind: fe}
		var doc struct {
			Type    string   `json:"errorType"`
			Message string   `json:"errorMessage"`
			Trace   []string `json:"stackTrace"`
		}
		if json.Unmarshal(out.Payload, &doc) == nil {
			e.Type, e.Message, e.StackTrace = doc.Type, doc.Message, doc.Trace
		} else {
			e.Message = string(out.Payload)
		}
		if e.Type == "Function.ResponseSizeTooLarge" {
			return nil, fmt.Errorf("%w: %w", ErrPayloadTooLarge, e)
		}
		return nil, e
	}
	return out.Payload, nil
}

// apiError explains an error of the Invoke API.
func (c *conn) apiError(err error) error {
	var tm *types.TooManyRequestsException
	if errors.As(err, &tm) {
		reason := ""
		if tm.Reason != "" {
			reason = " (" + string(tm.Reason) + ")"
		}
		return fmt.Errorf("%w%s after %d attempts: %w", ErrThrottled, reason, c.t.opts.MaxAttempts, err)
	}
	var tl *types.RequestTooLargeException
	if errors.As(err, &tl) {
		return fmt.Errorf("%w: %w", ErrPayloadTooLarge, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("invoke: function %s: %s: %s", c.t.function, ae.ErrorCode(), ae.ErrorMessage())
	}
	return fmt.Errorf("invoke: function %s: %w", c.t.function, err)
}

// decodeResponse decodes the payload of an invocation as one JSON-RPC
// response.
func decodeResponse(payload []byte) (*jsonrpc.Response, error) {
	switch strings.TrimSpace(string(payload)) {
	case "", "{}", "null":
		return nil, errors.New("the function returned no response")
	}
	msg, err := jsonrpc.DecodeMessage(payload)
	if err != nil {
		return nil, fmt.Errorf("the function's payload is not a JSON-RPC response: %w", err)
	}
	resp, ok := msg.(*jsonrpc.Response)
	if !ok {
		return nil, errors.New("the function returned a request, not a response")
	}
	return resp, nil
}

// FunctionError is the error of a request whose invocation failed in the
// function: it crashed, timed out, ran out of memory, or its handler
// returned an error (X-Amz-Function-Error).
type FunctionError struct {
	Function   string   // the function name or ARN invoked
	Kind       string   // X-Amz-Function-Error: "Unhandled" or "Handled"
	Type       string   // errorType, e.g. "Runtime.ExitError", "Sandbox.Timedout"
	Message    string   // errorMessage, or the payload when it is not an error document
	StackTrace []string // stackTrace, when the runtime sends one
}

func (e *FunctionError) Error() string {
	s := "invoke: function " + e.Function + " failed"
	if e.Type != "" {
		s += ": " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// rejectedCode is the code of go-sdk's jsonrpc2.ErrRejected: a Write error
// that matches it fails one call without breaking the connection.
const rejectedCode = -32005

// rejected marks err as a failure of one message, not of the connection.
func rejected(err error) error { return &rejectedError{err} }

type rejectedError struct{ err error }

func (e *rejectedError) Error() string { return e.err.Error() }
func (e *rejectedError) Unwrap() error { return e.err }
func (e *rejectedError) Is(target error) bool {
	w, ok := target.(*jsonrpc.Error)
	return ok && w != nil && w.Code == rejectedCode
}
