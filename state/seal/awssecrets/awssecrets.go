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
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
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
		cur, err := get(ctx, client, secretID, "AWSCURRENT")
		if err != nil {
			return nil, err
		}
		ring := &seal.KeyRing{Current: cur.key}
		prev, err := get(ctx, client, secretID, "AWSPREVIOUS")
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return nil, err
		default:
			prev.key.Retired = cur.created
			ring.Previous = []seal.Key{prev.key}
		}
		return ring, nil
	}
}

type version struct {
	key     seal.Key
	created time.Time
}

// get reads one stage of the secret as a key.
func get(ctx context.Context, client Client, id, stage string) (*version, error) {
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id, VersionStage: &stage})
	if err != nil {
		return nil, fmt.Errorf("awssecrets: reading %s of %q: %w", stage, id, err)
	}
	var secret []byte
	switch {
	case out.SecretBinary != nil:
		secret = out.SecretBinary
		if len(secret) != seal.KeySize {
			err = fmt.Errorf("secret is %d bytes, want %d", len(secret), seal.KeySize)
		}
	case out.SecretString != nil:
		secret, err = seal.DecodeSecret(*out.SecretString)
	default:
		err = errors.New("secret has no value")
	}
	if err != nil {
		return nil, fmt.Errorf("awssecrets: %s of %q: %w", stage, id, err)
	}
	vid := aws.ToString(out.VersionId)
	if len(vid) > 8 {
		vid = vid[:8]
	}
	if vid == "" {
		return nil, fmt.Errorf("awssecrets: %s of %q has no version id", stage, id)
	}
	return &version{key: seal.Key{ID: vid, Secret: secret}, created: aws.ToTime(out.CreatedDate)}, nil
}
