package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// env is the environment of ${VAR} references in the tests.
func env(vars map[string]string) *ParseOptions {
	return &ParseOptions{LookupEnv: func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}}
}

// TestParseClientFiles: configuration files of desktop clients, as they
// are, become the backends they name.
func TestParseClientFiles(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		file     string
		want     *Config
		warnings []string
	}{
		{
			file: "claude_desktop_config.json",
			want: &Config{
				Name: "mcplambda-gateway", Version: "v1",
				StartTimeout: DefaultStartTimeout, ListTimeout: DefaultListTimeout, RetryAfter: DefaultRetryAfter,
				Backends: []Backend{
					{Name: "filesystem", Type: TypeStdio, Prefix: "filesystem", Command: "npx",
						Args: []string{"-y", "@modelcontextprotocol/server-filesystem", "/tmp/project"}, Dir: "testdata", Timeout: DefaultTimeout},
					{Name: "GitHub Tools", Type: TypeStdio, Prefix: "github-tools", Command: "docker",
						Args: []string{"run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"},
						Env:  []string{"GITHUB_PERSONAL_ACCESS_TOKEN=ghp_test"}, Dir: "testdata", Timeout: DefaultTimeout},
					{Name: "time", Type: TypeLambda, Prefix: "time", Function: "time", Qualifier: "live", Timeout: DefaultTimeout},
					{Name: "docs", Type: TypeHTTP, Prefix: "docs", URL: "https://abcdefghij.lambda-url.eu-west-1.on.aws/mcp",
						SigV4: &SigV4{}, Timeout: 10 * time.Second},
				},
			},
			warnings: []string{
				`gateway: testdata/claude_desktop_config.json: globalShortcut: unknown top-level field, ignored`,
				`gateway: testdata/claude_desktop_config.json: backend "GitHub Tools": autoApprove: a desktop client's setting, ignored`,
				`gateway: testdata/claude_desktop_config.json: backend "old": disabled: the backend is disabled: left out`,
			},
		},
		{
			file: "vscode_mcp.json",
			want: &Config{
				Name: "team-tools", Version: "v2", TrustFrontDoor: true,
				StartTimeout: DefaultStartTimeout, ListTimeout: 2 * time.Second, RetryAfter: DefaultRetryAfter,
				Auth: &Auth{Resource: "https://gw.example.com/mcp", Scopes: []string{"mcp"}, ToolScopes: map[string][]string{"search__delete": {"mcp:admin"}}},
				Backends: []Backend{
					{Name: "search", Type: TypeHTTP, Prefix: "search", URL: "https://search.example.com/mcp",
						Headers: map[string]string{"X-Api-Key": "ssm:/prod/search-key"}, Timeout: 45 * time.Second},
					{Name: "legacy", Type: TypeSSE, Prefix: "legacy", URL: "http://127.0.0.1:9000/sse", Timeout: 45 * time.Second},
					{Name: "local", Type: TypeStdio, Prefix: "local", Command: "./bin/server", Dir: filepath.Join("testdata", "tools"),
						Env: []string{"TOKEN=secretsmanager:prod/local#token"}, Timeout: 45 * time.Second},
				},
			},
			warnings: []string{`gateway: testdata/vscode_mcp.json: inputs: ignored (VS Code prompts for inputs; a gateway cannot)`},
		},
	} {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(path, data, env(map[string]string{"GITHUB_TOKEN": "ghp_test"}))
			if err != nil {
				t.Fatalf("Parse(%s) = %v", path, err)
			}
			warnings := got.Warnings
			got.Warnings, tt.want.File = nil, path
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(%s) (-want +got):\n%s", path, diff)
			}
			if diff := cmp.Diff(tt.warnings, warnings); diff != "" {
				t.Errorf("Parse(%s) warnings (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestParseBackends: the forms a backend may take.
func TestParseBackends(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"STAGE": "prod", "EMPTY": ""}
	for _, tt := range []struct {
		name string
		json string
		want Backend
	}{
		{"cursor url", `{"url": "https://mcp.example.com/mcp"}`,
			Backend{Type: TypeHTTP, URL: "https://mcp.example.com/mcp"}},
		{"streamable-http", `{"type": "streamable-http", "url": "http://127.0.0.1:1/mcp", "token": "t0k"}`,
			Backend{Type: TypeHTTP, URL: "http://127.0.0.1:1/mcp", Token: "t0k"}},
		{"cline transportType", `{"transportType": "sse", "url": "http://127.0.0.1:1/sse"}`,
			Backend{Type: TypeSSE, URL: "http://127.0.0.1:1/sse"}},
		{"gemini httpUrl", `{"httpUrl": "https://x.example.com/mcp", "includeTools": ["a"], "excludeTools": ["b"]}`,
			Backend{Type: TypeHTTP, URL: "https://x.example.com/mcp", AllowTools: []string{"a"}, DenyTools: []string{"b"}}},
		{"sigv4 object", `{"url": "https://api.example.com/mcp", "sigv4": {"service": "execute-api", "region": "eu-west-1"}}`,
			Backend{Type: TypeHTTP, URL: "https://api.example.com/mcp", SigV4: &SigV4{Service: "execute-api", Region: "eu-west-1"}}},
		{"lambda name", `{"url": "lambda:time"}`, Backend{Type: TypeLambda, Function: "time"}},
		{"lambda qualifier field", `{"type": "lambda", "function": "time", "qualifier": "live", "region": "eu-west-1"}`,
			Backend{Type: TypeLambda, Function: "time", Qualifier: "live", Region: "eu-west-1"}},
		{"lambda partial ARN", `{"url": "lambda:123456789012:function:time:7"}`,
			Backend{Type: TypeLambda, Function: "123456789012:function:time", Qualifier: "7"}},
		{"lambda ARN", `{"url": "lambda:arn:aws:lambda:eu-west-1:123456789012:function:time:$LATEST"}`,
			Backend{Type: TypeLambda, Function: "arn:aws:lambda:eu-west-1:123456789012:function:time", Qualifier: "$LATEST", Region: "eu-west-1"}},
		{"no prefix", `{"url": "lambda:time", "prefix": ""}`, Backend{Type: TypeLambda, Function: "time", Prefix: "-"}},
		{"own prefix, filters, timeout", `{"url": "lambda:time", "prefix": "t2", "allowTools": ["get_*"], "denyTools": ["get_secret"], "timeout": "1m30s", "forwardPrincipal": true, "protocolVersion": "2025-11-25"}`,
			Backend{Type: TypeLambda, Function: "time", Prefix: "t2", AllowTools: []string{"get_*"}, DenyTools: []string{"get_secret"},
				Timeout: 90 * time.Second, ForwardPrincipal: true, ProtocolVersion: "2025-11-25"}},
		{"variables", `{"url": "https://${STAGE}.example.com/mcp", "headers": {"X-Stage": "${STAGE:-dev}", "X-Other": "${UNSET:-dflt}", "X-Empty": "${EMPTY:-dflt}", "X-Env": "${env:STAGE}"}}`,
			Backend{Type: TypeHTTP, URL: "https://prod.example.com/mcp", Headers: map[string]string{"X-Stage": "prod", "X-Other": "dflt", "X-Empty": "dflt", "X-Env": "prod"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse("gw.json", []byte(`{"mcpServers": {"My Server": `+tt.json+`}}`), env(vars))
			if err != nil {
				t.Fatalf("Parse(%s) = %v", tt.json, err)
			}
			want := tt.want
			want.Name = "My Server"
			switch want.Prefix {
			case "":
				want.Prefix = "my-server"
			case "-":
				want.Prefix = ""
			}
			if want.Timeout == 0 {
				want.Timeout = DefaultTimeout
			}
			if diff := cmp.Diff([]Backend{want}, cfg.Backends, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(%s) (-want +got):\n%s", tt.json, diff)
			}
		})
	}
}

// TestParseErrors: every mistake names the file, the backend and the
// field, and all of them are reported at once.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, json string
		want       []string
	}{
		{"not an object", `[]`, []string{`gateway: gw.json: not a JSON object: not an object`}},
		{"no servers", `{"gateway": {}}`, []string{`gateway: gw.json: mcpServers: missing`}},
		{"empty", `{"mcpServers": {}}`, []string{`gateway: gw.json: mcpServers: no backends`}},
		{"no command", `{"mcpServers": {"a": {"args": ["x"]}}}`, []string{`gateway: gw.json: backend "a": command: missing: want command (a stdio server), url`}},
		{"bad type", `{"mcpServers": {"a": {"type": "websocket", "url": "ws://x"}}}`, []string{`gateway: gw.json: backend "a": type: "websocket": want stdio, http`}},
		{"bad url", `{"mcpServers": {"a": {"type": "http", "url": "ftp://x"}}}`, []string{`gateway: gw.json: backend "a": url: "ftp://x": want an http(s) URL`}},
		{"empty lambda", `{"mcpServers": {"a": {"url": "lambda:"}}}`, []string{`gateway: gw.json: backend "a": url: missing: want lambda:FUNCTION[:QUALIFIER]`}},
		{"bad function", `{"mcpServers": {"a": {"function": "x:y:z"}}}`, []string{`gateway: gw.json: backend "a": function: "x:y:z": want FUNCTION[:QUALIFIER]`}},
		{"qualifier twice", `{"mcpServers": {"a": {"url": "lambda:f:1", "qualifier": "2"}}}`, []string{`gateway: gw.json: backend "a": qualifier: "2", but the function names qualifier "1"`}},
		{"field of another type", `{"mcpServers": {"a": {"command": "x", "headers": {"A": "b"}}}}`, []string{`gateway: gw.json: backend "a": headers: not for a backend of type stdio`}},
		{"command and url", `{"mcpServers": {"a": {"command": "x", "url": "http://h/mcp"}}}`, []string{`gateway: gw.json: backend "a": command: want command (a stdio server), url or function, not several`}},
		{"sigv4 and token", `{"mcpServers": {"a": {"url": "https://h/mcp", "sigv4": true, "token": "t"}}}`, []string{`gateway: gw.json: backend "a": sigv4: want sigv4 or a token, not both`}},
		{"bad prefix", `{"mcpServers": {"a": {"url": "lambda:f", "prefix": "A_b"}}}`, []string{`gateway: gw.json: backend "a": prefix: "A_b": want lowercase letters`}},
		{"name without prefix", `{"mcpServers": {"123": {"url": "lambda:f"}}}`, []string{`gateway: gw.json: backend "123": prefix: the backend's name gives no valid prefix ("123")`}},
		{"same prefix", `{"mcpServers": {"My Time": {"url": "lambda:f"}, "my_time": {"url": "lambda:g"}}}`, []string{`gateway: gw.json: backend "my_time": prefix: "my-time" is backend "My Time"'s prefix too`}},
		{"two without prefix", `{"mcpServers": {"a": {"url": "lambda:f", "prefix": ""}, "b": {"url": "lambda:g", "prefix": ""}}}`, []string{`gateway: gw.json: backend "b": prefix: backends "a" and "b" both have no prefix`}},
		{"bad pattern", `{"mcpServers": {"a": {"url": "lambda:f", "denyTools": ["[x"]}}}`, []string{`gateway: gw.json: backend "a": allowTools: pattern "[x": syntax error in pattern`}},
		{"bad timeout", `{"mcpServers": {"a": {"url": "lambda:f", "timeout": "soon"}}}`, []string{`gateway: gw.json: backend "a": timeout: "soon": want a positive duration`}},
		{"bad protocol", `{"mcpServers": {"a": {"url": "lambda:f", "protocolVersion": "2024-11-05"}}}`, []string{`gateway: gw.json: backend "a": protocolVersion: "2024-11-05": want one of`}},
		{"unset variable", `{"mcpServers": {"a": {"command": "x", "env": {"K": "${NOPE}"}}}}`, []string{`gateway: gw.json: backend "a": env.K: ${NOPE}: environment variable NOPE is not set`}},
		{"vscode input", `{"servers": {"a": {"command": "x", "env": {"K": "${input:api-key}"}}}}`, []string{`gateway: gw.json: backend "a": env.K: ${input:api-key}: VS Code inputs cannot be asked for here`}},
		{"envFile", `{"mcpServers": {"a": {"command": "x", "envFile": ".env"}}}`, []string{`gateway: gw.json: backend "a": envFile: not supported`}},
		{"both keys", `{"mcpServers": {"a": {"url": "lambda:f"}}, "servers": {}}`, []string{`gateway: gw.json: servers: mcpServers and servers: want one of the two`}},
		{"bad resource", `{"mcpServers": {"a": {"url": "lambda:f"}}, "gateway": {"auth": {"resource": "/mcp"}}}`, []string{`gateway: gw.json: gateway.auth.resource: "/mcp": want the gateway's absolute http(s) URL`}},
		{"scope of no tool", `{"mcpServers": {"a": {"url": "lambda:f"}}, "gateway": {"auth": {"resource": "https://g/mcp", "toolScopes": {"get_time": ["x"]}}}}`,
			[]string{`gateway: gw.json: gateway.auth.toolScopes: "get_time" names no backend's tool: tools are named PREFIX__NAME`}},
		{"several at once", `{"mcpServers": {"a": {"url": "lambda:"}, "b": {"type": "http"}}}`, []string{
			`gateway: gw.json: backend "a": url: missing`,
			`gateway: gw.json: backend "b": url: "": want an http(s) URL`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("gw.json", []byte(tt.json), env(nil))
			if err == nil {
				t.Fatalf("Parse(%s) = nil error, want %q", tt.json, tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("Parse(%s) = %d errors:\n%v\nwant %d", tt.json, len(lines), err, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("Parse(%s) error %d = %q, want it to start with %q", tt.json, i, lines[i], want)
				}
			}
		})
	}
}

// TestGrants: the functions invoked and the secrets referenced, each
// once, sorted, whatever field references them.
func TestGrants(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("gw.json", []byte(`{"mcpServers": {
		"a": {"url": "lambda:time:live"},
		"b": {"function": "arn:aws:lambda:eu-west-1:123456789012:function:other"},
		"c": {"url": "lambda:time:live", "prefix": "c2"},
		"d": {"command": "x", "env": {"A": "ssm:/prod/a", "B": "secretsmanager:prod/db#password", "C": "plain"}},
		"e": {"url": "https://h/mcp", "token": "secretsmanager:prod/token", "headers": {"X": "ssm:/prod/x"}},
		"f": {"url": "https://h/sse", "type": "sse", "headers": {"Y": "secretsmanager:prod/db#user"}}
	}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Grants{
		Functions: []FunctionGrant{
			{Function: "arn:aws:lambda:eu-west-1:123456789012:function:other"},
			{Function: "time", Qualifier: "live"},
		},
		SSMParameters: []string{"/prod/a", "/prod/x"},
		Secrets:       []string{"prod/db", "prod/token"},
	}
	if diff := cmp.Diff(want, cfg.Grants()); diff != "" {
		t.Errorf("Grants() (-want +got):\n%s", diff)
	}
}

func TestDefaultPrefix(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"time": "time", "My Server": "my-server", "aws_docs": "aws-docs", "@scope/pkg": "scope-pkg",
		"a--b": "a-b", "x!": "x", strings.Repeat("ab", 20): strings.Repeat("ab", 16), "123": "123",
	} {
		if got := defaultPrefix(in); got != want {
			t.Errorf("defaultPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
