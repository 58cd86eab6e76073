// Package awskms signs the access tokens of package authserver with
// asymmetric AWS KMS keys: the private key never leaves KMS, and the
// function needs only kms:Sign and kms:GetPublicKey on the key. It is the
// only part of the authorization server that imports the AWS KMS SDK.
//
// Create the key with key spec ECC_NIST_P256 (tokens signed ES256; the
// default of the CDK construct), ECC_NIST_P384 (ES384) or RSA_2048 and
// up (RS256), and key usage SIGN_VERIFY:
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	keys := awskms.Keys(kms.NewFromConfig(cfg), "alias/mcp-authserver")
//	as, err := authserver.New(issuer, resources, upstream, &authserver.Options{Keys: keys, ...})
//
// Rotation: KMS does not rotate asymmetric keys, so rotation is a new key.
// Pass it as current (or point the alias at it) and the old one as
// previous, which is published until its tokens have expired. To publish
// the new key before it signs, build a KeySource with [Key] that puts it
// in authserver.KeySet.Next first.
package awskms

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/mcplambda/mcplambda/auth/authserver"
)

// Client is the part of *kms.Client that the package uses.
type Client interface {
	GetPublicKey(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	Sign(context.Context, *kms.SignInput, ...func(*kms.Options)) (*kms.SignOutput, error)
}

var _ Client = (*kms.Client)(nil)

// specs maps the key specs the package supports to the JWS algorithm and
// the KMS signing algorithm.
var specs = map[types.KeySpec]struct {
	jws  string
	algo types.SigningAlgorithmSpec
}{
	types.KeySpecEccNistP256: {"ES256", types.SigningAlgorithmSpecEcdsaSha256},
	types.KeySpecEccNistP384: {"ES384", types.SigningAlgorithmSpecEcdsaSha384},
	types.KeySpecRsa2048:     {"RS256", types.SigningAlgorithmSpecRsassaPkcs1V15Sha256},
	types.KeySpecRsa3072:     {"RS256", types.SigningAlgorithmSpecRsassaPkcs1V15Sha256},
	types.KeySpecRsa4096:     {"RS256", types.SigningAlgorithmSpecRsassaPkcs1V15Sha256},
}

// Key returns the authserver.Key of the KMS key keyID (a key id, key ARN,
// alias name or alias ARN), named by its thumbprint: one GetPublicKey
// call. The key signs with kms:Sign on the key's ARN, so that an alias
// moved meanwhile does not make it sign with another key than the one it
// publishes.
func Key(ctx context.Context, client Client, keyID string) (authserver.Key, error) {
	out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &keyID})
	if err != nil {
		return authserver.Key{}, fmt.Errorf("awskms: GetPublicKey %s: %w", keyID, err)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return authserver.Key{}, fmt.Errorf("awskms: key %s has usage %s, want SIGN_VERIFY", keyID, out.KeyUsage)
	}
	spec, ok := specs[out.KeySpec]
	if !ok {
		return authserver.Key{}, fmt.Errorf("awskms: key %s has spec %s; want ECC_NIST_P256, ECC_NIST_P384 or RSA_2048 and up", keyID, out.KeySpec)
	}
	if !slices.Contains(out.SigningAlgorithms, spec.algo) {
		return authserver.Key{}, fmt.Errorf("awskms: key %s does not offer %s", keyID, spec.algo)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return authserver.Key{}, fmt.Errorf("awskms: public key of %s: %w", keyID, err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return authserver.Key{}, fmt.Errorf("awskms: public key of %s is a %T", keyID, pub)
	}
	arn := aws.ToString(out.KeyId)
	if arn == "" {
		return authserver.Key{}, fmt.Errorf("awskms: GetPublicKey %s named no key", keyID)
	}
	id, err := authserver.Thumbprint(pub)
	if err != nil {
		return authserver.Key{}, err
	}
	return authserver.Key{
		ID:        id,
		Algorithm: spec.jws,
		Public:    pub,
		Sign: func(ctx context.Context, digest []byte) ([]byte, error) {
			out, err := client.Sign(ctx, &kms.SignInput{
				KeyId:            &arn,
				Message:          digest,
				MessageType:      types.MessageTypeDigest,
				SigningAlgorithm: spec.algo,
			})
			if err != nil {
				return nil, fmt.Errorf("awskms: Sign: %w", err)
			}
			if len(out.Signature) == 0 {
				return nil, errors.New("awskms: Sign returned no signature")
			}
			// ECDSA signatures come DER-encoded, as authserver wants them.
			return out.Signature, nil
		},
	}, nil
}

// Keys returns a KeySource whose current key is the KMS key current and
// whose previous (published, not signing) keys are previous. Each time
// the server refreshes its keys (authserver.Options.KeyCacheTime) it calls
// GetPublicKey for each, so pointing an alias at a new key rotates within
// that time.
func Keys(client Client, current string, previous ...string) authserver.KeySource {
	return func(ctx context.Context) (*authserver.KeySet, error) {
		cur, err := Key(ctx, client, current)
		if err != nil {
			return nil, err
		}
		set := &authserver.KeySet{Current: cur}
		for _, id := range previous {
			k, err := Key(ctx, client, id)
			if err != nil {
				return nil, err
			}
			k.Sign = nil // published only
			set.Previous = append(set.Previous, k)
		}
		return set, nil
	}
}
