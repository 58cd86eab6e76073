package authserver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/identity"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// An MCP server and its authorization server on one origin, with a local
// OpenID Connect provider (package authtest) upstream. A client registers
// dynamically and signs in; the test browser approves the consent page.
// In main, serve the same handlers with mcplambda.Start(server,
// &mcplambda.Options{Middleware: ...}) and a real provider (Amazon
// Cognito, auth.CognitoIssuer).
func Example() {
	idp := authtest.NewIssuer(&authtest.IssuerOptions{ClientID: "mcp-as", ClientSecret: "upstream-secret"})
	defer idp.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	issuer := "http://" + ln.Addr().String()
	resource := issuer + "/mcp"

	as, err := authserver.New(issuer, []string{resource}, authserver.Upstream{
		Issuer: idp.URL, ClientID: "mcp-as", ClientSecret: "upstream-secret",
	}, &authserver.Options{Scopes: []string{"mcp:tools"}})
	if err != nil {
		panic(err)
	}
	verifier, err := as.Verifier(resource, nil)
	if err != nil {
		panic(err)
	}
	rs := auth.NewResourceServer(resource, as.RevocationCheck(verifier.Verify), &auth.Options{
		AuthorizationServers: []string{issuer},
		Scopes:               []string{"mcp:tools"},
	})
	server := mcp.NewServer(&mcp.Implementation{Name: "notes", Version: "v1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, struct{}, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: identity.Principal(ctx)}}}, struct{}{}, nil
	})
	middleware := func(h http.Handler) http.Handler { return as.Handler(rs.Handler(h)) }
	srv := &http.Server{Handler: mcplambda.NewHandler(server, &mcplambda.Options{Middleware: middleware})}
	go srv.Serve(ln)
	defer srv.Close()

	// The client: go-sdk's OAuth support, registering dynamically.
	const redirect = "http://127.0.0.1/callback"
	oauth, err := sdkauth.NewAuthorizationCodeHandler(&sdkauth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &sdkauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "example client", RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none",
		}},
		RedirectURL:              redirect,
		AuthorizationCodeFetcher: authtest.NewBrowser().Fetcher(redirect),
	})
	if err != nil {
		panic(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "example", Version: "v1"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: resource, OAuthHandler: oauth}, nil)
	if err != nil {
		panic(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "whoami"})
	if err != nil {
		panic(err)
	}
	principal := res.Content[0].(*mcp.TextContent).Text
	fmt.Println(principal == issuer+"#"+authserver.Subject(idp.URL, "user"))
	// Output: true
}

// The principal of a user signed in through Amazon Cognito: the
// server's issuer, "#", and the hash of the Cognito issuer and user id.
func ExampleSubject() {
	const cognito = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
	fmt.Println("https://mcp.example.com#" + authserver.Subject(cognito, "7c1e4a2b-90d1-4c6e-b2a3-5f0e8d9c1b2a"))
	// Output: https://mcp.example.com#WjzjcLyzJVqJDPP0YtAZEaIyLvID14sBEv_oIvbIMkM
}
