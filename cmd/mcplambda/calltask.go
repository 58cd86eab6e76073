package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tasks extension (SEP-2663) in call: "tool NAME --task" declares the
// extension, so that the server may make the call a task; call then polls
// the task (tasks/get, at the interval the server suggests), shows its
// status and progress on stderr, and prints the result as for any tool.
// "task get ID" and "task cancel ID" work on a task created before.

// taskUsage is the part of call's usage about tasks.
const taskUsage = `	tool NAME --task    call a tool declaring the tasks extension: the server may make the
	                    call a task, which call polls until it ends, showing its status
	task get ID         a task's status, and its result or error once it has ended
	task cancel ID      cancel a task (the server stops its tool)
`

// addTaskFlags registers call's flags about tasks.
func (cfg *callConfig) addTaskFlags(set *flag.FlagSet) {
	set.BoolVar(&cfg.task, "task", false, "for tool: declare the tasks extension, and follow the task the server may make of the call")
}

// checkTask checks the command line about tasks.
func (cfg *callConfig) checkTask() error {
	if cfg.task && cfg.command != "tool" {
		return usagef(callHint, "call %s: --task is for tool", cfg.command)
	}
	if cfg.command == "task" {
		if len(cfg.operands) != 2 || (cfg.operands[0] != "get" && cfg.operands[0] != "cancel") {
			return usagef(callHint, "call task: want get ID or cancel ID")
		}
	}
	if (cfg.task || cfg.command == "task") && cfg.protocol != "2026-07-28" {
		return usagef(callHint, "call: tasks need --protocol 2026-07-28 (the tasks extension)")
	}
	return nil
}

// usesTasks reports whether the command speaks the tasks extension.
func (cfg *callConfig) usesTasks() bool { return cfg.task || cfg.command == "task" }

// taskClient declares the extension in opts and returns the transport that
// sees CreateTaskResults, when the command uses tasks; t otherwise.
func (cfg *callConfig) taskClient(opts *mcp.ClientOptions, t mcp.Transport) mcp.Transport {
	if !cfg.usesTasks() {
		return t
	}
	opts.Capabilities = tasks.ClientCapabilities(opts.Capabilities)
	return tasks.ClientTransport(t)
}

// toolTask calls a tool with the extension declared and follows the task
// the server makes of it, if any.
func (c *CallCommand) toolTask(ctx context.Context, cfg *callConfig, cs *mcp.ClientSession, params *mcp.CallToolParams) error {
	name := params.Name
	res, task, err := tasks.CallTool(ctx, cs, params)
	if err != nil {
		return err
	}
	if task == nil {
		return c.printToolResult(cfg, name, res) // the server answered at once
	}
	fmt.Fprintf(c.Stderr, "mcplambda: task %s: %s\n", task.TaskID, describe(task))
	last := describe(task)
	for !task.Status.Terminal() {
		if task.Status == tasks.InputRequired {
			return &taskError{fmt.Sprintf("call: task %s needs input (%s), which call cannot give; see it with: mcplambda call %s task get %s",
				task.TaskID, strings.Join(sortedKeys(task.InputRequests), ", "), cfg.target, task.TaskID)}
		}
		wait := time.Duration(task.PollIntervalMs) * time.Millisecond
		if wait <= 0 {
			wait = time.Second
		}
		stillRunning := &taskError{fmt.Sprintf("call: task %s is still %s after --timeout %s; follow it with: mcplambda call %s task get %s", task.TaskID, task.Status, cfg.timeout, cfg.target, task.TaskID)}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait+time.Second {
			// No time for another poll and its answer.
			time.Sleep(max(time.Until(d)-time.Second, 0))
			return stillRunning
		}
		select {
		case <-ctx.Done(): // interrupted
			return stillRunning
		case <-time.After(wait):
		}
		next, err := tasks.Get(ctx, cs, task.TaskID)
		if err != nil {
			if ctx.Err() != nil {
				return stillRunning
			}
			return err
		}
		task = next
		if d := describe(task); d != last {
			fmt.Fprintf(c.Stderr, "mcplambda: task %s: %s\n", task.TaskID, d)
			last = d
		}
	}
	return c.taskOutcome(cfg, name, task)
}

// taskOutcome prints a terminal task's result, or returns its failure.
func (c *CallCommand) taskOutcome(cfg *callConfig, name string, task *tasks.Task) error {
	switch task.Status {
	case tasks.Completed:
		var res mcp.CallToolResult
		if err := json.Unmarshal(task.Result, &res); err != nil {
			return &taskError{fmt.Sprintf("call: task %s: decoding its result: %v", task.TaskID, err)}
		}
		return c.printToolResult(cfg, name, &res)
	case tasks.Failed:
		if cfg.json {
			c.printJSON(task)
		}
		if task.Error != nil {
			return &taskError{fmt.Sprintf("call: task %s failed: JSON-RPC error %d: %s", task.TaskID, task.Error.Code, task.Error.Message)}
		}
		return &taskError{fmt.Sprintf("call: task %s failed: %s", task.TaskID, task.StatusMessage)}
	default:
		if cfg.json {
			c.printJSON(task)
		}
		return &taskError{fmt.Sprintf("call: task %s was %s: %s", task.TaskID, task.Status, task.StatusMessage)}
	}
}

// taskError is how a task ended, or why call stopped following it: the
// whole message, which call prints as it is.
type taskError struct{ msg string }

func (e *taskError) Error() string { return e.msg }

// printToolResult prints a tool's result as call does for tool, and
// returns a *toolError for one with isError.
func (c *CallCommand) printToolResult(cfg *callConfig, name string, res *mcp.CallToolResult) error {
	if cfg.json {
		if err := c.printJSON(res); err != nil {
			return err
		}
	} else if !res.IsError {
		c.printContent(res.Content)
		if len(res.Content) == 0 && res.StructuredContent != nil {
			c.printJSON(res.StructuredContent)
		}
	}
	if res.IsError {
		var b strings.Builder
		for _, ct := range res.Content {
			if t, ok := ct.(*mcp.TextContent); ok {
				b.WriteString(t.Text + " ")
			}
		}
		return &toolError{name: name, text: oneLine(errors.New(b.String()))}
	}
	return nil
}

// doTask runs "task get ID" and "task cancel ID".
func (c *CallCommand) doTask(ctx context.Context, cfg *callConfig, cs *mcp.ClientSession) error {
	op, id := cfg.operands[0], cfg.operands[1]
	if op == "cancel" {
		if err := tasks.Cancel(ctx, cs, id); err != nil {
			return err
		}
		if cfg.json {
			return c.printJSON(map[string]any{"taskId": id, "cancel": "acknowledged"})
		}
		fmt.Fprintf(c.Stdout, "cancel of task %s acknowledged\n", id)
		return nil
	}
	task, err := tasks.Get(ctx, cs, id)
	if err != nil {
		return err
	}
	if cfg.json {
		return c.printJSON(task)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "task\t%s\n", task.TaskID)
	fmt.Fprintf(tw, "status\t%s\n", task.Status)
	if task.StatusMessage != "" {
		fmt.Fprintf(tw, "message\t%s\n", task.StatusMessage)
	}
	fmt.Fprintf(tw, "created\t%s\n", task.CreatedAt.Format(time.RFC3339))
	fmt.Fprintf(tw, "updated\t%s\n", task.LastUpdatedAt.Format(time.RFC3339))
	if task.TTLMs != nil {
		fmt.Fprintf(tw, "expires\t%s\n", task.CreatedAt.Add(time.Duration(*task.TTLMs)*time.Millisecond).Format(time.RFC3339))
	}
	if len(task.InputRequests) > 0 {
		fmt.Fprintf(tw, "waiting for\t%s\n", strings.Join(sortedKeys(task.InputRequests), ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if task.Status.Terminal() {
		return c.taskOutcome(cfg, "", task)
	}
	return nil
}

// describe is a task's status for people: "working: 3/10".
func describe(t *tasks.Task) string {
	if t.StatusMessage == "" {
		return string(t.Status)
	}
	return string(t.Status) + ": " + t.StatusMessage
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
