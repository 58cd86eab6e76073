package dynamo_test

//lint:file-ignore SA1019 the test checks that the legacy log level (deprecated since 2026-07-28, SEP-2577) holds across instances.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// instance is one "Lambda instance": its own mcp.Server and handler,
// sharing only the session store with the others.
func instance(t testing.TB, store state.Store) http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "sessions", Version: "v1"}, nil)
	app := state.NewApp(store, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		s, _ := state.SessionFromContext(ctx)
		client := ""
		if p := req.Session.InitializeParams(); p != nil && p.ClientInfo != nil {
			client = p.ClientInfo.Name
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("session=%t client=%s", s != nil && s.ID == req.Session.ID(), client)}}}, nil, nil
	})
	mcp.AddTool(server, &mcp.Tool{Name: "count"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		n, err := state.Update(ctx, app, "count", func(n *int) error { *n++; return nil })
		if err != nil {
			return nil, nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint("count=", n)}}}, nil, nil
	})
	mcp.AddTool(server, &mcp.Tool{Name: "log"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: "an info line"})
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "logged"}}}, nil, nil
	})
	verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		return &auth.TokenInfo{UserID: "https://issuer#" + token, Expiration: time.Now().Add(time.Hour)}, nil
	}
	h := mcplambda.NewHandler(server, &mcplambda.Options{Sessions: store, SessionTTL: time.Minute})
	return auth.RequireBearerToken(verify, nil)(h)
}

type reply struct {
	status int
	header http.Header
	body   string
}

type client struct {
	t     *testing.T
	url   string
	token string
	sid   string
	sse   bool
}

func (c *client) send(method, body string) reply {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+"/mcp", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if c.sse {
		req.Header.Set("Accept", "application/json, text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if c.sid != "" {
		req.Header.Set("Mcp-Session-Id", c.sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{}},"clientInfo":{"name":"legacy-client","version":"1"}}}`

func callBody(tool string) string {
	return `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"` + tool + `","arguments":{}}}`
}

func (c *client) initialize() {
	c.t.Helper()
	r := c.send("POST", initBody)
	c.sid = r.header.Get("Mcp-Session-Id")
	if r.status != 200 || c.sid == "" || !strings.Contains(r.body, `"protocolVersion":"2025-11-25"`) {
		c.t.Fatalf("initialize = %d %q (session %q)", r.status, r.body, c.sid)
	}
	if r := c.send("POST", `{"jsonrpc":"2.0","method":"notifications/initialized"}`); r.status != 202 {
		c.t.Fatalf("notifications/initialized = %d %q", r.status, r.body)
	}
}

// countingStore counts the store calls made for each MCP request.
type countingStore struct {
	state.Store
	gets, puts, deletes atomic.Int64
}

func (c *countingStore) Get(ctx context.Context, k string) (*state.Item, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, k)
}

func (c *countingStore) Put(ctx context.Context, k string, v []byte, o state.PutOptions) (int64, error) {
	c.puts.Add(1)
	return c.Store.Put(ctx, k, v, o)
}

func (c *countingStore) Delete(ctx context.Context, k string, v int64) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, k, v)
}

func (c *countingStore) take() string {
	return fmt.Sprintf("%d get, %d put, %d delete", c.gets.Swap(0), c.puts.Swap(0), c.deletes.Swap(0))
}

func newDynamoStore(t testing.TB) state.Store {
	client := dynamotest.Client(t)
	s, err := dynamo.New(context.Background(), client, dynamotest.NewTable(t, client), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Legacy sessions across two instances sharing DynamoDB Local: initialize
// on one, every call on the other.
func TestLegacySessionsAcrossInstances(t *testing.T) {
	stores := map[string]func(t testing.TB) state.Store{
		"dynamodb": newDynamoStore,
		"memory":   func(testing.TB) state.Store { return state.NewMemory(nil) },
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			store := &countingStore{Store: newStore(t)}
			a := httptest.NewServer(instance(t, store))
			defer a.Close()
			b := httptest.NewServer(instance(t, store))
			defer b.Close()

			alice := &client{t: t, url: a.URL, token: "alice"}
			alice.initialize()
			if got := store.take(); got != "1 get, 1 put, 0 delete" {
				t.Errorf("store calls for initialize + notifications/initialized: %s, want one put and one get", got)
			}
			alice.url = b.URL // every later request reaches the other instance
			r := alice.send("POST", callBody("whoami"))
			if r.status != 200 || !strings.Contains(r.body, "session=true client=legacy-client") {
				t.Fatalf("whoami on instance b = %d %q; want the session restored with its client info", r.status, r.body)
			}
			if got := store.take(); got != "1 get, 0 put, 0 delete" {
				t.Errorf("store calls for a tools/call: %s, want one get", got)
			}

			// App state is per session.
			for want := 1; want <= 2; want++ {
				if r := alice.send("POST", callBody("count")); !strings.Contains(r.body, fmt.Sprint("count=", want)) {
					t.Errorf("count #%d = %q", want, r.body)
				}
			}
			alice2 := &client{t: t, url: a.URL, token: "alice"}
			alice2.initialize()
			if r := alice2.send("POST", callBody("count")); !strings.Contains(r.body, "count=1") {
				t.Errorf("count in a second session of the same principal = %q, want count=1", r.body)
			}

			// The log level set on one instance holds on the other.
			alice.sse = true
			if r := alice.send("POST", callBody("log")); !strings.Contains(r.body, "an info line") {
				t.Errorf("log at the default level: %q, want the info line", r.body)
			}
			alice.url = a.URL
			store.take()
			if r := alice.send("POST", `{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"error"}}`); r.status != 200 {
				t.Fatalf("setLevel = %d %q", r.status, r.body)
			}
			if got := store.take(); got != "1 get, 1 put, 0 delete" {
				t.Errorf("store calls for logging/setLevel: %s, want one get and one put", got)
			}
			alice.url = b.URL
			if r := alice.send("POST", callBody("log")); strings.Contains(r.body, "an info line") || !strings.Contains(r.body, "logged") {
				t.Errorf("log at level error on the other instance: %q, want no info line", r.body)
			}
			alice.sse = false

			// Another principal presenting alice's session learns nothing.
			unknown := (&client{t: t, url: b.URL, token: "bob", sid: "no-such-session"}).send("POST", callBody("whoami"))
			bob := &client{t: t, url: b.URL, token: "bob", sid: alice.sid}
			for _, method := range []string{"POST", "DELETE"} {
				r := bob.send(method, callBody("whoami"))
				if r.status != 404 || r.body != unknown.body {
					t.Errorf("bob %s with alice's session = %d %q; want 404 %q, as for an unknown session", method, r.status, r.body, unknown.body)
				}
			}
			if r := alice.send("POST", callBody("whoami")); r.status != 200 {
				t.Errorf("alice after bob's attempts = %d %q", r.status, r.body)
			}

			// DELETE ends the session everywhere.
			alice.url = a.URL
			if r := alice.send("DELETE", ""); r.status != 204 {
				t.Fatalf("DELETE = %d %q", r.status, r.body)
			}
			alice.url = b.URL
			if r := alice.send("POST", callBody("whoami")); r.status != 404 {
				t.Errorf("call after DELETE = %d %q, want 404", r.status, r.body)
			}

			// 2026-07-28 requests stay stateless: no session, no store call.
			store.take()
			req, _ := http.NewRequest("POST", b.URL+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"whoami","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"new-client","version":"1"}}}}`))
			req.Header.Set("Authorization", "Bearer alice")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
			req.Header.Set("Mcp-Method", "tools/call")
			req.Header.Set("Mcp-Name", "whoami")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "session=false") || resp.Header.Get("Mcp-Session-Id") != "" {
				t.Errorf("2026-07-28 call = %d %q (session header %q), want a stateless answer", resp.StatusCode, body, resp.Header.Get("Mcp-Session-Id"))
			}
			if got := store.take(); got != "0 get, 0 put, 0 delete" {
				t.Errorf("store calls for a 2026-07-28 request: %s, want none", got)
			}
		})
	}
}

// A session expires after SessionTTL without use; DynamoDB deletes it
// late, so the read filters it.
func TestLegacySessionExpiry(t *testing.T) {
	now := time.Now()
	ddb := dynamotest.Client(t)
	store, err := dynamo.New(context.Background(), ddb, dynamotest.NewTable(t, ddb), &dynamo.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(instance(t, store))
	defer srv.Close()
	c := &client{t: t, url: srv.URL, token: "alice"}
	c.initialize()
	now = now.Add(59 * time.Second)
	if r := c.send("POST", callBody("whoami")); r.status != 200 {
		t.Fatalf("call before expiry = %d %q", r.status, r.body)
	}
	now = now.Add(2 * time.Minute)
	if r := c.send("POST", callBody("whoami")); r.status != 404 {
		t.Errorf("call after expiry = %d %q, want 404", r.status, r.body)
	}
}
