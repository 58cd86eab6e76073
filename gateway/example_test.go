package gateway_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/gateway"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func ExampleParse() {
	cfg, err := gateway.Parse("gateway.json", []byte(`{
		"mcpServers": {
			"Time": {"url": "lambda:time:live"},
			"everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]},
			"docs": {"url": "https://abc.lambda-url.eu-west-1.on.aws/mcp", "sigv4": true, "prefix": "d"}
		}
	}`), nil)
	if err != nil {
		panic(err)
	}
	for _, b := range cfg.Backends {
		fmt.Printf("%s: %s, tools named %s__NAME\n", b.Name, b.Type, b.Prefix)
	}
	fmt.Println(cfg.Grants().Functions)
	// Output:
	// Time: lambda, tools named time__NAME
	// everything: stdio, tools named everything__NAME
	// docs: http, tools named d__NAME
	// [{time live}]
}

func ExampleNew() {
	ctx := context.Background()
	// A backend: any MCP server, here a go-sdk server on a local port.
	backend := mcp.NewServer(&mcp.Implementation{Name: "hello", Version: "v1"}, nil)
	mcp.AddTool(backend, &mcp.Tool{Name: "greet"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "hello from the backend"}}}, nil, nil
	})
	srv := httptest.NewServer(mcplambda.NewHandler(backend, nil))
	defer srv.Close()

	cfg, err := gateway.Parse("gateway.json", []byte(`{"mcpServers": {"hello": {"url": "`+srv.URL+`/mcp"}}}`), nil)
	if err != nil {
		panic(err)
	}
	g, err := gateway.New(ctx, cfg, nil)
	if err != nil {
		panic(err)
	}
	defer g.Close()

	// A client of the gateway (served here in memory; gateway.Serve
	// serves it in Lambda or on a local port).
	ct, st := mcp.NewInMemoryTransports()
	g.Server().Connect(ctx, st, nil)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "client"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		panic(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "hello__greet"})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	// Output: hello from the backend
}
