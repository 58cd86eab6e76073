package mcplambda_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/state"
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

// A tool asks a legacy (2025-11-25) client for input mid-call. Two
// handlers share the session store, as Lambda instances share a DynamoDB
// table; every request goes to the other one, so the client's answer never
// reaches the instance whose call waits for it: the store carries it over.
func ExampleOptions_sessions() {
	server := func() *mcp.Server {
		s := mcp.NewServer(&mcp.Implementation{Name: "asker", Version: "v1"}, nil)
		mcp.AddTool(s, &mcp.Tool{Name: "ask"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, greetOut, error) {
			res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "Your name?", RequestedSchema: map[string]any{
				"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}})
			if err != nil {
				return nil, greetOut{}, err
			}
			return nil, greetOut{Greeting: fmt.Sprint("hello, ", res.Content["name"])}, nil
		})
		return s
	}
	store := state.NewMemory(nil) // in Lambda: dynamo.SessionsFromEnv
	opts := &mcplambda.Options{Sessions: store}
	instances := []http.Handler{mcplambda.NewHandler(server(), opts), mcplambda.NewHandler(server(), opts)}
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		instances[n.Add(1)%2].ServeHTTP(w, r)
	}))
	defer srv.Close()

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "v1"}, &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	})
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp"}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	// Output: {"greeting":"hello, Ada"}
}
