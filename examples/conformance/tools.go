package main

//lint:file-ignore SA1019 the fixtures exercise logging and sampling, deprecated since 2026-07-28 (SEP-2577) but still tested by the suite.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// noArgs is the input of tools that take no arguments.
type noArgs struct{}

// addTool registers a tool whose handler ignores its (empty) arguments.
func addTool(server *mcp.Server, name, description string, h func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error)) {
	mcp.AddTool(server, &mcp.Tool{Name: name, Description: description},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			res, err := h(ctx, req)
			return res, nil, err
		})
}

// addContentTools registers the tools that return each kind of content.
func addContentTools(server *mcp.Server) {
	addTool(server, "test_simple_text", "Returns one text block",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text("This is a simple text response for testing."), nil
		})
	addTool(server, "test_image_content", "Returns one image block",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{Data: pngData, MIMEType: "image/png"}}}, nil
		})
	addTool(server, "test_audio_content", "Returns one audio block",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.AudioContent{Data: wavData, MIMEType: "audio/wav"}}}, nil
		})
	addTool(server, "test_embedded_resource", "Returns one embedded resource",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
				URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource",
			}}}}, nil
		})
	addTool(server, "test_multiple_content_types", "Returns text, an image and an embedded resource",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.TextContent{Text: "This is text content"},
				&mcp.ImageContent{Data: pngData, MIMEType: "image/png"},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI: "test://embedded-in-multiple", MIMEType: "text/plain", Text: "This is an embedded resource",
				}},
			}}, nil
		})
	addTool(server, "test_tool_with_progress", "Reports progress 0, 50 and 100 of 100, 50ms apart",
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			token := req.Params.GetProgressToken()
			for i, p := range []float64{0, 50, 100} {
				if i > 0 {
					if err := sleep(ctx, 50*time.Millisecond); err != nil {
						return nil, err
					}
				}
				if token == nil {
					continue
				}
				err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
					ProgressToken: token,
					Progress:      p,
					Total:         100,
					Message:       fmt.Sprintf("step %d of 3", i+1),
				})
				if err != nil {
					return nil, err
				}
			}
			return text("progress reported for token %v", token), nil
		})
	addTool(server, "test_error_handling", "Always fails with a tool error",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			// An ordinary error becomes an isError result, not a protocol error.
			return nil, errors.New("this tool intentionally returns an error for testing")
		})
	addTool(server, "test_reconnection", "Completes after a short pause; a stateful server would close the SSE stream mid-call (SEP-1699)",
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if req.Extra != nil && req.Extra.CloseSSEStream != nil {
				req.Extra.CloseSSEStream(mcp.CloseSSEStreamArgs{RetryAfter: 10 * time.Millisecond})
			}
			if err := sleep(ctx, 100*time.Millisecond); err != nil {
				return nil, err
			}
			return text("Reconnection test completed successfully."), nil
		})

	// The JSON Schema 2020-12 keywords must survive tools/list verbatim
	// (SEP-1613, SEP-2106).
	mcp.AddTool(server, &mcp.Tool{
		Name:        "json_schema_2020_12_tool",
		Description: "Has an input schema using JSON Schema 2020-12 features",
		InputSchema: json.RawMessage(`{
			"$schema": "https://json-schema.org/draft/2020-12/schema",
			"type": "object",
			"$defs": {
				"address": {
					"$anchor": "addressDef",
					"type": "object",
					"properties": {"street": {"type": "string"}, "city": {"type": "string"}}
				}
			},
			"properties": {
				"name": {"type": "string"},
				"address": {"$ref": "#/$defs/address"},
				"contactMethod": {"type": "string", "enum": ["phone", "email"]},
				"phone": {"type": "string"},
				"email": {"type": "string"}
			},
			"allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
			"if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
			"then": {"required": ["phone"]},
			"else": {"required": ["email"]},
			"additionalProperties": false
		}`),
	}, func(_ context.Context, _ *mcp.CallToolRequest, in json.RawMessage) (*mcp.CallToolResult, any, error) {
		return text("JSON Schema 2020-12 tool called with: %s", in), nil, nil
	})

	// SEP-2243: the region argument is mirrored into the Mcp-Param-Region header.
	type headerArgs struct {
		Region string `json:"region,omitempty"`
		Level  int    `json:"level,omitempty"`
	}
	mcp.AddTool(server, &mcp.Tool{
		Name:        "test_x_mcp_header",
		Description: "Has an argument mirrored into an Mcp-Param-Region header (SEP-2243)",
		InputSchema: json.RawMessage(`{
			"type": "object",
			"properties": {
				"region": {"type": "string", "description": "mirrored into Mcp-Param-Region", "x-mcp-header": "Region"},
				"level": {"type": "integer", "description": "not mirrored"}
			}
		}`),
	}, func(_ context.Context, _ *mcp.CallToolRequest, in headerArgs) (*mcp.CallToolResult, any, error) {
		return text("region=%s", in.Region), nil, nil
	})
}

// addLegacyTools registers the tools of the legacy (2025-11-25 and earlier)
// scenarios that log, sample or elicit from inside a tool call. Sampling
// and elicitation are server-to-client requests: they need a session that
// carries the client's answer back, which a stateless server does not have.
// The 2026-07-28 way is an input_required result (see mrtr.go).
func addLegacyTools(server *mcp.Server) {
	addTool(server, "test_tool_with_logging", "Sends three info log messages, 50ms apart",
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			for i, msg := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
				if i > 0 {
					if err := sleep(ctx, 50*time.Millisecond); err != nil {
						return nil, err
					}
				}
				if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: msg}); err != nil {
					return nil, err
				}
			}
			return text("Tool with logging executed successfully"), nil
		})

	type promptArgs struct {
		Prompt string `json:"prompt" jsonschema:"the prompt to send to the LLM"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "test_sampling", Description: "Asks the client's LLM to answer a prompt"},
		func(ctx context.Context, req *mcp.CallToolRequest, in promptArgs) (*mcp.CallToolResult, any, error) {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
				Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Prompt}}},
				MaxTokens: 100,
			})
			if err != nil {
				return nil, nil, fmt.Errorf("sampling failed: %w", err)
			}
			answer := "(non-text response)"
			if t, ok := res.Content.(*mcp.TextContent); ok {
				answer = t.Text
			}
			return text("LLM response: %s", answer), nil, nil
		})

	type messageArgs struct {
		Message string `json:"message" jsonschema:"the message to show the user"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "test_elicitation", Description: "Asks the user for a username"},
		func(ctx context.Context, req *mcp.CallToolRequest, in messageArgs) (*mcp.CallToolResult, any, error) {
			return elicit(ctx, req, &mcp.ElicitParams{
				Message: in.Message,
				RequestedSchema: &jsonschema.Schema{
					Type:       "object",
					Properties: map[string]*jsonschema.Schema{"username": {Type: "string", Description: "Your preferred username"}},
					Required:   []string{"username"},
				},
			})
		})
	mcp.AddTool(server, &mcp.Tool{Name: "test_elicitation_sep1034_defaults", Description: "Elicits primitives that have default values (SEP-1034)"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			return elicit(ctx, req, &mcp.ElicitParams{
				Message: "Test defaults for primitives",
				RequestedSchema: json.RawMessage(`{
					"type": "object",
					"properties": {
						"name": {"type": "string", "description": "User name", "default": "John Doe"},
						"age": {"type": "integer", "description": "User age", "default": 30},
						"score": {"type": "number", "description": "User score", "default": 95.5},
						"status": {"type": "string", "description": "User status", "enum": ["active", "inactive", "pending"], "default": "active"},
						"verified": {"type": "boolean", "description": "Verification status", "default": true}
					}
				}`),
			})
		})
	mcp.AddTool(server, &mcp.Tool{Name: "test_elicitation_sep1330_enums", Description: "Elicits every enum form (SEP-1330)"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, any, error) {
			return elicit(ctx, req, &mcp.ElicitParams{
				Message: "Test enum schemas",
				RequestedSchema: json.RawMessage(`{
					"type": "object",
					"properties": {
						"untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
						"titledSingle": {"type": "string", "oneOf": [
							{"const": "value1", "title": "First Option"},
							{"const": "value2", "title": "Second Option"},
							{"const": "value3", "title": "Third Option"}
						]},
						"legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
						"untitledMulti": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
						"titledMulti": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"anyOf": [
							{"const": "value1", "title": "First Option"},
							{"const": "value2", "title": "Second Option"},
							{"const": "value3", "title": "Third Option"}
						]}}
					}
				}`),
			})
		})
}

// elicit sends an elicitation/create request to the client and reports the answer.
func elicit(ctx context.Context, req *mcp.CallToolRequest, params *mcp.ElicitParams) (*mcp.CallToolResult, any, error) {
	res, err := req.Session.Elicit(ctx, params)
	if err != nil {
		return nil, nil, fmt.Errorf("elicitation failed: %w", err)
	}
	return text("Elicitation result: action=%s, content=%v", res.Action, res.Content), nil, nil
}

// addStatelessTools registers the diagnostic tools of the server-stateless
// scenario (SEP-2575).
func addStatelessTools(server *mcp.Server) {
	addTool(server, "test_missing_capability", "Requires the sampling client capability; fails with -32021 without it",
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if caps := req.ClientCapabilities(); caps != nil && caps.Sampling != nil {
				return text("Client declared the sampling capability; tool executed."), nil
			}
			data, err := json.Marshal(mcp.MissingRequiredClientCapabilityData{
				RequiredCapabilities: &mcp.ClientCapabilities{Sampling: &mcp.SamplingCapabilities{}},
			})
			if err != nil {
				return nil, err
			}
			return nil, &jsonrpc.Error{
				Code:    mcp.CodeMissingRequiredClientCapabilities,
				Message: "the sampling client capability is required",
				Data:    data,
			}
		})
	addTool(server, "test_streaming_elicitation", "Returns a plain result: a response stream carries no server-to-client requests",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text("stream observed: result frames only, no top-level requests"), nil
		})
	addTool(server, "test_logging_tool", "Logs one message, which is dropped unless the request set a log level",
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Data: "test_logging_tool executed"}); err != nil {
				return nil, err
			}
			return text("log attempted"), nil
		})
	// Re-registering a tool or prompt, even under the same name, notifies
	// subscriptions/listen streams of a list change.
	addTool(server, "test_trigger_tool_change", "Re-registers a tool so listeners get notifications/tools/list_changed",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			addTool(server, "transient_tool", "Registered by test_trigger_tool_change",
				func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					return text("transient"), nil
				})
			return text("tools_list_changed published"), nil
		})
	addTool(server, "test_trigger_prompt_change", "Re-registers a prompt so listeners get notifications/prompts/list_changed",
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			server.AddPrompt(&mcp.Prompt{Name: "transient_prompt", Description: "Registered by test_trigger_prompt_change"},
				func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
					return &mcp.GetPromptResult{}, nil
				})
			return text("prompts_list_changed published"), nil
		})
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
