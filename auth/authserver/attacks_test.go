package authserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/auth/authserver"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/state"
)

// outcome is how the server answered an attack.
type outcome struct {
	Status int
	// Error is the OAuth error code: of a JSON error, of the error
	// parameter of a redirect to the client, or shown on an error page.
	Error string
	// Redirected says whether the browser was sent back to the client.
	Redirected bool
}

var pageErrorRE = regexp.MustCompile(`Error: <code>([a-z_]+)</code>`)

// noFollow is a client that does not follow redirects.
var noFollow = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// answer reads an outcome from a response.
func answer(t *testing.T, resp *http.Response) outcome {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	o := outcome{Status: resp.StatusCode}
	if loc := resp.Header.Get("Location"); loc != "" {
		u, err := url.Parse(loc)
		if err == nil && u.Host == "127.0.0.1" && u.Path == "/callback" {
			o.Redirected = true
			o.Error = u.Query().Get("error")
		}
		return o
	}
	if m := pageErrorRE.FindSubmatch(b); m != nil {
		o.Error = string(m[1])
		return o
	}
	var e struct{ Error string }
	json.Unmarshal(b, &e)
	o.Error = e.Error
	return o
}

// get requests u without following redirects.
func get(t *testing.T, c *http.Client, u string) outcome {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return answer(t, resp)
}

// fromStatus is the outcome of a JSON answer.
func fromStatus(status int, body map[string]any) outcome {
	e, _ := body["error"].(string)
	return outcome{Status: status, Error: e}
}

// redeem exchanges a code of client c.
func (f *fixture) redeem(t *testing.T, c testClient, code, verifier string) (int, map[string]any) {
	t.Helper()
	return f.post(t, authserver.PathToken, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {redirectURI}, "client_id": {c.id}, "resource": {f.resource},
	}, nil)
}

// refreshWith uses a refresh token of client c.
func (f *fixture) refreshWith(t *testing.T, c testClient, rt string) (int, map[string]any) {
	t.Helper()
	return f.post(t, authserver.PathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {c.id}}, nil)
}

// callMCP calls tools/list on endpoint with token and returns the
// status.
func callMCP(t *testing.T, endpoint, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// metadataHost serves Client ID Metadata Documents over TLS on loopback,
// including hostile ones.
func metadataHost(t *testing.T) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"client_id":                  srv.URL + r.URL.Path,
			"client_name":                "Metadata Client",
			"redirect_uris":              []string{redirectURI},
			"grant_types":                []string{"authorization_code", "refresh_token"},
			"token_endpoint_auth_method": "none",
		}
		switch r.URL.Path {
		case "/client.json":
		case "/metadata-service.json":
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound)
			return
		case "/huge.json":
			doc["client_name"] = strings.Repeat("x", 1<<20)
		case "/slow.json":
			<-r.Context().Done() // never answers: the fetch must give up
			return
		case "/other-id.json":
			doc["client_id"] = srv.URL + "/client.json"
		case "/secret.json":
			doc["client_secret"] = "s3cret"
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAttacks runs the OAuth security BCP attacks that apply to the
// server, one row each, and checks each is refused with the status and
// error the RFCs name: RFC 6749 §4.1.2.1 and §5.2, RFC 7591 §3.2.2,
// RFC 8707 §2 (invalid_target), RFC 6750 §3.1 at the resource server.
func TestAttacks(t *testing.T) {
	t.Parallel()
	mh := metadataHost(t)
	store := state.NewMemory(nil)
	f := newFixture(t, &authserver.Options{
		Store:                store,
		RequireVerifiedEmail: true,
		RegistrationRate:     authserver.Rate{Count: 3, Per: time.Hour},
		ClientMetadata: authserver.ClientMetadataOptions{
			AllowLoopback: true,
			RootCAs:       poolOf(mh),
			Timeout:       500 * time.Millisecond,
		},
	}, nil)
	// Rows that register clients register them here, before the flood row
	// uses up the budget of 127.0.0.1.
	pub := f.registerClient(t, nil)
	other := f.registerClient(t, map[string]any{"client_name": "other client"})
	web := f.registerClient(t, map[string]any{"redirect_uris": []string{"https://app.example.com/cb"}})

	// A second instance sharing the store, for the flood and for the
	// sign-ins whose upstream answers are tampered with.
	tamper := ""
	g := newFixture(t, &authserver.Options{
		RequireVerifiedEmail: true,
		RegistrationRate:     authserver.Rate{Count: 3, Per: time.Hour},
	}, &authtest.IssuerOptions{IDTokenClaims: func(c map[string]any) {
		switch tamper {
		case "nonce":
			c["nonce"] = "attacker-nonce"
		case "aud":
			c["aud"] = "another-client"
		case "email":
			c["email_verified"] = false
		case "iss":
			c["iss"] = "https://idp.attacker.example"
		}
	}})
	gc := g.registerClient(t, nil)
	// A third, whose registration budget the flood leaves alone.
	r := newFixture(t, nil, nil)

	tests := []struct {
		name string
		run  func(t *testing.T) outcome
		want outcome
	}{
		{
			name: "authorization code replay revokes the grant",
			run: func(t *testing.T) outcome {
				code, verifier := f.signIn(t, pub, nil)
				status, first := f.redeem(t, pub, code, verifier)
				if status != 200 {
					t.Fatalf("first redemption = %d %v", status, first)
				}
				o := fromStatus(f.redeem(t, pub, code, verifier))
				if s, b := f.refreshWith(t, pub, first["refresh_token"].(string)); s != 400 || b["error"] != "invalid_grant" {
					t.Errorf("refresh token of the replayed code's grant = %d %v, want 400 invalid_grant", s, b)
				}
				if s := callMCP(t, f.resource, first["access_token"].(string)); s != 401 {
					t.Errorf("access token of the replayed code's grant = %d, want 401", s)
				}
				return o
			},
			want: outcome{Status: 400, Error: "invalid_grant"},
		},
		{
			name: "PKCE downgrade to plain",
			run: func(t *testing.T) outcome {
				return get(t, noFollow, f.authorizeURL(pub.id, "plain-challenge-plain-challenge-plain-chall", url.Values{"code_challenge_method": {"plain"}}))
			},
			want: outcome{Status: 302, Error: "invalid_request", Redirected: true},
		},
		{
			name: "PKCE missing",
			run: func(t *testing.T) outcome {
				return get(t, noFollow, f.authorizeURL(pub.id, "", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}))
			},
			want: outcome{Status: 302, Error: "invalid_request", Redirected: true},
		},
		{
			name: "PKCE verifier mismatch",
			run: func(t *testing.T) outcome {
				code, _ := f.signIn(t, pub, nil)
				wrong, _ := pkce()
				return fromStatus(f.redeem(t, pub, code, wrong))
			},
			want: outcome{Status: 400, Error: "invalid_grant"},
		},
		{
			name: "PKCE verifier left out of the token request",
			run: func(t *testing.T) outcome {
				code, _ := f.signIn(t, pub, nil)
				return fromStatus(f.redeem(t, pub, code, ""))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "redirect URI extended past the registered one (prefix)",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(pub.id, ch, url.Values{"redirect_uri": {redirectURI + "/../evil"}}))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "redirect URI with user information",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(web.id, ch, url.Values{"redirect_uri": {"https://app.example.com@evil.example/cb"}}))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "redirect URI with a fragment",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(web.id, ch, url.Values{"redirect_uri": {"https://app.example.com/cb#evil"}}))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "redirect URI on another port of a non-loopback host",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(web.id, ch, url.Values{"redirect_uri": {"https://app.example.com:8443/cb"}}))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "redirect URI with another path on a loopback host",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(pub.id, ch, url.Values{"redirect_uri": {"http://127.0.0.1:5555/other"}}))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "redirect URI registered with a wildcard",
			run: func(t *testing.T) outcome {
				return fromStatus(r.postJSON(t, authserver.PathRegister, map[string]any{"redirect_uris": []string{"https://*.example.com/cb"}}))
			},
			want: outcome{Status: 400, Error: "invalid_redirect_uri"},
		},
		{
			name: "redirect URI registered over http on a public host",
			run: func(t *testing.T) outcome {
				return fromStatus(r.postJSON(t, authserver.PathRegister, map[string]any{"redirect_uris": []string{"http://app.example.com/cb"}}))
			},
			want: outcome{Status: 400, Error: "invalid_redirect_uri"},
		},
		{
			name: "open redirect through an error: unknown client",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL("no-such-client", ch, url.Values{"redirect_uri": {"https://evil.example/"}, "response_type": {"token"}}))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "open redirect through an error: unregistered redirect URI",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(pub.id, ch, url.Values{"redirect_uri": {"https://evil.example/"}, "response_type": {"token"}}))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "implicit grant",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(pub.id, ch, url.Values{"response_type": {"token"}}))
			},
			want: outcome{Status: 302, Error: "unsupported_response_type", Redirected: true},
		},
		{
			name: "authorization for a resource the server does not serve",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(pub.id, ch, url.Values{"resource": {"https://victim.example/mcp"}}))
			},
			want: outcome{Status: 302, Error: "invalid_target", Redirected: true},
		},
		{
			name: "authorization without a resource",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(pub.id, ch, url.Values{"resource": {""}}))
			},
			want: outcome{Status: 302, Error: "invalid_target", Redirected: true},
		},
		{
			name: "mix-up across resources: code for one resource redeemed for another",
			run: func(t *testing.T) outcome {
				code, verifier := f.signIn(t, pub, nil)
				return fromStatus(f.post(t, authserver.PathToken, url.Values{
					"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
					"redirect_uri": {redirectURI}, "client_id": {pub.id}, "resource": {f.other},
				}, nil))
			},
			want: outcome{Status: 400, Error: "invalid_target"},
		},
		{
			name: "mix-up across resources: token of one resource presented to another",
			run: func(t *testing.T) outcome {
				code, verifier := f.signIn(t, pub, url.Values{"resource": {f.other}})
				s, b := f.post(t, authserver.PathToken, url.Values{
					"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
					"redirect_uri": {redirectURI}, "client_id": {pub.id},
				}, nil)
				if s != 200 {
					t.Fatalf("token for %s = %d %v", f.other, s, b)
				}
				return outcome{Status: callMCP(t, f.resource, b["access_token"].(string)), Error: "invalid_token"}
			},
			want: outcome{Status: 401, Error: "invalid_token"},
		},
		{
			name: "code redeemed by another client",
			run: func(t *testing.T) outcome {
				code, verifier := f.signIn(t, pub, nil)
				return fromStatus(f.redeem(t, other, code, verifier))
			},
			want: outcome{Status: 400, Error: "invalid_grant"},
		},
		{
			name: "code redeemed with another redirect URI",
			run: func(t *testing.T) outcome {
				code, verifier := f.signIn(t, pub, nil)
				return fromStatus(f.post(t, authserver.PathToken, url.Values{
					"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
					"redirect_uri": {"http://127.0.0.1:9999/callback"}, "client_id": {pub.id},
				}, nil))
			},
			want: outcome{Status: 400, Error: "invalid_grant"},
		},
		{
			name: "refresh token replayed after rotation revokes the family",
			run: func(t *testing.T) outcome {
				code, verifier := f.signIn(t, pub, nil)
				_, first := f.redeem(t, pub, code, verifier)
				rt1 := first["refresh_token"].(string)
				s, second := f.refreshWith(t, pub, rt1)
				if s != 200 {
					t.Fatalf("refresh = %d %v", s, second)
				}
				o := fromStatus(f.refreshWith(t, pub, rt1))
				if s, b := f.refreshWith(t, pub, second["refresh_token"].(string)); s != 400 || b["error"] != "invalid_grant" {
					t.Errorf("the rotated-in refresh token after reuse = %d %v, want 400 invalid_grant", s, b)
				}
				if s := callMCP(t, f.resource, second["access_token"].(string)); s != 401 {
					t.Errorf("access token of the revoked family = %d, want 401", s)
				}
				return o
			},
			want: outcome{Status: 400, Error: "invalid_grant"},
		},
		{
			name: "refresh token of another client",
			run: func(t *testing.T) outcome {
				code, verifier := f.signIn(t, pub, nil)
				_, first := f.redeem(t, pub, code, verifier)
				return fromStatus(f.refreshWith(t, other, first["refresh_token"].(string)))
			},
			want: outcome{Status: 400, Error: "invalid_grant"},
		},
		{
			name: "wrong client secret",
			run: func(t *testing.T) outcome {
				conf := g.registerClient(t, map[string]any{"token_endpoint_auth_method": "client_secret_basic"})
				conf.secret = "guessed"
				return fromStatus(g.post(t, authserver.PathToken, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, &conf))
			},
			want: outcome{Status: 401, Error: "invalid_client"},
		},
		{
			name: "client metadata document redirecting to the instance metadata service",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(mh.URL+"/metadata-service.json", ch, nil))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "client metadata document too large",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(mh.URL+"/huge.json", ch, nil))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "client metadata document too slow",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(mh.URL+"/slow.json", ch, nil))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "client metadata document on a private address",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL("https://10.20.30.40/client.json", ch, nil))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "client metadata document naming another client_id",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(mh.URL+"/other-id.json", ch, nil))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "client metadata document with a client secret",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(mh.URL+"/secret.json", ch, nil))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "client metadata URL with a dot segment",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				return get(t, noFollow, f.authorizeURL(mh.URL+"/a/../client.json", ch, nil))
			},
			want: outcome{Status: 400, Error: "invalid_client"},
		},
		{
			name: "registration flood across instances sharing a store",
			run: func(t *testing.T) outcome {
				// pub, other, web used up f's 3 registrations for 127.0.0.1;
				// g (a store of its own) has gc and the wrong-secret row's.
				var o outcome
				for range 2 {
					o = fromStatus(g.postJSON(t, authserver.PathRegister, map[string]any{"redirect_uris": []string{redirectURI}}))
				}
				if s, b := f.postJSON(t, authserver.PathRegister, map[string]any{"redirect_uris": []string{redirectURI}}); s != 429 {
					t.Errorf("registration beyond the limit on the first instance = %d %v, want 429", s, b)
				}
				// Another instance on f's store: the same count.
				h, err := authserver.New(f.issuer, []string{f.resource}, authserver.Upstream{Issuer: f.idp.URL, ClientID: "x"}, &authserver.Options{
					Store: store, RegistrationRate: authserver.Rate{Count: 3, Per: time.Hour},
				})
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewServer(h)
				defer srv.Close()
				resp, err := http.Post(srv.URL+authserver.PathRegister, "application/json", strings.NewReader(`{"redirect_uris":["`+redirectURI+`"]}`))
				if err != nil {
					t.Fatal(err)
				}
				other := answer(t, resp)
				if other.Status != 429 {
					t.Errorf("registration on another instance sharing the store = %+v, want 429", other)
				}
				return o
			},
			want: outcome{Status: 429, Error: "temporarily_unavailable"},
		},
		{
			name: "state tampered with on the way back from the provider",
			run: func(t *testing.T) outcome {
				return get(t, noFollow, f.issuer+authserver.PathCallback+"?state=forged-state&code=attacker-code")
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "sign-in finished in another browser (login CSRF)",
			run: func(t *testing.T) outcome {
				// The attacker starts a sign-in and gets the provider's
				// answer, then has the victim's browser open it.
				_, ch := pkce()
				jar, _ := cookiejar.New(nil)
				attacker := &http.Client{Jar: jar, CheckRedirect: noFollow.CheckRedirect}
				resp, err := attacker.Get(f.authorizeURL(pub.id, ch, nil))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				resp, err = attacker.Get(resp.Header.Get("Location")) // the provider grants at once
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return get(t, noFollow, resp.Header.Get("Location"))
			},
			want: outcome{Status: 400, Error: "invalid_request"},
		},
		{
			name: "issuer mix-up on the way back from the provider",
			run: func(t *testing.T) outcome {
				_, ch := pkce()
				jar, _ := cookiejar.New(nil)
				b := &http.Client{Jar: jar, CheckRedirect: noFollow.CheckRedirect}
				resp, _ := b.Get(f.authorizeURL(pub.id, ch, nil))
				resp.Body.Close()
				resp, _ = b.Get(resp.Header.Get("Location"))
				resp.Body.Close()
				cb, _ := url.Parse(resp.Header.Get("Location"))
				q := cb.Query()
				q.Set("iss", "https://idp.attacker.example")
				cb.RawQuery = q.Encode()
				resp, err := b.Get(cb.String())
				if err != nil {
					t.Fatal(err)
				}
				return answer(t, resp)
			},
			want: outcome{Status: 302, Error: "access_denied", Redirected: true},
		},
		{
			name: "ID token with another nonce",
			run:  func(t *testing.T) outcome { tamper = "nonce"; return browse(t, g, gc) },
			want: outcome{Status: 302, Error: "access_denied", Redirected: true},
		},
		{
			name: "ID token for another client",
			run:  func(t *testing.T) outcome { tamper = "aud"; return browse(t, g, gc) },
			want: outcome{Status: 302, Error: "access_denied", Redirected: true},
		},
		{
			name: "ID token from another issuer",
			run:  func(t *testing.T) outcome { tamper = "iss"; return browse(t, g, gc) },
			want: outcome{Status: 302, Error: "access_denied", Redirected: true},
		},
		{
			name: "provider returns an unverified email (RequireVerifiedEmail)",
			run:  func(t *testing.T) outcome { tamper = "email"; return browse(t, g, gc) },
			want: outcome{Status: 302, Error: "access_denied", Redirected: true},
		},
		{
			name: "consent answered without the form's token (CSRF)",
			run: func(t *testing.T) outcome {
				return consentPost(t, f, pub, func(form url.Values) { form.Set("csrf", "forged") }, "")
			},
			want: outcome{Status: 403, Error: "invalid_request"},
		},
		{
			name: "consent answered from another site",
			run: func(t *testing.T) outcome {
				return consentPost(t, f, pub, nil, "https://evil.example")
			},
			want: outcome{Status: 403, Error: "invalid_request"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.run(t)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
}

// browse signs in with client c through the test browser and returns
// where the browser was sent back to the client.
func browse(t *testing.T, f *fixture, c testClient) outcome {
	t.Helper()
	_, ch := pkce()
	u, err := authtest.NewBrowser().Authorize(context.Background(), f.authorizeURL(c.id, ch, nil), redirectURI)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return outcome{Status: 302, Error: u.Query().Get("error"), Redirected: true}
}

// consentPost goes through a sign-in up to the consent page, then posts
// the answer changed by tamper, from origin (if set).
func consentPost(t *testing.T, f *fixture, c testClient, tamper func(url.Values), origin string) outcome {
	t.Helper()
	_, ch := pkce()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, CheckRedirect: noFollow.CheckRedirect}
	next := f.authorizeURL(c.id, ch, nil)
	for range 3 { // authorize -> provider -> callback -> consent page
		resp, err := b.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		next = resp.Header.Get("Location")
	}
	page, err := url.Parse(next)
	if err != nil || page.Path != authserver.PathConsent {
		t.Fatalf("sign-in led to %q, want the consent page", next)
	}
	form := url.Values{"signin": {page.Query().Get("signin")}, "csrf": {page.Query().Get("csrf")}, "decision": {"approve"}}
	if tamper != nil {
		tamper(form)
	}
	req, _ := http.NewRequest(http.MethodPost, f.issuer+authserver.PathConsent, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return answer(t, resp)
}
