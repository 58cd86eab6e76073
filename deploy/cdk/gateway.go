package cdk

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// GatewayGrantsFile is the file in a gateway's zip that lists what it needs
// access to: what "mcplambda build --config" writes (package
// github.com/mcplambda/mcplambda/gateway, GrantsFile).
const GatewayGrantsFile = "mcplambda-gateway-grants.json"

// GatewayGrants is what a gateway needs access to, as "mcplambda build
// --config" writes it into the zip: the functions of its lambda: backends
// (a name, a partial ARN ACCOUNT:function:NAME or an ARN, and a
// qualifier), and the SSM parameters and Secrets Manager secrets its
// configuration references (names or ARNs).
type GatewayGrants struct {
	Functions []struct {
		Function  string `json:"function"`
		Qualifier string `json:"qualifier,omitempty"`
	} `json:"functions"`
	SSMParameters []string `json:"ssmParameters"`
	Secrets       []string `json:"secrets"`
}

// GatewayProps configures [NewGateway]. ServerProps.Zip is the zip written
// by "mcplambda build --config FILE": the mcplambda binary as bootstrap,
// the configuration next to it, and the grants.
type GatewayProps struct {
	ServerProps
	// Runtime is the runtime of the function. Nil means provided.al2023,
	// where the bootstrap runs as it is. A gateway whose stdio backends
	// need an interpreter (npx, node, python3) takes the managed runtime
	// that has it, such as awslambda.Runtime_NODEJS_22_X(): the bootstrap
	// then runs as the runtime's exec wrapper (AWS_LAMBDA_EXEC_WRAPPER),
	// instead of the runtime's own bootstrap.
	Runtime awslambda.Runtime
}

// Gateway is what [NewGateway] creates: a [Server] running the gateway,
// and what its role may do besides writing its logs.
type Gateway struct {
	*Server
	// Grants are what the zip said the gateway needs.
	Grants *GatewayGrants
	// Invoke, Parameters and Secrets are the ARNs the role may invoke
	// (lambda:InvokeFunction) and read (ssm:GetParameter,
	// secretsmanager:GetSecretValue); nil when there are none.
	Invoke, Parameters, Secrets []*string
}

// NewGateway deploys the gateway in props.Zip behind props.FrontDoor, as
// [NewServer] deploys a server, and grants its role lambda:InvokeFunction
// on exactly the functions its configuration names (each with the
// qualifier the configuration gives, or unqualified), ssm:GetParameter on
// exactly the parameters and secretsmanager:GetSecretValue on exactly the
// secrets it references, in the stack's account and region unless an
// ARN says otherwise. (A SecureString parameter or secret under a
// customer managed KMS key needs kms:Decrypt on that key too, which the
// zip cannot know: grant it to Function's role.) It panics if the zip is
// not a gateway's.
func NewGateway(scope constructs.Construct, id string, props *GatewayProps) *Gateway {
	if props == nil || props.Zip == "" {
		panic("mcplambda/cdk: NewGateway: GatewayProps.Zip is required: the zip written by mcplambda build --config")
	}
	grants, err := readGrants(props.Zip)
	if err != nil {
		panic(fmt.Sprintf("mcplambda/cdk: NewGateway: %v", err))
	}
	p := *props
	fc := functionCode{
		code:    awslambda.Code_FromAsset(jsii.String(p.Zip), nil),
		runtime: awslambda.Runtime_PROVIDED_AL2023(),
		handler: "bootstrap",
	}
	if p.Runtime != nil {
		fc.runtime = p.Runtime
		fc.env = map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/bootstrap"}
	}
	g := &Gateway{Server: newServer(scope, id, &p.ServerProps, fc), Grants: grants}
	stack := awscdk.Stack_Of(scope)
	arn := func(service, resource string) *string {
		return jsii.String(fmt.Sprintf("arn:%s:%s:%s:%s:%s", *stack.Partition(), service, *stack.Region(), *stack.Account(), resource))
	}
	for _, f := range grants.Functions {
		var a string
		switch {
		case strings.HasPrefix(f.Function, "arn:"):
			a = f.Function
		case strings.Contains(f.Function, ":function:"): // ACCOUNT:function:NAME
			account, name, _ := strings.Cut(f.Function, ":function:")
			a = fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", *stack.Partition(), *stack.Region(), account, name)
		default:
			a = *arn("lambda", "function:"+f.Function)
		}
		if f.Qualifier != "" {
			a += ":" + f.Qualifier
		}
		g.Invoke = append(g.Invoke, jsii.String(a))
	}
	for _, name := range grants.SSMParameters {
		if strings.HasPrefix(name, "arn:") {
			g.Parameters = append(g.Parameters, jsii.String(name))
			continue
		}
		// A name with a path starts with "/", which the ARN's
		// "parameter" already ends in.
		g.Parameters = append(g.Parameters, arn("ssm", "parameter/"+strings.TrimPrefix(name, "/")))
	}
	for _, id := range grants.Secrets {
		switch {
		case strings.HasPrefix(id, "arn:") && secretSuffix.MatchString(id):
			g.Secrets = append(g.Secrets, jsii.String(id))
		case strings.HasPrefix(id, "arn:"): // a partial ARN, without the random suffix
			g.Secrets = append(g.Secrets, jsii.String(id+"-??????"))
		default:
			// The ARN of a secret ends in six random characters.
			g.Secrets = append(g.Secrets, arn("secretsmanager", "secret:"+id+"-??????"))
		}
	}
	for _, grant := range []struct {
		action    string
		resources []*string
	}{
		{"lambda:InvokeFunction", g.Invoke},
		{"ssm:GetParameter", g.Parameters},
		{"secretsmanager:GetSecretValue", g.Secrets},
	} {
		if len(grant.resources) == 0 {
			continue
		}
		g.Function.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(grant.action),
			Resources: &grant.resources,
		}))
	}
	return g
}

// secretSuffix matches a complete secret ARN: its name ends in a hyphen
// and six random characters.
var secretSuffix = regexp.MustCompile(`:secret:.+-[A-Za-z0-9]{6}$`)

// readGrants reads GatewayGrantsFile from a gateway's zip.
func readGrants(path string) (*GatewayGrants, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name != GatewayGrantsFile {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		data, err := io.ReadAll(rc)
		if err != nil {
			return nil, err
		}
		var g GatewayGrants
		if err := json.Unmarshal(data, &g); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, GatewayGrantsFile, err)
		}
		return &g, nil
	}
	return nil, fmt.Errorf("%s has no %s: it is not a gateway; build it with mcplambda build --config FILE", path, GatewayGrantsFile)
}
