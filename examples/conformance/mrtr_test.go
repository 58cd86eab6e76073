package main

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/mcplambda/mcplambda/state/seal"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestStateSigner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	call := func(name, args string) *mcp.CallToolRequest {
		return &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: name, Arguments: json.RawMessage(args)}}
	}
	req := call("test_input_required_result_multi_round", "{}")
	signer := newStateSigner([]byte("key"))
	seal1 := func() string {
		s, err := signer.seal(ctx, req, "round=2;name=Alice")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other, _ := newStateSigner([]byte("other key")).seal(ctx, req, "round=2;name=Alice")
	empty, _ := signer.seal(ctx, req, "")
	replayed := seal1()
	signer.open(ctx, req, replayed)
	tests := []struct {
		name  string
		req   *mcp.CallToolRequest
		state string
		want  string
		err   error
	}{
		{name: "round trip", req: req, state: seal1(), want: "round=2;name=Alice"},
		{name: "empty payload", req: req, state: empty, want: ""},
		{name: "tampered suffix", req: req, state: seal1() + "-TAMPERED", err: seal.ErrTampered},
		{name: "other key", req: req, state: other, err: seal.ErrTampered},
		{name: "other tool", req: call("test_input_required_result_request_state", "{}"), state: seal1(), err: seal.ErrTampered},
		{name: "other arguments", req: call("test_input_required_result_multi_round", `{"x":1}`), state: seal1(), err: seal.ErrTampered},
		{name: "replayed", req: req, state: replayed, err: seal.ErrReplayed},
		{name: "legacy HMAC format", req: req, state: "cm91bmQ9MQ.c2ln", err: seal.ErrTampered},
		{name: "empty", req: req, state: "", err: seal.ErrTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := signer.open(ctx, tt.req, tt.state)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("open(%q) = %q, %v; want %q, error %v", tt.state, got, err, tt.want, tt.err)
			}
		})
	}
}
