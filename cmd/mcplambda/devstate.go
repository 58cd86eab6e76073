package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mcplambda/mcplambda/state"
)

// The function's state under dev: one directory that all its instances
// (each its own process) share through state.Dir, named in their
// environment as MCPLAMBDA_STATE_DIR, which dynamo.StoreFromEnv opens. It
// is kept across runs of dev; delete it, or pass another --state-dir, to
// start afresh.

// addStateFlag registers --state-dir.
func (cfg *devConfig) addStateFlag(set *flag.FlagSet) {
	set.StringVar(&cfg.stateDir, "state-dir", "", "keep the function's state (MCPLAMBDA_STATE_DIR) in `DIR`, shared by its instances and\nkept across runs; delete it to start afresh (default: mcplambda/dev/NAME/state in the\nuser cache directory)")
}

// setStateDir puts MCPLAMBDA_STATE_DIR in the function's environment,
// unless --env sets it already, and returns the directory. The function
// creates it when it opens the store (state.OpenDir): a function that
// keeps no state leaves no trace.
func (cfg *devConfig) setStateDir() (string, error) {
	for _, kv := range cfg.env {
		if k, v, _ := strings.Cut(kv, "="); k == state.EnvStateDir {
			return v, nil
		}
	}
	dir := cfg.stateDir
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("dev: no directory for the function's state (%v): pass --state-dir", err)
		}
		dir = filepath.Join(cache, "mcplambda", "dev", cfg.name, "state")
	}
	dir, err := filepath.Abs(dir) // the instances run in another directory
	if err != nil {
		return "", fmt.Errorf("dev: state directory: %w", err)
	}
	cfg.env = append([]string{state.EnvStateDir + "=" + dir}, cfg.env...) // --env wins
	return dir, nil
}

// setModeEnv puts what --sessions and --stream ask of the function in its
// environment (MCPLAMBDA_SESSIONS, read by dynamo.SessionsFromEnv, and
// MCPLAMBDA_RESPONSE_STREAM, read by mcplambda.Serve), before --env, which
// wins.
func (cfg *devConfig) setModeEnv() {
	var env []string
	if cfg.sessions {
		env = append(env, "MCPLAMBDA_SESSIONS=true")
	}
	if cfg.stream {
		env = append(env, "MCPLAMBDA_RESPONSE_STREAM=true")
	}
	cfg.env = append(env, cfg.env...)
}
