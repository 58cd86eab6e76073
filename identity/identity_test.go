package identity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/identity"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// TestFromContext: a verified token first, the trusted front door only
// without one, and a token naming no user never falls back to the front
// door (its grants and another identity must not mix).
func TestFromContext(t *testing.T) {
	front := &identity.Identity{Principal: "arn:aws:iam::1:user/front", Source: identity.SourceIAM}
	bearer := &identity.Identity{Principal: "https://iss#u", Source: identity.SourceBearer}
	for _, tc := range []struct {
		name  string
		token *sdkauth.TokenInfo // nil: no verified token
		front bool
		want  string
	}{
		{"nothing", nil, false, ""},
		{"front door", nil, true, front.Principal},
		{"token with identity", bearer.TokenInfo(time.Time{}), true, bearer.Principal},
		{"token with user id", &sdkauth.TokenInfo{UserID: "u-7"}, true, "u-7"},
		{"token without user", &sdkauth.TokenInfo{Scopes: []string{"x"}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = identity.Principal(r.Context())
			}))
			if tc.token != nil {
				ti := tc.token
				h = sdkauth.RequireBearerToken(func(context.Context, string, *http.Request) (*sdkauth.TokenInfo, error) { return ti, nil },
					&sdkauth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
			}
			r := httptest.NewRequest("POST", "/mcp", nil)
			r.Header.Set("Authorization", "Bearer t")
			if tc.front {
				r = r.WithContext(identity.WithFrontDoor(r.Context(), front))
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Principal (-want +got):\n%s", diff)
			}
		})
	}
}
