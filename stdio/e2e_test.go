package stdio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var (
	bootstrapOnce sync.Once
	bootstrapPath string
	bootstrapErr  error
)

// bootstrap builds testdata/bootstrap (the no-code mode) as a Lambda
// bootstrap.
func bootstrap(t *testing.T) string {
	t.Helper()
	bootstrapOnce.Do(func() {
		bootstrapPath = filepath.Join(binDir, "bootstrap")
		out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrapPath, "./testdata/bootstrap").CombinedOutput()
		if err != nil {
			bootstrapErr = fmt.Errorf("building bootstrap: %v\n%s", err, out)
		}
	})
	if bootstrapErr != nil {
		t.Fatal(bootstrapErr)
	}
	return bootstrapPath
}

// newFunction runs the no-code bootstrap under the emulator with the
// echo server as its MCP server.
func newFunction(t *testing.T, opts lambdatest.Options, env ...string) (*lambdatest.Function, *syncBuffer) {
	t.Helper()
	out := new(syncBuffer)
	opts.Stdout, opts.Stderr = out, out
	opts.Env = append([]string{"MCPLAMBDA_COMMAND=" + echoServer}, env...)
	f, err := lambdatest.NewFunction(bootstrap(t), &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, out
}

func invokeFunction(t *testing.T, f *lambdatest.Function, payload string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := f.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	if resp.FunctionError != "" {
		t.Fatalf("Invoke(%s): function error %s", payload, resp.Payload)
	}
	return string(resp.Payload)
}

// TestLambdaDirectInvoke runs the real bootstrap under the emulator and
// invokes it with JSON-RPC payloads, as the reference project's clients
// do; the payloads and responses have the reference project's shape.
func TestLambdaDirectInvoke(t *testing.T) {
	t.Parallel()
	fake := &ssmFake{values: map[string]string{"/test/secret": "from-ssm"}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	f, out := newFunction(t, lambdatest.Options{Timeout: 3 * time.Second},
		`MCPLAMBDA_ENV={"SECRET":"ssm:/test/secret","PLAIN":"plain"}`,
		"AWS_ENDPOINT_URL_SSM="+srv.URL, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")

	tests := []struct {
		name, payload, want string
	}{
		{"tools/call", callTool(1, "echo", map[string]string{"message": "hi"}), `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Echo: hi"}]}}`},
		{"string id", `{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"echo","arguments":{"message":"s"}}}`, `{"jsonrpc":"2.0","id":"abc","result":{"content":[{"type":"text","text":"Echo: s"}]}}`},
		{"notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, `{}`},
		{"secret from ssm", callTool(2, "env", map[string]string{"name": "SECRET"}), `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"from-ssm"}]}}`},
		{"plain env", callTool(3, "env", map[string]string{"name": "PLAIN"}), `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"plain"}]}}`},
		{"adapter variables hidden", callTool(4, "env", map[string]string{"name": "MCPLAMBDA_COMMAND"}), `{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":""}]}}`},
		{"prompts/get", `{"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"greet","arguments":{"name":"Li"}}}`, `{"jsonrpc":"2.0","id":5,"result":{"messages":[{"content":{"type":"text","text":"Hello, Li!"},"role":"user"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := invokeFunction(t, f, tt.payload); got != tt.want {
				t.Errorf("Invoke(%s)\n got %s\nwant %s", tt.payload, got, tt.want)
			}
		})
	}
	if strings.Contains(out.String(), "from-ssm") {
		t.Errorf("the function log reveals the secret:\n%s", out)
	}

	t.Run("AgentCore Gateway target", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := f.InvokeWith(ctx, []byte(`{"message":"gateway"}`), &lambdatest.InvokeOptions{ClientContext: `{"custom":{"bedrockAgentCoreToolName":"echo-target___echo"}}`})
		if err != nil || resp.FunctionError != "" {
			t.Fatalf("InvokeWith(AgentCore) = %+v, %v", resp, err)
		}
		if got, want := string(resp.Payload), `{"content":[{"type":"text","text":"Echo: gateway"}]}`; got != want {
			t.Errorf("AgentCore result %s, want %s", got, want)
		}
	})
	t.Run("batch", func(t *testing.T) {
		got := invokeFunction(t, f, "["+callTool(11, "echo", map[string]string{"message": "a"})+","+callTool(12, "echo", map[string]string{"message": "b"})+"]")
		var rs []rpcResponse
		if err := json.Unmarshal([]byte(got), &rs); err != nil || len(rs) != 2 {
			t.Fatalf("batch response %s: %v", got, err)
		}
		texts := map[string]string{}
		for _, r := range rs {
			texts[string(r.ID)] = toolText(t, r)
		}
		if texts["11"] != "Echo: a" || texts["12"] != "Echo: b" {
			t.Errorf("batch response %s", got)
		}
	})
	t.Run("hang then recover", func(t *testing.T) {
		before := invokeFunction(t, f, callTool(6, "pid", nil))
		got := invokeFunction(t, f, callTool(7, "hang", nil))
		if !strings.Contains(got, `"code":-32603`) || !strings.Contains(got, "did not answer in time") {
			t.Errorf("hang: %s, want a -32603 timeout error before the function times out", got)
		}
		after := invokeFunction(t, f, callTool(8, "pid", nil))
		if before == after {
			t.Errorf("pid before and after the hang: %s, %s; want a restarted server", before, after)
		}
	})
	t.Run("crash then recover", func(t *testing.T) {
		got := invokeFunction(t, f, callTool(9, "crash", nil))
		if !strings.Contains(got, "the server process exited (exit status 3)") {
			t.Errorf("crash: %s", got)
		}
		if got := invokeFunction(t, f, callTool(10, "echo", map[string]string{"message": "again"})); !strings.Contains(got, "Echo: again") {
			t.Errorf("after crash: %s", got)
		}
	})
}

// TestLambdaFrontDoor: a go-sdk client through the emulated function URL,
// with progress notifications streamed as SSE (the URL is in
// RESPONSE_STREAM mode).
func TestLambdaFrontDoor(t *testing.T) {
	t.Parallel()
	f, _ := newFunction(t, lambdatest.Options{Timeout: 5 * time.Second}, "MCPLAMBDA_RESPONSE_STREAM=true")
	for _, door := range []lambdatest.FrontDoor{lambdatest.FunctionURL, lambdatest.HTTPAPI, lambdatest.RESTAPI} {
		t.Run(string(door), func(t *testing.T) {
			srv := httptest.NewServer(lambdatest.NewFrontDoor(f, door, nil))
			defer srv.Close()
			endpoint := srv.URL + "/mcp"
			if door == lambdatest.RESTAPI {
				endpoint = srv.URL + "/prod/mcp"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			progress := make(chan string, 10)
			client := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "v1"}, &mcp.ClientOptions{
				ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
					progress <- req.Params.Message
				},
			})
			cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, MaxRetries: -1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]string{"message": string(door)}})
			if err != nil || res.Content[0].(*mcp.TextContent).Text != "Echo: "+string(door) {
				t.Fatalf("CallTool(echo) = %v, %v", res, err)
			}
			params := &mcp.CallToolParams{Name: "progress", Arguments: map[string]int{"steps": 2}}
			params.SetProgressToken(7)
			if _, err := cs.CallTool(ctx, params); err != nil {
				t.Fatalf("CallTool(progress): %v", err)
			}
			for _, want := range []string{"step 1", "step 2"} {
				select {
				case got := <-progress:
					if got != want {
						t.Errorf("progress %q, want %q", got, want)
					}
				case <-time.After(testtools.Patience):
					t.Fatalf("no progress notification %q", want)
				}
			}
		})
	}
}

// TestLambdaInstances: a burst of concurrent requests to one instance
// (queued, as Lambda does) and to several instances, each with its own
// warm server.
func TestLambdaInstances(t *testing.T) {
	t.Parallel()
	for _, instances := range []int{1, 3} {
		t.Run(fmt.Sprint(instances), func(t *testing.T) {
			f, _ := newFunction(t, lambdatest.Options{Timeout: 10 * time.Second, Instances: instances})
			const n = 12
			var wg sync.WaitGroup
			var mu sync.Mutex
			pids := map[string]bool{}
			for i := range n {
				wg.Go(func() {
					got := invokeFunction(t, f, callTool(i, "slow", map[string]int{"ms": 20}))
					if !strings.Contains(got, "slept") {
						t.Errorf("call %d: %s", i, got)
					}
					var r rpcResponse
					json.Unmarshal([]byte(invokeFunction(t, f, callTool(i, "pid", nil))), &r)
					pid := toolText(t, r)
					mu.Lock()
					pids[pid] = true
					mu.Unlock()
				})
			}
			wg.Wait()
			if len(pids) > instances {
				t.Errorf("%d server processes for %d instances: %v", len(pids), instances, pids)
			}
		})
	}
}

// TestLambdaShutdown: on SIGTERM the adapter closes the server's stdin,
// and kills a server that stays up anyway.
func TestLambdaShutdown(t *testing.T) {
	t.Parallel()
	f, out := newFunction(t, lambdatest.Options{Timeout: 3 * time.Second}, `MCPLAMBDA_ARGS=["-ignore-stdin-close"]`)
	got := invokeFunction(t, f, callTool(1, "pid", nil))
	var r rpcResponse
	json.Unmarshal([]byte(got), &r)
	pid, err := strconv.Atoi(toolText(t, r))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !strings.Contains(out.String(), "stdin closed; staying up on purpose") {
		t.Errorf("function log:\n%s\nwant the server to have seen its stdin closed", out)
	}
	testtools.WaitGone(t, pid, "the server process after shutdown")
}

// TestLambdaGrandchildren: when the execution environment ends, gracefully
// (SIGTERM: the adapter stops its server) or not (SIGKILL before the
// adapter is done), the processes the server started end with it.
func TestLambdaGrandchildren(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		grace time.Duration // lambdatest's SIGTERM-to-SIGKILL delay
		env   []string
	}{
		{"shutdown", 5 * time.Second, nil},
		// The server stays up after its stdin closes, so the adapter is
		// still stopping it when the emulator kills the environment.
		{"killed", time.Nanosecond, []string{`MCPLAMBDA_ARGS=["-ignore-stdin-close"]`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := newFunction(t, lambdatest.Options{Timeout: 10 * time.Second, ShutdownTimeout: tt.grace}, tt.env...)
			var r rpcResponse
			json.Unmarshal([]byte(invokeFunction(t, f, callTool(1, "spawn", nil))), &r)
			pid, err := strconv.Atoi(toolText(t, r))
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			testtools.WaitGone(t, pid, "the server's grandchild")
		})
	}
}

// ssmFake answers AmazonSSM.GetParameter from a map; the function's real
// AWS SDK client talks to it through AWS_ENDPOINT_URL_SSM. (A fake
// because Parameter Store cannot run offline.)
type ssmFake struct{ values map[string]string }

func (f *ssmFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct{ Name string }
	json.Unmarshal(body, &in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	v, ok := f.values[in.Name]
	if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" || !ok {
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"ParameterNotFound"}`)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v}})
}

// TestLayerScripts runs the layer's AWS_LAMBDA_EXEC_WRAPPER script and the
// provided.al2023 bootstrap script under the emulator, with the test
// bootstrap (the no-code mode) standing in for the mcplambda binary.
func TestLayerScripts(t *testing.T) {
	t.Parallel()
	bin := bootstrap(t)
	task := t.TempDir()
	copyFile(t, bin, filepath.Join(task, "mcplambda"))
	copyFile(t, "layer/bootstrap", filepath.Join(task, "bootstrap"))
	wrapper, err := filepath.Abs("layer/mcplambda-stdio")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, exe string
		opts      lambdatest.Options
	}{
		// Lambda passes the runtime's own start command to the wrapper.
		{"exec wrapper", wrapper, lambdatest.Options{Env: []string{"MCPLAMBDA_BIN=" + bin}, Args: []string{"/var/runtime/bootstrap"}}},
		{"provided bootstrap", filepath.Join(task, "bootstrap"), lambdatest.Options{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := new(syncBuffer)
			tt.opts.Stdout, tt.opts.Stderr = out, out
			tt.opts.Env = append(tt.opts.Env, "MCPLAMBDA_COMMAND="+echoServer)
			f, err := lambdatest.NewFunction(tt.exe, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got, want := invokeFunction(t, f, callTool(1, "echo", map[string]string{"message": "layer"})), `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Echo: layer"}]}}`; got != want {
				t.Errorf("Invoke = %s, want %s\nlog:\n%s", got, want, out)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestLambdaChildCannotStart: a stdio server that cannot start makes no
// bare init failure (a 502 at the front door): every request gets a
// JSON-RPC error that says why and points at the function log.
func TestLambdaChildCannotStart(t *testing.T) {
	f, out := newFunction(t, lambdatest.Options{}, "MCPLAMBDA_COMMAND=/nonexistent/mcp-server")
	for _, payload := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`,
		callTool(2, "echo", map[string]string{"message": "x"}),
	} {
		got := invokeFunction(t, f, payload)
		var r rpcResponse
		if err := json.Unmarshal([]byte(got), &r); err != nil || r.Error == nil || r.Error.Code != -32603 ||
			!strings.Contains(r.Error.Message, "could not start") || !strings.Contains(r.Error.Message, "/nonexistent/mcp-server") || !strings.Contains(r.Error.Message, "function log") {
			t.Errorf("Invoke(%s) = %s, want a JSON-RPC error saying the server could not start", payload, got)
		}
	}
	if !strings.Contains(out.String(), "could not start") {
		t.Errorf("function log lacks the start failure:\n%s", out)
	}
}
