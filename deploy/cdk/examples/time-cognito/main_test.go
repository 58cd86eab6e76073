package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestStack synthesizes the app offline: an HTTP API whose JWT authorizer
// trusts the stack's user pool and app client, and that client's OAuth
// settings. (Any file will do as the zip here.)
func TestStack(t *testing.T) {
	zip := filepath.Join(t.TempDir(), "time.zip")
	if err := os.WriteFile(zip, []byte("PK\x05\x06"+string(make([]byte, 18))), 0o644); err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	tmpl := assertions.Template_FromStack(NewStack(app, "McpTimeCognito", zip, "test-prefix"), nil)
	for _, c := range []struct {
		typ   string
		props map[string]any
	}{
		{"AWS::ApiGatewayV2::Authorizer", map[string]any{
			"AuthorizerType": "JWT",
			"JwtConfiguration": map[string]any{
				"Audience": []any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^UsersInspector"))}, map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^UsersMachine"))}},
				"Issuer":   assertions.Match_AnyValue(),
			},
		}},
		{"AWS::ApiGatewayV2::Route", map[string]any{"RouteKey": "POST /mcp", "AuthorizationType": "JWT", "AuthorizationScopes": []any{"mcp/tools"}}},
		{"AWS::Cognito::UserPoolResourceServer", map[string]any{"Identifier": "mcp", "Scopes": []any{map[string]any{"ScopeName": "tools", "ScopeDescription": assertions.Match_AnyValue()}}}},
		{"AWS::Cognito::UserPoolClient", map[string]any{
			"GenerateSecret":    false,
			"AllowedOAuthFlows": []any{"code"},
			"CallbackURLs":      assertions.Match_ArrayWith(&[]any{"http://localhost:6274/oauth/callback"}),
		}},
		{"AWS::Cognito::UserPoolDomain", map[string]any{"Domain": "test-prefix"}},
		{"AWS::Cognito::UserPoolClient", map[string]any{
			"GenerateSecret":     true,
			"AllowedOAuthFlows":  []any{"client_credentials"},
			"AllowedOAuthScopes": []any{assertions.Match_AnyValue()},
		}},
	} {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("template: no %s with %v: %v", c.typ, c.props, r)
				}
			}()
			tmpl.HasResourceProperties(jsii.String(c.typ), c.props)
		}()
	}
}
