package mcplambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/seal"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// trustServer has a tool per consumer of the caller's identity: whoami
// (the principal, as logs and metrics see it), put/get (app state),
// seal/open (sealed request state).
func trustServer(t *testing.T) *mcp.Server {
	t.Helper()
	app := state.NewApp(state.NewMemory(nil), nil)
	sealer := seal.New(seal.StaticKeys(seal.Key{ID: "k", Secret: make([]byte, seal.KeySize)}), nil)
	s := mcp.NewServer(&mcp.Implementation{Name: "trust", Version: "v1"}, nil)
	type in struct {
		V string `json:"v"`
	}
	type out struct {
		V string `json:"v"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ in) (*mcp.CallToolResult, out, error) {
		return nil, out{V: identity.Principal(ctx)}, nil
	})
	mcp.AddTool(s, &mcp.Tool{Name: "put"}, func(ctx context.Context, _ *mcp.CallToolRequest, a in) (*mcp.CallToolResult, out, error) {
		return nil, out{V: "ok"}, app.Put(ctx, "v", a.V)
	})
	mcp.AddTool(s, &mcp.Tool{Name: "get"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ in) (*mcp.CallToolResult, out, error) {
		var v string
		err := app.Get(ctx, "v", &v)
		if errors.Is(err, state.ErrNotFound) {
			v, err = "(none)", nil
		}
		return nil, out{V: v}, err
	})
	// The sealed state is bound to the tool call it is for; seal and open
	// use the same request shape (tool "box", no arguments).
	box := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "box", Arguments: json.RawMessage("{}")}}
	mcp.AddTool(s, &mcp.Tool{Name: "seal"}, func(ctx context.Context, _ *mcp.CallToolRequest, a in) (*mcp.CallToolResult, out, error) {
		sealed, err := sealer.Seal(ctx, box, []byte(a.V))
		return nil, out{V: sealed}, err
	})
	mcp.AddTool(s, &mcp.Tool{Name: "open"}, func(ctx context.Context, _ *mcp.CallToolRequest, a in) (*mcp.CallToolResult, out, error) {
		b, err := sealer.Open(ctx, box, a.V)
		if err != nil {
			return nil, out{V: "rejected"}, nil
		}
		return nil, out{V: string(b)}, nil
	})
	return s
}

// TestForgedFrontDoorIdentity sends function URL events carrying an IAM
// identity, as anyone allowed to invoke the function can write them. With
// Options.TrustFrontDoor off the identity must change nothing anywhere:
// every answer is the one an event without identity gets. With it on, the
// identity is the caller everywhere. (The stdio adapter's per-principal
// isolation is checked the same way in package stdio.)
func TestForgedFrontDoorIdentity(t *testing.T) {
	const alice, bob = "arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:user/bob"
	type result struct {
		Whoami        string // identity.Principal, also in logs
		PutAlice      string // app state written as alice ...
		GetBob        string // ... read as bob
		GetAlice      string // ... and as alice
		OpenAsBob     string // sealed as alice, opened by bob
		SessionAsBob  int    // alice's legacy session used by bob: HTTP status
		SessionAsNone int    // and by an anonymous caller
	}
	run := func(t *testing.T, trust bool, as func(who string) string) result {
		store := state.NewMemory(nil)
		o := &Options{Sessions: store, TrustFrontDoor: trust}
		lh := NewLambdaHandler(NewHandler(trustServer(t), o), o)
		send := func(who, sid, body string, hdr ...string) (int, http.Header, string) {
			t.Helper()
			ev := events.LambdaFunctionURLRequest{
				RawPath: "/mcp",
				Headers: map[string]string{"content-type": "application/json", "accept": "application/json, text/event-stream", "host": "abc.lambda-url.us-east-1.on.aws"},
				Body:    body,
				RequestContext: events.LambdaFunctionURLRequestContext{
					DomainName: "abc.lambda-url.us-east-1.on.aws",
					HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/mcp", SourceIP: "203.0.113.9"},
				},
			}
			if sid != "" {
				ev.Headers["mcp-session-id"] = sid
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				ev.Headers[hdr[i]] = hdr[i+1]
			}
			if arn := as(who); arn != "" {
				ev.RequestContext.Authorizer = &events.LambdaFunctionURLRequestContextAuthorizerDescription{
					IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{UserARN: arn, AccountID: "111122223333"},
				}
			}
			payload, _ := json.Marshal(ev)
			raw, err := lh.Invoke(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.LambdaFunctionURLResponse
			if err := json.Unmarshal(raw, &resp); err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range resp.Headers {
				h.Set(k, v)
			}
			return resp.StatusCode, h, resp.Body
		}
		call := func(who, tool, v string) string {
			t.Helper()
			body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"v":` + quote(v) + `},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`
			_, _, resp := send(who, "", body, "mcp-protocol-version", "2026-07-28", "mcp-method", "tools/call", "mcp-name", tool)
			var m struct {
				Result struct {
					IsError           bool `json:"isError"`
					StructuredContent struct {
						V string `json:"v"`
					} `json:"structuredContent"`
				} `json:"result"`
				Error *struct{ Message string } `json:"error"`
			}
			json.Unmarshal([]byte(lastResponse([]byte(resp))), &m)
			if m.Result.StructuredContent.V == "" && len(lastResponse([]byte(resp))) == 0 {
				json.Unmarshal([]byte(resp), &m)
			}
			switch {
			case m.Error != nil:
				return "error: " + m.Error.Message
			case m.Result.IsError:
				return "tool error"
			}
			return m.Result.StructuredContent.V
		}
		var r result
		r.Whoami = call("alice", "whoami", "")
		r.PutAlice = call("alice", "put", "secret")
		r.GetBob = call("bob", "get", "")
		r.GetAlice = call("alice", "get", "")
		r.OpenAsBob = call("bob", "open", call("alice", "seal", "payload"))

		const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`
		status, h, _ := send("alice", "", initBody)
		sid := h.Get("Mcp-Session-Id")
		if status != 200 || sid == "" {
			t.Fatalf("initialize as alice = %d, session %q", status, sid)
		}
		ping := `{"jsonrpc":"2.0","id":2,"method":"ping"}`
		r.SessionAsBob, _, _ = send("bob", sid, ping)
		r.SessionAsNone, _, _ = send("", sid, ping)
		return r
	}
	forged := func(who string) string {
		switch who {
		case "alice":
			return alice
		case "bob":
			return bob
		}
		return ""
	}
	none := func(string) string { return "" }

	t.Run("untrusted", func(t *testing.T) {
		got, want := run(t, false, forged), run(t, false, none)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("forged identities without TrustFrontDoor changed answers (-without identity +forged):\n%s", diff)
		}
		t.Logf("anonymous answers: %+v", want)
		if want.Whoami != "" || want.SessionAsBob != 200 {
			t.Errorf("anonymous answers = %+v, want no principal and a shared anonymous session", want)
		}
	})
	t.Run("trusted", func(t *testing.T) {
		got := run(t, true, forged)
		want := result{
			Whoami:        alice,
			PutAlice:      "ok",
			GetBob:        "(none)",
			GetAlice:      "secret",
			OpenAsBob:     "rejected",
			SessionAsBob:  404,
			SessionAsNone: 404,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("trusted front-door identities (-want +got):\n%s", diff)
		}
	})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
