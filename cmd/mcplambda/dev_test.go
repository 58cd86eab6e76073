package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// toolText returns the text content of a tool result.
func toolText(res *mcp.CallToolResult) string {
	var s []string
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			s = append(s, t.Text)
		}
	}
	return strings.Join(s, "\n")
}

// TestDevFrontDoors runs examples/time under "mcplambda dev" behind each
// front door and uses it with go-sdk's client: tools/list, a tools/call
// that succeeds and one that gives a tool error; a request for another path
// goes to the function as well.
func TestDevFrontDoors(t *testing.T) {
	t.Parallel()
	for _, door := range []string{"url", "httpapi", "rest", "alb", "alb-multi"} {
		t.Run(door, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p := startDev(t, "--addr", "127.0.0.1:0", "--front", door, binary(t, "time"))
			cs := p.connect(t, ctx)

			tools, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatalf("ListTools: %v; stderr:\n%s", err, p.stderr.String())
			}
			var names []string
			for _, tool := range tools.Tools {
				names = append(names, tool.Name)
			}
			slices.Sort(names)
			if diff := cmp.Diff([]string{"convert_time", "get_current_time"}, names); diff != "" {
				t.Errorf("ListTools names mismatch (-want +got):\n%s", diff)
			}

			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_current_time", Arguments: map[string]any{"timezone": "Asia/Kolkata"}})
			if err != nil {
				t.Fatalf("CallTool(get_current_time): %v; stderr:\n%s", err, p.stderr.String())
			}
			if res.IsError || !strings.Contains(toolText(res), "+05:30") {
				t.Errorf("CallTool(get_current_time, Asia/Kolkata) = %q (isError %v), want a time at +05:30", toolText(res), res.IsError)
			}

			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "convert_time", Arguments: map[string]any{
				"source_timezone": "Mars/Olympus_Mons", "time": "12:00", "target_timezone": "UTC"}})
			if err != nil {
				t.Fatalf("CallTool(convert_time): %v", err)
			}
			if !res.IsError {
				t.Errorf("CallTool(convert_time, Mars/Olympus_Mons) = %q, want a tool error", toolText(res))
			}

			// Other paths reach the function too, which answers 404.
			resp, err := http.Post(p.invokeURL+"/elsewhere", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte(`"jsonrpc"`)) {
				t.Errorf("POST /elsewhere = %d %s, want 404 with the function's JSON-RPC error", resp.StatusCode, body)
			}
		})
	}
}

// TestDevReports checks what dev prints for people: on stderr, one line
// per request (method, name, status, duration) and one REPORT line per
// invocation, with an Init Duration on the cold start only; the function's
// metrics and routine log records only with -v; no warning from
// aws-lambda-go when it stops; on stdout the two ready lines and nothing
// else.
func TestDevReports(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprintf("verbose=%v", verbose), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			args := []string{"--addr", "127.0.0.1:0", "--memory", "256"}
			if verbose {
				args = append(args, "-v")
			}
			// The stdio adapter as the function: it enables SIGTERM through
			// aws-lambda-go's internal extension, which must stay quiet at
			// shutdown.
			p := startDev(t, append(args, "--", binary(t, "echoserver"))...)
			cs := p.connect(t, ctx)
			for range 3 {
				if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "hi"}}); err != nil {
					t.Fatalf("CallTool: %v", err)
				}
			}
			// The client's handshake (server/discover, or initialize and its
			// notification for a legacy server), then the 3 tools/call.
			reports := p.reports(t, 4)
			for i, r := range reports {
				if !strings.Contains(r[0], "\tMemory Size: 256 MB\t") {
					t.Errorf("REPORT line %d = %q, want Memory Size: 256 MB", i+1, r[0])
				}
				if cold := r[reportInit] != ""; cold != (i == 0) {
					t.Errorf("REPORT line %d = %q: has Init Duration %v, want %v", i+1, r[0], cold, i == 0)
				}
				if r[reportMaxMem] == "0" && runtime.GOOS == "linux" {
					t.Errorf("REPORT line %d = %q, want Max Memory Used above 0 MB", i+1, r[0])
				}
			}
			if code := p.stop(t, os.Interrupt); code != 0 {
				t.Errorf("exit code after SIGINT = %d, want 0", code)
			}
			logs := p.stderr.String()
			if n := len(requestLineRE.FindAllString(logs, -1)); n != 3 {
				t.Errorf("stderr has %d lines \"mcplambda: tools/call echo -> 200 in ...\", want 3:\n%s", n, logs)
			}
			// The function's own request log lines (package telemetry): with
			// -v only (TestQuietWriter checks the rest of the filter).
			if want := `msg="mcp request" method=tools/call name=echo`; strings.Contains(logs, want) != verbose {
				t.Errorf("stderr contains %q: %v, want %v:\n%s", want, !verbose, verbose, logs)
			}
			if strings.Contains(logs, `{"_aws":`) && !verbose {
				t.Errorf("stderr has EMF documents without -v:\n%s", logs)
			}
			if strings.Contains(logs, "unreachable code") {
				t.Errorf("stderr has aws-lambda-go's warning:\n%s", logs)
			}
			lines := strings.Split(strings.TrimSuffix(p.stdout.String(), "\n"), "\n")
			if len(lines) != 2 {
				t.Errorf("stdout = %q, want exactly the two ready lines", p.stdout.String())
			}
		})
	}
}

// requestLineRE matches dev's line for a tools/call of echo.
var requestLineRE = regexp.MustCompile(`(?m)^mcplambda: tools/call echo -> 200 in [0-9.]+ ms$`)

// TestQuietWriter checks which lines of function output dev shows by
// default.
func TestQuietWriter(t *testing.T) {
	var out bytes.Buffer
	q := &quietWriter{w: &out}
	in := []string{
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"Requests":1}`,
		`time=2026-01-01T00:00:00Z level=INFO msg="mcp request" method=tools/call`,
		`time=2026-01-01T00:00:00Z level=WARN msg="stdio: the server process did not answer in time"`,
		`{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","message":"mcp request"}`,
		`{"timestamp":"2026-01-01T00:00:00Z","level":"ERROR","message":"boom"}`,
		`2026/01/01 00:00:00 {"errorMessage":"boom","errorType":"myError"}`,
		`panic: runtime error: index out of range`,
		`echoserver: stdin closed`,
	}
	for _, line := range in {
		// Written in two pieces: lines are judged whole.
		q.Write([]byte(line[:5]))
		q.Write([]byte(line[5:] + "\n"))
	}
	want := strings.Join([]string{in[2], in[4], in[5], in[6], in[7]}, "\n") + "\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("quietWriter output (-want +got):\n%s", diff)
	}
}

// TestDevJSONReports checks --json: REPORT lines are JSON objects.
func TestDevJSONReports(t *testing.T) {
	t.Parallel()
	p := startDev(t, "--addr", "127.0.0.1:0", "--json", binary(t, "noop"))
	for range 2 {
		resp, err := http.Post(p.invokeURL+"/2015-03-31/functions/noop/invocations", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var got []jsonReport
	ctx, cancel := context.WithTimeout(context.Background(), testtools.Patience)
	defer cancel()
	stderr, _ := p.stderr.Wait(ctx, func(s string) bool {
		got = got[:0]
		for line := range strings.SplitSeq(s, "\n") {
			var r jsonReport
			if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &r) == nil && r.RequestID != "" {
				got = append(got, r)
			}
		}
		return len(got) >= 2
	})
	if len(got) != 2 {
		t.Fatalf("got %d JSON REPORT lines, want 2; stderr:\n%s", len(got), stderr)
	}
	if !got[0].Cold || got[0].InitDurationMS <= 0 || got[1].Cold || got[1].InitDurationMS != 0 || got[0].MemorySizeMB != 128 {
		t.Errorf("JSON REPORT lines = %+v, want a cold start with an init duration, then a warm one; 128 MB", got)
	}
}

// TestDevInvokeAPI calls the function through the Lambda Invoke API that
// dev serves next to the front door.
func TestDevInvokeAPI(t *testing.T) {
	t.Parallel()
	t.Run("noop", func(t *testing.T) {
		p := startDev(t, "--addr", "127.0.0.1:0", "--name", "echo", binary(t, "noop"))
		payload := `{"hello":"world"}`
		resp, err := http.Post(p.invokeURL+"/2015-03-31/functions/echo/invocations", "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != payload {
			t.Errorf("Invoke(echo, %s) = %d %s, want 200 %s", payload, resp.StatusCode, body, payload)
		}

		resp, err = http.Post(p.invokeURL+"/2015-03-31/functions/other/invocations", "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("Invoke(other) status = %d, want 404", resp.StatusCode)
		}
	})

	t.Run("time", func(t *testing.T) {
		// A direct invoke: the payload is a JSON-RPC message.
		p := startDev(t, "--addr", "127.0.0.1:0", binary(t, "time"))
		payload := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"UTC"}}}`
		resp, err := http.Post(p.invokeURL+"/2015-03-31/functions/time/invocations", "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &msg) != nil || msg.ID != 1 || msg.Result == nil ||
			!bytes.Contains(msg.Result, []byte(`"timezone":"UTC"`)) {
			t.Errorf("Invoke(time, tools/call) = %d %s, want 200 and a JSON-RPC result with the time in UTC; stderr:\n%s",
				resp.StatusCode, body, p.stderr.String())
		}
	})
}

// TestDevArgsEnvAndFlagOrder checks that --env and the arguments after
// "--" reach the bootstrap (examples/time names its local timezone, taken
// from -local-timezone or else $LOCAL_TIMEZONE, in its tool descriptions),
// with flags on either side of TARGET.
func TestDevArgsEnvAndFlagOrder(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"env", []string{"--addr", "127.0.0.1:0", "--env", "LOCAL_TIMEZONE=Europe/Warsaw", binary(t, "time")}, "Europe/Warsaw"},
		{"args", []string{binary(t, "time"), "--addr", "127.0.0.1:0", "--front", "rest", "--", "-local-timezone", "Asia/Tokyo"}, "Asia/Tokyo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			p := startDev(t, tt.args...)
			tools, err := p.connect(t, ctx).ListTools(ctx, nil)
			if err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			for _, tool := range tools.Tools {
				if !strings.Contains(tool.Description, "'"+tt.want+"'") {
					t.Errorf("tool %s description = %q, want local timezone %s", tool.Name, tool.Description, tt.want)
				}
			}
		})
	}
}

// TestDevBuildsPackage gives dev a package directory: it builds it, with
// progress on stderr, and serves it.
func TestDevBuildsPackage(t *testing.T) {
	t.Parallel()
	binary(t, "time") // warm the build cache, so the build here is mostly a link
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := startDev(t, "--addr", "127.0.0.1:0", filepath.Join("..", "..", "examples", "time"))
	res, err := p.connect(t, ctx).CallTool(ctx, &mcp.CallToolParams{Name: "get_current_time", Arguments: map[string]any{"timezone": "UTC"}})
	if err != nil || res.IsError {
		t.Fatalf("CallTool(get_current_time) = %v, %v; stderr:\n%s", res, err, p.stderr.String())
	}
	stderr := p.stderr.String()
	for _, want := range []string{"mcplambda: building ../../examples/time", "mcplambda: built ../../examples/time in "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q; stderr:\n%s", want, stderr)
		}
	}
	if strings.Contains(p.stdout.String(), "build") {
		t.Errorf("stdout = %q, want the ready lines only", p.stdout.String())
	}
}

// TestDevSignals stops dev with SIGINT and SIGTERM: it exits 0 and leaves
// no instance running.
func TestDevSignals(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("finds instances in /proc")
	}
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			marker := "MCPLAMBDA_TEST_MARKER=" + rand.Text()
			p := startDev(t, "--addr", "127.0.0.1:0", "--instances", "2", "--env", marker, binary(t, "time"))
			// Two clients at once, so that there may be two instances.
			var wg sync.WaitGroup
			for _, cs := range []*mcp.ClientSession{p.connect(t, ctx), p.connect(t, ctx)} {
				wg.Go(func() {
					if _, err := cs.ListTools(ctx, nil); err != nil {
						t.Errorf("ListTools: %v", err)
					}
				})
			}
			wg.Wait()
			if pids := processesWithEnv(t, marker); len(pids) == 0 {
				t.Fatalf("found no instance with %s in /proc; stderr:\n%s", marker, p.stderr.String())
			}
			if code := p.stop(t, sig); code != 0 {
				t.Errorf("exit code after %v = %d, want 0; stderr:\n%s", sig, code, p.stderr.String())
			}
			if pids := processesWithEnv(t, marker); len(pids) > 0 {
				t.Errorf("instances %v still running after mcplambda dev exited", pids)
			}
		})
	}
}

// TestUsage checks exit codes and messages for help, usage errors and
// failures that need no running function.
func TestUsage(t *testing.T) {
	t.Parallel()
	notExec := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	const devHint = `Run "mcplambda dev -h" for usage.`
	const mainHint = `Run "mcplambda -h" for the list of commands.`
	for _, tt := range []usageCase{
		{name: "help", args: []string{"-h"}, stdout: "dev     serve a function locally"},
		{name: "help dev", args: []string{"help", "dev"}, stdout: "Usage: mcplambda dev [flags] TARGET [-- ARGS...]"},
		{name: "dev help", args: []string{"dev", "--help"}, stdout: "-front door"},
		{name: "no command", args: nil, code: 2, stderr: []string{"mcplambda: no command given", mainHint}},
		{name: "unknown command", args: []string{"deploy"}, code: 2, stderr: []string{`unknown command "deploy"`, mainHint}},
		{name: "no target", args: []string{"dev"}, code: 2, stderr: []string{"no TARGET given", devHint}},
		{name: "no target after flags", args: []string{"dev", "--front", "rest"}, code: 2, stderr: []string{"no TARGET given", devHint}},
		{name: "bad front", args: []string{"dev", "--front", "nlb", "./x"}, code: 2,
			stderr: []string{`invalid value "nlb" for flag -front: want one of url, httpapi, rest, alb, alb-multi`, devHint}},
		{name: "bad timeout", args: []string{"dev", "--timeout", "soon", "./x"}, code: 2, stderr: []string{`invalid value "soon" for flag -timeout`, devHint}},
		{name: "zero timeout", args: []string{"dev", "--timeout", "0s", "./x"}, code: 2, stderr: []string{"--timeout 0s", devHint}},
		{name: "long timeout", args: []string{"dev", "./x", "--timeout", "16m"}, code: 2, stderr: []string{"--timeout 16m0s", "at most 15m0s", devHint}},
		{name: "bad memory", args: []string{"dev", "--memory", "64", "./x"}, code: 2, stderr: []string{"--memory 64: want 128 to 10240", devHint}},
		{name: "bad instances", args: []string{"dev", "--instances", "0", "./x"}, code: 2, stderr: []string{"--instances 0", devHint}},
		{name: "bad env", args: []string{"dev", "--env", "NOVALUE", "./x"}, code: 2, stderr: []string{"want KEY=VALUE", devHint}},
		{name: "stream behind an HTTP API", args: []string{"dev", "--front", "httpapi", "--stream", "./x"}, code: 2, stderr: []string{"--stream: the httpapi front door cannot stream", devHint}},
		{name: "stream behind an ALB", args: []string{"dev", "--sessions", "--front", "alb", "--stream=true", "./x"}, code: 2, stderr: []string{"--stream: the alb front door cannot stream", devHint}},
		{name: "bad addr", args: []string{"dev", "--addr", "8080", "./x"}, code: 2, stderr: []string{`--addr "8080": want host:port`, devHint}},
		{name: "bad name", args: []string{"dev", "--name", "a b", "./x"}, code: 2, stderr: []string{`--name "a b"`, devHint}},
		{name: "unknown flag", args: []string{"dev", "--bogus", "./x"}, code: 2, stderr: []string{"flag provided but not defined: -bogus", devHint}},
		{name: "stray argument", args: []string{"dev", "./x", "y"}, code: 2, stderr: []string{`unexpected argument "y" after TARGET`, devHint}},
		// A bad TARGET is reported before dev listens: the address is busy.
		{name: "not executable", args: []string{"dev", "--addr", busy.Addr().String(), notExec}, code: 2, stderr: []string{"is not executable", devHint}},
		{name: "no such target", args: []string{"dev", "--addr", busy.Addr().String(), "./testdata/nonexistent"}, code: 2,
			stderr: []string{"TARGET ./testdata/nonexistent does not exist", devHint}},
		{name: "not main", args: []string{"dev", "--addr", "127.0.0.1:0", "../../lambdatest"}, code: 2,
			stderr: []string{"mcplambda: building ../../lambdatest", "../../lambdatest is not a main package", devHint}},
		{name: "build fails", args: []string{"dev", "--addr", "127.0.0.1:0", "example.com/no/such/module"}, code: 1,
			stderr: []string{"mcplambda: building example.com/no/such/module", "mcplambda: dev: building example.com/no/such/module: exit status 1"}},
		{name: "address in use", args: []string{"dev", "--addr", busy.Addr().String(), binary(t, "noop")}, code: 1,
			stderr: []string{"address already in use"}},
	} {
		t.Run(tt.name, tt.check)
	}
}

func TestDefaultName(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ target, want string }{
		{"./examples/time", "time"},
		{"./examples/time/", "time"},
		{"github.com/acme/tools/cmd/weather-mcp", "weather-mcp"},
		{"/tmp/dist/bootstrap", "bootstrap"},
		{"./server.go", "server"},
		{".", filepath.Base(wd)},
		{"./my.server v2", "my-server-v2"},
	} {
		if got := defaultName(tt.target); got != tt.want {
			t.Errorf("defaultName(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
}

// TestDevBrowserRequests sends what a web page open in the developer's
// browser could send to "mcplambda dev": a foreign Host (DNS rebinding) is
// refused on every route; the Invoke API also refuses any Origin and bodies
// that are not JSON (a "simple request" needs no CORS preflight), while the
// front door leaves the Origin to the function, as in production (an
// mcplambda function refuses origins it does not allow).
func TestDevBrowserRequests(t *testing.T) {
	t.Parallel()
	p := startDev(t, "--addr", "127.0.0.1:0", binary(t, "time"))
	invoke := p.invokeURL + "/2015-03-31/functions/time/invocations"
	stream := p.invokeURL + "/2021-11-15/functions/time/response-streaming-invocations"
	const call = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"UTC"}}}`
	for _, tc := range []struct {
		name, url, host string // host "" means the listener's own address
		header          map[string]string
		want            int
		wantBody        string // a substring of the answer
	}{
		{"front door", p.mcpURL, "", map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}, 200, "datetime"},
		{"front door localhost", p.mcpURL, "localhost", map[string]string{"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}, 200, "datetime"},
		{"front door rebinding", p.mcpURL, "evil.example.com", map[string]string{"Content-Type": "application/json"}, 403, "DNS rebinding"},
		{"front door rebinding with port", p.mcpURL, "evil.example.com:8080", map[string]string{"Content-Type": "application/json"}, 403, "DNS rebinding"},
		{"front door simple request", p.mcpURL, "", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example.com"}, 403, `"jsonrpc"`},
		{"invoke", invoke, "", map[string]string{"Content-Type": "application/octet-stream"}, 200, "datetime"},
		{"invoke simple request", invoke, "", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example.com"}, 403, "from web pages"},
		{"invoke with origin", invoke, "", map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example.com"}, 403, "from web pages"},
		{"invoke rebinding", invoke, "evil.example.com", map[string]string{"Content-Type": "application/json"}, 403, "DNS rebinding"},
		{"invoke text/plain", invoke, "", map[string]string{"Content-Type": "text/plain"}, 415, "not JSON"},
		{"stream simple request", stream, "", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example.com"}, 403, "from web pages"},
		{"stream rebinding", stream, "evil.example.com", nil, 403, "DNS rebinding"},
	} {
		req, _ := http.NewRequest("POST", tc.url, strings.NewReader(call))
		if tc.host != "" {
			req.Host = tc.host
		}
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || !strings.Contains(string(body), tc.wantBody) {
			t.Errorf("%s: POST %s (Host %q, %v) = %d %q, want %d and %q", tc.name, tc.url, tc.host, tc.header, resp.StatusCode, body, tc.want, tc.wantBody)
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 && !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: refusal with Content-Type %q, want JSON", tc.name, ct)
		}
	}
}

// TestDevNoCodeTelemetry runs a stdio server in the no-code mode under
// dev: it is served by the same path as a native server, so its function
// log has the per-request lines with the invocation's requestId, and the
// EMF metrics count the child's restart after a crash.
func TestDevNoCodeTelemetry(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// -v: the function's own log lines and EMF documents, which dev
	// otherwise replaces with one line per request.
	p := startDev(t, "--addr", "127.0.0.1:0", "-v", "--", binary(t, "echoserver"))
	cs := p.connect(t, ctx)
	if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "crash", Arguments: map[string]any{}}); err == nil && !res.IsError {
		t.Fatalf("CallTool(crash) = %v, want an error", toolText(res))
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "again"}})
	if err != nil || res.IsError {
		t.Fatalf("CallTool(echo) after the crash = %v, %v; stderr:\n%s", res, err, p.stderr.String())
	}
	p.stop(t, os.Interrupt)
	logs := p.stderr.String()
	if !strings.Contains(logs, `msg="mcp request" method=tools/call name=echo`) || !strings.Contains(logs, "requestId=") {
		t.Errorf("function log lacks request lines with a requestId:\n%s", logs)
	}
	if !strings.Contains(logs, `"ChildRestarts":1`) {
		t.Errorf("function log lacks the EMF ChildRestarts metric after a crash:\n%s", logs)
	}
}

// TestDevALBTypeScriptClient lists and calls tools with the official
// TypeScript SDK's client through both header modes of the load balancer
// front door.
func TestDevALBTypeScriptClient(t *testing.T) {
	node := testtools.Node22(t)
	sdk := testtools.TypeScriptSDK(t)
	for _, door := range []string{"alb", "alb-multi"} {
		t.Run(door, func(t *testing.T) {
			t.Parallel()
			p := startDev(t, "--addr", "127.0.0.1:0", "--front", door, binary(t, "time"))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, node, "testdata/tsclient/client.mjs", sdk, p.mcpURL, "get_current_time", `{"timezone":"Asia/Kolkata"}`)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("node client.mjs: %v\nstdout:\n%s\nstderr:\n%s\ndev's stderr:\n%s", err, stdout.String(), stderr.String(), p.stderr.String())
			}
			var got struct {
				Tools  []string `json:"tools"`
				Result struct {
					IsError           bool `json:"isError"`
					StructuredContent struct {
						Timezone string `json:"timezone"`
						Datetime string `json:"datetime"`
					} `json:"structuredContent"`
				} `json:"result"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("client output %q: %v", stdout.String(), err)
			}
			if diff := cmp.Diff([]string{"convert_time", "get_current_time"}, got.Tools); diff != "" {
				t.Errorf("tools (-want +got):\n%s", diff)
			}
			sc := got.Result.StructuredContent
			if got.Result.IsError || sc.Timezone != "Asia/Kolkata" || !strings.HasSuffix(sc.Datetime, "+05:30") {
				t.Errorf("get_current_time(Asia/Kolkata) = %+v, want a time at +05:30", got.Result)
			}
		})
	}
}
