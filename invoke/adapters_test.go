package invoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/invoke"
	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var builds sync.Map // package path -> func() (string, error)

// build builds a main package of this module once per test run.
func build(t *testing.T, pkg string, tags ...string) string {
	t.Helper()
	f, _ := builds.LoadOrStore(pkg, sync.OnceValues(func() (string, error) {
		out := filepath.Join(filepath.Dir(fixture), strings.NewReplacer(".", "", "/", "_").Replace(pkg))
		args := append([]string{"build", "-o", out}, tags...)
		if b, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
		return out, nil
	}))
	path, err := f.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// runFunction runs bootstrap under the emulator with env and returns a
// Lambda client for its Invoke API.
func runFunction(t *testing.T, bootstrap string, env ...string) *invoke.Options {
	t.Helper()
	url := newFunctionAt(t, bootstrap, &lambdatest.Options{FunctionName: "fn", Env: env})
	return &invoke.Options{Client: newClient(url)}
}

// echoContract is what every stdio server with an echo(message) tool
// answers through a stdio adapter, in both protocol eras. connectErr maps
// a protocol version to the error Connect must fail with instead.
func echoContract(t *testing.T, opts *invoke.Options, wantServer string, connectErr map[string]string) {
	for _, version := range []string{"2026-07-28", "2025-11-25"} {
		t.Run(version, func(t *testing.T) {
			if want, ok := connectErr[version]; ok {
				c := mcp.NewClient(&mcp.Implementation{Name: "invoke-test", Version: "v1"}, nil)
				cs, err := c.Connect(context.Background(), invoke.NewTransport("fn", opts), &mcp.ClientSessionOptions{ProtocolVersion: version})
				if err == nil {
					cs.Close()
				}
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Connect(%s) = %v, want an error with %q", version, err, want)
				}
				return
			}
			cs := connect(t, "fn", opts, version)
			if got := cs.InitializeResult().ServerInfo.Name; got != wantServer {
				t.Errorf("server name = %q, want %q", got, wantServer)
			}
			tools, err := cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			if !slices.ContainsFunc(tools.Tools, func(tool *mcp.Tool) bool { return tool.Name == "echo" }) {
				t.Errorf("ListTools() has no echo tool: %v", tools.Tools)
			}
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hello"}})
			if err != nil {
				t.Fatalf("CallTool(echo): %v", err)
			}
			if got := text(res); got != "Echo: hello" {
				t.Errorf("CallTool(echo) = %q, want %q", got, "Echo: hello")
			}
		})
	}
}

// TestStdioAdapter calls a stdio server wrapped by this module's stdio
// adapter (package stdio, no-code mode), which serves direct invokes
// through the root package.
func TestStdioAdapter(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the stdio adapter")
	}
	bootstrap := build(t, "../stdio/testdata/bootstrap", "-tags", "lambda.norpc")
	echoserver := build(t, "../stdio/testdata/echoserver")
	opts := runFunction(t, bootstrap, "MCPLAMBDA_COMMAND="+echoserver)
	echoContract(t, opts, "echoserver", nil)

	t.Run("child crash", func(t *testing.T) {
		cs := connect(t, "fn", opts, "")
		_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "crash"})
		var je *jsonrpc.Error
		if !errors.As(err, &je) || je.Code != jsonrpc.CodeInternalError {
			t.Errorf("CallTool(crash) = %v, want JSON-RPC internal error", err)
		}
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "again"}})
		if err != nil || text(res) != "Echo: again" {
			t.Errorf("CallTool(echo) after a crash = %v, %v", res, err)
		}
	})
}

// TestReferenceAdapter calls stdio servers wrapped by the reference
// project's own adapter, @aws/run-mcp-servers-with-aws-lambda (its
// stdioServerAdapter under Node 22, as a custom-runtime bootstrap), with
// the reference MCP server server-everything and with a go-sdk server.
func TestReferenceAdapter(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs Node")
	}
	node := testtools.Node22(t)
	adapter := testtools.RunMCPServersWithAWSLambda(t)
	everything := testtools.ServerEverything(t)
	script, err := filepath.Abs("testdata/reference/bootstrap.mjs")
	if err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(bootstrap, fmt.Appendf(nil, "#!/bin/sh\nexec %q %q\n", node, script), 0o755); err != nil {
		t.Fatal(err)
	}
	args := func(a ...string) string {
		b, _ := json.Marshal(a)
		return "SERVER_ARGS=" + string(b)
	}

	t.Run("server-everything", func(t *testing.T) {
		opts := runFunction(t, bootstrap, "ADAPTER_DIR="+adapter, "SERVER_COMMAND="+node, args(everything, "stdio"))
		echoContract(t, opts, "mcp-servers/everything", nil)
	})
	t.Run("go-sdk server", func(t *testing.T) {
		echoserver := build(t, "../stdio/testdata/echoserver")
		opts := runFunction(t, bootstrap, "ADAPTER_DIR="+adapter, "SERVER_COMMAND="+echoserver, args())
		// The reference adapter initializes the child itself and then
		// forwards the client's initialize, which a go-sdk server refuses
		// as a duplicate: 2025-11-25 clients cannot connect to a go-sdk
		// server behind it. 2026-07-28 clients can: server/discover is an
		// ordinary request to the child.
		echoContract(t, opts, "echoserver", map[string]string{"2025-11-25": `duplicate "initialize" received`})
	})
}
