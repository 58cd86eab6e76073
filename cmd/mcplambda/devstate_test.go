package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDevStateDir(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache) // os.UserCacheDir on Linux and the BSDs
	t.Setenv("HOME", cache)           // on macOS: $HOME/Library/Caches
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(t.TempDir(), "state")
	relArg, err := filepath.Rel(wd, rel) // relative to the working directory
	if err != nil {
		t.Fatal(err)
	}
	userCache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     devConfig
		wantDir string
		wantEnv []string
	}{
		{"default", devConfig{name: "fn", env: []string{"A=1"}},
			filepath.Join(userCache, "mcplambda", "dev", "fn", "state"),
			[]string{"MCPLAMBDA_STATE_DIR=" + filepath.Join(userCache, "mcplambda", "dev", "fn", "state"), "A=1"}},
		{"flag, relative", devConfig{name: "fn", stateDir: relArg},
			rel,
			[]string{"MCPLAMBDA_STATE_DIR=" + rel}},
		{"flag, absolute", devConfig{name: "fn", stateDir: filepath.Join(cache, "elsewhere")},
			filepath.Join(cache, "elsewhere"),
			[]string{"MCPLAMBDA_STATE_DIR=" + filepath.Join(cache, "elsewhere")}},
		{"--env wins", devConfig{name: "fn", stateDir: "ignored", env: []string{"MCPLAMBDA_STATE_DIR=/from/env"}},
			"/from/env",
			[]string{"MCPLAMBDA_STATE_DIR=/from/env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := tt.cfg.setStateDir()
			if err != nil {
				t.Fatalf("setStateDir() error = %v", err)
			}
			if dir != tt.wantDir {
				t.Errorf("setStateDir() = %q, want %q", dir, tt.wantDir)
			}
			if diff := cmp.Diff(tt.wantEnv, tt.cfg.env); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("state directory %s created by dev, want it left to the function", dir)
			}
		})
	}
}

// statefnResult is what testdata/statefn answers.
type statefnResult struct {
	Count int    `json:"count"`
	PID   int    `json:"pid"`
	Store string `json:"store"`
}

// invokeStatefn invokes testdata/statefn through dev's Invoke API.
func invokeStatefn(t *testing.T, p *devProcess, payload string) (statefnResult, error) {
	var r statefnResult
	resp, err := http.Post(p.invokeURL+"/2015-03-31/functions/statefn/invocations", "application/json", strings.NewReader(payload))
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		return r, &invokeError{status: resp.StatusCode, body: string(body)}
	}
	return r, json.Unmarshal(body, &r)
}

type invokeError struct {
	status int
	body   string
}

func (e *invokeError) Error() string { return http.StatusText(e.status) + ": " + e.body }

// The instances of a function under dev, each its own process, share one
// store (state.Dir through dynamo.StoreFromEnv), kept in the user cache
// directory by default and still there after a restart of dev.
func TestDevStateSharedAndKept(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	run := func() *devProcess {
		cmd := exec.Command(binary(t, "mcplambda"), "dev", "--addr", "127.0.0.1:0", "--instances", "2", "--timeout", "20s", binary(t, "statefn"))
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "HOME="+cache)
		return start(t, cmd, readyLines)
	}
	p := run()

	// Each invocation waits until the counter is 2: the two finish only if
	// they run at once, on two instances that see each other's write.
	var wg sync.WaitGroup
	var results [2]statefnResult
	var errs [2]error
	for i := range 2 {
		wg.Go(func() { results[i], errs[i] = invokeStatefn(t, p, `{"until":2}`) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("invocation %d: %v; stderr:\n%s", i, err, p.stderr.String())
		}
	}
	for i, r := range results {
		if r.Count != 2 || r.Store != "*state.Dir" {
			t.Errorf("invocation %d = %+v, want count 2 in a *state.Dir", i, r)
		}
	}
	if results[0].PID == results[1].PID {
		t.Errorf("both invocations ran in process %d, want two instances", results[0].PID)
	}
	if !strings.Contains(p.stderr.String(), filepath.Join("mcplambda", "dev", "statefn", "state")) {
		t.Errorf("stderr does not name the state directory:\n%s", p.stderr.String())
	}
	if code := p.stop(t, os.Interrupt); code != 0 {
		t.Fatalf("dev exited with %d on SIGINT", code)
	}

	p = run()
	r, err := invokeStatefn(t, p, `{"until":0}`)
	if err != nil {
		t.Fatalf("invocation after the restart: %v; stderr:\n%s", err, p.stderr.String())
	}
	if r.Count != 3 {
		t.Errorf("count after a restart of dev = %d, want 3 (the state of the first run kept)", r.Count)
	}
}

// --stream defaults to on with --sessions behind a front door that can
// stream; the two flags become the function's environment, before --env.
func TestDevSessionsAndStream(t *testing.T) {
	tests := []struct {
		args    []string
		want    [2]bool // sessions, stream
		wantEnv []string
	}{
		{[]string{"./x"}, [2]bool{false, false}, nil},
		{[]string{"--sessions", "./x"}, [2]bool{true, true}, []string{"MCPLAMBDA_SESSIONS=true", "MCPLAMBDA_RESPONSE_STREAM=true"}},
		{[]string{"--sessions", "--front", "rest", "./x"}, [2]bool{true, true}, []string{"MCPLAMBDA_SESSIONS=true", "MCPLAMBDA_RESPONSE_STREAM=true"}},
		{[]string{"--sessions", "--front", "httpapi", "./x"}, [2]bool{true, false}, []string{"MCPLAMBDA_SESSIONS=true"}},
		{[]string{"--sessions", "--stream=false", "./x"}, [2]bool{true, false}, []string{"MCPLAMBDA_SESSIONS=true"}},
		{[]string{"--stream", "./x", "--env", "MCPLAMBDA_RESPONSE_STREAM=false"}, [2]bool{false, true}, []string{"MCPLAMBDA_RESPONSE_STREAM=true", "MCPLAMBDA_RESPONSE_STREAM=false"}},
		{[]string{"--sessions", "--", "node", "server.js"}, [2]bool{true, true}, []string{"MCPLAMBDA_SESSIONS=true", "MCPLAMBDA_RESPONSE_STREAM=true"}},
	}
	for _, tt := range tests {
		cfg, err := (&DevCommand{}).parse(tt.args)
		if err != nil {
			t.Fatalf("parse(%q) error = %v", tt.args, err)
		}
		if got := [2]bool{cfg.sessions, cfg.stream}; got != tt.want {
			t.Errorf("parse(%q): sessions, stream = %v, want %v", tt.args, got, tt.want)
		}
		cfg.setModeEnv()
		if diff := cmp.Diff(tt.wantEnv, cfg.env); diff != "" {
			t.Errorf("parse(%q): environment (-want +got):\n%s", tt.args, diff)
		}
	}
}
