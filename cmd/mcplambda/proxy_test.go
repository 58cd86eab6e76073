package main

//lint:file-ignore SA1019 the tests exercise sampling, roots and logging, deprecated since 2026-07-28 (SEP-2577) but still relayed.

import (
	"bytes"
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
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The proxy's tests run the real binary the way desktop clients do: a
// client starts "mcplambda proxy" and talks MCP over its standard input
// and output. The clients are the official TypeScript SDK's (protocol
// 2025-11-25, like today's desktop clients), the MCP Inspector CLI (both
// eras), and go-sdk's (2026-07-28); the remote is the conformance server
// under "mcplambda dev" behind each front door, and the same function
// through the Lambda Invoke API with the real AWS SDK.

// proxyTarget is a remote for the proxy: its command-line arguments.
type proxyTarget struct {
	name string
	args []string // TARGET and its flags
}

// conformanceTargets starts one "mcplambda dev" per front door with the
// conformance server, and returns the targets: each door's MCP endpoint,
// and lambda:conformance through the function URL door's Invoke API.
func conformanceTargets(t *testing.T) []proxyTarget {
	t.Helper()
	var targets []proxyTarget
	var invoke string
	for _, door := range []string{"url", "httpapi", "rest"} {
		dev := startDev(t, "--addr", "127.0.0.1:0", "--front", door, "--name", "conformance", binary(t, "conformance"))
		targets = append(targets, proxyTarget{name: door, args: []string{dev.mcpURL}})
		if door == "url" {
			invoke = dev.invokeURL
		}
	}
	return append(targets, proxyTarget{name: "lambda", args: []string{"--endpoint-url", invoke, "lambda:conformance"}})
}

// proxyEnv is the environment of the proxy: no AWS configuration at all
// (a loopback --endpoint-url needs none), a cache directory of the test's.
func proxyEnv(t testing.TB) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "MCPLAMBDA_") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir(),
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true")
}

// proxyCommand returns the command that starts the proxy with args, its
// standard error captured.
func proxyCommand(t testing.TB, env []string, args ...string) (*exec.Cmd, *lineLog) {
	cmd := exec.Command(binary(t, "mcplambda"), append([]string{"proxy"}, args...)...)
	cmd.Env = env
	stderr := newLineLog()
	cmd.Stderr = stderr
	return cmd, stderr
}

// lineLog is an io.Writer that keeps the lines written to it, and lets a
// test wait for them: a process's stderr is copied to it by another
// goroutine, so what the process wrote before answering may not be there
// yet when the answer arrives.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	added   chan struct{} // receives a value when a line is added
}

func newLineLog() *lineLog { return &lineLog{added: make(chan struct{}, 1)} }

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		select {
		case l.added <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// String returns the complete lines so far.
func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 0 {
		return ""
	}
	return strings.Join(l.lines, "\n") + "\n"
}

// wait returns the first n lines once there are that many, or what there
// is after 10s.
func (l *lineLog) wait(n int) []string {
	timeout := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		lines := slices.Clone(l.lines)
		l.mu.Unlock()
		if len(lines) >= n {
			return lines[:n]
		}
		select {
		case <-l.added:
		case <-timeout:
			return lines
		}
	}
}

// goClient is go-sdk's client of a proxy, with what the proxy relays to it.
type goClient struct {
	cs       *mcp.ClientSession
	stderr   *lineLog
	progress chan *mcp.ProgressNotificationParams
	logs     chan *mcp.LoggingMessageParams
	asked    chan string
}

// connectGo starts the proxy with args under go-sdk's client speaking
// protocol, which answers elicitation with name Ada, sampling with Paris
// and has one root.
func connectGo(t *testing.T, ctx context.Context, protocol string, env []string, args ...string) *goClient {
	t.Helper()
	g := &goClient{
		progress: make(chan *mcp.ProgressNotificationParams, 100),
		logs:     make(chan *mcp.LoggingMessageParams, 100),
		asked:    make(chan string, 100),
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "go-proxy-test", Version: "v1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) { g.progress <- r.Params },
		LoggingMessageHandler:       func(_ context.Context, r *mcp.LoggingMessageRequest) { g.logs <- r.Params },
		ElicitationHandler: func(_ context.Context, r *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			g.asked <- "elicitation: " + r.Params.Message
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada", "color": "blue"}}, nil
		},
		CreateMessageHandler: func(context.Context, *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			g.asked <- "sampling"
			return &mcp.CreateMessageResult{Role: "assistant", Content: &mcp.TextContent{Text: "Paris"}, Model: "test-model"}, nil
		},
	})
	client.AddRoots(&mcp.Root{URI: "file:///tmp/project", Name: "project"})
	cmd, stderr := proxyCommand(t, env, args...)
	g.stderr = stderr
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		t.Fatalf("connecting to mcplambda proxy %q: %v; stderr:\n%s", args, err, stderr.String())
	}
	t.Cleanup(func() { cs.Close() })
	g.cs = cs
	return g
}

// textOf returns the text content of a tool result.
func textOf(res *mcp.CallToolResult) string {
	var s []string
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			s = append(s, t.Text)
		}
	}
	return strings.Join(s, " ")
}

// collect receives n values from c, or fails the test after 10s.
func collect[T any](t *testing.T, what string, c <-chan T, n int) []T {
	t.Helper()
	var got []T
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case v := <-c:
			got = append(got, v)
		case <-timeout:
			t.Errorf("got %d %s, want %d", len(got), what, n)
			return got
		}
	}
	return got
}

// tsOutput is what testdata/proxy/tsclient.mjs prints.
type tsOutput struct {
	Server struct {
		Name string `json:"name"`
	} `json:"server"`
	Capabilities []string `json:"capabilities"`
	Tools        []string `json:"tools"`
	Simple       string   `json:"simple"`
	ToolError    bool     `json:"toolError"`
	UnknownTool  *struct {
		Code int `json:"code"`
	} `json:"unknownTool"`
	Resources   []string `json:"resources"`
	Templates   []string `json:"templates"`
	Read        string   `json:"read"`
	Prompts     []string `json:"prompts"`
	Prompt      string   `json:"prompt"`
	Completion  []string `json:"completion"`
	Progress    []string `json:"progress"`
	Logs        []string `json:"logs"`
	Elicitation string   `json:"elicitation"`
	MultiRound  string   `json:"multiRound"`
	Sampling    string   `json:"sampling"`
	Roots       string   `json:"roots"`
	Asked       []string `json:"asked"`
}

// runTS runs the TypeScript client with the given checks against the
// proxy started with args.
func runTS(t *testing.T, checks string, env []string, args ...string) tsOutput {
	t.Helper()
	node := testtools.Node22(t)
	sdk := filepath.Join(testtools.Dir(), "node_modules", "@modelcontextprotocol", "sdk", "dist", "esm")
	if _, err := os.Stat(sdk); err != nil {
		if testtools.Required() {
			t.Fatalf("TypeScript SDK not installed at %s: run scripts/install-test-tools.sh", sdk)
		}
		t.Skipf("TypeScript SDK not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{"testdata/proxy/tsclient.mjs", sdk, checks, binary(t, "mcplambda"), "proxy"}, args...)
	cmd := exec.CommandContext(ctx, node, argv...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node tsclient.mjs %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	var out tsOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("tsclient.mjs output %q: %v\nstderr:\n%s", stdout.String(), err, stderr.String())
	}
	return out
}

// Results of the conformance server's fixtures, as the proxy must relay them.
const (
	wantSimple   = "This is a simple text response for testing."
	wantRead     = `{"id":"42","templateTest":true,"data":"Data for ID: 42"}`
	wantPrompt   = "Prompt with arguments: arg1='a', arg2='b'"
	wantElicited = "Hello, Ada!"
	wantMulti    = "Multi-round complete: Ada likes blue"
	wantSampled  = "Sampling response: Paris"
	wantRoots    = "Client exposed 1 root(s): file:///tmp/project"
)

var (
	wantProgress = []string{"0/100", "50/100", "100/100"}
	wantLogs     = []string{"Tool execution started", "Tool processing data", "Tool execution completed"}
)

// TestProxy runs the proxy against the conformance server behind every
// front door and through the Invoke API, asking the remote for each
// protocol era, with a local client of each era: the TypeScript SDK's
// (2025-11-25) and go-sdk's (2026-07-28); and the MCP Inspector CLI, in
// both of its eras, for each target. What a remote cannot send is not
// asked for: notifications through the Invoke API (it carries none), log
// messages from a remote asked for the older protocol (stateless, it
// keeps no log level), input_required from a remote of the older
// protocol.
func TestProxy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mcplambda dev and Node")
	}
	env := proxyEnv(t)
	for _, target := range conformanceTargets(t) {
		t.Run(target.name, func(t *testing.T) {
			t.Parallel()
			for _, remote := range protocolVersions {
				args := append([]string{"--protocol", remote}, target.args...)
				notifications := target.name != "lambda"
				logs := notifications
				input := remote == "2026-07-28"
				t.Run("remote "+remote+"/TypeScript 2025-11-25", func(t *testing.T) {
					checkTS(t, env, args, notifications, logs, input)
				})
				t.Run("remote "+remote+"/go-sdk 2026-07-28", func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					g := connectGo(t, ctx, "2026-07-28", env, args...)
					checkGoClient(t, ctx, g, notifications, logs, input)
				})
			}
			for _, era := range []string{"legacy", "modern"} {
				t.Run("Inspector "+era, func(t *testing.T) {
					checkInspector(t, env, era, target.args)
				})
			}
		})
	}
}

// checkTS runs the TypeScript client's checks of TestProxy.
func checkTS(t *testing.T, env, args []string, notifications, logs, input bool) {
	checks := []string{"basic"}
	want := tsOutput{
		Capabilities: []string{"completions", "logging", "prompts", "resources", "tools"},
		Simple:       wantSimple, ToolError: true,
		UnknownTool: &struct {
			Code int `json:"code"`
		}{Code: -32602},
		Resources:  []string{"test://static-binary", "test://static-text", "test://watched-resource"},
		Templates:  []string{"test://template/{id}/data"},
		Read:       wantRead,
		Prompt:     wantPrompt,
		Completion: []string{"paris", "park", "party"},
	}
	want.Server.Name = "mcplambda-conformance"
	checks = append(checks, "progress")
	want.Progress = []string{}
	if notifications {
		want.Progress = wantProgress
	}
	if logs {
		checks = append(checks, "logging")
		want.Logs = wantLogs
	}
	if input {
		checks = append(checks, "input")
		want.Elicitation, want.MultiRound, want.Sampling, want.Roots = wantElicited, wantMulti, wantSampled, wantRoots
		want.Asked = []string{"elicitation: What is your name?", "elicitation: Step 1: What is your name?",
			"elicitation: Step 2: What is your favorite color?", "sampling", "roots"}
	}
	got := runTS(t, strings.Join(checks, ","), env, args...)
	if !slices.Contains(got.Tools, "test_simple_text") || !slices.Contains(got.Prompts, "test_prompt_with_arguments") {
		t.Errorf("tools %q, prompts %q: want the conformance server's", got.Tools, got.Prompts)
	}
	got.Tools, got.Prompts = nil, nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TypeScript client through mcplambda proxy %s (-want +got):\n%s", strings.Join(args, " "), diff)
	}
}

// checkInspector runs the MCP Inspector CLI in era, which starts the
// proxy with args over stdio, and calls a tool.
func checkInspector(t *testing.T, env []string, era string, args []string) {
	node := testtools.Node22(t)
	inspector := testtools.Inspector(t)
	argv := append([]string{inspector, "--cli", "--protocol-era", era, "--method", "tools/call", "--tool-name", "test_simple_text",
		"--", binary(t, "mcplambda"), "proxy"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, argv...)
	home := t.TempDir()
	cmd.Dir = home
	cmd.Env = append(slices.Clone(env), "HOME="+home, "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("inspector: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var res struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || len(res.Content) != 1 || res.Content[0].Text != wantSimple {
		t.Errorf("inspector (%s) tools/call through the proxy printed %s (%v)", era, stdout.String(), err)
	}
}

// checkGoClient runs the checks of TestProxy with go-sdk's client.
func checkGoClient(t *testing.T, ctx context.Context, g *goClient, notifications, logs, input bool) {
	t.Helper()
	cs := g.cs
	if res := cs.InitializeResult(); res.ServerInfo == nil || res.ServerInfo.Name != "mcplambda-conformance" || res.Capabilities.Completions == nil {
		t.Errorf("handshake through the proxy = %+v, want the conformance server's info and capabilities", res)
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || !slices.ContainsFunc(tools.Tools, func(t *mcp.Tool) bool { return t.Name == "test_simple_text" }) {
		t.Errorf("ListTools = %v, %v; want the conformance tools", tools, err)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_simple_text"})
	if err != nil || textOf(res) != wantSimple {
		t.Errorf("CallTool(test_simple_text) = %v, %v", res, err)
	}
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "no_such_tool"})
	var je *jsonrpc.Error
	if !errors.As(err, &je) || je.Code != jsonrpc.CodeInvalidParams {
		t.Errorf("CallTool(no_such_tool) error = %v, want the remote's -32602", err)
	}
	read, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://template/42/data"})
	if err != nil || len(read.Contents) != 1 || read.Contents[0].Text != wantRead {
		t.Errorf("ReadResource = %v, %v", read, err)
	}
	templates, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(templates.ResourceTemplates) != 1 {
		t.Errorf("ListResourceTemplates = %v, %v", templates, err)
	}
	prompt, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "test_prompt_with_arguments", Arguments: map[string]string{"arg1": "a", "arg2": "b"}})
	if err != nil || len(prompt.Messages) != 1 || prompt.Messages[0].Content.(*mcp.TextContent).Text != wantPrompt {
		t.Errorf("GetPrompt = %v, %v", prompt, err)
	}
	comp, err := cs.Complete(ctx, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "test_prompt_with_arguments"},
		Argument: mcp.CompleteParamsArgument{Name: "arg1", Value: "par"}})
	if err != nil || !slices.Equal(comp.Completion.Values, []string{"paris", "park", "party"}) {
		t.Errorf("Complete = %v, %v", comp, err)
	}
	params := &mcp.CallToolParams{Name: "test_tool_with_progress", Meta: mcp.Meta{mcp.MetaKeyLogLevel: "info"}}
	params.SetProgressToken("go-progress")
	res, err = cs.CallTool(ctx, params)
	if !notifications {
		// The proxy sends a remote that cannot notify no progress token.
		if err != nil || textOf(res) != "progress reported for token <nil>" {
			t.Errorf("CallTool(test_tool_with_progress) = %v, %v; want no token at the remote", res, err)
		}
	} else {
		if err != nil {
			t.Errorf("CallTool(test_tool_with_progress): %v", err)
		}
		var got []string
		for _, p := range collect(t, "progress notifications", g.progress, 3) {
			got = append(got, fmt.Sprintf("%s %v/%v", p.ProgressToken, p.Progress, p.Total))
		}
		if diff := cmp.Diff([]string{"go-progress 0/100", "go-progress 50/100", "go-progress 100/100"}, got); diff != "" {
			t.Errorf("progress (-want +got):\n%s", diff)
		}
	}
	if logs {
		if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "test_tool_with_logging", Meta: mcp.Meta{mcp.MetaKeyLogLevel: "info"}}); err != nil {
			t.Errorf("CallTool(test_tool_with_logging): %v", err)
		}
		var got []string
		for _, l := range collect(t, "log messages", g.logs, 3) {
			got = append(got, fmt.Sprint(l.Data))
		}
		if diff := cmp.Diff(wantLogs, got); diff != "" {
			t.Errorf("log messages (-want +got):\n%s", diff)
		}
	}
	if input {
		// go-sdk's client answers the input_required results the proxy
		// passes through to a 2026-07-28 client.
		for _, tt := range []struct{ tool, want string }{
			{"test_input_required_result_elicitation", wantElicited},
			{"test_input_required_result_multi_round", wantMulti},
			{"test_input_required_result_sampling", wantSampled},
			{"test_input_required_result_list_roots", wantRoots},
		} {
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tt.tool})
			if err != nil || textOf(res) != tt.want {
				t.Errorf("CallTool(%s) = %v, %v; want %q", tt.tool, res, err, tt.want)
			}
		}
		if got := collect(t, "client requests", g.asked, 4); len(got) != 4 {
			t.Errorf("the client was asked %q", got)
		}
	}
	if s := g.stderr.String(); strings.Count(s, "\n") != 1 {
		t.Errorf("proxy stderr = %q, want its one start line", s)
	}
}
