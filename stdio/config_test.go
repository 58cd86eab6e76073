package stdio_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/stdio"
)

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mcp.json")
	os.WriteFile(file, []byte(`{
		"command": ["python3", "-m", "server"],
		"args": ["--fast"],
		"env": {"B": "2", "A": "ssm:/a"},
		"dir": "/var/task/srv",
		"isolation": "per-principal",
		"timeout": "30s",
		"path": "/tools/mcp",
		"responseStream": true,
		"trustFrontDoor": true
	}`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"command": "x", "unknown": 1}`), 0o644)

	tests := []struct {
		name    string
		env     map[string]string
		want    stdio.Config
		wantErr string
	}{
		{
			name: "command and args",
			env:  map[string]string{"MCPLAMBDA_COMMAND": "node", "MCPLAMBDA_ARGS": `["server.js","--x"]`},
			want: stdio.Config{Command: stdio.Command{Path: "node", Args: []string{"server.js", "--x"}}},
		},
		{
			name: "command as JSON array, everything set",
			env: map[string]string{
				"MCPLAMBDA_COMMAND": `["npx","-y","pkg"]`, "MCPLAMBDA_ENV": `{"K":"v","A":"secretsmanager:s#k"}`,
				"MCPLAMBDA_DIR": "/tmp", "MCPLAMBDA_ISOLATION": "per-request", "MCPLAMBDA_TIMEOUT": "1m",
				"MCPLAMBDA_DEADLINE_MARGIN": "250ms", "MCPLAMBDA_PATH": "/x", "MCPLAMBDA_ALLOWED_ORIGINS": "https://a.example, https://b.example",
				"MCPLAMBDA_RESPONSE_STREAM": "true", "MCPLAMBDA_TRUST_FRONT_DOOR": "1",
			},
			want: stdio.Config{
				Command: stdio.Command{Path: "npx", Args: []string{"-y", "pkg"}, Env: []string{"A=secretsmanager:s#k", "K=v"}, Dir: "/tmp"},
				Proxy:   stdio.ProxyOptions{Isolation: stdio.PerRequest, Timeout: time.Minute, DeadlineMargin: 250 * time.Millisecond},
				Server:  mcplambda.Options{Path: "/x", AllowedOrigins: []string{"https://a.example", "https://b.example"}, ResponseStream: true, TrustFrontDoor: true},
			},
		},
		{
			name: "config file",
			env:  map[string]string{"MCPLAMBDA_CONFIG": file},
			want: stdio.Config{
				Command: stdio.Command{Path: "python3", Args: []string{"-m", "server", "--fast"}, Env: []string{"A=ssm:/a", "B=2"}, Dir: "/var/task/srv"},
				Proxy:   stdio.ProxyOptions{Isolation: stdio.PerPrincipal, Timeout: 30 * time.Second},
				Server:  mcplambda.Options{Path: "/tools/mcp", ResponseStream: true, TrustFrontDoor: true},
			},
		},
		{
			name: "variables override the file",
			env:  map[string]string{"MCPLAMBDA_CONFIG": file, "MCPLAMBDA_COMMAND": "./server", "MCPLAMBDA_ISOLATION": "warm"},
			want: stdio.Config{
				Command: stdio.Command{Path: "./server", Env: []string{"A=ssm:/a", "B=2"}, Dir: "/var/task/srv"},
				Proxy:   stdio.ProxyOptions{Isolation: stdio.Warm, Timeout: 30 * time.Second},
				Server:  mcplambda.Options{Path: "/tools/mcp", ResponseStream: true, TrustFrontDoor: true},
			},
		},
		{name: "nothing", env: map[string]string{"MCPLAMBDA_ISOLATION": "per-request"}, wantErr: stdio.ErrNoCommand.Error()},
		{name: "bad args", env: map[string]string{"MCPLAMBDA_COMMAND": "node", "MCPLAMBDA_ARGS": "server.js"}, wantErr: "MCPLAMBDA_ARGS must be a JSON array"},
		{name: "bad env", env: map[string]string{"MCPLAMBDA_COMMAND": "node", "MCPLAMBDA_ENV": "A=1"}, wantErr: "MCPLAMBDA_ENV must be a JSON object"},
		{name: "bad isolation", env: map[string]string{"MCPLAMBDA_COMMAND": "node", "MCPLAMBDA_ISOLATION": "cold"}, wantErr: `isolation "cold"`},
		{name: "bad trust", env: map[string]string{"MCPLAMBDA_COMMAND": "node", "MCPLAMBDA_TRUST_FRONT_DOOR": "yes please"}, wantErr: "MCPLAMBDA_TRUST_FRONT_DOOR"},
		{name: "bad duration", env: map[string]string{"MCPLAMBDA_COMMAND": "node", "MCPLAMBDA_TIMEOUT": "10"}, wantErr: "not a duration"},
		{name: "empty array", env: map[string]string{"MCPLAMBDA_COMMAND": "[]"}, wantErr: "empty command"},
		{name: "unknown file field", env: map[string]string{"MCPLAMBDA_CONFIG": bad}, wantErr: `unknown field "unknown"`},
		{name: "missing file", env: map[string]string{"MCPLAMBDA_CONFIG": filepath.Join(dir, "nope.json")}, wantErr: "no such file"},
	}
	all := []string{"MCPLAMBDA_CONFIG", "MCPLAMBDA_COMMAND", "MCPLAMBDA_ARGS", "MCPLAMBDA_ENV", "MCPLAMBDA_DIR", "MCPLAMBDA_ISOLATION",
		"MCPLAMBDA_TIMEOUT", "MCPLAMBDA_DEADLINE_MARGIN", "MCPLAMBDA_PATH", "MCPLAMBDA_ALLOWED_ORIGINS", "MCPLAMBDA_RESPONSE_STREAM", "MCPLAMBDA_TRUST_FRONT_DOOR"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range all {
				t.Setenv(k, tt.env[k])
			}
			got, err := stdio.ConfigFromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ConfigFromEnv() error = %v, want one containing %q", err, tt.wantErr)
				}
				if tt.name == "nothing" && (!errors.Is(err, stdio.ErrNoCommand) || got.Proxy.Isolation != stdio.PerRequest) {
					t.Errorf("ConfigFromEnv() = %+v, %v; want ErrNoCommand with the rest of the configuration", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ConfigFromEnv() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreUnexported(mcplambda.Options{})); diff != "" {
				t.Errorf("ConfigFromEnv() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
