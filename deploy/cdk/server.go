// Package cdk is an AWS CDK construct library for mcplambda: it deploys an
// MCP server built with github.com/mcplambda/mcplambda (a zip written by
// "mcplambda build") or a stdio MCP server run by the mcplambda stdio layer,
// behind one of the Lambda front doors, with the logs, alarms and dashboard
// a production endpoint needs.
//
// It is its own Go module, so that programs which only serve MCP from
// Lambda never download the CDK. Quick start, in a CDK app (cdk.json:
// "app": "go run ."):
//
//	app := awscdk.NewApp(nil)
//	stack := awscdk.NewStack(app, jsii.String("Time"), nil)
//	server := cdk.NewServer(stack, "Time", &cdk.ServerProps{
//		Zip: "../../dist/time-arm64.zip", // mcplambda build ./examples/time
//	})
//	awscdk.NewCfnOutput(stack, jsii.String("Endpoint"), &awscdk.CfnOutputProps{Value: server.Endpoint})
//	app.Synth(nil)
//
// [NewServer] deploys a Go bootstrap on provided.al2023,
// [NewStdioServer] a stdio server (Node.js, Python) on a managed runtime
// with the stdio layer, and [NewGateway] a gateway ("mcplambda build
// --config": one endpoint for the MCP servers of a configuration file),
// allowed to invoke exactly the functions and read exactly the secrets
// its configuration names. Both take a [FrontDoor]: a Lambda function URL
// ([FunctionURL], the default, AWS_IAM auth unless told otherwise), an API
// Gateway HTTP API ([HTTPAPI], optionally with a JWT authorizer for an
// Amazon Cognito user pool or any OIDC issuer) or a REST API ([RESTAPI],
// optionally with a Lambda authorizer and AWS WAF). Each server gets a log
// group with retention and JSON log format, alarms on the 5xx rate, p90
// latency, errors and throttles, a CloudWatch dashboard, and optionally a
// DynamoDB table with least-privilege access (see [TableProps]).
//
// Synthesis needs Node.js (the CDK runs on jsii) but no AWS account;
// deploying needs the aws-cdk CLI 2.x (see deploy/README.md).
package cdk

import (
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FrontDoor is how clients reach the server.
type FrontDoor string

const (
	FunctionURL FrontDoor = "url"     // a Lambda function URL
	HTTPAPI     FrontDoor = "httpapi" // an API Gateway HTTP API (payload 2.0)
	RESTAPI     FrontDoor = "rest"    // an API Gateway REST API (payload 1.0), stage "prod"
)

// Defaults of [ServerProps].
const (
	DefaultMemoryMB = 512 // Go needs far less memory, but Lambda's CPU share grows with it
	DefaultTimeout  = 30 * time.Second
	// DefaultSessionsTimeout is the timeout with Sessions: a tool's
	// elicitation waits for a person, and the wait ends shortly before the
	// function's timeout.
	DefaultSessionsTimeout = 2 * time.Minute
	// MaxTimeout is Lambda's limit, and the default timeout with
	// ServerProps.Tasks: the most one run of a task's tool may take.
	MaxTimeout = 15 * time.Minute
)

// ServerProps configures [NewServer]. Every field's zero value is a
// working default.
type ServerProps struct {
	// Zip is the path of the deployment zip written by "mcplambda build"
	// (a bootstrap for provided.al2023). Required by NewServer; ignored by
	// NewStdioServer.
	Zip string
	// Arch is the architecture the zip was built for. Zero means ARM_64,
	// the default of "mcplambda build".
	Arch awslambda.Architecture
	// FunctionName names the function. Empty lets CloudFormation choose.
	FunctionName string
	// MemoryMB is the function's memory. Zero means [DefaultMemoryMB].
	MemoryMB int
	// Timeout is the function's timeout. Zero means [DefaultTimeout], or
	// [DefaultSessionsTimeout] with Sessions, or [MaxTimeout] with Tasks
	// (which wins). The HTTP API ends a request after 30 s and a buffered
	// REST API after 29 s whatever this is; a streaming REST API's
	// integration gets this timeout (up to 15 minutes), and so does a
	// task's run.
	Timeout time.Duration
	// Environment is added to the function's environment.
	Environment map[string]string

	// FrontDoor chooses how clients reach the server. Zero means
	// [FunctionURL].
	FrontDoor FrontDoor
	// URLAuthNone makes a function URL public (auth type NONE), for servers
	// that check callers themselves (package auth of mcplambda). The zero
	// value, AWS_IAM, admits SigV4-signed requests of principals allowed by
	// IAM only.
	URLAuthNone bool
	// ResponseStream streams responses: a function URL in RESPONSE_STREAM
	// invoke mode, or a REST API integration with response transfer mode
	// STREAM and the function's timeout. The function learns it from
	// MCPLAMBDA_RESPONSE_STREAM=true in its environment, which
	// mcplambda.Serve (mcplambda.Options.ResponseStream) and the stdio
	// adapter honour. HTTP APIs cannot stream: NewServer panics if both
	// are set.
	ResponseStream bool
	// Sessions turns on legacy sessions (MCP 2025-11-25 and earlier
	// clients) with what a tool's requests to such clients (elicitation,
	// sampling, roots) need across instances: MCPLAMBDA_SESSIONS=true in
	// the function's environment (read by dynamo.SessionsFromEnv, and by
	// the stdio adapter), the DynamoDB table (Table, with its defaults if
	// nil) the function reads and writes the sessions and the requests'
	// records in, responses that stream behind a function URL or REST API
	// (ResponseStream is implied), and [DefaultSessionsTimeout] unless
	// Timeout says otherwise. Behind an HTTP API, which cannot stream,
	// sessions work, but such requests fail with an error that says why.
	// A streamed response idles while a request waits for its answer: a
	// regional REST API ends a stream idle for 5 minutes.
	Sessions bool
	// JWT, for an HTTP API only, puts a JWT authorizer in front of the
	// function. Nil means no authorizer.
	JWT *JWTProps
	// Authorizer, for a REST API only, is a Lambda authorizer of type
	// REQUEST (mcplambda's examples/authorizer), given the Authorization
	// header. Nil means no authorizer.
	Authorizer awslambda.IFunction
	// WAF, for a REST API only, associates an AWS WAF web ACL with the
	// stage, with the AWS managed rule groups [WAFManagedRuleGroups].
	WAF bool

	// Table, if not nil, creates a DynamoDB table the function may use; its
	// name is in the function's environment as MCPLAMBDA_TABLE.
	Table *TableProps

	// Tasks prepares the function for MCP tasks (mcplambda's package tasks
	// with tasks/lambdaexec): it may invoke itself (lambda:InvokeFunction
	// on this function and its versions, nothing else), since each task's
	// tool runs in an asynchronous invocation of its own, and it gets a
	// table for the tasks (Table, or a table with TableProps defaults).
	Tasks bool

	// OAuth, if not nil, gives the server its own OAuth authorization
	// server in front of Amazon Cognito or another OpenID Connect
	// provider (see [OAuthProps]); it needs a table, created if Table is
	// nil. Nil means none.
	OAuth *OAuthProps

	// LogRetention is how long the function's logs are kept. Zero means
	// one month.
	LogRetention awslogs.RetentionDays
	// Alarms tunes the alarms. Nil means [AlarmProps] defaults.
	Alarms *AlarmProps
}

// JWTProps configures an HTTP API JWT authorizer.
type JWTProps struct {
	// Issuer is the token issuer URL, for a Cognito user pool
	// https://cognito-idp.REGION.amazonaws.com/POOL_ID (UserPool's
	// UserPoolProviderUrl). Required.
	Issuer *string
	// Audience lists the accepted "aud" (or, for Cognito access tokens,
	// "client_id") values: for Cognito, the app client ids. Required.
	Audience []*string
	// Scopes, if not empty, are required of every token.
	Scopes []string
}

// TableProps configures the server's DynamoDB table, laid out for package
// github.com/mcplambda/mcplambda/dynamo (a state.Store): on-demand
// capacity, point-in-time recovery, a string partition key "pk" and no sort
// key, TTL on "expires_at". The function finds the table's name in
// MCPLAMBDA_TABLE (dynamo.New(ctx, client, os.Getenv("MCPLAMBDA_TABLE"),
// nil)) and may call Actions on this table only.
type TableProps struct {
	// TTLAttribute is the attribute holding an item's expiry time (Unix
	// seconds). Empty means "expires_at", package dynamo's default.
	TTLAttribute string
	// Actions are the DynamoDB actions the function may call on the table.
	// Nil means [TableActions].
	Actions []string
	// RemovalPolicy is what happens to the table when the stack is
	// deleted. Zero means RETAIN: data outlives the stack.
	RemovalPolicy awscdk.RemovalPolicy
}

// TableActions are the DynamoDB actions package dynamo's store calls:
// DescribeTable once at init, then single-item reads and conditional
// writes. No Scan, no Query, no table management.
var TableActions = []string{
	"dynamodb:DeleteItem",
	"dynamodb:DescribeTable",
	"dynamodb:GetItem",
	"dynamodb:UpdateItem",
}

// WAFManagedRuleGroups are the AWS managed rule groups of the REST API's
// web ACL, in priority order.
var WAFManagedRuleGroups = []string{
	"AWSManagedRulesCommonRuleSet",
	"AWSManagedRulesKnownBadInputsRuleSet",
	"AWSManagedRulesAmazonIpReputationList",
}

// AlarmProps tunes the server's alarms. Zero fields mean the defaults.
type AlarmProps struct {
	// ServerErrorPercent is the 5xx rate (of the front door's requests)
	// that raises the alarm, over 5 minutes. Zero means 5.
	ServerErrorPercent float64
	// LatencyP90 is the p90 front-door latency that raises the alarm, over
	// three 5-minute periods. Zero means 3 s.
	LatencyP90 time.Duration
	// Actions are notified when an alarm fires and when it recovers (for
	// example an awscloudwatchactions.SnsAction).
	Actions []awscloudwatch.IAlarmAction
}

// Server is what [NewServer] and [NewStdioServer] create.
type Server struct {
	constructs.Construct
	Function awslambda.Function
	LogGroup awslogs.LogGroup
	// Endpoint is the MCP endpoint URL (ending in /mcp).
	Endpoint *string
	// One of these three is set, by FrontDoor.
	URL     awslambda.FunctionUrl
	HTTPAPI awsapigatewayv2.HttpApi
	RESTAPI awsapigateway.RestApi
	WebACL  awswafv2.CfnWebACL // with WAF
	Table   awsdynamodb.Table  // with Table
	OAuth   *OAuth             // with OAuth
	// Alarms are the 5xx rate, p90 latency, errors and throttles alarms.
	Alarms    []awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
}

// NewServer deploys the Go MCP server in props.Zip on provided.al2023
// behind props.FrontDoor. It panics if the props contradict each other.
func NewServer(scope constructs.Construct, id string, props *ServerProps) *Server {
	if props == nil || props.Zip == "" {
		panic("mcplambda/cdk: NewServer: ServerProps.Zip is required: the zip written by mcplambda build")
	}
	p := *props
	return newServer(scope, id, &p, functionCode{
		code:    awslambda.Code_FromAsset(jsii.String(p.Zip), nil),
		runtime: awslambda.Runtime_PROVIDED_AL2023(),
		handler: "bootstrap",
	})
}

// functionCode is what differs between a Go server and a stdio server.
type functionCode struct {
	code    awslambda.Code
	runtime awslambda.Runtime
	handler string
	layers  []awslambda.ILayerVersion
	env     map[string]string
}

func newServer(scope constructs.Construct, id string, p *ServerProps, fc functionCode) *Server {
	if p.FrontDoor == "" {
		p.FrontDoor = FunctionURL
	}
	if p.OAuth != nil {
		checkOAuth(p, fc)
	}
	switch {
	case !slices.Contains([]FrontDoor{FunctionURL, HTTPAPI, RESTAPI}, p.FrontDoor):
		panic(fmt.Sprintf("mcplambda/cdk: unknown FrontDoor %q: want url, httpapi or rest", p.FrontDoor))
	case p.ResponseStream && p.FrontDoor == HTTPAPI:
		panic("mcplambda/cdk: ResponseStream: HTTP APIs cannot stream; use a function URL or a REST API")
	case p.JWT != nil && p.FrontDoor != HTTPAPI:
		panic("mcplambda/cdk: JWT is for an HTTP API front door")
	case (p.Authorizer != nil || p.WAF) && p.FrontDoor != RESTAPI:
		panic("mcplambda/cdk: Authorizer and WAF are for a REST API front door")
	case p.URLAuthNone && p.FrontDoor != FunctionURL:
		panic("mcplambda/cdk: URLAuthNone is for a function URL front door")
	}
	if p.Arch == nil {
		p.Arch = awslambda.Architecture_ARM_64()
	}
	if p.MemoryMB == 0 {
		p.MemoryMB = DefaultMemoryMB
	}
	if p.Tasks && p.Timeout == 0 {
		p.Timeout = MaxTimeout
	}
	if p.Sessions {
		if p.Table == nil {
			p.Table = &TableProps{}
		}
		if p.FrontDoor != HTTPAPI {
			p.ResponseStream = true
		}
		if p.Timeout == 0 {
			p.Timeout = DefaultSessionsTimeout
		}
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Tasks && p.Table == nil {
		p.Table = &TableProps{}
	}
	if p.LogRetention == "" {
		p.LogRetention = awslogs.RetentionDays_ONE_MONTH
	}

	s := &Server{Construct: constructs.NewConstruct(scope, jsii.String(id))}
	s.LogGroup = awslogs.NewLogGroup(s.Construct, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     p.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})

	env := map[string]*string{}
	for k, v := range fc.env {
		env[k] = jsii.String(v)
	}
	if p.ResponseStream {
		env["MCPLAMBDA_RESPONSE_STREAM"] = jsii.String("true")
	}
	if p.Sessions {
		env["MCPLAMBDA_SESSIONS"] = jsii.String("true")
	}
	for k, v := range p.Environment {
		env[k] = jsii.String(v)
	}
	if p.Table != nil {
		s.Table = newTable(s, p.Table)
		env["MCPLAMBDA_TABLE"] = s.Table.TableName()
	}
	var fnName *string
	if p.FunctionName != "" {
		fnName = jsii.String(p.FunctionName)
	}
	var layers *[]awslambda.ILayerVersion
	if len(fc.layers) > 0 {
		layers = &fc.layers
	}
	// A role of our own instead of AWSLambdaBasicExecutionRole, whose log
	// permissions cover every log group of the account.
	role := awsiam.NewRole(s.Construct, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("mcplambda function: writes its own log group, uses its own table if any"),
	})
	s.LogGroup.GrantWrite(role)
	s.Function = awslambda.NewFunction(s.Construct, jsii.String("Function"), &awslambda.FunctionProps{
		Role:          role,
		FunctionName:  fnName,
		Code:          fc.code,
		Runtime:       fc.runtime,
		Handler:       jsii.String(fc.handler),
		Architecture:  p.Arch,
		MemorySize:    jsii.Number(p.MemoryMB),
		Timeout:       awscdk.Duration_Millis(jsii.Number(p.Timeout.Milliseconds())),
		Environment:   &env,
		Layers:        layers,
		LogGroup:      s.LogGroup,
		LoggingFormat: awslambda.LoggingFormat_JSON,
	})
	if s.Table != nil {
		// Grant names the actions: no wildcard, this table's ARN only.
		actions := p.Table.Actions
		if actions == nil {
			actions = TableActions
		}
		s.Table.Grant(s.Function, *jsii.Strings(actions...)...)
	}
	if p.Tasks {
		// A policy of its own rather than a statement in the role's
		// default policy, which the function depends on: this one names
		// the function, so it must come after it.
		awsiam.NewPolicy(s.Construct, jsii.String("SelfInvoke"), &awsiam.PolicyProps{
			Roles: &[]awsiam.IRole{role},
			Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("lambda:InvokeFunction"),
				Resources: &[]*string{s.Function.FunctionArn(), awscdk.Fn_Join(jsii.String(""), &[]*string{s.Function.FunctionArn(), jsii.String(":*")})},
			})},
		})
	}

	var requests, serverErrors, latency awscloudwatch.IMetric
	switch p.FrontDoor {
	case FunctionURL:
		requests, serverErrors, latency = s.addFunctionURL(p)
	case HTTPAPI:
		requests, serverErrors, latency = s.addHTTPAPI(p)
	case RESTAPI:
		requests, serverErrors, latency = s.addRESTAPI(p)
	}
	if p.OAuth != nil {
		s.addOAuth(p)
	}
	s.addAlarms(p, requests, serverErrors, latency)
	return s
}

func newTable(s *Server, tp *TableProps) awsdynamodb.Table {
	ttl := tp.TTLAttribute
	if ttl == "" {
		ttl = "expires_at"
	}
	removal := tp.RemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	return awsdynamodb.NewTable(s.Construct, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(ttl),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		RemovalPolicy: removal,
	})
}

// lambdaMetric is a metric of namespace AWS/Lambda for the function.
func (s *Server) lambdaMetric(name, statistic string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String("AWS/Lambda"),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{"FunctionName": s.Function.FunctionName()},
		Statistic:     jsii.String(statistic),
		Period:        awscdk.Duration_Minutes(jsii.Number(5)),
	})
}

func (s *Server) addFunctionURL(p *ServerProps) (requests, serverErrors, latency awscloudwatch.IMetric) {
	auth := awslambda.FunctionUrlAuthType_AWS_IAM
	if p.URLAuthNone {
		auth = awslambda.FunctionUrlAuthType_NONE
	}
	mode := awslambda.InvokeMode_BUFFERED
	if p.ResponseStream {
		mode = awslambda.InvokeMode_RESPONSE_STREAM
	}
	s.URL = s.Function.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: auth, InvokeMode: mode})
	// The URL ends in "/"; the function's endpoint is /mcp.
	s.Endpoint = awscdk.Fn_Join(jsii.String(""), &[]*string{s.URL.Url(), jsii.String("mcp")})
	return s.lambdaMetric("UrlRequestCount", "Sum"), s.lambdaMetric("Url5xxCount", "Sum"), s.lambdaMetric("UrlRequestLatency", "p90")
}

func (s *Server) addHTTPAPI(p *ServerProps) (requests, serverErrors, latency awscloudwatch.IMetric) {
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Integration"), s.Function,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	s.HTTPAPI = awsapigatewayv2.NewHttpApi(s.Construct, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("MCP endpoint served by mcplambda"),
	})
	routeProps := &awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/mcp"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST, awsapigatewayv2.HttpMethod_GET, awsapigatewayv2.HttpMethod_DELETE},
		Integration: integration,
	}
	if p.JWT != nil {
		if p.JWT.Issuer == nil || len(p.JWT.Audience) == 0 {
			panic("mcplambda/cdk: JWT needs an Issuer and at least one Audience")
		}
		routeProps.Authorizer = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String("JwtAuthorizer"), p.JWT.Issuer,
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{JwtAudience: &p.JWT.Audience})
		if len(p.JWT.Scopes) > 0 {
			routeProps.AuthorizationScopes = jsii.Strings(p.JWT.Scopes...)
		}
	}
	s.HTTPAPI.AddRoutes(routeProps)
	// The OAuth protected resource metadata must be reachable without a
	// token (RFC 9728): a route without the authorizer.
	s.HTTPAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/.well-known/{proxy+}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_GET},
		Integration: integration,
	})
	s.Endpoint = awscdk.Fn_Join(jsii.String(""), &[]*string{s.HTTPAPI.ApiEndpoint(), jsii.String("/mcp")})
	period := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}
	return s.HTTPAPI.MetricCount(period), s.HTTPAPI.MetricServerError(period),
		s.HTTPAPI.MetricLatency(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("p90")})
}

func (s *Server) addRESTAPI(p *ServerProps) (requests, serverErrors, latency awscloudwatch.IMetric) {
	s.RESTAPI = awsapigateway.NewRestApi(s.Construct, jsii.String("RestApi"), &awsapigateway.RestApiProps{
		Description:   jsii.String("MCP endpoint served by mcplambda"),
		DeployOptions: &awsapigateway.StageOptions{StageName: jsii.String("prod")},
		EndpointTypes: &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		// The CloudWatch role is an account-wide API Gateway setting, with
		// an AWS managed policy: not this server's to change.
		CloudWatchRole: jsii.Bool(false),
	})
	transfer := awsapigateway.ResponseTransferMode_BUFFERED
	if p.ResponseStream {
		transfer = awsapigateway.ResponseTransferMode_STREAM
	}
	opts := &awsapigateway.LambdaIntegrationOptions{
		Proxy:                jsii.Bool(true),
		ResponseTransferMode: transfer,
	}
	if p.ResponseStream && p.Timeout > 29*time.Second {
		// A streaming integration may run as long as the function (up
		// to 15 minutes); a buffered one stops at 29 s.
		opts.Timeout = awscdk.Duration_Millis(jsii.Number(p.Timeout.Milliseconds()))
	}
	integration := awsapigateway.NewLambdaIntegration(s.Function, opts)
	method := &awsapigateway.MethodOptions{}
	if p.Authorizer != nil {
		method.Authorizer = awsapigateway.NewRequestAuthorizer(s.Construct, jsii.String("Authorizer"), &awsapigateway.RequestAuthorizerProps{
			Handler:         p.Authorizer,
			IdentitySources: jsii.Strings(*awsapigateway.IdentitySource_Header(jsii.String("Authorization"))),
			ResultsCacheTtl: awscdk.Duration_Seconds(jsii.Number(0)),
		})
		method.AuthorizationType = awsapigateway.AuthorizationType_CUSTOM
	}
	mcp := s.RESTAPI.Root().AddResource(jsii.String("mcp"), nil)
	for _, m := range []string{"POST", "GET", "DELETE"} {
		mcp.AddMethod(jsii.String(m), integration, method)
	}
	// The OAuth protected resource metadata, without the authorizer.
	wellKnown := s.RESTAPI.Root().AddResource(jsii.String(".well-known"), nil).AddProxy(&awsapigateway.ProxyResourceOptions{AnyMethod: jsii.Bool(false)})
	wellKnown.AddMethod(jsii.String("GET"), integration, nil)
	s.Endpoint = awscdk.Fn_Join(jsii.String(""), &[]*string{s.RESTAPI.Url(), jsii.String("mcp")})

	if p.WAF {
		s.WebACL = newWebACL(s)
		awswafv2.NewCfnWebACLAssociation(s.Construct, jsii.String("WebACLAssociation"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: s.RESTAPI.DeploymentStage().StageArn(),
			WebAclArn:   s.WebACL.AttrArn(),
		})
	}
	stage := s.RESTAPI.DeploymentStage()
	period := &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5))}
	return stage.MetricCount(period), stage.MetricServerError(period),
		stage.MetricLatency(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("p90")})
}

func newWebACL(s *Server) awswafv2.CfnWebACL {
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(name),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	var rules []any
	for i, name := range WAFManagedRuleGroups {
		rules = append(rules, &awswafv2.CfnWebACL_RuleProperty{
			Name:     jsii.String(name),
			Priority: jsii.Number(i),
			Statement: &awswafv2.CfnWebACL_StatementProperty{
				ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
					VendorName: jsii.String("AWS"),
					Name:       jsii.String(name),
				},
			},
			OverrideAction:   &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			VisibilityConfig: visibility(name),
		})
	}
	return awswafv2.NewCfnWebACL(s.Construct, jsii.String("WebACL"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("REGIONAL"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility("mcplambda"),
		Rules:            rules,
	})
}

func (s *Server) addAlarms(p *ServerProps, requests, serverErrors, latency awscloudwatch.IMetric) {
	a := AlarmProps{}
	if p.Alarms != nil {
		a = *p.Alarms
	}
	if a.ServerErrorPercent == 0 {
		a.ServerErrorPercent = 5
	}
	if a.LatencyP90 == 0 {
		a.LatencyP90 = 3 * time.Second
	}
	errorRate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"requests": requests, "errors": serverErrors},
		Label:        jsii.String("5xx rate (%)"),
		Period:       awscdk.Duration_Minutes(jsii.Number(5)),
	})
	alarm := func(id, desc string, metric awscloudwatch.IMetric, threshold float64, periods int) awscloudwatch.Alarm {
		al := awscloudwatch.NewAlarm(s.Construct, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(desc),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(periods),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		for _, action := range a.Actions {
			al.AddAlarmAction(action)
			al.AddOkAction(action)
		}
		return al
	}
	s.Alarms = []awscloudwatch.Alarm{
		alarm("ServerErrorRate", fmt.Sprintf("MCP endpoint: 5xx responses at or above %g%% of requests", a.ServerErrorPercent), errorRate, a.ServerErrorPercent, 1),
		alarm("LatencyP90", fmt.Sprintf("MCP endpoint: p90 latency at or above %s", a.LatencyP90), latency, float64(a.LatencyP90.Milliseconds()), 3),
		alarm("Errors", "MCP function: invocation errors", s.lambdaMetric("Errors", "Sum"), 1, 1),
		alarm("Throttles", "MCP function: throttled invocations", s.lambdaMetric("Throttles", "Sum"), 1, 1),
	}

	alarms := make([]interfacesawscloudwatch.IAlarmRef, len(s.Alarms))
	for i, al := range s.Alarms {
		alarms[i] = al
	}
	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Width: jsii.Number(12),
		})
	}
	s.Dashboard = awscloudwatch.NewDashboard(s.Construct, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		Widgets: &[]*[]awscloudwatch.IWidget{
			{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(24),
			})},
			{graph("Requests and 5xx", requests, serverErrors), graph("5xx rate (%)", errorRate)},
			{graph("Latency p90 (ms)", latency), graph("Duration p50 / p90 / max (ms)",
				s.lambdaMetric("Duration", "p50"), s.lambdaMetric("Duration", "p90"), s.lambdaMetric("Duration", "Maximum"))},
			{graph("Errors and throttles", s.lambdaMetric("Errors", "Sum"), s.lambdaMetric("Throttles", "Sum")),
				graph("Concurrent executions", s.lambdaMetric("ConcurrentExecutions", "Maximum"))},
		},
	})
}
