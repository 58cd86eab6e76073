package stdio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/stdio"
)

// TestPrincipalFromContext reads the principal of front-door events the
// way per-principal isolation does.
func TestPrincipalFromContext(t *testing.T) {
	t.Parallel()
	var got string
	h := mcplambda.NewLambdaHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = stdio.PrincipalFromContext(r.Context())
		w.Write([]byte("{}"))
	}), nil)
	tests := []struct {
		name, door string
		authorizer map[string]any // requestContext.authorizer
		want       string
	}{
		{"none", "httpapi", nil, ""},
		{"jwt", "httpapi", map[string]any{"jwt": map[string]any{"claims": map[string]any{"iss": "https://issuer.example", "sub": "u1"}, "scopes": nil}}, "https://issuer.example#u1"},
		{"lambda authorizer", "httpapi", map[string]any{"lambda": map[string]any{"principalId": "p-7"}}, "p-7"},
		{"iam", "httpapi", map[string]any{"iam": map[string]any{"userArn": "arn:aws:iam::1:user/a"}}, "arn:aws:iam::1:user/a"},
		{"rest lambda authorizer", "rest", map[string]any{"principalId": "rest-p"}, "rest-p"},
		{"url iam", "url", map[string]any{"iam": map[string]any{"userArn": "arn:aws:iam::1:role/r"}}, "arn:aws:iam::1:role/r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev map[string]any
			json.Unmarshal(frontDoorEvent(t, tt.door, "{}", "application/json", ""), &ev)
			rc := ev["requestContext"].(map[string]any)
			if tt.authorizer != nil {
				rc["authorizer"] = tt.authorizer
			}
			payload, _ := json.Marshal(ev)
			got = "unset"
			if _, err := h.Invoke(context.Background(), payload); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("PrincipalFromContext(%s event with authorizer %v) = %q, want %q", tt.door, tt.authorizer, got, tt.want)
			}
		})
	}
}
