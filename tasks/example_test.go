package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A tool that becomes a task, served locally (its runs are goroutines of
// the process), and a client that follows the task to its result.
func Example() {
	type reportArgs struct {
		Year int `json:"year"`
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "reports", Version: "v1"}, nil)
	m := tasks.New(server, state.NewMemory(nil), nil)
	defer m.Close()
	tasks.AddTool(m, &mcp.Tool{Name: "annual_report", Description: "Builds a report (takes a while)"},
		func(ctx context.Context, req *mcp.CallToolRequest, a reportArgs) (*mcp.CallToolResult, any, error) {
			req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: req.Params.GetProgressToken(), Progress: 1, Total: 2, Message: "collecting figures",
			})
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("report %d: all good", a.Year)}}}, nil, nil
		}, &tasks.ToolOptions{Support: tasks.Required, PollInterval: 10 * time.Millisecond})
	srv := httptest.NewServer(mcplambda.NewHandler(server, nil)) // in main: mcplambda.Start
	defer srv.Close()

	// A client that declares the extension.
	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "v1"}, &mcp.ClientOptions{Capabilities: tasks.ClientCapabilities(nil)})
	tasks.RegisterClient(client)
	cs, err := client.Connect(ctx, tasks.ClientTransport(&mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "annual_report", Arguments: map[string]any{"year": 2026}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", task.Status)
	for !task.Status.Terminal() {
		time.Sleep(time.Duration(task.PollIntervalMs) * time.Millisecond)
		if task, err = tasks.Get(ctx, cs, task.TaskID); err != nil {
			log.Fatal(err)
		}
	}
	var res mcp.CallToolResult
	if err := json.Unmarshal(task.Result, &res); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ended:", task.Status, res.Content[0].(*mcp.TextContent).Text)
	// Output:
	// created: working
	// ended: completed report 2026: all good
}
