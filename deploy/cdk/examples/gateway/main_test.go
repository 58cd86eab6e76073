package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestStack synthesizes the app offline with a zip that holds the grants
// of a gateway with one lambda: backend (the construct's own tests use a
// zip from mcplambda build --config): its role may invoke that function.
func TestStack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, _ := zw.Create("mcplambda-gateway-grants.json")
	w.Write([]byte(`{"functions": [{"function": "time", "qualifier": "live"}], "ssmParameters": [], "secrets": []}`))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	tmpl := assertions.Template_FromStack(NewStack(app, "McpGateway", path), nil)
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("template: %v", r)
		}
	}()
	tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Url"), map[string]any{"AuthType": "AWS_IAM"})
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
		"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
			"Action": "lambda:InvokeFunction", "Effect": "Allow",
			"Resource": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"},
				":lambda:", map[string]any{"Ref": "AWS::Region"}, ":", map[string]any{"Ref": "AWS::AccountId"}, ":function:time:live"}}},
		}})},
	})
	tmpl.HasOutput(jsii.String("Endpoint"), map[string]any{})
}
