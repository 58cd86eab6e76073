// Package identity decides who is calling an MCP server. It is the one
// place that does: legacy sessions, app state, sealed request state, the
// stdio adapter's per-principal isolation, tasks, logs and the gateway all
// ask [FromContext] or [Principal], and nothing else derives a caller from
// tokens or Lambda events.
//
// The caller of a request is, in this order:
//
//  1. the caller of a verified bearer token: go-sdk's auth.TokenInfo in the
//     context, as put there by package auth's ResourceServer (or any
//     go-sdk auth.RequireBearerToken middleware);
//  2. otherwise the identity the Lambda front door verified (an IAM
//     function URL or API, an API Gateway JWT, Cognito or Lambda
//     authorizer), but only when the function trusts its front door
//     (mcplambda.Options.TrustFrontDoor), which is when mcplambda's Lambda
//     handler puts it in the context with [WithFrontDoor];
//  3. otherwise nobody: the request is anonymous.
//
// A tool handler asks:
//
//	if id, ok := identity.FromContext(ctx); ok {
//		log.Printf("called by %s (%s)", id.Principal, id.Source)
//	}
//
// Package identity depends on go-sdk's auth package only, so that every
// other package of mcplambda (state, the root adapter, auth, stdio) can
// use it.
package identity

import (
	"context"
	"time"

	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// Source says how a caller was authenticated.
type Source string

// The sources of an [Identity].
const (
	// SourceBearer: a bearer token checked by a token verifier (package
	// auth's JWTVerifier, or any go-sdk auth.TokenVerifier).
	SourceBearer Source = "bearer"
	// SourceFrontDoorJWT: a JWT verified by an API Gateway JWT authorizer
	// (HTTP API) or Cognito user-pool authorizer (REST API).
	SourceFrontDoorJWT Source = "frontdoor-jwt"
	// SourceAuthorizer: a Lambda authorizer's decision and context.
	SourceAuthorizer Source = "authorizer"
	// SourceIAM: a SigV4 signature checked by a function URL or API with
	// AWS_IAM authorization.
	SourceIAM Source = "iam"
)

// TokenInfoKey is the key of the *[Identity] in go-sdk's
// auth.TokenInfo.Extra, for handlers that read req.Extra.TokenInfo.
const TokenInfoKey = "mcplambda.identity"

// Identity is the authenticated caller of a request.
type Identity struct {
	// Principal is the caller's stable identity, the same across requests
	// and Lambda instances, suitable as a key for per-caller state:
	//
	//   - a JWT (bearer or front door): issuer + "#" + sub, so that one user
	//     has one principal whether the function or API Gateway verified
	//     the token;
	//   - IAM: the caller's ARN (user, role or assumed-role session);
	//   - a Lambda authorizer: the principalId it returned;
	//   - another go-sdk token verifier: the TokenInfo's UserID.
	//
	// It never contains a token. It is never empty.
	Principal string
	// Source says how the caller was authenticated.
	Source Source
	// Issuer and Subject are the JWT's iss and sub; empty for IAM callers
	// and for Lambda authorizers that put no iss and sub in their context.
	Issuer  string
	Subject string
	// Scopes are the OAuth scopes granted to the caller.
	Scopes []string
	// Claims are the JWT's claims (front-door JWT claims are strings), or
	// the Lambda authorizer's context; nil for IAM callers.
	Claims map[string]any
	// IAM is the caller's IAM identity for SourceIAM; nil otherwise.
	IAM *IAM
}

// IAM is a caller authenticated with SigV4 by the front door.
type IAM struct {
	AccountID      string
	UserARN        string
	UserID         string
	CallerID       string
	AccessKey      string
	PrincipalOrgID string
}

// JWTPrincipal is the principal of a JWT's caller: issuer "#" subject.
func JWTPrincipal(iss, sub string) string { return iss + "#" + sub }

// TokenInfo returns the go-sdk TokenInfo that carries id, expiring at exp
// (zero: unknown), as a token verifier returns it: UserID is the
// principal, Scopes the scopes, and Extra[TokenInfoKey] id itself.
func (id *Identity) TokenInfo(exp time.Time) *sdkauth.TokenInfo {
	return &sdkauth.TokenInfo{
		Scopes:     id.Scopes,
		Expiration: exp,
		UserID:     id.Principal,
		Extra:      map[string]any{TokenInfoKey: id},
	}
}

type frontDoorKey struct{}

// WithFrontDoor returns ctx carrying id as the identity the Lambda front
// door verified and the function trusts. mcplambda's Lambda handler calls
// it for every event when mcplambda.Options.TrustFrontDoor is set, and
// never otherwise; other code should not need to.
func WithFrontDoor(ctx context.Context, id *Identity) context.Context {
	if id == nil || id.Principal == "" {
		return ctx
	}
	return context.WithValue(ctx, frontDoorKey{}, id)
}

// FrontDoor returns the trusted front-door identity in ctx, if any (see
// [WithFrontDoor]). Most code wants [FromContext], which prefers a
// verified token.
func FrontDoor(ctx context.Context) (*Identity, bool) {
	id, ok := ctx.Value(frontDoorKey{}).(*Identity)
	return id, ok
}

// FromContext returns the caller of the request being handled: the caller
// of a verified bearer token, else the trusted front-door identity, else
// none (see the package documentation). It works in HTTP middleware after
// the authentication and in MCP tool, prompt and resource handlers.
//
// A verified token that names no user (a go-sdk TokenInfo without
// UserID) makes the caller anonymous: the front door is not asked then,
// so that the token's grants and another identity never mix. Package
// auth's ResourceServer refuses such tokens.
func FromContext(ctx context.Context) (*Identity, bool) {
	if ti := sdkauth.TokenInfoFromContext(ctx); ti != nil {
		if id, ok := ti.Extra[TokenInfoKey].(*Identity); ok && id.Principal != "" {
			return id, true
		}
		if ti.UserID != "" {
			return &Identity{Principal: ti.UserID, Source: SourceBearer, Scopes: ti.Scopes, Claims: ti.Extra}, true
		}
		return nil, false
	}
	return FrontDoor(ctx)
}

// Principal returns the stable identity of the caller of the request in
// ctx (see [Identity].Principal), or "" for an anonymous request. Log
// this, never a token.
func Principal(ctx context.Context) string {
	if id, ok := FromContext(ctx); ok {
		return id.Principal
	}
	return ""
}
