package authserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mcplambda/mcplambda/state"
)

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document):
// a client_id that is an https URL names a JSON document of the client's
// metadata. Fetching it is a request to a URL any client may choose, so
// the fetch is held to strict limits (see ClientMetadataOptions): https
// only, no private, loopback, link-local or cloud metadata addresses
// (checked on the address actually dialed, so that a DNS answer changed
// between a check and the connection cannot get through), few redirects,
// each checked like the first URL, a size and a time limit, no proxy.

// Defaults of ClientMetadataOptions.
const (
	defaultCIMDMaxBytes  = 5 << 10
	defaultCIMDTimeout   = 5 * time.Second
	defaultCIMDRedirects = 3
	defaultCIMDMinCache  = time.Minute
	defaultCIMDMaxCache  = 24 * time.Hour
	defaultCIMDCache     = time.Hour
)

// cimdRate bounds the document fetches (cache misses) one source may cause.
var cimdRate = Rate{Count: 30, Per: time.Minute}

// errForbiddenAddress is a dial to an address metadata may not come from.
var errForbiddenAddress = errors.New("address not allowed")

// newMetadataClient returns the HTTP client that fetches metadata
// documents.
func (s *Server) newMetadataClient() *http.Client {
	o := &s.cimd
	if o.MaxBytes <= 0 {
		o.MaxBytes = defaultCIMDMaxBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultCIMDTimeout
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = defaultCIMDRedirects
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	if o.MinCacheTTL <= 0 {
		o.MinCacheTTL = defaultCIMDMinCache
	}
	if o.MaxCacheTTL <= 0 {
		o.MaxCacheTTL = defaultCIMDMaxCache
	}
	allowLoopback := o.AllowLoopback
	dialer := &net.Dialer{
		Timeout: o.Timeout,
		// Control sees the address being dialed, after name resolution:
		// the one place a DNS answer cannot be swapped behind our back.
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			addr, err := netip.ParseAddr(host)
			if err != nil || !publicAddr(addr, allowLoopback) {
				return fmt.Errorf("%w: %s", errForbiddenAddress, host)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us, unchecked
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    o.Timeout,
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           10,
		IdleConnTimeout:        30 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	maxRedirects := o.MaxRedirects
	return &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return checkFetchURL(req.URL, allowLoopback)
		},
	}
}

// publicAddr reports whether addr is a public unicast address that a
// metadata document may be fetched from.
func publicAddr(addr netip.Addr, allowLoopback bool) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() {
		return allowLoopback
	}
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		// Unspecified, multicast, link-local (169.254.0.0/16 with the
		// instance metadata service, fe80::/10), 10/8, 172.16/12,
		// 192.168/16, fc00::/7 (fd00:ec2::254, EC2's IPv6 metadata).
		return false
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// forbiddenPrefixes are the special-purpose ranges IsGlobalUnicast and
// IsPrivate let through.
var forbiddenPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // carrier-grade NAT, shared address space
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved
		"64:ff9b::/96",    // NAT64: would reach IPv4 addresses unchecked
		"64:ff9b:1::/48",  // local-use NAT64
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4: embeds an IPv4 address
		"2001::/32",       // Teredo: embeds an IPv4 address
		"100::/64",        // discard-only
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// checkFetchURL checks a metadata URL, or a redirect's target: https, a
// host, no user information, and no literal address that may not be
// fetched (the dialer checks names once resolved).
func checkFetchURL(u *url.URL, allowLoopback bool) error {
	if u.Scheme != "https" {
		return fmt.Errorf("%s: not https", u.Redacted())
	}
	if u.User != nil || u.Host == "" {
		return errors.New("URL with user information or without host")
	}
	if addr, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !publicAddr(addr, allowLoopback) {
		return fmt.Errorf("%w: %s", errForbiddenAddress, addr)
	}
	return nil
}

// checkClientIDURL applies the draft's rules for a client identifier URL:
// https, a host, a path other than "/", no dot segments, no fragment, no
// user information.
func checkClientIDURL(id string) (*url.URL, error) {
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return nil, clientErrorf("client_id %q: a client identifier URL must be an absolute https URL", id)
	}
	if u.Fragment != "" || strings.Contains(id, "#") || u.User != nil {
		return nil, clientErrorf("client_id %q: no fragment or user information allowed", id)
	}
	if u.Path == "" || u.Path == "/" {
		return nil, clientErrorf("client_id %q: the URL must have a path", id)
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") {
			return nil, clientErrorf("client_id %q: no dot segments allowed", id)
		}
	}
	return u, nil
}

// cimdDocument is a Client ID Metadata Document, the members we read.
type cimdDocument struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	ClientSecret            *string  `json:"client_secret"`
	ClientSecretExpiresAt   *int64   `json:"client_secret_expires_at"`
}

// metadataClient returns the client described by the metadata document at
// id, from the store's cache or fetched. Errors are *errClient unless the
// store fails.
func (s *Server) metadataClient(ctx context.Context, r *http.Request, id string) (*client, error) {
	u, err := checkClientIDURL(id)
	if err != nil {
		return nil, err
	}
	key := "oauth/cimd/" + hashHex(id)
	if item, err := s.store.Get(ctx, key); err == nil {
		var c client
		if json.Unmarshal(item.Value, &c) == nil {
			return &c, nil
		}
	} else if !errors.Is(err, state.ErrNotFound) {
		return nil, fmt.Errorf("authserver: reading cached client metadata: %w", err)
	}
	ok, _, err := s.limit(ctx, "cimd", sourceAddr(r), cimdRate)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, clientErrorf("too many client metadata fetches from this address; try again later")
	}
	c, ttl, err := s.fetchMetadata(ctx, u)
	if err != nil {
		s.logger.WarnContext(ctx, "authserver: client metadata document refused", "client_id", id, "err", err)
		return nil, clientErrorf("client metadata document %s cannot be used: %v", id, err)
	}
	value, _ := json.Marshal(c)
	if _, err := s.store.Put(ctx, key, value, state.PutOptions{TTL: ttl}); err != nil {
		s.logger.WarnContext(ctx, "authserver: caching client metadata failed", "err", err)
	}
	return c, nil
}

// fetchMetadata fetches and validates the document at u, returning the
// client and how long to cache it.
func (s *Server) fetchMetadata(ctx context.Context, u *url.URL) (*client, time.Duration, error) {
	if err := checkFetchURL(u, s.cimd.AllowLoopback); err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cimd.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.cimdClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("answered %s", resp.Status)
	}
	if resp.ContentLength > s.cimd.MaxBytes {
		return nil, 0, fmt.Errorf("document larger than %d bytes", s.cimd.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.cimd.MaxBytes+1))
	if err != nil {
		return nil, 0, err
	}
	if int64(len(body)) > s.cimd.MaxBytes {
		return nil, 0, fmt.Errorf("document larger than %d bytes", s.cimd.MaxBytes)
	}
	var doc cimdDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("not a JSON client metadata document: %v", err)
	}
	id := u.String()
	switch {
	case doc.ClientID != id:
		return nil, 0, fmt.Errorf("document's client_id %q is not its URL", doc.ClientID)
	case doc.ClientSecret != nil || doc.ClientSecretExpiresAt != nil:
		return nil, 0, errors.New("a metadata document may not carry a client secret")
	case doc.TokenEndpointAuthMethod != "" && doc.TokenEndpointAuthMethod != "none":
		return nil, 0, fmt.Errorf("token_endpoint_auth_method %q is not supported: none only", doc.TokenEndpointAuthMethod)
	case strings.TrimSpace(doc.ClientName) == "":
		return nil, 0, errors.New("client_name is missing")
	case len(doc.RedirectURIs) == 0 || len(doc.RedirectURIs) > maxRedirectURIs:
		return nil, 0, fmt.Errorf("want 1 to %d redirect_uris", maxRedirectURIs)
	}
	for _, ru := range doc.RedirectURIs {
		if err := checkRedirectURI(ru); err != nil {
			return nil, 0, err
		}
	}
	grants, err := checkGrantTypes(doc.GrantTypes, doc.ResponseTypes)
	if err != nil {
		return nil, 0, err
	}
	c := &client{
		ID:           id,
		Name:         cleanName(doc.ClientName),
		RedirectURIs: doc.RedirectURIs,
		GrantTypes:   grants,
		AuthMethod:   "none",
		Document:     true,
	}
	if cu, err := url.Parse(doc.ClientURI); err == nil && cu.Scheme == "https" && len(doc.ClientURI) <= maxURIBytes {
		c.URI = doc.ClientURI
	}
	return c, s.cacheTTL(resp.Header.Get("Cache-Control")), nil
}

// cacheTTL is how long to keep a document: its max-age within the
// configured bounds (no-store and no-cache mean the minimum), one hour
// without one.
func (s *Server) cacheTTL(cacheControl string) time.Duration {
	ttl := defaultCIMDCache
	for d := range strings.SplitSeq(cacheControl, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return s.cimd.MinCacheTTL
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.Trim(d[len("max-age="):], `"`)); err == nil && n >= 0 {
				ttl = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(ttl, s.cimd.MinCacheTTL), s.cimd.MaxCacheTTL)
}
