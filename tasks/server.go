package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The first protocol version with the extension (and without sessions),
// and the one before it, the first with the experimental tasks (SEP-1686).
const (
	extensionProtocol    = "2026-07-28"
	experimentalProtocol = "2025-11-25"
)

// _meta keys of 2026-07-28 requests.
const (
	metaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
)

// register adds the middleware and the methods to the server.
func (m *Manager) register() {
	m.server.AddReceivingMiddleware(m.middleware)
	must(mcp.AddReceivingCustomMethod(m.server, MethodGet, m.handleGet))
	must(mcp.AddReceivingCustomMethod(m.server, MethodUpdate, m.handleUpdate))
	must(mcp.AddReceivingCustomMethod(m.server, MethodCancel, m.handleCancel))
	must(mcp.AddReceivingCustomMethod(m.server, MethodResult, m.handleResult))
	must(mcp.AddReceivingCustomMethod(m.server, MethodList, handleList))
}

// ListParams are the params of 2025-11-25's tasks/list.
type ListParams struct {
	mcp.ParamsBase
	Cursor string `json:"cursor,omitempty"`
}

// handleList answers tasks/list, for every protocol version, with -32601:
// the extension removed it, and a store keyed by task id cannot list a
// principal's tasks without an index that would cost every task a second
// write. It is registered so that a 2025-11-25 client gets the JSON-RPC
// error in a 200 response, which it can read, rather than the 400 of an
// unknown method.
func handleList(context.Context, *mcp.ServerSession, *ListParams) (mcp.Result, error) {
	return nil, rpcError(codeMethodNotFound, "%s is not served: tasks are kept by id, not listed by owner (and the %s extension removed the method)", MethodList, Extension)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// rpcError returns a JSON-RPC error.
func rpcError(code int64, format string, args ...any) error {
	return &jsonrpc.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// notFound is the one answer for an unknown, expired or foreign task.
func notFound(id string) error {
	return rpcError(codeInvalidParams, "task not found: %q is unknown, expired, or not yours", truncate(id, 64))
}

// storeFailure is the answer when the store fails (throttled beyond its
// retries, unreachable): nothing was changed, and the client may retry.
func (m *Manager) storeFailure(ctx context.Context, what string, err error) error {
	m.logger.ErrorContext(ctx, "tasks: store failed", "op", what, "err", err)
	return rpcError(codeInternal, "the task store is unavailable (%s); nothing was changed, retry later", what)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// middleware intercepts tools/call of task tools, checks the Mcp-Name
// header of tasks requests, and adds what go-sdk's results have no field
// for. What is inside it (next) is what a run calls the tool with.
func (m *Manager) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	m.next = next
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/call":
			if r, ok := req.(*mcp.CallToolRequest); ok {
				return m.callTool(ctx, next, r)
			}
		case MethodGet, MethodUpdate, MethodCancel, MethodResult:
			if err := checkNameHeader(method, req); err != nil {
				return nil, err
			}
		case "server/discover":
			res, err := next(ctx, method, req)
			if d, ok := res.(*mcp.DiscoverResult); ok && d.Capabilities != nil {
				d.Capabilities.AddExtension(Extension, nil)
			}
			return res, err
		case "initialize":
			res, err := next(ctx, method, req)
			if r, ok := res.(*mcp.InitializeResult); !ok || err != nil || !experimentalVersion(r.ProtocolVersion) {
				return res, err
			}
			return &patched{Result: res, patch: m.legacyCapabilities}, nil
		case "tools/list":
			res, err := next(ctx, method, req)
			if err != nil || res == nil || !experimentalVersion(requestProtocol(req)) {
				return res, err
			}
			return &patched{Result: res, patch: m.legacyToolList}, nil
		}
		return next(ctx, method, req)
	}
}

// legacyCapabilities adds the 2025-11-25 tasks capability to an
// initialize result: tasks/cancel, and task-augmented tools/call when a
// tool requires it. tasks/list is not offered (see the package doc).
func (m *Manager) legacyCapabilities(res map[string]any) {
	caps, _ := res["capabilities"].(map[string]any)
	if caps == nil {
		caps = map[string]any{}
		res["capabilities"] = caps
	}
	t := map[string]any{"cancel": map[string]any{}}
	if len(m.requiredTools()) > 0 {
		t["requests"] = map[string]any{"tools": map[string]any{"call": map[string]any{}}}
	}
	caps["tasks"] = t
}

// legacyToolList marks the tools that 2025-11-25 clients must call as
// tasks: execution.taskSupport "required". Optional task tools run at
// once for them, so they are not marked.
func (m *Manager) legacyToolList(res map[string]any) {
	required := m.requiredTools()
	tools, _ := res["tools"].([]any)
	for _, t := range tools {
		tool, _ := t.(map[string]any)
		if name, _ := tool["name"].(string); tool != nil && required[name] {
			tool["execution"] = map[string]any{"taskSupport": "required"}
		}
	}
}

// requestProtocol is the protocol version of req ("" if unknown).
func requestProtocol(req mcp.Request) string {
	if v, ok := req.(interface{ ProtocolVersion() string }); ok {
		return v.ProtocolVersion()
	}
	return ""
}

// legacyRequest reports whether req is of a protocol version before the
// extension (2025-11-25 and earlier).
func legacyRequest(req mcp.Request) bool { return isLegacyVersion(requestProtocol(req)) }

// experimentalVersion reports whether v has the experimental tasks of
// SEP-1686 (2025-11-25), which this package serves to such clients.
func experimentalVersion(v string) bool { return v >= experimentalProtocol && v < extensionProtocol }

// declares reports whether the request's own client capabilities (its
// _meta) declare the extension.
func declares(params mcp.Params) bool {
	meta := params.GetMeta()
	if meta == nil {
		return false
	}
	raw, err := json.Marshal(meta[metaClientCapabilities])
	if err != nil {
		return false
	}
	var caps struct {
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	if json.Unmarshal(raw, &caps) != nil {
		return false
	}
	v, ok := caps.Extensions[Extension]
	return ok && string(v) != "null"
}

// metaVersion is the protocol version in a request's _meta ("" before
// 2026-07-28, which has none).
func metaVersion(params mcp.Params) string {
	v, _ := params.GetMeta()[metaProtocolVersion].(string)
	return v
}

// missingCapability is the -32021 error of a 2026-07-28 request that
// needs the extension and does not declare it.
func missingCapability(what string) error {
	return &jsonrpc.Error{
		Code:    codeMissingCapability,
		Message: fmt.Sprintf("%s needs the %s extension: declare it in the request's client capabilities", what, Extension),
		Data:    mustJSON(mcp.MissingRequiredClientCapabilityData{RequiredCapabilities: &mcp.ClientCapabilities{Extensions: map[string]any{Extension: map[string]any{}}}}),
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// checkNameHeader enforces SEP-2663's routing header over 2026-07-28 HTTP:
// an Mcp-Name header must equal params.taskId (SEP-2243's rule, which
// go-sdk enforces for tools/call, resources/read and prompts/get). A
// missing one is tolerated: go-sdk v1.8.0's client sends none with
// custom methods.
func checkNameHeader(method string, req mcp.Request) error {
	extra := req.GetExtra()
	if extra == nil || extra.Header == nil {
		return nil // not HTTP
	}
	if v := extra.Header.Get("Mcp-Protocol-Version"); v == "" || v < extensionProtocol {
		return nil
	}
	var id string
	switch p := req.GetParams().(type) {
	case *GetParams:
		id = p.TaskID
	case *UpdateParams:
		id = p.TaskID
	default:
		return nil
	}
	name, ok := extra.Header["Mcp-Name"]
	if !ok || len(name) == 0 {
		return nil
	}
	if trimmed := trimOWS(name[0]); trimmed != id {
		return rpcError(codeHeaderMismatch, "header mismatch: Mcp-Name header value %q does not match params.taskId %q of %s", truncate(trimmed, 64), truncate(id, 64), method)
	}
	return nil
}

// trimOWS removes the optional whitespace around a header value (RFC 9110
// section 5.5).
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// callTool answers a tools/call: a call of a task tool may become a task,
// anything else goes on.
func (m *Manager) callTool(ctx context.Context, next mcp.MethodHandler, req *mcp.CallToolRequest) (mcp.Result, error) {
	opts, ok := m.tool(req.Params.Name)
	if !ok {
		return next(ctx, "tools/call", req)
	}
	if legacyRequest(req) {
		switch {
		case opts.Support != Required:
			return next(ctx, "tools/call", req)
		case !experimentalVersion(requestProtocol(req)):
			// A client of a version without tasks (2025-06-18 and earlier).
			return nil, rpcError(codeMethodNotFound, "tool %q runs only as a task: call it with protocol version %s or later", req.Params.Name, experimentalProtocol)
		}
		return m.create(ctx, req, opts, true)
	}
	if !declares(req.Params) {
		if opts.Support == Required {
			return nil, missingCapability(fmt.Sprintf("tool %q", req.Params.Name))
		}
		return next(ctx, "tools/call", req)
	}
	if opts.RunNow != nil && opts.RunNow(ctx, req) {
		return next(ctx, "tools/call", req)
	}
	return m.create(ctx, req, opts, false)
}

// create makes the call a task: one conditional write, so that the task
// is readable before the CreateTaskResult is sent, then the executor is
// asked to run it.
func (m *Manager) create(ctx context.Context, req *mcp.CallToolRequest, opts ToolOptions, legacy bool) (mcp.Result, error) {
	now := m.opts.Now()
	rec := &record{
		Owner:   identity.Principal(ctx),
		Tool:    req.Params.Name,
		Args:    req.Params.Arguments,
		Legacy:  legacy,
		Status:  Working,
		Created: now,
		Updated: now,
		TTL:     m.ttl(opts).Milliseconds(),
		Poll:    m.pollInterval(opts).Milliseconds(),
		Run:     &runState{N: 1, Token: newToken(), StartBy: now.Add(m.opts.StartTimeout)},
	}
	if id, ok := identity.FromContext(ctx); ok {
		rec.Caller = &caller{Principal: id.Principal, Source: id.Source, Issuer: id.Issuer, Subject: id.Subject, Scopes: id.Scopes}
	}
	if meta := req.Params.GetMeta(); meta != nil && meta[metaClientCapabilities] != nil {
		rec.Caps, _ = json.Marshal(meta[metaClientCapabilities])
	}
	if len(req.Params.InputResponses) > 0 {
		// The final round of an input_required exchange (ToolOptions.RunNow):
		// the run sees the same answers and state.
		rec.Answers = map[string]json.RawMessage{}
		for k, v := range req.Params.InputResponses {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, rpcError(codeInvalidParams, "inputResponses[%q]: %v", k, err)
			}
			rec.Answers[k] = b
		}
		rec.State = req.Params.RequestState
	}
	var id string
	var err error
	for range 3 { // a collision of 160 random bits is not expected; a retry is cheap
		id = newID()
		if _, err = m.store.put(ctx, id, rec, 0); !errors.Is(err, state.ErrConflict) {
			break
		}
	}
	switch {
	case errors.Is(err, state.ErrTooLarge):
		return nil, rpcError(codeInvalidParams, "the call is too large to keep as a task: %v", err)
	case err != nil:
		return nil, m.storeFailure(ctx, "create", err)
	}
	if err := m.start(ctx, Run{TaskID: id, Token: rec.Run.Token}); err != nil {
		// The run could not be handed over: take the task back, so that
		// the client sees an error rather than a task that never runs.
		m.store.s.Delete(context.WithoutCancel(ctx), keyPrefix+id, 0)
		m.logger.ErrorContext(ctx, "tasks: cannot start a run", "task", id, "tool", rec.Tool, "err", err)
		return nil, rpcError(codeInternal, "could not start tool %s as a task: %v", rec.Tool, err)
	}
	m.logger.InfoContext(ctx, "tasks: created", "task", id, "tool", rec.Tool, "principal", rec.Owner, "legacy", legacy)
	if legacy {
		return &body{v: map[string]any{"task": legacyView(id, rec)}}, nil
	}
	return view(id, rec, false), nil
}

// requestVersion is the protocol version of a tasks request: its _meta's,
// or else the session's (2025-11-25 clients).
func requestVersion(ss *mcp.ServerSession, params mcp.Params) string {
	if v := metaVersion(params); v != "" {
		return v
	}
	if ss != nil {
		if p := ss.InitializeParams(); p != nil {
			return p.ProtocolVersion
		}
	}
	return ""
}

func isLegacyVersion(v string) bool { return v != "" && v < extensionProtocol }

// checkTasksRequest gates a tasks request of the extension on the
// request's declaration of it.
func checkTasksRequest(method string, params mcp.Params) error {
	if !declares(params) {
		return missingCapability(method)
	}
	return nil
}

// handleGet answers tasks/get with one read (and, for a task whose run is
// lost, one write that fails it).
func (m *Manager) handleGet(ctx context.Context, ss *mcp.ServerSession, p *GetParams) (mcp.Result, error) {
	legacy := isLegacyVersion(requestVersion(ss, p))
	if !legacy {
		if err := checkTasksRequest(MethodGet, p); err != nil {
			return nil, err
		}
	}
	rec, err := m.lookup(ctx, p.TaskID)
	if err != nil {
		return nil, err
	}
	if legacy {
		return &body{v: legacyView(p.TaskID, rec)}, nil
	}
	return view(p.TaskID, rec, true), nil
}

// lookup reads the caller's task id, failing a task whose run is lost.
func (m *Manager) lookup(ctx context.Context, id string) (*record, error) {
	if id == "" {
		return nil, rpcError(codeInvalidParams, "params.taskId is required")
	}
	rec, v, err := m.store.get(ctx, id)
	switch {
	case errors.Is(err, errNotFound):
		return nil, notFound(id)
	case err != nil:
		return nil, m.storeFailure(ctx, "get", err)
	case rec.Owner != identity.Principal(ctx):
		return nil, notFound(id)
	}
	if msg, lost := rec.lapsed(m.opts.Now()); lost {
		rec.fail(m.opts.Now(), msg)
		if _, err := m.store.put(ctx, id, rec, v); err != nil {
			// Someone else moved the task on (a late claim, a run's last
			// word, another poll): show what they wrote.
			if rec, _, err = m.store.get(ctx, id); err != nil {
				return nil, notFound(id)
			}
		} else {
			m.logger.WarnContext(ctx, "tasks: run lost", "task", id, "tool", rec.Tool, "reason", msg)
		}
	}
	return rec, nil
}

// handleUpdate answers tasks/update: always an empty acknowledgement for
// a valid request (also for an unknown task, a task not waiting for
// input, and keys it is not waiting for, which are ignored). Answers
// accumulate; when the last outstanding request is answered, the task
// goes back to working and a new run of the tool gets them all.
func (m *Manager) handleUpdate(ctx context.Context, ss *mcp.ServerSession, p *UpdateParams) (mcp.Result, error) {
	if isLegacyVersion(requestVersion(ss, p)) {
		return nil, rpcError(codeMethodNotFound, "%s is not part of protocol version %s", MethodUpdate, requestVersion(ss, p))
	}
	if err := checkTasksRequest(MethodUpdate, p); err != nil {
		return nil, err
	}
	if p.InputResponses == nil {
		return nil, rpcError(codeInvalidParams, "params.inputResponses is required (an object)")
	}
	ack := &Ack{ResultType: resultTypeComplete}
	principal := identity.Principal(ctx)
	var run *Run
	var invalid error
	rec, _, err := m.store.update(ctx, p.TaskID, func(rec *record) (bool, error) {
		run, invalid = nil, nil
		if rec.Owner != principal || rec.Status != InputRequired {
			return false, nil
		}
		answered := 0
		for key, resp := range p.InputResponses {
			toolKey, ok := rec.InputKeys[key]
			if _, outstanding := rec.Inputs[key]; !ok || !outstanding {
				continue // never asked, already answered, or superseded
			}
			if err := checkResponse(resp); err != nil {
				invalid = rpcError(codeInvalidParams, "inputResponses[%q]: %v", truncate(key, 64), err)
				return false, nil
			}
			if rec.Answers == nil {
				rec.Answers = map[string]json.RawMessage{}
			}
			rec.Answers[toolKey] = resp
			delete(rec.Inputs, key)
			answered++
		}
		if answered == 0 {
			return false, nil
		}
		now := m.opts.Now()
		rec.Updated = now
		if len(rec.Inputs) == 0 {
			rec.Status = Working
			rec.Message = ""
			rec.Inputs, rec.InputKeys = nil, nil
			rec.Run = &runState{N: rec.Run.N + 1, Token: newToken(), StartBy: now.Add(m.opts.StartTimeout)}
			run = &Run{TaskID: p.TaskID, Token: rec.Run.Token}
		}
		return true, nil
	})
	switch {
	case errors.Is(err, errNotFound):
		return ack, nil
	case err != nil:
		return nil, m.storeFailure(ctx, "update", err)
	case invalid != nil:
		return nil, invalid
	}
	if run != nil {
		m.logger.InfoContext(ctx, "tasks: input received, running again", "task", p.TaskID, "tool", rec.Tool, "run", rec.Run.N)
		if err := m.start(ctx, *run); err != nil {
			m.failStart(ctx, *run, err)
		}
	}
	return ack, nil
}

// checkResponse checks that an input response is one go-sdk can give a
// tool: an elicitation, sampling or roots result.
func checkResponse(resp json.RawMessage) error {
	var m mcp.InputResponseMap
	return json.Unmarshal(append(append([]byte(`{"r":`), resp...), '}'), &m)
}

// failStart fails the task of a run that could not be started.
func (m *Manager) failStart(ctx context.Context, r Run, err error) {
	m.logger.ErrorContext(ctx, "tasks: cannot start a run", "task", r.TaskID, "err", err)
	msg := fmt.Sprintf("could not start the tool's run: %v", err)
	m.store.update(context.WithoutCancel(ctx), r.TaskID, func(rec *record) (bool, error) {
		if rec.Status != Working || rec.Run == nil || !tokenEqual(rec.Run.Token, r.Token) || rec.Run.Owner != "" {
			return false, nil
		}
		rec.fail(m.opts.Now(), msg)
		return true, nil
	})
}

// handleCancel answers tasks/cancel. A task that is not terminal becomes
// cancelled at once; a running tool's context is cancelled (at once in
// this process, at its next lease renewal elsewhere) and whatever it
// returns is discarded. The extension's answer is an empty
// acknowledgement, also for unknown and terminal tasks; 2025-11-25's is
// the cancelled task, and -32602 for a terminal one.
func (m *Manager) handleCancel(ctx context.Context, ss *mcp.ServerSession, p *GetParams) (mcp.Result, error) {
	legacy := isLegacyVersion(requestVersion(ss, p))
	if !legacy {
		if err := checkTasksRequest(MethodCancel, p); err != nil {
			return nil, err
		}
	}
	principal := identity.Principal(ctx)
	var wasTerminal bool
	rec, _, err := m.store.update(ctx, p.TaskID, func(rec *record) (bool, error) {
		wasTerminal = false
		if rec.Owner != principal {
			return false, errNotFound
		}
		if rec.Status.Terminal() {
			wasTerminal = true
			return false, nil
		}
		rec.Status = Cancelled
		rec.Message = "cancelled by the client"
		rec.Inputs, rec.InputKeys, rec.Answers = nil, nil, nil
		rec.Updated = m.opts.Now()
		return true, nil
	})
	switch {
	case errors.Is(err, errNotFound):
		if legacy {
			return nil, notFound(p.TaskID)
		}
		return &Ack{ResultType: resultTypeComplete}, nil
	case err != nil:
		return nil, m.storeFailure(ctx, "cancel", err)
	}
	if !wasTerminal {
		m.logger.InfoContext(ctx, "tasks: cancelled", "task", p.TaskID, "tool", rec.Tool)
		m.mu.Lock()
		if r := m.running[p.TaskID]; r != nil {
			r.cancel()
		}
		m.mu.Unlock()
	}
	if !legacy {
		return &Ack{ResultType: resultTypeComplete}, nil
	}
	if wasTerminal {
		return nil, rpcError(codeInvalidParams, "task %s is already %s", p.TaskID, rec.Status)
	}
	return &body{v: legacyView(p.TaskID, rec)}, nil
}

// handleResult answers 2025-11-25's tasks/result: once the task is
// terminal, what the tools/call would have answered, with the
// related-task _meta; until then it waits, polling the store, as long as
// the request may (in Lambda, the invocation's deadline less a margin).
// The extension removed the method: -32601.
func (m *Manager) handleResult(ctx context.Context, ss *mcp.ServerSession, p *GetParams) (mcp.Result, error) {
	if !isLegacyVersion(requestVersion(ss, p)) {
		return nil, rpcError(codeMethodNotFound, "%s is not part of the %s extension: the result is inline in %s", MethodResult, Extension, MethodGet)
	}
	for {
		rec, err := m.lookup(ctx, p.TaskID)
		if err != nil {
			return nil, err
		}
		if rec.Status.Terminal() {
			return legacyResult(p.TaskID, rec)
		}
		wait := min(time.Duration(rec.Poll)*time.Millisecond, time.Second)
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return nil, rpcError(codeInternal, "task %s is still %s; call %s again", p.TaskID, rec.Status, MethodResult)
		}
		select {
		case <-ctx.Done():
			return nil, rpcError(codeInternal, "task %s is still %s; call %s again", p.TaskID, rec.Status, MethodResult)
		case <-time.After(wait):
		}
	}
}

// legacyResult is the tools/call answer of a terminal task.
func legacyResult(id string, rec *record) (mcp.Result, error) {
	switch rec.Status {
	case Completed:
		var res map[string]any
		if err := json.Unmarshal(rec.Result, &res); err != nil {
			return nil, rpcError(codeInternal, "task %s: corrupt result", id)
		}
		meta, _ := res["_meta"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta[relatedTaskKey] = map[string]string{"taskId": id}
		res["_meta"] = meta
		return &body{v: res}, nil
	case Failed:
		e := rec.Error
		if e == nil {
			e = &Error{Code: codeInternal, Message: rec.Message}
		}
		return nil, &jsonrpc.Error{Code: e.Code, Message: e.Message, Data: e.Data}
	default:
		return nil, rpcError(codeInternal, "task %s was %s: %s", id, rec.Status, rec.Message)
	}
}

// isToolError reports whether a CallToolResult has isError set.
func isToolError(result json.RawMessage) bool {
	var r struct {
		IsError bool `json:"isError"`
	}
	return json.Unmarshal(result, &r) == nil && r.IsError
}
