package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// VersionCommand is "mcplambda version" (and "mcplambda --version"): it
// prints the module version and the commit the binary was built from,
// read from the build information the go command embeds.
type VersionCommand struct {
	Stdout io.Writer
}

// Run prints one line, e.g.
//
//	mcplambda v0.4.0 (commit 3f2c1a9e5b7d, 2026-07-30T10:12:00Z) go1.26.8 linux/arm64
func (c *VersionCommand) Run(_ context.Context, args []string) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprintln(c.Stdout, "Usage: mcplambda version\n\nVersion prints the module version and the commit mcplambda was built from.")
			return nil
		}
		return usagef(`Run "mcplambda version -h" for usage.`, "version: unexpected argument %q", args[0])
	}
	fmt.Fprintln(c.Stdout, versionLine())
	return nil
}

// buildVersion returns the module version of this binary: a release
// ("v0.4.0"), a pseudo-version, or "(devel)" for a build of a checkout
// without version control information.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	return info.Main.Version
}

// versionLine is what "mcplambda version" prints.
func versionLine() string {
	var b strings.Builder
	b.WriteString("mcplambda " + buildVersion())
	var vcs []string
	if info, ok := debug.ReadBuildInfo(); ok {
		if r := info.Main.Replace; r != nil {
			// A module that requires a checkout with a replace directive.
			b.WriteString(" => " + r.Path)
		}
		var rev, at, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			vcs = append(vcs, "commit "+rev)
		}
		if at != "" {
			vcs = append(vcs, at)
		}
		if modified == "true" {
			vcs = append(vcs, "modified")
		}
	}
	if len(vcs) > 0 {
		b.WriteString(" (" + strings.Join(vcs, ", ") + ")")
	}
	b.WriteString(" " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH)
	return b.String()
}
