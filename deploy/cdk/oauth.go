package cdk

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/jsii-runtime-go"
)

// OAuthProps gives the server its own OAuth 2.1 authorization server
// (package auth/authserver of mcplambda, as examples/oauth serves it), so
// that MCP clients that register themselves (Claude Code, Codex, the MCP
// Inspector) can sign in: the function serves the MCP endpoint, the
// well-known metadata and the OAuth endpoints under /oauth/ on one origin,
// and users sign in at an Amazon Cognito user pool (created, or yours) or
// any OpenID Connect provider.
//
// [NewServer] then creates, besides the function:
//
//   - an asymmetric KMS key (SIGN_VERIFY) that signs the access tokens; the
//     function may call kms:Sign and kms:GetPublicKey on that key only;
//   - the DynamoDB table (see [TableProps]), if Table is nil;
//   - for Cognito, a user pool with a hosted sign-in domain (unless
//     UserPool is given) and a confidential app client whose callback URL
//     is the server's /oauth/callback; its id and secret go to a Secrets
//     Manager secret the function may read, never to its environment;
//   - an SSM parameter holding the server's public URL (the OAuth
//     issuer), which the function reads at start: the URL of a function
//     URL or API is only known once they exist, and the function cannot
//     depend on them directly;
//   - the routes: ANY /oauth/{proxy+} next to /mcp and the well-known
//     paths on an HTTP API or a REST API (a function URL serves every
//     path); a function URL becomes public (auth type NONE): the function
//     checks tokens itself.
//
// The function's environment is examples/oauth's: ISSUER,
// UPSTREAM_ISSUER, UPSTREAM_CLIENT_ID, UPSTREAM_CLIENT_SECRET, KMS_KEY_ID,
// MCPLAMBDA_TABLE, SCOPES, GROUP_SCOPES, REQUIRE_VERIFIED_EMAIL.
type OAuthProps struct {
	// UserPool is the Cognito user pool users sign in at; it must have a
	// domain (its hosted UI). If nil and Issuer is empty, a user pool is
	// created, with a domain whose prefix is DomainPrefix.
	UserPool awscognito.IUserPool
	// DomainPrefix is the prefix of the created user pool's Cognito
	// domain, unique per region. Empty means "mcplambda-" followed by the
	// account id.
	DomainPrefix string

	// Issuer is an OpenID Connect provider to sign in at instead of
	// Cognito (it must publish discovery at Issuer +
	// "/.well-known/openid-configuration"), with our client there:
	// ClientID, and ClientSecret, a secret whose SecretString is the
	// client secret. Register the server's /oauth/callback URL there.
	Issuer       string
	ClientID     string
	ClientSecret awssecretsmanager.ISecret

	// Scopes are the scopes the server grants. Empty means "mcp:tools".
	Scopes []string
	// GroupScopes maps the provider's groups (Cognito groups) to the
	// scopes their members get in addition.
	GroupScopes map[string][]string
	// RequireVerifiedEmail refuses users whose email the provider has not
	// verified.
	RequireVerifiedEmail bool
	// KeySpec is the signing key's spec. Zero means ECC_NIST_P256 (ES256).
	KeySpec awskms.KeySpec
	// KeyRemovalPolicy is what happens to the signing key when the stack is
	// deleted. Zero means DESTROY (KMS waits 30 days before deleting it).
	KeyRemovalPolicy awscdk.RemovalPolicy
}

// OAuthKeyActions are the KMS actions the function may call on the
// signing key.
var OAuthKeyActions = []string{"kms:GetPublicKey", "kms:Sign"}

// OAuth is what NewServer creates for [OAuthProps].
type OAuth struct {
	// Issuer is the server's public URL, its OAuth issuer (the endpoint
	// without /mcp).
	Issuer *string
	// IssuerParameter holds Issuer for the function.
	IssuerParameter awsssm.StringParameter
	// Key signs the access tokens.
	Key awskms.Key
	// UserPool, UserPoolClient and UserPoolDomain are the Cognito pieces
	// (the domain only when the pool was created); nil with an external
	// Issuer.
	UserPool       awscognito.IUserPool
	UserPoolClient awscognito.UserPoolClient
	UserPoolDomain awscognito.UserPoolDomain
	// ClientSecret holds the upstream client's id and secret (Cognito), or
	// is OAuthProps.ClientSecret.
	ClientSecret awssecretsmanager.ISecret
}

// checkOAuth validates the props of a server with OAuth.
func checkOAuth(p *ServerProps, fc functionCode) {
	o := p.OAuth
	switch {
	case fc.handler != "bootstrap":
		panic("mcplambda/cdk: OAuth is for a Go server (NewServer) that runs package auth/authserver, as examples/oauth does")
	case p.JWT != nil || p.Authorizer != nil:
		panic("mcplambda/cdk: OAuth and JWT or Authorizer are exclusive: with OAuth the function verifies its own tokens")
	case o.UserPool != nil && o.Issuer != "":
		panic("mcplambda/cdk: OAuth: UserPool and Issuer are exclusive")
	case o.Issuer != "" && (o.ClientID == "" || o.ClientSecret == nil):
		panic("mcplambda/cdk: OAuth: an external Issuer needs ClientID and ClientSecret")
	}
	if p.FrontDoor == FunctionURL {
		p.URLAuthNone = true
	}
	if p.Table == nil {
		p.Table = &TableProps{}
	}
}

// addOAuth creates the authorization server's resources once the
// function and its front door exist.
func (s *Server) addOAuth(p *ServerProps) {
	o := p.OAuth
	stack := awscdk.Stack_Of(s.Construct)
	a := &OAuth{}
	s.OAuth = a
	// Names chosen here, not by CloudFormation, so that the function's
	// environment and policy can name them without depending on the
	// resources, which depend on the function's URL.
	unique := strings.ToLower((*s.Node().Addr())[:10])
	base := "mcplambda/" + *stack.StackName() + "/" + unique

	switch p.FrontDoor {
	case FunctionURL:
		// https://ID.lambda-url.REGION.on.aws/ -> https://ID.lambda-url.REGION.on.aws
		a.Issuer = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"),
			awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), s.URL.Url(), nil))})
	case HTTPAPI:
		a.Issuer = s.HTTPAPI.ApiEndpoint()
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("OAuthIntegration"), s.Function,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0()})
		s.HTTPAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String("/oauth/{proxy+}"),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
			Integration: integration,
		})
	case RESTAPI:
		// From the API's id, not its URL, which names the stage resource
		// and so, through the deployment, the function.
		a.Issuer = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), s.RESTAPI.RestApiId(),
			jsii.String(".execute-api."), stack.Region(), jsii.String("."), stack.UrlSuffix(), jsii.String("/prod")})
		integration := awsapigateway.NewLambdaIntegration(s.Function, &awsapigateway.LambdaIntegrationOptions{Proxy: jsii.Bool(true)})
		s.RESTAPI.Root().AddResource(jsii.String("oauth"), nil).AddProxy(&awsapigateway.ProxyResourceOptions{
			AnyMethod:          jsii.Bool(true),
			DefaultIntegration: integration,
		})
	}
	a.IssuerParameter = awsssm.NewStringParameter(s.Construct, jsii.String("OAuthIssuer"), &awsssm.StringParameterProps{
		ParameterName: jsii.String("/" + base + "/issuer"),
		StringValue:   a.Issuer,
		Description:   jsii.String("mcplambda: the server's public URL, its OAuth issuer"),
	})

	keySpec := o.KeySpec
	if keySpec == "" {
		keySpec = awskms.KeySpec_ECC_NIST_P256
	}
	removal := o.KeyRemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	a.Key = awskms.NewKey(s.Construct, jsii.String("SigningKey"), &awskms.KeyProps{
		KeySpec:       keySpec,
		KeyUsage:      awskms.KeyUsage_SIGN_VERIFY,
		Description:   jsii.String("mcplambda: signs the access tokens of the server's authorization server"),
		RemovalPolicy: removal,
	})
	a.Key.Grant(s.Function, *jsii.Strings(OAuthKeyActions...)...)

	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = []string{"mcp:tools"}
	}
	env := map[string]*string{
		"ISSUER":     jsii.String("ssm:/" + base + "/issuer"),
		"KMS_KEY_ID": a.Key.KeyArn(),
		"SCOPES":     jsii.String(strings.Join(scopes, " ")),
	}
	if len(o.GroupScopes) > 0 {
		var entries []string
		for _, g := range slices.Sorted(maps.Keys(o.GroupScopes)) {
			entries = append(entries, g+"="+strings.Join(o.GroupScopes[g], " "))
		}
		env["GROUP_SCOPES"] = jsii.String(strings.Join(entries, ";"))
	}
	if o.RequireVerifiedEmail {
		env["REQUIRE_VERIFIED_EMAIL"] = jsii.String("true")
	}
	if o.Issuer != "" {
		a.ClientSecret = o.ClientSecret
		env["UPSTREAM_ISSUER"] = jsii.String(o.Issuer)
		env["UPSTREAM_CLIENT_ID"] = jsii.String(o.ClientID)
		env["UPSTREAM_CLIENT_SECRET"] = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("secretsmanager:"), o.ClientSecret.SecretArn()})
		o.ClientSecret.GrantRead(s.Function, nil)
	} else {
		s.addCognito(o, a, base, env)
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		s.Function.AddEnvironment(jsii.String(k), env[k], nil)
	}
	s.Function.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ssm:GetParameter"),
		Resources: jsii.Strings(fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s/issuer", *stack.Partition(), *stack.Region(), *stack.Account(), base)),
	}))
}

// addCognito creates (or uses) the user pool and our confidential client
// in it.
func (s *Server) addCognito(o *OAuthProps, a *OAuth, base string, env map[string]*string) {
	stack := awscdk.Stack_Of(s.Construct)
	pool := o.UserPool
	if pool == nil {
		created := awscognito.NewUserPool(s.Construct, jsii.String("Users"), &awscognito.UserPoolProps{
			SelfSignUpEnabled: jsii.Bool(false),
			SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
			AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
			RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		})
		prefix := jsii.String(o.DomainPrefix)
		if o.DomainPrefix == "" {
			prefix = awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String("mcplambda"), stack.Account()})
		}
		a.UserPoolDomain = created.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
			CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: prefix},
		})
		pool = created
	}
	a.UserPool = pool
	a.UserPoolClient = awscognito.NewUserPoolClient(s.Construct, jsii.String("AuthServerClient"), &awscognito.UserPoolClientProps{
		UserPool:       pool,
		GenerateSecret: jsii.Bool(true), // a confidential client: the function keeps the secret
		OAuth: &awscognito.OAuthSettings{
			Flows:        &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes:       &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
			CallbackUrls: &[]*string{awscdk.Fn_Join(jsii.String(""), &[]*string{a.Issuer, jsii.String("/oauth/callback")})},
		},
		PreventUserExistenceErrors: jsii.Bool(true),
	})
	name := base + "/upstream-client"
	a.ClientSecret = awssecretsmanager.NewSecret(s.Construct, jsii.String("AuthServerClientSecret"), &awssecretsmanager.SecretProps{
		SecretName:  jsii.String(name),
		Description: jsii.String("mcplambda: the authorization server's Cognito app client (client_id, client_secret)"),
		SecretObjectValue: &map[string]awscdk.SecretValue{
			"client_id":     awscdk.SecretValue_UnsafePlainText(a.UserPoolClient.UserPoolClientId()),
			"client_secret": a.UserPoolClient.UserPoolClientSecret(),
		},
	})
	// The pool's issuer, https://cognito-idp.REGION.amazonaws.com/POOL_ID.
	env["UPSTREAM_ISSUER"] = awscdk.Fn_Join(jsii.String(""),
		&[]*string{jsii.String("https://cognito-idp."), stack.Region(), jsii.String("."), stack.UrlSuffix(), jsii.String("/"), pool.UserPoolId()})
	env["UPSTREAM_CLIENT_ID"] = jsii.String("secretsmanager:" + name + "#client_id")
	env["UPSTREAM_CLIENT_SECRET"] = jsii.String("secretsmanager:" + name + "#client_secret")
	// By name (the secret's ARN ends in six random characters): naming
	// the secret itself would make the function depend on the client,
	// which depends on the function's URL.
	s.Function.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
		Resources: jsii.Strings(fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:%s-??????", *stack.Partition(), *stack.Region(), *stack.Account(), name)),
	}))
}
