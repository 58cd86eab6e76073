package mcplambda_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/mcplambda/mcplambda"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type greetIn struct {
	Name string `json:"name"`
}

type greetOut struct {
	Greeting string `json:"greeting"`
}

func greet(ctx context.Context, req *mcp.CallToolRequest, in greetIn) (*mcp.CallToolResult, greetOut, error) {
	return nil, greetOut{Greeting: "hello, " + in.Name}, nil
}

func newServer() *mcp.Server {
	server := mcp.NewServer(&mcp.Implementation{Name: "greeter", Version: "v1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "greet", Description: "says hello"}, greet)
	return server
}

// A server's http.Handler, called with go-sdk's client.
func ExampleNewHandler() {
	srv := httptest.NewServer(mcplambda.NewHandler(newServer(), nil))
	defer srv.Close()

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "v1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "greet", Arguments: greetIn{Name: "Lambda"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	// Output: {"greeting":"hello, Lambda"}
}

// The Lambda handler answering a function URL event, as the Lambda runtime
// would call it.
func ExampleNewLambdaHandler() {
	h := mcplambda.NewLambdaHandler(mcplambda.NewHandler(newServer(), nil), nil)
	event := `{
		"version": "2.0",
		"rawPath": "/mcp",
		"headers": {"content-type": "application/json", "accept": "application/json"},
		"requestContext": {
			"domainName": "abc123.lambda-url.us-east-1.on.aws",
			"http": {"method": "POST", "path": "/mcp", "sourceIp": "198.51.100.7"}
		},
		"body": "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"greet\",\"arguments\":{\"name\":\"Lambda\"}}}"
	}`
	out, err := h.Invoke(context.Background(), []byte(event))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(string(out), `"statusCode":200`), strings.Contains(string(out), `hello, Lambda`))
	// Output: true true
}
