package mcplambda

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Requests to the client (elicitation/create, sampling/createMessage,
// roots/list, ping) for legacy sessions, across Lambda instances.
//
// A legacy client (2025-11-25, 2025-06-18, 2025-03-26) gets such a request
// on the response stream of the call that sends it, and answers in a new
// POST. In Lambda that POST is another invocation, usually on another
// instance (the waiting one is busy), so the answer cannot be handed over
// in memory. With Options.Sessions the session store is the rendezvous:
//
//  1. Before the request goes out, a pending record is written under
//     "s2c/SESSION/ID" (one conditional write). ID is ours, not go-sdk's:
//     every invocation connects a fresh go-sdk session that numbers its
//     requests from 1, so the client sees "mcplambda-" and 128 random
//     bits, unique in the session across invocations, and the answer is
//     mapped back to go-sdk's id.
//  2. The answer arrives on any instance. The session path checks the
//     caller against the session's owner as for any request of the
//     session, then the record: it must exist, be unanswered and belong
//     to the same owner digest; the answer is stored into it with a
//     compare-and-swap (one read, one conditional write). An answer that
//     matches no outstanding request of the caller's session, whether
//     unknown, already answered, expired or another's, gets one and the
//     same refusal; in a session the caller does not own, the 404 of any
//     such session.
//  3. The waiting call polls the record (reads from pollFirst doubling to
//     pollMax: at most 8 reads in the first second, then 4 a second) and
//     hands the answer to go-sdk as the response to its request. Without
//     an answer it gives up shortly before its handler's deadline (the
//     invocation's, less a margin) with an error naming the method, and
//     deletes the record, so that a late answer is refused like any
//     other.
//
// Whether a request can reach the client at all is decided before any of
// this, by toClient: only a legacy session whose response streams to the
// client (local HTTP, or a function URL or REST API that streams) can
// carry one; otherwise the tool's request fails at once with an error
// that says why and what to change.

const (
	// requestIDPrefix starts the ids of requests to the client, followed
	// by rand.Text's 26 base32 characters (128 bits).
	requestIDPrefix = "mcplambda-"
	requestIDText   = 26
	// pollFirst and pollMax bound the polling of a waiting call.
	pollFirst = 5 * time.Millisecond
	pollMax   = 250 * time.Millisecond
	// maxWait bounds a wait whose call has no deadline (local serving).
	maxWait = 15 * time.Minute
	// recordGrace keeps a pending record a little past its wait, so that
	// the waiter's last look still finds it.
	recordGrace = 30 * time.Second
	// maxReplyBytes is the largest answer a pending record can hold, with
	// room left for the record's other fields.
	maxReplyBytes = state.MaxValueBytes - 1024
)

// pendingRecord is a request to the client, under pendingKey.
type pendingRecord struct {
	Owner  string `json:"owner"` // ownerDigest of the session's principal
	Method string `json:"method"`
	// Reply is the client's answer, once it has arrived.
	Reply *storedReply `json:"reply,omitempty"`
}

// storedReply is the client's answer: its result, or its error object.
type storedReply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func pendingKey(session, id string) string { return "s2c/" + session + "/" + id }

func newRequestID() string { return requestIDPrefix + rand.Text() }

// validRequestID reports whether id could be one of newRequestID's.
func validRequestID(id string) bool {
	rest, ok := strings.CutPrefix(id, requestIDPrefix)
	if !ok || len(rest) != requestIDText {
		return false
	}
	for _, c := range rest {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// pollDelay returns the wait before the n-th read (n from 0) of a waiting
// call: pollFirst, doubling up to pollMax.
func pollDelay(n int) time.Duration {
	d := pollFirst
	for range min(n, 16) {
		d *= 2
	}
	return min(d, pollMax)
}

// toClientKey marks the context of a request to the client that toClient
// let through.
type toClientKey struct{}

// toClient is the sending middleware that decides whether a request to
// the client can reach it. Requests sent while serving a request that
// arrived through a handler of NewHandler fail at once with an error that
// says why when they cannot (see served.unreachable); the others are
// marked for the session's rendezvous. Notifications, and requests sent
// any other way (a go-sdk transport of the program's own, keepalive
// pings), pass untouched.
func toClient(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		s, ok := ctx.Value(servedKey{}).(*served)
		if !ok || strings.HasPrefix(method, "notifications/") {
			return next(ctx, method, req)
		}
		if why := s.unreachable(method); why != "" {
			return nil, &jsonrpc.Error{Code: refusals[refuseUnreachable].code, Message: why}
		}
		return next(context.WithValue(ctx, toClientKey{}, true), method, req)
	}
}

// unreachable returns why a request to the client (method) sent while
// serving s cannot reach the client, and what to change; "" if it can.
func (s *served) unreachable(method string) string {
	what := "mcplambda: " + method + " cannot reach the client: "
	r, inLambda := RequestFromContext(s.http)
	switch {
	case inLambda && (r.FrontDoor == DirectInvoke || r.FrontDoor == AgentCore):
		return what + "a direct invoke has neither a session nor a response stream; call the function through a function URL or a REST API that streams, with sessions on"
	case !s.session:
		return what + "the server serves MCP 2025-11-25 clients without sessions, so the client's answer, which comes in a new request, could not find this call; " +
			"set mcplambda.Options.Sessions to a store every instance shares (dynamo.SessionsFromEnv), or use a client speaking MCP 2026-07-28, which gets input_required results instead"
	case !s.sse:
		return what + "the client accepts only application/json responses, which carry nothing but the result; it must accept text/event-stream"
	case inLambda && !s.streamed:
		return what + "the function's response is buffered by " + bufferedDoor(r.FrontDoor) + " until the call returns, so the client would see the request only after the call gave up; " +
			"serve the function through a function URL in RESPONSE_STREAM invoke mode or a REST API whose integration streams (responseTransferMode STREAM), with mcplambda.Options.ResponseStream on, " +
			"or use a client speaking MCP 2026-07-28, which gets input_required results instead"
	}
	return ""
}

// bufferedDoor names a front door whose response is buffered.
func bufferedDoor(d FrontDoor) string {
	switch d {
	case FunctionURL:
		return "the function URL (BUFFERED invoke mode, or mcplambda.Options.ResponseStream off)"
	case HTTPAPI:
		return "the API Gateway HTTP API, which cannot stream"
	case RESTAPI:
		return "the API Gateway REST API (an integration without response streaming, or mcplambda.Options.ResponseStream off)"
	case ALB:
		return "the Application Load Balancer, which cannot stream"
	}
	return "the front door"
}

// rendezvousTransport is the session path's go-sdk transport: go-sdk's
// streamable transport, whose connection is wrapped by rendezvousConn.
type rendezvousTransport struct {
	*mcp.StreamableServerTransport
	store   state.Store
	session string
	owner   string // ownerDigest of the caller, who owns the session
	logger  *slog.Logger
}

// Connect implements mcp.Transport.
func (t *rendezvousTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	conn, err := t.StreamableServerTransport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	c := &rendezvousConn{
		Connection: conn,
		store:      t.store,
		session:    t.session,
		owner:      t.owner,
		logger:     t.logger,
		reads:      make(chan readResult),
		answers:    make(chan jsonrpc.Message),
		closed:     make(chan struct{}),
		ids:        make(map[jsonrpc.ID]string),
	}
	c.wg.Add(1)
	go c.pump()
	return c, nil
}

var (
	_ mcp.Transport                = (*rendezvousTransport)(nil)
	_ mcp.ProtocolVersionSupporter = (*rendezvousTransport)(nil)
	_ mcp.Connection               = (*rendezvousConn)(nil)
)

// rendezvousConn is go-sdk's connection for one request of a legacy
// session, with requests to the client sent and answered through the
// session store. Safe for concurrent use, as mcp.Connection requires.
type rendezvousConn struct {
	mcp.Connection // go-sdk's streamable server connection

	// Set at construction.
	store   state.Store
	session string
	owner   string
	logger  *slog.Logger
	reads   chan readResult      // messages from the client, read by pump
	answers chan jsonrpc.Message // answers for go-sdk's requests, from the store
	closed  chan struct{}        // closed by Close
	once    sync.Once
	wg      sync.WaitGroup // pump and the waiting calls

	mu  sync.Mutex
	ids map[jsonrpc.ID]string // guarded by mu: go-sdk's id of a request -> the client's
}

type readResult struct {
	msg jsonrpc.Message
	err error
}

// pump reads go-sdk's connection, so that Read can wait for it and for
// answers from the store at once. It ends when the connection is closed.
func (c *rendezvousConn) pump() {
	defer c.wg.Done()
	for {
		msg, err := c.Connection.Read(context.Background())
		select {
		case c.reads <- readResult{msg, err}:
		case <-c.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read implements mcp.Connection: the client's messages, and the answers
// to requests sent to it.
func (c *rendezvousConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case m := <-c.answers:
		return m, nil
	case r := <-c.reads:
		return r.msg, r.err
	case <-c.closed:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Write implements mcp.Connection. A request to the client that toClient
// let through goes out under an id of our own, after its pending record;
// a cancellation of it names that id.
func (c *rendezvousConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if req, ok := msg.(*jsonrpc.Request); ok {
		if req.IsCall() && ctx.Value(toClientKey{}) != nil {
			return c.send(ctx, req)
		}
		if req.Method == "notifications/cancelled" {
			msg = c.mapCancelled(req)
		}
	}
	return c.Connection.Write(ctx, msg)
}

// Close implements mcp.Connection; it stops the waiting calls (which
// delete their pending records) and waits for them.
func (c *rendezvousConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	err := c.Connection.Close()
	c.wg.Wait()
	return err
}

// send writes the pending record of req, then req itself under the id the
// client sees, and starts waiting for the answer.
func (c *rendezvousConn) send(ctx context.Context, req *jsonrpc.Request) error {
	id := newRequestID()
	key := pendingKey(c.session, id)
	sent := time.Now()
	until := waitUntil(ctx, sent)
	rec, _ := json.Marshal(pendingRecord{Owner: c.owner, Method: req.Method})
	version, err := c.store.Put(ctx, key, rec, state.PutOptions{IfAbsent: true, TTL: max(time.Until(until), 0) + recordGrace})
	if err != nil {
		c.logger.WarnContext(ctx, "mcplambda: storing a request to the client failed", "method", req.Method, "err", err)
		c.wg.Add(1)
		go func() { // go-sdk reads the answer once Write has returned
			defer c.wg.Done()
			c.answer(req.ID, nil, &jsonrpc.Error{
				Code:    refusals[refuseUnavailable].code,
				Message: "mcplambda: " + req.Method + " could not be sent: the session store is unavailable",
			})
		}()
		return nil
	}
	out := *req
	out.ID, _ = jsonrpc.MakeID(id)
	c.mu.Lock()
	c.ids[req.ID] = id
	c.mu.Unlock()
	if err := c.Connection.Write(ctx, &out); err != nil {
		c.store.Delete(context.WithoutCancel(ctx), key, version)
		return err
	}
	c.wg.Add(1)
	go c.await(ctx, req.ID, req.Method, key, version, sent, until)
	return nil
}

// waitUntil is when a call that sends a request to the client at sent
// stops waiting for the answer: shortly before its context's deadline (the
// handler's), leaving it time to report the failure, or maxWait after
// sent if there is none.
func waitUntil(ctx context.Context, sent time.Time) time.Time {
	deadline, ok := ctx.Deadline()
	if !ok {
		return sent.Add(maxWait)
	}
	margin := min(max(deadline.Sub(sent)/20, 100*time.Millisecond), time.Second)
	return deadline.Add(-margin)
}

// await polls the pending record under key until the client's answer is
// there, and gives it to go-sdk as the response to callID; it gives up at
// until, when ctx ends (the call is over) or when the connection closes,
// and then deletes the record unless it was answered meanwhile.
func (c *rendezvousConn) await(ctx context.Context, callID jsonrpc.ID, method, key string, version int64, sent, until time.Time) {
	defer c.wg.Done()
	giveUp := time.NewTimer(time.Until(until))
	defer giveUp.Stop()
	poll := time.NewTimer(pollDelay(0))
	defer poll.Stop()
	cleanup := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		c.store.Delete(dctx, key, version) // a conflict: answered meanwhile, and kept until it expires
	}
	failures := 0
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			cleanup()
			return
		case <-c.closed:
			cleanup()
			return
		case <-giveUp.C:
			if c.look(ctx, callID, key, &failures) {
				return
			}
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			err := c.store.Delete(dctx, key, version)
			cancel()
			if errors.Is(err, state.ErrConflict) && c.look(ctx, callID, key, &failures) {
				return // answered in between
			}
			c.answer(callID, nil, &jsonrpc.Error{
				Code: refusals[refuseUnanswered].code,
				// go-sdk prefixes the method: calling "elicitation/create": ...
				Message: fmt.Sprintf("mcplambda: the client did not answer within %s, before the function's timeout; a longer function timeout gives it longer",
					until.Sub(sent).Round(time.Millisecond)),
			})
			return
		case <-poll.C:
		}
		if c.look(ctx, callID, key, &failures) {
			return
		}
		poll.Reset(pollDelay(n))
	}
}

// look reads the pending record once and, if the client has answered (or
// the record is gone), gives go-sdk the response to callID and reports
// true. Store failures are logged once per call and retried.
func (c *rendezvousConn) look(ctx context.Context, callID jsonrpc.ID, key string, failures *int) bool {
	it, err := c.store.Get(ctx, key)
	if errors.Is(err, state.ErrNotFound) {
		c.answer(callID, nil, &jsonrpc.Error{Code: refusals[refuseUnanswered].code, Message: "mcplambda: the request to the client expired before it was answered"})
		return true
	}
	if err != nil {
		if *failures == 0 && ctx.Err() == nil {
			c.logger.WarnContext(ctx, "mcplambda: reading the answer to a request to the client failed; retrying", "err", err)
		}
		*failures++
		return false
	}
	var rec pendingRecord
	if json.Unmarshal(it.Value, &rec) != nil || rec.Reply == nil {
		return false
	}
	if rec.Reply.Error != nil {
		werr := new(jsonrpc.Error)
		if json.Unmarshal(rec.Reply.Error, werr) != nil {
			werr = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the client answered with a malformed error"}
		}
		c.answer(callID, nil, werr)
		return true
	}
	c.answer(callID, rec.Reply.Result, nil)
	return true
}

// answer hands go-sdk the response to its request callID.
func (c *rendezvousConn) answer(callID jsonrpc.ID, result json.RawMessage, err *jsonrpc.Error) {
	resp := &jsonrpc.Response{ID: callID, Result: result}
	if err != nil {
		resp.Error = err
	}
	select {
	case c.answers <- resp:
	case <-c.closed:
	}
}

// mapCancelled returns the cancellation of a request to the client with
// the id the client knows it by.
func (c *rendezvousConn) mapCancelled(req *jsonrpc.Request) *jsonrpc.Request {
	var p map[string]any
	if json.Unmarshal(req.Params, &p) != nil {
		return req
	}
	id, err := jsonrpc.MakeID(p["requestId"])
	if err != nil || !id.IsValid() {
		return req
	}
	c.mu.Lock()
	ours, ok := c.ids[id]
	c.mu.Unlock()
	if !ok {
		return req
	}
	p["requestId"] = ours
	out := *req
	out.Params, _ = json.Marshal(p)
	return &out
}

// isReply reports whether m is a JSON-RPC response: the client's answer to
// a request sent to it.
func (m *peekMessage) isReply() bool {
	return m.Method == "" && m.ID != nil && (m.Result != nil || m.Error != nil)
}

// takeReplies stores the client's answers (responses in a POST of session
// sid) into their pending records. It reports false after refusing the
// request: an answer that matches no outstanding request of the caller
// (unknown, answered, expired or another principal's: one answer for all),
// a store failure, or an answer too large to keep.
func (s *sessions) takeReplies(w http.ResponseWriter, r *http.Request, sid string, replies []peekMessage) bool {
	ctx := r.Context()
	owner := ownerDigest(identity.Principal(ctx))
	for _, m := range replies {
		var id string
		if json.Unmarshal(m.ID, &id) != nil || !validRequestID(id) {
			refuseWith(w, refuseUnknownReply, errUnknownReply, nil, nil)
			return false
		}
		key := pendingKey(sid, id)
		it, err := s.store.Get(ctx, key)
		if errors.Is(err, state.ErrNotFound) {
			refuseWith(w, refuseUnknownReply, errUnknownReply, nil, nil)
			return false
		}
		if err != nil {
			refuse(w, refuseUnavailable, "session store unavailable")
			return false
		}
		var rec pendingRecord
		if json.Unmarshal(it.Value, &rec) != nil || rec.Reply != nil || subtle.ConstantTimeCompare([]byte(rec.Owner), []byte(owner)) != 1 {
			refuseWith(w, refuseUnknownReply, errUnknownReply, nil, nil)
			return false
		}
		tooLarge := len(m.Result)+len(m.Error) > maxReplyBytes
		if tooLarge {
			// The call must not wait in vain: it gets an error instead.
			msg, _ := json.Marshal(&jsonrpc.Error{Code: refusals[refuseTooLarge].code,
				Message: fmt.Sprintf("mcplambda: the client's answer to %s (%d bytes) is larger than the session store keeps (%d bytes)", rec.Method, len(m.Result)+len(m.Error), maxReplyBytes)})
			rec.Reply = &storedReply{Error: msg}
		} else {
			rec.Reply = &storedReply{Result: m.Result, Error: m.Error}
		}
		b, _ := json.Marshal(rec)
		ttl := time.Second
		if !it.Expires.IsZero() {
			ttl = max(time.Until(it.Expires), ttl)
		}
		_, err = s.store.Put(ctx, key, b, state.PutOptions{IfVersion: it.Version, TTL: ttl})
		switch {
		case errors.Is(err, state.ErrConflict): // answered, or given up, in between
			refuseWith(w, refuseUnknownReply, errUnknownReply, nil, nil)
			return false
		case err != nil:
			refuse(w, refuseUnavailable, "session store unavailable")
			return false
		case tooLarge:
			refuse(w, refuseTooLarge, fmt.Sprintf("the answer exceeds %d bytes, the most the session store keeps", maxReplyBytes))
			return false
		}
	}
	return true
}

// errUnknownReply is the one answer for a response that matches no
// outstanding request of the caller: it reveals nothing.
const errUnknownReply = "no outstanding request with this id in this session"
