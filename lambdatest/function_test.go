package lambdatest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

// reports collects a Function's reports.
type reports struct {
	mu sync.Mutex
	rs []Report
}

func (r *reports) add(rep Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rs = append(r.rs, rep)
}

func (r *reports) all() []Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Report(nil), r.rs...)
}

func TestColdThenWarm(t *testing.T) {
	t.Parallel()
	var reps reports
	f := newFunction(t, "behave", &Options{OnReport: reps.add})
	first := invoke(t, f, map[string]any{"op": "pid"})
	second := invoke(t, f, map[string]any{"op": "pid"})
	if first.FunctionError != "" || second.FunctionError != "" {
		t.Fatalf("function errors: %s / %s", first.Payload, second.Payload)
	}
	if string(first.Payload) != string(second.Payload) {
		t.Errorf("pids = %s then %s, want the same instance reused", first.Payload, second.Payload)
	}
	echo := invoke(t, f, map[string]any{"op": "echo", "data": map[string]any{"a": []int{1, 2}}})
	if got, want := string(echo.Payload), `{"a":[1,2]}`; got != want {
		t.Errorf("echo payload = %s, want %s", got, want)
	}

	rs := reps.all()
	if len(rs) != 3 {
		t.Fatalf("got %d reports, want 3", len(rs))
	}
	type summary struct {
		RequestID string
		Cold      bool
		HasInit   bool
		MemoryMB  int
		Err       string
	}
	var got []summary
	for _, r := range rs {
		got = append(got, summary{r.RequestID, r.Cold, r.InitDuration > 0, r.MemoryMB, r.Err})
		billed := r.Duration + r.InitDuration // InitDuration is 0 when warm
		if r.BilledDuration < billed || r.BilledDuration-billed >= time.Millisecond || r.BilledDuration%time.Millisecond != 0 {
			t.Errorf("report %+v: billed duration is not the duration (plus the init duration on a cold start) rounded up to the millisecond", r)
		}
		if r.MaxMemoryMB <= 0 && fileExists("/proc/self/status") {
			t.Errorf("report %+v: MaxMemoryMB = %d, want > 0", r, r.MaxMemoryMB)
		}
	}
	want := []summary{
		{first.RequestID, true, true, 128, ""},
		{second.RequestID, false, false, 128, ""},
		{echo.RequestID, false, false, 128, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reports mismatch (-want +got):\n%s", diff)
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFunction(t, "behave", &Options{
		FunctionName: "envfn",
		MemoryMB:     512,
		Region:       "eu-west-3",
		Dir:          dir,
		Env:          []string{"EXTRA=1", "AWS_ACCESS_KEY_ID=AKIDFAKE", "TZ=:Europe/Paris"},
		Args:         []string{"-x", "y"},
	})
	keys := []string{
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_LOG_GROUP_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
		"_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "LANG", "PATH", "EXTRA",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "HOME",
	}
	resp := invoke(t, f, map[string]any{"op": "env", "env": append(keys, "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_LOG_STREAM_NAME")})
	type result struct {
		Env         map[string]string `json:"env"`
		RequestID   string            `json:"requestId"`
		ARN         string            `json:"arn"`
		HasDeadline bool              `json:"hasDeadline"`
		Args        []string          `json:"args"`
		WD          string            `json:"wd"`
	}
	got := decode[result](t, resp)
	runtimeAPI := got.Env["AWS_LAMBDA_RUNTIME_API"]
	if !strings.HasPrefix(runtimeAPI, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want 127.0.0.1:port", runtimeAPI)
	}
	if stream := got.Env["AWS_LAMBDA_LOG_STREAM_NAME"]; !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(stream) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q, want Lambda's format", stream)
	}
	delete(got.Env, "AWS_LAMBDA_RUNTIME_API")
	delete(got.Env, "AWS_LAMBDA_LOG_STREAM_NAME")
	want := result{
		Env: map[string]string{
			"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
			"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
			"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
			"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
			"AWS_REGION":                      "eu-west-3",
			"AWS_DEFAULT_REGION":              "eu-west-3",
			"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
			"_HANDLER":                        "behave",
			"LAMBDA_TASK_ROOT":                dir,
			"LAMBDA_RUNTIME_DIR":              "/var/runtime",
			"TZ":                              ":Europe/Paris", // Env overrides
			"LANG":                            "en_US.UTF-8",
			"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
			"EXTRA":                           "1",
			"AWS_ACCESS_KEY_ID":               "AKIDFAKE",
			"AWS_SECRET_ACCESS_KEY":           "", // not inherited
			"HOME":                            "", // not inherited
		},
		RequestID:   resp.RequestID,
		ARN:         "arn:aws:lambda:eu-west-3:123456789012:function:envfn",
		HasDeadline: true,
		Args:        []string{"-x", "y"},
		WD:          dir,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("function saw (-want +got):\n%s", diff)
	}
	if want := "arn:aws:lambda:eu-west-3:123456789012:function:envfn"; f.ARN() != want {
		t.Errorf("ARN() = %q, want %q", f.ARN(), want)
	}
}

func TestInvokeOptions(t *testing.T) {
	t.Parallel()
	f := newFunction(t, "behave", &Options{FunctionName: "fn"})
	resp, err := f.InvokeWith(context.Background(), []byte(`{"op":"env"}`), &InvokeOptions{
		ClientContext: `{"custom":{"k":"v"}}`,
		Qualifier:     "live",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := decode[struct {
		ARN           string            `json:"arn"`
		ClientContext map[string]string `json:"clientContext"`
	}](t, resp)
	if want := "arn:aws:lambda:us-east-1:123456789012:function:fn:live"; got.ARN != want {
		t.Errorf("invoked ARN = %q, want %q", got.ARN, want)
	}
	if diff := cmp.Diff(map[string]string{"k": "v"}, got.ClientContext); diff != "" {
		t.Errorf("client context (-want +got):\n%s", diff)
	}
}

// pidOf invokes op pid and returns the instance's pid.
func pidOf(t *testing.T, f *Function) int {
	t.Helper()
	resp := invoke(t, f, map[string]any{"op": "pid"})
	pid, err := strconv.Atoi(string(resp.Payload))
	if err != nil {
		t.Fatalf("pid payload %q: %v", resp.Payload, err)
	}
	return pid
}

func TestFailuresReplaceInstance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration
		req     map[string]any
		want    lambdaError
		errType string // Report.Err
	}{
		{
			name:    "timeout",
			timeout: 500 * time.Millisecond,
			req:     map[string]any{"op": "sleep", "ms": 600000},
			want:    lambdaError{Type: "Sandbox.Timedout", Message: "Task timed out after 0.50 seconds"},
			errType: "Sandbox.Timedout",
		},
		{
			name:    "crash",
			req:     map[string]any{"op": "crash", "code": 2},
			want:    lambdaError{Type: "Runtime.ExitError", Message: "Runtime exited with error: exit status 2"},
			errType: "Runtime.ExitError",
		},
		{
			name:    "panic",
			req:     map[string]any{"op": "panic", "message": "boom"},
			want:    lambdaError{Type: "string", Message: "boom"},
			errType: "string",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reps reports
			f := newFunction(t, "behave", &Options{Timeout: tt.timeout, OnReport: reps.add})
			pid := pidOf(t, f)
			resp := invoke(t, f, tt.req)
			if resp.FunctionError != "Unhandled" {
				t.Errorf("FunctionError = %q, want Unhandled", resp.FunctionError)
			}
			got := decode[lambdaError](t, resp)
			if got.Type != tt.want.Type || !strings.Contains(got.Message, tt.want.Message) {
				t.Errorf("error = %+v, want type %q and a message containing %q", got, tt.want.Type, tt.want.Message)
			}
			if tt.name != "panic" && !strings.HasPrefix(got.Message, "RequestId: "+resp.RequestID+" Error: ") {
				t.Errorf("error message %q does not start with the request id", got.Message)
			}
			if rs := reps.all(); len(rs) != 2 || rs[1].Err != tt.errType || rs[1].RequestID != resp.RequestID {
				t.Errorf("reports = %+v, want the second with Err %q", rs, tt.errType)
			}
			// The next invocation gets a new instance; the old one is gone.
			next := pidOf(t, f)
			if next == pid {
				t.Errorf("pid after %s = %d, want a new instance", tt.name, next)
			}
			testtools.WaitGone(t, pid, "the instance after "+tt.name)
			if rs := reps.all(); !rs[2].Cold {
				t.Errorf("invocation after %s was not a cold start: %+v", tt.name, rs[2])
			}
		})
	}
}

func TestFunctionError(t *testing.T) {
	t.Parallel()
	f := newFunction(t, "behave", nil)
	pid := pidOf(t, f)
	resp := invoke(t, f, map[string]any{"op": "error", "message": "bad input"})
	if resp.FunctionError != "Unhandled" {
		t.Errorf("FunctionError = %q, want Unhandled", resp.FunctionError)
	}
	if diff := cmp.Diff(lambdaError{Type: "myError", Message: "bad input"}, decode[lambdaError](t, resp)); diff != "" {
		t.Errorf("error document (-want +got):\n%s", diff)
	}
	if next := pidOf(t, f); next != pid {
		t.Errorf("pid after a function error = %d, want the instance %d reused", next, pid)
	}
}

func TestInitError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want lambdaError
	}{
		{"exit", nil, lambdaError{Type: "Runtime.ExitError", Message: "Runtime exited with error: exit status 3"}},
		{"init/error", []string{"INIT_MODE=post"}, lambdaError{Type: "Runtime.InitError", Message: "config missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reps reports
			f := newFunction(t, "initfail", &Options{Env: tt.env, OnReport: reps.add})
			for range 2 { // a failed init is retried on the next invocation
				resp := invoke(t, f, map[string]any{})
				if resp.FunctionError != "Unhandled" {
					t.Errorf("FunctionError = %q, want Unhandled", resp.FunctionError)
				}
				got := decode[lambdaError](t, resp)
				if got.Type != tt.want.Type || !strings.Contains(got.Message, tt.want.Message) {
					t.Errorf("error = %+v, want type %q and a message containing %q", got, tt.want.Type, tt.want.Message)
				}
			}
			for _, r := range reps.all() {
				if !r.Cold || r.Err != tt.want.Type {
					t.Errorf("report %+v, want a cold start with Err %q", r, tt.want.Type)
				}
			}
		})
	}
}

func TestParallelInstances(t *testing.T) {
	t.Parallel()
	const n = 3
	g := newGate(t)
	f := newFunction(t, "behave", &Options{Instances: n})
	pids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := f.Invoke(context.Background(), []byte(`{"op":"wait","gate":"`+g.URL+`"}`))
			if err != nil {
				t.Error(err)
				return
			}
			pids <- string(resp.Payload)
		})
	}
	// All n invocations are inside the function at the same time: only
	// then does the test let them go.
	g.wait(t, n)
	g.open()
	wg.Wait()
	close(pids)
	seen := map[string]bool{}
	for p := range pids {
		seen[p] = true
	}
	if len(seen) != n {
		t.Errorf("invocations ran on pids %v, want %d distinct instances", seen, n)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	for _, throttle := range []bool{true, false} {
		t.Run("throttle="+strconv.FormatBool(throttle), func(t *testing.T) {
			g := newGate(t)
			f := newFunction(t, "behave", &Options{Instances: 1, Throttle: throttle})
			busy := make(chan error, 1)
			go func() {
				_, err := f.Invoke(context.Background(), []byte(`{"op":"wait","gate":"`+g.URL+`"}`))
				busy <- err
			}()
			g.wait(t, 1) // the only instance is busy
			second := make(chan error, 1)
			go func() {
				resp, err := f.Invoke(context.Background(), []byte(`{"op":"pid"}`))
				if err == nil && resp.FunctionError != "" {
					err = errors.New(string(resp.Payload))
				}
				second <- err
			}()
			if throttle {
				if err := <-second; !errors.Is(err, ErrThrottled) {
					t.Errorf("Invoke while busy = %v, want ErrThrottled", err)
				}
			}
			g.open()
			if err := <-busy; err != nil {
				t.Errorf("first Invoke = %v", err)
			}
			if !throttle {
				if err := <-second; err != nil {
					t.Errorf("queued Invoke = %v, want success", err)
				}
			}
			// Sequential invocations are never throttled.
			for range 3 {
				pidOf(t, f)
			}
		})
	}
}

func TestQueuedInvokeContext(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	f := newFunction(t, "behave", &Options{Instances: 1})
	go func() { _, _ = f.Invoke(context.Background(), []byte(`{"op":"wait","gate":"`+g.URL+`"}`)) }()
	g.wait(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Invoke(ctx, []byte(`{"op":"pid"}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke(canceled ctx) while busy = %v, want context.Canceled", err)
	}
	g.open()
	pidOf(t, f)
}

// readN reads exactly len(want) bytes of body and compares them.
func readN(t *testing.T, body io.Reader, want string) {
	t.Helper()
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(body, buf); err != nil {
		t.Fatalf("reading %q: %v", want, err)
	}
	if string(buf) != want {
		t.Fatalf("read %q, want %q", buf, want)
	}
}

func TestStreaming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		op     string
		opts   *InvokeOptions
		ct     string
		prefix string
	}{
		// A plain io.Reader (application/octet-stream) when the caller asks
		// for a stream, as InvokeWithResponseStream does.
		{"reader", "stream", &InvokeOptions{Stream: true}, "application/octet-stream", ""},
		// events.LambdaFunctionURLStreamingResponse is detected by its
		// content type.
		{"function url", "streamurl", nil, contentTypeHTTPIntegration, "{\"statusCode\":201}\x00\x00\x00\x00\x00\x00\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate(t)
			var reps reports
			f := newFunction(t, "behave", &Options{OnReport: reps.add})
			payload, _ := json.Marshal(map[string]any{"op": tt.op, "chunks": []string{"one", "two", "three"}, "gate": g.URL})
			resp, err := f.InvokeWith(context.Background(), payload, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !resp.Streamed || resp.Body == nil || resp.Payload != nil {
				t.Fatalf("Response = %+v, want a stream", resp)
			}
			defer resp.Body.Close()
			if resp.ContentType != tt.ct {
				t.Errorf("ContentType = %q, want %q", resp.ContentType, tt.ct)
			}
			// Each chunk arrives before the function is allowed to write
			// the next one: the body is not buffered.
			readN(t, resp.Body, tt.prefix+"one")
			g.wait(t, 1)
			g.release <- struct{}{}
			readN(t, resp.Body, "two")
			g.wait(t, 1)
			g.release <- struct{}{}
			readN(t, resp.Body, "three")
			if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
				t.Errorf("end of body = %q, %v; want EOF", rest, err)
			}
			if rs := reps.all(); len(rs) != 1 || rs[0].Err != "" {
				t.Errorf("reports = %+v, want one success (reported before EOF)", rs)
			}
		})
	}
}

func TestStreamErrorTrailer(t *testing.T) {
	t.Parallel()
	f := newFunction(t, "behave", nil)
	payload := []byte(`{"op":"stream","chunks":["a","b"],"message":"disk on fire"}`)
	resp, err := f.InvokeWith(context.Background(), payload, &InvokeOptions{Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if string(got) != "ab" {
		t.Errorf("body = %q, want %q", got, "ab")
	}
	var se *StreamError
	if !errors.As(err, &se) {
		t.Fatalf("read error = %v, want a *StreamError", err)
	}
	if se.Type != "myError" || se.Message != "disk on fire" {
		t.Errorf("StreamError = %+v, want myError: disk on fire", se)
	}
	// The instance survives a failed stream.
	pidOf(t, f)
}

func TestStreamTimeout(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	f := newFunction(t, "behave", &Options{Timeout: 500 * time.Millisecond})
	payload, _ := json.Marshal(map[string]any{"op": "stream", "chunks": []string{"a", "b"}, "gate": g.URL})
	resp, err := f.InvokeWith(context.Background(), payload, &InvokeOptions{Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body) // the gate never opens
	var se *StreamError
	if string(got) != "a" || !errors.As(err, &se) || se.Type != "Sandbox.Timedout" {
		t.Errorf("ReadAll = %q, %v; want \"a\" and a Sandbox.Timedout StreamError", got, err)
	}
}

func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	f := newFunction(t, "behave", nil)
	// Lambda's limit on a buffered response is 6 MB and 100 bytes.
	if resp := invoke(t, f, map[string]any{"op": "big", "code": MaxResponse}); resp.FunctionError != "" || len(resp.Payload) != MaxResponse {
		t.Errorf("Response of MaxResponse bytes = %s %.100s, want success", resp.FunctionError, resp.Payload)
	}
	resp := invoke(t, f, map[string]any{"op": "big", "code": MaxResponse + 1})
	if resp.FunctionError != "Unhandled" || decode[lambdaError](t, resp).Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("Response = %s %s, want Function.ResponseSizeTooLarge", resp.FunctionError, resp.Payload)
	}
	if _, err := f.Invoke(context.Background(), make([]byte, MaxPayload+1)); !errors.Is(err, ErrRequestTooLarge) {
		t.Errorf("Invoke(6 MB + 1) = %v, want ErrRequestTooLarge", err)
	}
	pidOf(t, f) // usable afterwards
}

func TestOutput(t *testing.T) {
	t.Parallel()
	var stdout, stderr syncBuffer
	f := newFunction(t, "behave", &Options{Stdout: &stdout, Stderr: &stderr})
	invoke(t, f, map[string]any{"op": "print", "message": "hello"})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "stdout:hello\n") || strings.Contains(stdout.String(), "stderr:") {
		t.Errorf("stdout = %q, want the function's stdout only", stdout.String())
	}
	if !strings.Contains(stderr.String(), "stderr:hello\n") || strings.Contains(stderr.String(), "stdout:") {
		t.Errorf("stderr = %q, want the function's stderr only", stderr.String())
	}
}

func TestCloseLeavesNoProcesses(t *testing.T) {
	t.Parallel()
	g := newGate(t)
	f, err := NewFunction(bootstrap("behave"), &Options{Instances: 2, Stdout: io.Discard, Stderr: io.Discard, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	// Two busy instances, each having spawned a child of its own.
	var pids []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			resp, err := f.Invoke(context.Background(), []byte(`{"op":"spawn"}`))
			if err != nil {
				t.Error(err)
				return
			}
			child, _ := strconv.Atoi(string(resp.Payload))
			mu.Lock()
			pids = append(pids, child)
			mu.Unlock()
		})
	}
	wg.Wait()
	inflight := make(chan error, 2)
	for range 2 {
		go func() {
			resp, err := f.Invoke(context.Background(), []byte(`{"op":"wait","gate":"`+g.URL+`"}`))
			if err == nil && resp.FunctionError == "" {
				err = errors.New("in-flight invocation succeeded")
			}
			inflight <- err
		}()
	}
	g.wait(t, 2)
	for inst := range instancesOf(f) {
		pids = append(pids, inst.procID())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-inflight; err != nil {
			t.Errorf("in-flight Invoke during Close = %v, want a function error", err)
		}
	}
	if len(pids) != 4 {
		t.Fatalf("collected pids %v, want 2 instances and 2 children", pids)
	}
	for _, pid := range pids {
		testtools.WaitGone(t, pid, "a process of an instance after Close")
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
}

// TestChildrenDieWithInstance: whatever ends an instance, the processes
// its bootstrap started end with it, as in Lambda, where the execution
// environment goes.
func TestChildrenDieWithInstance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code int                             // the runtime exits with it after answering
		end  func(t *testing.T, f *Function) // ends the instance
	}{
		{name: "exit while idle", code: 3, end: func(*testing.T, *Function) {}},
		{name: "crash", end: func(t *testing.T, f *Function) {
			invoke(t, f, map[string]any{"op": "crash", "code": 2})
		}},
		{name: "timeout", end: func(t *testing.T, f *Function) {
			invoke(t, f, map[string]any{"op": "sleep", "ms": 600000})
		}},
		{name: "close", end: func(t *testing.T, f *Function) { f.Close() }},
		// Kill, for a program that must exit now (dev after a second
		// Ctrl-C): no Close, nothing waits.
		{name: "kill", end: func(t *testing.T, f *Function) { f.Kill() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFunction(t, "behave", &Options{Timeout: time.Second})
			resp := invoke(t, f, map[string]any{"op": "spawn", "code": tt.code})
			child := decode[int](t, resp)
			tt.end(t, f)
			testtools.WaitGone(t, child, "the bootstrap's child")
		})
	}
}

// instancesOf returns f's live instances.
func instancesOf(f *Function) map[*instance]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[*instance]bool, len(f.all))
	for inst := range f.all {
		m[inst] = true
	}
	return m
}

func TestNewFunctionErrors(t *testing.T) {
	t.Parallel()
	for _, path := range []string{filepath.Join(t.TempDir(), "missing"), t.TempDir()} {
		if _, err := NewFunction(path, nil); err == nil {
			t.Errorf("NewFunction(%q) = nil error, want one", path)
		}
	}
}

func TestReportString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Report
		want string
	}{
		{
			Report{RequestID: "id1", Duration: 1234 * time.Microsecond, BilledDuration: 2 * time.Millisecond, MemoryMB: 128, MaxMemoryMB: 20,
				Cold: true, InitDuration: 12340 * time.Microsecond},
			"REPORT RequestId: id1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 12.34 ms",
		},
		{
			Report{RequestID: "id2", Duration: 3 * time.Second, BilledDuration: 3 * time.Second, MemoryMB: 128, MaxMemoryMB: 20, Err: "Sandbox.Timedout"},
			"REPORT RequestId: id2\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout",
		},
		{
			Report{RequestID: "id3", MemoryMB: 256, Err: "Runtime.ExitError"},
			"REPORT RequestId: id3\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: 256 MB\tMax Memory Used: 0 MB\tStatus: error\tError Type: Runtime.ExitError",
		},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Report.String() = %q, want %q", got, tt.want)
		}
	}
}

func BenchmarkInvokeWarm(b *testing.B) {
	f, err := NewFunction(bootstrap("behave"), &Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	payload := []byte(`{"op":"echo","data":"x"}`)
	if _, err := f.Invoke(context.Background(), payload); err != nil { // cold start
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := f.Invoke(context.Background(), payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkColdStart(b *testing.B) {
	f, err := NewFunction(bootstrap("behave"), &Options{Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for b.Loop() {
		// Each invocation starts an instance, which crashes.
		if _, err := f.Invoke(context.Background(), []byte(`{"op":"crash","code":1}`)); err != nil {
			b.Fatal(err)
		}
	}
}
