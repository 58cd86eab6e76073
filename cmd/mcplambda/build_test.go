package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// noopModule copies the root module's go.mod and go.sum and the noop
// function into a fresh directory, so that a build there starts from a
// different absolute path than another copy (which -trimpath must hide).
func noopModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, c := range []struct{ from, to string }{
		{"../../go.mod", "go.mod"},
		{"../../go.sum", "go.sum"},
		{"testdata/noop/main.go", "noop/main.go"},
	} {
		b, err := os.ReadFile(c.from)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dir, c.to)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runBuild runs "mcplambda build args..." in dir and returns its standard
// output; it fails the test if the command fails.
func runBuild(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t, "mcplambda"), append([]string{"build"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mcplambda build %q in %s: %v; stderr:\n%s", args, dir, err, stderr.String())
	}
	return stdout.String()
}

// zipFile is what the tests check of a zip entry.
type zipFile struct {
	Name     string
	Mode     fs.FileMode
	Modified time.Time
	Extra    int // bytes of extra fields
}

// readZip returns the entries of the zip at path and the contents of each.
func readZip(t *testing.T, path string) ([]zipFile, map[string][]byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var files []zipFile
	contents := map[string][]byte{}
	for _, f := range zr.File {
		files = append(files, zipFile{Name: f.Name, Mode: f.Mode(), Modified: f.Modified.UTC(), Extra: len(f.Extra)})
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %s: %v", path, f.Name, err)
		}
		contents[f.Name] = b
	}
	return files, contents
}

// checkLambdaBinary checks that b is a static, stripped Linux executable
// for machine, built with -trimpath in buildDir.
func checkLambdaBinary(t *testing.T, name string, b []byte, machine elf.Machine, buildDir string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not an ELF file: %v", name, err)
	}
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s: ELF %v %v, want %v %v", name, f.Machine, f.Type, machine, elf.ET_EXEC)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s: has %v: want a static binary (CGO_ENABLED=0)", name, p.Type)
		}
	}
	for _, s := range []string{".symtab", ".debug_info"} {
		if f.Section(s) != nil {
			t.Errorf("%s: has section %s: want a stripped binary", name, s)
		}
	}
	if bytes.Contains(b, []byte(buildDir)) {
		t.Errorf("%s: contains the build directory %s: want -trimpath", name, buildDir)
	}
}

// TestBuildReproducible builds the same function from two copies of its
// module at different paths and wants byte-identical zips whose only entry
// is an executable, static, stripped bootstrap for the architecture.
func TestBuildReproducible(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		arch    string
		machine elf.Machine
	}{
		{"arm64", elf.EM_AARCH64},
		{"amd64", elf.EM_X86_64},
	} {
		t.Run(tt.arch, func(t *testing.T) {
			var zips [][]byte
			for range 2 {
				dir := noopModule(t)
				out := runBuild(t, dir, "--arch", tt.arch, "--json", "./noop")
				var res buildResult
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("build --json: %v; stdout:\n%s", err, out)
				}
				zipPath := filepath.Join(dir, "dist", "noop-"+tt.arch+".zip")
				b, err := os.ReadFile(zipPath)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				want := buildResult{Zip: filepath.Join("dist", "noop-"+tt.arch+".zip"), Arch: tt.arch, ZipBytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}
				files, contents := readZip(t, zipPath)
				want.Files = []buildFile{{Name: "bootstrap", Bytes: int64(len(contents["bootstrap"]))}}
				if diff := cmp.Diff(want, res); diff != "" {
					t.Errorf("build --json result (-want +got):\n%s", diff)
				}
				wantFiles := []zipFile{{Name: "bootstrap", Mode: 0o755, Modified: zipTime, Extra: 9}}
				if diff := cmp.Diff(wantFiles, files); diff != "" {
					t.Errorf("zip entries (-want +got):\n%s", diff)
				}
				checkLambdaBinary(t, "bootstrap", contents["bootstrap"], tt.machine, dir)
				zips = append(zips, b)
			}
			if !bytes.Equal(zips[0], zips[1]) {
				t.Errorf("two builds of the same source: zips differ (%d and %d bytes), want identical bytes", len(zips[0]), len(zips[1]))
			}
		})
	}
}

// TestBuildArchesSideBySide: the default zip name includes the
// architecture, so the arm64 and amd64 builds of a package stay side by
// side.
func TestBuildArchesSideBySide(t *testing.T) {
	dir := noopModule(t)
	for _, arch := range []string{"arm64", "amd64"} {
		runBuild(t, dir, "--arch", arch, "./noop")
	}
	for arch, machine := range map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64} {
		_, contents := readZip(t, filepath.Join(dir, "dist", "noop-"+arch+".zip"))
		checkLambdaBinary(t, "noop-"+arch+".zip", contents["bootstrap"], machine, dir)
	}
}

// TestBuildHumanOutput checks the default output: the zip's path, the
// binary's and the zip's sizes.
func TestBuildHumanOutput(t *testing.T) {
	t.Parallel()
	dir := noopModule(t)
	out := runBuild(t, dir, "noop", "--out", "build/zips", "--name", "fn")
	zipPath := filepath.Join(dir, "build", "zips", "fn.zip")
	fi, err := os.Stat(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	_, contents := readZip(t, zipPath)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("build output: %d lines, want 3:\n%s", len(lines), out)
	}
	for i, want := range [][]string{
		{filepath.Join("build", "zips", "fn.zip"), "(provided.al2023, linux/arm64)"},
		{"bootstrap", " MiB", " " + strconv.Itoa(len(contents["bootstrap"])) + " bytes"},
		{"zip", " " + strconv.FormatInt(fi.Size(), 10) + " bytes", "sha256:"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("build output line %d = %q, want it to contain %q", i+1, lines[i], w)
			}
		}
	}
	entries, err := os.ReadDir(filepath.Dir(zipPath))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("output directory holds %d files, want only the zip (no temporary file left)", len(entries))
	}
}

// TestBuildLayer checks the layout of the stdio layer: bin/mcplambda and
// the exec wrapper at the root, both executable. It builds the noop
// function in place of the mcplambda binary, which the layer's default
// package would cross-compile in the same way, to keep the test fast.
func TestBuildLayer(t *testing.T) {
	t.Parallel()
	dir := noopModule(t)
	out := runBuild(t, dir, "--layer", "--json", "./noop")
	var res buildResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("build --layer --json: %v; stdout:\n%s", err, out)
	}
	zipPath := filepath.Join(dir, "dist", "mcplambda-stdio-layer-arm64.zip")
	if res.Zip != filepath.Join("dist", "mcplambda-stdio-layer-arm64.zip") || !res.Layer {
		t.Errorf("build --layer: zip %q, layer %v, want %q, true", res.Zip, res.Layer, zipPath)
	}
	files, contents := readZip(t, zipPath)
	want := []zipFile{
		{Name: "bin/mcplambda", Mode: 0o755, Modified: zipTime, Extra: 9},
		{Name: "mcplambda-stdio", Mode: 0o755, Modified: zipTime, Extra: 9},
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
	checkLambdaBinary(t, "bin/mcplambda", contents["bin/mcplambda"], elf.EM_AARCH64, dir)
	if got := string(contents["mcplambda-stdio"]); got != execWrapper {
		t.Errorf("layer mcplambda-stdio = %q, want the exec wrapper", got)
	}
}

// TestExecWrapperIsStdioLayers keeps the exec wrapper that build --layer
// writes equal to the one package stdio ships in stdio/layer.
func TestExecWrapperIsStdioLayers(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../stdio/layer/" + execWrapperName)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(b), execWrapper); diff != "" {
		t.Errorf("execWrapper differs from stdio/layer/%s (-file +const):\n%s", execWrapperName, diff)
	}
}

// TestWriteZip checks the zip writer on its own: sorted entries, fixed
// times, the given modes, and the same bytes for the same entries in any
// order.
func TestWriteZip(t *testing.T) {
	t.Parallel()
	entries := []zipEntry{
		{Name: "z/last", Mode: 0o644, Data: []byte("last\n")},
		{Name: "bootstrap", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
		{Name: "a.txt", Mode: 0o644, Data: []byte{}},
	}
	var a, b bytes.Buffer
	if _, err := writeZip(&a, entries); err != nil {
		t.Fatal(err)
	}
	reversed := []zipEntry{entries[2], entries[0], entries[1]}
	files, err := writeZip(&b, reversed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("writeZip of the same entries in another order: different bytes, want identical")
	}
	wantFiles := []buildFile{{"a.txt", 0}, {"bootstrap", 10}, {"z/last", 5}}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("writeZip files (-want +got):\n%s", diff)
	}
	path := filepath.Join(t.TempDir(), "x.zip")
	if err := os.WriteFile(path, a.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := readZip(t, path)
	want := []zipFile{
		{Name: "a.txt", Mode: 0o644, Modified: zipTime, Extra: 9},
		{Name: "bootstrap", Mode: 0o755, Modified: zipTime, Extra: 9},
		{Name: "z/last", Mode: 0o644, Modified: zipTime, Extra: 9},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("writeZip entries (-want +got):\n%s", diff)
	}
}

// TestBuildUsage checks usage errors and failures of build.
func TestBuildUsage(t *testing.T) {
	t.Parallel()
	for _, tt := range []usageCase{
		{name: "help", args: []string{"build", "-h"}, stdout: "Usage: mcplambda build [flags] PACKAGE"},
		{name: "listed", args: []string{"-h"}, stdout: "build   cross-compile a package"},
		{name: "no package", args: []string{"build"}, code: 2, stderr: []string{"build: no PACKAGE given", buildHint}},
		{name: "bad arch", args: []string{"build", "--arch", "x86", "./x"}, code: 2,
			stderr: []string{`invalid value "x86" for flag -arch: want arm64 or amd64`, buildHint}},
		{name: "pattern", args: []string{"build", "./..."}, code: 2, stderr: []string{`PACKAGE "./...": want one package`, buildHint}},
		{name: "stray argument", args: []string{"build", "./x", "./y"}, code: 2, stderr: []string{`unexpected argument "./y" after PACKAGE`, buildHint}},
		{name: "bad name", args: []string{"build", "--name", "a/b", "./x"}, code: 2, stderr: []string{`--name "a/b"`, buildHint}},
		{name: "not main", args: []string{"build", "--out", t.TempDir(), "../../lambdatest"}, code: 2,
			stderr: []string{"mcplambda: building ../../lambdatest for linux/arm64", "../../lambdatest is not a main package", buildHint}},
		{name: "build fails", args: []string{"build", "--out", t.TempDir(), "example.com/no/such/module"}, code: 1,
			stderr: []string{"mcplambda: build: building example.com/no/such/module: exit status 1"}},
	} {
		t.Run(tt.name, tt.check)
	}
}
