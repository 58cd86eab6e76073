package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The fixtures of the suite's tasks scenarios (SEP-2663). With a
// tasks.Manager they are task tools: their calls become tasks kept in the
// Manager's store and run by its executor (in Lambda, an invocation of
// their own); without one (no store configured in Lambda, see main) they
// are plain tools.
//
//   - greet: never a task.
//   - slow_compute: optional; sleeps `seconds` seconds, reporting progress
//     each second, and stops when cancelled.
//   - failing_job: required; fails with a tool error (isError) after a
//     second.
//   - protocol_error_job: optional; panics, a protocol error (failed).
//   - confirm_delete: optional; asks for a confirmation (input_required),
//     then answers.
//   - multi_input: optional; asks for a name and a confirmation at once.
//   - test_tool_with_task: required; asks for the caller's name with an
//     input_required result first (SEP-2322), and becomes a task once it
//     has it (ToolOptions.RunNow).
func addTaskFixtures(server *mcp.Server, m *tasks.Manager) {
	add := func(name, description string, opts *tasks.ToolOptions, h func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error)) {
		addTool(server, name, description, h)
		if m != nil {
			m.Enable(name, opts)
		}
	}
	type greetArgs struct {
		Name string `json:"name" jsonschema:"who to greet"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "greet", Description: "Greets by name, at once (never a task)"},
		func(_ context.Context, _ *mcp.CallToolRequest, a greetArgs) (*mcp.CallToolResult, any, error) {
			return text("Hello, %s!", a.Name), nil, nil
		})

	type computeArgs struct {
		Seconds float64 `json:"seconds" jsonschema:"how long to work"`
		Label   string  `json:"label,omitempty" jsonschema:"a name for the job"`
	}
	slow := func(ctx context.Context, req *mcp.CallToolRequest, a computeArgs) (*mcp.CallToolResult, any, error) {
		end := time.Now().Add(time.Duration(a.Seconds * float64(time.Second)))
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 1; time.Now().Before(end); i++ {
			select {
			case <-ctx.Done():
				return nil, nil, fmt.Errorf("slow_compute %s stopped after %d s: %w", a.Label, i-1, context.Cause(ctx))
			case <-tick.C:
			case <-time.After(time.Until(end)):
			}
			if t := req.Params.GetProgressToken(); t != nil {
				req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
					ProgressToken: t, Progress: float64(i), Total: a.Seconds,
					Message: fmt.Sprintf("computing %s: %d of %g s", a.Label, i, a.Seconds),
				})
			}
		}
		return text("slow_compute %s: done after %g s", a.Label, a.Seconds), nil, nil
	}
	mcp.AddTool(server, &mcp.Tool{Name: "slow_compute", Description: "Works for `seconds` seconds (a task when the client supports tasks)"}, slow)
	if m != nil {
		m.Enable("slow_compute", &tasks.ToolOptions{Support: tasks.Optional})
	}

	add("failing_job", "Fails with a tool error after a second (always a task)", &tasks.ToolOptions{Support: tasks.Required},
		func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
			res := text("failing_job: the job failed, as it always does")
			res.IsError = true
			return res, nil
		})

	add("protocol_error_job", "Panics: a protocol error (the task fails)", nil,
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			panic("protocol_error_job: deliberate panic")
		})

	type deleteArgs struct {
		Filename string `json:"filename" jsonschema:"the file to delete"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "confirm_delete", Description: "Asks for a confirmation before deleting a file (input_required)"},
		func(_ context.Context, req *mcp.CallToolRequest, a deleteArgs) (*mcp.CallToolResult, any, error) {
			answer := accepted(req.Params.InputResponses, "confirm")
			if answer == nil {
				return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"confirm": &mcp.ElicitParams{
					Message:         fmt.Sprintf("Delete %s?", a.Filename),
					RequestedSchema: objectSchema("confirm", "boolean"),
				}}}, nil, nil
			}
			if ok, _ := answer["confirm"].(bool); !ok {
				return text("Kept %s", a.Filename), nil, nil
			}
			return text("Deleted %s", a.Filename), nil, nil
		})
	if m != nil {
		m.Enable("confirm_delete", nil)
	}

	add("multi_input", "Asks for a name and a confirmation at once (two input requests)", nil,
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			name, confirm := accepted(req.Params.InputResponses, "name"), accepted(req.Params.InputResponses, "confirm")
			if name == nil || confirm == nil {
				asks := mcp.InputRequestMap{}
				if name == nil {
					asks["name"] = &mcp.ElicitParams{Message: "Your name?", RequestedSchema: objectSchema("name", "string")}
				}
				if confirm == nil {
					asks["confirm"] = &mcp.ElicitParams{Message: "Go ahead?", RequestedSchema: objectSchema("confirm", "boolean")}
				}
				return &mcp.CallToolResult{InputRequests: asks}, nil
			}
			return text("multi_input: name %v, confirmed %v", name["name"], confirm["confirm"]), nil
		})

	hasName := func(req *mcp.CallToolRequest) bool {
		name, _ := accepted(req.Params.InputResponses, "user_name")["name"].(string)
		return name != ""
	}
	add("test_tool_with_task", "Asks for the caller's name (input_required), then greets as a task", &tasks.ToolOptions{
		Support: tasks.Required,
		RunNow:  func(_ context.Context, req *mcp.CallToolRequest) bool { return !hasName(req) },
	}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if !hasName(req) {
			return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"user_name": askName()}}, nil
		}
		name, _ := accepted(req.Params.InputResponses, "user_name")["name"].(string)
		return text("Hello, %s! (from a task)", name), nil
	})
}
