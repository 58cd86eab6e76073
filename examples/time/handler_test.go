package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcplambda/mcplambda"
)

// recorder is an http.RoundTripper that records the requests a client
// sends, and the answers, over a real HTTP connection.
type recorder struct {
	mu       sync.Mutex
	exchange []exchange
}

type exchange struct {
	method, version string // HTTP method, Mcp-Protocol-Version header
	status          int
}

func (e exchange) String() string { return fmt.Sprintf("%s (%s) -> %d", e.method, e.version, e.status) }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	e := exchange{method: req.Method, version: req.Header.Get("Mcp-Protocol-Version")}
	if err == nil {
		e.status = resp.StatusCode
	}
	r.mu.Lock()
	r.exchange = append(r.exchange, e)
	r.mu.Unlock()
	return resp, err
}

// TestHandler runs go-sdk's real client against the server behind
// mcplambda.NewHandler on a real HTTP server, in each protocol version the
// client can speak: the 2026-07-28 era (server/discover, no session) and the
// legacy initialize handshake.
func TestHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ask  string // ClientSessionOptions.ProtocolVersion; "" is the client's newest
		want string // negotiated version
	}{
		{"", "2026-07-28"},
		{"2025-11-25", "2025-11-25"},
		{"2025-06-18", "2025-06-18"},
		{"2025-03-26", "2025-03-26"},
		{"2024-11-05", "2024-11-05"},
	}
	for _, tt := range tests {
		t.Run("version="+tt.want, func(t *testing.T) {
			ctx := context.Background()
			ts := httptest.NewServer(mcplambda.NewHandler(newServer(july, "Asia/Kolkata"), nil))
			defer ts.Close()
			rec := &recorder{}
			transport := &mcp.StreamableClientTransport{
				Endpoint:   ts.URL + "/mcp",
				HTTPClient: &http.Client{Transport: rec},
			}
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "0"}, nil).
				Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: tt.ask})
			if err != nil {
				t.Fatalf("Connect(%q): %v", tt.ask, err)
			}
			defer cs.Close()
			if got := cs.InitializeResult().ProtocolVersion; got != tt.want {
				t.Errorf("Connect(%q) negotiated %q, want %q", tt.ask, got, tt.want)
			}
			if got := cs.InitializeResult().ServerInfo.Name; got != "mcp-time" {
				t.Errorf("server name = %q, want %q", got, "mcp-time")
			}

			list, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatalf("ListTools: %v", err)
			}
			var names []string
			for _, tool := range list.Tools {
				names = append(names, tool.Name)
				if tool.InputSchema == nil || tool.OutputSchema == nil {
					t.Errorf("tool %s: input schema %v, output schema %v; want both", tool.Name, tool.InputSchema, tool.OutputSchema)
				}
			}
			slices.Sort(names)
			if want := []string{"convert_time", "get_current_time"}; !slices.Equal(names, want) {
				t.Errorf("ListTools names = %q, want %q", names, want)
			}

			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_current_time", Arguments: map[string]any{"timezone": "Asia/Kolkata"}})
			if err != nil {
				t.Fatalf("CallTool(get_current_time): %v", err)
			}
			if got, ok := output[timeResult](t, res); ok {
				want := timeResult{"Asia/Kolkata", "2026-07-28T17:30:00+05:30", "Tuesday", false}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("get_current_time(%q) mismatch (-want +got):\n%s", "Asia/Kolkata", diff)
				}
			}

			args := map[string]any{"source_timezone": "Europe/London", "time": "12:00", "target_timezone": "Asia/Kathmandu"}
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "convert_time", Arguments: args})
			if err != nil {
				t.Fatalf("CallTool(convert_time): %v", err)
			}
			if got, ok := output[convertTimeResult](t, res); ok {
				want := convertTimeResult{
					Source:         timeResult{"Europe/London", "2026-07-28T12:00:00+01:00", "Tuesday", true},
					Target:         timeResult{"Asia/Kathmandu", "2026-07-28T16:45:00+05:45", "Tuesday", false},
					TimeDifference: "+4.75h",
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("convert_time(%v) mismatch (-want +got):\n%s", args, diff)
				}
			}

			args["time"] = "25:00"
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "convert_time", Arguments: args})
			if err != nil {
				t.Fatalf("CallTool(convert_time, 25:00) = protocol error %v, want an isError result", err)
			}
			if !res.IsError {
				t.Errorf("convert_time(%v) = %s, want an isError result", args, text(res))
			}

			// Every request succeeded, except the legacy client's optional
			// GET for a standalone SSE stream, which a stateless server
			// refuses with 405; 2026-07-28 requests all carry the version.
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, e := range rec.exchange {
				t.Logf("exchange: %v", e)
				switch {
				case e.method == http.MethodGet && tt.want < "2026-07-28" && e.status == http.StatusMethodNotAllowed:
				case e.method != http.MethodPost || e.status/100 != 2:
					t.Errorf("exchange %v, want a successful POST", e)
				case tt.want == "2026-07-28" && e.version != tt.want:
					t.Errorf("exchange %v, want Mcp-Protocol-Version %s", e, tt.want)
				}
			}
		})
	}
}
