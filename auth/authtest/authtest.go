// Package authtest provides a local OAuth 2.1 / OpenID Connect issuer for
// tests of servers protected with package
// [github.com/mcplambda/mcplambda/auth], in the spirit of net/http/httptest.
//
// An [Issuer] listens on a loopback httptest server with its own RSA keys.
// It publishes OpenID Connect discovery, RFC 8414 metadata and a JWKS,
// mints tokens directly ([Issuer.Token], [Issuer.Sign]), rotates keys
// ([Issuer.RotateKey]) and runs the authorization code flow with PKCE and
// RFC 8707 resource indicators for public clients, so that real MCP
// clients (go-sdk's auth.AuthorizationCodeHandler) can sign in without a
// browser: the authorization endpoint grants at once, redirecting with a
// code.
//
// It is also an OpenID Connect provider, the upstream identity provider of
// package auth/authserver in tests: with [IssuerOptions].ClientSecret its
// client is confidential, and an authorization request with scope
// "openid" gets an ID token (with the request's nonce, an email address
// and whatever [IssuerOptions].IDTokenClaims adds) and needs no resource.
// [Browser] plays the user's browser through such sign-ins, consent pages
// included.
//
//	iss := authtest.NewIssuer(nil)
//	defer iss.Close()
//	token := iss.Token("alice", "https://mcp.example.com/mcp", "mcp")
package authtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// IssuerOptions configures [NewIssuer]. A nil *IssuerOptions means all
// defaults.
type IssuerOptions struct {
	// ClientID is the public client allowed to use the authorization code
	// flow. If empty, "mcp-client".
	ClientID string
	// Scopes the issuer grants in the authorization code flow; requested
	// scopes outside it are dropped. If empty, every requested scope is
	// granted.
	Scopes []string
	// TokenLifetime is the lifetime of issued tokens. If zero, one hour.
	TokenLifetime time.Duration
	// ClientSecret, if set, makes the client confidential: the token
	// endpoint requires this secret, sent with HTTP Basic authentication
	// (client_secret_basic) or in the form (client_secret_post). If empty,
	// the client is public.
	ClientSecret string
	// Subject is the sub of the one user who signs in with the
	// authorization code flow. If empty, "user".
	Subject string
	// IDTokenClaims, if set, may change the claims of each ID token
	// before it is signed (add groups, mark the email unverified, tamper
	// with the nonce, ...). By default an ID token has iss, sub, aud (the
	// client id), iat, exp, auth_time, the request's nonce, and email
	// SUBJECT@example.com with email_verified true.
	IDTokenClaims func(claims map[string]any)
}

// Issuer is a local token issuer. Its methods are safe for concurrent use.
type Issuer struct {
	// URL is the issuer identifier (the iss claim) and base URL, such as
	// http://127.0.0.1:41234.
	URL string

	// Set at construction.
	srv      *httptest.Server
	clientID string
	secret   string
	subject  string
	idClaims func(map[string]any)
	scopes   []string
	lifetime time.Duration

	mu          sync.Mutex // guards the fields below
	key         *rsa.PrivateKey
	kid         string
	published   []*rsa.PrivateKey // keys in the JWKS
	kids        []string
	jwksFetches int
	grants      []string // scope of each authorization granted
	codes       map[string]grant
}

type grant struct {
	challenge, redirectURI, resource, scope, subject, nonce string
}

// NewIssuer starts an issuer on a loopback port. Close it when done.
func NewIssuer(opts *IssuerOptions) *Issuer {
	var o IssuerOptions
	if opts != nil {
		o = *opts
	}
	iss := &Issuer{
		clientID: o.ClientID,
		secret:   o.ClientSecret,
		subject:  o.Subject,
		idClaims: o.IDTokenClaims,
		scopes:   slices.Clone(o.Scopes),
		lifetime: o.TokenLifetime,
		codes:    make(map[string]grant),
	}
	if iss.clientID == "" {
		iss.clientID = "mcp-client"
	}
	if iss.subject == "" {
		iss.subject = "user"
	}
	if iss.lifetime == 0 {
		iss.lifetime = time.Hour
	}
	iss.RotateKey()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.serveMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", iss.serveMetadata)
	mux.HandleFunc("GET /jwks", iss.serveJWKS)
	mux.HandleFunc("GET /authorize", iss.serveAuthorize)
	mux.HandleFunc("POST /token", iss.serveToken)
	iss.srv = httptest.NewServer(mux)
	iss.URL = iss.srv.URL
	return iss
}

// Close shuts the issuer down.
func (iss *Issuer) Close() { iss.srv.Close() }

// JWKSURL returns the URL of the issuer's key set.
func (iss *Issuer) JWKSURL() string { return iss.URL + "/jwks" }

// ClientID returns the client id of the authorization code flow.
func (iss *Issuer) ClientID() string { return iss.clientID }

// ClientSecret returns the client's secret; empty for a public client.
func (iss *Issuer) ClientSecret() string { return iss.secret }

// JWKSFetches returns how many times the key set has been fetched.
func (iss *Issuer) JWKSFetches() int {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.jwksFetches
}

// Grants returns the scopes granted by each authorization so far (one
// space-separated string per authorization code issued).
func (iss *Issuer) Grants() []string {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return slices.Clone(iss.grants)
}

// RotateKey makes a new signing key current and publishes it alongside
// the previous ones, as issuers do when rotating. It returns the new kid.
func (iss *Issuer) RotateKey() string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.key = key
	iss.kid = "key-" + rand.Text()[:8]
	iss.published = append(iss.published, key)
	iss.kids = append(iss.kids, iss.kid)
	return iss.kid
}

// Key returns the current signing key and its kid.
func (iss *Issuer) Key() (*rsa.PrivateKey, string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.key, iss.kid
}

// Claims returns the claims of a valid access token for subject, issued
// now for audience with the given scopes; change them and [Issuer.Sign]
// them to make unusual tokens.
func (iss *Issuer) Claims(subject, audience string, scopes ...string) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss":       iss.URL,
		"sub":       subject,
		"aud":       audience,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(iss.lifetime).Unix(),
		"client_id": iss.clientID,
		"jti":       rand.Text(),
	}
	if len(scopes) > 0 {
		c["scope"] = strings.Join(scopes, " ")
	}
	return c
}

// Sign signs claims with the current key (RS256, with its kid).
func (iss *Issuer) Sign(claims jwt.Claims) string {
	key, kid := iss.Key()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}

// Token returns a valid access token for subject, issued for audience
// with the given scopes.
func (iss *Issuer) Token(subject, audience string, scopes ...string) string {
	return iss.Sign(iss.Claims(subject, audience, scopes...))
}

func (iss *Issuer) serveMetadata(w http.ResponseWriter, r *http.Request) {
	authMethods := []string{"none"}
	if iss.secret != "" {
		authMethods = []string{"client_secret_basic", "client_secret_post"}
	}
	meta := map[string]any{
		"issuer":                                iss.URL,
		"jwks_uri":                              iss.JWKSURL(),
		"authorization_endpoint":                iss.URL + "/authorize",
		"token_endpoint":                        iss.URL + "/token",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": authMethods,
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		// RFC 9207: authorization responses carry iss.
		"authorization_response_iss_parameter_supported": true,
	}
	if len(iss.scopes) > 0 {
		meta["scopes_supported"] = iss.scopes
	}
	writeJSON(w, http.StatusOK, meta)
}

func (iss *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss.mu.Lock()
	iss.jwksFetches++
	var keys []map[string]string
	for i, k := range iss.published {
		keys = append(keys, map[string]string{
			"kty": "RSA",
			"kid": iss.kids[i],
			"use": "sig",
			"alg": "RS256",
			"n":   base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
			"e":   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
		})
	}
	iss.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// serveAuthorize grants at once: there is one user (IssuerOptions.Subject)
// and no consent. A request with scope openid (an OpenID Connect sign-in)
// needs no resource.
func (iss *Issuer) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	openid := slices.Contains(strings.Fields(q.Get("scope")), "openid")
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != iss.clientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case err != nil || !redirect.IsAbs():
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	case q.Get("resource") == "" && !openid:
		http.Error(w, "resource (RFC 8707) is required", http.StatusBadRequest)
		return
	}
	var scopes []string
	for s := range strings.FieldsSeq(q.Get("scope")) {
		if len(iss.scopes) == 0 || slices.Contains(iss.scopes, s) || s == "openid" {
			scopes = append(scopes, s)
		}
	}
	code := rand.Text()
	iss.mu.Lock()
	iss.grants = append(iss.grants, strings.Join(scopes, " "))
	iss.codes[code] = grant{
		challenge:   q.Get("code_challenge"),
		redirectURI: redirect.String(),
		resource:    q.Get("resource"),
		scope:       strings.Join(scopes, " "),
		subject:     iss.subject,
		nonce:       q.Get("nonce"),
	}
	iss.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	rq.Set("iss", iss.URL)
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (iss *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		oauthError(w, "unsupported_grant_type", "only authorization_code")
		return
	}
	clientID, secret := f.Get("client_id"), f.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		clientID, _ = url.QueryUnescape(user)
		secret, _ = url.QueryUnescape(pass)
	}
	if clientID != iss.clientID || (iss.secret != "" && secret != iss.secret) {
		// Checked before the code is used up: oauth2 clients retry with
		// the client id in the body after trying Basic authentication.
		oauthError(w, "invalid_client", "unknown client_id or wrong secret")
		return
	}
	iss.mu.Lock()
	g, ok := iss.codes[f.Get("code")]
	delete(iss.codes, f.Get("code"))
	iss.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case !ok:
		oauthError(w, "invalid_grant", "unknown code")
		return
	case f.Get("redirect_uri") != g.redirectURI:
		oauthError(w, "invalid_grant", "redirect_uri mismatch")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		oauthError(w, "invalid_grant", "PKCE verification failed")
		return
	case f.Get("resource") != "" && f.Get("resource") != g.resource:
		oauthError(w, "invalid_target", "resource differs from the authorization request")
		return
	}
	var scopes []string
	if g.scope != "" {
		scopes = strings.Fields(g.scope)
	}
	audience := g.resource
	if audience == "" {
		audience = iss.clientID
	}
	resp := map[string]any{
		"access_token": iss.Token(g.subject, audience, scopes...),
		"token_type":   "Bearer",
		"expires_in":   int(iss.lifetime.Seconds()),
		"scope":        g.scope,
	}
	if slices.Contains(scopes, "openid") {
		resp["id_token"] = iss.idToken(g)
	}
	writeJSON(w, http.StatusOK, resp)
}

// idToken returns the OpenID Connect ID token of a grant.
func (iss *Issuer) idToken(g grant) string {
	now := time.Now()
	c := jwt.MapClaims{
		"iss":            iss.URL,
		"sub":            g.subject,
		"aud":            iss.clientID,
		"iat":            now.Unix(),
		"exp":            now.Add(iss.lifetime).Unix(),
		"auth_time":      now.Unix(),
		"email":          g.subject + "@example.com",
		"email_verified": true,
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	if iss.idClaims != nil {
		iss.idClaims(c)
	}
	key, kid := iss.Key()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("authtest: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// Fetcher returns a go-sdk AuthorizationCodeFetcher that does what the
// user's browser would: it opens the authorization URL and takes the code
// from the redirect, which it does not follow.
func (iss *Issuer) Fetcher() sdkauth.AuthorizationCodeFetcher {
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return func(ctx context.Context, args *sdkauth.AuthorizationArgs) (*sdkauth.AuthorizationResult, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			return nil, fmt.Errorf("authtest: authorization endpoint answered %s", resp.Status)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, fmt.Errorf("authtest: bad redirect: %w", err)
		}
		q := loc.Query()
		return &sdkauth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	}
}

// OAuthHandler returns a go-sdk OAuth handler for MCP clients
// (mcp.StreamableClientTransport.OAuthHandler) that signs in to iss as
// its preregistered public client, using [Issuer.Fetcher].
func (iss *Issuer) OAuthHandler() *sdkauth.AuthorizationCodeHandler {
	h, err := sdkauth.NewAuthorizationCodeHandler(&sdkauth.AuthorizationCodeHandlerConfig{
		PreregisteredClient:      &oauthex.ClientCredentials{ClientID: iss.clientID, Issuer: iss.URL},
		RedirectURL:              "http://127.0.0.1/callback",
		AuthorizationCodeFetcher: iss.Fetcher(),
	})
	if err != nil {
		panic(fmt.Sprintf("authtest: %v", err))
	}
	return h
}
