package authserver

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Defaults of [Options].
const (
	DefaultAccessTokenTTL  = 5 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultCodeTTL         = time.Minute
	DefaultSignInTTL       = 10 * time.Minute
	DefaultClientTTL       = 180 * 24 * time.Hour
	DefaultKeyCacheTime    = 5 * time.Minute
)

// The paths of the endpoints, after the issuer's path.
const (
	PathAuthorize = "/oauth/authorize"
	PathToken     = "/oauth/token"
	PathRegister  = "/oauth/register"
	PathRevoke    = "/oauth/revoke"
	PathCallback  = "/oauth/callback"
	PathConsent   = "/oauth/consent"
	PathJWKS      = "/oauth/jwks"
)

// The well-known metadata path prefixes (RFC 8414, OpenID Connect
// Discovery).
const (
	WellKnownAuthorizationServer = "/.well-known/oauth-authorization-server"
	WellKnownOpenIDConfiguration = "/.well-known/openid-configuration"
)

// Upstream is the OpenID Connect provider users sign in at (Amazon Cognito's
// hosted UI, or any provider with discovery), through one client of ours
// registered there: a confidential client whose callback URL is the
// server's issuer + [PathCallback].
type Upstream struct {
	// Issuer is the provider's issuer; its endpoints are discovered at
	// Issuer + "/.well-known/openid-configuration" (for Cognito,
	// auth.CognitoIssuer(region, poolID), with a domain configured on the
	// pool). It must be https, or http on a loopback host. Required.
	Issuer string
	// ClientID and ClientSecret are our client's credentials at the
	// provider. ClientID is required; an empty ClientSecret means a public
	// client (PKCE only).
	ClientID     string
	ClientSecret string
	// Scopes are requested at the provider. If empty, "openid email".
	// "openid" is always requested.
	Scopes []string
	// HTTPClient reaches the provider. If nil, a client with a 10 second
	// timeout.
	HTTPClient *http.Client
}

// ClientMetadataOptions configures how the server fetches OAuth Client ID
// Metadata Documents (clients whose client_id is an https URL). The zero
// value is the safe default.
type ClientMetadataOptions struct {
	// Disable turns Client ID Metadata Documents off: only registered
	// clients can sign in.
	Disable bool
	// MaxBytes bounds a document. If zero, 5 KiB, as the draft suggests.
	MaxBytes int64
	// Timeout bounds a whole fetch, redirects included. If zero, 5 seconds.
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed, each checked like the
	// first URL. If zero, 3; negative means none.
	MaxRedirects int
	// MinCacheTTL and MaxCacheTTL bound how long a fetched document is
	// used: its Cache-Control max-age (or one hour without one) within
	// these bounds. If zero, one minute and one day.
	MinCacheTTL, MaxCacheTTL time.Duration
	// RootCAs verifies the TLS certificates of metadata hosts. If nil, the
	// system roots.
	RootCAs *x509.CertPool

	// AllowLoopback lets documents be fetched from loopback addresses (an
	// httptest server). FOR TESTS ONLY, never in a deployed server: it lets
	// anyone who picks a client_id make the server fetch from its own
	// loopback interface. Private, link-local and cloud metadata addresses
	// stay refused.
	AllowLoopback bool
}

// Rate is a number of requests allowed per period.
type Rate struct {
	Count int
	Per   time.Duration
}

// Options configures [New]. A nil *Options means all defaults; the struct
// is copied.
type Options struct {
	// Store keeps sign-ins in progress, registered clients, authorization
	// codes, grants and refresh tokens (hashes of codes and tokens, never
	// the tokens), with TTLs, and the rate limiter's counters. Every
	// instance of the server must share it: in Lambda, a DynamoDB table
	// (package dynamo). If nil, a state.Memory of this process; New
	// refuses that inside Lambda.
	Store state.Store
	// Keys signs access tokens. If nil, a key generated at New
	// ([GenerateKey]), which only a single process can use; New refuses
	// that inside Lambda.
	Keys KeySource
	// KeyCacheTime is how long the answer of Keys is used. If zero,
	// [DefaultKeyCacheTime].
	KeyCacheTime time.Duration

	// Scopes are the scopes the server grants (scopes_supported). Requested
	// scopes outside it are ignored.
	Scopes []string
	// DefaultScopes are the scopes of Scopes every user who signs in may
	// be granted. If nil, all of Scopes; an empty non-nil slice means
	// none but those of the user's groups.
	DefaultScopes []string
	// GroupScopes maps the upstream provider's groups (GroupsClaim of the
	// ID token) to scopes their members may be granted in addition.
	GroupScopes map[string][]string
	// GroupsClaim is the ID token claim listing the user's groups. If
	// empty, "groups" and "cognito:groups" (Amazon Cognito) are read.
	GroupsClaim string
	// ScopeMatcher decides whether a scope a user may be granted covers a
	// requested one. If nil, auth.ScopeHierarchy(":/"), as package auth's
	// resource server uses by default.
	ScopeMatcher auth.ScopeMatcher
	// RequireVerifiedEmail refuses users whose ID token has no email, or
	// an email the provider has not verified (email_verified). The email
	// is never the user's identity (see [Subject]); this is a policy for
	// providers where anyone may sign up.
	RequireVerifiedEmail bool

	// AccessTokenTTL is the lifetime of access tokens. If zero,
	// [DefaultAccessTokenTTL] (5 minutes): revoking a grant ends access at
	// once only for servers that check revocation
	// ([Server.RevocationCheck]), and after this time for the others.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long a grant, and so its refresh tokens,
	// lives after the user approved it. If zero, [DefaultRefreshTokenTTL].
	// Refreshing does not ask the upstream provider again, so a user
	// disabled there keeps the grants already approved until then.
	RefreshTokenTTL time.Duration
	// CodeTTL is the lifetime of authorization codes. If zero,
	// [DefaultCodeTTL].
	CodeTTL time.Duration
	// SignInTTL bounds a sign-in, from the authorization request to the
	// user's consent. If zero, [DefaultSignInTTL].
	SignInTTL time.Duration

	// DisableRegistration turns Dynamic Client Registration (RFC 7591)
	// off; clients then use Client ID Metadata Documents.
	DisableRegistration bool
	// ClientTTL is how long a registered client lives. If zero,
	// [DefaultClientTTL]; each authorization extends it.
	ClientTTL time.Duration
	// RegistrationRate bounds registrations per source address (per /64
	// for IPv6), counted in Store so that it holds across instances. If
	// zero, 20 per hour.
	RegistrationRate Rate
	// ClientMetadata configures Client ID Metadata Documents.
	ClientMetadata ClientMetadataOptions

	// Name is the service's name on the consent page. If empty, the
	// issuer's host.
	Name string
	// Logger receives one line per registration, grant, refusal worth
	// knowing about and detected attack (never a token, code, secret or
	// email address). If nil, nothing is logged.
	Logger *slog.Logger
}

// A Server is an OAuth 2.1 authorization server for MCP servers: it signs
// users in at an upstream OpenID Connect provider and issues its own
// access tokens, for clients that register dynamically (RFC 7591) or
// identify themselves with a Client ID Metadata Document. See the package
// documentation. A Server is safe for concurrent use.
type Server struct {
	// Set at construction.
	issuer       string
	base         string // the issuer's path, "" or "/prod"
	origin       string // scheme://host of the issuer
	secure       bool   // https: cookies are Secure
	resources    []string
	upstream     Upstream
	upstreamHTTP *http.Client
	store        state.Store
	keys         KeySource
	keyCache     time.Duration
	scopes       []string
	defScopes    []string
	groupScopes  map[string][]string
	groupsClaim  string
	covers       auth.ScopeMatcher
	verifiedMail bool
	accessTTL    time.Duration
	refreshTTL   time.Duration
	codeTTL      time.Duration
	signInTTL    time.Duration
	clientTTL    time.Duration
	noDCR        bool
	regRate      Rate
	cimd         ClientMetadataOptions
	cimdClient   *http.Client
	name         string
	logger       *slog.Logger
	now          func() time.Time // replaced in tests
	metadata     []byte           // RFC 8414 document

	mu          sync.Mutex // guards the fields below
	keySet      *KeySet
	keysFetched time.Time
	upMeta      *upstreamMetadata
}

// New returns an authorization server whose issuer identifier is issuer
// (the URL its endpoints live under, such as "https://mcp.example.com";
// tokens carry it as iss), issuing access tokens for resources (the
// canonical URIs of the MCP servers it protects, such as
// "https://mcp.example.com/mcp") to users who sign in at upstream.
//
// It returns an error if issuer or a resource is not an absolute URL
// (https, or http on a loopback host), if upstream lacks its issuer or
// client id, or if, inside AWS Lambda, Options.Store or Options.Keys is
// unset.
func New(issuer string, resources []string, upstream Upstream, opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	iu, err := checkServerURL("issuer", issuer)
	if err != nil {
		return nil, err
	}
	if iu.Path == "/" {
		return nil, fmt.Errorf("authserver: issuer %q: leave out the trailing slash", issuer)
	}
	if len(resources) == 0 {
		return nil, errors.New("authserver: no resources: name the canonical URI of each MCP server tokens are for")
	}
	for _, r := range resources {
		if _, err := checkServerURL("resource", r); err != nil {
			return nil, err
		}
	}
	if _, err := checkServerURL("upstream issuer", upstream.Issuer); err != nil {
		return nil, err
	}
	if upstream.ClientID == "" {
		return nil, errors.New("authserver: upstream client id is required")
	}
	inLambda := os.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	if inLambda && (o.Store == nil || o.Keys == nil) {
		return nil, errors.New("authserver: in Lambda, Options.Store and Options.Keys must be set, so that every instance shares them")
	}
	s := &Server{
		issuer:       issuer,
		base:         strings.TrimSuffix(iu.Path, "/"),
		origin:       iu.Scheme + "://" + iu.Host,
		secure:       iu.Scheme == "https",
		resources:    slices.Clone(resources),
		upstream:     upstream,
		upstreamHTTP: upstream.HTTPClient,
		store:        o.Store,
		keys:         o.Keys,
		keyCache:     o.KeyCacheTime,
		scopes:       slices.Clone(o.Scopes),
		defScopes:    slices.Clone(o.DefaultScopes),
		groupScopes:  make(map[string][]string, len(o.GroupScopes)),
		groupsClaim:  o.GroupsClaim,
		covers:       o.ScopeMatcher,
		verifiedMail: o.RequireVerifiedEmail,
		accessTTL:    o.AccessTokenTTL,
		refreshTTL:   o.RefreshTokenTTL,
		codeTTL:      o.CodeTTL,
		signInTTL:    o.SignInTTL,
		clientTTL:    o.ClientTTL,
		noDCR:        o.DisableRegistration,
		regRate:      o.RegistrationRate,
		cimd:         o.ClientMetadata,
		name:         o.Name,
		logger:       o.Logger,
		now:          time.Now,
	}
	s.upstream.Scopes = slices.Clone(upstream.Scopes)
	for g, sc := range o.GroupScopes {
		s.groupScopes[g] = slices.Clone(sc)
	}
	if o.DefaultScopes == nil {
		s.defScopes = slices.Clone(s.scopes)
	}
	if s.store == nil {
		s.store = state.NewMemory(nil)
	}
	if s.keys == nil {
		k, err := GenerateKey()
		if err != nil {
			return nil, err
		}
		s.keys = StaticKeys(k)
	}
	if s.upstreamHTTP == nil {
		s.upstreamHTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if s.covers == nil {
		s.covers = auth.ScopeHierarchy(":/")
	}
	setDefault(&s.keyCache, DefaultKeyCacheTime)
	setDefault(&s.accessTTL, DefaultAccessTokenTTL)
	setDefault(&s.refreshTTL, DefaultRefreshTokenTTL)
	setDefault(&s.codeTTL, DefaultCodeTTL)
	setDefault(&s.signInTTL, DefaultSignInTTL)
	setDefault(&s.clientTTL, DefaultClientTTL)
	if s.regRate.Count <= 0 || s.regRate.Per <= 0 {
		s.regRate = Rate{Count: 20, Per: time.Hour}
	}
	if s.name == "" {
		s.name = iu.Host
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.cimdClient = s.newMetadataClient()
	if s.metadata, err = json.Marshal(s.Metadata()); err != nil {
		return nil, fmt.Errorf("authserver: %w", err)
	}
	return s, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// checkServerURL checks that raw is an absolute https URL (http for a
// loopback host) without query or fragment.
func checkServerURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("authserver: %s %q is not an absolute URL without query or fragment", what, raw)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !isLoopbackHost(u.Hostname())) {
		return nil, fmt.Errorf("authserver: %s %q: want https (http only for a loopback host)", what, raw)
	}
	return u, nil
}

// Issuer returns the server's issuer identifier.
func (s *Server) Issuer() string { return s.issuer }

// JWKSURL returns the URL of the server's JSON Web Key Set.
func (s *Server) JWKSURL() string { return s.issuer + PathJWKS }

// CallbackURL returns the redirect URI to register for the server's
// client at the upstream provider.
func (s *Server) CallbackURL() string { return s.issuer + PathCallback }

// Metadata returns the server's RFC 8414 authorization server metadata.
func (s *Server) Metadata() *oauthex.AuthServerMeta {
	methods := []string{"none", "client_secret_basic", "client_secret_post"}
	m := &oauthex.AuthServerMeta{
		Issuer:                                     s.issuer,
		AuthorizationEndpoint:                      s.issuer + PathAuthorize,
		TokenEndpoint:                              s.issuer + PathToken,
		JWKSURI:                                    s.JWKSURL(),
		ScopesSupported:                            slices.Clone(s.scopes),
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethodsSupported:          methods,
		RevocationEndpoint:                         s.issuer + PathRevoke,
		RevocationEndpointAuthMethodsSupported:     methods,
		CodeChallengeMethodsSupported:              []string{"S256"},
		ClientIDMetadataDocumentSupported:          !s.cimd.Disable,
		AuthorizationResponseIssParameterSupported: true,
	}
	if !s.noDCR {
		m.RegistrationEndpoint = s.issuer + PathRegister
	}
	return m
}

// Handler returns next with the server's endpoints in front of it:
// requests for the server's paths (the well-known metadata paths, and
// [PathAuthorize] and the other endpoints under the issuer's path) are
// answered by s, all others go to next. Mount it around the MCP handler,
// outside package auth's resource server:
//
//	Middleware: func(h http.Handler) http.Handler { return as.Handler(rs.Handler(h)) }
func (s *Server) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := s.route(r.URL.Path); h != nil {
			s.serve(w, r, h)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the server's endpoints alone, for an authorization
// server that has a function (or a listener) of its own; other paths get
// 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.route(r.URL.Path)
	if h == nil {
		writeError(w, http.StatusNotFound, "invalid_request", "no such endpoint", "")
		return
	}
	s.serve(w, r, h)
}

// serve runs an endpoint after the checks every request needs.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	// A loopback listener reached with a foreign Host is a DNS rebinding
	// attack: a web page whose name now points at 127.0.0.1.
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && isLoopbackHostPort(local.String()) && !isLoopbackHostPort(r.Host) {
		writeError(w, http.StatusForbidden, "invalid_request", "invalid Host header", "")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h(w, r)
}

// route returns the endpoint serving path p, or nil. The issuer's path
// may or may not be in p: in Lambda, mcplambda removes an API Gateway
// stage before the handler sees the path.
func (s *Server) route(p string) http.HandlerFunc {
	for _, wk := range []string{WellKnownAuthorizationServer, WellKnownOpenIDConfiguration} {
		if p == wk || p == wk+s.base || (s.base != "" && p == s.base+wk) {
			return s.serveMetadata
		}
	}
	rel := p
	if s.base != "" {
		if r, ok := strings.CutPrefix(p, s.base); ok && strings.HasPrefix(r, "/") {
			rel = r
		}
	}
	switch rel {
	case PathAuthorize:
		return s.serveAuthorize
	case PathCallback:
		return s.serveCallback
	case PathConsent:
		return s.serveConsent
	case PathToken:
		return s.serveToken
	case PathRevoke:
		return s.serveRevoke
	case PathJWKS:
		return s.serveJWKS
	case PathRegister:
		if !s.noDCR {
			return s.serveRegister
		}
	}
	return nil
}

// allow refuses requests of another method than the endpoint's, with 405.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) || (r.Method == http.MethodHead && slices.Contains(methods, http.MethodGet)) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method "+r.Method+" not allowed", "")
	return false
}

// serveMetadata serves the RFC 8414 document, also at the OpenID Connect
// discovery paths, which some clients (and auth.JWTVerifier) try first.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	publicCORS(h)
	w.Write(s.metadata)
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if !allow(w, r, http.MethodGet) {
		return
	}
	set, err := s.keySetFor(r.Context())
	if err != nil {
		s.logger.ErrorContext(r.Context(), "authserver: signing keys unavailable", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "signing keys unavailable", "")
		return
	}
	b, err := set.jwks()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "encoding the key set failed", "")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age=300")
	publicCORS(h)
	w.Write(b)
}

// publicCORS lets any origin read a public document, unless an outer
// handler (mcplambda's origin check) has already answered for the
// request's origin.
func publicCORS(h http.Header) {
	if h.Get("Access-Control-Allow-Origin") == "" {
		h.Set("Access-Control-Allow-Origin", "*")
	}
}

// keySetFor returns the keys in force, from the cache when fresh.
func (s *Server) keySetFor(ctx context.Context) (*KeySet, error) {
	s.mu.Lock()
	set, fetched := s.keySet, s.keysFetched
	s.mu.Unlock()
	if set != nil && s.now().Sub(fetched) < s.keyCache {
		return set, nil
	}
	fresh, err := s.keys(ctx)
	if err == nil {
		c := *fresh
		c.Previous, c.Next = slices.Clone(fresh.Previous), slices.Clone(fresh.Next)
		if err = c.check(); err == nil {
			s.mu.Lock()
			s.keySet, s.keysFetched = &c, s.now()
			s.mu.Unlock()
			return &c, nil
		}
	}
	if set != nil {
		s.logger.WarnContext(ctx, "authserver: refreshing signing keys failed; using the cached ones", "err", err)
		return set, nil
	}
	return nil, err
}

// errorBody is an OAuth error response (RFC 6749 §5.2).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeError is the one way an endpoint refuses a request that is not a
// browser's: an OAuth error in JSON. challenge, if set, is sent as
// WWW-Authenticate (a failed client authentication).
func writeError(w http.ResponseWriter, status int, code, description, challenge string) {
	b, _ := json.Marshal(errorBody{Error: code, Description: description})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	w.WriteHeader(status)
	w.Write(b)
}

// writeJSON answers 200 (or status) with v.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "encoding the response failed", "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func isLoopbackHostPort(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return isLoopbackHost(host)
}
