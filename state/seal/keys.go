package seal

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"time"
)

// KeySize is the length of a key's secret: AES-256.
const KeySize = 32

// Key is a sealing key.
type Key struct {
	// ID names the key inside sealed state so Open finds it; 1 to 64
	// bytes, not secret.
	ID string
	// Secret is KeySize random bytes.
	Secret []byte
	// Retired is when the key stopped being the current one; a retired
	// key opens state until Retired + Options.Grace. Zero for a previous
	// key means it is accepted without a time limit.
	Retired time.Time
}

// KeyRing is the keys in force: Current seals and opens, Previous only
// open (during their grace period).
type KeyRing struct {
	Current  Key
	Previous []Key
}

// A KeySource returns the keys in force. [Sealer] caches its answer for
// Options.KeyCacheTime and keeps using the last keys it got if the source
// fails later.
type KeySource func(ctx context.Context) (*KeyRing, error)

func (r *KeyRing) check() error {
	for i, k := range append([]Key{r.Current}, r.Previous...) {
		if k.ID == "" || len(k.ID) > 64 {
			return fmt.Errorf("seal: key %d: id must be 1 to 64 bytes", i)
		}
		if len(k.Secret) != KeySize {
			return fmt.Errorf("seal: key %q: secret is %d bytes, want %d", k.ID, len(k.Secret), KeySize)
		}
	}
	return nil
}

func (r *KeyRing) find(id string, now time.Time, grace time.Duration) (Key, bool) {
	if r.Current.ID == id {
		return r.Current, true
	}
	for _, k := range r.Previous {
		if k.ID == id && (k.Retired.IsZero() || now.Before(k.Retired.Add(grace))) {
			return k, true
		}
	}
	return Key{}, false
}

// StaticKeys returns a KeySource that always answers current and previous.
// It panics on malformed keys (programmer error).
func StaticKeys(current Key, previous ...Key) KeySource {
	ring := &KeyRing{Current: current, Previous: previous}
	if err := ring.check(); err != nil {
		panic(err)
	}
	return func(context.Context) (*KeyRing, error) { return ring, nil }
}

// DefaultEnv is the environment variable [EnvKeys] reads by convention.
const DefaultEnv = "MCPLAMBDA_SEAL_KEYS"

// EnvKeys reads keys from the environment variable name (DefaultEnv if
// empty), a comma-separated list whose first entry is the current key:
//
//	id:BASE64SECRET[,id:BASE64SECRET@RETIRED]...
//
// with secrets in standard or URL base64 (32 bytes: `openssl rand
// -base64 32`) and RETIRED an RFC 3339 time, when that previous key was
// replaced. A missing or malformed variable is an error here, at init.
func EnvKeys(name string) (KeySource, error) {
	if name == "" {
		name = DefaultEnv
	}
	v := os.Getenv(name)
	if v == "" {
		return nil, fmt.Errorf("seal: $%s is not set", name)
	}
	var keys []Key
	for i, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		id, rest, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("seal: $%s entry %d: want id:base64secret", name, i+1)
		}
		secret, retired, _ := strings.Cut(rest, "@")
		k := Key{ID: id}
		var err error
		if k.Secret, err = decodeSecret(secret); err != nil {
			return nil, fmt.Errorf("seal: $%s key %q: %w", name, id, err)
		}
		if retired != "" {
			if i == 0 {
				return nil, fmt.Errorf("seal: $%s: the first (current) key cannot be retired", name)
			}
			if k.Retired, err = time.Parse(time.RFC3339, retired); err != nil {
				return nil, fmt.Errorf("seal: $%s key %q: retired time: %w", name, id, err)
			}
		}
		keys = append(keys, k)
	}
	ring := &KeyRing{Current: keys[0], Previous: keys[1:]}
	if err := ring.check(); err != nil {
		return nil, err
	}
	return func(context.Context) (*KeyRing, error) { return ring, nil }, nil
}

// DecodeSecret decodes a key secret in standard or URL base64, padded or
// not, and checks its length.
func DecodeSecret(s string) ([]byte, error) { return decodeSecret(s) }

func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("secret is not base64: %w", err)
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("secret is %d bytes, want %d", len(b), KeySize)
	}
	return b, nil
}
