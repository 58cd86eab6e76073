package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/gateway"
)

// BuildCommand is "mcplambda build": it cross-compiles a Go main package
// into a reproducible deployment zip for the provided.al2023 runtime, or,
// with --layer, packages the mcplambda binary and its exec wrapper as the
// stdio layer.
type BuildCommand struct {
	Stdout io.Writer // the result: the zip's path and sizes (or JSON)
	Stderr io.Writer // build progress and the go command's output
}

const buildHint = `Run "mcplambda build -h" for usage.`

// layerPackage is the package --layer builds when no PACKAGE is given: this
// command, whose "stdio" subcommand is the stdio adapter's no-code mode.
const layerPackage = "github.com/mcplambda/mcplambda/cmd/mcplambda"

// execWrapperName is the layer's AWS_LAMBDA_EXEC_WRAPPER script, at the
// layer's root (/opt/mcplambda-stdio in the function); the binary goes to
// bin/mcplambda (/opt/bin/mcplambda), where the script looks for it.
const execWrapperName = "mcplambda-stdio"

// execWrapper is stdio/layer/mcplambda-stdio (a test keeps the two equal:
// an embed directive cannot reach outside this directory).
const execWrapper = `#!/bin/sh
# mcplambda-stdio: the AWS_LAMBDA_EXEC_WRAPPER of the mcplambda stdio layer.
#
# On a managed runtime (nodejs22.x, python3.13, ...) with this layer and
#   AWS_LAMBDA_EXEC_WRAPPER=/opt/mcplambda-stdio
#   MCPLAMBDA_COMMAND=node            (or python3, npx, ./server, ...)
#   MCPLAMBDA_ARGS=["server.js"]      (a JSON array)
# Lambda runs this script instead of the runtime's own bootstrap (whose
# command line arrives as "$@" and is deliberately not started): the
# mcplambda binary answers the Lambda Runtime API itself and runs the stdio
# MCP server as a warm child process, with the runtime's interpreter on
# PATH (/var/lang/bin). The handler setting of the function is ignored.
# See ` + "`go doc github.com/mcplambda/mcplambda/stdio`" + `.
exec "${MCPLAMBDA_BIN:-/opt/bin/mcplambda}" stdio
`

// zipTime is the modification time of every zip entry: the earliest time
// a zip file can record, so that the same input gives the same bytes.
var zipTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// buildConfig is the parsed command line of build.
type buildConfig struct {
	arch   string
	out    string
	name   string
	tags   string
	layer  bool
	config string // --config: a gateway function
	json   bool
	pkg    string
}

func (c *BuildCommand) flagSet(cfg *buildConfig) *flag.FlagSet {
	set := flag.NewFlagSet("mcplambda build", flag.ContinueOnError)
	set.SetOutput(io.Discard) // Run reports parse errors itself, with a hint.
	set.Usage = func() {}
	set.Func("arch", "the Lambda `architecture`: arm64 or amd64 (default arm64)", func(s string) error {
		if s != "arm64" && s != "amd64" {
			return errors.New("want arm64 or amd64")
		}
		cfg.arch = s
		return nil
	})
	set.StringVar(&cfg.out, "out", "dist", "write the zip into `directory`, creating it if needed")
	set.StringVar(&cfg.name, "name", "", "the zip's base `name` (default: PACKAGE's base name and the architecture, NAME-ARCH;\nwith --layer, mcplambda-stdio-layer-ARCH)")
	set.StringVar(&cfg.tags, "tags", "", "more build `tags`, comma-separated, added to lambda.norpc")
	set.BoolVar(&cfg.layer, "layer", false, "package the stdio adapter's layer: bin/mcplambda and the mcplambda-stdio exec wrapper\n(PACKAGE defaults to "+layerPackage+")")
	set.StringVar(&cfg.config, "config", "", "package a gateway: this binary (PACKAGE defaults to "+layerPackage+") as bootstrap,\nwith the configuration `file` next to it as "+gateway.ConfigFile+" and the AWS resources it needs\nas "+gateway.GrantsFile+" (for the CDK construct NewGateway)")
	set.BoolVar(&cfg.json, "json", false, "print the result as a JSON object")
	return set
}

func (c *BuildCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda build [flags] PACKAGE
       mcplambda build --layer [flags] [PACKAGE]

Build cross-compiles the Go main package PACKAGE (a directory or an import
path) for the provided.al2023 runtime with

	GOOS=linux GOARCH=ARCH CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -buildvcs=false -ldflags="-s -w"

and writes OUT/NAME-ARCH.zip (NAME is PACKAGE's base name; --name sets the
whole base name instead) with the binary as its only entry, "bootstrap", so
that the arm64 and amd64 builds of a package do not overwrite each other.
The zip is reproducible: the same source and Go toolchain give the same
bytes.

With --layer it writes OUT/mcplambda-stdio-layer-ARCH.zip instead: a Lambda
layer with the mcplambda binary (bin/mcplambda) and the mcplambda-stdio exec
wrapper, which serves a stdio MCP server on a managed runtime (Node.js,
Python) with AWS_LAMBDA_EXEC_WRAPPER=/opt/mcplambda-stdio.

With --config FILE it writes OUT/gateway-ARCH.zip: the mcplambda binary as
bootstrap, which in Lambda serves the gateway of the configuration next to
it (FILE, checked first, as `+gateway.ConfigFile+`), and `+gateway.GrantsFile+`, the
functions it invokes and the secrets it reads, for the CDK construct.

Flags:
`)
	var cfg buildConfig
	set := c.flagSet(&cfg)
	set.SetOutput(w)
	set.PrintDefaults()
}

// parse parses the command line of build. Flags may come before and after
// PACKAGE.
func (c *BuildCommand) parse(args []string) (*buildConfig, error) {
	cfg := &buildConfig{arch: "arm64"}
	set := c.flagSet(cfg)
	operands, err := parseInterspersed(set, "build", buildHint, args)
	if err != nil {
		return nil, err
	}
	if len(operands) > 1 {
		return nil, usagef(buildHint, "build: unexpected argument %q after PACKAGE: build takes one package", operands[1])
	}
	if len(operands) == 1 {
		cfg.pkg = operands[0]
	}
	switch {
	case cfg.layer && cfg.config != "":
		return nil, usagef(buildHint, "build: --layer and --config: choose one")
	case cfg.pkg == "" && !cfg.layer && cfg.config == "":
		return nil, usagef(buildHint, "build: no PACKAGE given: want a Go main package, e.g. ./cmd/server")
	case cfg.pkg == "":
		cfg.pkg = layerPackage
	case strings.Contains(cfg.pkg, "..."):
		return nil, usagef(buildHint, "build: PACKAGE %q: want one package, not a pattern", cfg.pkg)
	}
	if cfg.out == "" {
		return nil, usagef(buildHint, "build: --out is empty: want a directory")
	}
	if cfg.name == "" {
		switch {
		case cfg.layer:
			cfg.name = "mcplambda-stdio-layer-" + cfg.arch
		case cfg.config != "":
			cfg.name = "gateway-" + cfg.arch
		default:
			cfg.name = defaultName(cfg.pkg) + "-" + cfg.arch
		}
	} else if !validName.MatchString(cfg.name) {
		return nil, usagef(buildHint, "build: --name %q: want letters, digits, hyphens and underscores", cfg.name)
	}
	return cfg, nil
}

// buildResult is what build prints: with --json as is, for people as a
// short table.
type buildResult struct {
	Zip      string      `json:"zip"`
	Arch     string      `json:"arch"`
	Layer    bool        `json:"layer"`
	Files    []buildFile `json:"files"`
	ZipBytes int64       `json:"zipBytes"`
	SHA256   string      `json:"sha256"`
}

// buildFile is one entry of the zip, with its uncompressed size.
type buildFile struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// zipEntry is a file to put into the zip: Data if not nil, else the
// contents of the file at Path.
type zipEntry struct {
	Name string
	Mode fs.FileMode
	Path string
	Data []byte
}

// Run builds the zip and prints where it is and how big.
func (c *BuildCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(c.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	var gatewayEntries []zipEntry
	if cfg.config != "" {
		// Checked before a long build.
		if gatewayEntries, err = c.gatewayFiles(cfg.config); err != nil {
			return err
		}
	}

	dir, err := os.MkdirTemp("", "mcplambda-build-")
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	if err := goBuild(ctx, cfg, bin, c.Stderr); err != nil {
		return err
	}

	var entries []zipEntry
	if cfg.layer {
		entries = []zipEntry{
			{Name: "bin/mcplambda", Mode: 0o755, Path: bin},
			{Name: execWrapperName, Mode: 0o755, Data: []byte(execWrapper)},
		}
	} else {
		entries = append([]zipEntry{{Name: "bootstrap", Mode: 0o755, Path: bin}}, gatewayEntries...)
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	res, err := writeZipFile(filepath.Join(cfg.out, cfg.name+".zip"), entries)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	res.Arch, res.Layer = cfg.arch, cfg.layer

	if cfg.json {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return fmt.Errorf("build: %w", err)
		}
		fmt.Fprintf(c.Stdout, "%s\n", b)
		return nil
	}
	kind := "provided.al2023"
	if res.Layer {
		kind = "Lambda layer"
	}
	fmt.Fprintf(c.Stdout, "%s (%s, linux/%s)\n", res.Zip, kind, res.Arch)
	for _, f := range res.Files {
		fmt.Fprintf(c.Stdout, "  %-16s %9s  %d bytes\n", f.Name, humanBytes(f.Bytes), f.Bytes)
	}
	fmt.Fprintf(c.Stdout, "  %-16s %9s  %d bytes  sha256:%s\n", "zip", humanBytes(res.ZipBytes), res.ZipBytes, res.SHA256)
	return nil
}

// gatewayFiles checks the gateway configuration at path and returns the
// zip entries of a gateway function besides bootstrap: the configuration
// as it is, and the grants the CDK construct reads. ${VAR} references are
// expanded with this environment, or kept as they are where the variable
// is unset (the function's environment decides then), but the functions
// and secrets the gateway is granted must not depend on one.
func (c *BuildCommand) gatewayFiles(path string) ([]zipEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("build: --config: %w", err)
	}
	lookup := func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok {
			return v, true
		}
		return "${" + k + "}", true
	}
	conf, err := gateway.Parse(path, data, &gateway.ParseOptions{LookupEnv: lookup})
	if err != nil {
		return nil, err
	}
	for _, w := range conf.Warnings {
		fmt.Fprintln(c.Stderr, w)
	}
	grants := conf.Grants()
	var refs []string
	for _, f := range grants.Functions {
		refs = append(refs, f.Function+":"+f.Qualifier)
	}
	for _, r := range slices.Concat(refs, grants.SSMParameters, grants.Secrets) {
		if strings.Contains(r, "${") {
			return nil, fmt.Errorf("build: --config %s: %q: the functions and secrets of a gateway are granted at deployment, so they cannot come from ${VAR}: write them out", path, r)
		}
	}
	g, err := json.MarshalIndent(grants, "", "  ")
	if err != nil {
		return nil, err
	}
	return []zipEntry{
		{Name: gateway.ConfigFile, Mode: 0o644, Data: data},
		{Name: gateway.GrantsFile, Mode: 0o644, Data: append(g, '\n')},
	}, nil
}

// goBuild cross-compiles cfg.pkg for Lambda into bin.
func goBuild(ctx context.Context, cfg *buildConfig, bin string, stderr io.Writer) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build: building %s needs the go command: %w", cfg.pkg, err)
	}
	pkg, dir := goPackage(cfg.pkg)
	tags := "lambda.norpc"
	if cfg.tags != "" {
		tags += "," + cfg.tags
	}
	fmt.Fprintf(stderr, "mcplambda: building %s for linux/%s\n", cfg.pkg, cfg.arch)
	start := time.Now()
	// -buildvcs=false: the zip depends on the source only, not on the
	// commit it was built at nor on whether it came from a git checkout.
	cmd := exec.CommandContext(ctx, gobin, "build", "-tags", tags, "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+cfg.arch, "CGO_ENABLED=0")
	var out bytes.Buffer // to explain a layer package go cannot find
	cmd.Stdout = stderr
	cmd.Stderr = io.MultiWriter(stderr, &out)
	if err := cmd.Run(); err != nil {
		if (cfg.layer || cfg.config != "") && cfg.pkg == layerPackage && (strings.Contains(out.String(), "go.mod file not found") ||
			strings.Contains(out.String(), "no required module provides package")) {
			return fmt.Errorf("build: building %s (the layer and a gateway are built from the current module: run build in a module that requires github.com/mcplambda/mcplambda, or in its checkout): %w", pkg, err)
		}
		return fmt.Errorf("build: building %s: %w", cfg.pkg, err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm()&0o111 == 0 {
		// go build -o writes an archive for a package that is not main.
		return usagef(buildHint, "build: %s is not a main package", cfg.pkg)
	}
	fmt.Fprintf(stderr, "mcplambda: built %s in %s\n", cfg.pkg, time.Since(start).Round(time.Millisecond))
	return nil
}

// writeZipFile writes entries to a zip file at path, replacing it
// atomically, and returns its path, size, digest and entry sizes.
func writeZipFile(path string, entries []zipEntry) (*buildResult, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".mcplambda-build-*.zip")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h)}
	files, err := writeZip(cw, entries)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return nil, err
	}
	return &buildResult{Zip: path, Files: files, ZipBytes: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeZip writes a reproducible zip of entries to w: entries sorted by
// name, every modification time [zipTime], modes as given (Unix
// attributes, so that Lambda keeps the executable bit), no directory
// entries and no other metadata.
func writeZip(w io.Writer, entries []zipEntry) ([]buildFile, error) {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b zipEntry) int { return strings.Compare(a.Name, b.Name) })
	zw := zip.NewWriter(w)
	var files []buildFile
	for _, e := range entries {
		hdr := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: zipTime}
		hdr.SetMode(e.Mode)
		fw, err := zw.CreateHeader(hdr)
		if err != nil {
			return nil, err
		}
		var n int64
		if e.Data != nil {
			k, err := fw.Write(e.Data)
			if err != nil {
				return nil, err
			}
			n = int64(k)
		} else {
			src, err := os.Open(e.Path)
			if err != nil {
				return nil, err
			}
			n, err = io.Copy(fw, src)
			src.Close()
			if err != nil {
				return nil, err
			}
		}
		files = append(files, buildFile{Name: e.Name, Bytes: n})
	}
	return files, zw.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// humanBytes formats n in KiB or MiB with one decimal.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
