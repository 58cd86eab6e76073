package main

import (
	"path/filepath"
	"testing"

	"github.com/mcplambda/mcplambda/internal/conformancetest"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

// TestDevConformance runs the official MCP conformance suite against
// examples/conformance as a real bootstrap under `mcplambda dev`, behind
// the function URL, HTTP API and ALB front doors, and holds it to the same
// baseline as local serving (examples/conformance/conformance_test.go):
// the Lambda path must pass exactly what local serving passes, the tasks
// extension included (its runs are asynchronous invocations through dev's
// Invoke API, its records in dev's state directory, on 4 instances). The
// function URL and REST API doors also run it in internal/emulatortest,
// under lambdatest and AWS's Runtime Interface Emulator.
func TestDevConformance(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the conformance suite three times")
	}
	testtools.Conformance(t) // skip (or fail under MCPLAMBDA_REQUIRE_TOOLS) before building anything
	baseline := filepath.Join(testtools.RepoRoot(), "examples", "conformance", "testdata", "expected-failures.txt")
	for _, door := range []string{"url", "httpapi", "alb"} {
		t.Run(door, func(t *testing.T) {
			// Several instances: the suite sends concurrent requests.
			p := startDev(t, "--addr", "127.0.0.1:0", "--front", door, "--instances", "4", binary(t, "conformance"))
			conformancetest.Check(t, p.mcpURL, baseline)
		})
	}
}
