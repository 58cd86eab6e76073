package lambdaexec_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/mcplambda/mcplambda/tasks/lambdaexec"
)

// build builds examples/conformance for Lambda, once, into buildDir.
var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lambdaexec-test-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin := filepath.Join(dir, "bootstrap")
	if out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../../examples/conformance").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

var buildDir string // set by build

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// startFunction runs examples/conformance under lambdatest with 2
// instances, the alias "live", an Invoke API the function can reach
// (AWS_ENDPOINT_URL_LAMBDA) and a state directory its instances share. It
// returns the function and the Invoke API's URL.
func startFunction(t *testing.T) (*lambdatest.Function, string) {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	var api atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*api.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	fn, err := lambdatest.NewFunction(bin, &lambdatest.Options{
		FunctionName: "conformance",
		Instances:    2,
		Timeout:      10 * time.Second,
		Aliases:      []string{"live"},
		Env: []string{
			"MCPLAMBDA_STATE_DIR=" + t.TempDir(),
			"AWS_ENDPOINT_URL_LAMBDA=" + srv.URL,
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fn.Close() })
	h := lambdatest.NewInvokeAPI(fn)
	api.Store(&h)
	return fn, srv.URL
}

// rpc sends a 2026-07-28 JSON-RPC request declaring the tasks extension as
// a direct invocation, and returns its result or error.
func rpc(t *testing.T, fn *lambdatest.Function, method string, params map[string]any) (json.RawMessage, *tasks.Error) {
	t.Helper()
	params["_meta"] = map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "test", "version": "1"},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{"extensions": map[string]any{tasks.Extension: map[string]any{}}},
	}
	payload, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := fn.Invoke(context.Background(), payload)
	if err != nil || resp.FunctionError != "" {
		t.Fatalf("Invoke(%s) = %s, %v", method, resp.Payload, err)
	}
	var msg struct {
		Result json.RawMessage
		Error  *tasks.Error
	}
	if err := json.Unmarshal(resp.Payload, &msg); err != nil {
		t.Fatalf("Invoke(%s) = %s: %v", method, resp.Payload, err)
	}
	return msg.Result, msg.Error
}

// TestSelfInvocation runs a task the Lambda way under lambdatest: the
// invocation that creates it returns at once, the executor invokes the
// function asynchronously with the run, and the run's result is read back
// with tasks/get; a forged run is a function error.
func TestSelfInvocation(t *testing.T) {
	t.Parallel()
	fn, _ := startFunction(t)
	res, rpcErr := rpc(t, fn, "tools/call", map[string]any{"name": "slow_compute", "arguments": map[string]any{"seconds": 0.3, "label": "exec"}})
	var task tasks.Task
	if rpcErr != nil || json.Unmarshal(res, &task) != nil || task.ResultType != "task" {
		t.Fatalf("tools/call = %s, %v; want a CreateTaskResult", res, rpcErr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !task.Status.Terminal() {
		if time.Now().After(deadline) {
			t.Fatalf("task still %s after 10s", task.Status)
		}
		time.Sleep(50 * time.Millisecond)
		res, rpcErr := rpc(t, fn, tasks.MethodGet, map[string]any{"taskId": task.TaskID})
		if rpcErr != nil || json.Unmarshal(res, &task) != nil {
			t.Fatalf("tasks/get = %s, %v", res, rpcErr)
		}
	}
	if task.Status != tasks.Completed || !strings.Contains(string(task.Result), "slow_compute exec: done after 0.3 s") {
		t.Fatalf("task = %+v, want completed", task)
	}

	forged, _ := json.Marshal(map[string]tasks.Run{tasks.RunEvent: {TaskID: task.TaskID, Token: "forged"}})
	resp, err := fn.Invoke(context.Background(), forged)
	if err != nil || resp.FunctionError == "" || !strings.Contains(string(resp.Payload), "run refused") {
		t.Errorf("Invoke(forged run) = %s (function error %q), %v; want a function error, run refused", resp.Payload, resp.FunctionError, err)
	}
}

// TestStart hands runs to the Invoke API with the real SDK client: an
// asynchronous invocation of the function, with its qualifier; an unknown
// one is an error.
func TestStart(t *testing.T) {
	t.Parallel()
	_, url := startFunction(t)
	client := lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	for _, tt := range []struct {
		qualifier string
		wantErr   string
	}{
		{"", ""},
		{"live", ""},
		{"nope", "ResourceNotFoundException"},
	} {
		e, err := lambdaexec.New(client, &lambdaexec.Options{Function: "conformance", Qualifier: tt.qualifier})
		if err != nil {
			t.Fatal(err)
		}
		err = e.Start(context.Background(), tasks.Run{TaskID: "unknown-task", Token: "t"})
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Start with qualifier %q = %v, want %q", tt.qualifier, err, tt.wantErr)
		}
	}
}

// TestNewFromEnv resolves the function and its version from Lambda's
// environment.
func TestNewFromEnv(t *testing.T) {
	client := lambda.New(lambda.Options{Region: "us-east-1"})
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	if e, err := lambdaexec.FromEnv(context.Background(), nil); e != nil || err != nil {
		t.Errorf("FromEnv outside Lambda = %v, %v; want nil, nil (goroutines)", e, err)
	}
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
	if _, err := lambdaexec.New(client, nil); !errors.Is(err, lambdaexec.ErrNoFunction) {
		t.Errorf("New without a function = %v, want ErrNoFunction", err)
	}
	for _, tt := range []struct {
		version string
		opts    *lambdaexec.Options
		want    []string // function, qualifier
	}{
		{"$LATEST", nil, []string{"fn", ""}},
		{"7", nil, []string{"fn", "7"}},
		{"7", &lambdaexec.Options{Qualifier: "live"}, []string{"fn", "live"}},
		{"7", &lambdaexec.Options{Function: "other"}, []string{"other", ""}},
	} {
		t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
		t.Setenv("AWS_LAMBDA_FUNCTION_VERSION", tt.version)
		e, err := lambdaexec.New(client, tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, []string{e.Function(), e.Qualifier()}); diff != "" {
			t.Errorf("version %s, options %+v (-want +got):\n%s", tt.version, tt.opts, diff)
		}
	}
}
