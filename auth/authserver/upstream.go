package authserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Federated sign-in: the user signs in at the upstream OpenID Connect
// provider through our client there (authorization code with PKCE, a
// nonce, and our client secret), and the ID token names the user.
//
// The ID token comes straight from the provider's token endpoint, over
// TLS, in answer to a request authenticated with our client secret. As
// OpenID Connect Core 1.0 §3.1.3.7 (6) allows for this case, TLS
// authenticates its issuer instead of its signature; its iss, aud, azp,
// exp, iat and nonce are checked.

// upstreamMetadata is what we use of the provider's discovery document.
type upstreamMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
}

// upstreamMeta returns the provider's endpoints, discovering them once.
func (s *Server) upstreamMeta(ctx context.Context) (*upstreamMetadata, error) {
	s.mu.Lock()
	m := s.upMeta
	s.mu.Unlock()
	if m != nil {
		return m, nil
	}
	u := strings.TrimSuffix(s.upstream.Issuer, "/") + WellKnownOpenIDConfiguration
	var meta upstreamMetadata
	if err := s.upstreamJSON(ctx, http.MethodGet, u, nil, nil, &meta); err != nil {
		return nil, err
	}
	if meta.Issuer != s.upstream.Issuer {
		return nil, fmt.Errorf("authserver: %s names issuer %q, want %q", u, meta.Issuer, s.upstream.Issuer)
	}
	for _, e := range []string{meta.AuthorizationEndpoint, meta.TokenEndpoint} {
		if err := checkEndpointURL(e); err != nil {
			return nil, fmt.Errorf("authserver: %s: %w", u, err)
		}
	}
	s.mu.Lock()
	s.upMeta = &meta
	s.mu.Unlock()
	return &meta, nil
}

// checkEndpointURL checks an endpoint of the provider: absolute, https
// (http for a loopback host), no fragment; a query is allowed.
func checkEndpointURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("endpoint %q is not an absolute URL", raw)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !isLoopbackHost(u.Hostname())) {
		return fmt.Errorf("endpoint %q: want https (http only for a loopback host)", raw)
	}
	return nil
}

// upstreamJSON makes a request to the provider and decodes its JSON
// answer (at most 1 MiB). An OAuth error answer becomes an error naming
// its code.
func (s *Server) upstreamJSON(ctx context.Context, method, u string, form url.Values, auth func(*http.Request), v any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("authserver: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != nil {
		auth(req)
	}
	resp, err := s.upstreamHTTP.Do(req)
	if err != nil {
		return fmt.Errorf("authserver: upstream %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("authserver: upstream %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("authserver: upstream %s: %s: %s", req.URL.Path, e.Error, e.Description)
		}
		return fmt.Errorf("authserver: upstream %s: %s", req.URL.Path, resp.Status)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("authserver: upstream %s: %w", req.URL.Path, err)
	}
	return nil
}

// upstreamAuthURL returns the provider's authorization URL for a sign-in.
func (s *Server) upstreamAuthURL(meta *upstreamMetadata, stateID, nonce, verifier string) string {
	scopes := []string{"openid"}
	if len(s.upstream.Scopes) == 0 {
		scopes = append(scopes, "email")
	}
	for _, sc := range s.upstream.Scopes {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {s.upstream.ClientID},
		"redirect_uri":          {s.CallbackURL()},
		"scope":                 {strings.Join(scopes, " ")},
		"state":                 {stateID},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	u, _ := url.Parse(meta.AuthorizationEndpoint)
	if u.RawQuery != "" {
		extra := u.Query()
		for k, v := range q {
			extra[k] = v
		}
		q = extra
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// upstreamUser is the user the provider signed in.
type upstreamUser struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Groups        []string
}

// errUpstreamRefused is a sign-in the provider's answer does not support:
// an ID token that does not check out, or a user the policy refuses.
var errUpstreamRefused = errors.New("authserver: sign-in refused")

// exchangeUpstream redeems the provider's code and checks the ID token.
func (s *Server) exchangeUpstream(ctx context.Context, code, verifier, nonce string) (*upstreamUser, error) {
	meta, err := s.upstreamMeta(ctx)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {s.CallbackURL()},
		"code_verifier": {verifier},
	}
	var auth func(*http.Request)
	switch {
	case s.upstream.ClientSecret == "":
		form.Set("client_id", s.upstream.ClientID)
	case len(meta.TokenEndpointAuthMethodsSupported) == 0 || slices.Contains(meta.TokenEndpointAuthMethodsSupported, "client_secret_basic"):
		auth = func(r *http.Request) {
			r.SetBasicAuth(url.QueryEscape(s.upstream.ClientID), url.QueryEscape(s.upstream.ClientSecret))
		}
	default:
		form.Set("client_id", s.upstream.ClientID)
		form.Set("client_secret", s.upstream.ClientSecret)
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := s.upstreamJSON(ctx, http.MethodPost, meta.TokenEndpoint, form, auth, &tok); err != nil {
		return nil, err
	}
	if tok.IDToken == "" {
		return nil, fmt.Errorf("%w: the provider returned no ID token", errUpstreamRefused)
	}
	_, payload, err := parseJWS(tok.IDToken)
	if err != nil {
		return nil, fmt.Errorf("%w: ID token: %v", errUpstreamRefused, err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: ID token claims: %v", errUpstreamRefused, err)
	}
	if err := s.checkIDToken(c, nonce); err != nil {
		return nil, fmt.Errorf("%w: ID token: %v", errUpstreamRefused, err)
	}
	u := &upstreamUser{Subject: c["sub"].(string)}
	u.Email, _ = c["email"].(string)
	switch v := c["email_verified"].(type) {
	case bool:
		u.EmailVerified = v
	case string:
		u.EmailVerified = v == "true"
	}
	for _, k := range []string{"name", "preferred_username", "cognito:username", "email"} {
		if n, _ := c[k].(string); n != "" {
			u.Name = n
			break
		}
	}
	claims := []string{"groups", "cognito:groups"}
	if s.groupsClaim != "" {
		claims = []string{s.groupsClaim}
	}
	for _, k := range claims {
		switch g := c[k].(type) {
		case []any:
			for _, e := range g {
				if str, ok := e.(string); ok {
					u.Groups = append(u.Groups, str)
				}
			}
		case string:
			u.Groups = append(u.Groups, strings.FieldsFunc(g, func(r rune) bool { return r == ',' || r == ' ' })...)
		}
	}
	if s.verifiedMail && (u.Email == "" || !u.EmailVerified) {
		return nil, fmt.Errorf("%w: the identity provider has not verified the user's email address", errUpstreamRefused)
	}
	return u, nil
}

// checkIDToken checks the claims of an ID token from the provider's token
// endpoint (OpenID Connect Core 1.0 §3.1.3.7).
func (s *Server) checkIDToken(c map[string]any, nonce string) error {
	const skew = time.Minute
	now := s.now()
	if iss, _ := c["iss"].(string); iss != s.upstream.Issuer {
		return fmt.Errorf("iss %q is not the provider's issuer", iss)
	}
	var aud []string
	switch a := c["aud"].(type) {
	case string:
		aud = []string{a}
	case []any:
		for _, e := range a {
			if str, ok := e.(string); ok {
				aud = append(aud, str)
			}
		}
	}
	if !slices.Contains(aud, s.upstream.ClientID) {
		return errors.New("aud does not name our client")
	}
	if azp, ok := c["azp"].(string); (ok || len(aud) > 1) && azp != s.upstream.ClientID {
		return errors.New("azp does not name our client")
	}
	exp, ok := c["exp"].(float64)
	if !ok || now.After(time.Unix(int64(exp), 0).Add(skew)) {
		return errors.New("expired, or no exp")
	}
	if iat, ok := c["iat"].(float64); ok && time.Unix(int64(iat), 0).After(now.Add(skew)) {
		return errors.New("issued in the future")
	}
	if n, _ := c["nonce"].(string); n != nonce {
		return errors.New("nonce does not match the sign-in's")
	}
	if sub, _ := c["sub"].(string); sub == "" {
		return errors.New("no sub")
	}
	return nil
}

// Subject returns the sub of the tokens the server issues to the user
// whose ID token from the provider upstreamIssuer has sub upstreamSubject:
// the unpadded base64url SHA-256 of "upstreamIssuer#upstreamSubject". The
// caller's principal (identity.Principal) is then issuer + "#" + Subject(...):
// stable for a user across sign-ins, clients and instances, the same for
// every resource of the server, and revealing nothing of the upstream
// account (no email address, no provider user id). Use it to name users in
// allow-lists.
func Subject(upstreamIssuer, upstreamSubject string) string {
	sum := sha256.Sum256([]byte(upstreamIssuer + "#" + upstreamSubject))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// allowedScopes are the scopes the user may be granted: DefaultScopes and
// those of the user's groups.
func (s *Server) allowedScopes(u *upstreamUser) []string {
	allowed := slices.Clone(s.defScopes)
	for _, g := range u.Groups {
		allowed = append(allowed, s.groupScopes[g]...)
	}
	slices.Sort(allowed)
	return slices.Compact(allowed)
}

// grantable filters requested scopes to those allowed covers; with none
// requested, all of allowed.
func (s *Server) grantable(requested, allowed []string) []string {
	if len(requested) == 0 {
		return slices.Clone(allowed)
	}
	var out []string
	for _, r := range requested {
		if len(s.covers.Missing(allowed, []string{r})) == 0 {
			out = append(out, r)
		}
	}
	return out
}
