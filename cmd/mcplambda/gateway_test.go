package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/gateway"
	"github.com/mcplambda/mcplambda/internal/conformancetest"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// writeConfig writes a gateway configuration into a directory of the
// test and returns its path.
func writeConfig(t testing.TB, config string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.json")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGatewayEndToEnd runs a gateway under mcplambda dev, as a Lambda
// function, in front of three backends: examples/time as another function
// of the same emulator (invoked by the gateway with the real AWS SDK
// through the emulator's Invoke API), the reference server-everything
// over stdio (Node 22), and examples/conformance over HTTP. go-sdk's
// client of both eras and the official TypeScript SDK's client list the
// merged tools and call one of each backend; then the HTTP backend is
// killed, and only its calls fail, with an error naming it.
func TestGatewayEndToEnd(t *testing.T) {
	t.Parallel()
	node := testtools.Node22(t)
	everything := testtools.ServerEverything(t)
	sdk := testtools.TypeScriptSDK(t)
	conformance := startNative(t, binary(t, "conformance"))
	config := writeConfig(t, fmt.Sprintf(`{"mcpServers": {
		"time": {"url": "lambda:time"},
		"everything": {"command": %q, "args": [%q, "stdio"]},
		"conformance": {"type": "http", "url": %q}
	}}`, node, everything, conformance.mcpURL))
	dev := startDev(t, "--addr", "127.0.0.1:0", "--config", config, "--function", "time="+binary(t, "time"))

	calls := []struct {
		name string
		args map[string]any
		want string
	}{
		{"time__get_current_time", map[string]any{"timezone": "Asia/Kolkata"}, `"timezone":"Asia/Kolkata"`},
		{"everything__echo", map[string]any{"message": "hello"}, "Echo: hello"},
		{"conformance__test_simple_text", nil, "This is a simple text response for testing."},
	}
	wantTools := []string{"time__get_current_time", "everything__echo", "conformance__test_simple_text"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, protocol := range []string{"2026-07-28", "2025-11-25"} {
		cs := connectProtocol(t, ctx, dev, protocol)
		if got := cs.InitializeResult().ProtocolVersion; got != protocol {
			t.Errorf("negotiated %s, want %s", got, protocol)
		}
		names := listToolNames(t, ctx, cs)
		for _, want := range wantTools {
			if !slices.Contains(names, want) {
				t.Errorf("%s: tools/list lacks %s: %q", protocol, want, names)
			}
		}
		for _, c := range calls {
			if got, err := gatewayCall(ctx, cs, c.name, c.args); err != nil || !strings.Contains(got, c.want) {
				t.Errorf("%s: CallTool(%s) = %q, %v; want %q; dev's stderr:\n%s", protocol, c.name, got, err, c.want, dev.stderr.String())
			}
		}
	}

	// The TypeScript SDK's client (2025-11-25).
	var tsCalls []map[string]any
	for _, c := range calls {
		tsCalls = append(tsCalls, map[string]any{"name": c.name, "arguments": c.args})
	}
	ts := runTSGatewayClient(t, ctx, node, sdk, dev.mcpURL, tsCalls)
	if ts.Protocol != "2025-11-25" {
		t.Errorf("TypeScript client negotiated %q", ts.Protocol)
	}
	for _, want := range wantTools {
		if !slices.Contains(ts.Tools, want) {
			t.Errorf("TypeScript client: tools/list lacks %s: %q", want, ts.Tools)
		}
	}
	for i, c := range calls {
		if r := ts.Results[i]; r.Error != "" || r.IsError || !strings.Contains(r.Text, c.want) {
			t.Errorf("TypeScript client: CallTool(%s) = %+v, want %q", c.name, r, c.want)
		}
	}

	// The HTTP backend dies: its calls fail, naming it; the others serve,
	// and lists say what is missing.
	conformance.cmd.Process.Kill()
	<-conformance.done
	cs := connectProtocol(t, ctx, dev, "2026-07-28")
	_, err := gatewayCall(ctx, cs, "conformance__test_simple_text", nil)
	var je *jsonrpc.Error
	if !errors.As(err, &je) || je.Code != jsonrpc.CodeInternalError || !strings.HasPrefix(je.Message, `mcplambda gateway: backend "conformance": tools/call test_simple_text: `) {
		t.Errorf("CallTool(conformance__test_simple_text) after the kill = %v, want -32603 naming the backend", err)
	}
	for _, c := range calls[:2] {
		if got, err := gatewayCall(ctx, cs, c.name, c.args); err != nil || !strings.Contains(got, c.want) {
			t.Errorf("CallTool(%s) after the kill = %q, %v", c.name, got, err)
		}
	}
	ts = runTSGatewayClient(t, ctx, node, sdk, dev.mcpURL, tsCalls)
	if r := ts.Results[2]; !strings.Contains(r.Error, `backend "conformance"`) {
		t.Errorf("TypeScript client: CallTool(conformance__test_simple_text) after the kill = %+v, want an error naming the backend", r)
	}
	if r := ts.Results[1]; r.Error != "" || r.Text != "Echo: hello" {
		t.Errorf("TypeScript client: CallTool(everything__echo) after the kill = %+v", r)
	}
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Meta[gateway.MetaKeyUnavailable])
	if !strings.Contains(string(b), `"backend":"conformance"`) || slices.ContainsFunc(res.Tools, func(t *mcp.Tool) bool { return strings.HasPrefix(t.Name, "conformance__") }) {
		t.Errorf("tools/list after the kill: %d tools, _meta %s; want none of conformance and it named unavailable", len(res.Tools), b)
	}
}

// connectProtocol connects go-sdk's client to dev asking for protocol.
func connectProtocol(t *testing.T, ctx context.Context, dev *devProcess, protocol string) *mcp.ClientSession {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "gateway-test", Version: "v1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: dev.mcpURL, MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		t.Fatalf("Connect(%s, %s): %v; stderr:\n%s", dev.mcpURL, protocol, err, dev.stderr.String())
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func listToolNames(t *testing.T, ctx context.Context, cs *mcp.ClientSession) []string {
	t.Helper()
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list: %v", err)
		}
		names = append(names, tool.Name)
	}
	return names
}

// gatewayCall calls a tool and returns its text, or its structured content
// as JSON when it has no text.
func gatewayCall(ctx context.Context, cs *mcp.ClientSession, name string, args map[string]any) (string, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	if res.IsError {
		return "", fmt.Errorf("tool error: %v", res.Content)
	}
	var s []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			s = append(s, tc.Text)
		}
	}
	if res.StructuredContent != nil {
		b, _ := json.Marshal(res.StructuredContent)
		s = append(s, string(b))
	}
	return strings.Join(s, " "), nil
}

// tsGatewayResult is what testdata/gateway/tsclient.mjs prints.
type tsGatewayResult struct {
	Protocol string   `json:"protocol"`
	Tools    []string `json:"tools"`
	Results  []struct {
		Text    string `json:"text"`
		IsError bool   `json:"isError"`
		Error   string `json:"error"`
	} `json:"results"`
}

func runTSGatewayClient(t *testing.T, ctx context.Context, node, sdk, url string, calls []map[string]any) *tsGatewayResult {
	t.Helper()
	callsJSON, _ := json.Marshal(calls)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, "testdata/gateway/tsclient.mjs", sdk, url, string(callsJSON))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node tsclient.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var got tsGatewayResult
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("TypeScript client output %q: %v", stdout.String(), err)
	}
	if len(got.Results) != len(calls) {
		t.Fatalf("TypeScript client: %d results for %d calls: %s", len(got.Results), len(calls), stdout.String())
	}
	return &got
}

// conformanceScored is the number of scenarios the pinned conformance
// suite (0.2.0-alpha.12) scores with --requirements 2026-07-28.
const conformanceScored = 37

// TestGatewayConformance runs the official conformance suite's
// 2026-07-28 scored scenarios through a gateway, under mcplambda dev, whose
// only backend is examples/conformance served over HTTP, without a
// prefix: every scored scenario passes, as it does against the server
// directly, so the gateway loses nothing of the protocol.
func TestGatewayConformance(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the conformance suite")
	}
	testtools.Conformance(t)
	backend := startNative(t, binary(t, "conformance"))
	config := writeConfig(t, fmt.Sprintf(`{"mcpServers": {"conformance": {"url": %q, "prefix": ""}}}`, backend.mcpURL))
	// Several instances: the suite sends concurrent requests.
	dev := startDev(t, "--addr", "127.0.0.1:0", "--instances", "4", "--config", config)
	results := conformancetest.RunSuite(t, dev.mcpURL, conformancetest.Runs[0])
	scored := map[string]bool{}
	for _, r := range results {
		if r.NotScored != "" {
			continue
		}
		if _, ok := scored[r.Scenario]; !ok {
			scored[r.Scenario] = true
		}
		if r.Status == conformancetest.StatusFailure {
			scored[r.Scenario] = false
			t.Errorf("through the gateway: %s:%s failed: %s", r.Scenario, r.Check, r.Message)
		}
	}
	passed := 0
	for _, ok := range scored {
		if ok {
			passed++
		}
	}
	t.Logf("conformance 2026-07-28 through the gateway: %d/%d scored scenarios pass", passed, len(scored))
	if len(scored) != conformanceScored {
		t.Errorf("the suite scored %d scenarios, want %d", len(scored), conformanceScored)
	}
}

// TestGatewayBootstrap: the mcplambda binary, named bootstrap with a
// gateway.json next to it (what mcplambda build --config packages), is a
// gateway function: under the emulator it serves the configuration's
// backends, with no arguments.
func TestGatewayBootstrap(t *testing.T) {
	t.Parallel()
	backend := startNative(t, binary(t, "conformance"))
	dir := t.TempDir()
	// A hard link, not a copy: a file just written may still be open in
	// a process another test forks at that moment, and exec would fail
	// with "text file busy".
	if err := os.Link(binary(t, "mcplambda"), filepath.Join(dir, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`{"mcpServers": {"conf": {"url": %q}}}`, backend.mcpURL)
	if err := os.WriteFile(filepath.Join(dir, gateway.ConfigFile), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	dev := startDev(t, "--addr", "127.0.0.1:0", filepath.Join(dir, "bootstrap"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := connectProtocol(t, ctx, dev, "2026-07-28")
	if got, err := gatewayCall(ctx, cs, "conf__test_simple_text", nil); err != nil || !strings.Contains(got, "simple text") {
		t.Errorf("CallTool(conf__test_simple_text) = %q, %v; stderr:\n%s", got, err, dev.stderr.String())
	}
}

// TestBuildGateway: build --config packages a gateway: bootstrap, the
// configuration as it is, and the grants the CDK construct reads.
func TestBuildGateway(t *testing.T) {
	t.Parallel()
	config := `{"mcpServers": {
		"time": {"url": "lambda:time:live"},
		"tool": {"command": "./tool", "env": {"KEY": "secretsmanager:prod/tool#key", "HOME": "${HOME}"}},
		"docs": {"url": "https://docs.example.com/mcp", "token": "ssm:/prod/docs-token"}
	}}`
	path := writeConfig(t, config)
	out := t.TempDir()
	// A small main package stands in for the mcplambda binary: the
	// bootstrap's contents do not change the rest.
	code, stdout, stderr := runMain(t, "build", "--out", out, "--arch", "amd64", "--config", path, "./testdata/noop")
	if code != 0 {
		t.Fatalf("build --config: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, filepath.Join(out, "gateway-amd64.zip")) {
		t.Errorf("build --config: stdout %q, want the zip gateway-amd64.zip", stdout)
	}
	zr, err := zip.OpenReader(filepath.Join(out, "gateway-amd64.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]string{}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	if diff := cmp.Diff([]string{"bootstrap", gateway.ConfigFile, gateway.GrantsFile}, names); diff != "" {
		t.Errorf("zip entries (-want +got):\n%s", diff)
	}
	if files[gateway.ConfigFile] != config {
		t.Errorf("%s in the zip = %q, want the file as it is", gateway.ConfigFile, files[gateway.ConfigFile])
	}
	var grants gateway.Grants
	if err := json.Unmarshal([]byte(files[gateway.GrantsFile]), &grants); err != nil {
		t.Fatal(err)
	}
	want := gateway.Grants{Functions: []gateway.FunctionGrant{{Function: "time", Qualifier: "live"}},
		SSMParameters: []string{"/prod/docs-token"}, Secrets: []string{"prod/tool"}}
	if diff := cmp.Diff(want, grants); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}

	// What cannot be granted is refused before anything is built.
	bad := writeConfig(t, `{"mcpServers": {"f": {"url": "lambda:${FUNCTION_NAME_UNSET_HERE}"}}}`)
	code, _, stderr = runMain(t, "build", "--out", out, "--config", bad)
	if code != 1 || !strings.Contains(stderr, "cannot come from ${VAR}") && !strings.Contains(stderr, `backend "f": url`) {
		t.Errorf("build --config with a function from ${VAR}: exit %d, stderr %q", code, stderr)
	}
}

// TestGatewayUsage: the gateway's command lines and configuration
// mistakes.
func TestGatewayUsage(t *testing.T) {
	t.Parallel()
	bad := writeConfig(t, `{"mcpServers": {"time": {"url": "lambda:"}, "x": {"command": "y", "headers": {}}}}`)
	good := writeConfig(t, `{"mcpServers": {"time": {"url": "lambda:time:live"}, "docs": {"url": "https://docs.example.com/mcp", "token": "ssm:/t", "autoApprove": []}}}`)
	for _, tt := range []usageCase{
		{name: "no config", args: []string{"gateway"}, code: 2, stderr: []string{"gateway: no configuration: give --config FILE"}},
		{name: "argument", args: []string{"gateway", "--config", good, "extra"}, code: 2, stderr: []string{`unexpected argument "extra"`}},
		{name: "missing file", args: []string{"gateway", "--config", "/nonexistent/gw.json"}, code: 1, stderr: []string{"no such file"}},
		{name: "mistakes", args: []string{"gateway", "--config", bad}, code: 1, stderr: []string{
			`backend "time": url: missing: want lambda:FUNCTION[:QUALIFIER]`, `backend "x": headers: not for a backend of type stdio`}},
		{name: "check", args: []string{"gateway", "--check", "--config", good}, stdout: "invokes time:live", stderr: []string{`backend "docs": autoApprove: a desktop client's setting, ignored`}},
		{name: "help", args: []string{"gateway", "-h"}, stdout: "Usage: mcplambda gateway"},
		{name: "dev config and target", args: []string{"dev", "--config", good, "./examples/time"}, code: 2, stderr: []string{"--config serves a gateway"}},
		{name: "dev bad function", args: []string{"dev", "--function", "time", "--config", good}, code: 2, stderr: []string{"want NAME=TARGET"}},
		{name: "build layer and config", args: []string{"build", "--layer", "--config", good}, code: 2, stderr: []string{"--layer and --config: choose one"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t)
		})
	}
}
