package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/mcplambda/mcplambda/internal/hostcheck"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"
)

// authorizationCode returns go-sdk's authorization code handler for the
// target, with a redirect listener on cfg.callback (started when a
// sign-in first needs it, and kept for later ones, since a dynamically
// registered client is bound to its redirect URL) and the tokens cached
// in the user's cache directory ([tokenCache]), so that the next run
// starts signed in and refreshes the access token rather than opening the
// browser again.
func (r *remote) authorizationCode() (sdkauth.OAuthHandler, error) {
	cfg := r.cfg
	ln, err := net.Listen("tcp", cfg.callback)
	if err != nil {
		return nil, fmt.Errorf("%s: OAuth redirect listener: %w", r.cmd, err)
	}
	r.ln = ln
	redirect := "http://" + ln.Addr().String() + "/callback"
	results := make(chan *sdkauth.AuthorizationResult, 1)
	// The state of the sign-in in progress: only its redirect is taken, so
	// that a web page guessing the port cannot get a result in first.
	var stateMu sync.Mutex
	var wantState string
	r.srv = &http.Server{Handler: loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/callback" {
			http.NotFound(w, req)
			return
		}
		// The authorization server's redirect is a top-level navigation,
		// which carries no Origin; a script on a page would send one.
		if req.Header.Get("Origin") != "" {
			http.Error(w, "cross-origin requests are refused", http.StatusForbidden)
			return
		}
		q := req.URL.Query()
		stateMu.Lock()
		expected := wantState
		stateMu.Unlock()
		if expected == "" || q.Get("state") != expected {
			http.Error(w, "no sign-in in progress with this state", http.StatusBadRequest)
			return
		}
		if e := q.Get("error"); e != "" {
			http.Error(w, "Sign-in failed: "+e+" "+q.Get("error_description"), http.StatusBadRequest)
		} else {
			io.WriteString(w, "Signed in. You can close this window and return to the terminal.\n")
		}
		select {
		case results <- &sdkauth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}:
		default:
		}
	}))}
	fetcher := func(ctx context.Context, args *sdkauth.AuthorizationArgs) (*sdkauth.AuthorizationResult, error) {
		r.once.Do(func() { go r.srv.Serve(ln) })
		// A result left by an abandoned earlier sign-in is stale.
		select {
		case <-results:
		default:
		}
		if u, err := url.Parse(args.URL); err == nil {
			stateMu.Lock()
			wantState = u.Query().Get("state")
			stateMu.Unlock()
		}
		fmt.Fprintf(r.stderr, "mcplambda: to sign in, open this URL in a browser:\n%s\n", args.URL)
		if r.cmd == "proxy" && !cfg.noBrowser {
			// A desktop client shows the proxy's standard error in a log
			// file at best: open the page for the person.
			if err := openBrowser(args.URL); err != nil {
				fmt.Fprintf(r.stderr, "mcplambda: proxy: could not open a browser (%v): open the URL above\n", err)
			}
		}
		select {
		case res := <-results:
			if res.Code == "" {
				return nil, errors.New("the authorization server sent no code")
			}
			return res, nil
		case <-r.closed:
			return nil, errors.New("stopped while waiting for the sign-in")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	cache := newTokenCache(cfg.target, cfg.clientID)
	conf := &sdkauth.AuthorizationCodeHandlerConfig{
		RedirectURL:              redirect,
		AuthorizationCodeFetcher: fetcher,
		RequestRefreshToken:      true,
		NewTokenSource: func(ctx context.Context, oc *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
			return cache.source(ctx, oc, tok, true, r.warnf), nil
		},
	}
	if ts := cache.load(r.warnf); ts != nil {
		conf.InitialTokenSource = ts
	}
	if cfg.clientID != "" {
		conf.PreregisteredClient = &oauthex.ClientCredentials{ClientID: cfg.clientID}
	} else {
		conf.DynamicClientRegistrationConfig = &sdkauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName:   "mcplambda",
			RedirectURIs: []string{redirect},
			GrantTypes:   []string{"authorization_code", "refresh_token"},
		}}
	}
	h, err := sdkauth.NewAuthorizationCodeHandler(conf)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("%s: OAuth: %w", r.cmd, err)
	}
	return h, nil
}

// warnf writes one line to stderr.
func (r *remote) warnf(format string, args ...any) {
	fmt.Fprintf(r.stderr, "mcplambda: %s: "+format+"\n", append([]any{r.cmd}, args...)...)
}

// loopbackOnly refuses, with 403, requests whose Host header names another
// host than a loopback one (DNS rebinding).
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostcheck.IsLoopback(r.Host) {
			http.Error(w, fmt.Sprintf("Forbidden: invalid Host header %q", r.Host), http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// openBrowser opens url in the default browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	cmd.Stdout, cmd.Stderr = nil, nil // never the proxy's stdout, which is the protocol
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}

// tokenCache is the file that keeps the OAuth tokens of one MCP endpoint
// (and client id) for the user across runs, with what refreshing them
// needs: the token endpoint and the client. It lives in
// os.UserCacheDir()/mcplambda/oauth ($XDG_CACHE_HOME or ~/.cache on
// Linux, ~/Library/Caches on macOS, %LocalAppData% on Windows), readable by
// the user only (directory 0700, file 0600). Deleting it signs out.
type tokenCache struct {
	path     string // "" when the user has no cache directory
	endpoint string
}

// cachedTokens is the content of a [tokenCache] file.
type cachedTokens struct {
	Endpoint     string        `json:"endpoint"`
	ClientID     string        `json:"clientId"`
	ClientSecret string        `json:"clientSecret,omitempty"`
	AuthURL      string        `json:"authUrl,omitempty"`
	TokenURL     string        `json:"tokenUrl"`
	AuthStyle    int           `json:"authStyle,omitempty"`
	Scopes       []string      `json:"scopes,omitempty"`
	Token        *oauth2.Token `json:"token"`
}

func newTokenCache(endpoint, clientID string) *tokenCache {
	dir, err := os.UserCacheDir()
	if err != nil {
		return &tokenCache{endpoint: endpoint}
	}
	sum := sha256.Sum256([]byte(endpoint + "\x00" + clientID))
	return &tokenCache{path: filepath.Join(dir, "mcplambda", "oauth", hex.EncodeToString(sum[:16])+".json"), endpoint: endpoint}
}

// load returns a token source for the cached tokens, or nil if there are
// none for this endpoint.
func (c *tokenCache) load(warnf func(string, ...any)) oauth2.TokenSource {
	if c.path == "" {
		return nil
	}
	b, err := os.ReadFile(c.path)
	if err != nil {
		return nil
	}
	var ct cachedTokens
	if err := json.Unmarshal(b, &ct); err != nil || ct.Endpoint != c.endpoint || ct.Token == nil || ct.TokenURL == "" {
		warnf("ignoring the unreadable token cache %s", c.path)
		return nil
	}
	oc := &oauth2.Config{
		ClientID:     ct.ClientID,
		ClientSecret: ct.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: ct.AuthURL, TokenURL: ct.TokenURL, AuthStyle: oauth2.AuthStyle(ct.AuthStyle)},
		Scopes:       ct.Scopes,
	}
	return c.source(context.Background(), oc, ct.Token, false, warnf)
}

// source returns a token source that refreshes tok with oc when it
// expires and writes every new token to the cache, tok itself first if it
// is new (not read from the cache).
func (c *tokenCache) source(ctx context.Context, oc *oauth2.Config, tok *oauth2.Token, isNew bool, warnf func(string, ...any)) oauth2.TokenSource {
	s := &savingSource{cache: c, config: oc, base: oc.TokenSource(ctx, tok), warnf: warnf}
	if isNew {
		s.save(tok)
	} else {
		s.last = tok.AccessToken
	}
	return s
}

// savingSource is an oauth2.TokenSource that saves each new token.
type savingSource struct {
	cache  *tokenCache
	config *oauth2.Config
	base   oauth2.TokenSource
	warnf  func(string, ...any)

	mu   sync.Mutex
	last string // the access token saved last
}

func (s *savingSource) Token() (*oauth2.Token, error) {
	tok, err := s.base.Token()
	if err != nil {
		return nil, err
	}
	s.save(tok)
	return tok, nil
}

// save writes tok to the cache if it is not the token saved last.
func (s *savingSource) save(tok *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache.path == "" || tok.AccessToken == s.last {
		return
	}
	s.last = tok.AccessToken
	b, err := json.MarshalIndent(cachedTokens{
		Endpoint:     s.cache.endpoint,
		ClientID:     s.config.ClientID,
		ClientSecret: s.config.ClientSecret,
		AuthURL:      s.config.Endpoint.AuthURL,
		TokenURL:     s.config.Endpoint.TokenURL,
		AuthStyle:    int(s.config.Endpoint.AuthStyle),
		Scopes:       s.config.Scopes,
		Token:        tok,
	}, "", "  ")
	if err == nil {
		err = writePrivate(s.cache.path, b)
	}
	if err != nil {
		s.warnf("cannot cache the OAuth tokens: %v", err)
	}
}

// writePrivate writes data to path, readable by the user only, replacing
// the file atomically.
func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tokens-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
