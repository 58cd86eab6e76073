package cdk

import (
	"encoding/json"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ExecWrapper is where the stdio layer's exec wrapper script is in a
// function: the value of AWS_LAMBDA_EXEC_WRAPPER.
const ExecWrapper = "/opt/mcplambda-stdio"

// StdioServerProps configures [NewStdioServer]: a stdio MCP server on a
// managed runtime, run by the mcplambda stdio layer as a warm child
// process. ServerProps.Zip is ignored.
type StdioServerProps struct {
	ServerProps
	// Code is the function's code: a directory (the server with its
	// dependencies, e.g. a package.json and its node_modules) or a zip.
	// Required.
	Code string
	// Runtime is the managed runtime that provides the interpreter. Nil
	// means Node.js 22 (nodejs22.x); a Python server wants
	// awslambda.Runtime_PYTHON_3_13().
	Runtime awslambda.Runtime
	// LayerZip is the stdio layer written by "mcplambda build --layer"
	// (for the same Arch). Either it or Layer is required.
	LayerZip string
	// Layer is an already published stdio layer, used instead of LayerZip.
	Layer awslambda.ILayerVersion
	// Command and Args start the server, relative to the code directory
	// (/var/task), e.g. "node" and ["node_modules/.../dist/index.js",
	// "stdio"]: MCPLAMBDA_COMMAND and MCPLAMBDA_ARGS. Command is required.
	Command string
	Args    []string
	// Isolation is warm (the zero value), per-principal or per-request:
	// MCPLAMBDA_ISOLATION (see package github.com/mcplambda/mcplambda/stdio).
	Isolation string
}

// NewStdioServer deploys a stdio MCP server on a managed runtime with the
// mcplambda stdio layer and its exec wrapper, behind props.FrontDoor. The
// runtime's own bootstrap is not started; the handler setting is unused.
func NewStdioServer(scope constructs.Construct, id string, props *StdioServerProps) *Server {
	if props == nil || props.Code == "" || props.Command == "" {
		panic("mcplambda/cdk: NewStdioServer: StdioServerProps.Code and Command are required")
	}
	if (props.LayerZip == "") == (props.Layer == nil) {
		panic("mcplambda/cdk: NewStdioServer: want one of StdioServerProps.LayerZip and Layer")
	}
	p := *props
	if p.Runtime == nil {
		p.Runtime = awslambda.Runtime_NODEJS_22_X()
	}
	if p.Arch == nil {
		p.Arch = awslambda.Architecture_ARM_64()
	}
	env := map[string]string{
		"AWS_LAMBDA_EXEC_WRAPPER": ExecWrapper,
		"MCPLAMBDA_COMMAND":       p.Command,
	}
	if len(p.Args) > 0 {
		args, err := json.Marshal(p.Args)
		if err != nil {
			panic(err) // cannot happen: strings
		}
		env["MCPLAMBDA_ARGS"] = string(args)
	}
	if p.Isolation != "" {
		env["MCPLAMBDA_ISOLATION"] = p.Isolation
	}

	// The layer is created in the scope, not in the server, so that its id
	// stays put if the server moves; NewServer creates the rest.
	layer := p.Layer
	if layer == nil {
		layer = awslambda.NewLayerVersion(scope, jsii.String(id+"StdioLayer"), &awslambda.LayerVersionProps{
			Code:                    awslambda.Code_FromAsset(jsii.String(p.LayerZip), nil),
			CompatibleArchitectures: &[]awslambda.Architecture{p.Arch},
			Description:             jsii.String("mcplambda stdio adapter: bin/mcplambda and the mcplambda-stdio exec wrapper"),
		})
	}
	return newServer(scope, id, &p.ServerProps, functionCode{
		code:    awslambda.Code_FromAsset(jsii.String(p.Code), nil),
		runtime: p.Runtime,
		handler: "index.handler", // unused: the exec wrapper runs mcplambda instead
		layers:  []awslambda.ILayerVersion{layer},
		env:     env,
	})
}
