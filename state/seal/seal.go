// Package seal protects the requestState of MCP input_required results
// (SEP-2322 multi-round trips). The state is the only memory a multi-round
// exchange has — any Lambda instance may serve the retry — and the client
// holds it, so the server must be able to trust it when it comes back.
//
// A [Sealer] encrypts state with AES-256-GCM and binds it to the caller
// (the caller, as package identity decides it), the request method, a digest of the
// request's key parameters (tool or prompt name and arguments, resource
// URI) and an expiry. [Sealer.Open] rejects, with an error wrapping
// [ErrRejected], state that was tampered with, sealed for another caller
// or request, sealed with an unknown or retired key, expired, or — with
// [Options.SingleUse] — already used once. Handlers answer a rejection
// with a JSON-RPC invalid-params error (-32602), as MCP 2026-07-28 asks.
//
// Keys come from a [KeySource]: [StaticKeys], [EnvKeys] (an environment
// variable) or package state/seal/awssecrets (AWS Secrets Manager, with
// rotation). After a rotation the previous key still opens state for
// [Options.Grace].
//
//	sealer := seal.New(keys, nil)
//	// round 1, in a tool handler:
//	rs, err := sealer.Seal(ctx, req, []byte("step=1"))
//	return &mcp.CallToolResult{InputRequests: ..., RequestState: rs}, nil
//	// the retry:
//	payload, err := sealer.Open(ctx, req, req.Params.RequestState)
//	if err != nil {
//		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
//	}
package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Errors of [Sealer.Open]. Every rejection wraps ErrRejected and one of
// the others, which tell the server's logs why; the client learns only
// that the state is not acceptable.
var (
	ErrRejected = errors.New("seal: requestState rejected")
	// ErrTampered: the state does not verify: modified, truncated, sealed
	// with a key this server does not hold, or sealed for another caller,
	// method or parameters (these cannot be told apart, by design).
	ErrTampered = errors.New("seal: requestState does not verify")
	// ErrExpired: the state is older than Options.TTL.
	ErrExpired = errors.New("seal: requestState expired")
	// ErrReplayed: single-use state presented a second time.
	ErrReplayed = errors.New("seal: requestState already used")
	// ErrTooLarge: Seal's payload exceeds MaxPayloadBytes.
	ErrTooLarge = errors.New("seal: payload too large")
	// ErrUnsupportedRequest: the request is not one that carries
	// requestState (tools/call, prompts/get, resources/read).
	ErrUnsupportedRequest = errors.New("seal: request type carries no requestState")
)

// MaxPayloadBytes is the largest payload [Sealer.Seal] accepts; the
// client echoes the sealed state with every retry, so keep it small.
const MaxPayloadBytes = 16 << 10

// Defaults of [Options].
const (
	DefaultTTL          = 10 * time.Minute
	DefaultKeyCacheTime = 5 * time.Minute
)

// Options configures [New]. A nil *Options means defaults.
type Options struct {
	// TTL is how long sealed state is accepted. If zero, DefaultTTL.
	TTL time.Duration
	// Grace is how long after a rotation the previous key still opens
	// state (Key.Retired + Grace). If zero, TTL: state sealed just before
	// a rotation stays valid for its whole life.
	Grace time.Duration
	// SingleUse, if set, makes each sealed state open only once: Open
	// records its id with a conditional write (one write per Open) that
	// fails for a replay. Use a shared store (package dynamo) when
	// several instances serve the function. Nil: state may be opened
	// again until it expires.
	SingleUse state.Store
	// KeyCacheTime is how long keys from the KeySource are used before it
	// is asked again. If zero, DefaultKeyCacheTime.
	KeyCacheTime time.Duration
	// Now returns the current time. If nil, time.Now.
	Now func() time.Time
}

// Sealer seals and opens requestState. Safe for concurrent use.
type Sealer struct {
	keys      KeySource
	ttl       time.Duration
	grace     time.Duration
	used      state.Store
	cacheTime time.Duration
	now       func() time.Time

	mu      sync.Mutex
	ring    *KeyRing  // guarded by mu
	fetched time.Time // guarded by mu
}

// New returns a Sealer with keys from keys.
func New(keys KeySource, opts *Options) *Sealer {
	if keys == nil {
		panic("seal: nil KeySource")
	}
	s := &Sealer{keys: keys, ttl: DefaultTTL, cacheTime: DefaultKeyCacheTime, now: time.Now}
	if opts != nil {
		if opts.TTL > 0 {
			s.ttl = opts.TTL
		}
		s.grace = opts.Grace
		s.used = opts.SingleUse
		if opts.KeyCacheTime > 0 {
			s.cacheTime = opts.KeyCacheTime
		}
		if opts.Now != nil {
			s.now = opts.Now
		}
	}
	if s.grace == 0 {
		s.grace = s.ttl
	}
	return s
}

const (
	version  = "v1."
	idBytes  = 16
	expBytes = 8
)

// keyRing returns the cached keys, asking the source when they are stale.
func (s *Sealer) keyRing(ctx context.Context) (*KeyRing, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ring != nil && s.now().Sub(s.fetched) < s.cacheTime {
		return s.ring, nil
	}
	ring, err := s.keys(ctx)
	if err != nil {
		if s.ring != nil {
			return s.ring, nil // keep serving with the keys we have
		}
		return nil, fmt.Errorf("seal: loading keys: %w", err)
	}
	if err := ring.check(); err != nil {
		return nil, err
	}
	s.ring, s.fetched = ring, s.now()
	return ring, nil
}

// Seal encrypts payload for the retry of req by the caller in ctx.
func (s *Sealer) Seal(ctx context.Context, req mcp.Request, payload []byte) (string, error) {
	if len(payload) > MaxPayloadBytes {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), MaxPayloadBytes)
	}
	bind, err := s.binding(ctx, req)
	if err != nil {
		return "", err
	}
	ring, err := s.keyRing(ctx)
	if err != nil {
		return "", err
	}
	key := ring.Current
	aead, err := newAEAD(key.Secret)
	if err != nil {
		return "", err
	}
	plain := make([]byte, expBytes+idBytes, expBytes+idBytes+len(payload))
	binary.BigEndian.PutUint64(plain, uint64(s.now().Add(s.ttl).Unix()))
	rand.Read(plain[expBytes:])
	plain = append(plain, payload...)

	out := make([]byte, 0, 1+len(key.ID)+aead.NonceSize()+len(plain)+aead.Overhead())
	out = append(out, byte(len(key.ID)))
	out = append(out, key.ID...)
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	out = aead.Seal(out, nonce, plain, aad(key.ID, bind))
	return version + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open verifies sealed, the requestState of req, and returns its payload.
// Errors for state that is not acceptable wrap [ErrRejected].
func (s *Sealer) Open(ctx context.Context, req mcp.Request, sealed string) ([]byte, error) {
	bind, err := s.binding(ctx, req)
	if err != nil {
		return nil, err
	}
	ring, err := s.keyRing(ctx)
	if err != nil {
		return nil, err
	}
	raw, ok := strings.CutPrefix(sealed, version)
	if !ok {
		return nil, reject(ErrTampered, "unknown format")
	}
	// Strict: a sealed state has one spelling; a last character whose
	// unused bits differ is another string, refused like any change.
	b, err := base64.RawURLEncoding.Strict().DecodeString(raw)
	if err != nil || len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, reject(ErrTampered, "malformed")
	}
	id := string(b[1 : 1+int(b[0])])
	b = b[1+int(b[0]):]
	key, ok := ring.find(id, s.now(), s.grace)
	if !ok {
		return nil, reject(ErrTampered, "unknown or retired key")
	}
	aead, err := newAEAD(key.Secret)
	if err != nil {
		return nil, err
	}
	if len(b) < aead.NonceSize()+aead.Overhead() {
		return nil, reject(ErrTampered, "truncated")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], aad(id, bind))
	if err != nil || len(plain) < expBytes+idBytes {
		return nil, reject(ErrTampered, "authentication failed")
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(plain)), 0)
	if !s.now().Before(exp) {
		return nil, reject(ErrExpired, "expired at "+exp.UTC().Format(time.RFC3339))
	}
	if s.used != nil {
		ttl := exp.Sub(s.now()) + time.Second
		_, err := s.used.Put(ctx, "seal/"+hex.EncodeToString(plain[expBytes:expBytes+idBytes]), nil, state.PutOptions{IfAbsent: true, TTL: ttl})
		if errors.Is(err, state.ErrConflict) {
			return nil, reject(ErrReplayed, "")
		}
		if err != nil {
			return nil, fmt.Errorf("seal: recording single use: %w", err)
		}
	}
	return plain[expBytes+idBytes:], nil
}

func reject(kind error, detail string) error {
	if detail == "" {
		return fmt.Errorf("%w: %w", ErrRejected, kind)
	}
	return fmt.Errorf("%w: %w (%s)", ErrRejected, kind, detail)
}

func newAEAD(secret []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return cipher.NewGCM(block)
}

func aad(keyID string, bind []byte) []byte {
	a := make([]byte, 0, len(version)+1+len(keyID)+len(bind))
	a = append(a, version...)
	a = append(a, byte(len(keyID)))
	a = append(a, keyID...)
	return append(a, bind...)
}

// binding is the digest of what sealed state is bound to: the caller, the
// method and the request's key parameters.
func (s *Sealer) binding(ctx context.Context, req mcp.Request) ([]byte, error) {
	method, params, err := keyParams(req)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, part := range []string{"mcplambda seal v1", identity.Principal(ctx), method} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	h.Write(params)
	return h.Sum(nil), nil
}

// keyParams returns the method of req and a canonical encoding of its
// key parameters: what must be the same in the retry. inputResponses,
// requestState and _meta are not key parameters.
func keyParams(req mcp.Request) (string, []byte, error) {
	switch r := req.(type) {
	case *mcp.CallToolRequest:
		args, err := canonical(r.Params.Arguments)
		if err != nil {
			return "", nil, reject(ErrTampered, "arguments: "+err.Error())
		}
		return "tools/call", lengthPrefixed(r.Params.Name, string(args)), nil
	case *mcp.GetPromptRequest:
		keys := make([]string, 0, len(r.Params.Arguments))
		for k := range r.Params.Arguments {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := []string{r.Params.Name}
		for _, k := range keys {
			parts = append(parts, k, r.Params.Arguments[k])
		}
		return "prompts/get", lengthPrefixed(parts...), nil
	case *mcp.ReadResourceRequest:
		return "resources/read", lengthPrefixed(r.Params.URI), nil
	}
	return "", nil, fmt.Errorf("%w: %T", ErrUnsupportedRequest, req)
}

func lengthPrefixed(parts ...string) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		fmt.Fprintf(&b, "%d:%s", len(p), p)
	}
	return b.Bytes()
}

// canonical re-encodes JSON with sorted object keys, so that a client
// that re-serializes the same arguments differently still matches;
// absent, null and {} are the same.
func canonical(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("{}"), nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if v == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(v)
}
