package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"unicode"
)

// InitCommand is "mcplambda init": it writes a new MCP server module.
type InitCommand struct {
	Stdout io.Writer // what was written, and what to run next
	Stderr io.Writer // the go command's output
}

const initHint = `Run "mcplambda init -h" for usage.`

// Versions the new module requires besides mcplambda: go-sdk, and the CDK
// of deploy/cdk (a test keeps them equal to go.mod and deploy/cdk/go.mod).
const (
	initSDKVersion        = "v1.8.0"
	initCDKVersion        = "v2.250.0"
	initConstructsVersion = "v10.5.1"
	initJSIIVersion       = "v1.127.0"
)

// replacedVersion is the version a module requires of a module it
// replaces with a directory, by convention.
const replacedVersion = "v0.0.0-00010101000000-000000000000"

//go:embed inittemplate
var initTemplates embed.FS

// initConfig is the parsed command line of init.
type initConfig struct {
	dir     string
	module  string
	name    string
	replace string // hidden: a local mcplambda checkout, for tests
	noTidy  bool   // hidden: skip go mod tidy, for tests of the files alone
}

func (c *InitCommand) flagSet(cfg *initConfig) *flag.FlagSet {
	set := flag.NewFlagSet("mcplambda init", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Usage = func() {}
	set.StringVar(&cfg.module, "module", "", "the module `path` (default example.com/NAME)")
	set.StringVar(&cfg.name, "name", "", "the server's `name`, also the zip's and the function's (default: DIR's base name)")
	// Hidden (not in -h): the module requires mcplambda at the version of
	// this binary; --replace PATH makes it use the checkout at PATH instead,
	// which is how the tests build a new module from the code under test.
	set.StringVar(&cfg.replace, "replace", "", "")
	set.BoolVar(&cfg.noTidy, "no-tidy", false, "")
	return set
}

func (c *InitCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda init [flags] [DIR]

Init writes a new MCP server module into DIR (default: the current
directory), which must not hold any of the files it writes:

	go.mod          the module, requiring mcplambda and go-sdk, with the mcplambda
	                command as a tool: "go tool mcplambda dev ." runs it
	main.go         an MCP server with one typed tool, served by mcplambda.Start
	main_test.go    a test that calls the tool through the Lambda emulator (lambdatest)
	README.md, .gitignore
	deploy/         a CDK app (its own module) that deploys the function behind a
	                function URL with AWS_IAM auth

then runs "go mod tidy" in DIR and in DIR/deploy, which downloads the
dependencies. The module requires github.com/mcplambda/mcplambda at this
binary's version, and deploy/ requires the CDK constructs,
github.com/mcplambda/mcplambda/deploy/cdk, at the same version.

Flags:
`)
	var cfg initConfig
	set := c.flagSet(&cfg)
	set.SetOutput(w)
	set.VisitAll(func(f *flag.Flag) {
		if f.Usage == "" {
			return // hidden
		}
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  -%s %s\n    \t%s\n", f.Name, name, usage)
	})
}

func (c *InitCommand) parse(args []string) (*initConfig, error) {
	cfg := &initConfig{}
	set := c.flagSet(cfg)
	operands, err := parseInterspersed(set, "init", initHint, args)
	if err != nil {
		return nil, err
	}
	if len(operands) > 1 {
		return nil, usagef(initHint, "init: unexpected argument %q after DIR", operands[1])
	}
	cfg.dir = "."
	if len(operands) == 1 {
		cfg.dir = operands[0]
	}
	if cfg.name == "" {
		cfg.name = defaultName(cfg.dir)
	} else if !validName.MatchString(cfg.name) {
		return nil, usagef(initHint, "init: --name %q: want letters, digits, hyphens and underscores", cfg.name)
	}
	if cfg.module == "" {
		cfg.module = "example.com/" + strings.ToLower(cfg.name)
	} else if !validModule.MatchString(cfg.module) {
		return nil, usagef(initHint, "init: --module %q: want a module path such as example.com/me/server", cfg.module)
	}
	return cfg, nil
}

var (
	validModule  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*$`)
	validVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)
)

// initData is what the templates see.
type initData struct {
	Module, Name, Stack                       string
	Version, InstallVersion                   string
	Replace                                   string
	SDKVersion, CDKVersion, ConstructsVersion string
	JSIIVersion                               string
}

// Run writes the module.
func (c *InitCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(c.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	data := initData{
		Module: cfg.module, Name: cfg.name, Stack: stackName(cfg.name),
		SDKVersion: initSDKVersion, CDKVersion: initCDKVersion, ConstructsVersion: initConstructsVersion, JSIIVersion: initJSIIVersion,
	}
	switch v := buildVersion(); {
	case cfg.replace != "":
		abs, err := filepath.Abs(cfg.replace)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return usagef(initHint, "init: --replace %s: not a module directory", cfg.replace)
		}
		data.Replace = filepath.ToSlash(abs)
		data.Version, data.InstallVersion = replacedVersion, "latest"
	case validVersion.MatchString(v):
		data.Version, data.InstallVersion = v, v
	default:
		return fmt.Errorf("init: this mcplambda is a development build (version %s), so the new module cannot require it: "+
			"install a release (go install github.com/mcplambda/mcplambda/cmd/mcplambda@latest) and run that", v)
	}

	files, err := renderInit(data)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	var exist []string
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(cfg.dir, f.name)); err == nil {
			exist = append(exist, f.name)
		}
	}
	if len(exist) > 0 {
		slices.Sort(exist)
		return fmt.Errorf("init: %s already has %s: init writes a new module and overwrites nothing", cfg.dir, strings.Join(exist, ", "))
	}
	for _, f := range files {
		p := filepath.Join(cfg.dir, f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("init: %w", err)
		}
		// O_EXCL: never overwrite, even a file created since the check.
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
		_, err = out.Write(f.data)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	fmt.Fprintf(c.Stdout, "mcplambda: wrote module %s in %s\n", cfg.module, cfg.dir)
	if !cfg.noTidy {
		for _, dir := range []string{cfg.dir, filepath.Join(cfg.dir, "deploy")} {
			fmt.Fprintf(c.Stderr, "mcplambda: go mod tidy in %s\n", dir)
			cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
			cmd.Dir = dir
			cmd.Stdout, cmd.Stderr = c.Stderr, c.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("init: go mod tidy in %s: %w (the files are written: fix and run it again)", dir, err)
			}
		}
	}
	fmt.Fprintf(c.Stdout, `Next:
	cd %s
	go test ./...
	go tool mcplambda dev .
`, cfg.dir)
	return nil
}

// initFile is one file init writes.
type initFile struct {
	name string // slash-separated, relative to DIR
	data []byte
}

// renderInit renders the templates: inittemplate/X.tmpl becomes X, and
// gitignore becomes .gitignore.
func renderInit(data initData) ([]initFile, error) {
	var files []initFile
	err := fs.WalkDir(initTemplates, "inittemplate", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := initTemplates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(p).Parse(string(src))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "inittemplate/"), ".tmpl")
		if path.Base(name) == "gitignore" {
			name = path.Join(path.Dir(name), ".gitignore")
		}
		files = append(files, initFile{name: name, data: b.Bytes()})
		return nil
	})
	return files, err
}

// stackName is a CloudFormation stack name for the server name: letters,
// digits and hyphens, starting with a letter, in CamelCase.
func stackName(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		switch {
		case r == '-' || r == '_':
			upper = true
		case upper:
			b.WriteRune(unicode.ToUpper(r))
			upper = false
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "Mcp" + s
	}
	return s
}
