package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mcplambda/mcplambda/auth/authtest"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

const testAudience = "https://mcp.example.com/mcp"

// fakeClock is a settable clock for the verifier.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestVerifier(t *testing.T, iss *authtest.Issuer, opts *JWTOptions) (*JWTVerifier, *fakeClock) {
	t.Helper()
	v, err := NewJWTVerifier(iss.URL, testAudience, opts)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	v.now = clock.now
	return v, clock
}

func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	iss := authtest.NewIssuer(&authtest.IssuerOptions{TokenLifetime: 6 * time.Hour})
	defer iss.Close()
	v, clock := newTestVerifier(t, iss, nil)

	check := func(step, token string, wantOK bool, wantFetches int) {
		t.Helper()
		_, err := v.Verify(ctx, token, nil)
		if (err == nil) != wantOK {
			t.Errorf("%s: Verify = %v, want ok=%v", step, err, wantOK)
		}
		if got := iss.JWKSFetches(); got != wantFetches {
			t.Errorf("%s: JWKS fetches = %d, want %d", step, got, wantFetches)
		}
	}

	old := iss.Token("alice", testAudience, "mcp")
	check("first token", old, true, 1)
	check("cached keys", old, true, 1)

	iss.RotateKey()
	rotated := iss.Token("alice", testAudience, "mcp")
	// The last fetch was just now: an unknown kid may not trigger another.
	check("new kid within the refresh interval", rotated, false, 1)
	clock.advance(DefaultMinRefreshInterval)
	check("new kid after the refresh interval", rotated, true, 2)
	check("old kid after rotation", old, true, 2)

	// Forged kids do not make the verifier hammer the issuer.
	key, _ := iss.Key()
	for i := range 20 {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, iss.Claims("mallory", testAudience))
		tok.Header["kid"] = "forged-" + string(rune('a'+i))
		s, _ := tok.SignedString(key)
		check("forged kid", s, false, 2)
	}

	// Keys older than KeysMaxAge are fetched again.
	clock.advance(DefaultKeysMaxAge)
	check("stale keys", rotated, true, 3)

	// A failing refetch keeps the old keys.
	iss.Close()
	clock.advance(DefaultKeysMaxAge)
	if _, err := v.Verify(ctx, rotated, nil); err != nil {
		t.Errorf("Verify with the issuer down and stale keys = %v, want success", err)
	}
}

func TestPrefetch(t *testing.T) {
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	v, _ := newTestVerifier(t, iss, nil)
	if err := v.Prefetch(context.Background()); err != nil {
		t.Fatalf("Prefetch = %v", err)
	}
	if _, err := v.Verify(context.Background(), iss.Token("alice", testAudience), nil); err != nil {
		t.Errorf("Verify after Prefetch = %v", err)
	}
	if got := iss.JWKSFetches(); got != 1 {
		t.Errorf("JWKS fetches = %d, want 1", got)
	}
	iss.Close()
	if err := v.Prefetch(context.Background()); err == nil {
		t.Errorf("Prefetch with the issuer down = nil error, want an error")
	}
}

func TestConcurrentRefresh(t *testing.T) {
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	v, _ := newTestVerifier(t, iss, nil)
	tok := iss.Token("alice", testAudience)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok, nil); err != nil {
				t.Errorf("Verify = %v", err)
			}
		})
	}
	wg.Wait()
	if got := iss.JWKSFetches(); got != 1 {
		t.Errorf("JWKS fetches by 16 concurrent first verifications = %d, want 1", got)
	}
}

func TestKeysUnavailableError(t *testing.T) {
	iss := authtest.NewIssuer(nil)
	tok := iss.Token("alice", testAudience)
	iss.Close()
	v, clock := newTestVerifier(t, iss, nil)
	for range 2 {
		_, err := v.Verify(context.Background(), tok, nil)
		if !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, sdkauth.ErrInvalidToken) {
			t.Errorf("Verify with the issuer down = %v, want ErrKeysUnavailable", err)
		}
		clock.advance(time.Second)
	}
}

func TestDiscovery(t *testing.T) {
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	tok := iss.Token("alice", testAudience, "mcp")

	// Configured JWKS URL: no discovery.
	v, _ := newTestVerifier(t, iss, &JWTOptions{JWKSURL: iss.JWKSURL()})
	if _, err := v.Verify(context.Background(), tok, nil); err != nil {
		t.Errorf("Verify with JWKSURL = %v", err)
	}

	// A discovery document naming another issuer is refused.
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": "https://evil.example", "jwks_uri": iss.JWKSURL()})
	}))
	defer liar.Close()
	v2, err := NewJWTVerifier(liar.URL, testAudience, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(context.Background(), tok, nil); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("Verify with a lying discovery document = %v, want ErrKeysUnavailable", err)
	}
}

func TestNewJWTVerifierErrors(t *testing.T) {
	for _, tc := range []struct {
		name             string
		issuer, audience string
		opts             *JWTOptions
	}{
		{"relative issuer", "cognito", testAudience, nil},
		{"empty audience", "https://issuer.example", "", nil},
		{"hmac allowed", "https://issuer.example", testAudience, &JWTOptions{Algorithms: []string{"HS256"}}},
		{"none allowed", "https://issuer.example", testAudience, &JWTOptions{Algorithms: []string{"none"}}},
		{"http jwks", "https://issuer.example", testAudience, &JWTOptions{JWKSURL: "http://keys.example/jwks"}},
	} {
		if _, err := NewJWTVerifier(tc.issuer, tc.audience, tc.opts); err == nil {
			t.Errorf("NewJWTVerifier(%s) = nil error, want an error", tc.name)
		}
	}
}

func TestParseJWKS(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaJWK := func(kid string, k *rsa.PrivateKey) map[string]string {
		return map[string]string{"kty": "RSA", "kid": kid, "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	}
	ecBytes, _ := ec.PublicKey.Bytes() // 0x04 || X || Y
	keys := []map[string]string{
		rsaJWK("rsa", rsaKey),
		rsaJWK("weak", weak),
		{"kty": "EC", "kid": "ec", "crv": "P-256", "x": b64(ecBytes[1:33]), "y": b64(ecBytes[33:])},
		{"kty": "EC", "kid": "off-curve", "crv": "P-256", "x": b64(ecBytes[1:33]), "y": b64(ecBytes[1:33])},
		{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(ed)},
		{"kty": "oct", "kid": "hmac", "k": b64([]byte("secret"))},
		{"kty": "RSA", "kid": "enc", "use": "enc", "n": b64(rsaKey.N.Bytes()), "e": "AQAB"},
		{"kty": "RSA", "n": b64(rsaKey.N.Bytes()), "e": "AQAB"}, // no kid
	}
	keys[0]["alg"] = "RS256"
	data, _ := json.Marshal(map[string]any{"keys": keys})
	got, err := parseJWKS(data)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for kid := range got {
		kids = append(kids, kid)
	}
	if diff := cmp.Diff([]string{"ec", "ed", "rsa"}, kids, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("parseJWKS kids (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		kid, alg string
		want     bool
	}{
		{"rsa", "RS256", true},
		{"rsa", "PS256", false}, // the JWK says RS256
		{"rsa", "ES256", false},
		{"ec", "ES256", true},
		{"ec", "ES384", false},
		{"ec", "RS256", false},
		{"ed", "EdDSA", true},
		{"ed", "ES256", false},
	} {
		if got := keyFits(got[tc.kid], tc.alg); got != tc.want {
			t.Errorf("keyFits(%s, %s) = %v, want %v", tc.kid, tc.alg, got, tc.want)
		}
	}
	if _, err := parseJWKS([]byte(`{"keys":[{"kty":"oct","kid":"x","k":"c2VjcmV0"}]}`)); err == nil {
		t.Errorf("parseJWKS(only an HMAC key) = nil error, want an error")
	}
}

func TestScopeHierarchy(t *testing.T) {
	covers := ScopeHierarchy(":/")
	for _, tc := range []struct {
		granted, required string
		want              bool
	}{
		{"mcp", "mcp", true},
		{"mcp", "mcp:tools", true},
		{"mcp", "mcp:tools:call", true},
		{"mcp:tools", "mcp:tools:call", true},
		{"res/tools", "res/tools/delete", true},
		{"mcp", "mcpx", false},
		{"mcp:tools", "mcp", false},
		{"mcp:tools", "mcp:toolsx", false},
		{"", "mcp", false},
		{"mcp:", "mcp:tools", false},
	} {
		if got := covers(tc.granted, tc.required); got != tc.want {
			t.Errorf("ScopeHierarchy(\":/\")(%q, %q) = %v, want %v", tc.granted, tc.required, got, tc.want)
		}
	}
}
