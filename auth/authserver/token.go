package authserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/mcplambda/mcplambda/state"
)

// Codes, grants and refresh tokens.
//
// An authorization code is kept under the hash of its value, single-use:
// redeeming it marks it used with a conditional write, and a second
// redemption (a replayed code) revokes the grant the first one created
// (RFC 9700 §4.5).
//
// A grant is what the user approved for one client: subject, scopes,
// resource. It lives until RefreshTokenTTL after the approval (AccessTokenTTL
// for a client without refresh tokens) and its id is the sid claim of the
// access tokens it issues, so that revoking it (deleting it) ends them too
// for servers that check ([Server.RevocationCheck]). Its refresh token is
// "GRANT.SECRET"; the grant keeps the hash of the current secret and of
// the ones rotated out. Every refresh rotates the secret; presenting a
// rotated-out secret again is reuse of a stolen token, and revokes the
// whole grant (OAuth 2.1 §4.3.1, RFC 9700 §4.14).

// codeRecord is an authorization code's grant, kept under the code's hash.
type codeRecord struct {
	ClientID    string   `json:"client_id"`
	Client      *client  `json:"client"`
	RedirectURI string   `json:"redirect_uri"`
	Challenge   string   `json:"code_challenge"`
	Resource    string   `json:"resource"`
	Scopes      []string `json:"scopes,omitempty"`
	Subject     string   `json:"sub"`
	GrantID     string   `json:"grant_id"`
	AuthTime    int64    `json:"auth_time"`
	Used        bool     `json:"used,omitempty"`
}

func codeKey(code string) string { return "oauth/code/" + hashHex(code) }

// grant is an approved authorization.
type grant struct {
	ClientID string   `json:"client_id"`
	Client   *client  `json:"client"`
	Subject  string   `json:"sub"`
	Resource string   `json:"resource"`
	Scopes   []string `json:"scopes,omitempty"`
	AuthTime int64    `json:"auth_time"`
	Expires  int64    `json:"expires"`
	Refresh  string   `json:"refresh,omitempty"`  // hash of the current refresh secret
	Previous []string `json:"previous,omitempty"` // hashes of rotated-out secrets
}

func grantKey(id string) string { return "oauth/grant/" + id }

// maxPrevious bounds the rotated-out secrets a grant remembers for reuse
// detection.
const maxPrevious = 50

// verifierRE is a PKCE code verifier (RFC 7636 §4.1).
var verifierRE = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// tokenResponse is a successful token response (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// tokenError is a refusal at the token or revocation endpoint.
type tokenError struct {
	status int
	code   string
	desc   string
}

func (e *tokenError) Error() string { return e.code + ": " + e.desc }

func grantErr(desc string) *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_grant", desc}
}

// serveToken is the token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body must be a form of at most 64 KiB", "")
		return
	}
	if r.URL.RawQuery != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "token requests carry their parameters in the body", "")
		return
	}
	for k, v := range r.PostForm {
		if len(v) > 1 && k != "resource" {
			writeError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated", "")
			return
		}
	}
	c, code, desc, basic := s.authenticateClient(ctx, r)
	if c == nil {
		s.refuseClient(w, r, code, desc, basic)
		return
	}
	var resp *tokenResponse
	var err error
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		resp, err = s.redeemCode(ctx, c, r)
	case "refresh_token":
		resp, err = s.refresh(ctx, c, r)
	case "":
		err = &tokenError{http.StatusBadRequest, "invalid_request", "grant_type is missing"}
	default:
		err = &tokenError{http.StatusBadRequest, "unsupported_grant_type", "authorization_code and refresh_token only"}
	}
	var te *tokenError
	switch {
	case errors.As(err, &te):
		s.logger.InfoContext(ctx, "authserver: token request refused", "client_id", c.ID, "grant_type", r.PostForm.Get("grant_type"), "error", te.code, "reason", te.desc)
		writeError(w, te.status, te.code, te.desc, "")
	case err != nil:
		s.logger.ErrorContext(ctx, "authserver: token request failed", "client_id", c.ID, "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", "")
	default:
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, resp)
	}
}

// refuseClient answers a failed client authentication.
func (s *Server) refuseClient(w http.ResponseWriter, r *http.Request, code, desc string, basic bool) {
	s.logger.InfoContext(r.Context(), "authserver: client authentication failed", "error", code, "reason", desc, "path", r.URL.Path)
	switch code {
	case "invalid_client":
		challenge := ""
		if basic {
			challenge = `Basic realm="` + s.issuer + `"`
		}
		writeError(w, http.StatusUnauthorized, code, desc, challenge)
	case "temporarily_unavailable":
		writeError(w, http.StatusServiceUnavailable, code, desc, "")
	default:
		writeError(w, http.StatusBadRequest, code, desc, "")
	}
}

// redeemCode is the authorization_code grant.
func (s *Server) redeemCode(ctx context.Context, c *client, r *http.Request) (*tokenResponse, error) {
	f := r.PostForm
	code := f.Get("code")
	if code == "" {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "code is missing"}
	}
	item, err := s.store.Get(ctx, codeKey(code))
	if errors.Is(err, state.ErrNotFound) {
		return nil, grantErr("unknown or expired code")
	}
	if err != nil {
		return nil, err
	}
	var rec codeRecord
	if err := json.Unmarshal(item.Value, &rec); err != nil {
		return nil, err
	}
	if rec.ClientID != c.ID {
		return nil, grantErr("the code was issued to another client")
	}
	if rec.Used {
		// A replayed code: whoever redeemed it first may be an attacker,
		// so the grant it created goes (RFC 9700 §4.5).
		s.revokeGrant(ctx, rec.GrantID)
		s.logger.WarnContext(ctx, "authserver: authorization code replayed; grant revoked", "client_id", c.ID, "principal", s.issuer+"#"+rec.Subject)
		return nil, grantErr("the code has already been used")
	}
	if f.Get("redirect_uri") != rec.RedirectURI {
		return nil, grantErr("redirect_uri differs from the authorization request's")
	}
	verifier := f.Get("code_verifier")
	if verifier == "" {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "code_verifier is missing (PKCE)"}
	}
	sum := sha256.Sum256([]byte(verifier))
	if !verifierRE.MatchString(verifier) || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(rec.Challenge)) != 1 {
		return nil, grantErr("PKCE verification failed")
	}
	if res := f["resource"]; len(res) > 0 && (len(res) > 1 || !sameResource(rec.Resource, res[0])) {
		return nil, &tokenError{http.StatusBadRequest, "invalid_target", "resource differs from the authorization request's"}
	}
	// Used up, atomically: of two concurrent redemptions, one wins.
	rec.Used = true
	used, _ := json.Marshal(&rec)
	ttl := time.Until(item.Expires)
	if ttl <= 0 {
		ttl = time.Second
	}
	if _, err := s.store.Put(ctx, codeKey(code), used, state.PutOptions{IfVersion: item.Version, TTL: ttl}); err != nil {
		if errors.Is(err, state.ErrConflict) {
			s.revokeGrant(ctx, rec.GrantID)
			return nil, grantErr("the code has already been used")
		}
		return nil, err
	}
	now := s.now()
	g := &grant{
		ClientID: c.ID,
		Client:   rec.Client,
		Subject:  rec.Subject,
		Resource: rec.Resource,
		Scopes:   rec.Scopes,
		AuthTime: rec.AuthTime,
		Expires:  now.Add(s.accessTTL).Unix(),
	}
	var refresh string
	if rec.Client.refresh() {
		g.Expires = now.Add(s.refreshTTL).Unix()
		secret := rand.Text() + rand.Text()
		g.Refresh = hashHex(secret)
		refresh = rec.GrantID + "." + secret
	}
	value, _ := json.Marshal(g)
	if _, err := s.store.Put(ctx, grantKey(rec.GrantID), value, state.PutOptions{IfAbsent: true, TTL: time.Unix(g.Expires, 0).Sub(now)}); err != nil {
		return nil, err
	}
	s.touchClient(ctx, c, time.Unix(g.Expires, 0))
	resp, err := s.mint(ctx, rec.GrantID, g, g.Scopes)
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = refresh
	return resp, nil
}

// refresh is the refresh_token grant, with rotation and reuse detection.
func (s *Server) refresh(ctx context.Context, c *client, r *http.Request) (*tokenResponse, error) {
	f := r.PostForm
	if !c.refresh() {
		return nil, &tokenError{http.StatusBadRequest, "unauthorized_client", "this client did not register the refresh_token grant"}
	}
	grantID, secret, ok := strings.Cut(f.Get("refresh_token"), ".")
	if !ok || grantID == "" || secret == "" || len(grantID) > 64 {
		return nil, grantErr("malformed refresh token")
	}
	presented := hashHex(secret)
	for range 5 {
		item, err := s.store.Get(ctx, grantKey(grantID))
		if errors.Is(err, state.ErrNotFound) {
			return nil, grantErr("the refresh token has expired or was revoked")
		}
		if err != nil {
			return nil, err
		}
		var g grant
		if err := json.Unmarshal(item.Value, &g); err != nil {
			return nil, err
		}
		if g.ClientID != c.ID {
			return nil, grantErr("the refresh token was issued to another client")
		}
		if g.Refresh == "" || subtle.ConstantTimeCompare([]byte(presented), []byte(g.Refresh)) != 1 {
			if slices.Contains(g.Previous, presented) {
				s.revokeGrant(ctx, grantID)
				s.logger.WarnContext(ctx, "authserver: rotated-out refresh token reused; grant revoked", "client_id", c.ID, "principal", s.issuer+"#"+g.Subject)
				return nil, grantErr("the refresh token has already been used; the grant is revoked")
			}
			return nil, grantErr("unknown refresh token")
		}
		if res := f["resource"]; len(res) > 0 && (len(res) > 1 || !sameResource(g.Resource, res[0])) {
			return nil, &tokenError{http.StatusBadRequest, "invalid_target", "resource differs from the grant's"}
		}
		scopes := g.Scopes
		if sc := f.Get("scope"); sc != "" {
			scopes = strings.Fields(sc)
			for _, want := range scopes {
				if !slices.Contains(g.Scopes, want) {
					return nil, &tokenError{http.StatusBadRequest, "invalid_scope", "scope " + want + " was not granted"}
				}
			}
		}
		next := rand.Text() + rand.Text()
		g.Previous = append(g.Previous, g.Refresh)
		if len(g.Previous) > maxPrevious {
			g.Previous = g.Previous[len(g.Previous)-maxPrevious:]
		}
		g.Refresh = hashHex(next)
		value, _ := json.Marshal(&g)
		ttl := time.Unix(g.Expires, 0).Sub(s.now())
		if ttl <= 0 {
			return nil, grantErr("the refresh token has expired")
		}
		_, err = s.store.Put(ctx, grantKey(grantID), value, state.PutOptions{IfVersion: item.Version, TTL: ttl})
		if errors.Is(err, state.ErrConflict) {
			continue // another refresh or a revocation came first: look again
		}
		if err != nil {
			return nil, err
		}
		resp, err := s.mint(ctx, grantID, &g, scopes)
		if err != nil {
			return nil, err
		}
		resp.RefreshToken = grantID + "." + next
		return resp, nil
	}
	return nil, grantErr("the refresh token is being used concurrently")
}

// accessClaims are the claims of our access tokens (RFC 9068), plus sid,
// the grant.
type accessClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
	IssuedAt int64  `json:"iat"`
	NotAfter int64  `json:"exp"`
	AuthTime int64  `json:"auth_time,omitempty"`
	JWTID    string `json:"jti"`
	GrantID  string `json:"sid"`
}

// mint issues an access token of grant g (id grantID) with scopes, no
// longer lived than the grant.
func (s *Server) mint(ctx context.Context, grantID string, g *grant, scopes []string) (*tokenResponse, error) {
	set, err := s.keySetFor(ctx)
	if err != nil {
		return nil, fmt.Errorf("authserver: signing keys: %w", err)
	}
	now := s.now()
	exp := min(now.Add(s.accessTTL).Unix(), g.Expires)
	claims := &accessClaims{
		Issuer:   s.issuer,
		Subject:  g.Subject,
		Audience: g.Resource,
		ClientID: g.ClientID,
		Scope:    strings.Join(scopes, " "),
		IssuedAt: now.Unix(),
		NotAfter: exp,
		AuthTime: g.AuthTime,
		JWTID:    rand.Text(),
		GrantID:  grantID,
	}
	token, err := signJWT(ctx, &set.Current, "at+jwt", claims)
	if err != nil {
		return nil, err
	}
	return &tokenResponse{
		AccessToken: token,
		TokenType:   "Bearer",
		ExpiresIn:   int(exp - now.Unix()),
		Scope:       claims.Scope,
	}, nil
}

// revokeGrant deletes a grant: its refresh tokens stop working at once,
// and its access tokens too where the resource server checks.
func (s *Server) revokeGrant(ctx context.Context, grantID string) {
	if err := s.store.Delete(ctx, grantKey(grantID), 0); err != nil {
		s.logger.ErrorContext(ctx, "authserver: revoking grant failed", "err", err)
	}
}

// serveRevoke is the revocation endpoint (RFC 7009): a refresh token or
// an access token of ours revokes its whole grant. It answers 200 for
// tokens it does not know, as the RFC asks.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body must be a form of at most 64 KiB", "")
		return
	}
	c, code, desc, basic := s.authenticateClient(ctx, r)
	if c == nil {
		s.refuseClient(w, r, code, desc, basic)
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "token is missing", "")
		return
	}
	var grantID string
	if id, _, ok := strings.Cut(token, "."); ok && strings.Count(token, ".") == 1 {
		grantID = id // a refresh token
	} else if claims, err := s.parseOwnToken(ctx, token); err == nil {
		grantID, _ = claims["sid"].(string)
	}
	if grantID == "" || len(grantID) > 64 {
		w.WriteHeader(http.StatusOK)
		return
	}
	item, err := s.store.Get(ctx, grantKey(grantID))
	if err != nil {
		if !errors.Is(err, state.ErrNotFound) {
			s.logger.ErrorContext(ctx, "authserver: reading grant failed", "err", err)
			writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", "")
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	var g grant
	if json.Unmarshal(item.Value, &g) != nil || g.ClientID != c.ID {
		// Another client's token: revoke nothing, reveal nothing.
		w.WriteHeader(http.StatusOK)
		return
	}
	if strings.Count(token, ".") == 1 {
		_, secret, _ := strings.Cut(token, ".")
		h := hashHex(secret)
		if h != g.Refresh && !slices.Contains(g.Previous, h) {
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	s.revokeGrant(ctx, grantID)
	s.logger.InfoContext(ctx, "authserver: grant revoked", "client_id", c.ID, "principal", s.issuer+"#"+g.Subject)
	w.WriteHeader(http.StatusOK)
}

// parseOwnToken verifies an access token of ours (signature with our
// keys, issuer, expiry) and returns its claims.
func (s *Server) parseOwnToken(ctx context.Context, token string) (jwt.MapClaims, error) {
	set, err := s.keySetFor(ctx)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(
		jwt.WithValidMethods([]string{"ES256", "ES384", "RS256"}),
		jwt.WithIssuer(s.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	).ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		for _, k := range slices.Concat([]Key{set.Current}, set.Previous, set.Next) {
			if k.ID == kid && k.Algorithm == t.Method.Alg() {
				return k.Public, nil
			}
		}
		return nil, errors.New("unknown key")
	})
	return claims, err
}
