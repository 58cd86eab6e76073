package authserver

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// A SignFunc signs the digest of a JWS signing input (SHA-256 for ES256
// and RS256, SHA-384 for ES384) and returns the signature as a
// crypto.Signer returns it: ASN.1 DER for ECDSA, PKCS #1 v1.5 for RSA.
// The server turns ECDSA signatures into the JWS encoding itself.
type SignFunc func(ctx context.Context, digest []byte) ([]byte, error)

// A Key signs access tokens. Keys held in this process come from [NewKey],
// [GenerateKey] or [ParsePrivateKeyPEM]; remote ones (AWS KMS, package
// awskms) build a Key from the public key and a SignFunc.
type Key struct {
	// ID is the key's kid. If empty, its RFC 7638 JWK thumbprint
	// ([Thumbprint]), which names the key without revealing where it
	// lives.
	ID string
	// Algorithm is the JWS algorithm: "ES256" (ECDSA P-256), "ES384"
	// (P-384) or "RS256" (RSA, at least 2048 bits).
	Algorithm string
	// Public is the public key: *ecdsa.PublicKey or *rsa.PublicKey.
	Public crypto.PublicKey
	// Sign signs with the private key; nil for a key that is only
	// published (a previous key whose private half is gone).
	Sign SignFunc
}

// KeySet is the keys in force: Current signs new tokens; Previous are
// published in the JWKS too, so that tokens they signed keep verifying
// until they expire; Next are published before they sign, so that
// verifiers in other processes know them when they become Current.
type KeySet struct {
	Current  Key
	Previous []Key
	Next     []Key
}

// A KeySource returns the keys in force. The server caches its answer for
// [Options].KeyCacheTime and keeps using the last keys it got if the
// source fails later.
//
// To rotate: publish the new key in Next for longer than verifiers cache
// key sets (auth.JWTVerifier's KeysMaxAge, an hour by default), then make
// it Current and keep the old one in Previous for at least the access
// token lifetime plus KeyCacheTime. Verifiers fetch the key set again
// when a token names a kid they do not know, but at most once a minute
// (auth.JWTOptions.MinRefreshInterval), so a key that signs before it was
// published can fail verification for up to a minute.
type KeySource func(ctx context.Context) (*KeySet, error)

// StaticKeys returns a KeySource that always answers current and
// previous. It panics if a key is malformed (programmer error).
func StaticKeys(current Key, previous ...Key) KeySource {
	set := &KeySet{Current: current, Previous: previous}
	if err := set.check(); err != nil {
		panic(err)
	}
	return func(context.Context) (*KeySet, error) { return set, nil }
}

// algorithms are the JWS algorithms keys may use.
var algorithms = map[string]crypto.Hash{"ES256": crypto.SHA256, "ES384": crypto.SHA384, "RS256": crypto.SHA256}

// check validates the keys of a set, filling in missing ids.
func (s *KeySet) check() error {
	if s.Current.Sign == nil {
		return errors.New("authserver: the current key cannot sign")
	}
	if err := s.Current.check(); err != nil {
		return err
	}
	for _, ks := range [][]Key{s.Previous, s.Next} {
		for i := range ks {
			if err := ks[i].check(); err != nil {
				return err
			}
		}
	}
	return nil
}

// check validates k, filling in its id.
func (k *Key) check() error {
	if _, ok := algorithms[k.Algorithm]; !ok {
		return fmt.Errorf("authserver: key algorithm %q: want ES256, ES384 or RS256", k.Algorithm)
	}
	switch pub := k.Public.(type) {
	case *ecdsa.PublicKey:
		if (k.Algorithm == "ES256" && pub.Curve != elliptic.P256()) || (k.Algorithm == "ES384" && pub.Curve != elliptic.P384()) || k.Algorithm == "RS256" {
			return fmt.Errorf("authserver: %s key for algorithm %s", pub.Curve.Params().Name, k.Algorithm)
		}
	case *rsa.PublicKey:
		if k.Algorithm != "RS256" {
			return fmt.Errorf("authserver: RSA key for algorithm %s", k.Algorithm)
		}
		if pub.N.BitLen() < 2048 {
			return fmt.Errorf("authserver: RSA key of %d bits; want at least 2048", pub.N.BitLen())
		}
	default:
		return fmt.Errorf("authserver: unsupported public key type %T", k.Public)
	}
	if k.ID == "" {
		id, err := Thumbprint(k.Public)
		if err != nil {
			return err
		}
		k.ID = id
	}
	return nil
}

// NewKey returns a Key that signs in this process with signer, an
// *ecdsa.PrivateKey (P-256: ES256, P-384: ES384) or an *rsa.PrivateKey
// (RS256), named by its thumbprint.
func NewKey(signer crypto.Signer) (Key, error) {
	var alg string
	switch pub := signer.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			alg = "ES256"
		case elliptic.P384():
			alg = "ES384"
		default:
			return Key{}, fmt.Errorf("authserver: unsupported curve %s", pub.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		alg = "RS256"
	default:
		return Key{}, fmt.Errorf("authserver: unsupported key type %T", pub)
	}
	hash := algorithms[alg]
	k := Key{
		Algorithm: alg,
		Public:    signer.Public(),
		Sign: func(_ context.Context, digest []byte) ([]byte, error) {
			return signer.Sign(rand.Reader, digest, hash)
		},
	}
	if err := k.check(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// GenerateKey returns a new ES256 key held in this process, for examples,
// tests and servers run by a single process: tokens it signed stop
// verifying when the process ends, and another process (another Lambda
// instance) has another key. Deployed servers use AWS KMS (package
// awskms) or a key in Secrets Manager (package awssecrets).
func GenerateKey() (Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Key{}, fmt.Errorf("authserver: %w", err)
	}
	return NewKey(priv)
}

// ParsePrivateKeyPEM returns the Key of a PEM-encoded private key: PKCS #8
// ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS #1 ("RSA PRIVATE
// KEY"), as `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`
// writes it.
func ParsePrivateKeyPEM(data []byte) (Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return Key{}, errors.New("authserver: no PEM block in private key")
	}
	var priv any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		priv, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return Key{}, fmt.Errorf("authserver: PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return Key{}, fmt.Errorf("authserver: parsing private key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("authserver: unsupported private key type %T", priv)
	}
	return NewKey(signer)
}

// jwk is a public JSON Web Key (RFC 7517).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// publicJWK returns the JWK members of a public key (no kid, use, alg).
func publicJWK(pub crypto.PublicKey) (jwk, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		raw, err := p.Bytes() // 0x04 || X || Y
		if err != nil {
			return jwk{}, fmt.Errorf("authserver: %w", err)
		}
		size := (len(raw) - 1) / 2
		return jwk{Kty: "EC", Crv: p.Curve.Params().Name, X: b64(raw[1 : 1+size]), Y: b64(raw[1+size:])}, nil
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64(p.N.Bytes()), E: b64(big.NewInt(int64(p.E)).Bytes())}, nil
	}
	return jwk{}, fmt.Errorf("authserver: unsupported public key type %T", pub)
}

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of a public key,
// base64url-encoded: a key id that is the same wherever the key is
// published.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	// The required members in lexicographic order, no whitespace.
	var canonical string
	switch j.Kty {
	case "EC":
		canonical = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, j.Crv, j.X, j.Y)
	case "RSA":
		canonical = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, j.E, j.N)
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:]), nil
}

// jwks returns the JSON Web Key Set publishing the keys of s.
func (s *KeySet) jwks() ([]byte, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	for _, k := range slices.Concat([]Key{s.Current}, s.Previous, s.Next) {
		j, err := publicJWK(k.Public)
		if err != nil {
			return nil, err
		}
		j.Kid, j.Use, j.Alg = k.ID, "sig", k.Algorithm
		set.Keys = append(set.Keys, j)
	}
	return json.Marshal(set)
}

// signJWT returns the compact JWS of claims with header typ, signed by k.
// It checks the signature against k.Public, so that a signer that does
// not match the published key (a misconfigured KMS key) fails here rather
// than in every verifier.
func signJWT(ctx context.Context, k *Key, typ string, claims any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": k.Algorithm, "kid": k.ID, "typ": typ})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	digest := hashOf(algorithms[k.Algorithm], []byte(input))
	sig, err := k.Sign(ctx, digest)
	if err != nil {
		return "", fmt.Errorf("authserver: signing with key %s: %w", k.ID, err)
	}
	switch pub := k.Public.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return "", fmt.Errorf("authserver: key %s made a signature its public key does not verify", k.ID)
		}
		if sig, err = rawECDSA(sig, (pub.Curve.Params().BitSize+7)/8); err != nil {
			return "", err
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, algorithms[k.Algorithm], digest, sig); err != nil {
			return "", fmt.Errorf("authserver: key %s made a signature its public key does not verify", k.ID)
		}
	}
	return input + "." + b64(sig), nil
}

func hashOf(h crypto.Hash, b []byte) []byte {
	switch h {
	case crypto.SHA384:
		sum := sha512.Sum384(b)
		return sum[:]
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// rawECDSA turns an ASN.1 DER ECDSA signature into the JWS encoding
// (RFC 7518 §3.4): R and S, each padded to size bytes.
func rawECDSA(der []byte, size int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) > 0 {
		return nil, errors.New("authserver: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}

// parseJWS splits a compact JWS and decodes its header and payload,
// without verifying anything.
func parseJWS(token string) (header map[string]any, payload []byte, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, errors.New("not a compact JWS")
	}
	h, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, nil, errors.New("bad JWS header")
	}
	if err := json.Unmarshal(h, &header); err != nil {
		return nil, nil, errors.New("bad JWS header")
	}
	if payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		return nil, nil, errors.New("bad JWS payload")
	}
	return header, payload, nil
}
