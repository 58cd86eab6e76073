package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCallTasks runs call's task commands against examples/conformance
// under mcplambda dev, through the function URL and through the Invoke API
// (package invoke's transport): a task followed to its result with its
// progress on stderr, a tool error, a failed task, a cancelled one, an
// unknown id, and a tool that needs the extension called without it.
func TestCallTasks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	t.Parallel()
	dev := startDev(t, "--addr", "127.0.0.1:0", "--instances", "3", binary(t, "conformance"))
	targets := map[string][]string{
		"url":    {dev.mcpURL},
		"lambda": {"--endpoint-url", dev.invokeURL, "lambda:conformance"},
	}
	taskLine := regexp.MustCompile(`(?m)^mcplambda: task ([a-z2-7]+): working$`)
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			call := func(args ...string) (int, string, string) {
				return runCall(t, nil, append(append([]string{}, target...), args...)...)
			}

			code, stdout, stderr := call("tool", "slow_compute", "--arg", "seconds=0.5", "--arg", "label=cli", "--task")
			if code != 0 || stdout != "slow_compute cli: done after 0.5 s\n" || !strings.HasSuffix(stderr, ": completed\n") {
				t.Fatalf("tool slow_compute --task: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
			}
			m := taskLine.FindStringSubmatch(stderr)
			if m == nil {
				t.Fatalf("tool slow_compute --task: stderr =\n%s\nwant the task's statuses", stderr)
			}
			id := m[1]
			if code, stdout, _ := call("task", "get", id); code != 0 || !regexp.MustCompile(`(?m)^status +completed\n(.|\n)*slow_compute cli: done after 0.5 s\n$`).MatchString(stdout) {
				t.Errorf("task get: exit %d, stdout:\n%s", code, stdout)
			}
			code, stdout, _ = call("--json", "task", "get", id)
			var task struct{ TaskID, Status string }
			if err := json.Unmarshal([]byte(stdout), &task); code != 0 || err != nil || task.TaskID != id || task.Status != "completed" {
				t.Errorf("--json task get: exit %d, %v, stdout:\n%s", code, err, stdout)
			}

			for _, tt := range []struct {
				args    []string
				wantErr string // the last line of stderr
			}{
				{[]string{"tool", "failing_job", "--task"}, `^mcplambda: call: tool failing_job returned an error: failing_job: the job failed, as it always does$`},
				{[]string{"tool", "protocol_error_job", "--task"}, `^mcplambda: call: task \S+ failed: JSON-RPC error -32603: internal error in tool protocol_error_job$`},
				{[]string{"tool", "failing_job"}, `^mcplambda: call: tool: JSON-RPC error -32021: tool "failing_job" needs the io.modelcontextprotocol/tasks extension`},
				{[]string{"task", "get", "nope"}, `^mcplambda: call: task: JSON-RPC error -32602: task not found: "nope" is unknown, expired, or not yours$`},
				{[]string{"--timeout", "3s", "tool", "slow_compute", "--arg", "seconds=30", "--task"}, `^mcplambda: call: task (\S+) is still working after --timeout 3s; follow it with: mcplambda call .* task get (\S+)$`},
			} {
				code, _, stderr := call(tt.args...)
				lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
				last := lines[len(lines)-1]
				if code != 1 || !regexp.MustCompile(tt.wantErr).MatchString(last) {
					t.Errorf("call %s: exit %d, stderr:\n%s\nwant exit 1 and a last line matching %s", strings.Join(tt.args, " "), code, stderr, tt.wantErr)
					continue
				}
				if m := regexp.MustCompile(`task (\S+) is still working`).FindStringSubmatch(last); m != nil {
					// Cancel the task left running, and see it cancelled.
					if code, stdout, stderr := call("task", "cancel", m[1]); code != 0 || stdout != "cancel of task "+m[1]+" acknowledged\n" {
						t.Errorf("task cancel: exit %d, stdout %q, stderr %q", code, stdout, stderr)
					}
					if code, stdout, stderr := call("task", "get", m[1]); code != 1 || !strings.Contains(stdout, "cancelled") || !strings.Contains(stderr, "was cancelled: cancelled by the client") {
						t.Errorf("task get of a cancelled task: exit %d, stdout %q, stderr %q", code, stdout, stderr)
					}
				}
			}
		})
	}

	t.Run("progress", func(t *testing.T) {
		t.Parallel()
		testCallTaskProgress(t)
	})

	t.Run("usage", func(t *testing.T) {
		for _, tt := range []callCase{
			{args: []string{"tools", "--task"}, wantCode: 2, wantErr: `call tools: --task is for tool`},
			{args: []string{"task", "frob", "x"}, wantCode: 2, wantErr: `call task: want get ID or cancel ID`},
			{args: []string{"task", "get"}, wantCode: 2, wantErr: `call task: want get ID or cancel ID`},
			{args: []string{"--protocol", "2025-11-25", "tool", "x", "--task"}, wantCode: 2, wantErr: `call: tasks need --protocol 2026-07-28`},
		} {
			tt.check(t, []string{dev.mcpURL})
		}
	})
}

// testCallTaskProgress follows a task of testdata/taskfn whose tool goes
// on until the test opens a gate, which it does once call has shown the
// tool's progress.
func testCallTaskProgress(t *testing.T) {
	dev := startDev(t, "--addr", "127.0.0.1:0", "--instances", "2", binary(t, "taskfn"))
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		default:
			w.WriteHeader(http.StatusLocked)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, "mcplambda"), "call", dev.mcpURL, "tool", "work", "--args", `{"seconds":0,"gate":"`+srv.URL+`"}`, "--task")
	cmd.Env = append(os.Environ(), awsEnv...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(stderr)
	progress := regexp.MustCompile(`^mcplambda: task \S+: working: pid [0-9]+$`)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if progress.MatchString(sc.Text()) {
			close(gate)
			break
		}
	}
	io.Copy(io.Discard, stderr)
	if err := cmd.Wait(); err != nil || !strings.HasPrefix(stdout.String(), "worked ") {
		t.Fatalf("call tool work --task: %v, stdout %q, stderr:\n%s", err, stdout.String(), strings.Join(lines, "\n"))
	}
	if len(lines) < 2 || !progress.MatchString(lines[len(lines)-1]) {
		t.Errorf("stderr before the gate opened:\n%s\nwant the task created, then its progress", strings.Join(lines, "\n"))
	}
}
