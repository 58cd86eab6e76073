package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/identity"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// WellKnownPath is the RFC 9728 well-known path prefix of protected
// resource metadata.
const WellKnownPath = "/.well-known/oauth-protected-resource"

// A ScopeMatcher reports whether a granted scope covers a required one.
type ScopeMatcher func(granted, required string) bool

// ScopeHierarchy returns the ScopeMatcher in which a scope covers itself
// and every scope that extends it after one of the separator characters
// in seps. With ScopeHierarchy(":"), "mcp" covers "mcp:tools" and
// "mcp:tools:call", "mcp:tools" covers "mcp:tools:call", and nothing covers
// "mcpx" but "mcpx" itself.
func ScopeHierarchy(seps string) ScopeMatcher {
	return func(granted, required string) bool {
		if granted == required {
			return true
		}
		rest, ok := strings.CutPrefix(required, granted)
		return ok && granted != "" && strings.ContainsRune(seps, rune(rest[0]))
	}
}

// Missing returns the required scopes that no granted scope covers, in
// the order of required; none means granted suffices.
func (m ScopeMatcher) Missing(granted, required []string) []string {
	var out []string
	for _, req := range required {
		if !slices.ContainsFunc(granted, func(g string) bool { return m(g, req) }) {
			out = append(out, req)
		}
	}
	return out
}

// Options configures [NewResourceServer]. A nil *Options means all
// defaults; the struct is copied.
type Options struct {
	// AuthorizationServers lists the issuer identifiers of the OAuth
	// authorization servers clients should get tokens from, published in
	// the protected resource metadata, such as [JWTVerifier.Issuer]. If
	// empty, none is published and clients cannot find where to sign in;
	// leave it empty only when the front door authenticates.
	AuthorizationServers []string

	// Scopes are required for every request. If empty, any authenticated
	// caller may make requests that need no tool scope.
	Scopes []string

	// ToolScopes maps tool names to the scopes a tools/call of that tool
	// needs in addition to Scopes. Tools not listed need only Scopes.
	ToolScopes map[string][]string

	// ScopesSupported is published as scopes_supported in the metadata.
	// If empty, the union of Scopes and every ToolScopes entry.
	ScopesSupported []string

	// ScopeMatcher decides whether a granted scope covers a required one.
	// If nil, ScopeHierarchy(":/"): "mcp" covers "mcp:admin" and
	// "res/tools" covers "res/tools/delete".
	ScopeMatcher ScopeMatcher

	// ResourceMetadataURL is where clients fetch the metadata, announced in
	// WWW-Authenticate. If empty, the path-inserted RFC 9728 URL, e.g.
	// https://mcp.example.com/.well-known/oauth-protected-resource/mcp for
	// resource https://mcp.example.com/mcp. When the resource sits under an
	// API Gateway stage in the URL (https://ID.execute-api.REGION.amazonaws.com/prod/mcp)
	// API Gateway never forwards paths outside the stage, so set it to a
	// URL inside the stage, e.g.
	// https://ID.execute-api.REGION.amazonaws.com/prod/.well-known/oauth-protected-resource/prod/mcp.
	ResourceMetadataURL string

	// ResourceName is the human-readable resource_name in the metadata.
	// If empty, none.
	ResourceName string

	// IAMScopes are the scopes granted to callers the front door
	// authenticated with AWS_IAM (only when the function trusts its front
	// door, mcplambda.Options.TrustFrontDoor); IAM policies,
	// not OAuth, authorize them. If empty, they have no scopes and can only
	// make requests that need none.
	IAMScopes []string

	// MaxBodyBytes bounds the request body read to find the tool a
	// tools/call names, when ToolScopes is set; larger bodies get 413. It
	// must be at least the MCP handler's own limit. If zero,
	// [mcplambda.DefaultMaxBodyBytes].
	MaxBodyBytes int64

	// Logger receives one line per refused request (status and reason,
	// never the token). If nil, nothing is logged.
	Logger *slog.Logger
}

// A ResourceServer makes an MCP endpoint an OAuth 2.1 protected resource
// as the MCP authorization specification (2025-11-25, 2026-07-28)
// requires: it serves RFC 9728 protected resource metadata, verifies
// bearer tokens (or trusts the front door, if told to), enforces scopes
// globally and per tool, and answers with the challenges MCP clients
// follow to sign in and to step up:
//
//   - no token, or a token that does not verify: 401 with
//     WWW-Authenticate: Bearer resource_metadata="...", scope="..." (plus
//     error="invalid_token" for a bad token);
//   - a token without the scopes the request needs: 403 with
//     WWW-Authenticate: Bearer error="insufficient_scope", scope="...",
//     resource_metadata="...";
//   - a token in the query string (access_token) or a malformed
//     Authorization header: 400 error="invalid_request".
//
// The scope parameter lists every scope the request needs: Scopes plus,
// for tools/call, the tool's ToolScopes.
//
// A ResourceServer is safe for concurrent use.
type ResourceServer struct {
	// Set at construction.
	resource    string
	resPath     string // path of resource
	metadataURL string
	metadata    *oauthex.ProtectedResourceMetadata
	verifier    sdkauth.TokenVerifier
	scopes      []string
	toolScopes  map[string][]string
	covers      ScopeMatcher
	iamScopes   []string
	maxBody     int64
	logger      *slog.Logger
	metaHandler http.Handler
}

// NewResourceServer returns a ResourceServer for the MCP endpoint whose
// canonical URI is resource (such as "https://mcp.example.com/mcp"; the
// audience tokens must be issued for), verifying bearer tokens with
// verifier, typically [JWTVerifier.Verify]. A request without a bearer
// token is authenticated by its front door instead when the function
// trusts it (mcplambda.Options.TrustFrontDoor; see package identity);
// verifier may be nil when that is the only way in.
//
// It panics if resource is not an absolute http(s) URL.
func NewResourceServer(resource string, verifier sdkauth.TokenVerifier, opts *Options) *ResourceServer {
	var o Options
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(resource)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		panic(fmt.Sprintf("auth: resource %q is not an absolute http(s) URL without query or fragment", resource))
	}
	rs := &ResourceServer{
		resource:    resource,
		resPath:     strings.TrimSuffix(u.Path, "/"),
		metadataURL: o.ResourceMetadataURL,
		verifier:    verifier,
		scopes:      slices.Clone(o.Scopes),
		toolScopes:  make(map[string][]string, len(o.ToolScopes)),
		covers:      o.ScopeMatcher,
		iamScopes:   slices.Clone(o.IAMScopes),
		maxBody:     o.MaxBodyBytes,
		logger:      o.Logger,
	}
	for name, s := range o.ToolScopes {
		rs.toolScopes[name] = slices.Clone(s)
	}
	if rs.metadataURL == "" {
		rs.metadataURL = u.Scheme + "://" + u.Host + WellKnownPath + rs.resPath
	}
	if rs.covers == nil {
		rs.covers = ScopeHierarchy(":/")
	}
	if rs.maxBody <= 0 {
		rs.maxBody = mcplambda.DefaultMaxBodyBytes
	}
	if rs.logger == nil {
		rs.logger = slog.New(slog.DiscardHandler)
	}
	servers := slices.Clone(o.AuthorizationServers)
	supported := slices.Clone(o.ScopesSupported)
	if len(supported) == 0 {
		supported = slices.Clone(rs.scopes)
		for _, s := range rs.toolScopes {
			supported = append(supported, s...)
		}
		slices.Sort(supported)
		supported = slices.Compact(supported)
	}
	rs.metadata = &oauthex.ProtectedResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   servers,
		ScopesSupported:        supported,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           o.ResourceName,
	}
	rs.metaHandler = sdkauth.ProtectedResourceMetadataHandler(rs.metadata)
	return rs
}

// Metadata returns the protected resource metadata rs serves. The result
// must not be modified.
func (rs *ResourceServer) Metadata() *oauthex.ProtectedResourceMetadata { return rs.metadata }

// MetadataURL returns the URL announced in WWW-Authenticate challenges.
func (rs *ResourceServer) MetadataURL() string { return rs.metadataURL }

// Handler returns next protected by rs; it has the shape of go-sdk's
// auth.RequireBearerToken middleware. Wrap the MCP handler with it:
//
//	h := rs.Handler(mcplambda.NewHandler(server, nil))
//
// It serves the protected resource metadata (GET, with CORS) at
// WellKnownPath alone, at WellKnownPath followed by the resource's path,
// and at WellKnownPath followed by any trailing part of that path (the
// resource's path as seen after an API Gateway stage or base path is
// removed). CORS preflights (OPTIONS) pass to next unauthenticated.
// Every other request must be authenticated and have the scopes it
// needs; next then sees go-sdk's TokenInfo (auth.TokenInfoFromContext,
// req.Extra.TokenInfo in handlers) and the caller (identity.FromContext), and no
// Authorization header: the client's token is never passed on, and it is
// removed from the Lambda event behind the request too
// ([mcplambda.EventFromContext]).
func (rs *ResourceServer) Handler(next http.Handler) http.Handler {
	// go-sdk keeps TokenInfo under an unexported context key that only
	// RequireBearerToken sets, and its transport reads it from there. So
	// after deciding ourselves we hand go-sdk the TokenInfo we made through
	// RequireBearerToken with a verifier that returns it as is.
	passOn := sdkauth.RequireBearerToken(
		func(ctx context.Context, _ string, _ *http.Request) (*sdkauth.TokenInfo, error) {
			ti, _ := ctx.Value(tokenInfoKey{}).(*sdkauth.TokenInfo)
			if ti == nil {
				return nil, errors.New("auth: no token info") // unreachable
			}
			return ti, nil
		},
		// Expiry was checked with the verifier's own skew; don't let a
		// second clock reading refuse a token that just passed.
		&sdkauth.RequireBearerTokenOptions{AllowMissingExpiration: true, ClockSkew: 24 * time.Hour},
	)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Authorization")
		scrubEvent(r.Context())
		next.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rs.isMetadataPath(r.URL.Path) {
			rs.metaHandler.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		ti, status, ch := rs.authorize(r)
		if status != 0 {
			rs.refuse(w, r, status, ch)
			return
		}
		ctx := context.WithValue(r.Context(), tokenInfoKey{}, ti)
		r = r.Clone(ctx)
		r.Header.Set("Authorization", "Bearer verified") // read by passOn only, then removed
		passOn.ServeHTTP(w, r)
	})
}

type tokenInfoKey struct{}

// challenge is the content of a WWW-Authenticate: Bearer challenge.
type challenge struct {
	err         string // RFC 6750 error code, or "" for a missing token
	description string
	scopes      []string
	plain       bool // not about authentication: no WWW-Authenticate
}

// authorize authenticates r and checks its scopes. On failure it returns
// the status and challenge to send.
func (rs *ResourceServer) authorize(r *http.Request) (*sdkauth.TokenInfo, int, *challenge) {
	// Tool scopes need the body; read it first so that every challenge,
	// including the first 401, names all the scopes this request needs.
	required := rs.scopes
	if len(rs.toolScopes) > 0 && r.Method == http.MethodPost {
		tools, status, err := rs.peekTools(r)
		if status != 0 {
			return nil, status, &challenge{description: err.Error(), plain: true}
		}
		required = rs.required(tools)
	}

	if r.URL.Query().Has("access_token") {
		return nil, http.StatusBadRequest, &challenge{err: "invalid_request", description: "access tokens in the query string are not accepted; send an Authorization: Bearer header", scopes: required}
	}

	// A verified bearer token comes first; without one, the identity the
	// front door verified, if the function trusts it. (Behind an API
	// Gateway JWT authorizer the header carries the token the front door
	// verified, which this server may have no verifier for.)
	var ti *sdkauth.TokenInfo
	var status int
	var ch *challenge
	front, trusted := identity.FrontDoor(r.Context())
	if hasBearer(r) || !trusted {
		ti, status, ch = rs.verifyBearer(r)
	}
	if ti == nil && trusted {
		if front.Source == identity.SourceIAM {
			c := *front
			c.Scopes = slices.Clone(rs.iamScopes)
			front = &c
		}
		ti, status = front.TokenInfo(time.Time{}), 0
	}
	if status != 0 {
		ch.scopes = required
		return nil, status, ch
	}
	if missing := rs.covers.Missing(ti.Scopes, required); len(missing) > 0 {
		return nil, http.StatusForbidden, &challenge{
			err:         "insufficient_scope",
			description: "missing scope " + strings.Join(missing, " "),
			scopes:      required,
		}
	}
	return ti, 0, nil
}

// hasBearer reports whether r carries an Authorization header of the
// Bearer scheme (a SigV4-signed request carries another).
func hasBearer(r *http.Request) bool {
	for _, v := range r.Header.Values("Authorization") {
		if scheme, _, _ := strings.Cut(strings.TrimSpace(v), " "); strings.EqualFold(scheme, "Bearer") {
			return true
		}
	}
	return false
}

// verifyBearer checks the Authorization header.
func (rs *ResourceServer) verifyBearer(r *http.Request) (*sdkauth.TokenInfo, int, *challenge) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return nil, http.StatusUnauthorized, &challenge{description: "no bearer token"}
	}
	if len(values) > 1 {
		return nil, http.StatusBadRequest, &challenge{err: "invalid_request", description: "more than one Authorization header"}
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, http.StatusUnauthorized, &challenge{description: "no bearer token"}
	}
	token = strings.TrimSpace(token)
	if token == "" || strings.ContainsAny(token, " \t") {
		return nil, http.StatusBadRequest, &challenge{err: "invalid_request", description: "malformed Authorization header"}
	}
	if rs.verifier == nil {
		return nil, http.StatusUnauthorized, &challenge{err: "invalid_token", description: "bearer tokens are not accepted here"}
	}
	ti, err := rs.verifier(r.Context(), token, r)
	switch {
	case err == nil && ti == nil:
		err = errors.New("verifier returned no token info")
	case err == nil && ti.UserID == "":
		// Callers keyed by "" would share sessions, tasks and state.
		rs.logger.ErrorContext(r.Context(), "auth: the token verifier returned no user id (TokenInfo.UserID); refusing the request")
		return nil, http.StatusInternalServerError, &challenge{description: "token verification failed"}
	case err == nil:
		// JWTVerifier checks expiry with its own clock skew; other
		// verifiers get go-sdk's strict check.
		if _, ours := ti.Extra[identity.TokenInfoKey].(*identity.Identity); !ours {
			if ti.Expiration.IsZero() {
				return nil, http.StatusUnauthorized, &challenge{err: "invalid_token", description: "token has no expiry"}
			}
			if ti.Expiration.Before(time.Now()) {
				return nil, http.StatusUnauthorized, &challenge{err: "invalid_token", description: "token expired"}
			}
		}
		return ti, 0, nil
	}
	switch {
	case errors.Is(err, sdkauth.ErrInvalidToken):
		return nil, http.StatusUnauthorized, &challenge{err: "invalid_token", description: err.Error()}
	case errors.Is(err, sdkauth.ErrOAuth):
		return nil, http.StatusBadRequest, &challenge{err: "invalid_request", description: err.Error()}
	case errors.Is(err, ErrKeysUnavailable):
		return nil, http.StatusServiceUnavailable, &challenge{description: "cannot verify tokens right now"}
	}
	rs.logger.ErrorContext(r.Context(), "auth: token verifier failed", "err", err)
	return nil, http.StatusInternalServerError, &challenge{description: "token verification failed"}
}

// required returns Scopes plus the scopes of the named tools.
func (rs *ResourceServer) required(tools []string) []string {
	req := slices.Clone(rs.scopes)
	for _, t := range tools {
		for _, s := range rs.toolScopes[t] {
			if !slices.Contains(req, s) {
				req = append(req, s)
			}
		}
	}
	return req
}

// peekTools reads r's body (restoring it for the next handler) and returns
// the names of the tools it calls: a JSON-RPC request or a batch. A body
// that is not JSON-RPC is left for the MCP handler to refuse.
func (rs *ResourceServer) peekTools(r *http.Request) ([]string, int, error) {
	if r.Body == nil {
		return nil, 0, nil
	}
	if r.ContentLength > rs.maxBody {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body exceeds %d bytes", rs.maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rs.maxBody+1))
	r.Body.Close()
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("reading request body: %w", err)
	}
	if int64(len(body)) > rs.maxBody {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request body exceeds %d bytes", rs.maxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))

	var msgs []json.RawMessage
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(body, &msgs) != nil {
			return nil, 0, nil
		}
	} else {
		msgs = []json.RawMessage{body}
	}
	var tools []string
	for _, m := range msgs {
		// go-sdk's own decoder, so we see the method go-sdk dispatches.
		msg, err := jsonrpc.DecodeMessage(m)
		if err != nil {
			continue
		}
		req, ok := msg.(*jsonrpc.Request)
		if !ok || req.Method != "tools/call" {
			continue
		}
		name, err := toolName(req.Params)
		if err != nil {
			return nil, http.StatusBadRequest, err
		}
		tools = append(tools, name)
	}
	return tools, 0, nil
}

// toolName returns params.name, refusing params in which more than one
// key could be read as "name" by some JSON decoder (duplicates, or case
// variants that case-insensitive decoders match), so that no decoder can
// dispatch a different tool than the one whose scopes were checked.
func toolName(params json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(params))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", nil // not an object; go-sdk refuses it
	}
	var name string
	seen := 0
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", nil
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", nil
		}
		if strings.EqualFold(key, "name") {
			seen++
			if key == "name" {
				_ = json.Unmarshal(v, &name)
			}
		}
	}
	if seen > 1 {
		return "", errors.New("tools/call params carry more than one name")
	}
	return name, nil
}

// isMetadataPath reports whether p is one of the paths the metadata is
// served at.
func (rs *ResourceServer) isMetadataPath(p string) bool {
	rest, ok := strings.CutPrefix(p, WellKnownPath)
	if !ok {
		return false
	}
	if rest == "" || rest == "/" {
		return true
	}
	return strings.HasPrefix(rest, "/") && strings.HasSuffix(rs.resPath, rest)
}

// refuse writes an error response with a WWW-Authenticate challenge.
func (rs *ResourceServer) refuse(w http.ResponseWriter, r *http.Request, status int, ch *challenge) {
	level := slog.LevelInfo
	if status == http.StatusUnauthorized && ch.err == "" {
		level = slog.LevelDebug // a client's first request, before it signs in
	}
	rs.logger.Log(r.Context(), level, "auth: request refused", "status", status, "error", ch.err, "reason", ch.description, "path", r.URL.Path)
	params := []string{}
	if ch.err != "" {
		params = append(params, `error="`+ch.err+`"`)
	}
	if len(ch.scopes) > 0 {
		params = append(params, `scope="`+quotable(strings.Join(ch.scopes, " "))+`"`)
	}
	params = append(params, `resource_metadata="`+quotable(rs.metadataURL)+`"`)
	// RFC 6750 §3.1: no error information for a request without a token.
	if ch.err != "" && ch.description != "" {
		params = append(params, `error_description="`+quotable(ch.description)+`"`)
	}
	if !ch.plain && status < 500 {
		w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	code := int64(jsonrpc.CodeInvalidRequest)
	if status >= 500 {
		code = jsonrpc.CodeInternalError
	}
	msg := http.StatusText(status)
	if ch.description != "" {
		msg += ": " + ch.description
	}
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": msg},
	})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// quotable keeps the characters RFC 6750 allows in challenge parameters
// (printable ASCII except '"' and '\'), truncating long values.
func quotable(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteRune(c)
		}
		if b.Len() >= 300 {
			break
		}
	}
	return b.String()
}

// ToolMiddleware returns an MCP receiving middleware that enforces
// [Options].ToolScopes on the tools/call requests go-sdk dispatches,
// answering a JSON-RPC error when the caller lacks a scope:
//
//	server.AddReceivingMiddleware(rs.ToolMiddleware())
//
// [ResourceServer.Handler] already refuses such calls with an HTTP 403
// before go-sdk sees them, which is what MCP clients need to step up. This
// middleware is defence in depth: it checks the very params go-sdk
// decoded, and it protects the server on transports that do not pass
// through Handler.
func (rs *ResourceServer) ToolMiddleware() mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method != "tools/call" {
				return next(ctx, method, req)
			}
			p, ok := req.GetParams().(*mcp.CallToolParamsRaw)
			if !ok || len(rs.toolScopes[p.Name]) == 0 {
				return next(ctx, method, req)
			}
			var granted []string
			if extra := req.GetExtra(); extra != nil && extra.TokenInfo != nil {
				granted = extra.TokenInfo.Scopes
			}
			if missing := rs.covers.Missing(granted, rs.required([]string{p.Name})); len(missing) > 0 {
				return nil, &jsonrpc.Error{
					Code:    jsonrpc.CodeInvalidRequest,
					Message: fmt.Sprintf("insufficient_scope: tool %q needs scope %s", p.Name, strings.Join(missing, " ")),
				}
			}
			return next(ctx, method, req)
		}
	}
}

// scrubEvent removes the Authorization header from the Lambda event behind
// the request, if any, so that handlers reading the raw event cannot pass
// the client's token on either.
func scrubEvent(ctx context.Context) {
	req, ok := mcplambda.RequestFromContext(ctx)
	if !ok {
		return
	}
	switch ev := req.Event.(type) {
	case *events.LambdaFunctionURLRequest:
		deleteHeader(ev.Headers)
	case *events.APIGatewayV2HTTPRequest:
		deleteHeader(ev.Headers)
	case *events.APIGatewayProxyRequest:
		deleteHeader(ev.Headers)
		deleteHeader(ev.MultiValueHeaders)
	case *events.ALBTargetGroupRequest:
		deleteHeader(ev.Headers)
		deleteHeader(ev.MultiValueHeaders)
	}
}

func deleteHeader[V any](h map[string]V) {
	for k := range h {
		if strings.EqualFold(k, "Authorization") {
			delete(h, k)
		}
	}
}
