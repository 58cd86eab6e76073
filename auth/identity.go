package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// Source says how a caller was authenticated.
type Source string

// The sources of an [Identity].
const (
	// SourceBearer: a bearer token checked by the [ResourceServer]'s
	// TokenVerifier (such as a [JWTVerifier]).
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

// IdentityKey is the key of the *[Identity] in go-sdk's TokenInfo.Extra,
// for tool handlers that read req.Extra.TokenInfo.
const IdentityKey = "mcplambda.identity"

// Identity is the authenticated caller of an MCP request, as established
// by a [ResourceServer]. Tool handlers get it with [IdentityFromContext],
// or from req.Extra.TokenInfo.Extra[IdentityKey].
type Identity struct {
	// Principal is the caller's stable identity, the same across requests
	// and Lambda instances, suitable as a key for per-caller state:
	//
	//   - a JWT (bearer or front door): issuer + "#" + sub, so that one user
	//     has one principal whether the function or API Gateway verified
	//     the token;
	//   - IAM: the caller's ARN (user, role or assumed-role session);
	//   - a Lambda authorizer: the principalId it returned.
	Principal string
	// Source says how the caller was authenticated.
	Source Source
	// Issuer and Subject are the JWT's iss and sub; empty for IAM callers
	// and for Lambda authorizers that put no iss and sub in their context.
	Issuer  string
	Subject string
	// Scopes are the OAuth scopes granted to the caller (see
	// [Options].IAMScopes for IAM callers).
	Scopes []string
	// Claims are the JWT's claims (front-door JWT claims are strings), or
	// the Lambda authorizer's context; nil for IAM callers.
	Claims map[string]any
	// IAM is the caller's IAM identity for SourceIAM; nil otherwise.
	IAM *mcplambda.IAMIdentity
}

type identityKey struct{}

// IdentityFromContext returns the caller of the request being handled, as
// established by [ResourceServer.Handler]. It works in HTTP middleware
// after the ResourceServer and in MCP tool, prompt and resource handlers.
func IdentityFromContext(ctx context.Context) (*Identity, bool) {
	if id, ok := ctx.Value(identityKey{}).(*Identity); ok {
		return id, true
	}
	if ti := sdkauth.TokenInfoFromContext(ctx); ti != nil {
		if id, ok := ti.Extra[IdentityKey].(*Identity); ok {
			return id, true
		}
	}
	return nil, false
}

// PrincipalFromContext returns the stable identity of the caller of the
// request being handled (see [Identity].Principal), or "", false when the
// request was not authenticated by a [ResourceServer]. Never log tokens;
// log this instead.
func PrincipalFromContext(ctx context.Context) (string, bool) {
	id, ok := IdentityFromContext(ctx)
	if !ok || id.Principal == "" {
		return "", false
	}
	return id.Principal, true
}

func jwtPrincipal(iss, sub string) string { return iss + "#" + sub }

// tokenInfo returns the go-sdk TokenInfo carrying id.
func (id *Identity) tokenInfo(exp time.Time) *sdkauth.TokenInfo {
	return &sdkauth.TokenInfo{
		Scopes:     id.Scopes,
		Expiration: exp,
		UserID:     id.Principal,
		Extra:      map[string]any{IdentityKey: id},
	}
}

// identityFromTokenInfo returns the Identity in ti, or one built from it
// for TokenVerifiers other than ours.
func identityFromTokenInfo(ti *sdkauth.TokenInfo) *Identity {
	if id, ok := ti.Extra[IdentityKey].(*Identity); ok {
		return id
	}
	return &Identity{Principal: ti.UserID, Source: SourceBearer, Scopes: ti.Scopes, Claims: ti.Extra}
}

// frontDoorIdentity returns the caller the front door authenticated, if
// any: a JWT authorizer's claims first, then a Lambda authorizer's
// context, then an IAM identity.
func frontDoorIdentity(r *mcplambda.Request, iamScopes []string) (*Identity, bool) {
	if j := r.JWT; j != nil {
		iss, sub := j.Claims["iss"], j.Claims["sub"]
		if iss == "" || sub == "" {
			return nil, false
		}
		if use, ok := j.Claims["token_use"]; ok && use != "access" {
			// A Cognito authorizer without scopes also admits ID tokens,
			// which are for the client, not for resource servers.
			return nil, false
		}
		claims := make(map[string]any, len(j.Claims))
		for k, v := range j.Claims {
			claims[k] = v
		}
		scopes := append(slices.Clone(j.Scopes), strings.Fields(j.Claims["scope"])...)
		slices.Sort(scopes)
		return &Identity{
			Principal: jwtPrincipal(iss, sub),
			Source:    SourceFrontDoorJWT,
			Issuer:    iss,
			Subject:   sub,
			Scopes:    slices.Compact(scopes),
			Claims:    claims,
		}, true
	}
	if a := r.Authorizer; a != nil {
		principal, _ := a["principalId"].(string)
		if principal == "" {
			return nil, false
		}
		iss, _ := a["iss"].(string)
		sub, _ := a["sub"].(string)
		scope, _ := a["scope"].(string)
		return &Identity{
			Principal: principal,
			Source:    SourceAuthorizer,
			Issuer:    iss,
			Subject:   sub,
			Scopes:    strings.Fields(scope),
			Claims:    a,
		}, true
	}
	if iam := r.IAM; iam != nil && iam.UserARN != "" {
		return &Identity{
			Principal: iam.UserARN,
			Source:    SourceIAM,
			Scopes:    slices.Clone(iamScopes),
			IAM:       iam,
		}, true
	}
	return nil, false
}
