package mcplambda

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mcplambda/mcplambda/state"
)

// failingStore is a session store whose backend is down.
type failingStore struct{}

var errDown = errors.New("store down")

func (failingStore) Get(context.Context, string) (*state.Item, error) { return nil, errDown }
func (failingStore) Put(context.Context, string, []byte, state.PutOptions) (int64, error) {
	return 0, errDown
}
func (failingStore) Delete(context.Context, string, int64) error { return errDown }

func TestSessionsHTTP(t *testing.T) {
	store := state.NewMemory(nil)
	srv := httptest.NewServer(NewHandler(newTestServer(t, nil), &Options{Sessions: store}))
	defer srv.Close()
	down := httptest.NewServer(NewHandler(newTestServer(t, nil), &Options{Sessions: failingStore{}}))
	defer down.Close()

	post := func(url, method, sid, accept, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", accept)
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`
	resp, body := post(srv.URL, "POST", "", "application/json, text/event-stream", initBody)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || sid == "" || !strings.Contains(body, `"protocolVersion":"2025-06-18"`) || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("initialize (SSE) = %d %q, session %q", resp.StatusCode, body, sid)
	}

	for _, tc := range []struct {
		name, url, method, sid, accept, body string
		wantStatus                           int
		wantBody                             string
		wantHeader                           map[string]string
	}{
		{name: "call json", method: "POST", sid: sid, accept: "application/json", body: callBody("echo", echoIn{Text: "x"}),
			wantStatus: 200, wantBody: `"echo":"x"`, wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "call sse", method: "POST", sid: sid, accept: "text/event-stream", body: callBody("echo", echoIn{Text: "x"}),
			wantStatus: 200, wantBody: "data: ", wantHeader: map[string]string{"Content-Type": "text/event-stream"}},
		{name: "no session", method: "POST", accept: "application/json", body: callBody("echo", echoIn{Text: "x"}), wantStatus: 400, wantBody: "Mcp-Session-Id header required"},
		{name: "unknown session", method: "POST", sid: "nope", accept: "application/json", body: callBody("echo", echoIn{Text: "x"}), wantStatus: 404, wantBody: "session not found"},
		{name: "initialize with a session", method: "POST", sid: sid, accept: "application/json", body: initBody, wantStatus: 400},
		{name: "delete without session", method: "DELETE", accept: "application/json", wantStatus: 400},
		{name: "get", method: "GET", accept: "application/json", wantStatus: 405, wantHeader: map[string]string{"Allow": "POST, DELETE, OPTIONS"}},
		{name: "store down: initialize", url: down.URL, method: "POST", accept: "application/json", body: initBody, wantStatus: 503, wantBody: "session store unavailable"},
		{name: "store down: call", url: down.URL, method: "POST", sid: sid, accept: "application/json", body: callBody("echo", echoIn{Text: "x"}), wantStatus: 503},
		{name: "delete", method: "DELETE", sid: sid, accept: "application/json", wantStatus: 204},
		{name: "after delete", method: "POST", sid: sid, accept: "application/json", body: callBody("echo", echoIn{Text: "x"}), wantStatus: 404},
	} {
		url := srv.URL
		if tc.url != "" {
			url = tc.url
		}
		resp, body := post(url, tc.method, tc.sid, tc.accept, tc.body)
		if resp.StatusCode != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
			t.Errorf("%s: %s = %d %q; want %d with %q", tc.name, tc.method, resp.StatusCode, body, tc.wantStatus, tc.wantBody)
		}
		for k, v := range tc.wantHeader {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: header %s = %q, want %q", tc.name, k, got, v)
			}
		}
	}
}

func TestLastResponse(t *testing.T) {
	stream := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\ndata: \"result\":{}}\n\n"
	if got := string(lastResponse([]byte(stream))); got != "{\"jsonrpc\":\"2.0\",\"id\":7,\n\"result\":{}}" {
		t.Errorf("lastResponse = %q", got)
	}
	if got := lastResponse([]byte("event: message\ndata: {\"method\":\"x\"}\n\n")); got != nil {
		t.Errorf("lastResponse(no response) = %q, want nil", got)
	}
}

// Direct invokes carry no headers, hence no session: in stateful mode they
// stay stateless rather than being refused.
func TestSessionsDirectInvokeStateless(t *testing.T) {
	store := state.NewMemory(nil)
	lh := NewLambdaHandler(NewHandler(newTestServer(t, nil), &Options{Sessions: store}), nil)
	out, err := lh.Invoke(context.Background(), []byte(callBody("echo", echoIn{Text: "direct"})))
	if err != nil || !strings.Contains(string(out), `"echo":"direct"`) {
		t.Errorf("direct invoke in stateful mode = %s, %v; want the tool result", out, err)
	}
}

// TestSessionBatchJSON: a 2025-03-26 client that accepts only JSON gets
// every response of a batch, as an array.
func TestSessionBatchJSON(t *testing.T) {
	srv := httptest.NewServer(NewHandler(newTestServer(t, nil), &Options{Sessions: state.NewMemory(nil)}))
	defer srv.Close()
	post := func(sid, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
			req.Header.Set("Mcp-Protocol-Version", "2025-03-26")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, _ := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`)
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		t.Fatal("no session")
	}
	resp, body := post(sid, `[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"ping"}]`)
	var got []struct {
		ID int `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 || len(got) != 2 {
		t.Fatalf("batch of two pings = %d %s, want an array of both responses", resp.StatusCode, body)
	}
	if ids := []int{got[0].ID, got[1].ID}; !(ids[0] == 2 && ids[1] == 3 || ids[0] == 3 && ids[1] == 2) {
		t.Errorf("batch response ids = %v, want 2 and 3", ids)
	}
}
