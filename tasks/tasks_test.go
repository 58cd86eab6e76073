package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/tasks"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// fixture is a server with task tools, served over HTTP by mcplambda's
// handler, and a store the test can look into.
type fixture struct {
	t       *testing.T
	url     string
	store   state.Store
	manager *tasks.Manager
	release chan struct{} // closed: "wait" tools return
	started chan string   // task ids of "wait" runs, as they start
}

type fixtureOptions struct {
	store   state.Store
	options *tasks.Options
}

// bearerIsPrincipal authenticates a request whose bearer token is the
// principal's name, through go-sdk's own middleware: package identity
// then reports the token's UserID as the principal.
func bearerIsPrincipal(next http.Handler) http.Handler {
	verify := func(_ context.Context, token string, _ *http.Request) (*sdkauth.TokenInfo, error) {
		return &sdkauth.TokenInfo{UserID: token, Expiration: time.Now().Add(time.Hour)}, nil
	}
	return sdkauth.RequireBearerToken(verify, nil)(next)
}

// withBearer adds a bearer token to every request.
type withBearer struct {
	token string
	base  http.RoundTripper
}

func (b *withBearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func newFixture(t *testing.T, fo *fixtureOptions) *fixture {
	t.Helper()
	if fo == nil {
		fo = &fixtureOptions{}
	}
	f := &fixture{t: t, store: fo.store, release: make(chan struct{}), started: make(chan string, 16)}
	if f.store == nil {
		f.store = state.NewMemory(nil)
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "tasks-test", Version: "v1"}, nil)
	m := tasks.New(server, f.store, fo.options)
	f.manager = m
	t.Cleanup(func() {
		f.releaseAll()
		m.Close()
	})
	type nameArgs struct {
		Name string `json:"name"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "greet"}, func(ctx context.Context, req *mcp.CallToolRequest, a nameArgs) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "Hello, " + a.Name + "!"}}}, nil, nil
	})
	tasks.AddTool(m, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, a nameArgs) (*mcp.CallToolResult, any, error) {
		id, _ := tasks.TaskID(ctx)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "echo " + a.Name + " as task " + fmt.Sprint(id != "")}}}, nil, nil
	}, nil)
	tasks.AddTool(m, &mcp.Tool{Name: "wait"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
		id, _ := tasks.TaskID(ctx)
		f.started <- id
		req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: req.Params.GetProgressToken(), Progress: 1, Total: 2, Message: "halfway"})
		select {
		case <-f.release:
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "released"}}}, nil, nil
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}, &tasks.ToolOptions{Support: tasks.Required})
	tasks.AddTool(m, &mcp.Tool{Name: "later"}, func(ctx context.Context, req *mcp.CallToolRequest, a nameArgs) (*mcp.CallToolResult, any, error) {
		time.Sleep(300 * time.Millisecond)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "later: " + a.Name}}}, nil, nil
	}, &tasks.ToolOptions{Support: tasks.Required, PollInterval: 100 * time.Millisecond})
	tasks.AddTool(m, &mcp.Tool{Name: "chunks"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
		done := req.Params.RequestState + "+"
		if len(done) < 3 {
			return tasks.Continue(done), nil, nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "runs: " + done}}}, nil, nil
	}, nil)
	tasks.AddTool(m, &mcp.Tool{Name: "hang"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
		id, _ := tasks.TaskID(ctx)
		f.started <- id
		<-f.release // ignores ctx, reports no progress
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "finally"}}}, nil, nil
	}, nil)
	tasks.AddTool(m, &mcp.Tool{Name: "fail"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
		return nil, nil, errors.New("it broke")
	}, nil)
	tasks.AddTool(m, &mcp.Tool{Name: "panic"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
		panic("boom")
	}, nil)
	tasks.AddTool(m, &mcp.Tool{Name: "confirm"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
		r, _ := req.Params.InputResponses["ok"].(*mcp.ElicitResult)
		if r == nil || r.Action != "accept" {
			return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"ok": &mcp.ElicitParams{Message: "Sure?", RequestedSchema: map[string]any{"type": "object"}}}}, nil, nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "confirmed with state " + req.Params.RequestState}}}, nil, nil
	}, nil)
	tasks.AddTool(m, &mcp.Tool{Name: "pair"}, func(ctx context.Context, req *mcp.CallToolRequest, _ any) (*mcp.CallToolResult, any, error) {
		a, _ := req.Params.InputResponses["a"].(*mcp.ElicitResult)
		b, _ := req.Params.InputResponses["b"].(*mcp.ElicitResult)
		if a == nil || b == nil {
			return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{
				"a": &mcp.ElicitParams{Message: "a?", RequestedSchema: map[string]any{"type": "object"}},
				"b": &mcp.ElicitParams{Message: "b?", RequestedSchema: map[string]any{"type": "object"}},
			}}, nil, nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("a=%v b=%v", a.Content["v"], b.Content["v"])}}}, nil, nil
	}, nil)
	srv := httptest.NewServer(mcplambda.NewHandler(server, &mcplambda.Options{Middleware: bearerIsPrincipal}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/mcp"
	return f
}

func (f *fixture) releaseAll() {
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

// connect returns a 2026-07-28 client session of principal "alice" that
// declares the extension when declare is set.
func (f *fixture) connect(declare bool) *mcp.ClientSession {
	f.t.Helper()
	return f.connectAs("alice", declare)
}

// connectAs is connect for another principal.
func (f *fixture) connectAs(principal string, declare bool) *mcp.ClientSession {
	f.t.Helper()
	opts := &mcp.ClientOptions{}
	if declare {
		opts.Capabilities = tasks.ClientCapabilities(nil)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v1"}, opts)
	if err := tasks.RegisterClient(client); err != nil {
		f.t.Fatal(err)
	}
	hc := &http.Client{Transport: &withBearer{token: principal, base: http.DefaultTransport}}
	cs, err := client.Connect(context.Background(), tasks.ClientTransport(&mcp.StreamableClientTransport{Endpoint: f.url, HTTPClient: hc, MaxRetries: -1}), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { cs.Close() })
	return cs
}

// poll polls the task until it is terminal (or in want, if given).
func poll(t *testing.T, cs *mcp.ClientSession, id string, want ...tasks.Status) *tasks.Task {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		task, err := tasks.Get(context.Background(), cs, id)
		if err != nil {
			t.Fatalf("tasks/get %s: %v", id, err)
		}
		if task.Status.Terminal() || len(want) > 0 && task.Status == want[0] {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s after 10s", id, task.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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

func code(err error) int64 {
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		return je.Code
	}
	return 0
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cs := f.connect(true)
	ctx := context.Background()

	res, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"name": "World"}})
	if err != nil || task != nil || res == nil {
		t.Fatalf("CallTool(greet) = %v, %v, %v; want a result", res, task, err)
	}

	res, task, err = tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"name": "x"}})
	if err != nil || task == nil {
		t.Fatalf("CallTool(echo) = %v, %v, %v; want a task", res, task, err)
	}
	if task.Status != tasks.Working || task.ResultType != "task" || task.TTLMs == nil || *task.TTLMs != tasks.DefaultTTL.Milliseconds() || task.PollIntervalMs != tasks.DefaultPollInterval.Milliseconds() {
		t.Errorf("CreateTaskResult = %+v", task)
	}
	done := poll(t, cs, task.TaskID)
	if done.Status != tasks.Completed || done.ResultType != "complete" {
		t.Fatalf("task = %+v, want completed", done)
	}
	if got, want := resultText(t, done.Result), "echo x as task true"; got != want {
		t.Errorf("result text = %q, want %q", got, want)
	}

	// A tool error is a completed task whose result has isError.
	_, task, _ = tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "fail"})
	done = poll(t, cs, task.TaskID)
	if done.Status != tasks.Completed || !strings.Contains(string(done.Result), `"isError":true`) {
		t.Errorf("fail task = %+v, want completed with isError", done)
	}

	// A panic is a protocol error: failed, with the error inline.
	_, task, _ = tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "panic"})
	done = poll(t, cs, task.TaskID)
	if done.Status != tasks.Failed || done.Error == nil || done.Error.Code != -32603 || done.Result != nil {
		t.Errorf("panic task = %+v, want failed with -32603", done)
	}
}

func TestProgressAndCancel(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fixtureOptions{options: &tasks.Options{ProgressInterval: time.Millisecond}})
	cs := f.connect(true)
	ctx := context.Background()
	_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "wait"})
	if err != nil || task == nil {
		t.Fatalf("CallTool(wait) = %v, %v", task, err)
	}
	<-f.started
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := tasks.Get(ctx, cs, task.TaskID)
		if err != nil {
			t.Fatal(err)
		}
		if got.StatusMessage == "halfway" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status message = %q, want the progress message", got.StatusMessage)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tasks.Cancel(ctx, cs, task.TaskID); err != nil {
		t.Fatal(err)
	}
	got, err := tasks.Get(ctx, cs, task.TaskID)
	if err != nil || got.Status != tasks.Cancelled {
		t.Fatalf("after cancel: %+v, %v; want cancelled", got, err)
	}
	// Cancelling again, or a terminal task, is acknowledged and changes nothing.
	if err := tasks.Cancel(ctx, cs, task.TaskID); err != nil {
		t.Fatal(err)
	}
}

func TestInputRequired(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cs := f.connect(true)
	ctx := context.Background()
	_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "confirm"})
	if err != nil || task == nil {
		t.Fatalf("CallTool(confirm) = %v, %v", task, err)
	}
	got := poll(t, cs, task.TaskID, tasks.InputRequired)
	if got.Status != tasks.InputRequired || len(got.InputRequests) != 1 {
		t.Fatalf("task = %+v, want input_required with one request", got)
	}
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{"ok": &mcp.ElicitResult{Action: "decline"}}); err != nil {
		t.Fatal(err)
	}
	// Declined: the tool asks again, under a new key.
	got = poll(t, cs, task.TaskID, tasks.InputRequired)
	for got.Status == tasks.Working {
		got = poll(t, cs, task.TaskID, tasks.InputRequired)
	}
	var keys []string
	for k := range got.InputRequests {
		keys = append(keys, k)
	}
	if len(keys) != 1 || keys[0] == "ok" {
		t.Fatalf("second round keys = %v, want one key other than ok", keys)
	}
	// The old key is ignored; the new one answers.
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{"ok": &mcp.ElicitResult{Action: "accept"}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := tasks.Get(ctx, cs, task.TaskID); again.Status != tasks.InputRequired {
		t.Fatalf("after an answer to a stale key: %s, want input_required", again.Status)
	}
	if err := tasks.Update(ctx, cs, task.TaskID, map[string]any{keys[0]: &mcp.ElicitResult{Action: "accept"}}); err != nil {
		t.Fatal(err)
	}
	done := poll(t, cs, task.TaskID)
	if done.Status != tasks.Completed {
		t.Fatalf("task = %+v, want completed", done)
	}
	if diff := cmp.Diff("confirmed with state ", resultText(t, done.Result)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

// TestContinue: a tool that returns Continue runs again, in a new run,
// with its state, until it returns a result.
func TestContinue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cs := f.connect(true)
	_, task, err := tasks.CallTool(context.Background(), cs, &mcp.CallToolParams{Name: "chunks"})
	if err != nil || task == nil {
		t.Fatalf("CallTool(chunks) = %v, %v", task, err)
	}
	done := poll(t, cs, task.TaskID)
	if got := resultText(t, done.Result); done.Status != tasks.Completed || got != "runs: +++" {
		t.Errorf("task = %s %q, want completed after 3 runs", done.Status, got)
	}
}

func TestGating(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cs := f.connect(false)
	ctx := context.Background()
	// An optional task tool runs at once without the extension.
	res, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"name": "y"}})
	if err != nil || task != nil || res == nil {
		t.Fatalf("CallTool(echo) = %v, %v, %v; want a result", res, task, err)
	}
	// A required one is refused with -32021.
	_, _, err = tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "wait"})
	if code(err) != -32021 {
		t.Errorf("CallTool(wait) error = %v, want -32021", err)
	}
	if _, err := tasks.Get(ctx, cs, "x"); code(err) != -32021 {
		t.Errorf("tasks/get error = %v, want -32021", err)
	}
}
