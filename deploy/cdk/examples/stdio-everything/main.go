// Command stdio-everything is a CDK app: the reference MCP test server
// @modelcontextprotocol/server-everything (Node.js, stdio) on the Node.js
// 22 managed runtime, served by the mcplambda stdio layer with a warm child
// process, behind a function URL with AWS_IAM auth.
//
//	mcplambda build --layer --out dist                          # in the repository root
//	(cd examples/stdio-everything/function && npm install --omit=dev)
//	cd deploy/cdk/examples/stdio-everything && cdk deploy
//
// Context values (cdk -c key=value): layer (default: the repository's
// dist/mcplambda-stdio-layer-arm64.zip) and code (default: the
// repository's examples/stdio-everything/function).
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
	NewStack(app, "McpEverything",
		contextString(app, "layer", "../../../../dist/mcplambda-stdio-layer-arm64.zip"),
		contextString(app, "code", "../../../../examples/stdio-everything/function"))
	app.Synth(nil)
}

// NewStack is server-everything on nodejs22.x with the stdio layer.
func NewStack(scope constructs.Construct, id, layerZip, code string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("mcplambda: @modelcontextprotocol/server-everything on Node.js 22 with the stdio layer"),
	})
	server := cdk.NewStdioServer(stack, "Everything", &cdk.StdioServerProps{
		Code:     code,
		LayerZip: layerZip,
		Command:  "node",
		Args:     []string{"node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"},
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
