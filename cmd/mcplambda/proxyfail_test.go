package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func init() {
	// The invoke package's fixture: echo, wait (on a gate URL), exit.
	binaries["fixture"] = &struct {
		pkg  string
		tags string
		once sync.Once
		path string
		err  error
	}{pkg: "../../invoke/testdata/fixture", tags: "lambda.norpc"}
}

// wantRPCError checks that err is a JSON-RPC error with code whose message
// matches re.
func wantRPCError(t *testing.T, what string, err error, code int64, re string) {
	t.Helper()
	var je *jsonrpc.Error
	if !errors.As(err, &je) || je.Code != code || !regexp.MustCompile(re).MatchString(je.Message) {
		t.Errorf("%s: error %v, want JSON-RPC error %d matching %s", what, err, code, re)
	}
}

// failureLines waits for n lines on the proxy's stderr after its start
// line, and returns all it has then.
func failureLines(stderr *lineLog, n int) []string {
	stderr.wait(1 + n)
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	return lines[1:]
}

// TestProxyFailures: what the local client gets, and the proxy logs,
// when the remote is unreachable, when its function crashes, when it dies
// in the middle of a call, and when Lambda throttles; after each, the
// proxy keeps serving.
func TestProxyFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	env := proxyEnv(t)

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		closed := "http://" + testtools.FreeAddr(t) + "/mcp"
		cmd, stderr := proxyCommand(t, env, closed)
		_, err := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
		wantRPCError(t, "connecting", err, jsonrpc.CodeInternalError, `^mcplambda proxy: cannot reach `+regexp.QuoteMeta(closed)+`: dial tcp .*connection refused$`)
		if got := failureLines(stderr, 1); len(got) != 1 || !strings.HasPrefix(got[0], "mcplambda proxy: cannot reach "+closed) {
			t.Errorf("failure lines on stderr = %q, want one", got)
		}
	})

	t.Run("function crashes", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		dev := startDev(t, "--addr", "127.0.0.1:0", "--name", "fixture", binary(t, "fixture"))
		for _, target := range [][]string{{dev.mcpURL}, {"--endpoint-url", dev.invokeURL, "lambda:fixture"}} {
			g := connectGo(t, ctx, "2025-11-25", env, target...)
			_, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "exit"})
			if target[0] == dev.mcpURL {
				// The function URL answers 502 for a function that crashed.
				wantRPCError(t, "exit through the function URL", err, jsonrpc.CodeInternalError, `^mcplambda proxy: tools/call exit: .*502`)
			} else {
				wantRPCError(t, "exit through the Invoke API", err, jsonrpc.CodeInternalError, `^mcplambda proxy: tools/call exit: invoke: function fixture failed: Runtime.ExitError`)
			}
			res, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "still here"}})
			if err != nil || textOf(res) != "still here" {
				t.Errorf("%s: echo after the crash = %v, %v", target, res, err)
			}
			if got := failureLines(g.stderr, 1); len(got) != 1 {
				t.Errorf("%s: failure lines on stderr = %q, want one", target, got)
			}
		}
	})

	t.Run("remote dies mid-call", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		addr := testtools.FreeAddr(t)
		dev := startDev(t, "--addr", addr, "--name", "fixture", binary(t, "fixture"))
		g := connectGo(t, ctx, "2026-07-28", env, dev.mcpURL)
		gt := testtools.NewGate(t)
		errc := make(chan error, 1)
		go func() {
			_, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{"gate": gt.URL}})
			errc <- err
		}()
		<-gt.Entered
		dev.cmd.Process.Kill() // the whole remote, mid-call
		<-dev.done
		wantRPCError(t, "a call when the remote dies", <-errc, jsonrpc.CodeInternalError, `^mcplambda proxy: (tools/call wait|cannot reach)`)
		if got := failureLines(g.stderr, 1); len(got) != 1 {
			t.Errorf("failure lines on stderr = %q, want one", got)
		}
		// The remote comes back: the same local session goes on.
		startDev(t, "--addr", addr, "--name", "fixture", binary(t, "fixture"))
		res, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "back"}})
		if err != nil || textOf(res) != "back" {
			t.Errorf("echo once the remote is back = %v, %v", res, err)
		}
	})

	t.Run("throttled", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		f, err := lambdatest.NewFunction(binary(t, "fixture"), &lambdatest.Options{FunctionName: "fixture", Throttle: true, Timeout: time.Minute, Stdout: io.Discard, Stderr: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		srv := httptest.NewServer(lambdatest.NewInvokeAPI(f))
		defer srv.Close()
		g := connectGo(t, ctx, "2025-11-25", env, "--endpoint-url", srv.URL, "lambda:fixture")
		gt := testtools.NewGate(t)
		busy := make(chan error, 1)
		go func() {
			_, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{"gate": gt.URL}})
			busy <- err
		}()
		<-gt.Entered // the only instance is busy
		_, err = g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
		wantRPCError(t, "a call while throttled", err, jsonrpc.CodeInternalError, `^mcplambda proxy: tools/call echo: invoke: throttled: the function is at its concurrency limit .* after 4 attempts: .*TooManyRequestsException`)
		gt.Open()
		if err := <-busy; err != nil {
			t.Errorf("the call that kept the instance busy: %v", err)
		}
		res, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
		if err != nil || textOf(res) != "hi" {
			t.Errorf("echo once the instance is free = %v, %v", res, err)
		}
		if got := failureLines(g.stderr, 1); len(got) != 1 || !strings.Contains(got[0], "throttled") {
			t.Errorf("failure lines on stderr = %q, want one about throttling", got)
		}
	})
}

// testContext returns a context for t that ends with it, or after two
// minutes.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestProxyListen serves the proxy over streamable HTTP on a loopback
// port: clients of both eras reach the remote through it, a foreign Host
// (DNS rebinding) and a cross-origin browser request are refused, and it
// refuses to listen on anything but loopback.
func TestProxyListen(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	dev := startDev(t, "--addr", "127.0.0.1:0", "--name", "conformance", binary(t, "conformance"))
	cmd, _ := proxyCommand(t, proxyEnv(t), "--listen", "127.0.0.1:0", dev.mcpURL)
	p := start(t, cmd, readyLines[:1])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, protocol := range protocolVersions {
		client := mcp.NewClient(&mcp.Implementation{Name: "test"}, nil)
		cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: p.mcpURL}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
		if err != nil {
			t.Fatalf("%s client: connecting to the proxy's listener: %v", protocol, err)
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_simple_text"})
		if err != nil || textOf(res) != wantSimple || cs.InitializeResult().ProtocolVersion != protocol {
			t.Errorf("%s client: CallTool through the listener = %v, %v (protocol %s)", protocol, res, err, cs.InitializeResult().ProtocolVersion)
		}
		cs.Close()
	}
	for _, tt := range []struct{ name, host, origin string }{
		{"DNS rebinding", "evil.example:80", ""},
		{"cross-origin browser request", "", "http://evil.example"},
	} {
		req, _ := http.NewRequest(http.MethodPost, p.mcpURL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if tt.host != "" {
			req.Host = tt.host
		}
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tt.name, resp.StatusCode)
		}
	}
	p.cmd.Process.Signal(os.Interrupt)
	<-p.done

	usageCase{name: "not loopback", args: []string{"proxy", "--listen", "0.0.0.0:8000", "http://127.0.0.1:1/mcp"}, code: 2,
		stderr: []string{"want a loopback address"}}.check(t)
}

// TestProxyUsage covers proxy's command line.
func TestProxyUsage(t *testing.T) {
	for _, tt := range []usageCase{
		{name: "no target", args: []string{"proxy"}, code: 2, stderr: []string{"no TARGET given"}},
		{name: "extra argument", args: []string{"proxy", "http://127.0.0.1:1/mcp", "tools"}, code: 2, stderr: []string{`unexpected argument "tools"`}},
		{name: "bad target", args: []string{"proxy", "ftp://x/mcp"}, code: 2, stderr: []string{"want an http(s) URL or lambda:FUNCTION"}},
		{name: "bad listen", args: []string{"proxy", "--listen", "8000", "http://127.0.0.1:1/mcp"}, code: 2, stderr: []string{"want host:port"}},
		{name: "two auths", args: []string{"proxy", "--sigv4", "--oauth", "http://127.0.0.1:1/mcp"}, code: 2, stderr: []string{"choose one of"}},
		{name: "auth for lambda", args: []string{"proxy", "--sigv4", "lambda:fn"}, code: 2, stderr: []string{"authorized by IAM"}},
		{name: "help", args: []string{"proxy", "-h"}, stdout: "Usage: mcplambda proxy [flags] TARGET"},
		{name: "listed", args: []string{"-h"}, stdout: "proxy   serve a remote MCP server"},
	} {
		t.Run(tt.name, tt.check)
	}
}
