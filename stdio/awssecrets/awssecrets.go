// Package awssecrets resolves references to AWS Systems Manager Parameter
// Store parameters and AWS Secrets Manager secrets in the environment of a
// stdio MCP server run by [github.com/mcplambda/mcplambda/stdio]. It is
// the only part of the stdio adapter that imports the AWS SDK.
//
// A value is a reference when it has one of these forms:
//
//	ssm:/prod/api-key                      a parameter (SecureString values are decrypted)
//	ssm:arn:aws:ssm:REGION:ACCOUNT:parameter/prod/api-key
//	secretsmanager:prod/db                 a secret's SecretString
//	secretsmanager:prod/db#password        one key of a secret that is a JSON object
//	secretsmanager:arn:aws:secretsmanager:REGION:ACCOUNT:secret:prod/db-AbCdEf#password
//
// Quick start, in a no-code deployment (what the mcplambda binary does):
//
//	cfg, err := stdio.ConfigFromEnv()
//	...
//	err = stdio.Run(ctx, cfg, &stdio.RunOptions{ResolveEnv: awssecrets.ResolveEnv})
//
// References are resolved once, when the function starts, with the
// function's role (which needs ssm:GetParameter, plus kms:Decrypt for
// SecureString parameters under a customer key, or
// secretsmanager:GetSecretValue). Values are never logged; errors name
// the variable and the reference only.
package awssecrets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// The reference prefixes.
const (
	PrefixSSM            = "ssm:"
	PrefixSecretsManager = "secretsmanager:"
)

// Resolver resolves references with an SSM and a Secrets Manager client.
// Its methods are safe for concurrent use.
type Resolver struct {
	ssm *ssm.Client
	sm  *secretsmanager.Client
}

// NewResolver returns a Resolver using cfg (region, credentials, and
// endpoints: AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER
// are honoured by config.LoadDefaultConfig).
func NewResolver(cfg aws.Config) *Resolver {
	return &Resolver{ssm: ssm.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg)}
}

// IsRef reports whether v is a reference.
func IsRef(v string) bool {
	return strings.HasPrefix(v, PrefixSSM) || strings.HasPrefix(v, PrefixSecretsManager)
}

// Resolve returns the value v refers to, or v itself when it is not a
// reference.
func (r *Resolver) Resolve(ctx context.Context, v string) (string, error) {
	switch {
	case strings.HasPrefix(v, PrefixSSM):
		name := strings.TrimPrefix(v, PrefixSSM)
		if name == "" {
			return "", fmt.Errorf("awssecrets: %q: empty parameter name", v)
		}
		out, err := r.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return "", fmt.Errorf("awssecrets: %s: %w", v, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return "", fmt.Errorf("awssecrets: %s: parameter has no value", v)
		}
		return *out.Parameter.Value, nil
	case strings.HasPrefix(v, PrefixSecretsManager):
		id, key, hasKey := strings.Cut(strings.TrimPrefix(v, PrefixSecretsManager), "#")
		if id == "" {
			return "", fmt.Errorf("awssecrets: %q: empty secret id", v)
		}
		out, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			return "", fmt.Errorf("awssecrets: %s: %w", v, err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("awssecrets: %s: secret has no SecretString (binary secrets are not supported)", v)
		}
		if !hasKey {
			return *out.SecretString, nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(*out.SecretString), &m); err != nil {
			return "", fmt.Errorf("awssecrets: %s: secret is not a JSON object, so it has no key %q", v, key)
		}
		val, ok := m[key]
		if !ok {
			return "", fmt.Errorf("awssecrets: %s: secret has no key %q", v, key)
		}
		if s, ok := val.(string); ok {
			return s, nil
		}
		b, err := json.Marshal(val)
		if err != nil {
			return "", fmt.Errorf("awssecrets: %s: %w", v, err)
		}
		return string(b), nil
	}
	return v, nil
}

// ResolveEnv returns env (KEY=VALUE pairs) with every reference replaced
// by its value, using the given Resolver.
func (r *Resolver) ResolveEnv(ctx context.Context, env []string) ([]string, error) {
	out := make([]string, len(env))
	for i, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if !IsRef(v) {
			out[i] = kv
			continue
		}
		val, err := r.Resolve(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("%w (environment variable %s)", err, k)
		}
		out[i] = k + "=" + val
	}
	return out, nil
}

// ResolveEnv resolves the references in env with a Resolver built from
// the default AWS configuration (the function's role and region), loaded
// only if env holds a reference. It fits stdio.RunOptions.ResolveEnv.
func ResolveEnv(ctx context.Context, env []string) ([]string, error) {
	need := false
	for _, kv := range env {
		if _, v, _ := strings.Cut(kv, "="); IsRef(v) {
			need = true
			break
		}
	}
	if !need {
		return env, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("awssecrets: loading AWS configuration: %w", err)
	}
	return NewResolver(cfg).ResolveEnv(ctx, env)
}

// Resolve returns the value ref refers to, resolved with a Resolver built
// from the default AWS configuration (the function's role and region), or
// ref itself when it is not a reference (no configuration is loaded
// then).
func Resolve(ctx context.Context, ref string) (string, error) {
	if !IsRef(ref) {
		return ref, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", fmt.Errorf("awssecrets: loading AWS configuration: %w", err)
	}
	return NewResolver(cfg).Resolve(ctx, ref)
}
