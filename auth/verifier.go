package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcplambda/mcplambda/identity"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// Defaults for [JWTOptions].
const (
	DefaultClockSkew          = time.Minute
	MaxClockSkew              = 5 * time.Minute
	DefaultMinRefreshInterval = time.Minute
	DefaultKeysMaxAge         = time.Hour
	DefaultMaxTokenBytes      = 16 << 10
)

// fetchTimeout bounds one discovery and key set fetch.
const fetchTimeout = 10 * time.Second

// DefaultAlgorithms are the signature algorithms a [JWTVerifier] accepts
// when [JWTOptions].Algorithms is empty: the asymmetric JWS algorithms.
// HMAC ("HS256", ...) and "none" are never accepted.
var DefaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// ErrKeysUnavailable is returned (wrapped) by [JWTVerifier.Verify] when the
// issuer's signing keys cannot be fetched and none are cached. It is a
// server-side failure: [ResourceServer] answers 503, not 401.
var ErrKeysUnavailable = errors.New("auth: issuer signing keys unavailable")

// JWTOptions configures [NewJWTVerifier]. A nil *JWTOptions means all
// defaults.
type JWTOptions struct {
	// JWKSURL is the issuer's JSON Web Key Set. If empty, it is discovered
	// from the issuer's OpenID Connect discovery document
	// (issuer + "/.well-known/openid-configuration"), falling back to
	// OAuth 2.0 authorization server metadata (RFC 8414). The URL must be
	// https, or http on a loopback host.
	JWKSURL string

	// Algorithms is the allow-list of JWS algorithms. If empty,
	// [DefaultAlgorithms]. "none" and the HMAC algorithms are refused even
	// if listed: a resource server verifies with public keys only.
	Algorithms []string

	// ClockSkew is the tolerance applied to exp, nbf and iat. If zero,
	// [DefaultClockSkew]; negative means none; values above
	// [MaxClockSkew] are reduced to it.
	ClockSkew time.Duration

	// MinRefreshInterval rate-limits key set refreshes caused by tokens
	// with a kid that is not in the cached set (key rotation): at most one
	// refresh per interval, so forged kids cannot make the verifier hammer
	// the issuer. If zero, [DefaultMinRefreshInterval].
	MinRefreshInterval time.Duration

	// KeysMaxAge is how long a fetched key set is used before it is
	// fetched again. If the refetch fails, the old keys stay in use. If
	// zero, [DefaultKeysMaxAge].
	KeysMaxAge time.Duration

	// RequireAccessTokenType, if set, accepts only tokens whose JOSE
	// header says they are access tokens: typ "at+jwt" (RFC 9068). Set it
	// for issuers that set it, such as package auth/authserver's; others
	// (Amazon Cognito among them) send no typ or "JWT". Whether set or
	// not, a token whose typ names another kind of token (an ID token, a
	// logout token, a DPoP proof, ...) is refused.
	RequireAccessTokenType bool

	// ClientIDs, if not empty, restricts tokens to those issued to these
	// OAuth clients (the client_id claim, or azp).
	ClientIDs []string

	// MaxTokenBytes bounds the size of a token; larger ones are refused
	// before any parsing. If zero, [DefaultMaxTokenBytes] (16 KiB).
	MaxTokenBytes int

	// HTTPClient fetches discovery documents and key sets. If nil, a client
	// with a 10 second timeout.
	HTTPClient *http.Client

	// Logger receives key set fetches and failures (never tokens). If nil,
	// nothing is logged.
	Logger *slog.Logger
}

// A JWTVerifier verifies JWT access tokens (RFC 9068 style) issued by one
// OAuth 2.0 / OpenID Connect issuer for one resource, such as Amazon
// Cognito user pool access tokens. It checks:
//
//   - the signature, with the issuer's published keys (JWKS), by kid; an
//     algorithm from the allow-list, matching the key's type and the
//     JWK's own "alg";
//   - iss equal to the issuer, and aud containing the audience: the MCP
//     server's canonical resource URI (RFC 8707), so tokens minted for
//     other services are refused;
//   - exp (required), nbf and iat, with bounded clock skew;
//   - that it is an access token: the JOSE header's typ absent, "JWT" or
//     "at+jwt" (only "at+jwt" with [JWTOptions].RequireAccessTokenType),
//     Cognito's token_use "access" when present, and a typ claim (as
//     Keycloak sets it), when present, "Bearer" (or "access", "at+jwt",
//     "JWT") — so ID, refresh and logout tokens are
//     refused; no crit header naming an extension (RFC 7515 §4.1.11: the
//     verifier understands none);
//   - sub present; client_id or azp, when [JWTOptions].ClientIDs is set.
//
// The key set is fetched on first use and cached in the verifier, which
// lives as long as the Lambda execution environment when the verifier is
// created once in main. A token with an unknown kid triggers a refresh
// (rate-limited by [JWTOptions].MinRefreshInterval), so key rotation needs
// no redeploy.
//
// Verify has the signature of go-sdk's [sdkauth.TokenVerifier]. A
// JWTVerifier is safe for concurrent use.
type JWTVerifier struct {
	// Set at construction.
	issuer     string
	audience   string
	algs       []string
	skew       time.Duration
	minRefresh time.Duration
	maxAge     time.Duration
	clientIDs  []string
	atJWT      bool // RequireAccessTokenType
	maxToken   int
	client     *http.Client
	logger     *slog.Logger
	now        func() time.Time // replaced in tests

	fetchMu sync.Mutex // held while deciding to fetch and fetching

	mu        sync.Mutex // guards the fields below
	jwksURL   string     // configured or discovered
	keys      map[string]publicKey
	fetched   time.Time // last successful fetch
	attempted time.Time // last fetch attempt
}

var _ sdkauth.TokenVerifier = (*JWTVerifier)(nil).Verify

// NewJWTVerifier returns a verifier for access tokens from issuer (the
// exact "iss" value, such as the result of [CognitoIssuer]) whose audience
// includes audience: the MCP endpoint's canonical URI, such as
// "https://mcp.example.com/mcp". Keys are fetched lazily, on the first
// Verify. It returns an error if issuer or audience is not an absolute
// URL, or an option is invalid.
func NewJWTVerifier(issuer, audience string, opts *JWTOptions) (*JWTVerifier, error) {
	var o JWTOptions
	if opts != nil {
		o = *opts
	}
	if u, err := url.Parse(issuer); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("auth: issuer %q is not an absolute URL", issuer)
	}
	if audience == "" {
		return nil, errors.New("auth: empty audience; want the MCP endpoint's canonical URI")
	}
	if o.JWKSURL != "" {
		if err := checkFetchURL(o.JWKSURL); err != nil {
			return nil, err
		}
	}
	algs := o.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for _, a := range algs {
		if !slices.Contains(DefaultAlgorithms, a) {
			return nil, fmt.Errorf("auth: algorithm %q not allowed; want asymmetric JWS algorithms (%s)", a, strings.Join(DefaultAlgorithms, ", "))
		}
	}
	v := &JWTVerifier{
		issuer:     issuer,
		audience:   audience,
		algs:       slices.Clone(algs),
		skew:       o.ClockSkew,
		minRefresh: o.MinRefreshInterval,
		maxAge:     o.KeysMaxAge,
		clientIDs:  slices.Clone(o.ClientIDs),
		atJWT:      o.RequireAccessTokenType,
		maxToken:   o.MaxTokenBytes,
		client:     o.HTTPClient,
		logger:     o.Logger,
		jwksURL:    o.JWKSURL,
		now:        time.Now,
	}
	switch {
	case v.skew == 0:
		v.skew = DefaultClockSkew
	case v.skew < 0:
		v.skew = 0
	case v.skew > MaxClockSkew:
		v.skew = MaxClockSkew
	}
	if v.minRefresh <= 0 {
		v.minRefresh = DefaultMinRefreshInterval
	}
	if v.maxAge <= 0 {
		v.maxAge = DefaultKeysMaxAge
	}
	if v.maxToken <= 0 {
		v.maxToken = DefaultMaxTokenBytes
	}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	if v.logger == nil {
		v.logger = slog.New(slog.DiscardHandler)
	}
	return v, nil
}

// CognitoIssuer returns the issuer of an Amazon Cognito user pool's tokens,
// https://cognito-idp.REGION.amazonaws.com/POOL_ID. Cognito puts the
// resource in an access token's aud claim when the client asks for it with
// the RFC 8707 resource parameter and the user pool has resource binding
// enabled; without it, access tokens have no aud and are refused.
func CognitoIssuer(region, userPoolID string) string {
	return "https://cognito-idp." + region + ".amazonaws.com/" + userPoolID
}

// Issuer returns the issuer the verifier accepts tokens from.
func (v *JWTVerifier) Issuer() string { return v.issuer }

// Verify verifies token and returns what it grants. Errors wrap go-sdk's
// [sdkauth.ErrInvalidToken] for tokens that are not acceptable, and
// [ErrKeysUnavailable] when the issuer's keys cannot be had. The request
// is not used; it is there to match [sdkauth.TokenVerifier].
//
// The TokenInfo has the token's scopes (the "scope" claim, or "scp"), its
// expiry, UserID set to the caller's principal (see
// identity.Identity.Principal) and Extra[identity.TokenInfoKey] holding
// an *identity.Identity.
func (v *JWTVerifier) Verify(ctx context.Context, token string, _ *http.Request) (*sdkauth.TokenInfo, error) {
	if len(token) > v.maxToken {
		return nil, fmt.Errorf("%w: token larger than %d bytes", sdkauth.ErrInvalidToken, v.maxToken)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(v.algs),
		jwt.WithIssuer(v.issuer),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.skew),
		jwt.WithTimeFunc(v.now),
	)
	claims := jwt.MapClaims{}
	var keysErr error
	_, err := parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if err := v.checkHeader(t.Header); err != nil {
			return nil, err
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		alg := t.Method.Alg()
		k, err := v.key(ctx, kid)
		if err != nil {
			if errors.Is(err, ErrKeysUnavailable) {
				keysErr = err
			}
			return nil, err
		}
		if !keyFits(k, alg) {
			return nil, fmt.Errorf("key %q cannot verify %s", kid, alg)
		}
		return k.key, nil
	})
	if keysErr != nil {
		return nil, keysErr
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", sdkauth.ErrInvalidToken, err)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, fmt.Errorf("%w: token has no sub", sdkauth.ErrInvalidToken)
	}
	if use, ok := claims["token_use"]; ok && use != "access" {
		return nil, fmt.Errorf("%w: token_use is %v, want access", sdkauth.ErrInvalidToken, use)
	}
	if typ, ok := claims["typ"]; ok {
		// Keycloak's: "Bearer" for access tokens, "ID", "Refresh", ...
		s, _ := typ.(string)
		switch strings.ToLower(s) {
		case "bearer", "access", "at+jwt", "jwt":
		default:
			return nil, fmt.Errorf("%w: typ claim %v is not an access token type", sdkauth.ErrInvalidToken, typ)
		}
	}
	if len(v.clientIDs) > 0 {
		cid, _ := claims["client_id"].(string)
		if cid == "" {
			cid, _ = claims["azp"].(string)
		}
		if !slices.Contains(v.clientIDs, cid) {
			return nil, fmt.Errorf("%w: token issued to client %q", sdkauth.ErrInvalidToken, cid)
		}
	}
	exp, _ := claims.GetExpirationTime() // required and checked by the parser
	id := &identity.Identity{
		Principal: identity.JWTPrincipal(v.issuer, sub),
		Source:    identity.SourceBearer,
		Issuer:    v.issuer,
		Subject:   sub,
		Scopes:    scopesFromClaims(claims),
		Claims:    claims,
	}
	return id.TokenInfo(exp.Time), nil
}

// checkHeader refuses JOSE headers that say the token is not an access
// token (typ), or that need an extension the verifier does not
// understand (crit).
func (v *JWTVerifier) checkHeader(h map[string]any) error {
	if crit, ok := h["crit"]; ok {
		return fmt.Errorf("header crit %v names extensions this verifier does not understand", crit)
	}
	typ, ok := h["typ"]
	if !ok {
		if v.atJWT {
			return errors.New(`token has no typ header, want "at+jwt"`)
		}
		return nil
	}
	s, _ := typ.(string)
	// RFC 7515 §4.1.9: "application/" may be omitted, and media types
	// are case-insensitive.
	switch strings.TrimPrefix(strings.ToLower(s), "application/") {
	case "at+jwt":
		return nil
	case "jwt":
		if !v.atJWT {
			return nil
		}
	}
	return fmt.Errorf("token typ %q is not an access token type", s)
}

// scopesFromClaims reads the "scope" claim (a space-separated string, RFC
// 9068 and Cognito) or "scp" (a string or an array, Okta and Entra ID).
func scopesFromClaims(claims map[string]any) []string {
	var scopes []string
	for _, name := range []string{"scope", "scp"} {
		switch s := claims[name].(type) {
		case string:
			scopes = append(scopes, strings.Fields(s)...)
		case []any:
			for _, e := range s {
				if str, ok := e.(string); ok && str != "" {
					scopes = append(scopes, str)
				}
			}
		}
	}
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// key returns the key with the given kid, fetching the key set when none is
// cached, when the cached one is older than KeysMaxAge, or when kid is
// unknown; fetches are at most one per MinRefreshInterval (one per second
// while no keys were ever fetched), and callers arriving during a fetch
// wait for its result.
func (v *JWTVerifier) key(ctx context.Context, kid string) (publicKey, error) {
	v.mu.Lock()
	k, known := v.keys[kid]
	fresh := v.keys != nil && v.now().Sub(v.fetched) < v.maxAge
	v.mu.Unlock()
	if known && fresh {
		return k, nil
	}

	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.mu.Lock()
	k, known = v.keys[kid]
	haveKeys := v.keys != nil
	now := v.now()
	fresh = haveKeys && now.Sub(v.fetched) < v.maxAge
	canFetch := now.Sub(v.attempted) >= v.minRefresh ||
		(!haveKeys && now.Sub(v.attempted) >= time.Second)
	if (known && fresh) || !canFetch {
		v.mu.Unlock()
		return v.found(k, known, haveKeys, kid)
	}
	v.attempted = now
	jwksURL := v.jwksURL
	v.mu.Unlock()

	// The fetch serves every waiting caller: a caller that goes away must
	// not cancel it, which would also delay the next attempt.
	fetchCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	keys, jwksURL, err := v.fetch(fetchCtx, jwksURL)
	if err != nil {
		v.logger.WarnContext(ctx, "auth: fetching signing keys failed", "issuer", v.issuer, "err", err)
		return v.found(k, known, haveKeys, kid)
	}
	v.store(ctx, keys, jwksURL)
	k, known = keys[kid]
	return v.found(k, known, true, kid)
}

// Prefetch fetches the issuer's signing keys now, for example in main
// during the Lambda init phase, so that the first request does not wait
// for discovery and the key set. Verify fetches them anyway when needed;
// an error here is worth logging, not fatal.
func (v *JWTVerifier) Prefetch(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.mu.Lock()
	v.attempted = v.now()
	jwksURL := v.jwksURL
	v.mu.Unlock()
	keys, jwksURL, err := v.fetch(ctx, jwksURL)
	if err != nil {
		return err
	}
	v.store(ctx, keys, jwksURL)
	return nil
}

// store installs a freshly fetched key set.
func (v *JWTVerifier) store(ctx context.Context, keys map[string]publicKey, jwksURL string) {
	v.logger.InfoContext(ctx, "auth: fetched signing keys", "issuer", v.issuer, "jwks_uri", jwksURL, "keys", len(keys))
	v.mu.Lock()
	v.keys = keys
	v.jwksURL = jwksURL
	v.fetched = v.now()
	v.mu.Unlock()
}

func (v *JWTVerifier) found(k publicKey, known, haveKeys bool, kid string) (publicKey, error) {
	switch {
	case known:
		return k, nil
	case !haveKeys:
		return publicKey{}, ErrKeysUnavailable
	}
	return publicKey{}, fmt.Errorf("unknown kid %q", kid)
}

// fetch discovers the key set URL if needed and fetches the key set.
func (v *JWTVerifier) fetch(ctx context.Context, jwksURL string) (map[string]publicKey, string, error) {
	if jwksURL == "" {
		var err error
		if jwksURL, err = v.discover(ctx); err != nil {
			return nil, "", err
		}
	}
	var raw []byte
	if err := getJSON(ctx, v.client, jwksURL, &raw); err != nil {
		return nil, "", err
	}
	keys, err := parseJWKS(raw)
	return keys, jwksURL, err
}

// discover finds the issuer's jwks_uri in its OpenID Connect discovery
// document or, failing that, its RFC 8414 metadata.
func (v *JWTVerifier) discover(ctx context.Context) (string, error) {
	iss := strings.TrimSuffix(v.issuer, "/")
	u, _ := url.Parse(iss)
	candidates := []string{
		iss + "/.well-known/openid-configuration",
		u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + u.Path,
	}
	var errs []error
	for _, c := range candidates {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := getJSON(ctx, v.client, c, &meta); err != nil {
			errs = append(errs, err)
			continue
		}
		if meta.Issuer != v.issuer {
			errs = append(errs, fmt.Errorf("auth: %s names issuer %q, want %q", c, meta.Issuer, v.issuer))
			continue
		}
		if meta.JWKSURI == "" {
			errs = append(errs, fmt.Errorf("auth: %s has no jwks_uri", c))
			continue
		}
		return meta.JWKSURI, nil
	}
	return "", fmt.Errorf("auth: discovering signing keys of %s: %w", v.issuer, errors.Join(errs...))
}
