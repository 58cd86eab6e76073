package tracing

import (
	"context"
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// xrayHeader is the AWS X-Ray trace header Lambda and AWS services carry.
const xrayHeader = "X-Amzn-Trace-Id"

// xrayPropagator propagates span context in the AWS X-Ray header format:
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".
// (The OpenTelemetry contrib module for it was deprecated without an owner
// in 2026; the format is small and stable, so we keep our own.)
type xrayPropagator struct{}

var _ propagation.TextMapPropagator = xrayPropagator{}

func (xrayPropagator) Fields() []string { return []string{xrayHeader} }

func (xrayPropagator) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	tid := sc.TraceID().String()
	sampled := "0"
	if sc.IsSampled() {
		sampled = "1"
	}
	carrier.Set(xrayHeader, "Root=1-"+tid[:8]+"-"+tid[8:]+";Parent="+sc.SpanID().String()+";Sampled="+sampled)
}

func (xrayPropagator) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc, ok := parseXRay(carrier.Get(xrayHeader))
	if !ok {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// parseXRay parses an X-Ray trace header; ok is false if it has no valid
// root and parent.
func parseXRay(h string) (trace.SpanContext, bool) {
	var cfg trace.SpanContextConfig
	var haveRoot, haveParent bool
	for part := range strings.SplitSeq(h, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			// 1-<8 hex epoch>-<24 hex random>
			f := strings.Split(v, "-")
			if len(f) != 3 || f[0] != "1" || len(f[1]) != 8 || len(f[2]) != 24 {
				return trace.SpanContext{}, false
			}
			b, err := hex.DecodeString(f[1] + f[2])
			if err != nil {
				return trace.SpanContext{}, false
			}
			copy(cfg.TraceID[:], b)
			haveRoot = true
		case "Parent":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != 8 {
				return trace.SpanContext{}, false
			}
			copy(cfg.SpanID[:], b)
			haveParent = true
		case "Sampled":
			if v == "1" {
				cfg.TraceFlags = trace.FlagsSampled
			}
		}
	}
	cfg.Remote = true
	sc := trace.NewSpanContext(cfg)
	return sc, haveRoot && haveParent && sc.IsValid()
}
