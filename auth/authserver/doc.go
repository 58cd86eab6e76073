// Package authserver is an OAuth 2.1 authorization server for MCP servers
// on AWS Lambda, in front of any OpenID Connect identity provider, so that
// real MCP clients (Claude Code, Codex, the MCP Inspector, mcp-remote) can
// sign in even when the provider, like Amazon Cognito, supports neither
// Dynamic Client Registration nor Client ID Metadata Documents.
//
// It follows the authorization section of MCP 2026-07-28 (and 2025-11-25):
//
//   - RFC 8414 metadata at /.well-known/oauth-authorization-server (and its
//     path-inserted form when the issuer has a path), also served at the
//     OpenID Connect discovery paths; link it from the resource's RFC 9728
//     metadata (auth.Options.AuthorizationServers).
//   - Client registration: Client ID Metadata Documents (a client_id that
//     is an https URL, fetched with strict limits against server-side
//     request forgery and cached in the store; see [ClientMetadataOptions])
//     and Dynamic Client Registration (RFC 7591, rate-limited per source
//     address across instances). Redirect URIs: https, or http on a
//     loopback host with any port; no wildcards, fragments or user
//     information; matched exactly.
//   - /oauth/authorize: authorization code with PKCE S256 only; resource
//     (RFC 8707) required and one of the server's; the client's state
//     passed back; iss in every response (RFC 9207). Errors about the
//     client or its redirect URI are shown on a page, never redirected.
//   - Federated sign-in at the [Upstream] provider through one client of
//     ours (PKCE, nonce, state bound to the browser by a cookie), then a
//     consent page (server-rendered HTML, no scripts, a CSRF token and an
//     Origin check on its form) naming the client by its verified metadata,
//     where it sends the browser back, and the scopes.
//   - /oauth/token: the authorization code (single-use: a replay revokes
//     the grant; bound to the client, redirect URI, PKCE verifier and
//     resource) and refresh tokens (rotated on every use; reuse of a
//     rotated-out one revokes the whole grant).
//   - /oauth/revoke (RFC 7009) and /oauth/jwks.
//
// Access tokens are JWTs of RFC 9068 (typ at+jwt, aud the resource,
// client_id, scope, jti, and sid naming the grant), short-lived
// ([DefaultAccessTokenTTL]), verified by package auth's JWTVerifier with
// no special case ([Server.Verifier]). Their sub is [Subject] of the
// upstream user, so identity.Principal is issuer + "#" + Subject(...):
// stable per upstream user, never an email address. The upstream
// provider's groups map to scopes by configuration ([Options].GroupScopes).
//
// Keys sign the tokens ([KeySource]): AWS KMS (package awskms), a PEM key
// in AWS Secrets Manager (package awssecrets), or a key of this process
// ([GenerateKey], [ParsePrivateKeyPEM]), with rotation: current and
// previous keys are published in the JWKS. Everything the server keeps —
// sign-ins in progress, clients, codes, grants, refresh tokens (hashes of
// codes and tokens, never the values), rate-limit counters — lives in a
// state.Store with TTLs (package dynamo in Lambda), so any instance
// answers any step. Nothing secret is logged.
//
// Revocation (at /oauth/revoke, or a detected replay) deletes the grant:
// refresh tokens stop at once, and access tokens at once where the
// resource server checks ([Server.RevocationCheck], one store read per
// request), otherwise when they expire.
//
// Quick start, serving the authorization server and the MCP server from
// one function (cmd examples/oauth runs this locally with package
// authtest as the provider):
//
//	const issuer = "https://mcp.example.com"
//	resource := issuer + "/mcp"
//	as, err := authserver.New(issuer, []string{resource}, authserver.Upstream{
//		Issuer:       auth.CognitoIssuer("eu-west-1", "eu-west-1_AbCdEf123"),
//		ClientID:     clientID,
//		ClientSecret: clientSecret,
//	}, &authserver.Options{
//		Store:  store,                           // dynamo.New(...)
//		Keys:   awskms.Keys(kmsClient, keyID), // package awskms
//		Scopes: []string{"mcp:tools"},
//	})
//	verifier, err := as.Verifier(resource, nil)
//	rs := auth.NewResourceServer(resource, as.RevocationCheck(verifier.Verify), &auth.Options{
//		AuthorizationServers: []string{issuer},
//		Scopes:               []string{"mcp:tools"},
//	})
//	mcplambda.Start(server, &mcplambda.Options{
//		Middleware: func(h http.Handler) http.Handler { return as.Handler(rs.Handler(h)) },
//	})
//
// On a loopback listener every endpoint checks the Host header (DNS
// rebinding); mounted through mcplambda.Options.Middleware, the endpoints
// are also behind mcplambda's Origin check and CORS (Options.AllowedOrigins
// lets a browser-based client such as the MCP Inspector call them).
package authserver
