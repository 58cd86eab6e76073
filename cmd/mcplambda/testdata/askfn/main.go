// Command askfn is a Lambda bootstrap for the tests of requests to legacy
// clients across instances: its tool ask reports progress, asks the user
// for a name (elicitation/create), asks the client's model for a greeting
// (sampling/createMessage) and answers with both and the caller. Callers
// authenticate with a bearer token from the issuer in ISSUER, for the
// resource RESOURCE; sessions come from dynamo.SessionsFromEnv
// (MCPLAMBDA_SESSIONS, set by "mcplambda dev --sessions").
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type answer struct {
	Principal string `json:"principal"`
	Name      string `json:"name"`
	Greeting  string `json:"greeting"`
}

func main() {
	ctx := context.Background()
	issuer, resource := os.Getenv("ISSUER"), os.Getenv("RESOURCE")
	v, err := auth.NewJWTVerifier(issuer, resource, nil)
	if err != nil {
		log.Fatal(err)
	}
	rs := auth.NewResourceServer(resource, v.Verify, &auth.Options{AuthorizationServers: []string{issuer}})
	sessions, err := dynamo.SessionsFromEnv(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "askfn", Version: "v1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "ask", Description: "Asks the user for a name and the client's model for a greeting"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, answer, error) {
			if tok := req.Params.GetProgressToken(); tok != nil {
				if err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: 1, Total: 3, Message: "asking"}); err != nil {
					return nil, answer{}, err
				}
			}
			e, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "Your name?", RequestedSchema: map[string]any{
				"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}}})
			if err != nil {
				return nil, answer{}, err
			}
			if e.Action != "accept" {
				return nil, answer{}, fmt.Errorf("the user chose %s", e.Action)
			}
			name, _ := e.Content["name"].(string)
			//lint:ignore SA1019 legacy clients still answer sampling requests; this tests them
			m, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 20, Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: "greet " + name}}}})
			if err != nil {
				return nil, answer{}, err
			}
			greeting := "(not text)"
			if t, ok := m.Content.(*mcp.TextContent); ok {
				greeting = t.Text
			}
			return nil, answer{Principal: identity.Principal(ctx), Name: name, Greeting: greeting}, nil
		})
	mcplambda.Start(server, &mcplambda.Options{Sessions: sessions, Middleware: rs.Handler})
}
