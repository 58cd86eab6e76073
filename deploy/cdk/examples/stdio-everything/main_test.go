package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestStack synthesizes the app offline: server-everything on nodejs22.x
// with the stdio layer and its exec wrapper. (Any files will do as the
// layer and the code here.)
func TestStack(t *testing.T) {
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer.zip")
	if err := os.WriteFile(layer, []byte("PK\x05\x06"+string(make([]byte, 18))), 0o644); err != nil {
		t.Fatal(err)
	}
	code := filepath.Join(dir, "function")
	if err := os.MkdirAll(code, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(code, "package.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	tmpl := assertions.Template_FromStack(NewStack(app, "McpEverything", layer, code), nil)
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("template: %v", r)
		}
	}()
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
		"Runtime": "nodejs22.x",
		"Layers":  []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^EverythingStdioLayer"))}},
		"Environment": map[string]any{"Variables": map[string]any{
			"AWS_LAMBDA_EXEC_WRAPPER": "/opt/mcplambda-stdio",
			"MCPLAMBDA_COMMAND":       "node",
			"MCPLAMBDA_ARGS":          `["node_modules/@modelcontextprotocol/server-everything/dist/index.js","stdio"]`,
		}},
	})
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Url"), map[string]any{"AuthType": "AWS_IAM"})
}
