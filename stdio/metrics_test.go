package stdio_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/telemetry"
)

// A child that died is restarted before the next request, and the restart
// is counted in that invocation's EMF metrics.
func TestChildRestartsMetric(t *testing.T) {
	t.Parallel()
	p, _ := newProxy(t, nil)
	var emf bytes.Buffer
	opts := &mcplambda.Options{Metrics: telemetry.NewMetrics(&emf, &telemetry.MetricsOptions{Service: "svc"})}
	h := lambdaHandler(p, opts)
	ctx := context.Background()
	if _, err := h.Invoke(ctx, []byte(callTool(1, "crash", nil))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(emf.String(), "ChildRestarts") {
		t.Fatalf("restart counted before any restart:\n%s", emf.String())
	}
	emf.Reset()
	out, err := h.Invoke(ctx, []byte(callTool(2, "echo", map[string]string{"message": "again"})))
	if err != nil || !strings.Contains(string(out), "again") {
		t.Fatalf("Invoke after crash = %s, %v", out, err)
	}
	if !strings.Contains(emf.String(), `"ChildRestarts":1`) {
		t.Errorf("EMF after a restart lacks ChildRestarts 1:\n%s", emf.String())
	}
}
