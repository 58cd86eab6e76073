package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/statetest"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// captured is an Executor that hands runs to the test instead of running
// them.
type captured struct{ runs chan tasks.Run }

func newCaptured() *captured { return &captured{runs: make(chan tasks.Run, 16)} }

func (c *captured) Start(_ context.Context, r tasks.Run) error {
	c.runs <- r
	return nil
}

func (c *captured) next(t *testing.T) tasks.Run {
	t.Helper()
	select {
	case r := <-c.runs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no run started")
		return tasks.Run{}
	}
}

// errorText is what a client sees of an error, with id replaced.
func errorText(err error, id string) string {
	if err == nil {
		return "<nil>"
	}
	return strings.ReplaceAll(err.Error(), id, "ID")
}

// version is the store version of task id, 0 if there is none.
func version(t *testing.T, s state.Store, id string) int64 {
	t.Helper()
	it, err := s.Get(context.Background(), "task/"+id)
	if errors.Is(err, state.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return it.Version
}

// TestUnknownExpiredForeign: another principal's task, an unknown id and
// an expired task get the same -32602 answer from tasks/get, and
// tasks/update and tasks/cancel acknowledge them and change nothing.
func TestUnknownExpiredForeign(t *testing.T) {
	t.Parallel()
	clock := statetest.NewClock()
	store := state.NewMemory(&state.MemoryOptions{Now: clock.Now})
	f := newFixture(t, &fixtureOptions{store: store, options: &tasks.Options{Now: clock.Now}})
	alice, bob := f.connectAs("alice", true), f.connectAs("bob", true)
	ctx := context.Background()

	_, task, err := tasks.CallTool(ctx, alice, &mcp.CallToolParams{Name: "wait"})
	if err != nil || task == nil {
		t.Fatalf("CallTool(wait) = %v, %v", task, err)
	}
	id := task.TaskID
	<-f.started
	before := version(t, store, id)

	_, foreign := tasks.Get(ctx, bob, id)
	if code(foreign) != -32602 {
		t.Fatalf("bob's tasks/get of alice's task: %v, want -32602", foreign)
	}
	if err := tasks.Cancel(ctx, bob, id); err != nil {
		t.Errorf("bob's tasks/cancel: %v, want an acknowledgement", err)
	}
	if err := tasks.Update(ctx, bob, id, map[string]any{"x": &mcp.ElicitResult{Action: "accept"}}); err != nil {
		t.Errorf("bob's tasks/update: %v, want an acknowledgement", err)
	}
	if got := version(t, store, id); got != before {
		t.Errorf("bob changed alice's task: version %d, want %d", got, before)
	}
	if got, err := tasks.Get(ctx, alice, id); err != nil || got.Status != tasks.Working {
		t.Errorf("alice's task after bob's attempts: %+v, %v; want working", got, err)
	}

	// The same id, unknown: the same answer.
	f.releaseAll()
	poll(t, alice, id)
	if err := store.Delete(ctx, "task/"+id, 0); err != nil {
		t.Fatal(err)
	}
	_, unknown := tasks.Get(ctx, bob, id)
	if diff := cmp.Diff(errorText(unknown, id), errorText(foreign, id)); diff != "" {
		t.Errorf("foreign and unknown answers differ (-unknown +foreign):\n%s", diff)
	}

	// Expired: the same answer too, to its owner.
	_, task, err = tasks.CallTool(ctx, alice, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"name": "e"}})
	if err != nil {
		t.Fatal(err)
	}
	poll(t, alice, task.TaskID)
	clock.Advance(tasks.DefaultTTL + time.Second)
	_, expired := tasks.Get(ctx, alice, task.TaskID)
	if diff := cmp.Diff(errorText(unknown, id), errorText(expired, task.TaskID)); diff != "" {
		t.Errorf("unknown and expired answers differ (-unknown +expired):\n%s", diff)
	}
	if err := tasks.Cancel(ctx, alice, task.TaskID); err != nil {
		t.Errorf("tasks/cancel of an expired task: %v, want an acknowledgement", err)
	}
}

// TestUpdateIgnored: tasks/update is acknowledged and changes nothing for
// a task not waiting for input, a key never asked, and a key answered
// already; a partial answer keeps the task waiting for the rest.
func TestUpdateIgnored(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cs := f.connect(true)
	ctx := context.Background()

	// Not waiting for input: working, then completed.
	_, task, _ := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "wait"})
	<-f.started
	v := version(t, f.store, task.TaskID)
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{"ok": &mcp.ElicitResult{Action: "accept"}}); err != nil {
		t.Fatalf("tasks/update of a working task: %v, want an acknowledgement", err)
	}
	if got := version(t, f.store, task.TaskID); got != v {
		t.Errorf("tasks/update of a working task wrote it (version %d -> %d)", v, got)
	}
	f.releaseAll()
	poll(t, cs, task.TaskID)
	v = version(t, f.store, task.TaskID)
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{"ok": &mcp.ElicitResult{Action: "accept"}}); err != nil {
		t.Fatalf("tasks/update of a completed task: %v", err)
	}
	if got := version(t, f.store, task.TaskID); got != v {
		t.Errorf("tasks/update of a completed task wrote it")
	}

	// Two keys: answered one at a time; a repeat and a stranger ignored.
	_, task, _ = tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "pair"})
	got := poll(t, cs, task.TaskID, tasks.InputRequired)
	if diff := cmp.Diff([]string{"a", "b"}, keysOf(got.InputRequests)); diff != "" {
		t.Fatalf("input request keys (-want +got):\n%s", diff)
	}
	answer := func(v string) *mcp.ElicitResult {
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"v": v}}
	}
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{"a": answer("first")}); err != nil {
		t.Fatal(err)
	}
	got, _ = tasks.Get(ctx, cs, task.TaskID)
	if got.Status != tasks.InputRequired || !cmp.Equal(keysOf(got.InputRequests), []string{"b"}) {
		t.Fatalf("after a partial answer: %s %v, want input_required [b]", got.Status, keysOf(got.InputRequests))
	}
	v = version(t, f.store, task.TaskID)
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{"a": answer("second"), "zzz": answer("stranger")}); err != nil {
		t.Fatal(err)
	}
	if got := version(t, f.store, task.TaskID); got != v {
		t.Errorf("a repeated key and an unknown one changed the task")
	}
	// An answer of the wrong shape to an outstanding key is refused.
	_, err := mcp.CallCustomMethod[*tasks.UpdateParams, *tasks.Ack](ctx, cs, tasks.MethodUpdate,
		&tasks.UpdateParams{TaskID: task.TaskID, InputResponses: map[string]json.RawMessage{"b": json.RawMessage(`{"nonsense":1}`)}})
	if code(err) != -32602 {
		t.Errorf("tasks/update with a malformed answer: %v, want -32602", err)
	}
	_, err = mcp.CallCustomMethod[*tasks.UpdateParams, *tasks.Ack](ctx, cs, tasks.MethodUpdate, &tasks.UpdateParams{TaskID: task.TaskID})
	if code(err) != -32602 {
		t.Errorf("tasks/update without inputResponses: %v, want -32602", err)
	}
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{"b": answer("third")}); err != nil {
		t.Fatal(err)
	}
	done := poll(t, cs, task.TaskID)
	if got, want := resultText(t, done.Result), "a=first b=third"; got != want {
		t.Errorf("result = %q, want %q", got, want)
	}

	// Cancelling a terminal task is acknowledged and changes nothing.
	v = version(t, f.store, task.TaskID)
	if err := tasks.Cancel(ctx, cs, task.TaskID); err != nil {
		t.Errorf("tasks/cancel of a completed task: %v", err)
	}
	if got, _ := tasks.Get(ctx, cs, task.TaskID); got.Status != tasks.Completed || version(t, f.store, task.TaskID) != v {
		t.Errorf("after cancelling a completed task: %s", got.Status)
	}
}

func keysOf[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slicesSort(keys)
	return keys
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestForgedRun: a task-run payload with the wrong token, or none, is
// refused (a Lambda function error through the root handler) and changes
// nothing; the real one runs the tool once, and a replay of it is
// answered without running it again.
func TestForgedRun(t *testing.T) {
	t.Parallel()
	exec := newCaptured()
	f := newFixture(t, &fixtureOptions{options: &tasks.Options{Executor: exec}})
	cs := f.connect(true)
	ctx := context.Background()
	_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"name": "n"}})
	if err != nil {
		t.Fatal(err)
	}
	run := exec.next(t)
	v := version(t, f.store, task.TaskID)
	lh := mcplambda.NewLambdaHandler(nil, &mcplambda.Options{Events: map[string]mcplambda.EventHandler{tasks.RunEvent: f.manager.HandleEvent}})
	invoke := func(payload string) ([]byte, error) { return lh.Invoke(ctx, []byte(payload)) }

	for _, payload := range []string{
		`{"mcplambda/taskRun": {"taskId": "` + task.TaskID + `", "token": "00000000000000000000000000000000"}}`,
		`{"mcplambda/taskRun": {"taskId": "` + task.TaskID + `"}}`,
		`{"mcplambda/taskRun": "nonsense"}`,
		`{"mcplambda/taskRun": {"taskId": "unknown", "token": "` + run.Token + `"}}`,
	} {
		out, err := invoke(payload)
		if payload == `{"mcplambda/taskRun": {"taskId": "unknown", "token": "`+run.Token+`"}}` {
			// An unknown task: nothing to run, not an error (it may have
			// expired before its run came).
			if err != nil || !strings.Contains(string(out), `"gone"`) {
				t.Errorf("Invoke(%s) = %s, %v; want outcome gone", payload, out, err)
			}
			continue
		}
		if !errors.Is(err, tasks.ErrRefused) {
			t.Errorf("Invoke(%s) = %s, %v; want an error wrapping ErrRefused", payload, out, err)
		}
	}
	if got := version(t, f.store, task.TaskID); got != v {
		t.Fatalf("a forged run changed the task (version %d -> %d)", v, got)
	}
	payload, _ := json.Marshal(map[string]tasks.Run{tasks.RunEvent: run})
	out, err := invoke(string(payload))
	if err != nil || !strings.Contains(string(out), `"completed"`) {
		t.Fatalf("the real run: %s, %v; want completed", out, err)
	}
	v = version(t, f.store, task.TaskID)
	if out, err := invoke(string(payload)); err != nil || !strings.Contains(string(out), `"completed"`) || version(t, f.store, task.TaskID) != v {
		t.Errorf("a replayed run: %s, %v; want outcome completed and no write", out, err)
	}
}

// TestRaceToRun: instances sharing a store, handed the same run many
// times at once (an at-least-once queue), run the tool once.
func TestRaceToRun(t *testing.T) {
	t.Parallel()
	store := state.NewMemory(nil)
	exec := newCaptured()
	var calls atomic.Int32
	var managers []*tasks.Manager
	var servers []*mcp.Server
	for range 3 {
		server := mcp.NewServer(&mcp.Implementation{Name: "race", Version: "v1"}, nil)
		m := tasks.New(server, store, &tasks.Options{Executor: exec})
		t.Cleanup(func() { m.Close() })
		tasks.AddTool(m, &mcp.Tool{Name: "count"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
			calls.Add(1)
			time.Sleep(10 * time.Millisecond)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "counted"}}}, nil, nil
		}, nil)
		managers, servers = append(managers, m), append(servers, server)
	}
	// Create the task through the first instance's handler.
	cs := connectTo(t, servers[0])
	ctx := context.Background()
	_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "count"})
	if err != nil || task == nil {
		t.Fatalf("CallTool = %v, %v", task, err)
	}
	run := exec.next(t)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if err := managers[i%3].Run(ctx, run); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("the tool ran %d times, want 1", n)
	}
	if got := poll(t, cs, task.TaskID); got.Status != tasks.Completed {
		t.Errorf("task = %s, want completed", got.Status)
	}
}

// connectTo serves server over HTTP and returns a client session that
// declares the extension.
func connectTo(t *testing.T, server *mcp.Server) *mcp.ClientSession {
	t.Helper()
	srv := httptest.NewServer(mcplambda.NewHandler(server, nil))
	t.Cleanup(srv.Close)
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, &mcp.ClientOptions{Capabilities: tasks.ClientCapabilities(nil)})
	if err := tasks.RegisterClient(client); err != nil {
		t.Fatal(err)
	}
	cs, err := client.Connect(context.Background(), tasks.ClientTransport(&mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp", MaxRetries: -1}), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// TestLostRun: a run whose lease lapses (its executor died) fails its
// task on the next tasks/get, and whatever the run does afterwards is
// discarded; a run nobody claims fails its task after StartTimeout.
func TestLostRun(t *testing.T) {
	t.Parallel()
	clock := statetest.NewClock()
	store := state.NewMemory(&state.MemoryOptions{Now: clock.Now})
	exec := newCaptured()
	// Long intervals: the heartbeat does not tick during the test.
	f := newFixture(t, &fixtureOptions{store: store, options: &tasks.Options{
		Executor: exec, Now: clock.Now, TTL: 24 * time.Hour, LeaseDuration: time.Hour, PollInterval: time.Hour, ProgressInterval: time.Hour,
	}})
	cs := f.connect(true)
	ctx := context.Background()

	_, task, _ := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "hang"})
	run := exec.next(t)
	ran := make(chan error, 1)
	go func() { ran <- f.manager.Run(ctx, run) }()
	<-f.started
	clock.Advance(time.Hour + 2*time.Second)
	got, err := tasks.Get(ctx, cs, task.TaskID)
	if err != nil || got.Status != tasks.Failed || got.Error == nil || !strings.Contains(got.StatusMessage, "stopped without finishing") {
		t.Fatalf("after the lease lapsed: %+v, %v; want failed, lease ran out", got, err)
	}
	f.releaseAll()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if again, _ := tasks.Get(ctx, cs, task.TaskID); again.Status != tasks.Failed || again.Result != nil {
		t.Errorf("after the lost run ended: %+v, want still failed", again)
	}

	_, task, _ = tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "echo"})
	run = exec.next(t)
	clock.Advance(tasks.DefaultStartTimeout + time.Second)
	got, err = tasks.Get(ctx, cs, task.TaskID)
	if err != nil || got.Status != tasks.Failed || !strings.Contains(got.StatusMessage, "never started") {
		t.Fatalf("after StartTimeout: %+v, %v; want failed, never started", got, err)
	}
	// A late run finds the task failed and runs nothing.
	out, err := f.manager.HandleEvent(ctx, mustMarshal(t, run))
	if err != nil || !strings.Contains(string(out), `"failed"`) {
		t.Errorf("a late run: %s, %v; want outcome failed", out, err)
	}
}

// TestOverrun: a tool still running at the invocation's deadline (less
// the margin) fails its task with a message naming the limit, whether it
// honours its context or ignores it.
func TestOverrun(t *testing.T) {
	t.Parallel()
	exec := newCaptured()
	f := newFixture(t, &fixtureOptions{options: &tasks.Options{Executor: exec}})
	cs := f.connect(true)
	for _, tool := range []string{"wait", "hang"} {
		t.Run(tool, func(t *testing.T) {
			ctx := context.Background()
			_, task, _ := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: tool})
			run := exec.next(t)
			// An invocation with a second left: the tool gets half of it.
			ictx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if err := f.manager.Run(ictx, run); err != nil {
				t.Fatalf("Run: %v", err)
			}
			got, err := tasks.Get(ctx, cs, task.TaskID)
			if err != nil || got.Status != tasks.Failed || got.Error == nil || got.Error.Code != -32603 || !strings.Contains(got.StatusMessage, "did not finish before the invocation's deadline") {
				t.Errorf("task = %+v, %v; want failed, did not finish", got, err)
			}
		})
	}
}

func mustMarshal(t *testing.T, r tasks.Run) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
