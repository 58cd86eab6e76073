package invoke_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/invoke"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// inProcess is an [invoke.Client] that runs a Lambda handler in this
// process instead of calling AWS, so the example works offline.
type inProcess struct {
	handler interface {
		Invoke(context.Context, []byte) ([]byte, error)
	}
}

func (c inProcess) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	out, err := c.handler.Invoke(ctx, in.Payload)
	if err != nil {
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: fmt.Appendf(nil, `{"errorMessage":%q,"errorType":"errorString"}`, err)}, nil
	}
	return &lambda.InvokeOutput{StatusCode: 200, Payload: out}, nil
}

func Example() {
	// The function: an MCP server behind mcplambda's Lambda handler.
	server := mcp.NewServer(&mcp.Implementation{Name: "greeter", Version: "v1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "greet"}, func(ctx context.Context, req *mcp.CallToolRequest, args struct{ Name string }) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "Hello, " + args.Name}}}, nil, nil
	})
	fn := mcplambda.NewLambdaHandler(mcplambda.NewHandler(server, nil), nil)

	// The client. Without Options.Client, the transport would use the
	// default AWS configuration and call Lambda.
	ctx := context.Background()
	t := invoke.NewTransport("greeter", &invoke.Options{Client: inProcess{fn}})
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "v1"}, nil).Connect(ctx, t, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"Name": "Lambda"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cs.InitializeResult().ProtocolVersion)
	fmt.Println(res.Content[0].(*mcp.TextContent).Text)
	// Output:
	// 2026-07-28
	// Hello, Lambda
}
