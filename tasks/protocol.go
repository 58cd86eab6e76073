package tasks

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Extension is the identifier of the MCP Tasks extension (SEP-2663): the
// key a client puts under extensions in its per-request capabilities, and
// the server in its server/discover capabilities.
const Extension = "io.modelcontextprotocol/tasks"

// The methods of the extension, and of the 2025-11-25 experimental tasks
// (SEP-1686) that share their names.
const (
	MethodGet    = "tasks/get"
	MethodUpdate = "tasks/update"
	MethodCancel = "tasks/cancel"
	// MethodResult and MethodList are the 2025-11-25 methods the extension
	// removed: tasks/result is served to 2025-11-25 clients only, and
	// tasks/list to nobody (see the package documentation).
	MethodResult = "tasks/result"
	MethodList   = "tasks/list"
)

// Status is the state of a task.
type Status string

// The statuses of a task. Completed, Failed and Cancelled are terminal: a
// task in one of them never changes again.
const (
	Working       Status = "working"
	InputRequired Status = "input_required"
	Completed     Status = "completed"
	Failed        Status = "failed"
	Cancelled     Status = "cancelled"
)

// Terminal reports whether s is a terminal status.
func (s Status) Terminal() bool { return s == Completed || s == Failed || s == Cancelled }

// Result types of SEP-2322's polymorphic results that the extension uses.
const (
	resultTypeTask     = "task"
	resultTypeComplete = "complete"
)

// Task is a task as the extension shows it: the CreateTaskResult that
// answers a tools/call which became a task (ResultType "task"), and the
// DetailedTask of tasks/get (ResultType "complete"), which adds
// InputRequests, Result or Error according to the status.
type Task struct {
	mcp.ResultBase
	// ResultType is "task" on a CreateTaskResult and "complete" on a
	// tasks/get result.
	ResultType string `json:"resultType,omitempty"`
	TaskID     string `json:"taskId"`
	Status     Status `json:"status"`
	// StatusMessage says what the task is doing (a tool's latest progress
	// message), or why it failed or was cancelled.
	StatusMessage string    `json:"statusMessage,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	LastUpdatedAt time.Time `json:"lastUpdatedAt"`
	// TTLMs is how long after CreatedAt the task may be forgotten, in
	// milliseconds; nil means never (this server always sets one).
	TTLMs *int64 `json:"ttlMs"`
	// PollIntervalMs is how often the client should poll, in milliseconds.
	PollIntervalMs int64 `json:"pollIntervalMs,omitempty"`
	// InputRequests are the outstanding requests of an input_required
	// task, by key: {"method": "elicitation/create", "params": {...}}.
	// Answer them with tasks/update.
	InputRequests map[string]json.RawMessage `json:"inputRequests,omitempty"`
	// Result is the CallToolResult of a completed task, also when the tool
	// reported an error (isError).
	Result json.RawMessage `json:"result,omitempty"`
	// Error is the JSON-RPC error of a failed task.
	Error *Error `json:"error,omitempty"`
}

// Error is a JSON-RPC error object, as a failed task carries it.
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (JSON-RPC error %d)", e.Message, e.Code) }

// GetParams are the params of tasks/get, tasks/cancel and tasks/result.
type GetParams struct {
	mcp.ParamsBase
	TaskID string `json:"taskId"`
}

// UpdateParams are the params of tasks/update.
type UpdateParams struct {
	mcp.ParamsBase
	TaskID string `json:"taskId"`
	// InputResponses answer outstanding InputRequests of the task, by key:
	// an elicitation's {"action": "accept", "content": {...}}, a sampling
	// result, or a roots list.
	InputResponses map[string]json.RawMessage `json:"inputResponses"`
}

// Ack is the empty acknowledgement of tasks/update and tasks/cancel.
type Ack struct {
	mcp.ResultBase
	ResultType string `json:"resultType,omitempty"`
}

// legacyTask is a task as 2025-11-25 (SEP-1686) shows it: durations in
// milliseconds under other names, and no result inline.
type legacyTask struct {
	TaskID        string    `json:"taskId"`
	Status        Status    `json:"status"`
	StatusMessage string    `json:"statusMessage,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	LastUpdatedAt time.Time `json:"lastUpdatedAt"`
	TTL           *int64    `json:"ttl"`
	PollInterval  int64     `json:"pollInterval,omitempty"`
}

// relatedTaskKey is the _meta key 2025-11-25 puts on messages about a task.
const relatedTaskKey = "io.modelcontextprotocol/related-task"

// body is the result of a request handled here: any JSON object, with
// the _meta go-sdk adds to results merged in.
type body struct {
	mcp.ResultBase
	v any // marshals to a JSON object
}

func (b *body) MarshalJSON() ([]byte, error) {
	data, err := json.Marshal(b.v)
	if err != nil || len(b.Meta) == 0 {
		return data, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	meta := map[string]any{}
	if raw, ok := m["_meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, err
		}
	}
	for k, v := range b.Meta {
		if _, ok := meta[k]; !ok {
			meta[k] = v
		}
	}
	rawMeta, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	m["_meta"] = rawMeta
	return json.Marshal(m)
}

// patched is a result of go-sdk's own (initialize, tools/list) with
// members added to its JSON, for what go-sdk's types have no field for
// (the 2025-11-25 tasks capability and execution.taskSupport).
type patched struct {
	mcp.Result
	patch func(map[string]any)
}

func (p *patched) MarshalJSON() ([]byte, error) {
	data, err := json.Marshal(p.Result)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	p.patch(m)
	return json.Marshal(m)
}

// timestamp is how task times are shown: UTC, milliseconds.
func timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
