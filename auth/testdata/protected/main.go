// Command protected is the MCP server of the auth package's end-to-end
// test: a Lambda bootstrap, run under "mcplambda dev", whose endpoint is
// protected by auth.ResourceServer. ISSUER and RESOURCE come from the
// environment.
package main

import (
	"context"
	"log"
	"os"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type whoami struct {
	Principal string   `json:"principal"`
	Scopes    []string `json:"scopes"`
}

func main() {
	issuer, resource := os.Getenv("ISSUER"), os.Getenv("RESOURCE")
	v, err := auth.NewJWTVerifier(issuer, resource, nil)
	if err != nil {
		log.Fatal(err)
	}
	rs := auth.NewResourceServer(resource, v.Verify, &auth.Options{
		AuthorizationServers: []string{issuer},
		Scopes:               []string{"mcp:tools"},
		ToolScopes:           map[string][]string{"delete": {"mcp:admin"}},
	})
	server := mcp.NewServer(&mcp.Implementation{Name: "protected", Version: "v1"}, nil)
	server.AddReceivingMiddleware(rs.ToolMiddleware())
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
		p := identity.Principal(ctx)
		return nil, whoami{Principal: p, Scopes: req.Extra.TokenInfo.Scopes}, nil
	})
	mcp.AddTool(server, &mcp.Tool{Name: "delete"}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, struct{}, error) {
		return nil, struct{}{}, nil
	})
	lambda.Start(mcplambda.NewLambdaHandler(rs.Handler(mcplambda.NewHandler(server, nil)), nil))
}
