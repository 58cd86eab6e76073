// Command time-url is a CDK app: examples/time behind a Lambda function URL
// with AWS_IAM auth, so only SigV4-signed requests of principals your IAM
// policies allow reach it.
//
//	mcplambda build --out dist ./examples/time     # in the repository root
//	cd deploy/cdk/examples/time-url && cdk deploy
//
// The zip's path is the context value "zip" (cdk deploy -c zip=PATH);
// its default is the repository's dist/time-arm64.zip.
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
	NewStack(app, "McpTimeUrl", contextString(app, "zip", "../../../../dist/time-arm64.zip"))
	app.Synth(nil)
}

// NewStack is the time server behind an IAM-authenticated function URL,
// Endpoint is the MCP endpoint.
func NewStack(scope constructs.Construct, id, zip string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("mcplambda examples/time behind a function URL (AWS_IAM)"),
	})
	server := cdk.NewServer(stack, "Time", &cdk.ServerProps{
		Zip: zip,
	})
	awscdk.NewCfnOutput(stack, jsii.String("Endpoint"), &awscdk.CfnOutputProps{
		Value:       server.Endpoint,
		Description: jsii.String("MCP endpoint: sign requests with SigV4 (service lambda)"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("FunctionName"), &awscdk.CfnOutputProps{Value: server.Function.FunctionName()})
	return stack
}

// contextString is the app's context value key (cdk -c key=value), or def.
func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}
