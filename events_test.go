package mcplambda

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEvents routes a payload whose only member names one of
// Options.Events to its handler, and everything else as before.
func TestEvents(t *testing.T) {
	var rec seen
	var got []string
	errBoom := errors.New("boom")
	events := map[string]EventHandler{
		"test/run": func(_ context.Context, v json.RawMessage) (json.RawMessage, error) {
			got = append(got, string(v))
			return json.RawMessage(`{"ran":true}`), nil
		},
		"test/fail": func(context.Context, json.RawMessage) (json.RawMessage, error) { return nil, errBoom },
	}
	with := NewLambdaHandler(NewHandler(newTestServer(t, &rec), nil), &Options{Events: events})
	without := NewLambdaHandler(NewHandler(newTestServer(t, &rec), nil), nil)
	tests := []struct {
		name string
		h    interface {
			Invoke(context.Context, []byte) ([]byte, error)
		}
		payload string
		want    string // a substring of the answer
		wantErr error
	}{
		{"routed", with, `{"test/run": {"a": 1}}`, `{"ran":true}`, nil},
		{"handler error", with, `{"test/fail": {}}`, "", errBoom},
		{"another member too: a direct invoke", with, `{"test/run": {}, "x": 1}`, `"code":-32600`, nil},
		{"no handler for it: a direct invoke", with, `{"test/other": {}}`, `"code":-32600`, nil},
		{"JSON-RPC still served", with, callBody("echo", echoIn{Text: "e"}), `"echo":"e"`, nil},
		{"without Events: a direct invoke", without, `{"test/run": {"a": 1}}`, `"code":-32600`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.h.Invoke(context.Background(), []byte(tt.payload))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Invoke(%s) error = %v, want %v", tt.payload, err, tt.wantErr)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("Invoke(%s) = %s, want it to contain %s", tt.payload, out, tt.want)
			}
		})
	}
	if diff := cmp.Diff([]string{`{"a": 1}`}, got); diff != "" {
		t.Errorf("what the handler got (-want +got):\n%s", diff)
	}
}
