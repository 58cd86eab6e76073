//lint:file-ignore SA1019 legacy clients still use sampling and roots (deprecated since 2026-07-28, SEP-2577): these tests are about them.

package mcplambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// instances sends each request to the next of its handlers in turn, as
// Lambda spreads invocations over instances: a client's answer never
// reaches the handler whose call waits for it.
type instances struct {
	hs []http.Handler
	n  atomic.Int64
}

func (in *instances) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in.hs[int(in.n.Add(1))%len(in.hs)].ServeHTTP(w, r)
}

// countingStore counts the operations on the keys of requests to the
// client ("s2c/...").
type countingStore struct {
	state.Store
	mu                  sync.Mutex
	gets, puts, deletes int
}

func (s *countingStore) count(key string, n *int) {
	if strings.HasPrefix(key, "s2c/") {
		s.mu.Lock()
		*n++
		s.mu.Unlock()
	}
}

func (s *countingStore) Get(ctx context.Context, key string) (*state.Item, error) {
	s.count(key, &s.gets)
	return s.Store.Get(ctx, key)
}

func (s *countingStore) Put(ctx context.Context, key string, v []byte, o state.PutOptions) (int64, error) {
	s.count(key, &s.puts)
	return s.Store.Put(ctx, key, v, o)
}

func (s *countingStore) Delete(ctx context.Context, key string, version int64) error {
	s.count(key, &s.deletes)
	return s.Store.Delete(ctx, key, version)
}

func (s *countingStore) counts() (gets, puts, deletes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.puts, s.deletes
}

// askServer has tools that send requests to the client: ask (elicits a
// name, then samples a greeting), roots, and impatient (elicits, waiting
// at most 200ms).
func askServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "ask", Version: "v1"}, nil)
	type none struct{}
	type out struct {
		Text string `json:"text"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "ask"}, func(ctx context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, out, error) {
		e, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "Your name?", RequestedSchema: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`)})
		if err != nil {
			return nil, out{}, err
		}
		m, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10, Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: fmt.Sprint("greet ", e.Content["name"])}}}})
		if err != nil {
			return nil, out{}, err
		}
		return nil, out{Text: fmt.Sprintf("%s %v: %s", e.Action, e.Content["name"], m.Content.(*mcp.TextContent).Text)}, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "roots"}, func(ctx context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, out, error) {
		r, err := req.Session.ListRoots(ctx, nil)
		if err != nil {
			return nil, out{}, err
		}
		var uris []string
		for _, root := range r.Roots {
			uris = append(uris, root.URI)
		}
		return nil, out{Text: strings.Join(uris, ",")}, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "impatient"}, func(ctx context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, out, error) {
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "Quick!", RequestedSchema: json.RawMessage(`{"type":"object","properties":{}}`)})
		return nil, out{}, err
	})
	return s
}

// bearer authenticates requests with the token as the principal.
func bearer(next http.Handler) http.Handler {
	return auth.RequireBearerToken(func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		return &auth.TokenInfo{UserID: token, Expiration: time.Now().Add(time.Hour)}, nil
	}, nil)(next)
}

// asUser sends every request with the user's token.
type asUser string

func (u asUser) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(u))
	return http.DefaultTransport.RoundTrip(r)
}

// Requests a tool sends to a legacy client reach it on the call's response
// stream, and the client's answers, which always arrive at the other
// instance, reach the waiting call through the session store.
func TestRendezvous(t *testing.T) {
	store := &countingStore{Store: state.NewMemory(nil)}
	opts := &Options{Sessions: store, Middleware: bearer}
	front := httptest.NewServer(&instances{hs: []http.Handler{NewHandler(askServer(), opts), NewHandler(askServer(), opts)}})
	defer front.Close()

	var elicited atomic.Int64
	client := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			elicited.Add(1)
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "hello, " + req.Params.Messages[0].Content.(*mcp.TextContent).Text}}, nil
		},
	})
	client.AddRoots(&mcp.Root{URI: "file:///work", Name: "work"})
	ctx := context.Background()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: front.URL + "/mcp", HTTPClient: &http.Client{Transport: asUser("alice")}},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	for _, tc := range []struct{ tool, want string }{
		{"ask", `{"text":"accept Ada: hello, greet Ada"}`},
		{"roots", `{"text":"file:///work"}`},
	} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool})
		if err != nil {
			t.Fatalf("CallTool(%s): %v", tc.tool, err)
		}
		got, _ := json.Marshal(res.StructuredContent)
		if res.IsError || string(got) != tc.want {
			t.Errorf("CallTool(%s) = %s (isError %v), want %s", tc.tool, got, res.IsError, tc.want)
		}
	}
	// ask and roots sent three requests: a pending record written and
	// answered for each, read once by each answer, polled by each call.
	gets, puts, deletes := store.counts()
	t.Logf("3 round trips: %d reads (3 by the answers, %d polls), %d writes, %d deletes", gets, gets-3, puts, deletes)
	if puts != 6 || deletes != 0 || gets < 6 {
		t.Errorf("store operations for 3 round trips: %d reads, %d writes, %d deletes; want 6 writes, no delete, at least 6 reads", gets, puts, deletes)
	}

	// A request the client does not answer in time fails the call with a
	// clear error, and its record goes: a late answer is refused.
	block := make(chan struct{})
	slow := mcp.NewClient(&mcp.Implementation{Name: "slow", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(ctx context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			select {
			case <-block:
			case <-ctx.Done():
			}
			return nil, errors.New("too late")
		},
	})
	scs, err := slow.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: front.URL + "/mcp", HTTPClient: &http.Client{Transport: asUser("alice")}},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-06-18"})
	if err != nil {
		t.Fatal(err)
	}
	defer scs.Close()
	defer close(block) // before Close, which waits for the handler
	res, err := scs.CallTool(ctx, &mcp.CallToolParams{Name: "impatient"})
	if err != nil {
		t.Fatal(err)
	}
	if text := resultText(res); !res.IsError || !strings.Contains(text, "calling \"elicitation/create\": mcplambda: the client did not answer within") {
		t.Errorf("impatient = %q (isError %v), want the unanswered-request error", text, res.IsError)
	}
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// rawSession is a legacy session driven by hand, for what a well-behaved
// client never sends.
type rawSession struct {
	t     *testing.T
	url   string
	user  string
	id    string // Mcp-Session-Id
	proto string
}

func newRawSession(t *testing.T, url, user string, caps string) *rawSession {
	t.Helper()
	s := &rawSession{t: t, url: url, user: user, proto: "2025-11-25"}
	resp, body := s.post(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":`+caps+`,"clientInfo":{"name":"raw","version":"1"}}}`, "application/json, text/event-stream")
	s.id = resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || s.id == "" {
		t.Fatalf("initialize = %d %s", resp.StatusCode, body)
	}
	if resp, body := s.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, "application/json, text/event-stream"); resp.StatusCode != 202 {
		t.Fatalf("notifications/initialized = %d %s", resp.StatusCode, body)
	}
	return s
}

func (s *rawSession) request(body, accept string) *http.Request {
	req, _ := http.NewRequest("POST", s.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	req.Header.Set("Authorization", "Bearer "+s.user)
	req.Header.Set("Mcp-Protocol-Version", s.proto)
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	return req
}

func (s *rawSession) post(body, accept string) (*http.Response, string) {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(s.request(body, accept))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Answers that match no outstanding request of the caller get one answer,
// whether the request is unknown, already answered or another principal's;
// the owner's own answer then still gets through.
func TestRendezvousRefusals(t *testing.T) {
	opts := &Options{Sessions: state.NewMemory(nil), Middleware: bearer}
	front := httptest.NewServer(&instances{hs: []http.Handler{NewHandler(askServer(), opts), NewHandler(askServer(), opts)}})
	defer front.Close()
	url := front.URL + "/mcp"
	alice := newRawSession(t, url, "alice", `{"elicitation":{},"sampling":{}}`)
	bob := newRawSession(t, url, "bob", `{"elicitation":{},"sampling":{}}`)

	// Alice calls ask and reads its stream up to the elicitation request.
	resp, err := http.DefaultClient.Do(alice.request(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ask","arguments":{}}}`, "application/json, text/event-stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := sseMessages(resp.Body)
	var elicit struct {
		ID     string `json:"id"`
		Method string `json:"method"`
	}
	json.Unmarshal(<-events, &elicit)
	if elicit.Method != "elicitation/create" || !validRequestID(elicit.ID) {
		t.Fatalf("first event = %+v, want an elicitation/create request with an id of ours", elicit)
	}
	answer := func(id, name string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"result":{"action":"accept","content":{"name":%q}}}`, id, name)
	}
	const refusal = `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"no outstanding request with this id in this session"}}`
	for _, tc := range []struct {
		name       string
		s          *rawSession
		body       string
		wantStatus int
		wantBody   string
	}{
		{"bob, in alice's session", &rawSession{t: t, url: url, user: "bob", id: alice.id, proto: "2025-11-25"}, answer(elicit.ID, "Mallory"), 404, errNoSession},
		{"bob, in his own session", bob, answer(elicit.ID, "Mallory"), 400, refusal},
		{"unknown id", alice, answer(newRequestID(), "Ada"), 400, refusal},
		{"not our id", alice, `{"jsonrpc":"2.0","id":3,"result":{}}`, 400, refusal},
		{"alice", alice, answer(elicit.ID, "Ada"), 202, ""},
		{"alice again: answered", alice, answer(elicit.ID, "Eve"), 400, refusal},
	} {
		resp, body := tc.s.post(tc.body, "application/json, text/event-stream")
		if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
			t.Errorf("%s: POST answer = %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
		}
	}
	// The call goes on with alice's answer: next it samples.
	var sample struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		Params struct {
			Messages []struct {
				Content struct{ Text string }
			}
		}
	}
	json.Unmarshal(<-events, &sample)
	if sample.Method != "sampling/createMessage" || sample.ID == elicit.ID || len(sample.Params.Messages) != 1 || sample.Params.Messages[0].Content.Text != "greet Ada" {
		t.Fatalf("second event = %+v, want a sampling/createMessage request for Ada", sample)
	}
	alice.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"error":{"code":-1,"message":"no model"}}`, sample.ID), "application/json")
	var result struct {
		ID     int `json:"id"`
		Result struct {
			IsError bool
			Content []struct{ Text string }
		}
	}
	json.Unmarshal(<-events, &result)
	if result.ID != 7 || !result.Result.IsError || len(result.Result.Content) != 1 || !strings.Contains(result.Result.Content[0].Text, "no model") {
		t.Errorf("result = %+v, want ask failing with the client's sampling error", result)
	}
}

// sseMessages sends the data of each SSE event of r, and closes the
// channel at the end.
func sseMessages(r io.Reader) <-chan []byte {
	ch := make(chan []byte, 16)
	go func() {
		defer close(ch)
		b := make([]byte, 0, 4096)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b = append(b, buf[:n]...)
			for {
				i := strings.Index(string(b), "\n\n")
				if i < 0 {
					break
				}
				for line := range strings.SplitSeq(string(b[:i]), "\n") {
					if data, ok := strings.CutPrefix(line, "data: "); ok {
						ch <- []byte(data)
					}
				}
				b = b[i+2:]
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// Where a request cannot reach the client, it fails at once with an error
// that says why.
func TestUnreachable(t *testing.T) {
	stateless := httptest.NewServer(NewHandler(askServer(), &Options{Middleware: bearer}))
	defer stateless.Close()
	sessions := httptest.NewServer(NewHandler(askServer(), &Options{Sessions: state.NewMemory(nil), Middleware: bearer}))
	defer sessions.Close()

	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask","arguments":{}}}`
	// Without sessions go-sdk knows no client capabilities, and refuses
	// elicitation itself ("client does not support elicitation"); roots/list
	// gets to the check.
	roots := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"roots","arguments":{}}}`
	for _, tc := range []struct {
		name, url, body, accept, want string
	}{
		{"no sessions", stateless.URL, roots, "application/json, text/event-stream", "roots/list cannot reach the client: the server serves MCP 2025-11-25 clients without sessions"},
		{"JSON only", sessions.URL, call, "application/json", "elicitation/create cannot reach the client: the client accepts only application/json"},
	} {
		s := &rawSession{t: t, url: tc.url + "/mcp", user: "alice", proto: "2025-11-25"}
		if tc.url == sessions.URL {
			s = newRawSession(t, tc.url+"/mcp", "alice", `{"elicitation":{}}`)
		}
		_, body := s.post(tc.body, tc.accept)
		if !strings.Contains(body, tc.want) || !strings.Contains(body, `"code":-32603`) {
			t.Errorf("%s: tools/call = %s, want a -32603 error saying %q", tc.name, body, tc.want)
		}
	}

	// Behind a buffered front door.
	lh := NewLambdaHandler(NewHandler(askServer(), &Options{Sessions: state.NewMemory(nil), TrustFrontDoor: true}), &Options{ResponseStream: true})
	hdr := http.Header{"Accept": {"application/json, text/event-stream"}, "Content-Type": {"application/json"}, "Mcp-Protocol-Version": {"2025-11-25"}}
	for _, door := range []string{"httpapi", "alb"} {
		t.Run(door, func(t *testing.T) {
			resp, out := invokeDoor(t, door, lh, "POST", "/mcp", hdr, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"c","version":"1"}}}`)
			h := hdr.Clone()
			h.Set("Mcp-Session-Id", resp.Header.Get("Mcp-Session-Id"))
			if resp.StatusCode != 200 || h.Get("Mcp-Session-Id") == "" {
				t.Fatalf("initialize = %d %s", resp.StatusCode, out)
			}
			_, out = invokeDoor(t, door, lh, "POST", "/mcp", h, call)
			if !strings.Contains(string(out), "cannot stream") || !strings.Contains(string(out), "RESPONSE_STREAM") {
				t.Errorf("tools/call behind %s = %s, want the buffered-front-door error", door, out)
			}
		})
	}
}

func TestPollDelay(t *testing.T) {
	var got []time.Duration
	var first time.Duration
	reads := 0
	for n := 0; ; n++ {
		d := pollDelay(n)
		got = append(got, d)
		if first += d; first > time.Second {
			break
		}
		reads++
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 250, 250, 250}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pollDelay (-want +got):\n%s", diff)
	}
	// The documented bound: at most 8 reads in the first second, then 4 a second.
	if reads != 8 || pollDelay(100) != 250*time.Millisecond {
		t.Errorf("reads in the first second = %d, steady delay %v; want 8 and 250ms", reads, pollDelay(100))
	}
}

// Through a function URL or REST API that streams, the request reaches the
// client mid-call, and the answer, sent to another instance, reaches the
// call; the REST API gets API Gateway's streaming format.
func TestRendezvousStreamedDoors(t *testing.T) {
	for _, door := range []string{"url", "rest"} {
		t.Run(door, func(t *testing.T) {
			store := state.NewMemory(nil)
			instance := func() *lambdaHandler {
				return &lambdaHandler{h: NewHandler(askServer(), &Options{Sessions: store}), path: "/mcp", logger: slog.New(slog.DiscardHandler)}
			}
			a, b := instance(), instance()
			hdr := http.Header{"Accept": {"application/json, text/event-stream"}, "Content-Type": {"application/json"}, "Mcp-Protocol-Version": {"2025-11-25"}}
			event := func(h http.Header, body string) []byte {
				req, _ := http.NewRequest("POST", "https://example.com/mcp", strings.NewReader(body))
				req.Header = h
				return makeEvent(t, door, req, []byte(body))
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			resp, out := invokeDoor(t, door, a, "POST", "/mcp", hdr, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{},"sampling":{}},"clientInfo":{"name":"c","version":"1"}}}`)
			h := hdr.Clone()
			h.Set("Mcp-Session-Id", resp.Header.Get("Mcp-Session-Id"))
			if resp.StatusCode != 200 || h.Get("Mcp-Session-Id") == "" {
				t.Fatalf("initialize = %d %s", resp.StatusCode, out)
			}

			stream, err := a.invokeStream(ctx, event(h, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask","arguments":{}}}`))
			if err != nil {
				t.Fatal(err)
			}
			prelude, rest := readPreludeForTest(t, stream)
			var p struct {
				StatusCode        int                 `json:"statusCode"`
				Headers           map[string]string   `json:"headers"`
				MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
			}
			if err := json.Unmarshal(prelude, &p); err != nil || p.StatusCode != 200 || p.Headers["Content-Type"] != "text/event-stream" {
				t.Fatalf("prelude = %s (%v), want 200 text/event-stream", prelude, err)
			}
			if door == "rest" && p.MultiValueHeaders["Content-Type"] == nil {
				t.Errorf("REST prelude = %s, want multiValueHeaders", prelude)
			}
			events := sseMessages(rest)
			answer := func(method, result string) {
				t.Helper()
				var req struct {
					ID     string `json:"id"`
					Method string `json:"method"`
				}
				json.Unmarshal(<-events, &req)
				if req.Method != method {
					t.Fatalf("event = %+v, want a %s request", req, method)
				}
				// The other instance takes the answer.
				resp, out := invokeDoor(t, door, b, "POST", "/mcp", h, fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"result":%s}`, req.ID, result))
				if resp.StatusCode != 202 {
					t.Fatalf("answer = %d %s, want 202", resp.StatusCode, out)
				}
			}
			answer("elicitation/create", `{"action":"accept","content":{"name":"Lin"}}`)
			answer("sampling/createMessage", `{"model":"m","role":"assistant","content":{"type":"text","text":"hi Lin"}}`)
			if got := string(<-events); !strings.Contains(got, `"structuredContent":{"text":"accept Lin: hi Lin"}`) {
				t.Errorf("result = %s, want accept Lin: hi Lin", got)
			}
		})
	}
}

// readPreludeForTest splits a streamed response at the 8 NUL bytes after
// its JSON prelude.
func readPreludeForTest(t *testing.T, r io.Reader) ([]byte, io.Reader) {
	t.Helper()
	var buf []byte
	b := make([]byte, 1)
	for {
		if _, err := r.Read(b); err != nil {
			t.Fatalf("reading the prelude: %v (read %q)", err, buf)
		}
		buf = append(buf, b[0])
		if i := strings.Index(string(buf), strings.Repeat("\x00", 8)); i >= 0 {
			return buf[:i], r
		}
	}
}

// BenchmarkRendezvous measures one request to the client and its answer
// (roots/list) through two instances sharing a memory store: the time of
// the whole tools/call, and the store operations it costs.
func BenchmarkRendezvous(b *testing.B) {
	store := &countingStore{Store: state.NewMemory(nil)}
	opts := &Options{Sessions: store}
	front := httptest.NewServer(&instances{hs: []http.Handler{NewHandler(askServer(), opts), NewHandler(askServer(), opts)}})
	defer front.Close()
	client := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
	client.AddRoots(&mcp.Root{URI: "file:///work"})
	ctx := context.Background()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: front.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	b.ResetTimer()
	for b.Loop() {
		if res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "roots"}); err != nil || res.IsError {
			b.Fatalf("CallTool(roots) = %v, %v", res, err)
		}
	}
	gets, puts, deletes := store.counts()
	b.ReportMetric(float64(gets)/float64(b.N), "reads/op")
	b.ReportMetric(float64(puts)/float64(b.N), "writes/op")
	b.ReportMetric(float64(deletes)/float64(b.N), "deletes/op")
}

// s2cDown is a store whose writes of requests to the client fail.
type s2cDown struct{ state.Store }

func (s s2cDown) Put(ctx context.Context, key string, v []byte, o state.PutOptions) (int64, error) {
	if strings.HasPrefix(key, "s2c/") {
		return 0, errDown
	}
	return s.Store.Put(ctx, key, v, o)
}

// A request that cannot be recorded is not sent: the tool learns why.
func TestRendezvousStoreDown(t *testing.T) {
	srv := httptest.NewServer(NewHandler(askServer(), &Options{Sessions: s2cDown{state.NewMemory(nil)}}))
	defer srv.Close()
	client := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, nil)
	client.AddRoots(&mcp.Root{URI: "file:///work"})
	ctx := context.Background()
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "roots"})
	if err != nil {
		t.Fatal(err)
	}
	if text := resultText(res); !res.IsError || !strings.Contains(text, "roots/list could not be sent: the session store is unavailable") {
		t.Errorf("roots with the store down = %q (isError %v), want the store error", text, res.IsError)
	}
}

func TestRequestIDs(t *testing.T) {
	id := newRequestID()
	if !validRequestID(id) || validRequestID(id+"A") || validRequestID(strings.ToLower(id)) || validRequestID("mcplambda-") {
		t.Errorf("validRequestID does not tell %q from its variants", id)
	}
}

// An unanswered request fails the call before the invocation's deadline,
// with an error the client sees: normally the rendezvous' own, which says
// the client did not answer; on a machine so loaded that the handler's
// deadline passes first, the deadline's.
func TestRendezvousDeadline(t *testing.T) {
	lh := &lambdaHandler{h: NewHandler(askServer(), &Options{Sessions: state.NewMemory(nil)}), path: "/mcp", logger: slog.New(slog.DiscardHandler)}
	hdr := http.Header{"Accept": {"application/json, text/event-stream"}, "Content-Type": {"application/json"}, "Mcp-Protocol-Version": {"2025-11-25"}}
	resp, out := invokeDoor(t, "url", lh, "POST", "/mcp", hdr, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"c","version":"1"}}}`)
	h := hdr.Clone()
	h.Set("Mcp-Session-Id", resp.Header.Get("Mcp-Session-Id"))
	if resp.StatusCode != 200 {
		t.Fatalf("initialize = %d %s", resp.StatusCode, out)
	}
	body := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask","arguments":{}}}`
	req, _ := http.NewRequest("POST", "https://example.com/mcp", strings.NewReader(body))
	req.Header = h
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stream, err := lh.invokeStream(ctx, makeEvent(t, "url", req, []byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	_, rest := readPreludeForTest(t, stream)
	events := sseMessages(rest)
	if first := string(<-events); !strings.Contains(first, `"method":"elicitation/create"`) {
		t.Fatalf("first event = %s, want the elicitation request", first)
	}
	result := string(<-events)
	if ctx.Err() != nil {
		t.Errorf("the call's answer came after the invocation's deadline")
	}
	if !strings.Contains(result, `"id":2`) || !(strings.Contains(result, `"isError":true`) && strings.Contains(result, `calling \"elicitation/create\": mcplambda: the client did not answer within`) ||
		strings.Contains(result, "did not finish before the function's timeout")) {
		t.Errorf("result = %s, want the unanswered-request error", result)
	}
}
