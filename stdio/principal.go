package stdio

import (
	"context"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/auth"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// PrincipalFromContext returns the authenticated caller of the request
// being handled, a string that is equal for the same principal and
// different for different ones, or "" when the request is
// unauthenticated. It is the default [ProxyOptions.Principal].
//
// It is auth.PrincipalFromContext when an auth.ResourceServer
// authenticated the request; otherwise the identity the front door
// verified (mcplambda.RequestFromContext), in the same form: issuer "#"
// subject of a JWT checked by an API Gateway authorizer, the principalId
// of a Lambda authorizer, the ARN of a SigV4 (AWS_IAM) caller; otherwise
// the user of a bearer token verified by another go-sdk TokenVerifier.
func PrincipalFromContext(ctx context.Context) string {
	if p, ok := auth.PrincipalFromContext(ctx); ok {
		return p
	}
	if r, ok := mcplambda.RequestFromContext(ctx); ok {
		if j := r.JWT; j != nil && j.Claims["iss"] != "" && j.Claims["sub"] != "" {
			return j.Claims["iss"] + "#" + j.Claims["sub"]
		}
		if v, ok := r.Authorizer["principalId"].(string); ok && v != "" {
			return v
		}
		if r.IAM != nil && r.IAM.UserARN != "" {
			return r.IAM.UserARN
		}
	}
	if ti := sdkauth.TokenInfoFromContext(ctx); ti != nil && ti.UserID != "" {
		return ti.UserID
	}
	return ""
}
