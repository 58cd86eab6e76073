package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestDevStdio runs "mcplambda dev -- COMMAND ARGS": the stdio adapter as
// the bootstrap under the emulator, with a Go stdio server and with the
// real server-everything under Node, through each front door.
func TestDevStdio(t *testing.T) {
	t.Parallel()
	servers := map[string]func(t *testing.T) []string{
		"go-echo": func(t *testing.T) []string { return []string{binary(t, "echoserver")} },
		"server-everything": func(t *testing.T) []string {
			return []string{testtools.Node22(t), testtools.ServerEverything(t), "stdio"}
		},
	}
	for name, command := range servers {
		for _, door := range []string{"url", "rest"} {
			t.Run(name+"/"+door, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				p := startDev(t, append([]string{"--addr", "127.0.0.1:0", "--front", door, "--"}, command(t)...)...)
				cs := p.connect(t, ctx)
				tools, err := cs.ListTools(ctx, nil)
				if err != nil {
					t.Fatalf("ListTools: %v; stderr:\n%s", err, p.stderr.String())
				}
				found := false
				for _, tool := range tools.Tools {
					found = found || tool.Name == "echo"
				}
				if !found {
					t.Fatalf("tools/list through the stdio adapter has no echo tool: %v", tools.Tools)
				}
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "through dev"}})
				if err != nil {
					t.Fatalf("CallTool(echo): %v; stderr:\n%s", err, p.stderr.String())
				}
				if res.IsError || !strings.Contains(toolText(res), "through dev") {
					t.Errorf("CallTool(echo) = %q (isError %v), want the message echoed", toolText(res), res.IsError)
				}
				if code := p.stop(t, os.Interrupt); code != 0 {
					t.Errorf("exit code after SIGINT = %d, want 0", code)
				}
			})
		}
	}
}

// TestDevStdioCtrlC: Ctrl-C of "mcplambda dev -- COMMAND" stops the stdio
// server and what it started in its process group.
func TestDevStdioCtrlC(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := startDev(t, "--addr", "127.0.0.1:0", "--", binary(t, "echoserver"))
	cs := p.connect(t, ctx)
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "spawn", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("CallTool(spawn) = %v, %v; stderr:\n%s", res, err, p.stderr.String())
	}
	pid, err := strconv.Atoi(toolText(res))
	if err != nil {
		t.Fatal(err)
	}
	if code := p.stop(t, os.Interrupt); code != 0 {
		t.Errorf("exit code after SIGINT = %d, want 0", code)
	}
	testtools.WaitGone(t, pid, "the stdio server's grandchild")
}

func TestStdioUsage(t *testing.T) {
	t.Setenv("MCPLAMBDA_COMMAND", "")
	t.Setenv("MCPLAMBDA_CONFIG", "")
	code, _, stderr := runMain(t, "stdio")
	if code != 2 || !strings.Contains(stderr, "MCPLAMBDA_COMMAND") {
		t.Errorf("mcplambda stdio with no command = exit %d, stderr %q; want 2 and a hint naming MCPLAMBDA_COMMAND", code, stderr)
	}
	code, _, stderr = runMain(t, "dev", "--")
	if code != 2 || !strings.Contains(stderr, "nothing after") {
		t.Errorf("mcplambda dev -- = exit %d, stderr %q; want 2 and a hint", code, stderr)
	}
}
