package authserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/state"
)

// A sign-in goes: the client sends the browser to /oauth/authorize; we
// check the client and its redirect URI, keep the request in the store
// (bound to the browser with a cookie) and send the browser to the
// upstream provider; the provider sends it back to /oauth/callback, where
// we redeem its code and learn who the user is; /oauth/consent shows the
// user the client and the scopes and, on approval, sends the browser back
// to the client with our authorization code.

// signIn is a sign-in in progress, kept under its state.
type signIn struct {
	Client      *client  `json:"client"`
	RedirectURI string   `json:"redirect_uri"`
	State       string   `json:"state,omitempty"`
	Challenge   string   `json:"code_challenge"`
	Scopes      []string `json:"scopes,omitempty"`
	Resource    string   `json:"resource"`
	Binding     string   `json:"binding"` // hash of the browser's cookie
	Nonce       string   `json:"nonce"`
	Verifier    string   `json:"verifier"` // PKCE with the provider
	// Set once the provider has signed the user in.
	Subject  string   `json:"sub,omitempty"`
	UserName string   `json:"user_name,omitempty"`
	Granted  []string `json:"granted,omitempty"`
	CSRF     string   `json:"csrf,omitempty"` // hash of the consent form's token
	AuthTime int64    `json:"auth_time,omitempty"`
}

func signInKey(id string) string { return "oauth/signin/" + hashHex(id) }

// cookieName is the cookie binding sign-ins to a browser.
func (s *Server) cookieName() string {
	if s.secure {
		return "__Host-mcplambda-signin"
	}
	return "mcplambda-signin"
}

// challengeRE is an S256 code challenge: base64url of 32 bytes.
var challengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// serveAuthorize is the authorization endpoint.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	c, err := s.lookupClient(ctx, r, q.Get("client_id"))
	if err != nil {
		var ce *errClient
		if errors.As(err, &ce) {
			s.showError(w, r, http.StatusBadRequest, "invalid_client", ce.msg)
			return
		}
		s.logger.ErrorContext(ctx, "authserver: client lookup failed", "err", err)
		s.showError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", "The server cannot check this application right now. Try again later.")
		return
	}
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "The request repeats client_id or redirect_uri.")
		return
	}
	redirect, ok := matchRedirectURI(c.RedirectURIs, q.Get("redirect_uri"))
	if !ok {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", fmt.Sprintf("The redirect URI %q is not one this application registered.", q.Get("redirect_uri")))
		return
	}
	// From here on, errors go back to the client's (verified) redirect URI.
	fail := func(code, desc string) {
		s.logger.InfoContext(ctx, "authserver: authorization request refused", "client_id", c.ID, "error", code, "reason", desc)
		s.redirect(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": q["state"]})
	}
	for k, v := range q {
		if len(v) > 1 && k != "resource" {
			fail("invalid_request", "parameter "+k+" is repeated")
			return
		}
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case q.Get("code_challenge") == "":
		fail("invalid_request", "code_challenge is required: PKCE with S256")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case !challengeRE.MatchString(q.Get("code_challenge")):
		fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier")
		return
	case len(q.Get("state")) > 1024:
		fail("invalid_request", "state is longer than 1024 bytes")
		return
	}
	resource, err := s.resourceParam(q["resource"])
	if err != nil {
		fail("invalid_target", err.Error())
		return
	}
	var scopes []string
	for sc := range strings.FieldsSeq(q.Get("scope")) {
		if slices.Contains(s.scopes, sc) && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	meta, err := s.upstreamMeta(ctx)
	if err != nil {
		s.logger.ErrorContext(ctx, "authserver: identity provider unavailable", "err", err)
		fail("temporarily_unavailable", "the identity provider is unavailable")
		return
	}

	binding := ""
	if ck, err := r.Cookie(s.cookieName()); err == nil && len(ck.Value) >= 26 && len(ck.Value) <= 64 {
		binding = ck.Value
	} else {
		binding = rand.Text()
	}
	id := rand.Text() + rand.Text()
	si := &signIn{
		Client:      c,
		RedirectURI: redirect,
		State:       q.Get("state"),
		Challenge:   q.Get("code_challenge"),
		Scopes:      scopes,
		Resource:    resource,
		Binding:     hashHex(binding),
		Nonce:       rand.Text(),
		Verifier:    rand.Text() + rand.Text(),
	}
	value, _ := json.Marshal(si)
	if _, err := s.store.Put(ctx, signInKey(id), value, state.PutOptions{IfAbsent: true, TTL: s.signInTTL}); err != nil {
		s.logger.ErrorContext(ctx, "authserver: storing sign-in failed", "err", err)
		fail("temporarily_unavailable", "try again later")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookieName(),
		Value:    binding,
		Path:     s.cookiePath(),
		MaxAge:   int(s.signInTTL.Seconds()),
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode, // sent when the provider redirects back
	})
	http.Redirect(w, r, s.upstreamAuthURL(meta, id, si.Nonce, si.Verifier), http.StatusFound)
}

// cookiePath is the path of the sign-in cookie: the server's endpoints.
func (s *Server) cookiePath() string {
	if s.secure {
		return "/" // __Host- cookies must have Path=/
	}
	return s.base + "/oauth/"
}

// resourceParam checks the resource parameters of a request (RFC 8707):
// exactly one, naming a resource of this server.
func (s *Server) resourceParam(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", errors.New("resource is required: the canonical URI of the MCP server (RFC 8707)")
	case 1:
	default:
		return "", errors.New("one resource per authorization")
	}
	for _, r := range s.resources {
		if sameResource(r, values[0]) {
			return r, nil
		}
	}
	return "", fmt.Errorf("resource %q is not served by this authorization server", values[0])
}

// sameResource compares resource URIs, case-insensitively in scheme and
// host as the MCP specification asks, and ignoring a trailing slash.
func sameResource(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ub.Fragment != "" || ub.RawQuery != ua.RawQuery {
		return false
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host) &&
		strings.TrimSuffix(ua.EscapedPath(), "/") == strings.TrimSuffix(ub.EscapedPath(), "/")
}

// redirect sends the browser back to the client's redirect URI with
// params, and iss (RFC 9207).
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, redirect string, params url.Values) {
	u, _ := url.Parse(redirect) // checked when matched
	q := u.Query()
	for k, v := range params {
		if len(v) > 0 && v[0] != "" {
			q[k] = v[:1]
		}
	}
	q.Set("iss", s.issuer)
	u.RawQuery = q.Encode()
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Location", u.String())
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
}

// loadSignIn reads the sign-in id and checks that this browser started it.
func (s *Server) loadSignIn(w http.ResponseWriter, r *http.Request, id string) (*signIn, *state.Item, bool) {
	if id == "" || len(id) > 128 {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "This sign-in is unknown or has expired.")
		return nil, nil, false
	}
	item, err := s.store.Get(r.Context(), signInKey(id))
	if errors.Is(err, state.ErrNotFound) {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "This sign-in is unknown or has expired.")
		return nil, nil, false
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "authserver: reading sign-in failed", "err", err)
		s.showError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", "Try again later.")
		return nil, nil, false
	}
	var si signIn
	if err := json.Unmarshal(item.Value, &si); err != nil {
		s.showError(w, r, http.StatusInternalServerError, "server_error", "This sign-in cannot be read.")
		return nil, nil, false
	}
	ck, err := r.Cookie(s.cookieName())
	if err != nil || subtle.ConstantTimeCompare([]byte(hashHex(ck.Value)), []byte(si.Binding)) != 1 {
		s.logger.WarnContext(r.Context(), "authserver: sign-in continued in another browser", "client_id", si.Client.ID)
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "This sign-in was started in another browser, or your browser refused its cookie.")
		return nil, nil, false
	}
	return &si, item, true
}

// serveCallback is where the upstream provider sends the browser back.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	id := q.Get("state")
	si, item, ok := s.loadSignIn(w, r, id)
	if !ok {
		return
	}
	if si.Subject != "" {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "This sign-in has already come back from the identity provider.")
		return
	}
	fail := func(code, desc string) {
		s.store.Delete(ctx, signInKey(id), item.Version)
		s.logger.InfoContext(ctx, "authserver: sign-in failed", "client_id", si.Client.ID, "error", code, "reason", desc)
		s.redirect(w, r, si.RedirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {si.State}})
	}
	if iss := q.Get("iss"); iss != "" && iss != s.upstream.Issuer {
		// RFC 9207: an answer from another provider (a mix-up).
		fail("access_denied", "the identity provider's answer names another issuer")
		return
	}
	if e := q.Get("error"); e != "" {
		fail("access_denied", "the identity provider refused the sign-in ("+cleanName(e)+")")
		return
	}
	if q.Get("code") == "" {
		fail("access_denied", "the identity provider sent no code")
		return
	}
	user, err := s.exchangeUpstream(ctx, q.Get("code"), si.Verifier, si.Nonce)
	if errors.Is(err, errUpstreamRefused) {
		s.logger.WarnContext(ctx, "authserver: identity provider's answer refused", "client_id", si.Client.ID, "err", err)
		fail("access_denied", strings.TrimPrefix(err.Error(), "authserver: "))
		return
	}
	if err != nil {
		s.logger.ErrorContext(ctx, "authserver: identity provider failed", "err", err)
		fail("temporarily_unavailable", "the identity provider could not be reached")
		return
	}
	allowed := s.allowedScopes(user)
	si.Granted = s.grantable(si.Scopes, allowed)
	if len(si.Scopes) > 0 && len(si.Granted) == 0 {
		fail("access_denied", "the user may not be granted any of the requested scopes")
		return
	}
	si.Subject = Subject(s.upstream.Issuer, user.Subject)
	si.UserName = cleanName(user.Name)
	si.AuthTime = s.now().Unix()
	csrf := rand.Text() + rand.Text()
	si.CSRF = hashHex(csrf)
	value, _ := json.Marshal(si)
	ttl := time.Until(item.Expires)
	if item.Expires.IsZero() || ttl <= 0 {
		ttl = s.signInTTL
	}
	if _, err := s.store.Put(ctx, signInKey(id), value, state.PutOptions{IfVersion: item.Version, TTL: ttl}); err != nil {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "This sign-in has already come back from the identity provider.")
		return
	}
	// The token travels in the page's URL only to the page that shows the
	// form; the page sends no referrer.
	http.Redirect(w, r, s.issuer+PathConsent+"?"+url.Values{"signin": {id}, "csrf": {csrf}}.Encode(), http.StatusSeeOther)
}

// serveConsent shows the consent page (GET) and takes the user's answer
// (POST).
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	ctx := r.Context()
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		si, _, ok := s.loadSignIn(w, r, q.Get("signin"))
		if !ok {
			return
		}
		if si.Subject == "" || subtle.ConstantTimeCompare([]byte(hashHex(q.Get("csrf"))), []byte(si.CSRF)) != 1 {
			s.showError(w, r, http.StatusBadRequest, "invalid_request", "This consent page is not part of a sign-in.")
			return
		}
		ru, _ := url.Parse(si.RedirectURI)
		p := &consentPage{
			Service:      s.name,
			ClientName:   si.Client.Name,
			ClientID:     si.Client.ID,
			Document:     si.Client.Document,
			RedirectHost: ru.Host,
			User:         si.UserName,
			Resource:     si.Resource,
			Scopes:       si.Granted,
			Loopback:     isLoopbackHost(ru.Hostname()),
			Action:       s.issuer + PathConsent,
			SignIn:       q.Get("signin"),
			CSRF:         q.Get("csrf"),
			Lifetime:     lifetime(s.refreshTTL, si.Client.refresh(), s.accessTTL),
		}
		if p.ClientName == "" {
			p.ClientName = "An unnamed application"
		}
		if si.Client.Document {
			cu, _ := url.Parse(si.Client.ID)
			p.ClientHost = cu.Host
		}
		s.showConsent(w, p, si.RedirectURI)
		return
	}

	// The answer: a form post from our own page, in the browser that
	// started the sign-in, once.
	if o := r.Header.Get("Origin"); o != "" && o != s.origin {
		s.showError(w, r, http.StatusForbidden, "invalid_request", "The answer came from another site.")
		return
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		s.showError(w, r, http.StatusForbidden, "invalid_request", "The answer came from another site.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "The answer could not be read.")
		return
	}
	id := r.PostForm.Get("signin")
	si, item, ok := s.loadSignIn(w, r, id)
	if !ok {
		return
	}
	if si.Subject == "" || subtle.ConstantTimeCompare([]byte(hashHex(r.PostForm.Get("csrf"))), []byte(si.CSRF)) != 1 {
		s.logger.WarnContext(ctx, "authserver: consent answer without its form's token", "client_id", si.Client.ID)
		s.showError(w, r, http.StatusForbidden, "invalid_request", "The answer did not come from the consent page.")
		return
	}
	if err := s.store.Delete(ctx, signInKey(id), item.Version); err != nil {
		s.showError(w, r, http.StatusBadRequest, "invalid_request", "This sign-in has already been answered.")
		return
	}
	if r.PostForm.Get("decision") != "approve" {
		s.logger.InfoContext(ctx, "authserver: user denied access", "client_id", si.Client.ID)
		s.redirect(w, r, si.RedirectURI, url.Values{"error": {"access_denied"}, "error_description": {"the user denied access"}, "state": {si.State}})
		return
	}
	code, err := s.issueCode(ctx, si)
	if err != nil {
		s.logger.ErrorContext(ctx, "authserver: storing code failed", "err", err)
		s.redirect(w, r, si.RedirectURI, url.Values{"error": {"temporarily_unavailable"}, "error_description": {"try again later"}, "state": {si.State}})
		return
	}
	s.logger.InfoContext(ctx, "authserver: access granted", "client_id", si.Client.ID, "principal", s.issuer+"#"+si.Subject, "scope", strings.Join(si.Granted, " "), "resource", si.Resource)
	s.redirect(w, r, si.RedirectURI, url.Values{"code": {code}, "state": {si.State}})
}

// lifetime says how long access lasts, for the consent page.
func lifetime(refreshTTL time.Duration, refresh bool, accessTTL time.Duration) string {
	d := accessTTL
	if refresh {
		d = refreshTTL
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d minutes", max(1, int(d.Minutes())))
}

// issueCode stores an authorization code for an approved sign-in.
func (s *Server) issueCode(ctx context.Context, si *signIn) (string, error) {
	code := rand.Text() + rand.Text()
	rec := &codeRecord{
		ClientID:    si.Client.ID,
		Client:      si.Client,
		RedirectURI: si.RedirectURI,
		Challenge:   si.Challenge,
		Resource:    si.Resource,
		Scopes:      si.Granted,
		Subject:     si.Subject,
		GrantID:     rand.Text(),
		AuthTime:    si.AuthTime,
	}
	value, _ := json.Marshal(rec)
	if _, err := s.store.Put(ctx, codeKey(code), value, state.PutOptions{IfAbsent: true, TTL: s.codeTTL}); err != nil {
		return "", err
	}
	return code, nil
}
