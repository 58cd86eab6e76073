// Command gateway is a CDK app: one MCP endpoint for several servers, the
// gateway of a configuration file (package
// github.com/mcplambda/mcplambda/gateway), behind a Lambda function URL
// with AWS_IAM auth. Its role may invoke exactly the functions the file
// names and read exactly the secrets it references.
//
//	mcplambda build --out dist --config gateway.json     # in the repository root
//	cd deploy/cdk/examples/gateway && cdk deploy -c zip=../../../../dist/gateway-arm64.zip
//
// The zip's path is the context value "zip"; its default is the
// repository's dist/gateway-arm64.zip.
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
	zip := "../../../../dist/gateway-arm64.zip"
	if v, ok := app.Node().TryGetContext(jsii.String("zip")).(string); ok && v != "" {
		zip = v
	}
	NewStack(app, "McpGateway", zip)
	app.Synth(nil)
}

// NewStack is the gateway behind an IAM-authenticated function URL.
func NewStack(scope constructs.Construct, id, zip string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("mcplambda gateway: one MCP endpoint for the servers of a configuration file"),
	})
	gw := cdk.NewGateway(stack, "Gateway", &cdk.GatewayProps{ServerProps: cdk.ServerProps{Zip: zip}})
	awscdk.NewCfnOutput(stack, jsii.String("Endpoint"), &awscdk.CfnOutputProps{
		Value:       gw.Endpoint,
		Description: jsii.String("MCP endpoint: sign requests with SigV4 (service lambda), or use mcplambda proxy --sigv4"),
	})
	return stack
}
