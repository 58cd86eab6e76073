package authserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Limits on client metadata.
const (
	maxRegistrationBytes = 16 << 10
	maxRedirectURIs      = 10
	maxClientName        = 100
	maxURIBytes          = 2000
)

// client is a registered client, or one described by its metadata
// document, as the server keeps it.
type client struct {
	ID           string   `json:"client_id"`
	Name         string   `json:"client_name,omitempty"`
	URI          string   `json:"client_uri,omitempty"`
	RedirectURIs []string `json:"redirect_uris"`
	GrantTypes   []string `json:"grant_types"`
	AuthMethod   string   `json:"token_endpoint_auth_method"`
	SecretHash   string   `json:"secret_hash,omitempty"` // of a confidential client's secret
	Document     bool     `json:"document,omitempty"`    // a Client ID Metadata Document
	Issued       int64    `json:"issued,omitempty"`
}

// refresh reports whether the client may use refresh tokens.
func (c *client) refresh() bool { return slices.Contains(c.GrantTypes, "refresh_token") }

// errClient is a client_id or redirect_uri that cannot be trusted; the
// authorization endpoint shows it on a page instead of redirecting.
type errClient struct{ msg string }

func (e *errClient) Error() string { return e.msg }

func clientErrorf(format string, args ...any) error { return &errClient{fmt.Sprintf(format, args...)} }

func clientKey(id string) string { return "oauth/client/" + hashHex(id) }

// lookupClient returns the client named by id: a registered client from
// the store, or the client whose metadata document is at id. Errors that
// are the client's fault are *errClient.
func (s *Server) lookupClient(ctx context.Context, r *http.Request, id string) (*client, error) {
	if id == "" {
		return nil, clientErrorf("client_id is missing")
	}
	if len(id) > maxURIBytes {
		return nil, clientErrorf("client_id is too long")
	}
	if strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://") {
		if s.cimd.Disable {
			return nil, clientErrorf("this server does not accept client metadata documents: register the client")
		}
		return s.metadataClient(ctx, r, id)
	}
	item, err := s.store.Get(ctx, clientKey(id))
	if errors.Is(err, state.ErrNotFound) {
		return nil, clientErrorf("unknown client_id: register the client again")
	}
	if err != nil {
		return nil, fmt.Errorf("authserver: reading client: %w", err)
	}
	var c client
	if err := json.Unmarshal(item.Value, &c); err != nil {
		return nil, fmt.Errorf("authserver: decoding client: %w", err)
	}
	return &c, nil
}

// touchClient extends a registered client's life to cover a grant that
// lives until until.
func (s *Server) touchClient(ctx context.Context, c *client, until time.Time) {
	if c.Document {
		return
	}
	item, err := s.store.Get(ctx, clientKey(c.ID))
	if err != nil || item.Expires.IsZero() || !item.Expires.Before(until) {
		return
	}
	// A lost race means someone else extended it: fine either way.
	s.store.Put(ctx, clientKey(c.ID), item.Value, state.PutOptions{IfVersion: item.Version, TTL: until.Sub(s.now()) + time.Hour})
}

// checkRedirectURI applies the redirect URI rules to a URI a client
// registers: an absolute https URI, or http on a loopback host (any port
// is then accepted at authorization, RFC 8252 §7.3); no fragment, no user
// information, no wildcard.
func checkRedirectURI(raw string) error {
	if len(raw) > maxURIBytes {
		return errors.New("redirect URI too long")
	}
	if strings.ContainsAny(raw, "*#\\ \t\r\n") {
		return fmt.Errorf("redirect URI %q: no wildcards, fragments, backslashes or spaces", raw)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("redirect URI %q is not an absolute URL", raw)
	}
	if u.User != nil {
		return fmt.Errorf("redirect URI %q carries user information", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("redirect URI %q: http is only for loopback hosts (127.0.0.1, [::1], localhost); use https", raw)
		}
	default:
		return fmt.Errorf("redirect URI %q: want https, or http on a loopback host", raw)
	}
	return nil
}

// matchRedirectURI returns the registered redirect URI that requested
// matches: the same string, or, for http on a loopback host, the same
// URI on another port (RFC 8252 §7.3: native apps listen on an ephemeral
// port). Nothing else: no prefixes, no other paths or hosts.
func matchRedirectURI(registered []string, requested string) (string, bool) {
	if slices.Contains(registered, requested) {
		return requested, true
	}
	if checkRedirectURI(requested) != nil {
		return "", false
	}
	req, _ := url.Parse(requested)
	if req.Scheme != "http" {
		return "", false
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || reg.Scheme != "http" || !isLoopbackHost(reg.Hostname()) {
			continue
		}
		if reg.Hostname() == req.Hostname() && reg.EscapedPath() == req.EscapedPath() && reg.RawQuery == req.RawQuery {
			return requested, true
		}
	}
	return "", false
}

// checkGrantTypes validates grant_types and response_types, filling in
// RFC 7591's defaults.
func checkGrantTypes(grants, responses []string) ([]string, error) {
	if len(grants) == 0 {
		grants = []string{"authorization_code"}
	}
	for _, g := range grants {
		if g != "authorization_code" && g != "refresh_token" {
			return nil, fmt.Errorf("grant type %q is not supported: authorization_code and refresh_token only", g)
		}
	}
	if !slices.Contains(grants, "authorization_code") {
		return nil, errors.New("grant_types must include authorization_code")
	}
	for _, rt := range responses {
		if rt != "code" {
			return nil, fmt.Errorf("response type %q is not supported: code only", rt)
		}
	}
	slices.Sort(grants)
	return slices.Compact(grants), nil
}

// cleanName makes a client-chosen name safe to show: printable, one line,
// bounded.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > maxClientName {
		s = string(r[:maxClientName]) + "…"
	}
	return s
}

// serveRegister is the Dynamic Client Registration endpoint (RFC 7591).
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodPost) {
		return
	}
	ctx := r.Context()
	ok, retry, err := s.limit(ctx, "register", sourceAddr(r), s.regRate)
	if err != nil {
		s.logger.ErrorContext(ctx, "authserver: rate limiter failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", "")
		return
	}
	if !ok {
		s.logger.WarnContext(ctx, "authserver: registration refused: rate limit", "source", sourceAddr(r))
		w.Header().Set("Retry-After", fmt.Sprint(int(retry.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "temporarily_unavailable", "too many registrations from this address; try again later", "")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRegistrationBytes+1))
	if err != nil || len(body) > maxRegistrationBytes {
		writeError(w, http.StatusBadRequest, "invalid_client_metadata", "registration request unreadable or larger than 16 KiB", "")
		return
	}
	var meta oauthex.ClientRegistrationMetadata
	if err := json.Unmarshal(body, &meta); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_client_metadata", "registration request is not client metadata JSON: "+err.Error(), "")
		return
	}
	if len(meta.RedirectURIs) == 0 || len(meta.RedirectURIs) > maxRedirectURIs {
		writeError(w, http.StatusBadRequest, "invalid_redirect_uri", fmt.Sprintf("register 1 to %d redirect_uris", maxRedirectURIs), "")
		return
	}
	for _, u := range meta.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_redirect_uri", err.Error(), "")
			return
		}
	}
	grants, err := checkGrantTypes(meta.GrantTypes, meta.ResponseTypes)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_client_metadata", err.Error(), "")
		return
	}
	method := meta.TokenEndpointAuthMethod
	if method == "" {
		method = "client_secret_basic" // RFC 7591 §2
	}
	if method != "none" && method != "client_secret_basic" && method != "client_secret_post" {
		writeError(w, http.StatusBadRequest, "invalid_client_metadata", "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post", "")
		return
	}
	if meta.ClientURI != "" {
		if u, err := url.Parse(meta.ClientURI); err != nil || u.Scheme != "https" || len(meta.ClientURI) > maxURIBytes {
			meta.ClientURI = "" // shown as a link: https only
		}
	}
	now := s.now()
	c := &client{
		ID:           "c_" + rand.Text(),
		Name:         cleanName(meta.ClientName),
		URI:          meta.ClientURI,
		RedirectURIs: slices.Clone(meta.RedirectURIs),
		GrantTypes:   grants,
		AuthMethod:   method,
		Issued:       now.Unix(),
	}
	resp := oauthex.ClientRegistrationResponse{
		ClientRegistrationMetadata: oauthex.ClientRegistrationMetadata{
			RedirectURIs:            c.RedirectURIs,
			TokenEndpointAuthMethod: method,
			GrantTypes:              grants,
			ResponseTypes:           []string{"code"},
			ClientName:              c.Name,
			ClientURI:               c.URI,
			ApplicationType:         meta.ApplicationType,
		},
		ClientID:         c.ID,
		ClientIDIssuedAt: time.Unix(now.Unix(), 0),
	}
	var secret string
	if method != "none" {
		secret = rand.Text() + rand.Text()
		c.SecretHash = hashHex(secret)
		resp.ClientSecret = secret
		// client_secret_expires_at 0: the secret lives as long as the client.
	}
	value, _ := json.Marshal(c)
	if _, err := s.store.Put(ctx, clientKey(c.ID), value, state.PutOptions{IfAbsent: true, TTL: s.clientTTL}); err != nil {
		s.logger.ErrorContext(ctx, "authserver: storing client failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "try again later", "")
		return
	}
	s.logger.InfoContext(ctx, "authserver: client registered", "client_id", c.ID, "client_name", c.Name, "auth_method", method)
	b, err := json.Marshal(&resp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "encoding the response failed", "")
		return
	}
	if secret != "" {
		// ClientRegistrationResponse omits a zero expiry; RFC 7591 requires
		// client_secret_expires_at with a secret.
		var m map[string]any
		json.Unmarshal(b, &m)
		m["client_secret_expires_at"] = 0
		b, _ = json.Marshal(m)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(b)
}

// authenticateClient identifies the client of a token or revocation
// request: client_id (form) for public clients, plus the secret (HTTP
// Basic or form) for confidential ones. It returns an OAuth error code
// ("invalid_client", "invalid_request") and description on failure, and
// whether the client tried HTTP Basic.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request) (c *client, code, desc string, basic bool) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		basic = true
		var err1, err2 error
		u, err1 = url.QueryUnescape(u)
		p, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil || (id != "" && id != u) || secret != "" {
			return nil, "invalid_request", "conflicting or malformed client credentials", basic
		}
		id, secret = u, p
	}
	if id == "" {
		return nil, "invalid_client", "client_id is missing", basic
	}
	c, err := s.lookupClient(ctx, r, id)
	if err != nil {
		var ce *errClient
		if errors.As(err, &ce) {
			return nil, "invalid_client", ce.msg, basic
		}
		s.logger.ErrorContext(ctx, "authserver: client lookup failed", "err", err)
		return nil, "temporarily_unavailable", "try again later", basic
	}
	switch c.AuthMethod {
	case "none":
		if secret != "" {
			return nil, "invalid_client", "this client is public: it has no secret", basic
		}
	default:
		sum := hashHex(secret)
		if secret == "" || subtle.ConstantTimeCompare([]byte(sum), []byte(c.SecretHash)) != 1 {
			return nil, "invalid_client", "client authentication failed", basic
		}
	}
	return c, "", "", basic
}

// hashHex is the hex SHA-256 of s: how codes, refresh tokens, secrets and
// client ids are kept in the store.
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x", sum)
}
