package tasks_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// counting counts the operations on a store.
type counting struct {
	state.Store
	gets, puts, deletes atomic.Int64
}

func (c *counting) Get(ctx context.Context, key string) (*state.Item, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *counting) Put(ctx context.Context, key string, value []byte, opts state.PutOptions) (int64, error) {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, value, opts)
}

func (c *counting) Delete(ctx context.Context, key string, ifVersion int64) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, key, ifVersion)
}

// ops returns the reads and writes since the last call.
func (c *counting) ops() [2]int64 {
	return [2]int64{c.gets.Swap(0), c.puts.Swap(0) + c.deletes.Swap(0)}
}

// TestStoreOps counts the store operations of each step of a task: one
// conditional write to create it, one read per tasks/get, a read and two
// writes for a run (claim, outcome), a read and a write for tasks/update
// and tasks/cancel.
func TestStoreOps(t *testing.T) {
	t.Parallel()
	store := &counting{Store: state.NewMemory(nil)}
	exec := newCaptured()
	f := newFixture(t, &fixtureOptions{store: store, options: &tasks.Options{Executor: exec}})
	cs := f.connect(true)
	ctx := context.Background()
	got := map[string][2]int64{}

	store.ops()
	_, task, _ := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"name": "x"}})
	got["create"] = store.ops()
	tasks.Get(ctx, cs, task.TaskID)
	got["tasks/get"] = store.ops()
	f.manager.Run(ctx, exec.next(t))
	got["run"] = store.ops()

	_, task, _ = tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "confirm"})
	f.manager.Run(ctx, exec.next(t))
	store.ops()
	tasks.Update(ctx, cs, task.TaskID, map[string]any{"ok": &mcp.ElicitResult{Action: "accept"}})
	got["tasks/update (last answer)"] = store.ops()
	tasks.Cancel(ctx, cs, task.TaskID)
	got["tasks/cancel"] = store.ops()

	want := map[string][2]int64{ // reads, writes
		"create":                     {0, 1},
		"tasks/get":                  {1, 0},
		"run":                        {1, 2},
		"tasks/update (last answer)": {1, 1},
		"tasks/cancel":               {1, 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("store operations [reads writes] (-want +got):\n%s", diff)
	}
}

// discard is an executor that drops runs: the benchmarks measure the
// requests, not the tools.
type discard struct{}

func (discard) Start(context.Context, tasks.Run) error { return nil }

// benchServer returns the handler of a server with one task tool on
// store, and a sync tool for comparison.
func benchServer(b *testing.B, store state.Store) http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "v1"}, nil)
	m := tasks.New(server, store, &tasks.Options{Executor: discard{}})
	b.Cleanup(func() { m.Close() })
	h := func(context.Context, *mcp.CallToolRequest, any) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil, nil
	}
	tasks.AddTool(m, &mcp.Tool{Name: "job"}, h, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "sync"}, h)
	return mcplambda.NewHandler(server, nil)
}

const benchMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"b","version":"1"},"io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`

// post serves one JSON-RPC request and returns its result.
func post(b *testing.B, h http.Handler, method, name, params string) json.RawMessage {
	body := `{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":{` + params + `,` + benchMeta + `}}`
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	r.Header.Set("Mcp-Method", method)
	r.Header.Set("Mcp-Name", name)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var resp struct {
		Result json.RawMessage
		Error  json.RawMessage
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Error != nil {
		b.Fatalf("%s: %s", method, w.Body.String())
	}
	return resp.Result
}

// BenchmarkTasks measures, in the same run, a synchronous tools/call, a
// tools/call answered with a CreateTaskResult, and a tasks/get, served
// by mcplambda's handler with the task records in memory and in DynamoDB
// Local, and reports the store operations of each.
func BenchmarkTasks(b *testing.B) {
	stores := map[string]func(b *testing.B) state.Store{
		"memory": func(*testing.B) state.Store { return state.NewMemory(nil) },
		"dynamo": func(b *testing.B) state.Store {
			client := dynamotest.Client(b)
			s, err := dynamo.New(context.Background(), client, dynamotest.NewTable(b, client), nil)
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"memory", "dynamo"} {
		store := &counting{Store: stores[name](b)}
		h := benchServer(b, store)
		report := func(b *testing.B) {
			ops := store.ops()
			b.ReportMetric(float64(ops[0])/float64(b.N), "reads/op")
			b.ReportMetric(float64(ops[1])/float64(b.N), "writes/op")
		}
		b.Run(name+"/sync-call", func(b *testing.B) {
			store.ops()
			for b.Loop() {
				post(b, h, "tools/call", "sync", `"name":"sync","arguments":{}`)
			}
			report(b)
		})
		var id string
		b.Run(name+"/create", func(b *testing.B) {
			store.ops()
			for b.Loop() {
				res := post(b, h, "tools/call", "job", `"name":"job","arguments":{}`)
				var t struct{ TaskID string }
				json.Unmarshal(res, &t)
				id = t.TaskID
			}
			report(b)
		})
		b.Run(name+"/get", func(b *testing.B) {
			store.ops()
			for b.Loop() {
				post(b, h, "tasks/get", id, `"taskId":"`+id+`"`)
			}
			report(b)
		})
	}
}
