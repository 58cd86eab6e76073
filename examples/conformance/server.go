package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// newServer returns the conformance server with every fixture registered,
// and its tasks.Manager when store is not nil (tasks kept in store, runs
// started by exec; nil: goroutines). Each call returns an independent
// server. The fixtures keep no state between requests (the multi-round
// ones carry theirs in a signed requestState, the tasks theirs in store),
// so any instance can answer any request; only test_trigger_tool_change
// and test_trigger_prompt_change change the server, by registering one
// more tool or prompt.
func newServer(store state.Store, exec tasks.Executor) (*mcp.Server, *tasks.Manager) {
	server := mcp.NewServer(&mcp.Implementation{
		Name:    "mcplambda-conformance",
		Title:   "mcplambda conformance fixtures",
		Version: "1.0.0",
	}, &mcp.ServerOptions{
		CompletionHandler: complete,
		// Subscriptions are accepted but nothing is remembered: in a
		// stateless deployment there is no session to notify later.
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
		SetCacheable:       setCacheable,
	})
	addContentTools(server)
	addLegacyTools(server)
	addStatelessTools(server)
	addInputRequiredFixtures(server, newStateSigner(stateKey()))
	addResources(server)
	addPrompts(server)
	var m *tasks.Manager
	if store != nil {
		m = tasks.New(server, store, &tasks.Options{
			Executor: exec,
			// The suite polls every 200ms, and cancels its long tasks at
			// once: a running tool learns of a cancellation within a poll
			// interval.
			PollInterval: time.Second,
			Logger:       telemetry.DefaultLogger(),
		})
	}
	addTaskFixtures(server, m)
	return server, m
}

// Test payloads shared with the other SDKs' conformance servers.
var (
	// A 1x1 red PNG.
	pngData = mustBase64("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
	// A WAV file holding one sample of silence.
	wavData = mustBase64("UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=")
)

func mustBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// text is a one-text-block tool result.
func text(format string, args ...any) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, args...)}}}
}

// setCacheable sets the SEP-2549 caching hints. The catalogue only changes
// when a test_trigger_* tool runs, so lists are public and briefly fresh;
// resource contents are fixed, except the watched resource.
func setCacheable(_ context.Context, req mcp.Request, c *mcp.Cacheable) {
	switch r := req.(type) {
	case *mcp.ListToolsRequest, *mcp.ListPromptsRequest, *mcp.ListResourcesRequest, *mcp.ListResourceTemplatesRequest:
		c.TTLMs, c.CacheScope = int((10 * time.Second).Milliseconds()), "public"
	case *mcp.ReadResourceRequest:
		if r.Params.URI == watchedResourceURI {
			c.TTLMs, c.CacheScope = 0, "private"
			return
		}
		c.TTLMs, c.CacheScope = int(time.Hour.Milliseconds()), "public"
	}
}

// complete answers completion/complete: values for the arguments of
// test_prompt_with_arguments and the {id} of the resource template that
// start with what the user typed.
func complete(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	var candidates []string
	if ref := req.Params.Ref; ref != nil {
		switch {
		case ref.Type == "ref/prompt" && ref.Name == "test_prompt_with_arguments":
			candidates = []string{"paris", "park", "party"}
		case ref.Type == "ref/resource" && ref.URI == templateURI && req.Params.Argument.Name == "id":
			candidates = []string{"1", "123", "42"}
		}
	}
	values := []string{}
	for _, c := range candidates {
		if strings.HasPrefix(c, req.Params.Argument.Value) {
			values = append(values, c)
		}
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: values, Total: len(values)}}, nil
}

// Resources.

const (
	watchedResourceURI = "test://watched-resource"
	templateURI        = "test://template/{id}/data"
)

func addResources(server *mcp.Server) {
	fixed := func(contents mcp.ResourceContents) mcp.ResourceHandler {
		return func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			c := contents
			c.URI = req.Params.URI
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{&c}}, nil
		}
	}
	server.AddResource(&mcp.Resource{
		URI:         "test://static-text",
		Name:        "static-text",
		Description: "A static text resource",
		MIMEType:    "text/plain",
	}, fixed(mcp.ResourceContents{MIMEType: "text/plain", Text: "This is the content of the static text resource."}))
	server.AddResource(&mcp.Resource{
		URI:         "test://static-binary",
		Name:        "static-binary",
		Description: "A static binary resource (a PNG image)",
		MIMEType:    "image/png",
	}, fixed(mcp.ResourceContents{MIMEType: "image/png", Blob: pngData}))
	server.AddResource(&mcp.Resource{
		URI:         watchedResourceURI,
		Name:        "watched-resource",
		Description: "A resource clients may subscribe to",
		MIMEType:    "text/plain",
	}, fixed(mcp.ResourceContents{MIMEType: "text/plain", Text: "Watched resource content"}))
	server.AddResourceTemplate(&mcp.ResourceTemplate{
		URITemplate: templateURI,
		Name:        "template",
		Description: "A resource template with an {id} parameter",
		MIMEType:    "application/json",
	}, readTemplate)
}

// readTemplate serves test://template/{id}/data.
func readTemplate(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	id, ok := strings.CutPrefix(uri, "test://template/")
	if ok {
		id, ok = strings.CutSuffix(id, "/data")
	}
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
		URI:      uri,
		MIMEType: "application/json",
		Text:     fmt.Sprintf(`{"id":%q,"templateTest":true,"data":"Data for ID: %s"}`, id, id),
	}}}, nil
}

// Prompts.

func addPrompts(server *mcp.Server) {
	server.AddPrompt(&mcp.Prompt{
		Name:        "test_simple_prompt",
		Title:       "Simple Test Prompt",
		Description: "A prompt without arguments",
	}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{
			Description: "A simple test prompt",
			Messages:    []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "This is a simple prompt for testing."}}},
		}, nil
	})
	server.AddPrompt(&mcp.Prompt{
		Name:        "test_prompt_with_arguments",
		Title:       "Prompt With Arguments",
		Description: "A prompt with two required arguments",
		Arguments: []*mcp.PromptArgument{
			{Name: "arg1", Description: "First test argument", Required: true},
			{Name: "arg2", Description: "Second test argument", Required: true},
		},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		args := req.Params.Arguments
		return &mcp.GetPromptResult{
			Description: "A prompt with arguments",
			Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{
				Text: fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", args["arg1"], args["arg2"]),
			}}},
		}, nil
	})
	server.AddPrompt(&mcp.Prompt{
		Name:        "test_prompt_with_embedded_resource",
		Title:       "Prompt With Embedded Resource",
		Description: "A prompt embedding the resource it is given",
		Arguments:   []*mcp.PromptArgument{{Name: "resourceUri", Description: "URI of the resource to embed", Required: true}},
	}, func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{
			Description: "A prompt with an embedded resource",
			Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI:      req.Params.Arguments["resourceUri"],
					MIMEType: "text/plain",
					Text:     "Embedded resource content for testing.",
				}}},
				{Role: "user", Content: &mcp.TextContent{Text: "Please process the embedded resource above."}},
			},
		}, nil
	})
	server.AddPrompt(&mcp.Prompt{
		Name:        "test_prompt_with_image",
		Title:       "Prompt With Image",
		Description: "A prompt with image content",
	}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{
			Description: "A prompt with an image",
			Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.ImageContent{Data: pngData, MIMEType: "image/png"}},
				{Role: "user", Content: &mcp.TextContent{Text: "Please analyze the image above."}},
			},
		}, nil
	})
}
