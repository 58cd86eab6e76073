package authserver

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// The pages a person sees: plain server-rendered HTML, no scripts. Every
// page forbids framing (clickjacking) and scripts, sends no referrer and
// is not cached.

const pageStyle = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}
h1{font-size:1.4rem}.box{border:1px solid #ccc;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}
.warn{background:#fff4e5;border-color:#f0b35b}ul{padding-left:1.2rem}code{background:#f2f2f2;padding:0 .2rem}
.buttons{display:flex;gap:.75rem;margin-top:1.5rem}button{font-size:1rem;padding:.5rem 1.2rem;border-radius:6px;border:1px solid #888;background:#fff;cursor:pointer}
button.primary{background:#1a56db;border-color:#1a56db;color:#fff}.muted{color:#666;font-size:.9rem}`

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Allow access to {{.Service}}?</title><style>` + pageStyle + `</style></head>
<body>
<h1>Allow <strong>{{.ClientName}}</strong> to use {{.Service}}?</h1>
<div class="box">
<p>{{if .Document}}<strong>{{.ClientName}}</strong> is the name published by <code>{{.ClientHost}}</code> in its client metadata (<code>{{.ClientID}}</code>).{{else}}<strong>{{.ClientName}}</strong> is the name this application gave itself when it registered; the server has not verified it.{{end}}</p>
<p>If you allow it, you will be sent back to <code>{{.RedirectHost}}</code>, and the application will be able to act as you ({{if .User}}<strong>{{.User}}</strong>{{else}}your account{{end}}) on {{.Resource}}
{{- if .Scopes}} with these permissions:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>{{else}}, with no particular permission.</p>{{end}}
</div>
{{if .Loopback}}<div class="box warn"><p><strong>Check that you started this sign-in yourself.</strong> The application receives the answer on your own computer (<code>{{.RedirectHost}}</code>); any program on it could claim this name.</p></div>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="signin" value="{{.SignIn}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<div class="buttons"><button class="primary" type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></div>
</form>
<p class="muted">Access ends when the application signs out or you revoke it; it lasts at most {{.Lifetime}}.</p>
</body></html>
`))

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign-in failed</title><style>` + pageStyle + `</style></head>
<body>
<h1>Sign-in to {{.Service}} failed</h1>
<div class="box warn"><p>{{.Message}}</p><p class="muted">Error: <code>{{.Code}}</code></p></div>
<p>Close this window and start again from your application.</p>
</body></html>
`))

// consentPage is what the consent page shows.
type consentPage struct {
	Service, ClientName, ClientID, ClientHost string
	Document                                  bool
	RedirectHost, User, Resource              string
	Scopes                                    []string
	Loopback                                  bool
	Action, SignIn, CSRF, Lifetime            string
}

// pageHeaders sets the headers every page carries; formTarget, if set, is
// where the page's form may send the browser after it is submitted.
func pageHeaders(w http.ResponseWriter, formTarget string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	csp := "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
	if formTarget != "" {
		// The consent form's answer redirects to the client: browsers
		// apply form-action to that redirect too.
		csp += " " + formTarget
	}
	h.Set("Content-Security-Policy", csp)
}

// showError is the one way a browser endpoint refuses a request it
// cannot redirect back to a client (an unknown client, a redirect URI
// that is not registered, a tampered or expired sign-in): an HTML page,
// never a redirect, so that the server cannot be made an open redirector.
func (s *Server) showError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	s.logger.InfoContext(r.Context(), "authserver: sign-in refused", "status", status, "error", code, "reason", message, "path", r.URL.Path)
	var b bytes.Buffer
	errorTmpl.Execute(&b, struct{ Service, Code, Message string }{s.name, code, message})
	pageHeaders(w, "")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// showConsent renders the consent page.
func (s *Server) showConsent(w http.ResponseWriter, p *consentPage, redirect string) {
	var b bytes.Buffer
	if err := consentTmpl.Execute(&b, p); err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "rendering the consent page failed", "")
		return
	}
	target := ""
	if u, err := url.Parse(redirect); err == nil {
		target = u.Scheme + "://" + u.Host
		if isLoopbackHost(u.Hostname()) && u.Port() == "" {
			target += ":*"
		}
	}
	pageHeaders(w, strings.ReplaceAll(target, ";", ""))
	w.WriteHeader(http.StatusOK)
	w.Write(b.Bytes())
}
