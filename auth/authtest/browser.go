package authtest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
)

// maxBrowserSteps bounds the requests of one [Browser.Authorize].
const maxBrowserSteps = 20

// A Browser plays the user's browser through a sign-in: it follows
// redirects, keeps cookies, and submits the form a page shows (a consent
// page), pressing the button [Browser].Button names, until it is sent to
// the client's redirect URI, which it does not open.
//
// It reads forms with a few regular expressions, enough for the plain
// server-rendered pages of package auth/authserver; it runs no scripts.
type Browser struct {
	// Button is the value of the submit button to press on a page with a
	// form. If empty, the first submit button.
	Button string

	client *http.Client
}

// NewBrowser returns a Browser with an empty cookie jar.
func NewBrowser() *Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return &Browser{client: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Authorize opens authURL and browses until a redirect leads to
// redirectURI (same scheme, host and path; any port for a loopback
// host, as RFC 8252 allows), and returns that URL, whose query carries the
// code (or the error) and the state. A page that is not a redirect and
// has no form, or any status of 400 or more, ends the sign-in with an
// error that quotes the page.
func (b *Browser) Authorize(ctx context.Context, authURL, redirectURI string) (*url.URL, error) {
	want, err := url.Parse(redirectURI)
	if err != nil {
		return nil, fmt.Errorf("authtest: redirect URI: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, fmt.Errorf("authtest: %w", err)
	}
	for range maxBrowserSteps {
		resp, err := b.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("authtest: browsing: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return nil, fmt.Errorf("authtest: bad redirect from %s: %w", req.URL, err)
			}
			if sameEndpoint(loc, want) {
				return loc, nil
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, fmt.Errorf("authtest: %w", err)
			}
		case resp.StatusCode == http.StatusOK:
			if req, err = b.submit(ctx, req.URL, string(body)); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("authtest: %s answered %s: %s", req.URL.Path, resp.Status, pageText(body))
		}
	}
	return nil, errors.New("authtest: too many steps before the redirect URI")
}

// Fetcher returns a go-sdk AuthorizationCodeFetcher that signs in with b
// and takes the code, state and iss from the redirect to redirectURI.
func (b *Browser) Fetcher(redirectURI string) sdkauth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *sdkauth.AuthorizationArgs) (*sdkauth.AuthorizationResult, error) {
		u, err := b.Authorize(ctx, args.URL, redirectURI)
		if err != nil {
			return nil, err
		}
		q := u.Query()
		if e := q.Get("error"); e != "" {
			return nil, fmt.Errorf("authtest: authorization refused: %s: %s", e, q.Get("error_description"))
		}
		return &sdkauth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
	}
}

// sameEndpoint reports whether u is the redirect URI want, with any port
// when want's host is a loopback one.
func sameEndpoint(u, want *url.URL) bool {
	if u.Scheme != want.Scheme || u.Hostname() != want.Hostname() || u.Path != want.Path {
		return false
	}
	switch want.Hostname() {
	case "127.0.0.1", "::1", "localhost":
		return true
	}
	return u.Port() == want.Port()
}

var (
	formRE   = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE  = regexp.MustCompile(`(?is)<(input|button)\b([^>]*)>`)
	attrRE   = regexp.MustCompile(`(?is)([a-z-]+)\s*=\s*"([^"]*)"`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
	styleRE  = regexp.MustCompile(`(?is)<(style|title|script)\b.*?</(style|title|script)>`)
	spacesRE = regexp.MustCompile(`\s+`)
)

func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRE.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// submit builds the request that submits the first form on page, which
// was loaded from base.
func (b *Browser) submit(ctx context.Context, base *url.URL, page string) (*http.Request, error) {
	f := formRE.FindStringSubmatch(page)
	if f == nil {
		return nil, fmt.Errorf("authtest: %s shows no form: %s", base.Path, pageText([]byte(page)))
	}
	fa := attrs(f[1])
	action, err := base.Parse(fa["action"])
	if err != nil {
		return nil, fmt.Errorf("authtest: form action: %w", err)
	}
	values := url.Values{}
	pressed := false
	for _, in := range inputRE.FindAllStringSubmatch(f[2], -1) {
		a := attrs(in[2])
		if a["name"] == "" {
			continue
		}
		isSubmit := strings.EqualFold(in[1], "button") && (a["type"] == "" || a["type"] == "submit") ||
			strings.EqualFold(a["type"], "submit")
		if !isSubmit {
			values.Add(a["name"], a["value"])
			continue
		}
		if !pressed && (b.Button == "" || a["value"] == b.Button) {
			values.Add(a["name"], a["value"])
			pressed = true
		}
	}
	if !pressed {
		return nil, fmt.Errorf("authtest: %s has no submit button %q", base.Path, b.Button)
	}
	method := strings.ToUpper(fa["method"])
	if method == "" {
		method = http.MethodGet
	}
	if method == http.MethodGet {
		action.RawQuery = values.Encode()
		return http.NewRequestWithContext(ctx, method, action.String(), nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, action.String(), strings.NewReader(values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A browser says where a form post comes from.
	req.Header.Set("Origin", base.Scheme+"://"+base.Host)
	return req, nil
}

// pageText is the text of an HTML page (or any body), shortened, for
// error messages.
func pageText(body []byte) string {
	s := strings.TrimSpace(spacesRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(styleRE.ReplaceAllString(string(body), " "), " ")), " "))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
