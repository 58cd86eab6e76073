package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The client side, for go-sdk clients (mcplambda call, tests): go-sdk
// v1.8.0 decodes every tools/call answer as a CallToolResult, so a
// CreateTaskResult is picked off the connection by [ClientTransport].
//
//	client := mcp.NewClient(impl, &mcp.ClientOptions{Capabilities: tasks.ClientCapabilities(nil)})
//	tasks.RegisterClient(client)
//	cs, err := client.Connect(ctx, tasks.ClientTransport(transport), nil)
//	res, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "build"})
//	for task != nil && !task.Status.Terminal() {
//		time.Sleep(time.Duration(task.PollIntervalMs) * time.Millisecond)
//		task, err = tasks.Get(ctx, cs, task.TaskID)
//	}

// ClientCapabilities returns base (nil: none) with the extension
// declared, for mcp.ClientOptions.Capabilities: go-sdk then declares it
// in every 2026-07-28 request.
func ClientCapabilities(base *mcp.ClientCapabilities) *mcp.ClientCapabilities {
	var c mcp.ClientCapabilities
	if base != nil {
		c = *base
	}
	ext := map[string]any{}
	for k, v := range c.Extensions {
		ext[k] = v
	}
	ext[Extension] = map[string]any{}
	c.Extensions = ext
	return &c
}

// RegisterClient registers the extension's methods with client, for
// [Get], [Update] and [Cancel].
func RegisterClient(client *mcp.Client) error {
	if err := mcp.AddSendingCustomMethod[*GetParams, *Task](client, MethodGet); err != nil {
		return err
	}
	if err := mcp.AddSendingCustomMethod[*UpdateParams, *Ack](client, MethodUpdate); err != nil {
		return err
	}
	return mcp.AddSendingCustomMethod[*GetParams, *Ack](client, MethodCancel)
}

// Get calls tasks/get.
func Get(ctx context.Context, cs *mcp.ClientSession, id string) (*Task, error) {
	return mcp.CallCustomMethod[*GetParams, *Task](ctx, cs, MethodGet, &GetParams{TaskID: id})
}

// Update calls tasks/update with responses to the task's input requests,
// by key (an *mcp.ElicitResult, a sampling result, json.RawMessage, ...).
func Update(ctx context.Context, cs *mcp.ClientSession, id string, responses map[string]any) error {
	raw := make(map[string]json.RawMessage, len(responses))
	for k, v := range responses {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("tasks: inputResponses[%q]: %w", k, err)
		}
		raw[k] = b
	}
	_, err := mcp.CallCustomMethod[*UpdateParams, *Ack](ctx, cs, MethodUpdate, &UpdateParams{TaskID: id, InputResponses: raw})
	return err
}

// Cancel calls tasks/cancel.
func Cancel(ctx context.Context, cs *mcp.ClientSession, id string) error {
	_, err := mcp.CallCustomMethod[*GetParams, *Ack](ctx, cs, MethodCancel, &GetParams{TaskID: id})
	return err
}

// CallTool calls a tool and returns its result, or, when the server made
// the call a task, the CreateTaskResult (and a nil result). cs must have
// been connected through [ClientTransport].
func CallTool(ctx context.Context, cs *mcp.ClientSession, params *mcp.CallToolParams) (*mcp.CallToolResult, *Task, error) {
	slot := &createSlot{}
	res, err := cs.CallTool(context.WithValue(ctx, slotKey{}, slot), params)
	if err != nil {
		return nil, nil, err
	}
	if t := slot.get(); t != nil {
		return nil, t, nil
	}
	return res, nil, nil
}

type slotKey struct{}

// createSlot receives the CreateTaskResult of one CallTool.
type createSlot struct {
	mu   sync.Mutex
	task *Task
}

func (s *createSlot) get() *Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.task
}

// ClientTransport wraps a client transport so that [CallTool] can see the
// CreateTaskResult that answers its tools/call: it notes the id of each
// tools/call sent by CallTool, and decodes the answer to it when its
// resultType is "task". Other messages pass unchanged. Over
// *mcp.StreamableClientTransport it also sends the Mcp-Name header (the
// taskId) with tasks/get, tasks/update and tasks/cancel, as SEP-2663
// asks; go-sdk sends none for custom methods.
func ClientTransport(t mcp.Transport) mcp.Transport {
	if st, ok := t.(*mcp.StreamableClientTransport); ok {
		cp := *st
		hc := http.DefaultClient
		if st.HTTPClient != nil {
			hc = st.HTTPClient
		}
		hcp := *hc
		base := hcp.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		hcp.Transport = &nameHeader{base: base}
		cp.HTTPClient = &hcp
		t = &cp
	}
	return &clientTransport{t: t}
}

// nameKey holds, in a request's context, the Mcp-Name header to send.
type nameKey struct{}

// nameHeader sets the Mcp-Name header its request's context holds.
type nameHeader struct{ base http.RoundTripper }

func (n *nameHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	if name, ok := r.Context().Value(nameKey{}).(string); ok && r.Header.Get("Mcp-Name") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Mcp-Name", name)
	}
	return n.base.RoundTrip(r)
}

type clientTransport struct{ t mcp.Transport }

func (ct *clientTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	conn, err := ct.t.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &clientConn{Connection: conn, pending: map[any]*createSlot{}}, nil
}

type clientConn struct {
	mcp.Connection

	mu      sync.Mutex
	pending map[any]*createSlot // by request id; guarded by mu
}

func (c *clientConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if req, ok := msg.(*jsonrpc.Request); ok {
		switch req.Method {
		case MethodGet, MethodUpdate, MethodCancel:
			var p struct {
				TaskID string `json:"taskId"`
			}
			if json.Unmarshal(req.Params, &p) == nil && p.TaskID != "" {
				ctx = context.WithValue(ctx, nameKey{}, p.TaskID)
			}
		}
	}
	if slot, ok := ctx.Value(slotKey{}).(*createSlot); ok {
		if req, ok := msg.(*jsonrpc.Request); ok && req.Method == "tools/call" && req.ID.IsValid() {
			c.mu.Lock()
			c.pending[req.ID.Raw()] = slot
			c.mu.Unlock()
		}
	}
	return c.Connection.Write(ctx, msg)
}

func (c *clientConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	msg, err := c.Connection.Read(ctx)
	if resp, ok := msg.(*jsonrpc.Response); ok && err == nil && resp.ID.IsValid() {
		c.mu.Lock()
		slot := c.pending[resp.ID.Raw()]
		delete(c.pending, resp.ID.Raw())
		c.mu.Unlock()
		if slot != nil && resp.Error == nil {
			var probe struct {
				ResultType string `json:"resultType"`
			}
			if json.Unmarshal(resp.Result, &probe) == nil && probe.ResultType == resultTypeTask {
				t := new(Task)
				if json.Unmarshal(resp.Result, t) == nil {
					slot.mu.Lock()
					slot.task = t
					slot.mu.Unlock()
				}
			}
		}
	}
	return msg, err
}
