package auth_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestOAuthClient signs in with go-sdk's own OAuth client (discovery from
// the 401, RFC 9728 metadata, RFC 8414 metadata, authorization code with
// PKCE and RFC 8707 resource) against the local issuer, then steps up
// when a tool needs a scope the first token lacks.
func TestOAuthClient(t *testing.T) {
	f := newFixture(t, testScopes, nil)
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "oauth-e2e", Version: "v1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: f.resource, OAuthHandler: f.iss.OAuthHandler()}, nil)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer cs.Close()

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		t.Fatalf("CallTool(whoami): %v", err)
	}
	var who whoami
	remarshal(t, res.StructuredContent, &who)
	principal := f.iss.URL + "#user"
	if diff := cmp.Diff(whoami{Principal: principal, Source: "bearer", UserID: principal, Scopes: []string{"mcp:tools"}}, who); diff != "" {
		t.Errorf("whoami after sign-in (-want +got):\n%s", diff)
	}

	// delete needs mcp:admin: 403 insufficient_scope, then step-up.
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete"}); err != nil {
		t.Fatalf("CallTool(delete) after step-up: %v", err)
	}
	var grants [][]string
	for _, g := range f.iss.Grants() {
		scopes := strings.Fields(g)
		slices.Sort(scopes)
		grants = append(grants, scopes)
	}
	if diff := cmp.Diff([][]string{{"mcp:tools"}, {"mcp:admin", "mcp:tools"}}, grants); diff != "" {
		t.Errorf("authorizations (-want +got):\n%s", diff)
	}
}

func remarshal(t *testing.T, in, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}
