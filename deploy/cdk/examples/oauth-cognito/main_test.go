package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/mcplambda/mcplambda/deploy/cdk"
)

// check is a resource the template must hold.
type check struct {
	typ   string
	props map[string]any
}

// TestStack synthesizes the app offline (the deployed shape of the
// issue): the authorization server's routes, the signing key and the
// function's least-privilege grant on it, the Cognito user pool, domain
// and confidential client, for every front door. (Any file will do as
// the zip here.)
func TestStack(t *testing.T) {
	zip := filepath.Join(t.TempDir(), "oauth.zip")
	if err := os.WriteFile(zip, []byte("PK\x05\x06"+string(make([]byte, 18))), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, front := range []cdk.FrontDoor{cdk.HTTPAPI, cdk.FunctionURL, cdk.RESTAPI} {
		t.Run(string(front), func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
			tmpl := assertions.Template_FromStack(NewStack(app, "McpOAuthCognito", zip, "test-prefix", front), nil)
			checks := []check{
				{"AWS::KMS::Key", map[string]any{"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}},
				{"AWS::IAM::Policy", map[string]any{"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
					"Action":   []any{"kms:GetPublicKey", "kms:Sign"},
					"Effect":   "Allow",
					"Resource": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^ServerSigningKey")), "Arn"}},
				}})}}},
				{"AWS::Cognito::UserPoolDomain", map[string]any{"Domain": "test-prefix"}},
				{"AWS::Cognito::UserPoolClient", map[string]any{"GenerateSecret": true, "AllowedOAuthFlows": []any{"code"}}},
				{"AWS::DynamoDB::Table", map[string]any{"TimeToLiveSpecification": map[string]any{"AttributeName": "expires_at", "Enabled": true}}},
			}
			switch front {
			case cdk.HTTPAPI:
				checks = append(checks,
					check{"AWS::ApiGatewayV2::Route", map[string]any{"RouteKey": "ANY /oauth/{proxy+}"}},
					check{"AWS::ApiGatewayV2::Route", map[string]any{"RouteKey": "GET /.well-known/{proxy+}"}})
			case cdk.RESTAPI:
				checks = append(checks, check{"AWS::ApiGateway::Resource", map[string]any{"PathPart": "oauth"}})
			case cdk.FunctionURL:
				checks = append(checks, check{"AWS::Lambda::Url", map[string]any{"AuthType": "NONE"}})
			}
			for _, c := range checks {
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("template: no %s with %v: %v", c.typ, c.props, r)
						}
					}()
					tmpl.HasResourceProperties(jsii.String(c.typ), c.props)
				}()
			}
		})
	}
}
