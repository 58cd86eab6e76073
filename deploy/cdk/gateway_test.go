package cdk

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/google/go-cmp/cmp"
)

// gatewayZip is "mcplambda build --config testdata/gateway.json" of a
// small function standing in for the mcplambda binary (the bootstrap does
// not change the template), built on first use.
var gatewayZip struct {
	once sync.Once
	path string
	err  error
}

func buildGatewayZip(t *testing.T) string {
	t.Helper()
	gatewayZip.once.Do(func() {
		config, err := filepath.Abs("testdata/gateway.json")
		if err != nil {
			gatewayZip.err = err
			return
		}
		dir := t.TempDir()
		gatewayZip.err = mcplambdaBuild(dir, "--config", config, "./cmd/mcplambda/testdata/noop")
		gatewayZip.path = filepath.Join(dir, "gateway-arm64.zip")
	})
	if gatewayZip.err != nil {
		t.Fatal(gatewayZip.err)
	}
	return gatewayZip.path
}

// TestGateway deploys a gateway built with mcplambda build --config and
// checks that its role may invoke exactly the functions of its
// configuration (with their qualifiers) and read exactly the parameters
// and secrets it references, and nothing else but its own logs.
func TestGateway(t *testing.T) {
	zip := buildGatewayZip(t)
	for _, tt := range []struct {
		name    string
		runtime awslambda.Runtime
		want    map[string]any // function properties
	}{
		{"provided", nil, map[string]any{"Runtime": "provided.al2023", "Handler": "bootstrap"}},
		{"node for stdio backends", awslambda.Runtime_NODEJS_22_X(), map[string]any{"Runtime": "nodejs22.x",
			"Environment": map[string]any{"Variables": map[string]any{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/bootstrap"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := synthesize(t, func(stack awscdk.Stack) {
				NewGateway(stack, "Tools", &GatewayProps{ServerProps: ServerProps{Zip: zip}, Runtime: tt.runtime})
			})
			s.has(t, "AWS::Lambda::Function", tt.want)
			s.has(t, "AWS::Lambda::Url", map[string]any{"AuthType": "AWS_IAM"})
			got := rolePolicy(t, s, "ToolsRole")
			delete(got, "logs:CreateLogStream") // its own log group
			delete(got, "logs:PutLogEvents")
			want := map[string][]any{
				"lambda:InvokeFunction": {
					"arn:${AWS::Partition}:lambda:eu-west-1:111122223333:function:partner",
					"arn:aws:lambda:us-east-1:210987654321:function:shared-tools:3",
					"arn:${AWS::Partition}:lambda:eu-west-1:123456789012:function:time",
					"arn:${AWS::Partition}:lambda:eu-west-1:123456789012:function:time:live",
				},
				"ssm:GetParameter": {
					"arn:${AWS::Partition}:ssm:eu-west-1:123456789012:parameter/prod/docs-token",
					"arn:${AWS::Partition}:ssm:eu-west-1:123456789012:parameter/tenant-id",
				},
				"secretsmanager:GetSecretValue": {
					"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/sig-AbCdEf",
					"arn:${AWS::Partition}:secretsmanager:eu-west-1:123456789012:secret:prod/everything-??????",
				},
			}
			for a := range want {
				slices.SortFunc(want[a], func(x, y any) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the role's permissions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGatewayNotAGateway: a zip without grants is refused.
func TestGatewayNotAGateway(t *testing.T) {
	defer func() {
		if r := fmt.Sprint(recover()); !strings.Contains(r, "it is not a gateway; build it with mcplambda build --config FILE") {
			t.Errorf("NewGateway(a server's zip) panics with %q", r)
		}
	}()
	synthesize(t, func(stack awscdk.Stack) {
		NewGateway(stack, "Tools", &GatewayProps{ServerProps: ServerProps{Zip: timeZip}})
	})
}

// rolePolicy returns, by action, the sorted resources of the Allow
// statements of the policies of the role whose logical id contains role.
func rolePolicy(t *testing.T, s *synth, role string) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, p := range s.resources("AWS::IAM::Policy") {
		if !strings.Contains(fmt.Sprint(p.Properties["Roles"]), role) {
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
	for a := range out {
		slices.SortFunc(out[a], func(x, y any) int { return strings.Compare(fmt.Sprint(x), fmt.Sprint(y)) })
	}
	return out
}
