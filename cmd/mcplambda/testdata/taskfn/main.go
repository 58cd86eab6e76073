// Command taskfn is a Lambda bootstrap for the tests of tasks under
// mcplambda dev: an MCP server whose tool "work" becomes a task kept in
// the store dynamo.StoreFromEnv opens and run by a self-invocation
// (tasks/lambdaexec). Every result carries, in _meta, the process id and
// the Lambda request id of the invocation that answered, so that a test
// sees which instance did what.
//
// work {"seconds": N} reports its process id in its progress messages
// every 100ms for N seconds, and, stopped early, writes why under
// "stopped/<task id>" in the store; with "gate": URL, it goes on until a
// GET of the URL answers 200 instead. TASKFN_LEASE sets the tasks' lease
// duration (a Go duration).
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/mcplambda/mcplambda/tasks/lambdaexec"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type workArgs struct {
	Seconds float64 `json:"seconds"`
	Gate    string  `json:"gate,omitempty"`
}

// open reports whether a GET of gate answers 200.
func open(ctx context.Context, gate string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, gate, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func main() {
	ctx := context.Background()
	store, err := dynamo.StoreFromEnv(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	exec, err := lambdaexec.FromEnv(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	lease, _ := time.ParseDuration(os.Getenv("TASKFN_LEASE"))
	server := mcp.NewServer(&mcp.Implementation{Name: "taskfn", Version: "v1"}, nil)
	m := tasks.New(server, store, &tasks.Options{Executor: exec, LeaseDuration: lease, PollInterval: 200 * time.Millisecond, ProgressInterval: 100 * time.Millisecond})
	tasks.AddTool(m, &mcp.Tool{Name: "work"}, func(ctx context.Context, req *mcp.CallToolRequest, a workArgs) (*mcp.CallToolResult, any, error) {
		id, _ := tasks.TaskID(ctx)
		end := time.Now().Add(time.Duration(a.Seconds * float64(time.Second)))
		for a.Gate != "" && !open(ctx, a.Gate) || a.Gate == "" && time.Now().Before(end) {
			req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: req.Params.GetProgressToken(), Progress: time.Until(end).Seconds(), Message: fmt.Sprintf("pid %d", os.Getpid())})
			select {
			case <-ctx.Done():
				store.Put(context.WithoutCancel(ctx), "stopped/"+id, []byte(context.Cause(ctx).Error()), state.PutOptions{TTL: time.Hour})
				return nil, nil, context.Cause(ctx)
			case <-time.After(100 * time.Millisecond):
			}
		}
		lc, _ := lambdacontext.FromContext(ctx)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("worked %gs in pid %d, request %s", a.Seconds, os.Getpid(), lc.AwsRequestID)}}}, nil, nil
	}, nil)
	// Outermost: tell the test which instance answered.
	server.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			res, err := next(ctx, method, req)
			if res != nil {
				meta := res.GetMeta()
				if meta == nil {
					meta = map[string]any{}
				}
				meta["taskfn/pid"] = os.Getpid()
				if lc, ok := lambdacontext.FromContext(ctx); ok {
					meta["taskfn/requestId"] = lc.AwsRequestID
				}
				res.SetMeta(meta)
			}
			return res, err
		}
	})
	mcplambda.Start(server, &mcplambda.Options{
		Events:   map[string]mcplambda.EventHandler{tasks.RunEvent: m.HandleEvent},
		Shutdown: func() { m.Close() },
	})
}
