package invoke_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/invoke"
	"github.com/mcplambda/mcplambda/lambdatest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tests run the fixture bootstrap (testdata/fixture) under the
// lambdatest emulator, and call it with the real AWS SDK Lambda client
// through the emulator's Invoke API.

var fixture string // the fixture bootstrap, built by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invoke-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixture = filepath.Join(dir, "fixture")
	out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", fixture, "./testdata/fixture").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building the fixture: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newFunction runs the fixture under the emulator and returns the URL of
// its Invoke API. mode "reference" makes it answer like the reference
// project's stdio adapter.
func newFunction(t *testing.T, name, mode string, opts *lambdatest.Options) string {
	t.Helper()
	if opts == nil {
		opts = &lambdatest.Options{}
	}
	opts.FunctionName = name
	opts.Aliases = []string{"live"}
	opts.Timeout = 30 * time.Second
	if mode != "" {
		opts.Env = append(opts.Env, "FIXTURE_MODE="+mode)
	}
	return newFunctionAt(t, fixture, opts)
}

// newFunctionAt runs bootstrap under the emulator and returns the URL of
// its Invoke API.
func newFunctionAt(t *testing.T, bootstrap string, opts *lambdatest.Options) string {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	opts.Stdout, opts.Stderr = t.Output(), t.Output() // shown when a test fails
	f, err := lambdatest.NewFunction(bootstrap, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(lambdatest.NewInvokeAPI(f))
	t.Cleanup(func() {
		srv.Close()
		f.Close()
	})
	return srv.URL
}

// newClient returns a real AWS SDK Lambda client for the Invoke API at url.
func newClient(url string) *lambda.Client {
	return lambda.New(lambda.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secrettest", ""),
	})
}

func connect(t *testing.T, function string, opts *invoke.Options, version string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "invoke-test", Version: "v1"}, nil)
	cs, err := client.Connect(context.Background(), invoke.NewTransport(function, opts), &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("Connect(%s, %s): %v", function, version, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// TestServers is the transport's contract, against a native mcplambda
// function and a function answering like the reference stdio adapter, in
// both protocol eras.
func TestServers(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"native", "reference"} {
		url := newFunction(t, mode, mode, nil)
		for _, version := range []string{"2026-07-28", "2025-11-25"} {
			t.Run(mode+"/"+version, func(t *testing.T) {
				cs := connect(t, mode, &invoke.Options{Client: newClient(url)}, version)
				if got := cs.InitializeResult().ServerInfo.Name; got != "fixture" {
					t.Errorf("server name = %q, want fixture", got)
				}
				if mode == "native" {
					if got := cs.InitializeResult().ProtocolVersion; got != version {
						t.Errorf("negotiated version = %q, want %q", got, version)
					}
				}
				tools, err := cs.ListTools(context.Background(), nil)
				if err != nil {
					t.Fatalf("ListTools: %v", err)
				}
				var names []string
				for _, tool := range tools.Tools {
					names = append(names, tool.Name)
				}
				if diff := cmp.Diff([]string{"big", "echo", "exit", "fail", "wait"}, names); diff != "" {
					t.Errorf("ListTools() names (-want +got):\n%s", diff)
				}
				res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "héllo"}})
				if err != nil {
					t.Fatalf("CallTool(echo): %v", err)
				}
				if got := text(res); got != "héllo" || res.IsError {
					t.Errorf("CallTool(echo) = %q, isError %v, want %q", got, res.IsError, "héllo")
				}
				res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "fail"})
				if err != nil {
					t.Fatalf("CallTool(fail): %v", err)
				}
				if !res.IsError || !strings.Contains(text(res), "it failed") {
					t.Errorf("CallTool(fail) = %q, isError %v, want an isError result", text(res), res.IsError)
				}
				_, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "nope"})
				if err == nil {
					t.Errorf("CallTool(nope) = nil error, want a JSON-RPC error")
				}
			})
		}
	}
}

func TestQualifier(t *testing.T) {
	t.Parallel()
	url := newFunction(t, "fn", "", nil)
	client := newClient(url)
	tests := []struct {
		function, qualifier string
		wantErr             string
	}{
		{"fn", "", ""},
		{"fn", "live", ""},
		{"fn:live", "", ""},
		{"arn:aws:lambda:us-east-1:123456789012:function:fn:live", "", ""},
		{"fn", "v7", "ResourceNotFoundException"},
		{"other", "", "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.function+"@"+tt.qualifier, func(t *testing.T) {
			c := mcp.NewClient(&mcp.Implementation{Name: "invoke-test", Version: "v1"}, nil)
			cs, err := c.Connect(context.Background(), invoke.NewTransport(tt.function, &invoke.Options{Client: client, Qualifier: tt.qualifier}), nil)
			if err == nil {
				cs.Close()
			}
			if tt.wantErr == "" && err != nil {
				t.Errorf("Connect(%s, qualifier %q) = %v, want success", tt.function, tt.qualifier, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Connect(%s, qualifier %q) = %v, want an error with %q", tt.function, tt.qualifier, err, tt.wantErr)
			}
		})
	}
}

// TestFunctionErrors checks that an invocation's failure fails its request
// only, with a clear error, and the session goes on.
func TestFunctionErrors(t *testing.T) {
	t.Parallel()
	url := newFunction(t, "fn", "", nil)
	cs := connect(t, "fn", &invoke.Options{Client: newClient(url)}, "")
	ctx := context.Background()

	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "exit"})
	var fe *invoke.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" || fe.Kind != "Unhandled" {
		t.Errorf("CallTool(exit) = %v, want a FunctionError of type Runtime.ExitError", err)
	}

	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "big", Arguments: map[string]any{"bytes": invoke.MaxPayload + 1}})
	if !errors.Is(err, invoke.ErrPayloadTooLarge) || !errors.As(err, &fe) || fe.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("CallTool(big) = %v, want ErrPayloadTooLarge from Function.ResponseSizeTooLarge", err)
	}

	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": strings.Repeat("x", invoke.MaxPayload)}})
	if !errors.Is(err, invoke.ErrPayloadTooLarge) {
		t.Errorf("CallTool(echo, 6 MB) = %v, want ErrPayloadTooLarge", err)
	}

	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "still here"}})
	if err != nil || text(res) != "still here" {
		t.Errorf("CallTool(echo) after the errors = %v, %v, want the session to work", res, err)
	}
}

// statusRecorder wraps an Invoke API and reports each response status.
func statusRecorder(h http.Handler, statuses chan<- int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(rec, r)
		select {
		case statuses <- rec.status:
		default:
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// TestThrottling runs a function with one instance that throttles: a
// request while the instance is busy is retried, and fails with
// ErrThrottled when it stays busy, or succeeds once it is free.
func TestThrottling(t *testing.T) {
	t.Parallel()
	f, err := lambdatest.NewFunction(fixture, &lambdatest.Options{FunctionName: "fn", Throttle: true, Timeout: 30 * time.Second, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	statuses := make(chan int, 100)
	srv := httptest.NewServer(statusRecorder(lambdatest.NewInvokeAPI(f), statuses))
	defer srv.Close()
	client := newClient(srv.URL)
	ctx := context.Background()
	// Both eras: the second connects with initialize, which gives the
	// busy test a warm, idle instance first.
	cs := connect(t, "fn", &invoke.Options{Client: client, MaxAttempts: 3, MaxBackoff: time.Millisecond}, "")
	for len(statuses) > 0 {
		<-statuses
	}

	g := testtools.NewGate(t)
	busy := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{"gate": g.URL}})
		busy <- err
	}()
	<-g.Entered

	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if !errors.Is(err, invoke.ErrThrottled) {
		t.Errorf("CallTool while busy = %v, want ErrThrottled", err)
	}
	var got []int
	for len(statuses) > 0 {
		got = append(got, <-statuses)
	}
	if diff := cmp.Diff([]int{429, 429, 429}, got); diff != "" {
		t.Errorf("Invoke API statuses for a throttled call with MaxAttempts 3 (-want +got):\n%s", diff)
	}

	// Now with retries that outlast the busy instance: open the gate at the
	// first 429, and the retry succeeds.
	g.Open() // release the first wait call
	if err := <-busy; err != nil {
		t.Errorf("the first busy call failed: %v", err)
	}
	cs2 := connect(t, "fn", &invoke.Options{Client: client, MaxAttempts: 50, MaxBackoff: 50 * time.Millisecond}, "")
	g2 := testtools.NewGate(t)
	busy2 := make(chan error, 1)
	go func() {
		_, err := cs2.CallTool(ctx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{"gate": g2.URL}})
		busy2 <- err
	}()
	<-g2.Entered
	for len(statuses) > 0 {
		<-statuses
	}
	var throttled atomic.Bool
	go func() {
		for s := range statuses {
			if s == 429 && !throttled.Swap(true) {
				g2.Open()
			}
		}
	}()
	res, err := cs2.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "after"}})
	if err != nil || text(res) != "after" {
		t.Errorf("CallTool with retries = %v, %v, want success after the instance is free", res, err)
	}
	if !throttled.Load() {
		t.Errorf("the call was never throttled")
	}
	if err := <-busy2; err != nil {
		t.Errorf("the busy call failed: %v", err)
	}
}

// TestAPIErrors checks how the Invoke API's errors read, with the real SDK
// client against canned AWS error responses.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		errType    string
		wantIs     error
		wantCalls  int32
		wantSubstr string
	}{
		{"throttled", 429, "TooManyRequestsException", invoke.ErrThrottled, 4, "after 4 attempts"},
		{"request too large", 413, "RequestTooLargeException", invoke.ErrPayloadTooLarge, 1, "RequestTooLargeException"},
		{"not found", 404, "ResourceNotFoundException", nil, 1, "invoke: function fn: ResourceNotFoundException: canned"},
		{"access denied", 403, "AccessDeniedException", nil, 1, "AccessDeniedException: canned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("X-Amzn-ErrorType", tt.errType)
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `{"Type":"User","message":"canned"}`)
			}))
			defer srv.Close()
			c := mcp.NewClient(&mcp.Implementation{Name: "invoke-test", Version: "v1"}, nil)
			_, err := c.Connect(context.Background(), invoke.NewTransport("fn", &invoke.Options{Client: newClient(srv.URL), MaxAttempts: 4, MaxBackoff: time.Millisecond}),
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err == nil {
				t.Fatal("Connect succeeded, want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Connect() = %v, want errors.Is %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantSubstr) {
				t.Errorf("Connect() = %q, want it to contain %q", err, tt.wantSubstr)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("Invoke API calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

// TestBadPayloads checks responses that are not one JSON-RPC response.
func TestBadPayloads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, payload, wantSubstr string
	}{
		{"empty object", `{}`, "no response"},
		{"not JSON-RPC", `{"hello":1}`, "not a JSON-RPC response"},
		{"batch", `[{"jsonrpc":"2.0","id":1,"result":{}}]`, "not a JSON-RPC response"},
		{"request", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, "a request, not a response"},
		{"other id", `{"jsonrpc":"2.0","id":999,"result":{}}`, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.payload)
			}))
			defer srv.Close()
			c := mcp.NewClient(&mcp.Implementation{Name: "invoke-test", Version: "v1"}, nil)
			_, err := c.Connect(context.Background(), invoke.NewTransport("fn", &invoke.Options{Client: newClient(srv.URL)}),
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err == nil || !strings.Contains(err.Error(), tt.wantSubstr) {
				t.Errorf("Connect() = %v, want an error with %q", err, tt.wantSubstr)
			}
		})
	}
}
