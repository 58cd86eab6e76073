// Command oauth-cognito is a CDK app: examples/oauth (an MCP server with
// its own OAuth authorization server) behind an API Gateway HTTP API, with
// an Amazon Cognito user pool as the identity provider. MCP clients that
// register themselves (Claude Code, Codex, the MCP Inspector) sign in
// with no setup of their own: they register (or present a Client ID
// Metadata Document), the user signs in at the pool's hosted UI and
// approves the client, and the server issues its own tokens, signed with
// a KMS key, its state in DynamoDB.
//
//	mcplambda build ./examples/oauth     # in the repository root: dist/oauth-arm64.zip
//	cd deploy/cdk/examples/oauth-cognito && cdk deploy -c domainPrefix=my-unique-prefix
//
// Context values (cdk -c key=value): zip (default: the repository's
// dist/oauth-arm64.zip), domainPrefix (the Cognito hosted domain prefix,
// unique per region; default mcplambda-ACCOUNT) and front (url, httpapi or
// rest; default httpapi).
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mcplambda/mcplambda/deploy/cdk"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	NewStack(app, "McpOAuthCognito", contextString(app, "zip", "../../../../dist/oauth-arm64.zip"),
		contextString(app, "domainPrefix", ""), cdk.FrontDoor(contextString(app, "front", string(cdk.HTTPAPI))))
	app.Synth(nil)
}

// NewStack is the server behind front, with a Cognito user pool created
// for it. An empty domainPrefix means mcplambda-ACCOUNT.
func NewStack(scope constructs.Construct, id, zip, domainPrefix string, front cdk.FrontDoor) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("mcplambda examples/oauth: an MCP server with its own OAuth authorization server, Cognito sign-in"),
	})
	server := cdk.NewServer(stack, "Server", &cdk.ServerProps{
		Zip:       zip,
		FrontDoor: front,
		OAuth: &cdk.OAuthProps{
			DomainPrefix: domainPrefix,
			Scopes:       []string{"mcp:tools"},
		},
	})
	for _, o := range []struct {
		name, desc string
		value      *string
	}{
		{"Endpoint", "MCP endpoint: add it to your MCP client, which signs in by itself", server.Endpoint},
		{"Issuer", "the OAuth issuer (metadata at ISSUER/.well-known/oauth-authorization-server)", server.OAuth.Issuer},
		{"UserPoolId", "the user pool: create users with aws cognito-idp admin-create-user", server.OAuth.UserPool.UserPoolId()},
		{"SigningKey", "the KMS key that signs access tokens", server.OAuth.Key.KeyArn()},
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
