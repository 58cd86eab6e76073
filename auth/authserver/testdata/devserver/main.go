// Command devserver is the Lambda bootstrap of package authserver's
// end-to-end test under "mcplambda dev": an MCP server (tool whoami)
// with its authorization server in front of the test's upstream
// provider. Configuration comes from the environment:
//
//	ISSUER                  the server's URL (the dev listener)
//	UPSTREAM_ISSUER, UPSTREAM_CLIENT_ID, UPSTREAM_CLIENT_SECRET
//	ACCESS_TTL              the access token lifetime (a Go duration)
//	CIMD_CA_FILE            PEM certificate of the test's metadata host
//
// It allows client metadata documents on loopback addresses
// (ClientMetadataOptions.AllowLoopback), which only a test may do, and
// keeps its state and key in the process: dev runs one instance.
package main

import (
	"context"
	"crypto/x509"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type whoami struct {
	Principal string   `json:"principal"`
	Scopes    []string `json:"scopes"`
}

func main() {
	issuer := os.Getenv("ISSUER")
	resource := issuer + "/mcp"
	ttl, err := time.ParseDuration(os.Getenv("ACCESS_TTL"))
	if err != nil {
		log.Fatal(err)
	}
	pem, err := os.ReadFile(os.Getenv("CIMD_CA_FILE"))
	if err != nil {
		log.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	key, err := authserver.GenerateKey()
	if err != nil {
		log.Fatal(err)
	}
	as, err := authserver.New(issuer, []string{resource}, authserver.Upstream{
		Issuer:       os.Getenv("UPSTREAM_ISSUER"),
		ClientID:     os.Getenv("UPSTREAM_CLIENT_ID"),
		ClientSecret: os.Getenv("UPSTREAM_CLIENT_SECRET"),
	}, &authserver.Options{
		Store:          state.NewMemory(nil),
		Keys:           authserver.StaticKeys(key),
		Scopes:         []string{"mcp:tools"},
		AccessTokenTTL: ttl,
		ClientMetadata: authserver.ClientMetadataOptions{AllowLoopback: true, RootCAs: roots},
		Logger:         telemetry.DefaultLogger(),
	})
	if err != nil {
		log.Fatal(err)
	}
	// No clock skew: an expired token is refused at once.
	verifier, err := as.Verifier(resource, &auth.JWTOptions{ClockSkew: -1})
	if err != nil {
		log.Fatal(err)
	}
	rs := auth.NewResourceServer(resource, as.RevocationCheck(verifier.Verify), &auth.Options{
		AuthorizationServers: []string{issuer},
		Scopes:               []string{"mcp:tools"},
	})
	server := mcp.NewServer(&mcp.Implementation{Name: "devserver", Version: "v1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
		id, _ := identity.FromContext(ctx)
		return nil, whoami{Principal: id.Principal, Scopes: id.Scopes}, nil
	})
	mcplambda.Start(server, &mcplambda.Options{
		Middleware: func(h http.Handler) http.Handler { return as.Handler(rs.Handler(h)) },
	})
}
