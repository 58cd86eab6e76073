package mcplambda

//lint:file-ignore SA1019 legacy sessions keep the log level of 2025 clients (logging/setLevel), deprecated since 2026-07-28 (SEP-2577) but part of the session state those clients use.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/internal/hostcheck"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// DefaultSessionTTL is the idle lifetime of a legacy session when
// [Options.SessionTTL] is zero.
const DefaultSessionTTL = time.Hour

// The first protocol version without sessions (SEP-2575).
const statelessProtocol = "2026-07-28"

// sessionRecord is what a legacy session keeps in [Options.Sessions],
// under "session/" + Mcp-Session-Id.
type sessionRecord struct {
	// Owner is a digest of the principal that initialized the session
	// ("" digest for anonymous sessions); a request from another principal
	// is told the session does not exist.
	Owner           string                  `json:"owner"`
	ProtocolVersion string                  `json:"pv"`
	ClientInfo      *mcp.Implementation     `json:"clientInfo,omitempty"`
	Capabilities    *mcp.ClientCapabilities `json:"capabilities,omitempty"`
	LogLevel        mcp.LoggingLevel        `json:"logLevel,omitempty"`
	Created         time.Time               `json:"created"`
}

// sessions serves legacy clients (2025-11-25, 2025-06-18, 2025-03-26)
// with sessions kept in a state.Store, so that Mcp-Session-Id works on
// every instance. Requests of MCP 2026-07-28 never reach it.
type sessions struct {
	store  state.Store
	ttl    time.Duration
	server *mcp.Server
	logger *slog.Logger
	// localhostProtection mirrors go-sdk's DNS-rebinding check, which the
	// session path (a go-sdk transport used directly) would otherwise skip.
	localhostProtection bool
}

// A message of a request body, as far as routing needs it.
type peekMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`

	raw json.RawMessage // the whole message
}

func peek(body []byte) []peekMessage {
	body = bytes.TrimSpace(body)
	var msgs []peekMessage
	if isBatch(body) {
		var raws []json.RawMessage
		json.Unmarshal(body, &raws)
		for _, raw := range raws {
			var m peekMessage
			if json.Unmarshal(raw, &m) == nil {
				m.raw = raw
				msgs = append(msgs, m)
			}
		}
		return msgs
	}
	var m peekMessage
	if json.Unmarshal(body, &m) == nil {
		m.raw = body
		msgs = append(msgs, m)
	}
	return msgs
}

func sessionKey(id string) string { return "session/" + id }

func ownerDigest(principal string) string {
	h := sha256.Sum256([]byte("mcplambda session owner\x00" + principal))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func newSessionID() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// errNoSession is the one answer for a session that is unknown, expired,
// ended, or another principal's: it reveals nothing.
const errNoSession = "session not found; initialize a new session"

// serve handles a legacy POST if it belongs to the session path, and
// reports whether it did. body has been read and validated.
func (s *sessions) serve(w http.ResponseWriter, r *http.Request, body []byte, wantSSE bool) bool {
	if v := r.Header.Get("Mcp-Protocol-Version"); v >= statelessProtocol {
		return false
	}
	// Direct invokes and AgentCore targets carry no HTTP headers, so no
	// session either: they stay stateless.
	if req, ok := RequestFromContext(r.Context()); ok && (req.FrontDoor == DirectInvoke || req.FrontDoor == AgentCore) {
		return false
	}
	msgs := peek(body)
	if len(msgs) == 0 {
		return false // go-sdk answers malformed messages
	}
	if !s.hostAllowed(r) {
		refuse(w, refuseForbidden, "invalid Host header "+r.Host)
		return true
	}
	if v := r.Header.Get("Mcp-Protocol-Version"); v != "" && !slices.Contains(mcp.SupportedProtocolVersions(), v) {
		refuseWith(w, refuseVersion, "unsupported Mcp-Protocol-Version "+v, nil, mcp.UnsupportedProtocolVersionData{Supported: mcp.SupportedProtocolVersions(), Requested: v})
		return true
	}
	ctx := r.Context()
	id := r.Header.Get("Mcp-Session-Id")
	var init *mcp.InitializeParams
	initialized := false
	for _, m := range msgs {
		switch m.Method {
		case "initialize":
			init = new(mcp.InitializeParams)
			if err := json.Unmarshal(m.Params, init); err != nil {
				init = &mcp.InitializeParams{} // go-sdk reports the bad params
			}
		case "notifications/initialized":
			initialized = true
		}
	}

	if init != nil {
		if id != "" {
			refuse(w, refuseInvalid, "initialize must not carry Mcp-Session-Id")
			return true
		}
		// Record the session first: if the store is down the client gets
		// an error now, not a session id that works nowhere.
		id = newSessionID()
		rec := sessionRecord{
			Owner:           ownerDigest(identity.Principal(ctx)),
			ProtocolVersion: negotiateVersion(init.ProtocolVersion),
			ClientInfo:      init.ClientInfo,
			Capabilities:    init.Capabilities,
			// As in stateless mode: log notifications at info and above
			// until the client sets a level.
			LogLevel: "info",
			Created:  time.Now().UTC(),
		}
		b, _ := json.Marshal(rec)
		if _, err := s.store.Put(ctx, sessionKey(id), b, state.PutOptions{IfAbsent: true, TTL: s.ttl}); err != nil {
			refuse(w, refuseUnavailable, "session store unavailable")
			return true
		}
		w.Header().Set("Mcp-Session-Id", id)
		s.run(w, r, id, nil, wantSSE, isBatch(body))
		return true
	}

	if id == "" {
		refuse(w, refuseInvalid, "Mcp-Session-Id header required: initialize first")
		return true
	}
	rec, it, ok := s.load(w, r, id)
	if !ok {
		return true
	}
	// The client's answers to requests sent to it are for the calls that
	// wait for them, wherever they run: they go to the store.
	var replies, rest []peekMessage
	for _, m := range msgs {
		if m.isReply() {
			replies = append(replies, m)
		} else {
			rest = append(rest, m)
		}
	}
	if len(replies) > 0 {
		if !s.takeReplies(w, r, id, replies) {
			return true
		}
		if len(rest) == 0 {
			w.WriteHeader(http.StatusAccepted)
			return true
		}
		// A 2025-03-26 batch: go-sdk serves the rest.
		raws := make([]json.RawMessage, len(rest))
		for i, m := range rest {
			raws[i] = m.raw
		}
		b, _ := json.Marshal(raws)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		msgs = rest
	}
	st := &mcp.ServerSessionState{
		InitializeParams: &mcp.InitializeParams{
			ProtocolVersion: rec.ProtocolVersion,
			ClientInfo:      rec.ClientInfo,
			Capabilities:    rec.Capabilities,
		},
		NegotiatedProtocolVersion: rec.ProtocolVersion,
		LogLevel:                  rec.LogLevel,
	}
	if !initialized {
		st.InitializedParams = &mcp.InitializedParams{}
	}

	// The only session state a request can change is the log level.
	changed := false
	for _, m := range msgs {
		if m.Method != "logging/setLevel" {
			continue
		}
		var p mcp.SetLoggingLevelParams
		if json.Unmarshal(m.Params, &p) == nil && validLevel(p.Level) && p.Level != rec.LogLevel {
			rec.LogLevel, changed = p.Level, true
		}
	}
	s.run(w, r, id, st, wantSSE, isBatch(body))

	// Write only when the state changed, or to keep a session in use
	// alive once half its idle time has passed.
	if changed || (!it.Expires.IsZero() && time.Until(it.Expires) < s.ttl/2) {
		b, _ := json.Marshal(rec)
		_, err := s.store.Put(context.WithoutCancel(ctx), sessionKey(id), b, state.PutOptions{IfVersion: it.Version, TTL: s.ttl})
		if err != nil && !errors.Is(err, state.ErrConflict) { // a conflict: a concurrent request of the session wrote it
			s.logger.WarnContext(ctx, "mcplambda: saving session state failed", "err", err)
		}
	}
	return true
}

// load returns the session id of the caller, or answers 404 (unknown or
// foreign session) or 503 (store failure) and returns false.
func (s *sessions) load(w http.ResponseWriter, r *http.Request, id string) (*sessionRecord, *state.Item, bool) {
	it, err := s.store.Get(r.Context(), sessionKey(id))
	if errors.Is(err, state.ErrNotFound) || errors.Is(err, state.ErrInvalidKey) {
		refuse(w, refuseNotFound, errNoSession)
		return nil, nil, false
	}
	if err != nil {
		refuse(w, refuseUnavailable, "session store unavailable")
		return nil, nil, false
	}
	var rec sessionRecord
	owner := ownerDigest(identity.Principal(r.Context()))
	if json.Unmarshal(it.Value, &rec) != nil || subtle.ConstantTimeCompare([]byte(rec.Owner), []byte(owner)) != 1 {
		refuse(w, refuseNotFound, errNoSession)
		return nil, nil, false
	}
	return &rec, it, true
}

// delete ends the session named by Mcp-Session-Id (HTTP DELETE).
func (s *sessions) delete(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Mcp-Session-Id")
	if id == "" {
		refuse(w, refuseInvalid, "DELETE requires an Mcp-Session-Id header")
		return
	}
	if !s.hostAllowed(r) {
		refuse(w, refuseForbidden, "invalid Host header "+r.Host)
		return
	}
	_, it, ok := s.load(w, r, id)
	if !ok {
		return
	}
	err := s.store.Delete(r.Context(), sessionKey(id), it.Version)
	if err != nil && !errors.Is(err, state.ErrConflict) { // a conflict: ended or changed concurrently; it is going anyway
		refuse(w, refuseUnavailable, "session store unavailable")
		return
	}
	if errors.Is(err, state.ErrConflict) {
		s.store.Delete(r.Context(), sessionKey(id), 0)
	}
	w.WriteHeader(http.StatusNoContent)
}

// run serves the request on a go-sdk session restored from st (nil for
// initialize: a fresh session), identified by id.
func (s *sessions) run(w http.ResponseWriter, r *http.Request, id string, st *mcp.ServerSessionState, wantSSE, batch bool) {
	ctx := state.WithSession(r.Context(), &state.Session{ID: id, TTL: s.ttl})
	r = r.WithContext(ctx)
	if sv, ok := ctx.Value(servedKey{}).(*served); ok {
		sv.session = true // requests to the client may use the rendezvous
	}
	// Not Stateless: go-sdk's transport then writes the requests a call
	// sends to the client on the call's response stream, which
	// rendezvousTransport routes through the store.
	t := &rendezvousTransport{
		StreamableServerTransport: &mcp.StreamableServerTransport{SessionID: id},
		store:                     s.store,
		session:                   id,
		owner:                     ownerDigest(identity.Principal(ctx)),
		logger:                    s.logger,
	}
	ss, err := s.server.Connect(ctx, t, &mcp.ServerSessionOptions{State: st})
	if err != nil {
		refuse(w, refuseInternal, "failed to start the session")
		return
	}
	defer ss.Close()
	if wantSSE {
		t.ServeHTTP(w, r)
		return
	}
	// The transport answers in SSE; a client that accepts only JSON gets
	// the JSON-RPC response of the stream, or for a batch (2025-03-26) the
	// array of its responses (notifications are dropped, as go-sdk's JSON
	// mode does).
	buf := &bufferedResponse{header: http.Header{}}
	t.ServeHTTP(buf, r)
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	if !strings.HasPrefix(buf.header.Get("Content-Type"), "text/event-stream") {
		w.WriteHeader(buf.status())
		w.Write(buf.body.Bytes())
		return
	}
	var resp []byte
	if rs := responses(buf.body.Bytes()); len(rs) > 0 && batch {
		resp = append(append([]byte("["), bytes.Join(rs, []byte(","))...), ']')
	} else if len(rs) > 0 {
		resp = rs[len(rs)-1]
	}
	w.Header().Del("Connection")
	w.Header().Set("Content-Type", "application/json")
	if resp == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
}

// isBatch reports whether body is a JSON-RPC batch.
func isBatch(body []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(body), []byte("["))
}

func (s *sessions) hostAllowed(r *http.Request) bool {
	return !s.localhostProtection || hostcheck.LoopbackHost(r)
}

// negotiateVersion is the protocol version initialize answers with (as go-sdk
// negotiates it): the client's if supported, else the latest legacy one.
func negotiateVersion(client string) string {
	supported := mcp.SupportedProtocolVersions()
	if client < statelessProtocol && slices.Contains(supported, client) {
		return client
	}
	for _, v := range supported {
		if v < statelessProtocol {
			return v
		}
	}
	return "2025-11-25"
}

func validLevel(l mcp.LoggingLevel) bool {
	switch l {
	case "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency":
		return true
	}
	return false
}

// bufferedResponse collects a response in memory.
type bufferedResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedResponse) Flush() {}

func (b *bufferedResponse) status() int {
	if b.code == 0 {
		return http.StatusOK
	}
	return b.code
}

// responses returns the data of the SSE events in stream that are
// JSON-RPC responses (they have an id and a result or an error), in order.
func responses(stream []byte) [][]byte {
	var out [][]byte
	var data bytes.Buffer
	flush := func() {
		if data.Len() == 0 {
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if json.Unmarshal(data.Bytes(), &m) == nil && m.ID != nil && (m.Result != nil || m.Error != nil) {
			out = append(out, bytes.Clone(data.Bytes()))
		}
		data.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(make([]byte, 64<<10), len(stream)+1)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if v, ok := strings.CutPrefix(line, "data:"); ok {
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(v, " "))
		}
	}
	flush()
	return out
}

// lastResponse returns the last JSON-RPC response of stream, or nil.
func lastResponse(stream []byte) []byte {
	rs := responses(stream)
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}
