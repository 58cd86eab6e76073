// Package awssecrets signs the access tokens of package authserver with a
// private key kept in AWS Secrets Manager, with rotation: the AWSCURRENT
// version of the secret signs, and the AWSPREVIOUS version stays published
// in the JWKS, so that tokens it signed keep verifying until they expire.
// It is the only part of the authorization server that imports the
// Secrets Manager SDK. (AWS KMS, package awskms, keeps the private key out
// of the function altogether; this package is for accounts that keep
// their keys in Secrets Manager.)
//
// The secret's SecretString is a PEM private key: EC P-256 (ES256), P-384
// (ES384) or RSA of 2048 bits and up (RS256), as written by
//
//	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256
//
// Quick start:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	keys := awssecrets.Keys(secretsmanager.NewFromConfig(cfg), "mcp/authserver-key")
//	as, err := authserver.New(issuer, resources, upstream, &authserver.Options{Keys: keys, ...})
//
// To rotate, put a new key as a new version of the secret (`aws
// secretsmanager put-secret-value`); servers pick it up within
// authserver.Options.KeyCacheTime. The function's role needs
// secretsmanager:GetSecretValue on the secret. Key material is never
// logged.
package awssecrets

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/internal/awsrotated"
)

// Client is the part of *secretsmanager.Client that Keys uses.
type Client interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ Client = (*secretsmanager.Client)(nil)

// Keys returns a KeySource reading secretID (a name or ARN): two
// GetSecretValue calls (AWSCURRENT, AWSPREVIOUS) each time the server
// refreshes its keys. A secret without a previous version has no previous
// key.
func Keys(client Client, secretID string) authserver.KeySource {
	return func(ctx context.Context) (*authserver.KeySet, error) {
		cur, prev, err := awsrotated.Read(ctx, client, secretID)
		if err != nil {
			return nil, err
		}
		k, err := key(cur, secretID)
		if err != nil {
			return nil, err
		}
		set := &authserver.KeySet{Current: k}
		if prev != nil {
			p, err := key(prev, secretID)
			if err != nil {
				return nil, err
			}
			p.Sign = nil // published only
			set.Previous = []authserver.Key{p}
		}
		return set, nil
	}
}

// key is the signing key in version v of the secret id, a PEM private key.
func key(v *awsrotated.Version, id string) (authserver.Key, error) {
	pem := v.Binary
	if v.String != nil {
		pem = []byte(*v.String)
	}
	k, err := authserver.ParsePrivateKeyPEM(pem)
	if err != nil {
		// Never the key material: the error names the secret only.
		return authserver.Key{}, fmt.Errorf("awssecrets: %s of %q is not a usable PEM private key: %w", v.Stage, id, err)
	}
	return k, nil
}
