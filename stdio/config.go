package stdio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda"
)

// Config is what [Run] serves: the server to run, the proxy's options and
// the front door's.
type Config struct {
	Command Command
	Proxy   ProxyOptions
	Server  mcplambda.Options
}

// The environment variables [ConfigFromEnv] reads.
const (
	EnvConfig         = "MCPLAMBDA_CONFIG"           // path of a JSON config file (see [LoadConfig]); the variables below override it
	EnvCommand        = "MCPLAMBDA_COMMAND"          // the program, or a JSON array: program and arguments
	EnvArgs           = "MCPLAMBDA_ARGS"             // the arguments, a JSON array of strings
	EnvEnv            = "MCPLAMBDA_ENV"              // extra environment for the server, a JSON object of strings
	EnvDir            = "MCPLAMBDA_DIR"              // the server's working directory
	EnvIsolation      = "MCPLAMBDA_ISOLATION"        // warm (default), per-principal or per-request
	EnvTimeout        = "MCPLAMBDA_TIMEOUT"          // per-request bound, a Go duration ("30s")
	EnvDeadlineMargin = "MCPLAMBDA_DEADLINE_MARGIN"  // time kept before the invocation deadline (default "500ms")
	EnvPath           = "MCPLAMBDA_PATH"             // the MCP endpoint path (default "/mcp")
	EnvAllowedOrigins = "MCPLAMBDA_ALLOWED_ORIGINS"  // comma-separated browser origins allowed by CORS
	EnvResponseStream = mcplambda.EnvResponseStream  // "true" for a function URL in RESPONSE_STREAM mode or a REST API that streams
	EnvTrustFrontDoor = "MCPLAMBDA_TRUST_FRONT_DOOR" // "true": the front door's identity is the caller (mcplambda.Options.TrustFrontDoor)
)

// fileConfig is the JSON config file.
type fileConfig struct {
	Command        json.RawMessage   `json:"command"`
	Args           []string          `json:"args"`
	Env            map[string]string `json:"env"`
	Dir            string            `json:"dir"`
	Isolation      Isolation         `json:"isolation"`
	Timeout        string            `json:"timeout"`
	DeadlineMargin string            `json:"deadlineMargin"`
	Path           string            `json:"path"`
	AllowedOrigins []string          `json:"allowedOrigins"`
	ResponseStream bool              `json:"responseStream"`
	TrustFrontDoor bool              `json:"trustFrontDoor"`
}

// LoadConfig reads a JSON config file:
//
//	{
//	  "command": "node",
//	  "args": ["node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"],
//	  "env": {"API_KEY": "secretsmanager:prod/api-key#key", "MODE": "fast"},
//	  "dir": "/var/task",
//	  "isolation": "per-principal",
//	  "timeout": "60s",
//	  "deadlineMargin": "500ms",
//	  "path": "/mcp",
//	  "allowedOrigins": ["https://app.example.com"],
//	  "responseStream": false
//	}
//
// "command" may also be an array holding the program and its arguments,
// like the "command" of a Dockerfile. Only "command" is required.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("stdio: config: %w", err)
	}
	var fc fileConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return Config{}, fmt.Errorf("stdio: config %s: %w", path, err)
	}
	var cfg Config
	if err := cfg.applyFile(&fc); err != nil {
		return Config{}, fmt.Errorf("stdio: config %s: %w", path, err)
	}
	if cfg.Command.Path == "" {
		return Config{}, fmt.Errorf("stdio: config %s: no command", path)
	}
	return cfg, nil
}

func (cfg *Config) applyFile(fc *fileConfig) error {
	if len(fc.Command) > 0 {
		prog, args, err := parseCommand(string(fc.Command), true)
		if err != nil {
			return fmt.Errorf("command: %w", err)
		}
		cfg.Command.Path, cfg.Command.Args = prog, args
	}
	if fc.Args != nil {
		cfg.Command.Args = append(cfg.Command.Args, fc.Args...)
	}
	cfg.Command.Env = envList(fc.Env)
	cfg.Command.Dir = fc.Dir
	cfg.Proxy.Isolation = fc.Isolation
	var err error
	if cfg.Proxy.Timeout, err = parseDuration("timeout", fc.Timeout); err != nil {
		return err
	}
	if cfg.Proxy.DeadlineMargin, err = parseDuration("deadlineMargin", fc.DeadlineMargin); err != nil {
		return err
	}
	cfg.Server.Path = fc.Path
	cfg.Server.AllowedOrigins = fc.AllowedOrigins
	cfg.Server.ResponseStream = fc.ResponseStream
	cfg.Server.TrustFrontDoor = fc.TrustFrontDoor
	return nil
}

// ConfigFromEnv reads the no-code configuration from the environment: the
// file named by MCPLAMBDA_CONFIG if set, overridden by the other
// MCPLAMBDA_* variables (see the Env constants). For example, on a
// Node.js managed runtime:
//
//	MCPLAMBDA_COMMAND=node
//	MCPLAMBDA_ARGS=["node_modules/@modelcontextprotocol/server-everything/dist/index.js","stdio"]
//	MCPLAMBDA_ENV={"API_KEY":"ssm:/prod/api-key"}
//	MCPLAMBDA_ISOLATION=per-principal
func ConfigFromEnv() (Config, error) {
	return configFromEnv(os.LookupEnv)
}

func configFromEnv(lookup func(string) (string, bool)) (Config, error) {
	var cfg Config
	if path, ok := lookup(EnvConfig); ok && path != "" {
		var err error
		if cfg, err = LoadConfig(path); err != nil {
			return Config{}, err
		}
	}
	if v, ok := lookup(EnvCommand); ok && v != "" {
		prog, args, err := parseCommand(v, false)
		if err != nil {
			return Config{}, fmt.Errorf("stdio: %s: %w", EnvCommand, err)
		}
		cfg.Command.Path, cfg.Command.Args = prog, args
	}
	if v, ok := lookup(EnvArgs); ok && v != "" {
		var args []string
		if err := json.Unmarshal([]byte(v), &args); err != nil {
			return Config{}, fmt.Errorf("stdio: %s must be a JSON array of strings: %w", EnvArgs, err)
		}
		cfg.Command.Args = append(cfg.Command.Args, args...)
	}
	if v, ok := lookup(EnvEnv); ok && v != "" {
		var env map[string]string
		if err := json.Unmarshal([]byte(v), &env); err != nil {
			// The value may hold secrets references but not secrets; still,
			// don't echo it.
			return Config{}, fmt.Errorf("stdio: %s must be a JSON object of strings", EnvEnv)
		}
		cfg.Command.Env = append(cfg.Command.Env, envList(env)...)
	}
	if v, ok := lookup(EnvDir); ok && v != "" {
		cfg.Command.Dir = v
	}
	if v, ok := lookup(EnvIsolation); ok && v != "" {
		cfg.Proxy.Isolation = Isolation(v)
	}
	switch cfg.Proxy.Isolation {
	case "", Warm, PerPrincipal, PerRequest:
	default:
		return Config{}, fmt.Errorf("stdio: isolation %q: want %s, %s or %s", cfg.Proxy.Isolation, Warm, PerPrincipal, PerRequest)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{EnvTimeout, &cfg.Proxy.Timeout}, {EnvDeadlineMargin, &cfg.Proxy.DeadlineMargin}} {
		if v, ok := lookup(d.name); ok && v != "" {
			var err error
			if *d.dst, err = parseDuration(d.name, v); err != nil {
				return Config{}, fmt.Errorf("stdio: %w", err)
			}
		}
	}
	if v, ok := lookup(EnvPath); ok && v != "" {
		cfg.Server.Path = v
	}
	if v, ok := lookup(EnvAllowedOrigins); ok && v != "" {
		cfg.Server.AllowedOrigins = nil
		for o := range strings.SplitSeq(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				cfg.Server.AllowedOrigins = append(cfg.Server.AllowedOrigins, o)
			}
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{EnvResponseStream, &cfg.Server.ResponseStream}, {EnvTrustFrontDoor, &cfg.Server.TrustFrontDoor}} {
		if v, ok := lookup(b.name); ok && v != "" {
			var err error
			if *b.dst, err = strconv.ParseBool(v); err != nil {
				return Config{}, fmt.Errorf("stdio: %s: %w", b.name, err)
			}
		}
	}
	if cfg.Command.Path == "" {
		return cfg, ErrNoCommand
	}
	return cfg, nil
}

// ErrNoCommand is returned by [ConfigFromEnv] when neither
// MCPLAMBDA_COMMAND nor a config file names a server to run; the Config
// returned with it holds the rest of the configuration, for a caller that
// takes the command from elsewhere (a command line).
var ErrNoCommand = errors.New("stdio: no server command: set " + EnvCommand + " (and " + EnvArgs + ") or " + EnvConfig)

// parseCommand parses a command: a JSON array of program and arguments,
// or (when not jsonOnly) a plain program name; in a config file a plain
// name is a JSON string.
func parseCommand(v string, jsonOnly bool) (string, []string, error) {
	v = strings.TrimSpace(v)
	switch {
	case strings.HasPrefix(v, "["):
		var argv []string
		if err := json.Unmarshal([]byte(v), &argv); err != nil {
			return "", nil, fmt.Errorf("want a JSON array of strings: %w", err)
		}
		if len(argv) == 0 || argv[0] == "" {
			return "", nil, errors.New("empty command")
		}
		return argv[0], slices.Clone(argv[1:]), nil
	case jsonOnly:
		var prog string
		if err := json.Unmarshal([]byte(v), &prog); err != nil {
			return "", nil, fmt.Errorf("want a string or an array of strings: %w", err)
		}
		return prog, nil, nil
	}
	return v, nil, nil
}

func parseDuration(name, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration such as \"500ms\" or \"30s\"", name, v)
	}
	return d, nil
}

// envList turns a map into sorted KEY=VALUE pairs.
func envList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
