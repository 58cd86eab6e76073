// Package tracing adds OpenTelemetry traces to an mcplambda function: a
// span per Lambda invocation (aws-lambda-go's otellambda instrumentation,
// parented by the AWS X-Ray trace header Lambda passes in) and a span per
// MCP request (named like "tools/call echo"), parented by a W3C
// traceparent in the request's _meta when the client sent one.
//
// Tracing is off unless this package is imported: a function that does not
// use it links none of OpenTelemetry and pays nothing at init.
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
//	mcplambda.Start(server, &mcplambda.Options{
//		WrapLambdaHandler: tracing.Instrument(server, &tracing.Options{TracerProvider: tp}),
//	})
//
// With an exporter such as OTLP/HTTP to the ADOT collector layer
// (localhost:4318), spans reach AWS X-Ray or any OTLP backend.
package tracing

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Options configures tracing. The zero value uses OpenTelemetry's global
// tracer provider.
type Options struct {
	// TracerProvider creates the spans. If nil, otel.GetTracerProvider().
	// If it has a ForceFlush method (the SDK's provider does), it is
	// flushed at the end of every invocation, before Lambda may freeze the
	// process.
	TracerProvider trace.TracerProvider
}

const scope = "github.com/mcplambda/mcplambda/telemetry/tracing"

func (o *Options) provider() trace.TracerProvider {
	if o != nil && o.TracerProvider != nil {
		return o.TracerProvider
	}
	return otel.GetTracerProvider()
}

// Instrument adds [Middleware] to server and returns the wrapper to put in
// mcplambda.Options.WrapLambdaHandler.
func Instrument(server *mcp.Server, opts *Options) func(lambda.Handler) lambda.Handler {
	server.AddReceivingMiddleware(Middleware(opts))
	return func(h lambda.Handler) lambda.Handler { return WrapHandler(h, opts) }
}

// WrapHandler returns h with a server span per invocation, continuing the
// AWS X-Ray trace Lambda started (the _X_AMZN_TRACE_ID header).
func WrapHandler(h lambda.Handler, opts *Options) lambda.Handler {
	tp := opts.provider()
	o := []otellambda.Option{
		otellambda.WithTracerProvider(tp),
		otellambda.WithPropagator(xrayPropagator{}),
		otellambda.WithEventToCarrier(func([]byte) propagation.TextMapCarrier {
			return propagation.HeaderCarrier{xrayHeader: {os.Getenv("_X_AMZN_TRACE_ID")}}
		}),
	}
	if f, ok := tp.(otellambda.Flusher); ok {
		o = append(o, otellambda.WithFlusher(f))
	}
	return otellambda.WrapHandler(h, o...)
}

// metaCarrier reads trace context from a request's _meta.
type metaCarrier map[string]any

func (m metaCarrier) Get(key string) string {
	s, _ := m[key].(string)
	return s
}

func (m metaCarrier) Set(key, value string) { m[key] = value }

func (m metaCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// Middleware returns an MCP receiving middleware that records a span per
// request. A "traceparent" (and "tracestate") in the request's _meta makes
// the span continue the client's trace; otherwise the span is a child of
// the invocation span in ctx.
func Middleware(opts *Options) mcp.Middleware {
	tracer := opts.provider().Tracer(scope)
	w3c := propagation.TraceContext{}
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			name := method
			var target string
			switch p := req.GetParams().(type) {
			case *mcp.CallToolParamsRaw:
				target = p.Name
			case *mcp.GetPromptParams:
				target = p.Name
			case *mcp.ReadResourceParams:
				target = p.URI
			}
			if target != "" {
				name += " " + target
			}
			if p := req.GetParams(); p != nil {
				if meta := p.GetMeta(); meta != nil && meta["traceparent"] != nil {
					ctx = w3c.Extract(ctx, metaCarrier(meta))
				}
			}
			attrs := []attribute.KeyValue{attribute.String("mcp.method.name", method)}
			if target != "" {
				attrs = append(attrs, attribute.String("mcp.target", target))
			}
			ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
			defer span.End()
			res, err := next(ctx, method, req)
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			} else if r, ok := res.(*mcp.CallToolResult); ok && r.IsError {
				span.SetStatus(codes.Error, "tool returned an error result")
			}
			return res, err
		}
	}
}
