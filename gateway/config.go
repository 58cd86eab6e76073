package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/internal/mcpproxy"
	"github.com/mcplambda/mcplambda/stdio/awssecrets"
)

// Type is how the gateway reaches a backend.
type Type string

// The backend types.
const (
	TypeStdio  Type = "stdio"  // a command run as a warm child process (package stdio)
	TypeHTTP   Type = "http"   // a Streamable HTTP endpoint
	TypeSSE    Type = "sse"    // an HTTP+SSE endpoint of the 2024-11-05 protocol
	TypeLambda Type = "lambda" // a Lambda function, through the Invoke API (package invoke)
)

// Defaults of [Config].
const (
	DefaultTimeout      = 30 * time.Second
	DefaultListTimeout  = 5 * time.Second
	DefaultStartTimeout = 8 * time.Second
	DefaultRetryAfter   = time.Second
)

// Config is a gateway's configuration, from a file in the shape desktop
// MCP clients use (see the package documentation). Parse and Load fill in
// every default.
type Config struct {
	// File is where the configuration was read from, for messages; its
	// directory is where relative paths start.
	File string

	// Name, Version and Instructions are the gateway's server info and
	// instructions ("gateway" section). Defaults: "mcplambda-gateway",
	// "v1", none.
	Name, Version, Instructions string

	// Backends are the servers behind the gateway, in the order of the
	// file.
	Backends []Backend

	// Auth, if not nil, makes the gateway an OAuth protected resource
	// (package auth).
	Auth *Auth

	// TrustFrontDoor makes the identity the Lambda front door verified
	// the caller (mcplambda.Options.TrustFrontDoor).
	TrustFrontDoor bool

	// StartTimeout bounds the start: connecting to every backend and
	// listing what it serves. Default [DefaultStartTimeout].
	StartTimeout time.Duration

	// ListTimeout bounds each backend's part of a list. Default
	// [DefaultListTimeout] (and never more than the backend's Timeout).
	ListTimeout time.Duration

	// RetryAfter is how long the gateway waits before it connects again
	// to a backend it could not reach, doubling up to 8 times while the
	// backend stays down. Default [DefaultRetryAfter].
	RetryAfter time.Duration

	// Warnings are what the file holds that the gateway ignores: fields
	// of desktop clients that mean nothing here, unknown fields.
	Warnings []string
}

// Backend is one server behind the gateway.
type Backend struct {
	// Name is the key of the backend in mcpServers.
	Name string
	// Type is how the gateway reaches it.
	Type Type
	// Prefix namespaces its tools and prompts (PREFIX__NAME) and its
	// resources and templates (PREFIX+URI); "" means none.
	Prefix string

	// Command, Args, Env (KEY=VALUE) and Dir: a stdio backend.
	Command string
	Args    []string
	Env     []string
	Dir     string

	// URL, Headers, Token and SigV4: an http or sse backend.
	URL     string
	Headers map[string]string
	Token   string
	SigV4   *SigV4

	// Function, Qualifier and Region: a lambda backend. Function is a
	// name, a partial ARN (ACCOUNT:function:NAME) or an ARN.
	Function  string
	Qualifier string
	Region    string

	// AllowTools and DenyTools are patterns (path.Match syntax, "get_*")
	// of the backend's own tool names: with AllowTools only the matching
	// tools are served; DenyTools removes tools.
	AllowTools, DenyTools []string

	// Timeout bounds every request to the backend.
	Timeout time.Duration

	// ForwardPrincipal sends the caller's principal in the _meta of every
	// request, under [MetaKeyPrincipal].
	ForwardPrincipal bool

	// ProtocolVersion is the protocol version to ask the backend for: ""
	// means 2026-07-28, falling back to initialize (stdio: 2025-11-25).
	ProtocolVersion string
}

// SigV4 signs the requests to an http or sse backend with the gateway's
// AWS credentials (its Lambda role).
type SigV4 struct {
	// Service is the signing name, "lambda" or "execute-api"; "" means
	// the one the URL's host names.
	Service string
	// Region is the signing region; "" means the URL's.
	Region string
}

// Auth configures the gateway's own authorization (package auth).
type Auth struct {
	// Resource is the gateway's canonical URL, the audience of tokens.
	Resource string
	// Issuer is the OAuth authorization server (an OIDC issuer) whose
	// access tokens the gateway accepts. "" means no bearer tokens: only
	// callers the front door verified (TrustFrontDoor).
	Issuer string
	// Scopes are required of every request.
	Scopes []string
	// ToolScopes are required of calls to a tool, by its namespaced name.
	ToolScopes map[string][]string
	// IAMScopes are granted to IAM callers the front door verified.
	IAMScopes []string
	// ResourceName is the human-readable name in the metadata.
	ResourceName string
}

// ParseOptions configures [Parse].
type ParseOptions struct {
	// LookupEnv looks up the variables of ${VAR} references. nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Error is a mistake in a configuration file: it names the file, the
// backend (if any) and the field.
type Error struct {
	File    string
	Backend string // "" for the file's top level and the gateway section
	Field   string // e.g. "url", "gateway.auth.resource"
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gateway: ")
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Backend != "" {
		fmt.Fprintf(&b, "backend %q: ", e.Backend)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "%s: ", e.Field)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Load reads and parses the configuration file at path, with the
// process's environment for ${VAR} references.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return Parse(path, data, nil)
}

// Parse parses a configuration read from file (used in messages and to
// resolve relative paths). Every mistake it finds is reported, each as
// an [*Error], joined.
func Parse(file string, data []byte, opts *ParseOptions) (*Config, error) {
	p := &parser{file: file, lookup: os.LookupEnv}
	if opts != nil && opts.LookupEnv != nil {
		p.lookup = opts.LookupEnv
	}
	cfg := &Config{File: file, Name: "mcplambda-gateway", Version: "v1", StartTimeout: DefaultStartTimeout,
		ListTimeout: DefaultListTimeout, RetryAfter: DefaultRetryAfter}
	p.cfg = cfg
	top, err := orderedObject(data)
	if err != nil {
		return nil, &Error{File: file, Err: fmt.Errorf("not a JSON object: %w", err)}
	}
	var servers, section json.RawMessage
	serversKey := ""
	for _, kv := range top {
		switch kv.key {
		case "mcpServers", "servers":
			if serversKey != "" {
				p.errf("", kv.key, "%s and %s: want one of the two", serversKey, kv.key)
				continue
			}
			serversKey, servers = kv.key, kv.value
		case "gateway":
			section = kv.value
		case "inputs":
			p.warnf("", kv.key, "ignored (VS Code prompts for inputs; a gateway cannot)")
		default:
			p.warnf("", kv.key, "unknown top-level field, ignored")
		}
	}
	timeout := DefaultTimeout
	if section != nil {
		timeout = p.gateway(section)
	}
	if servers == nil {
		p.errf("", "mcpServers", "missing: want {\"mcpServers\": {\"NAME\": {...}, ...}}")
	} else if entries, err := orderedObject(servers); err != nil {
		p.errf("", serversKey, "want an object of backends: %v", err)
	} else {
		for _, kv := range entries {
			if b, ok := p.backend(kv.key, kv.value, timeout); ok {
				cfg.Backends = append(cfg.Backends, b)
			}
		}
		if len(entries) > 0 && len(cfg.Backends) == 0 && len(p.errs) == 0 {
			p.errf("", serversKey, "every backend is disabled")
		} else if len(entries) == 0 {
			p.errf("", serversKey, "no backends")
		}
	}
	p.checkPrefixes()
	p.checkToolScopes()
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return cfg, nil
}

// parser accumulates what Parse finds.
type parser struct {
	file   string
	lookup func(string) (string, bool)
	cfg    *Config
	errs   []error
}

func (p *parser) errf(backend, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Backend: backend, Field: field, Err: fmt.Errorf(format, args...)})
}

func (p *parser) warnf(backend, field, format string, args ...any) {
	p.cfg.Warnings = append(p.cfg.Warnings, (&Error{File: p.file, Backend: backend, Field: field, Err: fmt.Errorf(format, args...)}).Error())
}

// keyValue is one member of a JSON object.
type keyValue struct {
	key   string
	value json.RawMessage
}

// orderedObject decodes a JSON object into its members, in order: the
// order of mcpServers is the order of the merged lists.
func orderedObject(data []byte) ([]keyValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var out []keyValue
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, fmt.Errorf("%q appears twice", key)
		}
		seen[key] = true
		out = append(out, keyValue{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return out, nil
}

// fields reads the members of a JSON object for one backend or section.
type fields struct {
	p       *parser
	backend string
	prefix  string // of field names in messages, e.g. "gateway."
	m       map[string]json.RawMessage
	used    map[string]bool
}

func (p *parser) fields(backend, prefix string, raw json.RawMessage) (*fields, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		p.errf(backend, strings.TrimSuffix(prefix, "."), "want an object")
		return nil, false
	}
	return &fields{p: p, backend: backend, prefix: prefix, m: m, used: map[string]bool{}}, true
}

func (f *fields) has(name string) bool { _, ok := f.m[name]; return ok && string(f.m[name]) != "null" }

func (f *fields) errf(name, format string, args ...any) {
	f.p.errf(f.backend, f.prefix+name, format, args...)
}

// raw returns the member name, marking it used.
func (f *fields) raw(name string) (json.RawMessage, bool) {
	f.used[name] = true
	v, ok := f.m[name]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// str returns a string member, with ${VAR} references expanded.
func (f *fields) str(name string) string {
	v, ok := f.raw(name)
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.errf(name, "want a string")
		return ""
	}
	return f.expand(name, s)
}

// literal returns a string member, unexpanded.
func (f *fields) literal(name string) (string, bool) {
	v, ok := f.raw(name)
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.errf(name, "want a string")
		return "", false
	}
	return s, true
}

func (f *fields) strs(name string) []string {
	v, ok := f.raw(name)
	if !ok {
		return nil
	}
	var ss []string
	if err := json.Unmarshal(v, &ss); err != nil {
		f.errf(name, "want an array of strings")
		return nil
	}
	for i, s := range ss {
		ss[i] = f.expand(fmt.Sprintf("%s[%d]", name, i), s)
	}
	return ss
}

func (f *fields) strMap(name string) map[string]string {
	v, ok := f.raw(name)
	if !ok {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(v, &m); err != nil {
		f.errf(name, "want an object of strings")
		return nil
	}
	for k, s := range m {
		m[k] = f.expand(name+"."+k, s)
	}
	return m
}

func (f *fields) boolean(name string) bool {
	v, ok := f.raw(name)
	if !ok {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		f.errf(name, "want true or false")
	}
	return b
}

// duration reads a duration: a string such as "30s" or "1m30s", or a
// number of seconds.
func (f *fields) duration(name string, def time.Duration) time.Duration {
	v, ok := f.raw(name)
	if !ok {
		return def
	}
	var secs float64
	if err := json.Unmarshal(v, &secs); err == nil {
		if secs <= 0 {
			f.errf(name, "want more than 0 seconds")
			return def
		}
		return time.Duration(secs * float64(time.Second))
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.errf(name, `want a duration such as "30s", or a number of seconds`)
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		f.errf(name, `%q: want a positive duration such as "30s"`, s)
		return def
	}
	return d
}

// unused warns about the members nothing read, except those in ignored,
// which desktop clients use and a gateway has no use for.
func (f *fields) unused(ignored ...string) {
	var names []string
	for name := range f.m {
		if !f.used[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if slices.Contains(ignored, name) {
			f.p.warnf(f.backend, f.prefix+name, "a desktop client's setting, ignored")
		} else {
			f.p.warnf(f.backend, f.prefix+name, "unknown field, ignored")
		}
	}
}

// envRef is a ${...} reference in a string value.
var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)

// expand replaces ${VAR}, ${VAR:-default} and ${env:VAR} in s with the
// variable's value.
func (f *fields) expand(name, s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		expr := ref[2 : len(ref)-1]
		if in, ok := strings.CutPrefix(expr, "input:"); ok {
			f.errf(name, "${input:%s}: VS Code inputs cannot be asked for here; use ${VAR} (the gateway's environment) or a secret reference", in)
			return ""
		}
		expr = strings.TrimPrefix(expr, "env:")
		v, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName.MatchString(v) {
			f.errf(name, "%s: want ${VAR}, ${VAR:-default} or ${env:VAR}", ref)
			return ""
		}
		if val, ok := f.p.lookup(v); ok && (val != "" || !hasDef) {
			return val
		}
		if hasDef {
			return def
		}
		f.errf(name, "%s: environment variable %s is not set (give a default with ${%s:-default})", ref, v, v)
		return ""
	})
}

var validEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// gateway reads the "gateway" section and returns the default timeout of
// backends.
func (p *parser) gateway(raw json.RawMessage) time.Duration {
	f, ok := p.fields("", "gateway.", raw)
	if !ok {
		return DefaultTimeout
	}
	cfg := p.cfg
	if s := f.str("name"); s != "" {
		cfg.Name = s
	}
	if s := f.str("version"); s != "" {
		cfg.Version = s
	}
	cfg.Instructions = f.str("instructions")
	cfg.TrustFrontDoor = f.boolean("trustFrontDoor")
	cfg.StartTimeout = f.duration("startTimeout", DefaultStartTimeout)
	cfg.ListTimeout = f.duration("listTimeout", DefaultListTimeout)
	cfg.RetryAfter = f.duration("retryAfter", DefaultRetryAfter)
	timeout := f.duration("timeout", DefaultTimeout)
	if raw, ok := f.raw("auth"); ok {
		cfg.Auth = p.auth(raw)
	}
	f.unused()
	return timeout
}

// auth reads gateway.auth.
func (p *parser) auth(raw json.RawMessage) *Auth {
	f, ok := p.fields("", "gateway.auth.", raw)
	if !ok {
		return nil
	}
	a := &Auth{
		Resource:     f.str("resource"),
		Issuer:       f.str("issuer"),
		Scopes:       f.strs("scopes"),
		IAMScopes:    f.strs("iamScopes"),
		ResourceName: f.str("resourceName"),
	}
	if v, ok := f.raw("toolScopes"); ok {
		if err := json.Unmarshal(v, &a.ToolScopes); err != nil {
			f.errf("toolScopes", "want an object of tool names to arrays of scopes")
		}
	}
	if u, err := url.Parse(a.Resource); a.Resource == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		f.errf("resource", "%q: want the gateway's absolute http(s) URL, such as https://gateway.example.com/mcp", a.Resource)
	}
	if a.Issuer != "" {
		if u, err := url.Parse(a.Issuer); err != nil || u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname())) {
			f.errf("issuer", "%q: want an https URL (http only for a loopback issuer)", a.Issuer)
		}
	}
	f.unused()
	return a
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// clientFields are fields of desktop clients' entries that mean nothing
// to a gateway.
var clientFields = []string{"autoApprove", "alwaysAllow", "description", "trust", "oauth", "enabled", "startup_timeout_sec", "tool_timeout_sec"}

// backend reads one entry of mcpServers.
func (p *parser) backend(name string, raw json.RawMessage, timeout time.Duration) (Backend, bool) {
	b := Backend{Name: name}
	if strings.TrimSpace(name) == "" {
		p.errf("", "mcpServers", "a backend with an empty name")
		return b, false
	}
	f, ok := p.fields(name, "", raw)
	if !ok {
		return b, false
	}
	if f.boolean("disabled") {
		p.warnf(name, "disabled", "the backend is disabled: left out")
		return b, false
	}
	typ := f.str("type")
	if t := f.str("transportType"); typ == "" {
		typ = t // Cline
	}
	switch typ {
	case "":
	case "stdio":
		b.Type = TypeStdio
	case "http", "streamable-http", "streamableHttp", "streamable_http":
		b.Type = TypeHTTP
	case "sse":
		b.Type = TypeSSE
	case "lambda":
		b.Type = TypeLambda
	default:
		f.errf("type", "%q: want stdio, http (or streamable-http), sse or lambda", typ)
		return b, false
	}
	b.Command = f.str("command")
	b.URL = f.str("url")
	if u := f.str("httpUrl"); u != "" { // Gemini CLI
		if b.URL != "" {
			f.errf("httpUrl", "want url or httpUrl, not both")
		}
		b.URL = u
		if b.Type == "" {
			b.Type = TypeHTTP
		}
	}
	function := f.str("function")
	if b.Type == "" {
		switch {
		case b.Command != "" && (b.URL != "" || function != ""):
			f.errf("command", "want command (a stdio server), url or function, not several")
			return b, false
		case b.Command != "":
			b.Type = TypeStdio
		case strings.HasPrefix(b.URL, "lambda:") || function != "":
			b.Type = TypeLambda
		case b.URL != "":
			b.Type = TypeHTTP
		default:
			f.errf("command", "missing: want command (a stdio server), url (http(s):// or lambda:FUNCTION[:QUALIFIER]) or function")
			return b, false
		}
	}
	only := func(field string, types ...Type) {
		if f.has(field) && !slices.Contains(types, b.Type) {
			f.errf(field, "not for a backend of type %s", b.Type)
		}
	}
	only("command", TypeStdio)
	only("args", TypeStdio)
	only("env", TypeStdio)
	only("cwd", TypeStdio)
	only("headers", TypeHTTP, TypeSSE)
	only("token", TypeHTTP, TypeSSE)
	only("sigv4", TypeHTTP, TypeSSE)
	only("function", TypeLambda)
	only("qualifier", TypeLambda)
	only("region", TypeLambda)

	switch b.Type {
	case TypeStdio:
		if b.Command == "" {
			f.errf("command", "missing: a stdio backend needs the command that starts it")
		}
		b.Args = f.strs("args")
		env := f.strMap("env")
		for _, k := range slices.Sorted(mapKeys(env)) {
			b.Env = append(b.Env, k+"="+env[k])
		}
		b.Dir = filepath.Dir(p.file)
		if cwd := f.str("cwd"); cwd != "" {
			if filepath.IsAbs(cwd) {
				b.Dir = cwd
			} else {
				b.Dir = filepath.Join(b.Dir, cwd)
			}
		}
		if f.has("envFile") {
			f.raw("envFile")
			f.errf("envFile", "not supported: put the variables in env (values may be ${VAR} or secret references)")
		}
	case TypeHTTP, TypeSSE:
		if u, err := url.Parse(b.URL); b.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			f.errf("url", "%q: want an http(s) URL", b.URL)
		}
		b.Headers = f.strMap("headers")
		for k := range b.Headers {
			if strings.EqualFold(k, "Authorization") && f.has("token") {
				f.errf("headers."+k, "want token or an Authorization header, not both")
			}
		}
		b.Token = f.str("token")
		if v, ok := f.raw("sigv4"); ok {
			b.SigV4 = &SigV4{}
			var on bool
			if json.Unmarshal(v, &on) == nil {
				if !on {
					b.SigV4 = nil
				}
			} else if sf, ok := p.fields(name, "sigv4.", v); ok {
				b.SigV4.Service = sf.str("service")
				b.SigV4.Region = sf.str("region")
				if s := b.SigV4.Service; s != "" && s != "lambda" && s != "execute-api" {
					sf.errf("service", "%q: want lambda or execute-api", s)
				}
				sf.unused()
			}
			if b.SigV4 != nil && (b.Token != "" || hasAuthorization(b.Headers)) {
				f.errf("sigv4", "want sigv4 or a token, not both")
			}
		}
	case TypeLambda:
		spec := function
		if strings.HasPrefix(b.URL, "lambda:") {
			if function != "" {
				f.errf("function", "want url lambda:FUNCTION or function, not both")
			}
			spec = strings.TrimPrefix(b.URL, "lambda:")
		} else if b.URL != "" {
			f.errf("url", "%q: a lambda backend's url is lambda:FUNCTION[:QUALIFIER]", b.URL)
		}
		fn, qualifier, region, err := parseFunction(spec)
		if err != nil {
			field := "function"
			if function == "" {
				field = "url"
			}
			f.errf(field, "%v", err)
		}
		b.Function, b.Qualifier, b.Region, b.URL = fn, qualifier, region, ""
		if q := f.str("qualifier"); q != "" {
			if b.Qualifier != "" && b.Qualifier != q {
				f.errf("qualifier", "%q, but the function names qualifier %q", q, b.Qualifier)
			} else if !validQualifier.MatchString(q) {
				f.errf("qualifier", "%q: want a version or alias name", q)
			}
			b.Qualifier = q
		}
		if r := f.str("region"); r != "" {
			if b.Region != "" && b.Region != r {
				f.errf("region", "%q, but the function ARN is in %q", r, b.Region)
			}
			b.Region = r
		}
	}

	if pre, ok := f.literal("prefix"); ok {
		if pre != "" && !mcpproxy.ValidPrefix(pre) {
			f.errf("prefix", "%q: want lowercase letters, digits and hyphens, starting with a letter, at most 32 (or \"\" for none)", pre)
		}
		b.Prefix = pre
	} else {
		b.Prefix = defaultPrefix(name)
		if !mcpproxy.ValidPrefix(b.Prefix) {
			f.errf("prefix", "the backend's name gives no valid prefix (%q): set one, with lowercase letters, digits and hyphens", b.Prefix)
		}
	}
	b.AllowTools = append(f.strs("allowTools"), f.strs("includeTools")...)
	b.DenyTools = append(f.strs("denyTools"), f.strs("excludeTools")...)
	for _, pat := range append(slices.Clone(b.AllowTools), b.DenyTools...) {
		if _, err := path.Match(pat, ""); err != nil {
			f.errf("allowTools", "pattern %q: %v", pat, err)
		}
	}
	b.Timeout = f.duration("timeout", timeout)
	b.ForwardPrincipal = f.boolean("forwardPrincipal")
	b.ProtocolVersion = f.str("protocolVersion")
	if v := b.ProtocolVersion; v != "" && !slices.Contains(protocolVersions, v) {
		f.errf("protocolVersion", "%q: want one of %s", v, strings.Join(protocolVersions, ", "))
	}
	// "type", "transportType", "url" and friends were read above.
	f.used["type"], f.used["transportType"], f.used["disabled"] = true, true, true
	f.unused(clientFields...)
	return b, true
}

// protocolVersions are what a backend may be asked for.
var protocolVersions = []string{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"}

func hasAuthorization(h map[string]string) bool {
	for k := range h {
		if strings.EqualFold(k, "Authorization") {
			return true
		}
	}
	return false
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

var (
	validFunctionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	validQualifier    = regexp.MustCompile(`^(\$LATEST|[A-Za-z0-9_-]{1,128})$`)
	validAccount      = regexp.MustCompile(`^[0-9]{12}$`)
)

// parseFunction parses FUNCTION[:QUALIFIER]: a name, a partial ARN
// (ACCOUNT:function:NAME) or an ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME),
// returning the function without the qualifier, the qualifier, and the
// region of an ARN.
func parseFunction(spec string) (fn, qualifier, region string, err error) {
	bad := func() (string, string, string, error) {
		return "", "", "", fmt.Errorf("%q: want FUNCTION[:QUALIFIER], where FUNCTION is a name, ACCOUNT:function:NAME or a function ARN", spec)
	}
	parts := strings.Split(spec, ":")
	switch {
	case spec == "":
		return "", "", "", errors.New("missing: want lambda:FUNCTION[:QUALIFIER]")
	case parts[0] == "arn":
		if len(parts) < 7 || len(parts) > 8 || parts[2] != "lambda" || parts[5] != "function" || parts[3] == "" || !validAccount.MatchString(parts[4]) || !validFunctionName.MatchString(parts[6]) {
			return bad()
		}
		if len(parts) == 8 {
			qualifier = parts[7]
		}
		fn, region = strings.Join(parts[:7], ":"), parts[3]
	case len(parts) >= 3:
		if len(parts) > 4 || !validAccount.MatchString(parts[0]) || parts[1] != "function" || !validFunctionName.MatchString(parts[2]) {
			return bad()
		}
		if len(parts) == 4 {
			qualifier = parts[3]
		}
		fn = strings.Join(parts[:3], ":")
	default:
		if !validFunctionName.MatchString(parts[0]) {
			return bad()
		}
		fn = parts[0]
		if len(parts) == 2 {
			qualifier = parts[1]
		}
	}
	if qualifier != "" && !validQualifier.MatchString(qualifier) {
		return bad()
	}
	return fn, qualifier, region, nil
}

// defaultPrefix derives a backend's prefix from its name: lowercase, runs
// of other characters than letters and digits as one hyphen, at most 32.
func defaultPrefix(name string) string {
	var b strings.Builder
	hyphen := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			hyphen = false
		} else if !hyphen && b.Len() > 0 {
			b.WriteByte('-')
			hyphen = true
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > 32 {
		s = strings.TrimRight(s[:32], "-")
	}
	return s
}

// checkPrefixes refuses two backends with one prefix, and more than one
// without a prefix.
func (p *parser) checkPrefixes() {
	owner := map[string]string{}
	for _, b := range p.cfg.Backends {
		key := b.Prefix
		if other, ok := owner[key]; ok {
			if key == "" {
				p.errf(b.Name, "prefix", "backends %q and %q both have no prefix: at most one backend may have none", other, b.Name)
			} else {
				p.errf(b.Name, "prefix", "%q is backend %q's prefix too: set another prefix for one of them", key, other)
			}
			continue
		}
		owner[key] = b.Name
	}
}

// checkToolScopes refuses tool scopes for names no backend could serve: a
// scope on a name that is never called protects nothing.
func (p *parser) checkToolScopes() {
	a := p.cfg.Auth
	if a == nil {
		return
	}
	unprefixed := false
	prefixes := map[string]bool{}
	for _, b := range p.cfg.Backends {
		prefixes[b.Prefix] = true
		unprefixed = unprefixed || b.Prefix == ""
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range a.ToolScopes {
			if !yield(k) {
				return
			}
		}
	}) {
		pre, _, ok := strings.Cut(name, mcpproxy.NameSeparator)
		if (!ok || !prefixes[pre]) && !unprefixed {
			p.errf("", "gateway.auth.toolScopes", "%q names no backend's tool: tools are named PREFIX%sNAME", name, mcpproxy.NameSeparator)
		}
	}
}

// Grants are the AWS resources a gateway needs access to: the functions
// it invokes and the secrets its configuration references. mcplambda
// build --config writes them into the zip ([GrantsFile]) for the CDK
// construct, which grants exactly these.
type Grants struct {
	// Functions are the lambda backends: the function (a name, a partial
	// ARN or an ARN) and its qualifier ("" for none).
	Functions []FunctionGrant `json:"functions"`
	// SSMParameters are the SSM parameters referenced (names or ARNs).
	SSMParameters []string `json:"ssmParameters"`
	// Secrets are the Secrets Manager secrets referenced (ids or ARNs).
	Secrets []string `json:"secrets"`
}

// FunctionGrant is a function the gateway invokes.
type FunctionGrant struct {
	Function  string `json:"function"`
	Qualifier string `json:"qualifier,omitempty"`
}

// GrantsFile is the name of the grants file in a zip written by mcplambda
// build --config, next to bootstrap and the configuration (ConfigFile).
const GrantsFile = "mcplambda-gateway-grants.json"

// ConfigFile is the name of the configuration in a zip written by
// mcplambda build --config: next to bootstrap, where the gateway looks for
// it when it runs as a Lambda bootstrap.
const ConfigFile = "gateway.json"

// Grants returns what the gateway of cfg needs access to, sorted.
func (cfg *Config) Grants() *Grants {
	g := &Grants{Functions: []FunctionGrant{}, SSMParameters: []string{}, Secrets: []string{}}
	ref := func(v string) {
		switch {
		case strings.HasPrefix(v, awssecrets.PrefixSSM):
			g.SSMParameters = append(g.SSMParameters, strings.TrimPrefix(v, awssecrets.PrefixSSM))
		case strings.HasPrefix(v, awssecrets.PrefixSecretsManager):
			id, _, _ := strings.Cut(strings.TrimPrefix(v, awssecrets.PrefixSecretsManager), "#")
			g.Secrets = append(g.Secrets, id)
		}
	}
	for _, b := range cfg.Backends {
		if b.Type == TypeLambda {
			g.Functions = append(g.Functions, FunctionGrant{Function: b.Function, Qualifier: b.Qualifier})
		}
		for _, kv := range b.Env {
			_, v, _ := strings.Cut(kv, "=")
			ref(v)
		}
		for _, v := range b.Headers {
			ref(v)
		}
		ref(b.Token)
	}
	slices.SortFunc(g.Functions, func(a, b FunctionGrant) int {
		return strings.Compare(a.Function+":"+a.Qualifier, b.Function+":"+b.Qualifier)
	})
	g.Functions = slices.Compact(g.Functions)
	slices.Sort(g.SSMParameters)
	slices.Sort(g.Secrets)
	g.SSMParameters = slices.Compact(g.SSMParameters)
	g.Secrets = slices.Compact(g.Secrets)
	return g
}
