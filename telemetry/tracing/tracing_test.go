package tracing

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type in struct {
	Text string `json:"text"`
}

func newServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "t", Version: "v1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in in) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil, nil
	})
	return s
}

const (
	xrayRoot   = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	xrayTrace  = "5759e988bd862e3fe1be46a994272793"
	w3cParent  = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	w3cTraceID = "0af7651916cd43dd8448eb211c80319c"
)

func TestSpans(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
	t.Setenv("_X_AMZN_TRACE_ID", xrayRoot)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	server := newServer()
	wrap := Instrument(server, &Options{TracerProvider: tp})
	h := wrap(mcplambda.NewLambdaHandler(mcplambda.NewHandler(server, nil), nil))
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "r1", InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:fn"})

	for _, meta := range []string{``, `,"_meta":{"traceparent":"` + w3cParent + `"}`} {
		msg := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}` + meta + `}}`
		if _, err := h.Invoke(ctx, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	type span struct {
		Name, TraceID, Parent string
		Kind                  trace.SpanKind
	}
	var got []span
	for _, s := range rec.Ended() {
		got = append(got, span{s.Name(), s.SpanContext().TraceID().String(), s.Parent().SpanID().String(), s.SpanKind()})
	}
	var invocation1 string
	for _, s := range rec.Ended() {
		if s.Name() == "fn" {
			invocation1 = s.SpanContext().SpanID().String()
			break
		}
	}
	want := []span{
		{"tools/call echo", xrayTrace, invocation1, trace.SpanKindServer}, // child of the invocation
		{"fn", xrayTrace, "53995c3f42cd8ad8", trace.SpanKindServer},       // continues Lambda's X-Ray trace
		{"tools/call echo", w3cTraceID, "b7ad6b7169203331", trace.SpanKindServer},
		{"fn", xrayTrace, "53995c3f42cd8ad8", trace.SpanKindServer},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
}

func TestParseXRay(t *testing.T) {
	for _, tc := range []struct {
		h       string
		ok      bool
		sampled bool
	}{
		{xrayRoot, true, true},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", true, false},
		{"Root=1-5759e988-bd862e3fe1be46a994272793", false, false},
		{"Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", false, false},
		{"Root=1-zzzzzzzz-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", false, false},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=123", false, false},
		{"", false, false},
		{"garbage", false, false},
	} {
		sc, ok := parseXRay(tc.h)
		if ok != tc.ok || ok && sc.IsSampled() != tc.sampled {
			t.Errorf("parseXRay(%q) = %v (sampled %v), want %v (sampled %v)", tc.h, ok, sc.IsSampled(), tc.ok, tc.sampled)
		}
	}
	// Inject produces what Extract reads.
	sc, _ := parseXRay(xrayRoot)
	carrier := map[string]string{}
	xrayPropagator{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), mapCarrier(carrier))
	if carrier[xrayHeader] != xrayRoot {
		t.Errorf("Inject = %q, want %q", carrier[xrayHeader], xrayRoot)
	}
}

type mapCarrier map[string]string

func (m mapCarrier) Get(k string) string { return m[k] }
func (m mapCarrier) Set(k, v string)     { m[k] = v }
func (m mapCarrier) Keys() []string      { return nil }

// Tracing off costs nothing: neither the root package nor an example
// without tracing links any OpenTelemetry package, so there is no
// OpenTelemetry code in the binary and no OpenTelemetry init to run.
func TestNotLinkedWhenOff(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/mcplambda/mcplambda", "github.com/mcplambda/mcplambda/examples/time").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for pkg := range strings.SplitSeq(string(out), "\n") {
		if strings.HasPrefix(pkg, "go.opentelemetry.io/") {
			t.Errorf("tracing off, yet %s is linked", pkg)
		}
	}
}
