package main

//lint:file-ignore SA1019 the fixtures exercise sampling and roots, deprecated since 2026-07-28 (SEP-2577) but still tested by the suite.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
	statepkg "github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/seal"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The SEP-2322 multi-round-trip fixtures. Instead of calling back into the
// client in the middle of a request, a handler returns an input_required
// result naming what it needs (inputRequests) and, optionally, an opaque
// requestState; the client answers with a retry of the same request
// carrying inputResponses and the state. Nothing is kept on the server
// between rounds, so any Lambda instance can serve any round, which is why
// the state is sealed (package state/seal: AES-256-GCM, bound to the caller,
// the tool and its arguments, expiring, single-use): it is the only memory
// the exchange has, and the client holds it.

// addInputRequiredFixtures registers the test_input_required_result_* tools
// and prompt. signer seals the requestState of the fixtures that use one.
func addInputRequiredFixtures(server *mcp.Server, signer *stateSigner) {
	// The basic elicitation round trip; also used by the result-type,
	// missing-input-response, ignore-extra-params and validate-input
	// scenarios: anything short of an accepted "user_name" answer is
	// answered by asking again.
	addTool(server, "test_input_required_result_elicitation", "Asks for the caller's name by elicitation (SEP-2322)",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if name, _ := accepted(req.Params.InputResponses, "user_name")["name"].(string); name != "" {
				return text("Hello, %s!", name), nil
			}
			return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"user_name": askName()}}, nil
		})

	addTool(server, "test_input_required_result_sampling", "Asks the client's LLM a question (SEP-2322)",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if answer, ok := sampled(req.Params.InputResponses, "capital_question"); ok {
				return text("Sampling response: %s", answer), nil
			}
			return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{
				"capital_question": sample("What is the capital of France?", 100),
			}}, nil
		})

	addTool(server, "test_input_required_result_list_roots", "Asks for the client's roots (SEP-2322)",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if roots, ok := req.Params.InputResponses["client_roots"].(*mcp.ListRootsResult); ok && roots != nil {
				uris := make([]string, len(roots.Roots))
				for i, r := range roots.Roots {
					uris[i] = r.URI
				}
				return text("Client exposed %d root(s): %s", len(uris), strings.Join(uris, ", ")), nil
			}
			return &mcp.CallToolResult{InputRequests: mcp.InputRequestMap{"client_roots": &mcp.ListRootsParams{}}}, nil
		})

	// request-state and tampered-state: a confirmation with signed state; a
	// retry whose state does not verify is an invalid-params error.
	confirm := func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if state := req.Params.RequestState; state != "" {
			payload, err := signer.open(ctx, req, state)
			if err != nil || payload != "confirm" {
				return nil, invalidState(err)
			}
			if accepted(req.Params.InputResponses, "confirm") != nil {
				return text("state-ok: requestState verified and confirmation accepted"), nil
			}
		}
		state, err := signer.seal(ctx, req, "confirm")
		if err != nil {
			return nil, err
		}
		return &mcp.CallToolResult{
			InputRequests: mcp.InputRequestMap{"confirm": &mcp.ElicitParams{
				Message:         "Please confirm",
				RequestedSchema: objectSchema("ok", "boolean"),
			}},
			RequestState: state,
		}, nil
	}
	addTool(server, "test_input_required_result_request_state", "Round-trips a sealed requestState with a confirmation (SEP-2322)", confirm)
	addTool(server, "test_input_required_result_tampered_state", "Rejects a retry whose requestState fails verification (SEP-2322)", confirm)

	addTool(server, "test_input_required_result_multiple_inputs", "Asks for a name, an LLM greeting and the roots in one round (SEP-2322)",
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if state := req.Params.RequestState; state != "" {
				if payload, err := signer.open(ctx, req, state); err != nil || payload != "multiple_inputs" {
					return nil, invalidState(err)
				}
			}
			in := req.Params.InputResponses
			name, _ := accepted(in, "user_name")["name"].(string)
			greeting, sampledOK := sampled(in, "greeting")
			roots, rootsOK := in["client_roots"].(*mcp.ListRootsResult)
			if name != "" && sampledOK && rootsOK && roots != nil {
				return text("%s %s: %d root(s) visible", greeting, name, len(roots.Roots)), nil
			}
			state, err := signer.seal(ctx, req, "multiple_inputs")
			if err != nil {
				return nil, err
			}
			return &mcp.CallToolResult{
				InputRequests: mcp.InputRequestMap{
					"user_name":    askName(),
					"greeting":     sample("Generate a greeting", 50),
					"client_roots": &mcp.ListRootsParams{},
				},
				RequestState: state,
			}, nil
		})

	// Two elicitation rounds; what round 1 learnt travels in the sealed
	// state of round 2.
	addTool(server, "test_input_required_result_multi_round", "Elicits a name, then a colour, carrying state between rounds (SEP-2322)",
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			round1 := func() (*mcp.CallToolResult, error) {
				state, err := signer.seal(ctx, req, "round=1")
				if err != nil {
					return nil, err
				}
				return &mcp.CallToolResult{
					InputRequests: mcp.InputRequestMap{"step1": &mcp.ElicitParams{
						Message:         "Step 1: What is your name?",
						RequestedSchema: objectSchema("name", "string"),
					}},
					RequestState: state,
				}, nil
			}
			if req.Params.RequestState == "" {
				return round1()
			}
			state, err := signer.open(ctx, req, req.Params.RequestState)
			if err != nil {
				return nil, invalidState(err)
			}
			in := req.Params.InputResponses
			switch {
			case state == "round=1":
				name, _ := accepted(in, "step1")["name"].(string)
				if name == "" {
					return round1()
				}
				next, err := signer.seal(ctx, req, "round=2;name="+name)
				if err != nil {
					return nil, err
				}
				return &mcp.CallToolResult{
					InputRequests: mcp.InputRequestMap{"step2": &mcp.ElicitParams{
						Message:         "Step 2: What is your favorite color?",
						RequestedSchema: objectSchema("color", "string"),
					}},
					RequestState: next,
				}, nil
			case strings.HasPrefix(state, "round=2;name="):
				color, _ := accepted(in, "step2")["color"].(string)
				if color == "" {
					color = "no colour"
				}
				return text("Multi-round complete: %s likes %s", strings.TrimPrefix(state, "round=2;name="), color), nil
			}
			return nil, invalidState(fmt.Errorf("unknown round %q", state))
		})

	// Only ask for what the request's declared client capabilities cover.
	addTool(server, "test_input_required_result_capabilities", "Asks only for input kinds the client declared (SEP-2322)",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if len(req.Params.InputResponses) > 0 {
				return text("Capability-aware input requests fulfilled"), nil
			}
			caps := req.ClientCapabilities()
			if caps == nil {
				caps = &mcp.ClientCapabilities{}
			}
			asks := mcp.InputRequestMap{}
			if caps.Elicitation != nil {
				asks["user_name"] = askName()
			}
			if caps.Sampling != nil {
				asks["greeting"] = sample("Generate a short greeting", 50)
			}
			if caps.RootsV2 != nil || caps.Roots.ListChanged {
				asks["client_roots"] = &mcp.ListRootsParams{}
			}
			if len(asks) == 0 {
				return text("No declared client capability supports an input request"), nil
			}
			return &mcp.CallToolResult{InputRequests: asks}, nil
		})

	// input_required works for prompts/get too.
	server.AddPrompt(&mcp.Prompt{
		Name:        "test_input_required_result_prompt",
		Description: "Asks for context by elicitation before rendering (SEP-2322)",
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		if content := accepted(req.Params.InputResponses, "user_context"); content != nil {
			c, _ := content["context"].(string)
			return &mcp.GetPromptResult{
				Description: "A prompt with elicited context",
				Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "Context: " + c}}},
			}, nil
		}
		return &mcp.GetPromptResult{InputRequests: mcp.InputRequestMap{"user_context": &mcp.ElicitParams{
			Message:         "What context should the prompt use?",
			RequestedSchema: objectSchema("context", "string"),
		}}}, nil
	})
}

// askName is the elicitation request for the caller's name.
func askName() *mcp.ElicitParams {
	return &mcp.ElicitParams{Message: "What is your name?", RequestedSchema: objectSchema("name", "string")}
}

// sample is a one-message sampling request.
func sample(prompt string, maxTokens int64) *mcp.CreateMessageParams {
	return &mcp.CreateMessageParams{
		Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: prompt}}},
		MaxTokens: maxTokens,
	}
}

// objectSchema is an elicitation schema with one required property.
func objectSchema(property, typ string) *jsonschema.Schema {
	return &jsonschema.Schema{
		Type:       "object",
		Properties: map[string]*jsonschema.Schema{property: {Type: typ}},
		Required:   []string{property},
	}
}

// accepted returns the content of the elicitation answer under key if the
// user accepted it, else nil.
func accepted(responses mcp.InputResponseMap, key string) map[string]any {
	r, ok := responses[key].(*mcp.ElicitResult)
	if !ok || r == nil || r.Action != "accept" {
		return nil
	}
	return r.Content
}

// sampled returns the first text of the sampling answer under key.
func sampled(responses mcp.InputResponseMap, key string) (string, bool) {
	// go-sdk decodes every sampling answer as the multi-content form.
	r, ok := responses[key].(*mcp.CreateMessageWithToolsResult)
	if !ok || r == nil {
		return "", false
	}
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			return t.Text, true
		}
	}
	return "(non-text response)", true
}

// invalidState is the error for a requestState that does not verify.
func invalidState(err error) error {
	msg := "invalid requestState"
	if err != nil {
		msg += ": " + err.Error()
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: msg}
}

// stateKey returns the secret the requestState sealing key is derived
// from: $CONFORMANCE_STATE_KEY, or a fixed secret. Every instance serving
// the same clients must share the key, since any of them may receive the
// retry. The fixed secret makes the fixture work out of the box and
// protects nothing: a real server takes its keys from a secret store
// (seal.EnvKeys, or package state/seal/awssecrets with rotation).
func stateKey() []byte {
	if k := os.Getenv("CONFORMANCE_STATE_KEY"); k != "" {
		return []byte(k)
	}
	return []byte("mcplambda conformance fixture key; not a secret")
}

// stateSigner seals the fixtures' requestState with a [seal.Sealer]:
// AES-256-GCM, bound to the caller, the tool and its arguments, valid for
// ten minutes and single-use. The single-use record is kept in this
// process's memory; a function with many instances would give the sealer
// a shared store (package dynamo).
type stateSigner struct{ sealer *seal.Sealer }

// newStateSigner returns a signer whose AES-256 key is SHA-256(secret).
func newStateSigner(secret []byte) *stateSigner {
	key := sha256.Sum256(secret)
	keys := seal.StaticKeys(seal.Key{ID: "fixture", Secret: key[:]})
	return &stateSigner{sealer: seal.New(keys, &seal.Options{
		SingleUse: statepkg.NewMemory(nil),
	})}
}

func (s *stateSigner) seal(ctx context.Context, req mcp.Request, payload string) (string, error) {
	return s.sealer.Seal(ctx, req, []byte(payload))
}

func (s *stateSigner) open(ctx context.Context, req mcp.Request, state string) (string, error) {
	b, err := s.sealer.Open(ctx, req, state)
	return string(b), err
}
