package telemetry

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// LoggerOptions configures [NewLogger]. The zero value reads the Lambda
// environment.
type LoggerOptions struct {
	// JSON selects the output format. If nil, it is JSON exactly when
	// AWS_LAMBDA_LOG_FORMAT is "JSON" (the function's JSON log format).
	JSON *bool
	// Level is the minimum level logged. If nil, it comes from
	// AWS_LAMBDA_LOG_LEVEL (TRACE and DEBUG map to slog.LevelDebug, INFO,
	// WARN, ERROR and FATAL to the matching levels), else slog.LevelInfo.
	Level slog.Leveler
	// Attrs are added to every record (for example the service name).
	Attrs []slog.Attr
}

// NewLogger returns a logger writing to w in the Lambda style: JSON records
// use the keys timestamp, level, message (as Lambda's own JSON logs do) and
// every record logged with a Lambda invocation's context carries its
// requestId.
func NewLogger(w io.Writer, opts *LoggerOptions) *slog.Logger {
	var o LoggerOptions
	if opts != nil {
		o = *opts
	}
	jsonOut := os.Getenv("AWS_LAMBDA_LOG_FORMAT") == "JSON"
	if o.JSON != nil {
		jsonOut = *o.JSON
	}
	level := o.Level
	if level == nil {
		level = levelFromEnv(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))
	}
	ho := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if jsonOut {
		ho.ReplaceAttr = lambdaKeys
		h = slog.NewJSONHandler(w, ho)
	} else {
		h = slog.NewTextHandler(w, ho)
	}
	if len(o.Attrs) > 0 {
		h = h.WithAttrs(o.Attrs)
	}
	return slog.New(WithRequestID(h))
}

// DefaultLogger is the logger mcplambda.Start and Serve use when their
// Options.Logger is nil: NewLogger on standard output inside AWS Lambda
// (AWS_LAMBDA_RUNTIME_API is set; standard output is the function log),
// on standard error elsewhere (standard output is for the program's own
// output, such as the "listening on" line).
func DefaultLogger() *slog.Logger {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return NewLogger(os.Stdout, nil)
	}
	return NewLogger(os.Stderr, nil)
}

func levelFromEnv(s string) slog.Level {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// lambdaKeys renames slog's built-in keys to those of Lambda's JSON logs.
func lambdaKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		a.Key = "timestamp"
	case slog.MessageKey:
		a.Key = "message"
	case slog.LevelKey:
		// As a string: the handler would otherwise encode the slog.Level
		// through encoding/json, the costliest part of a log line.
		if l, ok := a.Value.Any().(slog.Level); ok {
			a.Value = slog.StringValue(l.String())
		}
	}
	return a
}

// WithRequestID wraps h so that records logged with a Lambda invocation's
// context (lambdacontext) carry "requestId". Use it to keep the request id
// with a handler of your own.
func WithRequestID(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
