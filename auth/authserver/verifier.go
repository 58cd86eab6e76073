package authserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/auth"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/state"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// Verifier returns the auth.JWTVerifier for the server's access tokens at
// resource, one of the server's resources: a plain auth.NewJWTVerifier
// (issuer, audience resource, RequireAccessTokenType) whose key set is
// fetched from the server in this process, without a network round trip.
// opts may set the verifier's other options; JWKSURL, HTTPClient and
// RequireAccessTokenType are set by Verifier, and MinRefreshInterval
// defaults to a millisecond: fetching the key set in this process costs
// no network round trip, so a token signed by a key made current a moment
// ago verifies at once. A resource server in
// another process uses auth.NewJWTVerifier(issuer, resource,
// &auth.JWTOptions{RequireAccessTokenType: true}) instead, which discovers
// the key set from the server's metadata.
func (s *Server) Verifier(resource string, opts *auth.JWTOptions) (*auth.JWTVerifier, error) {
	found := false
	for _, r := range s.resources {
		found = found || r == resource
	}
	if !found {
		return nil, fmt.Errorf("authserver: %q is not a resource of this server", resource)
	}
	var o auth.JWTOptions
	if opts != nil {
		o = *opts
	}
	o.JWKSURL = s.JWKSURL()
	o.RequireAccessTokenType = true
	o.HTTPClient = &http.Client{Transport: inProcess{s}}
	if o.MinRefreshInterval == 0 {
		o.MinRefreshInterval = time.Millisecond
	}
	return auth.NewJWTVerifier(s.issuer, resource, &o)
}

// inProcess is a RoundTripper that answers requests for the server's
// URLs with the server itself.
type inProcess struct{ s *Server }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.String(), t.s.origin+"/") {
		return nil, fmt.Errorf("authserver: %s is not a URL of this server", req.URL.Redacted())
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	t.s.ServeHTTP(rec, req)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rec.status, http.StatusText(rec.status)),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the ResponseWriter of an in-process request.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// RevocationCheck returns a token verifier that runs next and then, for
// tokens of this server, checks that their grant has not been revoked
// (at the revocation endpoint, or because a refresh token or code was
// replayed): one store read per request, so that revocation ends access at
// once rather than when the access token expires. Tokens of other issuers
// pass as next decided. Use it around the verifier of the resource server:
//
//	rs := auth.NewResourceServer(resource, as.RevocationCheck(verifier.Verify), opts)
func (s *Server) RevocationCheck(next sdkauth.TokenVerifier) sdkauth.TokenVerifier {
	return func(ctx context.Context, token string, r *http.Request) (*sdkauth.TokenInfo, error) {
		ti, err := next(ctx, token, r)
		if err != nil || ti == nil {
			return ti, err
		}
		id, ok := ti.Extra[identity.TokenInfoKey].(*identity.Identity)
		if !ok || id.Issuer != s.issuer {
			return ti, nil
		}
		sid, _ := id.Claims["sid"].(string)
		if sid == "" {
			return nil, fmt.Errorf("%w: token has no grant", sdkauth.ErrInvalidToken)
		}
		if _, err := s.store.Get(ctx, grantKey(sid)); err != nil {
			if errors.Is(err, state.ErrNotFound) {
				return nil, fmt.Errorf("%w: the grant was revoked", sdkauth.ErrInvalidToken)
			}
			return nil, fmt.Errorf("authserver: checking revocation: %w", err)
		}
		return ti, nil
	}
}
