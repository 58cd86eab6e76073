package telemetry

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRecordBackend: a gateway's requests to its backends are counted by
// backend and method, with their own dimension sets, and backend names
// beyond MaxNames are counted as other.
func TestRecordBackend(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, &MetricsOptions{Namespace: "ns", Service: "gw", MaxNames: 2, Dimensions: map[string]string{"Backend": "ignored"}})
	ctx, inv := m.Begin(invocationCtx("r1"))
	RecordBackend(ctx, "time", "tools/call", 2*time.Millisecond, false)
	RecordBackend(ctx, "time", "tools/call", 3*time.Millisecond, true)
	RecordBackend(ctx, "time", "tools/list", time.Millisecond, false)
	RecordBackend(ctx, "everything", "weird/method", time.Millisecond, false)
	RecordBackend(ctx, "third", "tools/call", time.Millisecond, true)
	RecordBackend(context.Background(), "time", "tools/call", time.Millisecond, false) // no invocation: nothing
	if err := inv.Flush(); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Backend, Method  string
		Requests, Errors float64
		Latencies        []any
	}
	var got []row
	for _, d := range parseEMF(t, &buf) {
		if _, cold := d.fields["ColdStart"]; cold {
			continue
		}
		if diff := cmp.Diff([][]string{{"Service", "Backend"}, {"Service", "Backend", "Method"}}, d.AWS.CloudWatchMetrics[0].Dimensions); diff != "" {
			t.Errorf("dimensions (-want +got):\n%s", diff)
		}
		r := row{}
		r.Backend, _ = d.fields["Backend"].(string)
		r.Method, _ = d.fields["Method"].(string)
		r.Requests, _ = d.fields["Requests"].(float64)
		r.Errors, _ = d.fields["Errors"].(float64)
		r.Latencies, _ = d.fields["Latency"].([]any)
		got = append(got, r)
	}
	want := []row{
		{Backend: "time", Method: "tools/call", Requests: 2, Errors: 1, Latencies: []any{2.0, 3.0}},
		{Backend: "time", Method: "tools/list", Requests: 1, Latencies: []any{1.0}},
		{Backend: "everything", Method: Other, Requests: 1, Latencies: []any{1.0}},
		{Backend: Other, Method: "tools/call", Requests: 1, Errors: 1, Latencies: []any{1.0}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backend documents (-want +got):\n%s", diff)
	}
}
