// Package awssecrets is a seal.KeySource backed by AWS Secrets Manager,
// with rotation: the AWSCURRENT version of a secret seals, and the
// AWSPREVIOUS version keeps opening state for seal.Options.Grace after the
// rotation that replaced it. It is the only part of the sealing machinery
// that imports the AWS SDK.
//
// The secret holds 32 random bytes, as a base64 SecretString (`openssl
// rand -base64 32`) or as SecretBinary. A rotation Lambda (or `aws
// secretsmanager put-secret-value`) writes a new value; Sealers pick it up
// within seal.Options.KeyCacheTime.
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	keys := awssecrets.Keys(secretsmanager.NewFromConfig(cfg), "mcp/seal-key", nil)
//	sealer := seal.New(keys, nil)
//
// The function's role needs secretsmanager:GetSecretValue on the secret.
package awssecrets

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/mcplambda/mcplambda/internal/awsrotated"
	"github.com/mcplambda/mcplambda/state/seal"
)

// Client is the part of *secretsmanager.Client that Keys uses.
type Client interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ Client = (*secretsmanager.Client)(nil)

// Keys returns a KeySource reading secretID (a name or ARN): two
// GetSecretValue calls (AWSCURRENT, AWSPREVIOUS) each time the Sealer
// refreshes its keys. A secret without a previous version has no previous
// key. Key ids are the first 8 characters of the secret's version ids.
func Keys(client Client, secretID string) seal.KeySource {
	return func(ctx context.Context) (*seal.KeyRing, error) {
		cur, prev, err := awsrotated.Read(ctx, client, secretID)
		if err != nil {
			return nil, err
		}
		k, err := key(cur, secretID)
		if err != nil {
			return nil, err
		}
		ring := &seal.KeyRing{Current: k}
		if prev != nil {
			p, err := key(prev, secretID)
			if err != nil {
				return nil, err
			}
			p.Retired = cur.Created
			ring.Previous = []seal.Key{p}
		}
		return ring, nil
	}
}

// key is the sealing key in version v of the secret id.
func key(v *awsrotated.Version, id string) (seal.Key, error) {
	var secret []byte
	var err error
	if v.Binary != nil {
		secret = v.Binary
		if len(secret) != seal.KeySize {
			err = fmt.Errorf("secret is %d bytes, want %d", len(secret), seal.KeySize)
		}
	} else {
		secret, err = seal.DecodeSecret(*v.String)
	}
	if err != nil {
		return seal.Key{}, fmt.Errorf("awssecrets: %s of %q: %w", v.Stage, id, err)
	}
	vid := v.ID
	if len(vid) > 8 {
		vid = vid[:8]
	}
	if vid == "" {
		return seal.Key{}, fmt.Errorf("awssecrets: %s of %q has no version id", v.Stage, id)
	}
	return seal.Key{ID: vid, Secret: secret}, nil
}
