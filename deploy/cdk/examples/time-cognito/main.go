// Command time-cognito is a CDK app: examples/time behind an API Gateway
// HTTP API whose JWT authorizer accepts access tokens of an Amazon Cognito
// user pool with the scope mcp/tools. The stack creates the user pool, a
// hosted sign-in domain, the resource server "mcp", a public app client
// (authorization code with PKCE) whose callback URLs are the MCP
// Inspector's, and a confidential client for the client credentials grant.
//
//	mcplambda build --out dist ./examples/time     # in the repository root
//	cd deploy/cdk/examples/time-cognito && cdk deploy -c domainPrefix=my-unique-prefix
//
// Context values (cdk -c key=value): zip (default: the repository's
// dist/time-arm64.zip) and domainPrefix (the Cognito hosted domain prefix, unique
// per region; default mcplambda-time-ACCOUNT).
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mcplambda/mcplambda/deploy/cdk"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	NewStack(app, "McpTimeCognito", contextString(app, "zip", "../../../../dist/time-arm64.zip"), contextString(app, "domainPrefix", ""))
	app.Synth(nil)
}

// NewStack is the time server behind an HTTP API with a Cognito JWT
// authorizer. An empty domainPrefix means mcplambda-time-ACCOUNT.
func NewStack(scope constructs.Construct, id, zip, domainPrefix string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("mcplambda examples/time behind an HTTP API with a Cognito JWT authorizer"),
	})
	pool := awscognito.NewUserPool(stack, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	prefix := jsii.String(domainPrefix)
	if domainPrefix == "" {
		prefix = awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String("mcplambda-time"), stack.Account()})
	}
	domain := pool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: prefix},
	})
	tools := awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
		ScopeName: jsii.String("tools"), ScopeDescription: jsii.String("call the MCP server's tools"),
	})
	resourceServer := pool.AddResourceServer(jsii.String("Mcp"), &awscognito.UserPoolResourceServerOptions{
		Identifier: jsii.String("mcp"),
		Scopes:     &[]awscognito.ResourceServerScope{tools},
	})
	client := pool.AddClient(jsii.String("Inspector"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(false), // a public client: authorization code with PKCE
		OAuth: &awscognito.OAuthSettings{
			Flows: &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes: &[]awscognito.OAuthScope{
				awscognito.OAuthScope_OPENID(),
				awscognito.OAuthScope_ResourceServer(resourceServer, tools),
			},
			CallbackUrls: jsii.Strings(
				"http://localhost:6274/oauth/callback",       // MCP Inspector
				"http://localhost:6274/oauth/callback/debug", // MCP Inspector's OAuth debugger
			),
		},
	})

	// A confidential client for programs and scripts: client credentials
	// grant, scope mcp/tools (Cognito bills machine-to-machine tokens).
	machine := pool.AddClient(jsii.String("Machine"), &awscognito.UserPoolClientOptions{
		GenerateSecret: jsii.Bool(true),
		OAuth: &awscognito.OAuthSettings{
			Flows:  &awscognito.OAuthFlows{ClientCredentials: jsii.Bool(true)},
			Scopes: &[]awscognito.OAuthScope{awscognito.OAuthScope_ResourceServer(resourceServer, tools)},
		},
	})

	server := cdk.NewServer(stack, "Time", &cdk.ServerProps{
		Zip:       zip,
		FrontDoor: cdk.HTTPAPI,
		JWT: &cdk.JWTProps{
			Issuer:   pool.UserPoolProviderUrl(),
			Audience: []*string{client.UserPoolClientId(), machine.UserPoolClientId()},
			Scopes:   []string{"mcp/tools"},
		},
	})
	for _, o := range []struct {
		name, desc string
		value      *string
	}{
		{"Endpoint", "MCP endpoint: send an access token of the user pool with scope mcp/tools", server.Endpoint},
		{"Issuer", "the JWT issuer (OpenID configuration at ISSUER/.well-known/openid-configuration)", pool.UserPoolProviderUrl()},
		{"UserPoolId", "the user pool: create users with aws cognito-idp admin-create-user", pool.UserPoolId()},
		{"ClientId", "the public app client for the MCP Inspector", client.UserPoolClientId()},
		{"MachineClientId", "the client credentials app client (its secret: aws cognito-idp describe-user-pool-client)", machine.UserPoolClientId()},
		{"TokenUrl", "the OAuth token endpoint", awscdk.Fn_Join(jsii.String(""), &[]*string{domain.BaseUrl(nil), jsii.String("/oauth2/token")})},
	} {
		awscdk.NewCfnOutput(stack, jsii.String(o.name), &awscdk.CfnOutputProps{Value: o.value, Description: jsii.String(o.desc)})
	}
	return stack
}

// contextString is the app's context value key (cdk -c key=value), or def.
func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}
