package cdk

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

// TestOAuth deploys a server with its own authorization server behind each
// front door, with a Cognito user pool created for it, and checks the
// routes, the signing key, the user pool client and its secret, the
// function's environment, that every permission of the function names
// its resource (no wildcard). The function's environment and policy name
// the issuer parameter and the client secret without depending on them,
// which depend on the function's URL: a dependency cycle would make the
// assertions package refuse the template ("Template is undeployable").
func TestOAuth(t *testing.T) {
	for _, front := range []FrontDoor{FunctionURL, HTTPAPI, RESTAPI} {
		t.Run(string(front), func(t *testing.T) {
			s := synthesize(t, func(stack awscdk.Stack) {
				NewServer(stack, "Notes", &ServerProps{Zip: timeZip, FrontDoor: front, OAuth: &OAuthProps{
					DomainPrefix: "notes-test",
					Scopes:       []string{"notes:read", "notes:write"},
					GroupScopes:  map[string][]string{"admins": {"notes:admin"}},
				}})
			})
			s.has(t, "AWS::KMS::Key", map[string]any{"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"})
			key := s.one(t, "AWS::KMS::Key")
			s.has(t, "AWS::Cognito::UserPoolDomain", map[string]any{"Domain": "notes-test"})
			s.has(t, "AWS::Cognito::UserPoolClient", map[string]any{
				"GenerateSecret":     true,
				"AllowedOAuthFlows":  []any{"code"},
				"AllowedOAuthScopes": []any{"openid", "email", "profile"},
				"CallbackURLs":       []any{assertions.Match_AnyValue()},
			})
			client := s.one(t, "AWS::Cognito::UserPoolClient")
			if cb := fmt.Sprint(client.Properties["CallbackURLs"]); !strings.Contains(cb, "/oauth/callback") {
				t.Errorf("callback URLs %s, want the server's /oauth/callback", cb)
			}
			table := s.one(t, "AWS::DynamoDB::Table")

			fn := s.function(t)
			env := fn.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
			issuerRE := regexp.MustCompile(`^ssm:/mcplambda/Test/[0-9a-f]{10}/issuer$`)
			if v, _ := env["ISSUER"].(string); !issuerRE.MatchString(v) {
				t.Errorf("ISSUER = %v, want ssm:/mcplambda/Test/ID/issuer", env["ISSUER"])
			}
			base := strings.TrimSuffix(strings.TrimPrefix(env["ISSUER"].(string), "ssm:/"), "/issuer")
			want := map[string]any{
				"ISSUER":                 "ssm:/" + base + "/issuer",
				"KMS_KEY_ID":             getAtt(key.ID, "Arn"),
				"MCPLAMBDA_TABLE":        ref(table.ID),
				"SCOPES":                 "notes:read notes:write",
				"GROUP_SCOPES":           "admins=notes:admin",
				"UPSTREAM_CLIENT_ID":     "secretsmanager:" + base + "/upstream-client#client_id",
				"UPSTREAM_CLIENT_SECRET": "secretsmanager:" + base + "/upstream-client#client_secret",
			}
			for k, v := range want {
				if diff := cmp.Diff(v, env[k]); diff != "" {
					t.Errorf("environment %s (-want +got):\n%s", k, diff)
				}
			}
			if up := fmt.Sprint(env["UPSTREAM_ISSUER"]); !strings.Contains(up, "https://cognito-idp.") || !strings.Contains(up, "NotesUsers") {
				t.Errorf("UPSTREAM_ISSUER = %s, want the user pool's issuer", up)
			}
			s.has(t, "AWS::SSM::Parameter", map[string]any{"Name": "/" + base + "/issuer", "Type": "String"})
			s.has(t, "AWS::SecretsManager::Secret", map[string]any{"Name": base + "/upstream-client"})

			// Least privilege: each action on exactly its resource.
			got := policy(t, s)
			for action, resource := range map[string]any{
				"kms:Sign":                      getAtt(key.ID, "Arn"),
				"kms:GetPublicKey":              getAtt(key.ID, "Arn"),
				"dynamodb:GetItem":              getAtt(table.ID, "Arn"),
				"ssm:GetParameter":              "arn:${AWS::Partition}:ssm:eu-west-1:123456789012:parameter/" + base + "/issuer",
				"secretsmanager:GetSecretValue": "arn:${AWS::Partition}:secretsmanager:eu-west-1:123456789012:secret:" + base + "/upstream-client-??????",
			} {
				if diff := cmp.Diff([]any{resource}, got[action]); diff != "" {
					t.Errorf("%s on (-want +got):\n%s", action, diff)
				}
			}
			for action, resources := range got {
				for _, r := range resources {
					if r == "*" {
						t.Errorf("%s on every resource", action)
					}
				}
			}

			switch front {
			case FunctionURL:
				s.has(t, "AWS::Lambda::Url", map[string]any{"AuthType": "NONE"})
			case HTTPAPI:
				for _, route := range []string{"ANY /oauth/{proxy+}", "GET /.well-known/{proxy+}", "POST /mcp"} {
					s.has(t, "AWS::ApiGatewayV2::Route", map[string]any{"RouteKey": route, "AuthorizationType": "NONE"})
				}
			case RESTAPI:
				s.has(t, "AWS::ApiGateway::Resource", map[string]any{"PathPart": "oauth"})
				s.has(t, "AWS::ApiGateway::Method", map[string]any{"HttpMethod": "ANY", "AuthorizationType": "NONE",
					"ResourceId": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("oauthproxy"))}})
				if is := fmt.Sprint(s.one(t, "AWS::SSM::Parameter").Properties["Value"]); !strings.Contains(is, "/prod") {
					t.Errorf("issuer %s, want the stage in it", is)
				}
			}
		})
	}
}

// TestOAuthExternalIssuer: another OpenID Connect provider, with its
// client secret in Secrets Manager: no user pool; the function reads the
// secret by ARN.
func TestOAuthExternalIssuer(t *testing.T) {
	s := synthesize(t, func(stack awscdk.Stack) {
		secret := awssecretsmanager.NewSecret(stack, jsii.String("IdPSecret"), nil)
		NewServer(stack, "Notes", &ServerProps{Zip: timeZip, FrontDoor: HTTPAPI, OAuth: &OAuthProps{
			Issuer: "https://login.example.com", ClientID: "mcp-server", ClientSecret: secret,
		}})
	})
	s.count(t, "AWS::Cognito::UserPool", 0)
	s.count(t, "AWS::Cognito::UserPoolClient", 0)
	fn := s.function(t)
	env := fn.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
	if env["UPSTREAM_ISSUER"] != "https://login.example.com" || env["UPSTREAM_CLIENT_ID"] != "mcp-server" || env["SCOPES"] != "mcp:tools" {
		t.Errorf("environment %v", env)
	}
	if v := fmt.Sprint(env["UPSTREAM_CLIENT_SECRET"]); !strings.Contains(v, "secretsmanager:") || !strings.Contains(v, "IdPSecret") {
		t.Errorf("UPSTREAM_CLIENT_SECRET = %s, want a reference to the secret", v)
	}
	if got := policy(t, s)["secretsmanager:GetSecretValue"]; len(got) != 1 || !strings.Contains(fmt.Sprint(got[0]), "IdPSecret") {
		t.Errorf("secretsmanager:GetSecretValue on %v, want the secret", got)
	}
}

// TestOAuthInvalidProps: contradictions panic.
func TestOAuthInvalidProps(t *testing.T) {
	for _, tt := range []struct {
		name  string
		props *ServerProps
		want  string
	}{
		{"with a JWT authorizer", &ServerProps{Zip: "x.zip", FrontDoor: HTTPAPI, JWT: &JWTProps{}, OAuth: &OAuthProps{}}, "exclusive"},
		{"issuer without client", &ServerProps{Zip: "x.zip", OAuth: &OAuthProps{Issuer: "https://idp.example"}}, "needs ClientID and ClientSecret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
			stack := awscdk.NewStack(app, jsii.String("Test"), nil)
			got := func() (msg string) {
				defer func() { msg = fmt.Sprint(recover()) }()
				NewServer(stack, "S", tt.props)
				return ""
			}()
			if !strings.Contains(got, tt.want) {
				t.Errorf("NewServer(%s) panics with %q, want a panic containing %q", tt.name, got, tt.want)
			}
		})
	}
}

// function returns the server's function (the one running bootstrap; the
// CDK adds one of its own to read the Cognito client's secret).
func (s *synth) function(t *testing.T) resource {
	t.Helper()
	for _, r := range s.resources("AWS::Lambda::Function") {
		if r.Properties["Handler"] == "bootstrap" {
			return r
		}
	}
	t.Fatal("template: no function with handler bootstrap")
	return resource{}
}

// policy returns, by action, the resources of the function role's
// policies' Allow statements.
func policy(t *testing.T, s *synth) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, p := range s.resources("AWS::IAM::Policy") {
		if !strings.Contains(fmt.Sprint(p.Properties["Roles"]), "NotesRole") {
			continue
		}
		doc := p.Properties["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			st := st.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			actions, ok := st["Action"].([]any)
			if !ok {
				actions = []any{st["Action"]}
			}
			resources, ok := st["Resource"].([]any)
			if !ok {
				resources = []any{st["Resource"]}
			}
			for _, a := range actions {
				for _, r := range resources {
					out[a.(string)] = append(out[a.(string)], normalize(r))
				}
			}
		}
	}
	return out
}

// normalize turns an Fn::Join of plain strings and pseudo parameters into
// one string, with ${AWS::Partition} for the partition.
func normalize(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	join, ok := m["Fn::Join"].([]any)
	if !ok {
		return v
	}
	var b strings.Builder
	for _, part := range join[1].([]any) {
		switch p := part.(type) {
		case string:
			b.WriteString(p)
		case map[string]any:
			r, ok := p["Ref"].(string)
			if !ok || !strings.HasPrefix(r, "AWS::") {
				return v
			}
			b.WriteString("${" + r + "}")
		}
	}
	return b.String()
}
