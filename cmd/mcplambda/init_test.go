package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// goCmd runs the go command in dir and fails the test if it fails.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// TestInit is what a new user does: "mcplambda init" writes a module
// (outside this repository, requiring this checkout through a replace
// directive, as the module is not published), whose test passes, whose
// CDK app compiles, which "go tool mcplambda dev ." serves, which a stdio
// MCP client reaches through "mcplambda proxy" both by URL and by
// lambda:, and which "mcplambda build" packages from another directory.
// init refuses to write over it again.
func TestInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a new module")
	}
	dir := filepath.Join(t.TempDir(), "hello-mcp")
	code, stdout, stderr := runMain(t, "init", "--replace", testtools.RepoRoot(), dir)
	if code != 0 {
		t.Fatalf("mcplambda init: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if want := "mcplambda: wrote module example.com/hello-mcp in " + dir + "\n"; !strings.HasPrefix(stdout, want) {
		t.Errorf("init stdout = %q, want it to start with %q", stdout, want)
	}
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	want := []string{".gitignore", "README.md", "deploy/cdk.json", "deploy/go.mod", "deploy/go.sum", "deploy/main.go", "go.mod", "go.sum", "main.go", "main_test.go"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("files init wrote (-want +got):\n%s", diff)
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !regexp.MustCompile(`(?m)^tool github.com/mcplambda/mcplambda/cmd/mcplambda$`).Match(gomod) {
		t.Errorf("go.mod has no tool directive:\n%s", gomod)
	}

	goCmd(t, dir, nil, "test", "./...")
	goCmd(t, filepath.Join(dir, "deploy"), nil, "vet", "./...")
	tool := strings.TrimSpace(goCmd(t, dir, nil, "tool", "-n", "mcplambda"))
	if out, err := exec.Command(tool, "version").Output(); err != nil || !strings.HasPrefix(string(out), "mcplambda v0.0.0-00010101000000-000000000000 => "+filepath.ToSlash(testtools.RepoRoot())) {
		t.Errorf("go tool mcplambda version = %q, %v", out, err)
	}

	// go tool mcplambda dev ., in the module.
	devCmd := exec.Command(tool, "dev", "--addr", "127.0.0.1:0", ".")
	devCmd.Dir = dir
	dev := start(t, devCmd, readyLines)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := proxyEnv(t)
	for _, target := range [][]string{{dev.mcpURL}, {"--endpoint-url", dev.invokeURL, "lambda:hello-mcp"}} {
		g := connectGo(t, ctx, "2025-11-25", env, target...)
		res, err := g.cs.CallTool(ctx, &mcp.CallToolParams{Name: "greet", Arguments: map[string]any{"name": "Ada"}})
		if err != nil {
			t.Fatalf("greet through mcplambda proxy %s: %v", target, err)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if string(b) != `{"greeting":"Hello, Ada!"}` {
			t.Errorf("greet through mcplambda proxy %s = %s", target, b)
		}
		if name := g.cs.InitializeResult().ServerInfo.Name; name != "hello-mcp" {
			t.Errorf("server name through the proxy = %q", name)
		}
	}

	// mcplambda build of the module's directory, from elsewhere: the
	// package is built in its own module.
	out := t.TempDir()
	build := exec.Command(binary(t, "mcplambda"), "build", "--json", "--out", out, dir)
	build.Dir = t.TempDir()
	var buildOut, buildErr bytes.Buffer
	build.Stdout, build.Stderr = &buildOut, &buildErr
	if err := build.Run(); err != nil {
		t.Fatalf("mcplambda build %s from another directory: %v\n%s", dir, err, buildErr.String())
	}
	var res buildResult
	if err := json.Unmarshal(buildOut.Bytes(), &res); err != nil || res.Zip != filepath.Join(out, "hello-mcp-arm64.zip") {
		t.Errorf("build result %s (%v)", buildOut.String(), err)
	}

	// Again: init writes over nothing.
	before, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	code, _, stderr = runMain(t, "init", "--replace", testtools.RepoRoot(), dir)
	if code != 1 || !strings.Contains(stderr, "already has .gitignore, README.md, deploy/cdk.json, deploy/go.mod, deploy/main.go, go.mod, main.go, main_test.go") {
		t.Errorf("init over an existing module: exit %d, stderr %q", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "main.go")); !bytes.Equal(before, after) {
		t.Errorf("init over an existing module changed main.go")
	}
}

// TestToolDirective installs the command the way the README says, with
// the Go tool directive, in a module outside this repository: "go get
// -tool", then "go tool mcplambda". The module requires this checkout
// through a replace directive, as it is not published; the module proxy
// of the test environment refuses unknown paths (403) where
// proxy.golang.org answers 404, so the lookup of cmd/mcplambda as a
// module of its own goes to an empty file proxy instead.
func TestToolDirective(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command in a new module")
	}
	dir := t.TempDir()
	goCmd(t, dir, nil, "mod", "init", "example.com/tooluser")
	goCmd(t, dir, nil, "mod", "edit", "-replace", "github.com/mcplambda/mcplambda="+testtools.RepoRoot(),
		"-require", "github.com/mcplambda/mcplambda@"+replacedVersion)
	goCmd(t, dir, []string{"GOPROXY=file://" + filepath.ToSlash(t.TempDir()), "GOSUMDB=off"}, "get", "-tool", "github.com/mcplambda/mcplambda/cmd/mcplambda")
	if out := goCmd(t, dir, nil, "tool", "mcplambda", "version"); !strings.HasPrefix(out, "mcplambda "+replacedVersion+" => ") {
		t.Errorf("go tool mcplambda version = %q", out)
	}
}

// TestVersion: version and --version print the module version and the Go
// version from the build information.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, stdout, stderr := runMain(t, args...)
		if code != 0 || !regexp.MustCompile(`^mcplambda (\(devel\)|v\S+)( \(commit [0-9a-f]{12}.*\))? go1\.\S+ \S+/\S+\n$`).MatchString(stdout) || stderr != "" {
			t.Errorf("mcplambda %s: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	usageCase{name: "extra", args: []string{"version", "x"}, code: 2, stderr: []string{`version: unexpected argument "x"`}}.check(t)
}

// TestInitUsage covers init's command line, and that what it writes
// requires what this repository uses.
func TestInitUsage(t *testing.T) {
	for _, tt := range []usageCase{
		{name: "bad name", args: []string{"init", "--name", "a b", t.TempDir()}, code: 2, stderr: []string{`--name "a b"`}},
		{name: "bad module", args: []string{"init", "--module", "no spaces/ here", t.TempDir()}, code: 2, stderr: []string{`--module`}},
		{name: "two dirs", args: []string{"init", "a", "b"}, code: 2, stderr: []string{`unexpected argument "b"`}},
		{name: "development build", args: []string{"init", t.TempDir()}, code: 1, stderr: []string{"development build"}},
		{name: "help", args: []string{"init", "-h"}, stdout: "Usage: mcplambda init [flags] [DIR]"},
		{name: "listed", args: []string{"-h"}, stdout: "init    write a new MCP server module"},
	} {
		t.Run(tt.name, tt.check)
	}
	if _, stdout, _ := runMain(t, "init", "-h"); strings.Contains(stdout, "replace") {
		t.Errorf("init -h shows the hidden --replace flag:\n%s", stdout)
	}

	// The versions the new module requires are this repository's.
	gomod, _ := os.ReadFile(filepath.Join(testtools.RepoRoot(), "go.mod"))
	cdkmod, _ := os.ReadFile(filepath.Join(testtools.RepoRoot(), "deploy", "cdk", "go.mod"))
	for _, tt := range []struct {
		mod     []byte
		path    string
		version string
	}{
		{gomod, "github.com/modelcontextprotocol/go-sdk", initSDKVersion},
		{cdkmod, "github.com/aws/aws-cdk-go/awscdk/v2", initCDKVersion},
		{cdkmod, "github.com/aws/constructs-go/constructs/v10", initConstructsVersion},
		{cdkmod, "github.com/aws/jsii-runtime-go", initJSIIVersion},
	} {
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(tt.path+" "+tt.version) + `$`).Match(tt.mod) {
			t.Errorf("init requires %s %s, which the repository's go.mod files do not", tt.path, tt.version)
		}
	}
}
