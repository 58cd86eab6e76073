package auth_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A protected MCP endpoint: tokens from the issuer, for this resource, with
// scope mcp:tools; the delete tool also needs mcp:admin. The issuer here is
// a local one from authtest; in production it is, for example,
// auth.CognitoIssuer(region, userPoolID).
func Example() {
	issuer := authtest.NewIssuer(nil)
	defer issuer.Close()
	const resource = "https://mcp.example.com/mcp"

	verifier, err := auth.NewJWTVerifier(issuer.URL, resource, nil)
	if err != nil {
		panic(err)
	}
	rs := auth.NewResourceServer(resource, verifier.Verify, &auth.Options{
		AuthorizationServers: []string{issuer.URL},
		Scopes:               []string{"mcp:tools"},
		ToolScopes:           map[string][]string{"delete": {"mcp:admin"}},
	})

	server := mcp.NewServer(&mcp.Implementation{Name: "notes", Version: "v1"}, nil)
	server.AddReceivingMiddleware(rs.ToolMiddleware())
	mcp.AddTool(server, &mcp.Tool{Name: "delete"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, struct{}, error) {
		return nil, struct{}{}, nil
	})
	h := rs.Handler(mcplambda.NewHandler(server, nil))
	// In main: lambda.Start(mcplambda.NewLambdaHandler(h, nil)).

	call := func(token string) {
		body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete","arguments":{}}}`
		req := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	}
	call("")
	call(issuer.Token("alice", resource, "mcp:tools"))
	call(issuer.Token("alice", resource, "mcp:tools", "mcp:admin"))
	// Output:
	// 401 Bearer scope="mcp:tools mcp:admin", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
	// 403 Bearer error="insufficient_scope", scope="mcp:tools mcp:admin", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", error_description="missing scope mcp:admin"
	// 200
}

func ExampleScopeHierarchy() {
	covers := auth.ScopeHierarchy(":")
	fmt.Println(covers("mcp", "mcp:tools:call"), covers("mcp:tools", "mcp"), covers("mcp", "mcpx"))
	fmt.Println(covers.Missing([]string{"mcp:tools"}, []string{"mcp:tools:list", "mcp:admin"}))
	// Output:
	// true false false
	// [mcp:admin]
}
