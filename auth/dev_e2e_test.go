package auth_test

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/testtools"

	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestDevOAuth runs end to end: the real mcplambda CLI ("mcplambda dev")
// runs a protected bootstrap (testdata/protected) under its Lambda
// emulator behind each front door it emulates, and go-sdk's client signs
// in against the local issuer, calls a tool, and steps up for a scoped one.
func TestDevOAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mcplambda CLI")
	}
	dir := t.TempDir()
	build := func(name, pkg string, tags ...string) string {
		out := filepath.Join(dir, name)
		args := append([]string{"build", "-o", out}, tags...)
		if b, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	cli := build("mcplambda", "../cmd/mcplambda")
	bootstrap := build("protected", "./testdata/protected", "-tags", "lambda.norpc")

	for _, front := range []string{"url", "httpapi", "rest"} {
		t.Run(front, func(t *testing.T) {
			iss := authtest.NewIssuer(nil)
			defer iss.Close()

			// The resource URI, which tokens name as their audience, must
			// be known before the function starts: pick a free port.
			addr := testtools.FreeAddr(t)
			resource := "http://" + addr + "/mcp"

			cmd := exec.Command(cli, "dev", "--addr", addr, "--front", front,
				"--env", "ISSUER="+iss.URL, "--env", "RESOURCE="+resource, bootstrap)
			cmd.Stderr = t.Output()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGINT)
				cmd.Wait()
			}()
			ready := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if u, ok := strings.CutPrefix(sc.Text(), "mcplambda: listening on "); ok {
						ready <- u
					}
				}
			}()
			select {
			case u := <-ready:
				if u != resource {
					t.Fatalf("mcplambda dev listens on %s, want %s", u, resource)
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("mcplambda dev did not start")
			}

			ctx := context.Background()
			client := mcp.NewClient(&mcp.Implementation{Name: "dev-e2e", Version: "v1"}, nil)
			cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: resource, OAuthHandler: iss.OAuthHandler()}, nil)
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			defer cs.Close()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
			if err != nil {
				t.Fatalf("CallTool(whoami): %v", err)
			}
			var who struct {
				Principal string `json:"principal"`
			}
			remarshal(t, res.StructuredContent, &who)
			if want := iss.URL + "#user"; who.Principal != want {
				t.Errorf("whoami principal = %q, want %q", who.Principal, want)
			}
			if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "delete"}); err != nil {
				t.Errorf("CallTool(delete) with step-up: %v", err)
			}
			if got := len(iss.Grants()); got != 2 {
				t.Errorf("authorizations = %d (%q), want 2: sign-in and step-up", got, iss.Grants())
			}
		})
	}
}
