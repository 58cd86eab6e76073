package emulatortest

// The contract suite: every end-to-end behaviour our tests rely on from
// the emulator, checked under lambdatest and under AWS's Runtime Interface
// Emulator (RIE, aws-lambda-rie v0.0.0-20261030222936-bef5c4ba774d).
//
// Differences found between the two, and what was done about each:
//
//  1. Buffered response limit: the RIE (like Lambda, whose error message
//     names it) allows 6,291,556 bytes (6 MiB + 100); lambdatest allowed
//     6 MiB. Fixed in lambdatest (MaxResponse); checked by
//     TestContract/*/response_limit.
//  2. Function errors: the RIE's invocation route has no
//     X-Amz-Function-Error header; a handled error is a 200 whose body is
//     the error document, a crash or a panic a 502. Lambda and lambdatest
//     answer 200 with X-Amz-Function-Error: Unhandled. Kept: the RIE is a
//     test harness, not the Invoke API; the suite compares error
//     documents (the RIE Function reads them as function errors).
//  3. Timeouts: the RIE answers 200 with the text "Task timed out after
//     N.00 seconds"; Lambda and lambdatest answer a Sandbox.Timedout error
//     document ("RequestId: ... Error: Task timed out after N.00
//     seconds"). Kept; both kill and replace the runtime.
//  4. A runtime that exits during init without posting an init error: the
//     RIE answers 502 with an empty body; lambdatest answers Lambda's
//     Runtime.ExitError document. Kept (Lambda's document is more
//     useful); both retry init on the next invocation.
//  5. Concurrency: a second invocation while one runs makes the RIE panic
//     (a nil pointer after ErrAlreadyReserved), so the RIE Function queues
//     invocations. lambdatest runs a pool of instances; concurrency,
//     throttling and queueing stay on lambdatest's own tests.
//  6. Response streaming: the RIE buffers a streamed response and returns
//     it whole; lambdatest streams it (InvokeWithResponseStream, function
//     URL in RESPONSE_STREAM mode). Stays on lambdatest's tests.
//  7. REPORT line: the RIE reports Max Memory Used = Memory Size (it does
//     not measure), puts Init Duration first, counts init in a cold
//     start's Duration and measures Init Duration as ~0. lambdatest
//     measures memory (the whole process tree), reports init separately
//     as Lambda does, and bills init on cold starts. Kept.
//  8. Environment: the RIE passes its own environment to the function and
//     sets few of Lambda's variables (no AWS_EXECUTION_ENV,
//     LAMBDA_TASK_ROOT, TZ unless set); lambdatest sets Lambda's and
//     nothing else. Kept: the RIE Function gives it a minimal environment.
//  9. Request size: the RIE takes any request; Lambda refuses over 6 MB
//     (lambdatest: ErrRequestTooLarge). The RIE Function checks it.
// 10. aws-lambda-go's internal extension (WithEnableSIGTERM) subscribes to
//     no event: the RIE never answers its /event/next; lambdatest sent it
//     a SHUTDOWN event, and aws-lambda-go logged "Reached expected
//     unreachable code!" on every shutdown. Fixed in lambdatest; checked by
//     TestContract/*/sigterm.
//
// 11. Asynchronous invocations: the RIE has none (and one invocation at a
//     time), so a function cannot invoke itself to run a task (package
//     tasks/lambdaexec); lambdatest's Invoke API queues Event invocations
//     on any free instance. Kept: the tasks-* conformance scenarios are
//     expected failures under the RIE (testdata/rie-expected-failures.txt)
//     and pass under lambdatest (Config.SelfInvoke).
//
// Common to both and unlike Lambda: SIGTERM reaches the runtime at
// shutdown even when no extension registered (Lambda then sends SIGKILL
// only). Not changed here.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/conformancetest"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/lambdatest"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "emulatortest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bootstraps are built once, on first use.
var (
	buildOnce sync.Once
	buildErr  error
)

// bin returns the path of a bootstrap: conformance, time, behave,
// initfail, bootstrap (the stdio adapter) or echoserver.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		root := testtools.RepoRoot()
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", binDir+string(filepath.Separator),
			"./examples/conformance", "./examples/time", "./lambdatest/testdata/behave", "./lambdatest/testdata/initfail",
			"./stdio/testdata/bootstrap", "./stdio/testdata/echoserver")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building the bootstraps: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// outcome is an invocation's result, the same way for both emulators.
type outcome struct {
	FunctionError bool
	ErrorType     string // of the error document
	Message       string // its errorMessage
	Payload       string // on success
}

func invoke(t *testing.T, fn Function, payload, clientContext string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := fn.InvokeWith(ctx, []byte(payload), clientContext)
	if err != nil {
		t.Fatalf("Invoke(%.100s): %v\noutput:\n%s", payload, err, fn.Output())
	}
	o := outcome{FunctionError: resp.FunctionError != ""}
	if !o.FunctionError {
		o.Payload = string(resp.Payload)
		return o
	}
	var doc struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	_ = json.Unmarshal(resp.Payload, &doc)
	o.ErrorType, o.Message = doc.Type, doc.Message
	return o
}

// TestContract runs the suite under each emulator.
func TestContract(t *testing.T) {
	testtools.RIE(t) // skip (or fail under MCPLAMBDA_REQUIRE_TOOLS) first
	for _, em := range Emulators {
		t.Run(em.Name(), func(t *testing.T) {
			t.Parallel()
			t.Run("conformance", func(t *testing.T) { testConformance(t, em) })
			t.Run("direct_invoke", func(t *testing.T) { testDirectInvoke(t, em) })
			t.Run("stdio", func(t *testing.T) { testStdio(t, em) })
			t.Run("init_error", func(t *testing.T) { testInitError(t, em) })
			t.Run("errors", func(t *testing.T) { testErrors(t, em) })
			t.Run("response_limit", func(t *testing.T) { testResponseLimit(t, em) })
			t.Run("sigterm", func(t *testing.T) { testSIGTERM(t, em) })
		})
	}
}

// testConformance runs the official MCP conformance suite through a
// function URL and a REST API front door (the same front door code for
// both emulators), against the same baseline as local serving, plus what
// fails without sessions (AWS's emulator runs one invocation at a time,
// so a client's answer could never meet the call waiting for it), plus,
// for the RIE, the tasks it cannot run (difference 11).
func testConformance(t *testing.T, em Emulator) {
	if testing.Short() {
		t.Skip("runs the conformance suite")
	}
	testtools.Conformance(t)
	testdata := filepath.Join(testtools.RepoRoot(), "examples", "conformance", "testdata")
	baseline := []string{filepath.Join(testdata, "expected-failures.txt"), filepath.Join(testdata, "expected-failures-unreachable.txt")}
	if em.Name() == "rie" {
		baseline = append(baseline, filepath.Join("testdata", "rie-expected-failures.txt"))
	}
	fn := em.Start(t, bin(t, "conformance"), &Config{Timeout: 10 * time.Second, SelfInvoke: true})
	for _, door := range []lambdatest.FrontDoor{lambdatest.FunctionURL, lambdatest.RESTAPI} {
		t.Run(string(door), func(t *testing.T) {
			srv := httptest.NewServer(loopbackOnly(lambdatest.NewFrontDoor(fn, door, nil)))
			defer srv.Close()
			url := srv.URL + "/mcp"
			if door == lambdatest.RESTAPI {
				url = srv.URL + "/prod/mcp"
			}
			conformancetest.Check(t, url, baseline...)
		})
	}
}

// loopbackOnly refuses requests whose Host is not a loopback name, as
// "mcplambda dev" does on its loopback listener (the suite checks DNS
// rebinding protection; a front door in AWS is not on loopback).
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if ip := net.ParseIP(strings.Trim(host, "[]")); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "Forbidden: invalid Host header", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// testDirectInvoke sends a JSON-RPC message, and an Amazon Bedrock
// AgentCore Gateway payload (the tool's arguments, the tool's name in the
// client context), to examples/time.
func testDirectInvoke(t *testing.T, em Emulator) {
	fn := em.Start(t, bin(t, "time"), nil)
	got := invoke(t, fn, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"UTC"}}}`, "")
	var rpc struct {
		ID     int `json:"id"`
		Result struct {
			StructuredContent struct {
				Timezone string `json:"timezone"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if got.FunctionError || json.Unmarshal([]byte(got.Payload), &rpc) != nil || rpc.ID != 7 || rpc.Result.StructuredContent.Timezone != "UTC" {
		t.Errorf("direct invoke tools/call = %+v, want the JSON-RPC result for id 7 in UTC", got)
	}
	got = invoke(t, fn, `{"timezone":"Asia/Kolkata"}`, `{"custom":{"bedrockAgentCoreToolName":"time-target___get_current_time"}}`)
	var res struct {
		StructuredContent struct {
			Timezone string `json:"timezone"`
		} `json:"structuredContent"`
	}
	if got.FunctionError || json.Unmarshal([]byte(got.Payload), &res) != nil || res.StructuredContent.Timezone != "Asia/Kolkata" {
		t.Errorf("AgentCore invoke = %+v, want a CallToolResult in Asia/Kolkata", got)
	}
}

func callTool(id int, name string) string {
	args := `{}`
	if name == "echo" {
		args = `{"message":"hi"}`
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, name, args)
}

// testStdio runs the stdio adapter with a real child: a call, a tool that
// overruns the deadline (the adapter answers a JSON-RPC error before the
// function times out, and restarts the child), and a call after it.
func testStdio(t *testing.T, em Emulator) {
	fn := em.Start(t, bin(t, "bootstrap"), &Config{Timeout: 2 * time.Second, Env: []string{"MCPLAMBDA_COMMAND=" + bin(t, "echoserver")}})
	want := outcome{Payload: `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Echo: hi"}]}}`}
	if diff := cmp.Diff(want, invoke(t, fn, callTool(1, "echo"), "")); diff != "" {
		t.Errorf("echo (-want +got):\n%s", diff)
	}
	before := invoke(t, fn, callTool(2, "pid"), "")
	hang := invoke(t, fn, callTool(3, "hang"), "")
	if hang.FunctionError || !strings.Contains(hang.Payload, `"code":-32603`) || !strings.Contains(hang.Payload, "did not answer in time") {
		t.Errorf("hang = %+v, want a -32603 JSON-RPC error before the function's deadline", hang)
	}
	after := invoke(t, fn, callTool(4, "pid"), "")
	if before.FunctionError || after.FunctionError || strings.Contains(after.Payload, "isError") || before.Payload == after.Payload {
		t.Errorf("pid before and after the hang: %+v, %+v; want a restarted server", before, after)
	}
}

// testInitError: a runtime that posts an init error, and one that exits
// during init; init is retried on the next invocation.
func testInitError(t *testing.T, em Emulator) {
	fn := em.Start(t, bin(t, "initfail"), &Config{Env: []string{"INIT_MODE=post"}})
	want := outcome{FunctionError: true, ErrorType: "Runtime.InitError", Message: "config missing"}
	for i := range 2 {
		if diff := cmp.Diff(want, invoke(t, fn, `{}`, "")); diff != "" {
			t.Errorf("invocation %d after an init error (-want +got):\n%s", i+1, diff)
		}
	}
	fn = em.Start(t, bin(t, "initfail"), nil)
	got := invoke(t, fn, `{}`, "")
	if !got.FunctionError {
		t.Errorf("invocation of a runtime that exits during init = %+v, want a function error", got)
	}
	// Difference 4: the RIE's answer has no body.
	if _, ok := em.(Lambdatest); ok && (got.ErrorType != "Runtime.ExitError" || !strings.Contains(got.Message, "Runtime exited with error: exit status 3")) {
		t.Errorf("invocation of a runtime that exits during init = %+v, want Runtime.ExitError with exit status 3", got)
	}
}

// testErrors: a handled error, a panic, a crash and a timeout are function
// errors, and the function works again after each.
func testErrors(t *testing.T, em Emulator) {
	fn := em.Start(t, bin(t, "behave"), &Config{Timeout: time.Second})
	tests := []struct {
		payload string
		want    outcome
	}{
		{`{"op":"error","message":"boom"}`, outcome{FunctionError: true, ErrorType: "myError", Message: "boom"}},
		{`{"op":"panic","message":"pan"}`, outcome{FunctionError: true, ErrorType: "string", Message: "pan"}},
		{`{"op":"crash","code":4}`, outcome{FunctionError: true, ErrorType: "Runtime.ExitError", Message: "Runtime exited with error: exit status 4"}},
		{`{"op":"sleep","ms":1500}`, outcome{FunctionError: true, ErrorType: "Sandbox.Timedout", Message: "Task timed out after 1.00 seconds"}},
	}
	for _, tt := range tests {
		got := invoke(t, fn, tt.payload, "")
		// The messages of the emulator's own errors start with the request
		// id (lambdatest, as Lambda) or nothing (RIE, difference 3).
		if i := strings.Index(got.Message, "Error: "); i >= 0 && strings.HasPrefix(got.Message, "RequestId: ") {
			got.Message = got.Message[i+len("Error: "):]
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Invoke(%s) (-want +got):\n%s", tt.payload, diff)
		}
		if got := invoke(t, fn, `{"op":"echo","data":1}`, ""); got != (outcome{Payload: "1"}) {
			t.Errorf("Invoke(echo) after %s = %+v, want 1", tt.payload, got)
		}
	}
}

// testResponseLimit: 6,291,556 bytes pass, one more is
// Function.ResponseSizeTooLarge.
func testResponseLimit(t *testing.T, em Emulator) {
	fn := em.Start(t, bin(t, "behave"), nil)
	if got := invoke(t, fn, fmt.Sprintf(`{"op":"big","code":%d}`, lambdatest.MaxResponse), ""); got.FunctionError || len(got.Payload) != lambdatest.MaxResponse {
		t.Errorf("a response of %d bytes = %s %.100s, want it whole", lambdatest.MaxResponse, got.ErrorType, got.Message)
	}
	want := outcome{FunctionError: true, ErrorType: "Function.ResponseSizeTooLarge",
		Message: "Response payload size exceeded maximum allowed payload size (6291556 bytes)."}
	if diff := cmp.Diff(want, invoke(t, fn, fmt.Sprintf(`{"op":"big","code":%d}`, lambdatest.MaxResponse+1), "")); diff != "" {
		t.Errorf("a response of %d bytes (-want +got):\n%s", lambdatest.MaxResponse+1, diff)
	}
}

// testSIGTERM: at shutdown the runtime gets SIGTERM: aws-lambda-go runs
// its SIGTERM handler (stdio.Run closes the server's stdin, then SIGTERM,
// then SIGKILL), and its internal extension stays quiet.
func testSIGTERM(t *testing.T, em Emulator) {
	fn := em.Start(t, bin(t, "bootstrap"), &Config{Env: []string{"MCPLAMBDA_COMMAND=" + bin(t, "echoserver"), `MCPLAMBDA_ARGS=["-ignore-stdin-close"]`}})
	if got := invoke(t, fn, callTool(1, "echo"), ""); got.FunctionError {
		t.Fatalf("echo = %+v", got)
	}
	if err := fn.Close(); err != nil {
		t.Fatal(err)
	}
	out := fn.Output()
	for _, want := range []string{"stdin closed; staying up on purpose", "ignored stdin close and SIGTERM; killing it"} {
		if !strings.Contains(out, want) {
			t.Errorf("output after shutdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "unreachable code") {
		t.Errorf("aws-lambda-go's internal extension was woken at shutdown:\n%s", out)
	}
}
