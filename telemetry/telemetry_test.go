package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
)

func invocationCtx(id string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: id})
}

func TestNewLoggerJSON(t *testing.T) {
	t.Setenv("AWS_LAMBDA_LOG_FORMAT", "JSON")
	t.Setenv("AWS_LAMBDA_LOG_LEVEL", "WARN")
	var buf bytes.Buffer
	logger := NewLogger(&buf, &LoggerOptions{Attrs: []slog.Attr{slog.String("service", "svc")}})
	ctx := invocationCtx("req-42")
	logger.InfoContext(ctx, "dropped: below WARN")
	logger.WarnContext(ctx, "kept", "k", "v")
	logger.Error("no context")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("line %q: %v", lines[0], err)
	}
	for k, want := range map[string]any{"level": "WARN", "message": "kept", "requestId": "req-42", "k": "v", "service": "svc"} {
		if rec[k] != want {
			t.Errorf("record[%q] = %v, want %v", k, rec[k], want)
		}
	}
	if _, ok := rec["timestamp"]; !ok {
		t.Errorf("record has no timestamp: %v", rec)
	}
	var rec2 map[string]any
	json.Unmarshal([]byte(lines[1]), &rec2)
	if _, ok := rec2["requestId"]; ok {
		t.Errorf("record logged without context has a requestId: %v", rec2)
	}
}

func TestNewLoggerText(t *testing.T) {
	t.Setenv("AWS_LAMBDA_LOG_FORMAT", "")
	t.Setenv("AWS_LAMBDA_LOG_LEVEL", "")
	var buf bytes.Buffer
	NewLogger(&buf, nil).InfoContext(invocationCtx("r1"), "hello")
	if got := buf.String(); !strings.Contains(got, "msg=hello") || !strings.Contains(got, "requestId=r1") {
		t.Errorf("text log = %q, want msg=hello and requestId=r1", got)
	}
}

func TestLevelFromEnv(t *testing.T) {
	for in, want := range map[string]slog.Level{"TRACE": slog.LevelDebug, "debug": slog.LevelDebug, "INFO": slog.LevelInfo, "WARN": slog.LevelWarn, "ERROR": slog.LevelError, "FATAL": slog.LevelError, "": slog.LevelInfo, "bogus": slog.LevelInfo} {
		if got := levelFromEnv(in); got != want {
			t.Errorf("levelFromEnv(%q) = %v, want %v", in, got, want)
		}
	}
}

// emf is the part of an EMF document the tests check.
type emf struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	fields map[string]any
}

// parseEMF parses EMF lines and checks each is valid EMF: every dimension
// and metric named in the directive is a top-level member.
func parseEMF(t *testing.T, r io.Reader) []emf {
	t.Helper()
	var docs []emf
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var d emf
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("EMF line %q: %v", sc.Text(), err)
		}
		json.Unmarshal(sc.Bytes(), &d.fields)
		if d.AWS.Timestamp == 0 || len(d.AWS.CloudWatchMetrics) != 1 {
			t.Fatalf("EMF line %q: bad _aws", sc.Text())
		}
		cw := d.AWS.CloudWatchMetrics[0]
		for _, set := range cw.Dimensions {
			for _, k := range set {
				if _, ok := d.fields[k].(string); !ok {
					t.Errorf("EMF line %q: dimension %q is not a string member", sc.Text(), k)
				}
			}
		}
		for _, m := range cw.Metrics {
			switch d.fields[m.Name].(type) {
			case float64, []any:
			default:
				t.Errorf("EMF line %q: metric %q has no numeric value", sc.Text(), m.Name)
			}
		}
		docs = append(docs, d)
	}
	return docs
}

func TestMetrics(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, &MetricsOptions{Namespace: "ns", Service: "svc", Dimensions: map[string]string{"Env": "test"}, MaxNames: 2})

	// First invocation: cold start, two calls to one tool, one failure,
	// an unknown tool, and a custom metric.
	ctx, inv := m.Begin(invocationCtx("r1"))
	RecordRequest(ctx, "tools/call", "echo", true, 2*time.Millisecond, false)
	RecordRequest(ctx, "tools/call", "echo", true, 4*time.Millisecond, true)
	RecordRequest(ctx, "tools/call", "nosuch", false, time.Millisecond, true)
	RecordRequest(ctx, "weird/method", "", true, time.Millisecond, false)
	Add(ctx, "ChildRestarts", Count, 1)
	Add(ctx, "ChildRestarts", Count, 1)
	if err := inv.Flush(); err != nil {
		t.Fatal(err)
	}
	docs := parseEMF(t, &buf)
	type row struct {
		Method, Tool       string
		Requests, Errors   float64
		Latencies          []any
		ColdStart, Restart any
	}
	var got []row
	for _, d := range docs {
		if d.AWS.CloudWatchMetrics[0].Namespace != "ns" || d.fields["Service"] != "svc" || d.fields["Env"] != "test" || d.fields["requestId"] != "r1" {
			t.Errorf("doc %v: wrong namespace, service, fixed dimension or requestId", d.fields)
		}
		r := row{ColdStart: d.fields["ColdStart"], Restart: d.fields["ChildRestarts"]}
		r.Method, _ = d.fields["Method"].(string)
		r.Tool, _ = d.fields["Tool"].(string)
		r.Requests, _ = d.fields["Requests"].(float64)
		r.Errors, _ = d.fields["Errors"].(float64)
		r.Latencies, _ = d.fields["Latency"].([]any)
		got = append(got, r)
	}
	want := []row{
		{ColdStart: 1.0, Restart: 2.0},
		{Method: "tools/call", Tool: "echo", Requests: 2, Errors: 1, Latencies: []any{2.0, 4.0}},
		{Method: "tools/call", Tool: Other, Requests: 1, Errors: 1, Latencies: []any{1.0}},
		{Method: Other, Requests: 1, Latencies: []any{1.0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first invocation (-want +got):\n%s", diff)
	}
	wantDims := [][]string{{"Service", "Env", "Method"}, {"Service", "Env", "Method", "Tool"}}
	if diff := cmp.Diff(wantDims, docs[1].AWS.CloudWatchMetrics[0].Dimensions); diff != "" {
		t.Errorf("tool dimensions (-want +got):\n%s", diff)
	}

	// Second invocation: warm, and the name cap (2) is reached after one
	// more new name.
	buf.Reset()
	ctx, inv = m.Begin(invocationCtx("r2"))
	for _, name := range []string{"a", "b", "echo"} {
		RecordRequest(ctx, "tools/call", name, true, time.Millisecond, false)
	}
	inv.Flush()
	var tools []string
	for _, d := range parseEMF(t, &buf) {
		if _, ok := d.fields["ColdStart"]; ok {
			t.Errorf("warm invocation has a ColdStart metric: %v", d.fields)
		}
		tools = append(tools, d.fields["Tool"].(string))
	}
	slices.Sort(tools)
	if diff := cmp.Diff([]string{"a", "echo", "other"}, tools); diff != "" {
		t.Errorf("tool dimension values (-want +got):\n%s", diff)
	}

	// Nothing recorded, nothing written; no invocation in ctx is a no-op.
	buf.Reset()
	_, inv = m.Begin(context.Background())
	inv.Flush()
	RecordRequest(context.Background(), "tools/call", "x", true, time.Millisecond, false)
	if buf.Len() != 0 {
		t.Errorf("empty invocation wrote %q", buf.String())
	}
}

func TestMetricsDefaults(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "my-fn")
	var buf bytes.Buffer
	m := NewMetrics(&buf, &MetricsOptions{Dimensions: map[string]string{"Service": "ignored", "Method": "ignored"}})
	ctx, inv := m.Begin(context.Background())
	RecordRequest(ctx, "ping", "", true, time.Millisecond, false)
	inv.Flush()
	docs := parseEMF(t, &buf)
	if len(docs) != 2 || docs[1].AWS.CloudWatchMetrics[0].Namespace != "mcplambda" || docs[1].fields["Service"] != "my-fn" || docs[1].fields["Method"] != "ping" {
		t.Errorf("defaults: got %+v", docs)
	}
}

// BenchmarkRequestTelemetry is the per-request cost of metrics in a
// one-request invocation: Begin, RecordRequest, Flush (to io.Discard).
func BenchmarkRequestTelemetry(b *testing.B) {
	m := NewMetrics(io.Discard, nil)
	base := invocationCtx("r")
	b.ReportAllocs()
	for b.Loop() {
		ctx, inv := m.Begin(base)
		RecordRequest(ctx, "tools/call", "echo", true, time.Millisecond, false)
		inv.Flush()
	}
}
