// Command authorizer is an API Gateway Lambda authorizer for REST APIs that
// put an mcplambda MCP server behind a bearer token check at the edge. It
// verifies OAuth access tokens with the same verifier the MCP function
// uses ([auth.JWTVerifier]: signature with the issuer's cached keys,
// issuer, audience = the MCP endpoint's canonical URI, expiry, algorithm
// allow-list) and answers API Gateway with an IAM policy and a context
// that the MCP function reads when it trusts its front door
// (mcplambda.Options.TrustFrontDoor).
//
// Both authorizer types are handled by one binary:
//
//   - TOKEN: identity source method.request.header.Authorization; the event
//     carries the header value.
//   - REQUEST: the event carries the whole request; identity sources must
//     include method.request.header.Authorization.
//
// # Configuration (environment)
//
//	ISSUER     the token issuer (required), e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123
//	RESOURCE   the MCP endpoint's canonical URI, the audience tokens must name (required)
//	SCOPES     space-separated scopes every request needs (optional); "mcp" covers "mcp:x"
//	JWKS_URL   the issuer's key set (optional; discovered from the issuer by default)
//	CLIENT_IDS space-separated OAuth client ids tokens may be issued to (optional)
//
// # Answers
//
//   - no token, a malformed header, or a token that does not verify: the
//     error "Unauthorized", which API Gateway turns into 401;
//   - a token without the SCOPES, or (REQUEST) a token in the query string:
//     a Deny policy, which API Gateway turns into 403;
//   - otherwise an Allow policy for every method and path of the API's
//     stage, principalId issuer#sub (the principal the MCP function would
//     derive from the token itself), and the context {iss, sub, scope,
//     client_id}. With TrustFrontDoor the MCP function takes the caller
//     from it and still enforces per-tool scopes, which an authorizer
//     cannot: it never sees the JSON-RPC body.
//
// # Caching
//
// API Gateway caches an authorizer's policy (TTL 300 s by default, 0 to
// 3600), keyed by the token for TOKEN authorizers and by the values of
// the identity sources for REQUEST authorizers. The cached policy is then
// applied to every method and path the same caller requests, which is why
// the policy's resource is the stage wildcard
// arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/* and not the methodArn of
// the first request: a policy naming only POST /mcp would, from the
// cache, deny the caller's next request to another route. The wildcard
// stops at the API and stage, so it grants nothing elsewhere. Cached
// decisions outlive the token by up to the TTL; keep the TTL below the
// token lifetime you accept. For REQUEST authorizers every value the
// decision depends on must be an identity source; with the Authorization
// header missing from the identity sources, callers would share cached
// decisions.
//
// # Challenges
//
// MCP clients discover the authorization server from the 401's
// WWW-Authenticate header. API Gateway's 401 for a refused token has none,
// so set the UNAUTHORIZED gateway response header
//
//	WWW-Authenticate: 'Bearer resource_metadata="https://API/STAGE/.well-known/oauth-protected-resource/STAGE/mcp"'
//
// and route GET /.well-known/{proxy+} to the MCP function without the
// authorizer, so that auth.ResourceServer serves the metadata.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda/auth"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// errUnauthorized is the error API Gateway maps to 401: the message must
// be exactly "Unauthorized".
var errUnauthorized = errors.New("Unauthorized")

// authorizer decides TOKEN and REQUEST authorizer events.
type authorizer struct {
	verify sdkauth.TokenVerifier
	scopes []string
	covers auth.ScopeMatcher
	logger *slog.Logger
}

// handle answers one authorizer event of either type.
func (a *authorizer) handle(ctx context.Context, raw json.RawMessage) (events.APIGatewayCustomAuthorizerResponse, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: decoding event: %w", err)
	}
	switch probe.Type {
	case "TOKEN":
		var ev events.APIGatewayCustomAuthorizerRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: decoding TOKEN event: %w", err)
		}
		return a.decide(ctx, ev.MethodArn, ev.AuthorizationToken, false)
	case "REQUEST":
		var ev events.APIGatewayCustomAuthorizerRequestTypeRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: decoding REQUEST event: %w", err)
		}
		_, inQuery := ev.QueryStringParameters["access_token"]
		if _, ok := ev.MultiValueQueryStringParameters["access_token"]; ok {
			inQuery = true
		}
		return a.decide(ctx, ev.MethodArn, header(ev.Headers, ev.MultiValueHeaders, "Authorization"), inQuery)
	}
	return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: unsupported event type %q", probe.Type)
}

// header returns the single value of a header, case-insensitively; ""
// when missing or repeated.
func header(single map[string]string, multi map[string][]string, name string) string {
	var vals []string
	for k, vs := range multi {
		if strings.EqualFold(k, name) {
			vals = append(vals, vs...)
		}
	}
	if len(multi) == 0 {
		for k, v := range single {
			if strings.EqualFold(k, name) {
				vals = append(vals, v)
			}
		}
	}
	if len(vals) != 1 {
		return ""
	}
	return vals[0]
}

func (a *authorizer) decide(ctx context.Context, methodArn, authz string, tokenInQuery bool) (events.APIGatewayCustomAuthorizerResponse, error) {
	resource, err := stageWildcard(methodArn)
	if err != nil {
		return events.APIGatewayCustomAuthorizerResponse{}, err
	}
	if tokenInQuery {
		a.logger.InfoContext(ctx, "authorizer: deny", "reason", "access token in query string")
		return policy("anonymous", "Deny", resource, nil), nil
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(authz), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		a.logger.InfoContext(ctx, "authorizer: unauthorized", "reason", "no bearer token")
		return events.APIGatewayCustomAuthorizerResponse{}, errUnauthorized
	}
	ti, err := a.verify(ctx, token, nil)
	if errors.Is(err, auth.ErrKeysUnavailable) {
		// Not the caller's fault: an error other than "Unauthorized" makes
		// API Gateway answer 500, and nothing is cached.
		return events.APIGatewayCustomAuthorizerResponse{}, fmt.Errorf("authorizer: %w", err)
	}
	if err != nil {
		a.logger.InfoContext(ctx, "authorizer: unauthorized", "reason", err.Error())
		return events.APIGatewayCustomAuthorizerResponse{}, errUnauthorized
	}
	id, _ := ti.Extra[identity.TokenInfoKey].(*identity.Identity)
	if id == nil {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("authorizer: verifier gave no identity")
	}
	if missing := a.covers.Missing(ti.Scopes, a.scopes); len(missing) > 0 {
		a.logger.InfoContext(ctx, "authorizer: deny", "principal", id.Principal, "missing_scopes", strings.Join(missing, " "))
		return policy(id.Principal, "Deny", resource, nil), nil
	}
	clientID, _ := id.Claims["client_id"].(string)
	if clientID == "" {
		clientID, _ = id.Claims["azp"].(string)
	}
	return policy(id.Principal, "Allow", resource, map[string]any{
		"iss":       id.Issuer,
		"sub":       id.Subject,
		"scope":     strings.Join(ti.Scopes, " "),
		"client_id": clientID,
	}), nil
}

// stageWildcard turns a methodArn,
// arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH, into the ARN of
// every method and path of that API stage, arn:...:API/STAGE/*.
func stageWildcard(methodArn string) (string, error) {
	parts := strings.SplitN(methodArn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "execute-api" {
		return "", fmt.Errorf("authorizer: bad methodArn %q", methodArn)
	}
	path := strings.SplitN(parts[5], "/", 3)
	if len(path) < 2 || path[0] == "" || path[1] == "" {
		return "", fmt.Errorf("authorizer: bad methodArn %q", methodArn)
	}
	return strings.Join(parts[:5], ":") + ":" + path[0] + "/" + path[1] + "/*", nil
}

func policy(principal, effect, resource string, ctx map[string]any) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{resource},
			}},
		},
		Context: ctx,
	}
}

// newAuthorizer builds the authorizer from the environment.
func newAuthorizer(getenv func(string) string, logger *slog.Logger) (*authorizer, error) {
	issuer, resource := getenv("ISSUER"), getenv("RESOURCE")
	if issuer == "" || resource == "" {
		return nil, errors.New("authorizer: ISSUER and RESOURCE must be set")
	}
	v, err := auth.NewJWTVerifier(issuer, resource, &auth.JWTOptions{
		JWKSURL:   getenv("JWKS_URL"),
		ClientIDs: strings.Fields(getenv("CLIENT_IDS")),
		Logger:    logger,
	})
	if err != nil {
		return nil, err
	}
	// Fetch the keys during the init phase, not on the first request.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.Prefetch(ctx); err != nil {
		logger.Warn("authorizer: prefetching signing keys failed; will retry on demand", "err", err)
	}
	return &authorizer{
		verify: v.Verify,
		scopes: strings.Fields(getenv("SCOPES")),
		covers: auth.ScopeHierarchy(":/"),
		logger: logger,
	}, nil
}

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	a, err := newAuthorizer(os.Getenv, logger)
	if err != nil {
		log.Fatal(err)
	}
	// The verifier, and so the cached signing keys, live as long as the
	// execution environment.
	lambda.Start(a.handle)
}
