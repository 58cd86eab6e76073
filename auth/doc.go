// Package auth makes an mcplambda MCP endpoint an OAuth 2.1 protected
// resource, as the authorization section of the MCP specification
// (2025-11-25 and 2026-07-28) asks of servers, so that MCP clients such as
// Claude, VS Code and the MCP Inspector can sign in to it.
//
// Two parts, built on go-sdk's auth and oauthex packages:
//
//   - [JWTVerifier] verifies JWT access tokens from any OpenID Connect or
//     OAuth 2.0 issuer, Amazon Cognito first ([CognitoIssuer]): signature
//     with the issuer's cached JWKS (refreshed, rate-limited, when a token
//     names an unknown key), issuer, audience (the server's canonical URI,
//     RFC 8707), expiry and not-before with bounded clock skew, and an
//     algorithm allow-list that never admits "none" or HMAC. Its Verify
//     method is a go-sdk auth.TokenVerifier.
//   - [ResourceServer] wraps the MCP http.Handler: it serves RFC 9728
//     protected resource metadata, answers 401 and 403 with the
//     WWW-Authenticate challenges clients follow, enforces scopes for every
//     request and per tool (with a scope hierarchy, [ScopeHierarchy]),
//     refuses tokens in query strings, strips the client's token before
//     the MCP server sees it, and accepts instead the caller the Lambda
//     front door already authenticated when the function trusts its
//     front door (mcplambda.Options.TrustFrontDoor).
//
// Who is calling is decided in one place, package identity: tool handlers
// ask identity.FromContext (or read go-sdk's req.Extra.TokenInfo), and
// identity.Principal gives the stable caller id to key per-caller state
// and logs by.
//
// Quick start, in main:
//
//	resource := "https://mcp.example.com/mcp"
//	issuer := auth.CognitoIssuer("eu-west-1", "eu-west-1_AbCdEf123")
//	verifier, err := auth.NewJWTVerifier(issuer, resource, nil)
//	if err != nil {
//		log.Fatal(err)
//	}
//	rs := auth.NewResourceServer(resource, verifier.Verify, &auth.Options{
//		AuthorizationServers: []string{issuer},
//		Scopes:               []string{"mcp/tools"},
//		ToolScopes:           map[string][]string{"delete_item": {"mcp/admin"}},
//	})
//	server.AddReceivingMiddleware(rs.ToolMiddleware())
//	mcplambda.Start(server, &mcplambda.Options{Middleware: rs.Handler})
//
// # Per-tool scopes and 403
//
// A client whose token lacks a tool's scope must get HTTP 403 with
// error="insufficient_scope" to step up, but an MCP middleware runs after
// the HTTP status is decided. So [ResourceServer.Handler] reads the body
// before go-sdk (decoding it with go-sdk's own JSON-RPC decoder, and
// refusing params with ambiguous "name" keys), finds the tools a
// tools/call or batch names, and checks their scopes first.
// [ResourceServer.ToolMiddleware] repeats the check on the params go-sdk
// actually dispatches, as defence in depth.
//
// The Lambda authorizer in examples/authorizer uses the same verifier for
// API Gateway REST APIs.
//
// When the identity provider cannot register MCP clients (Amazon Cognito
// supports neither Dynamic Client Registration nor Client ID Metadata
// Documents), package auth/authserver is an authorization server that
// sits in front of it, in the same function; its tokens are verified by a
// plain JWTVerifier.
package auth
