package identity_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/identity"
)

// Handlers key per-caller state and logs by the principal: issuer#sub for
// tokens, the ARN for IAM callers, principalId for Lambda authorizers.
func ExamplePrincipal() {
	issuer := authtest.NewIssuer(nil)
	defer issuer.Close()
	const resource = "https://mcp.example.com/mcp"
	verifier, _ := auth.NewJWTVerifier(issuer.URL, resource, nil)
	rs := auth.NewResourceServer(resource, verifier.Verify, nil)

	h := rs.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := identity.FromContext(r.Context())
		fmt.Println(strings.TrimPrefix(identity.Principal(r.Context()), issuer.URL), id.Source)
	}))
	req := httptest.NewRequest("POST", "/mcp", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+issuer.Token("alice", resource))
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output: #alice bearer
}
