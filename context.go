package mcplambda

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
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
// proof of identity for requests that reach the function another way.
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

	trusted bool // Options.TrustFrontDoor: Principal may use the above
}

// IAMIdentity is a caller authenticated with SigV4 by the front door.
type IAMIdentity struct {
	AccountID      string
	UserARN        string
	UserID         string
	CallerID       string
	AccessKey      string
	PrincipalOrgID string
}

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
