package mcplambda

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/mcplambda/mcplambda/identity"
)

// FrontDoor names the AWS service that delivered a request to the function.
type FrontDoor string

// The front doors [NewLambdaHandler] recognises.
const (
	FunctionURL  FrontDoor = "url"       // Lambda function URL (*events.LambdaFunctionURLRequest)
	HTTPAPI      FrontDoor = "httpapi"   // API Gateway HTTP API, payload 2.0 (*events.APIGatewayV2HTTPRequest)
	RESTAPI      FrontDoor = "rest"      // API Gateway REST API, payload 1.0 (*events.APIGatewayProxyRequest)
	ALB          FrontDoor = "alb"       // Application Load Balancer (*events.ALBTargetGroupRequest)
	DirectInvoke FrontDoor = "invoke"    // Lambda Invoke API with a JSON-RPC message as payload (json.RawMessage)
	AgentCore    FrontDoor = "agentcore" // Amazon Bedrock AgentCore Gateway Lambda target: the tool's arguments (json.RawMessage)
)

// Request describes the Lambda event behind an MCP request. Tool, prompt
// and resource handlers get it with [RequestFromContext].
//
// Identity fields are filled from what the front door already verified
// (an IAM-authenticated function URL or API, a JWT or Lambda authorizer);
// they are empty when the front door did no authentication. They are not
// proof of identity for requests that reach the function another way:
// anyone allowed to invoke the function can write them. Ask package
// identity who is calling; it uses them only with [Options.TrustFrontDoor].
type Request struct {
	// FrontDoor is the service that delivered the event.
	FrontDoor FrontDoor
	// Event is the original event: one of *events.LambdaFunctionURLRequest,
	// *events.APIGatewayV2HTTPRequest, *events.APIGatewayProxyRequest,
	// *events.ALBTargetGroupRequest, or json.RawMessage for direct invokes
	// (the message) and AgentCore Gateway targets (the tool arguments).
	Event any
	// RequestID is the front door's request id (requestContext.requestId);
	// empty for ALB and direct invokes. The Lambda invocation's own id is
	// in lambdacontext.FromContext.
	RequestID string
	// SourceIP is the caller's address as seen by the front door
	// (for ALB, the first X-Forwarded-For entry).
	SourceIP string
	// Stage is the API Gateway stage; empty for other front doors.
	Stage string
	// IAM is the caller's IAM identity when the front door used AWS_IAM
	// authentication; nil otherwise.
	IAM *IAMIdentity
	// JWT holds the claims and scopes verified by an API Gateway JWT
	// authorizer (HTTP API) or a Cognito user-pool authorizer (REST API,
	// claims only); nil otherwise.
	JWT *JWTClaims
	// Authorizer is the context returned by a Lambda authorizer (HTTP API
	// "lambda" context, or the REST API authorizer map, including
	// principalId); nil when there was none.
	Authorizer map[string]any
}

// IAMIdentity is a caller authenticated with SigV4 by the front door.
type IAMIdentity = identity.IAM

// JWTClaims are the claims of a token verified by an API Gateway authorizer.
type JWTClaims struct {
	Claims map[string]string
	Scopes []string
}

type requestKey struct{}

// RequestFromContext returns the Lambda event behind the MCP request being
// handled, if it arrived through [NewLambdaHandler]. For local serving it
// returns nil, false.
func RequestFromContext(ctx context.Context) (*Request, bool) {
	r, ok := ctx.Value(requestKey{}).(*Request)
	return r, ok
}

// EventFromContext returns the original Lambda event, like
// lambdaurl-style adapters do; see [Request.Event] for its possible types.
func EventFromContext(ctx context.Context) (any, bool) {
	r, ok := RequestFromContext(ctx)
	if !ok {
		return nil, false
	}
	return r.Event, true
}

func withRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// Identity helpers for each event shape.

func urlIAM(a *events.LambdaFunctionURLRequestContextAuthorizerDescription) *IAMIdentity {
	if a == nil || a.IAM == nil {
		return nil
	}
	return &IAMIdentity{AccountID: a.IAM.AccountID, UserARN: a.IAM.UserARN, UserID: a.IAM.UserID, CallerID: a.IAM.CallerID, AccessKey: a.IAM.AccessKey}
}

func httpAPIIdentity(r *Request, a *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) {
	if a == nil {
		return
	}
	if a.IAM != nil {
		r.IAM = &IAMIdentity{AccountID: a.IAM.AccountID, UserARN: a.IAM.UserARN, UserID: a.IAM.UserID, CallerID: a.IAM.CallerID, AccessKey: a.IAM.AccessKey, PrincipalOrgID: a.IAM.PrincipalOrgID}
	}
	if a.JWT != nil {
		r.JWT = &JWTClaims{Claims: a.JWT.Claims, Scopes: a.JWT.Scopes}
	}
	if a.Lambda != nil {
		r.Authorizer = a.Lambda
	}
}

func restIdentity(r *Request, rc *events.APIGatewayProxyRequestContext) {
	id := rc.Identity
	if id.UserArn != "" || id.AccessKey != "" {
		r.IAM = &IAMIdentity{AccountID: id.AccountID, UserARN: id.UserArn, UserID: id.User, CallerID: id.Caller, AccessKey: id.AccessKey}
	}
	if len(rc.Authorizer) == 0 {
		return
	}
	// A Cognito user-pool authorizer puts the token's claims under "claims".
	if claims, ok := rc.Authorizer["claims"].(map[string]any); ok {
		c := make(map[string]string, len(claims))
		for k, v := range claims {
			if s, ok := v.(string); ok {
				c[k] = s
			}
		}
		r.JWT = &JWTClaims{Claims: c}
		return
	}
	r.Authorizer = rc.Authorizer
}

// frontDoorIdentity is the caller the front door authenticated, if any: a
// JWT authorizer's claims first, then a Lambda authorizer's principalId
// and context, then an IAM identity. It is the only place that reads an
// identity out of an event; the Lambda handler hands the result to
// package identity when the function trusts its front door.
func frontDoorIdentity(r *Request) *identity.Identity {
	if j := r.JWT; j != nil {
		iss, sub := j.Claims["iss"], j.Claims["sub"]
		if iss == "" || sub == "" {
			return nil
		}
		if use, ok := j.Claims["token_use"]; ok && use != "access" {
			// A Cognito authorizer without scopes also admits ID tokens,
			// which are for the client, not for resource servers.
			return nil
		}
		claims := make(map[string]any, len(j.Claims))
		for k, v := range j.Claims {
			claims[k] = v
		}
		scopes := append(slices.Clone(j.Scopes), strings.Fields(j.Claims["scope"])...)
		slices.Sort(scopes)
		return &identity.Identity{
			Principal: identity.JWTPrincipal(iss, sub),
			Source:    identity.SourceFrontDoorJWT,
			Issuer:    iss,
			Subject:   sub,
			Scopes:    slices.Compact(scopes),
			Claims:    claims,
		}
	}
	if a := r.Authorizer; a != nil {
		// A REST API puts the authorizer's principalId in its context; an
		// HTTP API (payload 2.0) passes only the context the authorizer
		// returned, so there the principal is the context's principalId,
		// else iss#sub (as examples/authorizer returns them).
		principal, _ := a["principalId"].(string)
		iss, _ := a["iss"].(string)
		sub, _ := a["sub"].(string)
		if principal == "" && iss != "" && sub != "" {
			principal = identity.JWTPrincipal(iss, sub)
		}
		if principal == "" {
			return nil
		}
		scope, _ := a["scope"].(string)
		return &identity.Identity{
			Principal: principal,
			Source:    identity.SourceAuthorizer,
			Issuer:    iss,
			Subject:   sub,
			Scopes:    strings.Fields(scope),
			Claims:    a,
		}
	}
	if iam := r.IAM; iam != nil && iam.UserARN != "" {
		return &identity.Identity{Principal: iam.UserARN, Source: identity.SourceIAM, IAM: iam}
	}
	return nil
}
