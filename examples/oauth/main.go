// Command oauth is an MCP server with its own OAuth 2.1 authorization
// server (package auth/authserver) in front of an OpenID Connect identity
// provider, so that MCP clients that register themselves (Claude Code,
// Codex, the MCP Inspector) can sign in. The MCP endpoint, the RFC 9728
// resource metadata, the RFC 8414 authorization server metadata and the
// OAuth endpoints share one origin and one binary, which is also the
// Lambda bootstrap.
//
// Its one tool, whoami, answers who is calling: the principal (the
// server's issuer, "#", and a hash of the identity provider's user id) and
// the scopes granted.
//
// # Locally, with no configuration
//
//	PORT=8080 go run ./examples/oauth
//
// serves http://127.0.0.1:8080/mcp and prints the usual ready line
//
//	mcplambda: listening on http://127.0.0.1:8080/mcp
//
// The identity provider is then package auth/authtest's local issuer, on
// another loopback port, with one user, "user", who is signed in at once:
// a client's sign-in goes straight to the consent page. Point the MCP
// Inspector at the endpoint (its browser origins, localhost:6274, may call
// the server) and connect: it registers, opens the consent page, and lists
// the tools. Keys and state live in the process: a restart signs everyone
// out.
//
// # In Lambda (or locally with UPSTREAM_ISSUER set)
//
// Configuration comes from the environment. A value may be a reference to
// an SSM parameter ("ssm:/name") or a Secrets Manager secret
// ("secretsmanager:name", "secretsmanager:name#key"), resolved at start
// with the function's role (package stdio/awssecrets):
//
//	ISSUER                  the server's public URL, the OAuth issuer: https://ID.execute-api.REGION.amazonaws.com
//	                        (with "/prod" for a REST API stage), the function URL without its trailing slash, or a
//	                        custom domain; the MCP endpoint is ISSUER/mcp (required in Lambda)
//	UPSTREAM_ISSUER         the identity provider, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID (required)
//	UPSTREAM_CLIENT_ID      our client at the provider, whose callback URL is ISSUER/oauth/callback (required)
//	UPSTREAM_CLIENT_SECRET  its secret (a secretsmanager: reference, not the value)
//	MCPLAMBDA_TABLE         the DynamoDB table of the store (package dynamo; required in Lambda)
//	KMS_KEY_ID              the KMS signing key, id, ARN or alias (package awskms; required in Lambda)
//	KMS_PREVIOUS_KEY_IDS    comma-separated keys still published after a rotation
//	SCOPES                  the scopes granted, space-separated (default "mcp:tools")
//	GROUP_SCOPES            more scopes for members of provider groups: "admins=mcp:admin;ops=mcp:ops mcp:logs"
//	REQUIRE_VERIFIED_EMAIL  "true" refuses users whose email the provider has not verified
//	ALLOWED_ORIGINS         browser origins that may call the server, comma-separated (default: the MCP
//	                        Inspector's, http://localhost:6274 and http://127.0.0.1:6274; "none" for none)
//
// deploy/cdk's ServerProps.OAuth sets all of these (the Cognito user pool
// and client, the table, the KMS key); see the README for connecting
// Claude Code, Codex or the Inspector to the deployed server.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authserver/awskms"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/stdio/awssecrets"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// inspectorOrigins are the browser origins of the MCP Inspector, allowed
// to call the server locally.
var inspectorOrigins = []string{"http://localhost:6274", "http://127.0.0.1:6274"}

func main() {
	ctx := context.Background()
	setup, err := configure(ctx, os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	mcplambda.Start(newServer(), setup.options)
}

// setup is what configure decided.
type setup struct {
	issuer   string
	resource string
	as       *authserver.Server
	options  *mcplambda.Options
}

// whoami is the answer of the whoami tool.
type whoami struct {
	Principal string   `json:"principal"`
	Scopes    []string `json:"scopes"`
}

// newServer is the MCP server: one tool, whoami.
func newServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "oauth-example", Version: "v1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "whoami", Description: "Who is calling: the principal and the scopes granted."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
			id, ok := identity.FromContext(ctx)
			if !ok {
				return nil, whoami{}, errors.New("anonymous caller")
			}
			return nil, whoami{Principal: id.Principal, Scopes: id.Scopes}, nil
		})
	return s
}

// configure builds the authorization server and the options to serve
// with, from getenv.
func configure(ctx context.Context, getenv func(string) string) (*setup, error) {
	inLambda := getenv("AWS_LAMBDA_RUNTIME_API") != ""
	opts := &authserver.Options{Scopes: strings.Fields(getenv("SCOPES"))}
	if len(opts.Scopes) == 0 {
		opts.Scopes = []string{"mcp:tools"}
	}
	var upstream authserver.Upstream
	var issuer string
	origins := inspectorOrigins
	switch v := getenv("ALLOWED_ORIGINS"); v {
	case "":
	case "none":
		origins = nil
	default:
		origins = strings.Split(v, ",")
	}
	if !inLambda && getenv("UPSTREAM_ISSUER") == "" {
		// Zero configuration: a local identity provider with one user.
		port := getenv("PORT")
		if port == "" {
			port = "8080"
		}
		issuer = getenv("ISSUER")
		if issuer == "" {
			issuer = "http://" + net.JoinHostPort("127.0.0.1", port)
		}
		secret := rand.Text()
		idp := authtest.NewIssuer(&authtest.IssuerOptions{ClientID: "oauth-example", ClientSecret: secret})
		upstream = authserver.Upstream{Issuer: idp.URL, ClientID: "oauth-example", ClientSecret: secret}
		fmt.Fprintf(os.Stderr, "oauth example: local identity provider %s (user %q signs in at once)\n", idp.URL, "user")
	} else {
		env, err := resolve(ctx, getenv, "ISSUER", "UPSTREAM_ISSUER", "UPSTREAM_CLIENT_ID", "UPSTREAM_CLIENT_SECRET")
		if err != nil {
			return nil, err
		}
		issuer = strings.TrimSuffix(env["ISSUER"], "/")
		if issuer == "" {
			port := getenv("PORT")
			if port == "" {
				port = "8080"
			}
			issuer = "http://" + net.JoinHostPort("127.0.0.1", port)
		}
		upstream = authserver.Upstream{Issuer: env["UPSTREAM_ISSUER"], ClientID: env["UPSTREAM_CLIENT_ID"], ClientSecret: env["UPSTREAM_CLIENT_SECRET"]}
		opts.RequireVerifiedEmail = getenv("REQUIRE_VERIFIED_EMAIL") == "true"
		if gs := getenv("GROUP_SCOPES"); gs != "" {
			opts.GroupScopes = map[string][]string{}
			for entry := range strings.SplitSeq(gs, ";") {
				group, scopes, ok := strings.Cut(entry, "=")
				if !ok {
					return nil, fmt.Errorf("oauth example: GROUP_SCOPES entry %q: want group=scopes", entry)
				}
				opts.GroupScopes[strings.TrimSpace(group)] = strings.Fields(scopes)
			}
		}
		if err := awsBackends(ctx, getenv, inLambda, opts); err != nil {
			return nil, err
		}
	}
	resource := issuer + "/mcp"
	as, err := authserver.New(issuer, []string{resource}, upstream, opts)
	if err != nil {
		return nil, err
	}
	verifier, err := as.Verifier(resource, nil)
	if err != nil {
		return nil, err
	}
	rsOpts := &auth.Options{AuthorizationServers: []string{issuer}, Scopes: []string{opts.Scopes[0]}}
	if u, _ := url.Parse(issuer); u.Path != "" {
		// Behind an API Gateway stage: the metadata must be inside it.
		rsOpts.ResourceMetadataURL = issuer + auth.WellKnownPath + u.Path + "/mcp"
	}
	rs := auth.NewResourceServer(resource, as.RevocationCheck(verifier.Verify), rsOpts)
	return &setup{
		issuer:   issuer,
		resource: resource,
		as:       as,
		options: &mcplambda.Options{
			Middleware:     func(h http.Handler) http.Handler { return as.Handler(rs.Handler(h)) },
			AllowedOrigins: origins,
		},
	}, nil
}

// resolve reads the named variables, resolving SSM and Secrets Manager
// references with the default AWS configuration when there are any.
func resolve(ctx context.Context, getenv func(string) string, names ...string) (map[string]string, error) {
	env := map[string]string{}
	var r *awssecrets.Resolver
	for _, n := range names {
		v := getenv(n)
		if awssecrets.IsRef(v) {
			if r == nil {
				cfg, err := config.LoadDefaultConfig(ctx)
				if err != nil {
					return nil, fmt.Errorf("oauth example: AWS configuration: %w", err)
				}
				r = awssecrets.NewResolver(cfg)
			}
			var err error
			if v, err = r.Resolve(ctx, v); err != nil {
				return nil, fmt.Errorf("oauth example: %s: %w", n, err)
			}
		}
		env[n] = strings.TrimSpace(v)
	}
	return env, nil
}

// awsBackends sets the store (DynamoDB) and the keys (KMS) from the
// environment; in Lambda both are required.
func awsBackends(ctx context.Context, getenv func(string) string, inLambda bool, opts *authserver.Options) error {
	table, keyID := getenv("MCPLAMBDA_TABLE"), getenv("KMS_KEY_ID")
	if inLambda && (table == "" || keyID == "") {
		return errors.New("oauth example: in Lambda, MCPLAMBDA_TABLE and KMS_KEY_ID must be set")
	}
	if table == "" && keyID == "" {
		return nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("oauth example: AWS configuration: %w", err)
	}
	if table != "" {
		if opts.Store, err = dynamo.New(ctx, dynamodb.NewFromConfig(cfg), table, nil); err != nil {
			return err
		}
	}
	if keyID != "" {
		var previous []string
		for p := range strings.SplitSeq(getenv("KMS_PREVIOUS_KEY_IDS"), ",") {
			if p = strings.TrimSpace(p); p != "" {
				previous = append(previous, p)
			}
		}
		opts.Keys = awskms.Keys(kms.NewFromConfig(cfg), keyID, previous...)
	}
	return nil
}
