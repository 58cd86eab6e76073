package cdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

// TestFunctionURL deploys examples/time behind a function URL and checks
// the function, the URL's auth type and invoke mode, the log group, the
// alarms and dashboard, and that the code asset is the zip mcplambda build
// wrote, byte for byte.
func TestFunctionURL(t *testing.T) {
	for _, tt := range []struct {
		name     string
		props    ServerProps
		auth     string
		mode     string
		memoryMB int
		timeout  int
		arch     string
	}{
		{name: "defaults", auth: "AWS_IAM", mode: "BUFFERED", memoryMB: 512, timeout: 30, arch: "arm64"},
		{name: "public streaming",
			props: ServerProps{URLAuthNone: true, ResponseStream: true, MemoryMB: 1024, Timeout: time.Minute, Arch: awslambda.Architecture_X86_64()},
			auth:  "NONE", mode: "RESPONSE_STREAM", memoryMB: 1024, timeout: 60, arch: "x86_64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var srv *Server
			s := synthesize(t, func(stack awscdk.Stack) {
				props := tt.props
				props.Zip = timeZip
				srv = NewServer(stack, "Time", &props)
				awscdk.NewCfnOutput(stack, jsii.String("Endpoint"), &awscdk.CfnOutputProps{Value: srv.Endpoint})
			})
			s.count(t, "AWS::Lambda::Function", 1)
			s.has(t, "AWS::Lambda::Function", map[string]any{
				"Runtime":       "provided.al2023",
				"Handler":       "bootstrap",
				"Architectures": []any{tt.arch},
				"MemorySize":    tt.memoryMB,
				"Timeout":       tt.timeout,
				"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": assertions.Match_AnyValue()},
			})
			s.has(t, "AWS::Lambda::Url", map[string]any{"AuthType": tt.auth, "InvokeMode": tt.mode})
			s.has(t, "AWS::Logs::LogGroup", map[string]any{"RetentionInDays": 30})
			s.count(t, "AWS::CloudWatch::Alarm", 4)
			s.count(t, "AWS::CloudWatch::Dashboard", 1)
			if tt.auth == "NONE" {
				// A public URL needs a resource policy for everyone: both
				// actions, the second only through the URL.
				s.count(t, "AWS::Lambda::Permission", 2)
				s.has(t, "AWS::Lambda::Permission", map[string]any{
					"Action": "lambda:InvokeFunctionUrl", "Principal": "*", "FunctionUrlAuthType": "NONE",
				})
				s.has(t, "AWS::Lambda::Permission", map[string]any{
					"Action": "lambda:InvokeFunction", "Principal": "*", "InvokedViaFunctionUrl": true,
				})
			} else {
				s.count(t, "AWS::Lambda::Permission", 0)
			}

			fn := s.one(t, "AWS::Lambda::Function")
			code := fn.Properties["Code"].(map[string]any)
			key, _ := code["S3Key"].(string)
			if !strings.HasSuffix(key, ".zip") {
				t.Fatalf("function Code.S3Key = %q, want the zip asset's key", key)
			}
			want, err := os.ReadFile(timeZip)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.assetFile(t, key); !bytes.Equal(got, want) {
				t.Errorf("asset %s: %d bytes, want the %d bytes of %s", key, len(got), len(want), timeZip)
			}

			endpoint := s.json["Outputs"].(map[string]any)["Endpoint"].(map[string]any)["Value"]
			wantEndpoint := map[string]any{"Fn::Join": []any{"", []any{getAtt(s.one(t, "AWS::Lambda::Url").ID, "FunctionUrl"), "mcp"}}}
			if diff := cmp.Diff(wantEndpoint, endpoint); diff != "" {
				t.Errorf("Endpoint output (-want +got):\n%s", diff)
			}
			checkAlarms(t, s, []string{"Url5xxCount", "UrlRequestCount"}, "UrlRequestLatency")
			checkLeastPrivilege(t, s)
		})
	}
}

// TestHTTPAPI checks an HTTP API with a JWT authorizer for a Cognito user
// pool: the authorizer on the MCP route, none on the protected resource
// metadata, payload format 2.0, and alarms on the API's metrics.
func TestHTTPAPI(t *testing.T) {
	const issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
	s := synthesize(t, func(stack awscdk.Stack) {
		NewServer(stack, "Time", &ServerProps{
			Zip:       timeZip,
			FrontDoor: HTTPAPI,
			JWT:       &JWTProps{Issuer: jsii.String(issuer), Audience: []*string{jsii.String("client-1")}, Scopes: []string{"mcp/tools"}},
		})
	})
	s.count(t, "AWS::ApiGatewayV2::Api", 1)
	s.has(t, "AWS::ApiGatewayV2::Api", map[string]any{"ProtocolType": "HTTP"})
	s.has(t, "AWS::ApiGatewayV2::Authorizer", map[string]any{
		"AuthorizerType":   "JWT",
		"IdentitySource":   []any{"$request.header.Authorization"},
		"JwtConfiguration": map[string]any{"Issuer": issuer, "Audience": []any{"client-1"}},
	})
	s.has(t, "AWS::ApiGatewayV2::Integration", map[string]any{"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0"})
	routes := map[string]string{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		auth, _ := r.Properties["AuthorizationType"].(string)
		if scopes, ok := r.Properties["AuthorizationScopes"]; ok {
			auth += fmt.Sprint(" ", scopes)
		}
		routes[r.Properties["RouteKey"].(string)] = auth
	}
	wantRoutes := map[string]string{
		"POST /mcp":                 "JWT [mcp/tools]",
		"GET /mcp":                  "JWT [mcp/tools]",
		"DELETE /mcp":               "JWT [mcp/tools]",
		"GET /.well-known/{proxy+}": "NONE",
	}
	if diff := cmp.Diff(wantRoutes, routes); diff != "" {
		t.Errorf("routes and their authorization (-want +got):\n%s", diff)
	}
	s.count(t, "AWS::Lambda::Url", 0)
	checkAlarms(t, s, []string{"5xx", "Count"}, "Latency")
	checkLeastPrivilege(t, s)
}

// TestRESTAPI checks a REST API with a Lambda authorizer, AWS WAF with the
// managed rule groups, and response streaming.
func TestRESTAPI(t *testing.T) {
	s := synthesize(t, func(stack awscdk.Stack) {
		// An authorizer deployed on its own (examples/authorizer).
		authorizer := awslambda.Function_FromFunctionArn(stack, jsii.String("Authorizer"),
			jsii.String("arn:aws:lambda:eu-west-1:123456789012:function:mcp-authorizer"))
		NewServer(stack, "Time", &ServerProps{
			Zip:            timeZip,
			FrontDoor:      RESTAPI,
			Authorizer:     authorizer,
			WAF:            true,
			ResponseStream: true,
		})
	})
	s.has(t, "AWS::ApiGateway::RestApi", map[string]any{"EndpointConfiguration": map[string]any{"Types": []any{"REGIONAL"}}})
	s.has(t, "AWS::ApiGateway::Stage", map[string]any{"StageName": "prod"})
	s.has(t, "AWS::ApiGateway::Authorizer", map[string]any{
		"Type": "REQUEST", "IdentitySource": "method.request.header.Authorization", "AuthorizerResultTtlInSeconds": 0,
	})
	s.has(t, "AWS::ApiGateway::Resource", map[string]any{"PathPart": "mcp"})
	for _, m := range []string{"POST", "GET", "DELETE"} {
		s.has(t, "AWS::ApiGateway::Method", map[string]any{
			"HttpMethod":        m,
			"AuthorizationType": "CUSTOM",
			"Integration":       map[string]any{"Type": "AWS_PROXY", "ResponseTransferMode": "STREAM"},
		})
	}
	s.has(t, "AWS::ApiGateway::Method", map[string]any{"HttpMethod": "GET", "AuthorizationType": "NONE"})

	acl := s.one(t, "AWS::WAFv2::WebACL")
	if acl.Properties["Scope"] != "REGIONAL" {
		t.Errorf("web ACL scope = %v, want REGIONAL", acl.Properties["Scope"])
	}
	var groups []string
	for _, r := range acl.Properties["Rules"].([]any) {
		stmt := r.(map[string]any)["Statement"].(map[string]any)["ManagedRuleGroupStatement"].(map[string]any)
		groups = append(groups, stmt["VendorName"].(string)+"/"+stmt["Name"].(string))
	}
	if diff := cmp.Diff([]string{"AWS/AWSManagedRulesCommonRuleSet", "AWS/AWSManagedRulesKnownBadInputsRuleSet", "AWS/AWSManagedRulesAmazonIpReputationList"}, groups); diff != "" {
		t.Errorf("web ACL rule groups (-want +got):\n%s", diff)
	}
	s.has(t, "AWS::WAFv2::WebACLAssociation", map[string]any{"WebACLArn": getAtt(acl.ID, "Arn")})
	checkAlarms(t, s, []string{"5XXError", "Count"}, "Latency")
	checkLeastPrivilege(t, s)
}

// TestTable checks the DynamoDB table (on demand, TTL, point-in-time
// recovery, package dynamo's key layout) and that the function may use
// this table only, with the actions it needs only.
func TestTable(t *testing.T) {
	for _, tt := range []struct {
		name    string
		props   TableProps
		ttl     string
		actions []string
	}{
		{name: "defaults", ttl: "expires_at", actions: TableActions},
		{name: "custom",
			props: TableProps{TTLAttribute: "ttl", Actions: []string{"dynamodb:GetItem", "dynamodb:Query"}},
			ttl:   "ttl", actions: []string{"dynamodb:GetItem", "dynamodb:Query"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := synthesize(t, func(stack awscdk.Stack) {
				props := tt.props
				NewServer(stack, "Time", &ServerProps{Zip: timeZip, Table: &props})
			})
			table := s.one(t, "AWS::DynamoDB::Table")
			s.has(t, "AWS::DynamoDB::Table", map[string]any{
				"BillingMode":                      "PAY_PER_REQUEST",
				"TimeToLiveSpecification":          map[string]any{"AttributeName": tt.ttl, "Enabled": true},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"KeySchema":                        []any{map[string]any{"AttributeName": "pk", "KeyType": "HASH"}},
			})
			s.has(t, "AWS::Lambda::Function", map[string]any{
				"Environment": map[string]any{"Variables": map[string]any{"MCPLAMBDA_TABLE": ref(table.ID)}},
			})
			// The table's deletion policy keeps the data by default.
			if got := s.json["Resources"].(map[string]any)[table.ID].(map[string]any)["DeletionPolicy"]; got != "Retain" {
				t.Errorf("table DeletionPolicy = %v, want Retain", got)
			}

			var tableStatements int
			for _, st := range statements(s) {
				if !slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
					continue
				}
				tableStatements++
				if diff := cmp.Diff(tt.actions, st.actions); diff != "" {
					t.Errorf("DynamoDB statement actions (-want +got):\n%s", diff)
				}
				for _, r := range st.resources {
					if r == `{"Ref":"AWS::NoValue"}` {
						continue // the index ARNs, for a table without indexes
					}
					if want := fmt.Sprintf(`{"Fn::GetAtt":[%q,"Arn"]}`, table.ID); r != want {
						t.Errorf("DynamoDB statement resource %s, want only %s", r, want)
					}
				}
			}
			if tableStatements != 1 {
				t.Errorf("%d IAM statements grant DynamoDB actions, want 1", tableStatements)
			}
			checkLeastPrivilege(t, s)
		})
	}
}

// TestSessions checks what Sessions brings: the table the function may
// use (package dynamo's actions only), MCPLAMBDA_SESSIONS, responses that
// stream behind a function URL and a REST API (whose integration gets the
// function's timeout), and a timeout a person can answer within. Behind an
// HTTP API, which cannot stream, sessions come without streaming.
func TestSessions(t *testing.T) {
	for _, tt := range []struct {
		door    FrontDoor
		timeout time.Duration
		stream  bool
		want    int // seconds
	}{
		{door: FunctionURL, stream: true, want: 120},
		{door: RESTAPI, stream: true, want: 120},
		{door: RESTAPI, timeout: 10 * time.Minute, stream: true, want: 600},
		{door: HTTPAPI, stream: false, want: 120},
	} {
		t.Run(fmt.Sprintf("%s %v", tt.door, tt.timeout), func(t *testing.T) {
			s := synthesize(t, func(stack awscdk.Stack) {
				NewServer(stack, "Time", &ServerProps{Zip: timeZip, FrontDoor: tt.door, Sessions: true, Timeout: tt.timeout})
			})
			table := s.one(t, "AWS::DynamoDB::Table")
			env := map[string]any{"MCPLAMBDA_SESSIONS": "true", "MCPLAMBDA_TABLE": ref(table.ID)}
			if tt.stream {
				env["MCPLAMBDA_RESPONSE_STREAM"] = "true"
			}
			s.has(t, "AWS::Lambda::Function", map[string]any{"Timeout": tt.want, "Environment": map[string]any{"Variables": env}})
			fn := s.one(t, "AWS::Lambda::Function")
			_, streams := fn.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)["MCPLAMBDA_RESPONSE_STREAM"]
			if streams != tt.stream {
				t.Errorf("MCPLAMBDA_RESPONSE_STREAM set: %v, want %v", streams, tt.stream)
			}
			switch tt.door {
			case FunctionURL:
				s.has(t, "AWS::Lambda::Url", map[string]any{"InvokeMode": "RESPONSE_STREAM"})
			case RESTAPI:
				s.has(t, "AWS::ApiGateway::Method", map[string]any{
					"HttpMethod":  "POST",
					"Integration": map[string]any{"Type": "AWS_PROXY", "ResponseTransferMode": "STREAM", "TimeoutInMillis": tt.want * 1000},
				})
			}
			var actions [][]string
			for _, st := range statements(s) {
				if slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
					actions = append(actions, st.actions)
				}
			}
			if diff := cmp.Diff([][]string{TableActions}, actions); diff != "" {
				t.Errorf("DynamoDB statements' actions (-want +got):\n%s", diff)
			}
			checkLeastPrivilege(t, s)
		})
	}
}

// TestStdioServer checks a stdio server on Node.js 22 with the stdio layer:
// the layer (the zip mcplambda build --layer wrote), the exec wrapper and
// the server's command in the environment.
func TestStdioServer(t *testing.T) {
	s := synthesize(t, func(stack awscdk.Stack) {
		NewStdioServer(stack, "Everything", &StdioServerProps{
			Code:      codeDir,
			LayerZip:  layerZip,
			Command:   "node",
			Args:      []string{"server.js", "stdio"},
			Isolation: "per-principal",
			ServerProps: ServerProps{
				ResponseStream: true,
				Environment:    map[string]string{"API_KEY": "ssm:/everything/api-key"},
			},
		})
	})
	layer := s.one(t, "AWS::Lambda::LayerVersion")
	s.has(t, "AWS::Lambda::LayerVersion", map[string]any{"CompatibleArchitectures": []any{"arm64"}})
	s.has(t, "AWS::Lambda::Function", map[string]any{
		"Runtime":       "nodejs22.x",
		"Architectures": []any{"arm64"},
		"Layers":        []any{ref(layer.ID)},
		"Environment": map[string]any{"Variables": map[string]any{
			"AWS_LAMBDA_EXEC_WRAPPER":   "/opt/mcplambda-stdio",
			"MCPLAMBDA_COMMAND":         "node",
			"MCPLAMBDA_ARGS":            `["server.js","stdio"]`,
			"MCPLAMBDA_ISOLATION":       "per-principal",
			"MCPLAMBDA_RESPONSE_STREAM": "true",
			"API_KEY":                   "ssm:/everything/api-key",
		}},
	})
	s.has(t, "AWS::Lambda::Url", map[string]any{"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM"})
	key := layer.Properties["Content"].(map[string]any)["S3Key"].(string)
	want, err := os.ReadFile(layerZip)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.assetFile(t, key); !bytes.Equal(got, want) {
		t.Errorf("layer asset %s: %d bytes, want the %d bytes of %s", key, len(got), len(want), layerZip)
	}
	checkLeastPrivilege(t, s)
}

// TestInvalidProps checks that contradicting props panic with a message
// that says what is wrong.
func TestInvalidProps(t *testing.T) {
	for _, tt := range []struct {
		name  string
		props *ServerProps
		want  string
	}{
		{"no zip", &ServerProps{}, "Zip is required"},
		{"nil props", nil, "Zip is required"},
		{"unknown door", &ServerProps{Zip: "x.zip", FrontDoor: "alb"}, `unknown FrontDoor "alb"`},
		{"streaming HTTP API", &ServerProps{Zip: "x.zip", FrontDoor: HTTPAPI, ResponseStream: true}, "HTTP APIs cannot stream"},
		{"JWT on a URL", &ServerProps{Zip: "x.zip", JWT: &JWTProps{}}, "JWT is for an HTTP API"},
		{"WAF on an HTTP API", &ServerProps{Zip: "x.zip", FrontDoor: HTTPAPI, WAF: true}, "Authorizer and WAF are for a REST API"},
		{"public REST API", &ServerProps{Zip: "x.zip", FrontDoor: RESTAPI, URLAuthNone: true}, "URLAuthNone is for a function URL"},
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

// checkAlarms checks the four alarms: the 5xx rate (a metric math
// expression over the front door's request and 5xx counts), the front
// door's p90 latency, the function's errors and throttles. rateMetrics
// are in name order.
func checkAlarms(t *testing.T, s *synth, rateMetrics []string, latencyMetric string) {
	t.Helper()
	got := map[string][]string{}
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := a.Properties
		desc, _ := p["AlarmDescription"].(string)
		var names []string
		if n, ok := p["MetricName"].(string); ok {
			names = append(names, fmt.Sprintf("%s %v %v", n, p["Namespace"], p["ExtendedStatistic"]))
		}
		if ms, ok := p["Metrics"].([]any); ok {
			for _, m := range ms {
				if stat, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
					names = append(names, stat["Metric"].(map[string]any)["MetricName"].(string))
				}
			}
		}
		slices.Sort(names)
		got[strings.SplitN(desc, ":", 2)[1]] = names
	}
	ns := "AWS/Lambda"
	if latencyMetric == "Latency" {
		ns = "AWS/ApiGateway"
	}
	want := map[string][]string{
		" 5xx responses at or above 5% of requests": rateMetrics,
		" p90 latency at or above 3s":               {latencyMetric + " " + ns + " p90"},
		" invocation errors":                        {"Errors AWS/Lambda <nil>"},
		" throttled invocations":                    {"Throttles AWS/Lambda <nil>"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alarms and their metrics (-want +got):\n%s", diff)
	}
}

// statement is one IAM policy statement, with actions and resources as
// strings (JSON for intrinsic functions).
type statement struct {
	effect    string
	actions   []string
	resources []string
}

// statements returns the statements of every IAM policy of the template.
func statements(s *synth) []statement {
	var sts []statement
	strs := func(v any) []string {
		var out []string
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		for _, x := range list {
			if str, ok := x.(string); ok {
				out = append(out, str)
			} else {
				out = append(out, mustJSON(x))
			}
		}
		return out
	}
	for _, p := range s.resources("AWS::IAM::Policy") {
		doc := p.Properties["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			st := st.(map[string]any)
			sts = append(sts, statement{effect: st["Effect"].(string), actions: strs(st["Action"]), resources: strs(st["Resource"])})
		}
	}
	return sts
}

// checkLeastPrivilege checks every IAM statement and role of the template:
// no wildcard action, no "*" resource, no AWS managed policy.
func checkLeastPrivilege(t *testing.T, s *synth) {
	t.Helper()
	for _, st := range statements(s) {
		for _, a := range st.actions {
			if strings.Contains(a, "*") {
				t.Errorf("IAM statement with wildcard action %q", a)
			}
		}
		for _, r := range st.resources {
			if r == "*" {
				t.Errorf("IAM statement %v on resource *", st.actions)
			}
		}
	}
	for _, r := range s.resources("AWS::IAM::Role") {
		if m, ok := r.Properties["ManagedPolicyArns"]; ok {
			t.Errorf("role %s has managed policies %v, want only its own scoped statements", r.ID, m)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
