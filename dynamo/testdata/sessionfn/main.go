// Command sessionfn is a Lambda bootstrap for the emulator tests of
// package dynamo: an MCP server in stateful mode whose legacy sessions live
// in the DynamoDB table $DYNAMO_TABLE of the DynamoDB Local listening on
// the Unix socket $DYNAMO_SOCKET (see package dynamotest). Bearer tokens
// are accepted as they are, the token being the caller's name.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	sock := os.Getenv("DYNAMO_SOCKET")
	client := dynamodb.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}},
		BaseEndpoint: aws.String("http://dynamodb.local"),
	})
	// A missing table fails here, at init, with a clear error.
	store, err := dynamo.New(context.Background(), client, os.Getenv("DYNAMO_TABLE"), nil)
	if err != nil {
		log.Fatal(err)
	}

	server := mcp.NewServer(&mcp.Implementation{Name: "sessionfn", Version: "v1"}, nil)
	app := state.NewApp(store, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		client := ""
		if p := req.Session.InitializeParams(); p != nil && p.ClientInfo != nil {
			client = p.ClientInfo.Name
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("pid=%d client=%s", os.Getpid(), client)}}}, nil, nil
	})
	mcp.AddTool(server, &mcp.Tool{Name: "count"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		n, err := state.Update(ctx, app, "count", func(n *int) error { *n++; return nil })
		if err != nil {
			return nil, nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprint("count=", n)}}}, nil, nil
	})
	verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		return &auth.TokenInfo{UserID: "https://issuer#" + token, Expiration: time.Now().Add(time.Hour)}, nil
	}
	mcplambda.Start(server, &mcplambda.Options{
		Sessions:   store,
		Middleware: auth.RequireBearerToken(verify, nil),
	})
}
