// Package flowtest runs the OAuth flows of package authserver's tests
// over HTTP, as a client would, for the tests of its sub-packages.
package flowtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mcplambda/mcplambda/auth/authtest"
)

// RedirectURI is the redirect URI of the clients SignIn registers.
const RedirectURI = "http://127.0.0.1/callback"

// SignIn registers a public client at the authorization server issuer,
// signs the upstream provider's user in with authtest's browser for
// resource, and returns the access token.
func SignIn(t testing.TB, issuer, resource string) string {
	t.Helper()
	var reg struct {
		ClientID string `json:"client_id"`
	}
	post(t, issuer+"/oauth/register", "application/json",
		`{"client_name":"flowtest","redirect_uris":["`+RedirectURI+`"],"token_endpoint_auth_method":"none"}`, &reg)
	verifier := base64.RawURLEncoding.EncodeToString([]byte(rand.Text() + rand.Text()))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {reg.ClientID}, "redirect_uri": {RedirectURI},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {"s"}, "resource": {resource},
	}
	u, err := authtest.NewBrowser().Authorize(context.Background(), issuer+"/oauth/authorize?"+q.Encode(), RedirectURI)
	if err != nil {
		t.Fatalf("flowtest: sign-in: %v", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")}, "code_verifier": {verifier},
		"redirect_uri": {RedirectURI}, "client_id": {reg.ClientID},
	}
	post(t, issuer+"/oauth/token", "application/x-www-form-urlencoded", form.Encode(), &tok)
	return tok.AccessToken
}

func post(t testing.TB, u, contentType, body string, v any) {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatalf("flowtest: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e map[string]any
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("flowtest: POST %s = %s %v", u, resp.Status, e)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("flowtest: POST %s: %v", u, err)
	}
}
