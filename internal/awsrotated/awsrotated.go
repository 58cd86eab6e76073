// Package awsrotated reads the current and previous versions of a rotated
// AWS Secrets Manager secret: what the key sources of state/seal and
// auth/authserver (packages awssecrets) need after a rotation, when the
// previous key must keep working for a while.
package awsrotated

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Client is the part of *secretsmanager.Client that Read uses.
type Client interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Version is one version of a secret. Exactly one of Binary and String is
// set.
type Version struct {
	Stage   string // AWSCURRENT or AWSPREVIOUS
	Binary  []byte
	String  *string
	ID      string // the version id
	Created time.Time
}

// Read returns the AWSCURRENT version of the secret id (a name or ARN),
// and its AWSPREVIOUS version, or nil when it has none: two
// GetSecretValue calls. A version without a value is an error.
func Read(ctx context.Context, c Client, id string) (cur, prev *Version, err error) {
	if cur, err = read(ctx, c, id, "AWSCURRENT"); err != nil {
		return nil, nil, err
	}
	prev, err = read(ctx, c, id, "AWSPREVIOUS")
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return cur, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return cur, prev, nil
}

func read(ctx context.Context, c Client, id, stage string) (*Version, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id, VersionStage: &stage})
	if err != nil {
		return nil, fmt.Errorf("awssecrets: reading %s of %q: %w", stage, id, err)
	}
	if out.SecretBinary == nil && out.SecretString == nil {
		return nil, fmt.Errorf("awssecrets: %s of %q has no value", stage, id)
	}
	return &Version{Stage: stage, Binary: out.SecretBinary, String: out.SecretString, ID: aws.ToString(out.VersionId), Created: aws.ToTime(out.CreatedDate)}, nil
}
