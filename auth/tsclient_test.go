package auth_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

// TestTypeScriptClient signs in with the official TypeScript SDK's OAuth
// client, which the MCP Inspector is built on: discovery from the 401,
// authorization code with PKCE and resource, then a step-up on 403.
func TestTypeScriptClient(t *testing.T) {
	node := testtools.Node22(t)
	sdk := testtools.TypeScriptSDK(t)
	if testing.Short() {
		t.Skip("runs Node; skipped with -short")
	}
	f := newFixture(t, testScopes, nil)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(node, "testdata/tsclient/client.mjs", sdk, f.resource, f.iss.ClientID())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var got struct {
		Whoami whoami `json:"whoami"`
		Delete bool   `json:"delete"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("client output %q: %v", stdout.String(), err)
	}
	principal := f.iss.URL + "#user"
	if diff := cmp.Diff(whoami{Principal: principal, Source: "bearer", UserID: principal, Scopes: []string{"mcp:tools"}}, got.Whoami); diff != "" {
		t.Errorf("whoami (-want +got):\n%s", diff)
	}
	if !got.Delete {
		t.Errorf("delete after step-up failed")
	}
	if n := len(f.iss.Grants()); n != 2 {
		t.Errorf("authorizations = %d (%q), want 2: sign-in and step-up", n, f.iss.Grants())
	}
}
