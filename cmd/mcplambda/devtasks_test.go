package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// taskSession connects a 2026-07-28 client that declares the tasks
// extension to url.
func taskSession(t *testing.T, url string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, &mcp.ClientOptions{Capabilities: tasks.ClientCapabilities(nil)})
	if err := tasks.RegisterClient(client); err != nil {
		t.Fatal(err)
	}
	cs, err := client.Connect(context.Background(), tasks.ClientTransport(&mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// answeredBy is the process id of the instance that answered, from the
// _meta testdata/taskfn adds to every result.
func answeredBy(meta mcp.Meta) int {
	pid, _ := meta["taskfn/pid"].(float64)
	return int(pid)
}

var runningPID = regexp.MustCompile(`^pid ([0-9]+)$`)

// TestDevTasks runs tasks end to end under `mcplambda dev --instances 3`
// with their records in DynamoDB (DynamoDB Local): a task created on one
// instance is run by a self-invocation (an Event invocation through dev's
// Invoke API) and polled from the other instances while it runs; a task
// cancelled from another instance stops its tool; and a task whose
// executor is killed mid-run ends failed once its lease lapses.
func TestDevTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client)
	args := []string{"--addr", "127.0.0.1:0", "--instances", "3", "--timeout", "30s", "--env", "TASKFN_LEASE=2s"}
	for _, kv := range dynamotest.Env(t, table) {
		args = append(args, "--env", kv)
	}
	p := startDev(t, append(args, binary(t, "taskfn"))...)
	cs := taskSession(t, p.mcpURL)
	store, err := dynamo.New(ctx, client, table, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("dev's stderr:\n%s", p.stderr.String())
		}
	}()

	// waitRunning polls a task until its tool reports its process.
	waitRunning := func(id string) int {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			got, err := tasks.Get(ctx, cs, id)
			if err != nil {
				t.Fatalf("tasks/get: %v", err)
			}
			if m := runningPID.FindStringSubmatch(got.StatusMessage); m != nil {
				pid, _ := strconv.Atoi(m[1])
				return pid
			}
			if got.Status.Terminal() {
				t.Fatalf("task %s ended %s (%s) before running", id, got.Status, got.StatusMessage)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("task %s not running after 15s", id)
		return 0
	}

	t.Run("created, run elsewhere, polled from the others", func(t *testing.T) {
		_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "work", Arguments: map[string]any{"seconds": 1.5}})
		if err != nil || task == nil {
			t.Fatalf("CallTool(work) = %v, %v; want a task", task, err)
		}
		createdIn, _ := task.Meta["taskfn/requestId"].(string)
		runPID := waitRunning(task.TaskID)
		pollers := map[int]bool{}
		var done *tasks.Task
		for deadline := time.Now().Add(15 * time.Second); done == nil && time.Now().Before(deadline); {
			got, err := tasks.Get(ctx, cs, task.TaskID)
			if err != nil {
				t.Fatalf("tasks/get: %v", err)
			}
			if got.Status.Terminal() {
				done = got
				break
			}
			pollers[answeredBy(got.Meta)] = true
			time.Sleep(50 * time.Millisecond)
		}
		if done == nil || done.Status != tasks.Completed {
			t.Fatalf("task = %+v, want completed", done)
		}
		text := resultText(t, done.Result)
		if want := fmt.Sprintf("worked 1.5s in pid %d, request ", runPID); !strings.HasPrefix(text, want) || strings.HasSuffix(text, createdIn) {
			t.Errorf("result %q, want it from pid %d in another invocation than the create (%s)", text, runPID, createdIn)
		}
		if pollers[runPID] || len(pollers) == 0 {
			t.Errorf("polls while the tool ran were answered by %v, want other instances than the run's (%d)", pollers, runPID)
		}
	})

	t.Run("cancelled from another instance", func(t *testing.T) {
		_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "work", Arguments: map[string]any{"seconds": 20}})
		if err != nil || task == nil {
			t.Fatalf("CallTool(work) = %v, %v", task, err)
		}
		waitRunning(task.TaskID)
		if err := tasks.Cancel(ctx, cs, task.TaskID); err != nil {
			t.Fatal(err)
		}
		if got, err := tasks.Get(ctx, cs, task.TaskID); err != nil || got.Status != tasks.Cancelled {
			t.Fatalf("after tasks/cancel: %+v, %v; want cancelled", got, err)
		}
		// The tool, on the instance running it, notices within a poll
		// interval (200ms) and says why it stopped.
		deadline := time.Now().Add(10 * time.Second)
		for {
			it, err := store.Get(ctx, "stopped/"+task.TaskID)
			if err == nil {
				if !strings.Contains(string(it.Value), "cancelled") {
					t.Errorf("the tool stopped because %q, want cancelled", it.Value)
				}
				break
			}
			if !errors.Is(err, state.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("the tool did not stop within 10s of tasks/cancel: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("executor killed mid-run", func(t *testing.T) {
		_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "work", Arguments: map[string]any{"seconds": 20}})
		if err != nil || task == nil {
			t.Fatalf("CallTool(work) = %v, %v", task, err)
		}
		pid := waitRunning(task.TaskID)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("killing the instance running the task (pid %d): %v", pid, err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			got, err := tasks.Get(ctx, cs, task.TaskID)
			if err != nil {
				t.Fatalf("tasks/get: %v", err)
			}
			if got.Status == tasks.Failed {
				if got.Error == nil || !strings.Contains(got.Error.Message, "stopped without finishing") {
					t.Errorf("failed task = %+v, want an error saying its run stopped", got)
				}
				break
			}
			if got.Status != tasks.Working || time.Now().After(deadline) {
				t.Fatalf("task = %s (%s) %s after its executor was killed, want failed", got.Status, got.StatusMessage, time.Since(deadline.Add(-15*time.Second)))
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// resultText is the text of a CallToolResult in JSON.
func resultText(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var r mcp.CallToolResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("decoding result %s: %v", raw, err)
	}
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}
