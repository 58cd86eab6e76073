package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/testtools"
)

// TestInspector builds the command, runs it as a local server the way a
// user would (PORT set, no Lambda environment), and calls it with the real
// MCP Inspector CLI in both protocol eras.
func TestInspector(t *testing.T) {
	t.Parallel()
	node := testtools.Node22(t)
	inspector := testtools.Inspector(t)
	if testing.Short() {
		t.Skip("builds a binary and runs Node; skipped with -short")
	}
	url, stop := startBinary(t, "LOCAL_TIMEZONE=Asia/Kolkata")

	// tools/list, and the command line the package doc shows.
	stdout, stderr, code := runInspector(t, node, inspector, url, "--method", "tools/list")
	if code != 0 {
		t.Fatalf("inspector tools/list exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var list struct {
		Tools []struct {
			Name         string          `json:"name"`
			Description  string          `json:"description"`
			InputSchema  json.RawMessage `json:"inputSchema"`
			OutputSchema json.RawMessage `json:"outputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("inspector tools/list output is not a result: %v\n%s", err, stdout)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		if len(tool.OutputSchema) == 0 {
			t.Errorf("tools/list: tool %s has no outputSchema", tool.Name)
		}
		if !strings.Contains(tool.Description, "Asia/Kolkata") {
			t.Errorf("tools/list: tool %s description %q does not name the local timezone from LOCAL_TIMEZONE", tool.Name, tool.Description)
		}
	}
	slices.Sort(names)
	if want := []string{"convert_time", "get_current_time"}; !slices.Equal(names, want) {
		t.Errorf("inspector tools/list names = %q, want %q", names, want)
	}

	for _, era := range []string{"legacy", "modern"} {
		// The Inspector's default for a URL is legacy; say it anyway.
		eraArgs := []string{"--protocol-era", era}

		before := time.Now().Truncate(time.Second)
		stdout, stderr, code = runInspector(t, node, inspector, url, append(eraArgs,
			"--method", "tools/call", "--tool-name", "get_current_time", "--tool-arg", "timezone=UTC")...)
		after := time.Now()
		if code != 0 {
			t.Fatalf("inspector (%s) get_current_time exited %d\nstdout:\n%s\nstderr:\n%s", era, code, stdout, stderr)
		}
		var got timeResult
		decodeCall(t, stdout, &got)
		when, err := time.Parse(isoLayout, got.Datetime)
		if err != nil {
			t.Errorf("inspector (%s) get_current_time(UTC) datetime %q: %v", era, got.Datetime, err)
		} else if when.Before(before) || when.After(after) || !strings.HasSuffix(got.Datetime, "+00:00") {
			t.Errorf("inspector (%s) get_current_time(UTC) datetime = %q, want a UTC time between %v and %v", era, got.Datetime, before, after)
		}
		if got.Timezone != "UTC" || got.DayOfWeek != when.Weekday().String() || got.IsDST {
			t.Errorf("inspector (%s) get_current_time(UTC) = %+v, want timezone UTC, day %s, no DST", era, got, when.Weekday())
		}

		stdout, stderr, code = runInspector(t, node, inspector, url, append(eraArgs,
			"--method", "tools/call", "--tool-name", "convert_time",
			"--tool-arg", "source_timezone=Asia/Kolkata", "time=09:00", "target_timezone=UTC")...)
		if code != 0 {
			t.Fatalf("inspector (%s) convert_time exited %d\nstdout:\n%s\nstderr:\n%s", era, code, stdout, stderr)
		}
		var conv convertTimeResult
		decodeCall(t, stdout, &conv)
		if !strings.HasSuffix(conv.Source.Datetime, "T09:00:00+05:30") || !strings.HasSuffix(conv.Target.Datetime, "T03:30:00+00:00") || conv.TimeDifference != "-5.5h" {
			t.Errorf("inspector (%s) convert_time(Asia/Kolkata, 09:00, UTC) = %+v, want 09:00+05:30 -> 03:30+00:00, -5.5h", era, conv)
		}

		// A tool error: the Inspector prints the isError result and exits
		// non-zero.
		stdout, stderr, code = runInspector(t, node, inspector, url, append(eraArgs,
			"--method", "tools/call", "--tool-name", "get_current_time", "--tool-arg", "timezone=Nowhere/Land")...)
		if code == 0 || !strings.Contains(stdout, `"isError": true`) || !strings.Contains(stdout, `unknown timezone`) {
			t.Errorf("inspector (%s) get_current_time(Nowhere/Land) exited %d, want non-zero and an isError result naming the unknown timezone\nstdout:\n%s\nstderr:\n%s", era, code, stdout, stderr)
		}
	}

	stop()
}

// startBinary builds this command, starts it on a free loopback port with
// env added to the environment, and waits for its "listening on" line. It
// returns the MCP endpoint URL and a function that stops the server with
// SIGINT and checks that it exits cleanly having printed only that line.
func startBinary(t *testing.T, env ...string) (url string, stop func()) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "time")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin)
	// PORT=0: a free port, which the ready line names.
	cmd.Env = append(os.Environ(), append([]string{"PORT=0", "AWS_LAMBDA_RUNTIME_API="}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	exited := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Kill()
	})

	want := regexp.MustCompile(`^mcplambda: listening on (http://127\.0\.0\.1:[1-9][0-9]*/mcp)$`)
	select {
	case line, ok := <-lines:
		m := want.FindStringSubmatch(line)
		if !ok || m == nil {
			cmd.Process.Kill()
			t.Fatalf("server's first stdout line = %q, want a match for %s\nstderr:\n%s", line, want, stderr.String())
		}
		url = m[1]
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server printed no ready line within 30s\nstderr:\n%s", stderr.String())
	}
	var more []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for line := range lines {
			more = append(more, line)
		}
		exited <- cmd.Wait()
	}()

	return url, func() {
		t.Helper()
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatalf("signal server: %v", err)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("server did not exit within 30s of SIGINT\nstderr:\n%s", stderr.String())
		}
		if err := <-exited; err != nil {
			t.Errorf("server exit after SIGINT: %v, want status 0\nstderr:\n%s", err, stderr.String())
		}
		if len(more) > 0 {
			t.Errorf("server printed %q to stdout after the listening line, want nothing", more)
		}
	}
}

// runInspector runs the MCP Inspector CLI against url with args, in a
// scratch HOME (it keeps a catalog and storage there), and returns what it
// printed and its exit code.
func runInspector(t *testing.T, node, inspector, url string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	argv := append([]string{inspector, "--cli", url}, args...)
	cmd := exec.CommandContext(ctx, node, argv...)
	cmd.Dir = home
	cmd.Env = append(os.Environ(), "HOME="+home, "NO_COLOR=1", "NO_PROXY=127.0.0.1,localhost")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Logf("$ node %s\n%s", strings.Join(argv, " "), out.String())
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		t.Fatalf("running inspector: %v\nstderr:\n%s", err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

// decodeCall decodes the structured content of the tools/call result the
// Inspector printed into out.
func decodeCall(t *testing.T, stdout string, out any) {
	t.Helper()
	var res struct {
		StructuredContent json.RawMessage `json:"structuredContent"`
		IsError           bool            `json:"isError"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("inspector output is not a tools/call result: %v\n%s", err, stdout)
	}
	if res.IsError || len(res.StructuredContent) == 0 {
		t.Fatalf("inspector output is an error or has no structuredContent:\n%s", stdout)
	}
	if err := json.Unmarshal(res.StructuredContent, out); err != nil {
		t.Fatalf("structuredContent %s: %v", res.StructuredContent, err)
	}
}
