package main

import (
	"path/filepath"
	"testing"

	"github.com/mcplambda/mcplambda/internal/conformancetest"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

// TestDevConformance runs the official MCP conformance suite against
// examples/conformance as a real bootstrap under `mcplambda dev`:
//
//   - behind a function URL with legacy sessions and two instances (the
//     configuration `mcplambda dev --front url --sessions --instances 2`):
//     a legacy client's answer to a tool's elicitation or sampling request
//     always lands on the instance the waiting call does not hold, and the
//     session store carries it over. It must pass what local serving passes
//     (examples/conformance/conformance_test.go), every legacy scenario
//     included;
//   - behind the HTTP API with sessions, and the ALB without: those
//     requests cannot reach the client (the front door buffers; there is
//     no session), and fail at once, as expected-failures-unreachable.txt
//     lists.
//
// Behind every door the tasks extension passes: its runs are asynchronous
// invocations through dev's Invoke API, on whichever instance is free, its
// records in dev's state directory. The REST API and function URL doors
// without sessions run it in internal/emulatortest, under lambdatest and
// AWS's Runtime Interface Emulator alike.
func TestDevConformance(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the conformance suite three times")
	}
	testtools.Conformance(t) // skip (or fail under MCPLAMBDA_REQUIRE_TOOLS) before building anything
	testdata := filepath.Join(testtools.RepoRoot(), "examples", "conformance", "testdata")
	baseline := filepath.Join(testdata, "expected-failures.txt")
	unreachable := filepath.Join(testdata, "expected-failures-unreachable.txt")
	for _, tc := range []struct {
		name     string
		args     []string
		baseline []string
	}{
		{"url-sessions", []string{"--front", "url", "--sessions", "--instances", "2"}, []string{baseline}},
		// Several instances: the suite sends concurrent requests.
		{"httpapi-sessions", []string{"--front", "httpapi", "--sessions", "--instances", "4"}, []string{baseline, unreachable}},
		{"alb", []string{"--front", "alb", "--instances", "4"}, []string{baseline, unreachable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--addr", "127.0.0.1:0"}, tc.args...)
			p := startDev(t, append(args, binary(t, "conformance"))...)
			conformancetest.Check(t, p.mcpURL, tc.baseline...)
		})
	}
}
