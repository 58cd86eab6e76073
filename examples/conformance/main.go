// Command conformance is an MCP server carrying every fixture that the
// official MCP conformance suite (npm @modelcontextprotocol/conformance)
// calls in its server scenarios, served through mcplambda.
//
// It answers both protocol eras: 2026-07-28 (stateless, per-request _meta,
// server/discover, input_required results with requestState) and the legacy
// initialize-handshake versions 2025-11-25, 2025-06-18 and 2025-03-26.
//
// Run it locally and point the suite at it:
//
//	PORT=3001 go run ./examples/conformance
//	node internal/testtools/node_modules/@modelcontextprotocol/conformance/dist/index.js \
//	    server --url http://127.0.0.1:3001/mcp --requirements 2026-07-28
//
// The same binary is a Lambda bootstrap: built for linux and deployed as
// a custom runtime function, [mcplambda.Start] serves the fixtures from
// whatever front door invokes it.
//
// With MCPLAMBDA_SESSIONS=true in the environment (`mcplambda dev
// --sessions` sets it, and so does the CDK construct with
// ServerProps.Sessions), legacy clients get sessions in the store
// dynamo.SessionsFromEnv picks (DynamoDB, the dev state directory, or
// memory locally), and the legacy sampling and elicitation fixtures work
// across instances wherever the response streams:
//
//	go run ./cmd/mcplambda dev --front url --sessions --instances 2 ./examples/conformance
//
// Without it, legacy clients are served statelessly and those fixtures
// fail with an error that says why.
//
// conformance_test.go builds the binary, starts it with sessions and runs
// the suite's 2026-07-28 and 2025-11-25 requirement sets and its
// 2025-06-18 scenarios against it (see
// [github.com/mcplambda/mcplambda/internal/conformancetest]), comparing
// the results with testdata/expected-failures.txt, which says why each
// listed check fails; testdata/expected-failures-unreachable.txt lists
// what fails in addition without sessions or behind a buffered front
// door. With MCPLAMBDA_CONFORMANCE_URL set, the test runs the suite
// against that URL instead.
//
// Fixtures (see newServer):
//
//   - tools: test_simple_text, test_image_content, test_audio_content,
//     test_embedded_resource, test_multiple_content_types,
//     test_tool_with_logging, test_tool_with_progress, test_error_handling,
//     the legacy server-to-client tools test_sampling, test_elicitation,
//     test_elicitation_sep1034_defaults and test_elicitation_sep1330_enums,
//     the SEP-2575 diagnostics test_missing_capability,
//     test_streaming_elicitation, test_logging_tool,
//     test_trigger_tool_change and test_trigger_prompt_change, the
//     SEP-2322 test_input_required_result_* tools, test_reconnection,
//     test_x_mcp_header and json_schema_2020_12_tool.
//   - resources: test://static-text, test://static-binary,
//     test://watched-resource and the template test://template/{id}/data.
//   - prompts: test_simple_prompt, test_prompt_with_arguments,
//     test_prompt_with_embedded_resource, test_prompt_with_image and
//     test_input_required_result_prompt.
//   - completion/complete for prompt arguments, resources/subscribe and
//     unsubscribe, and caching hints (ttlMs, cacheScope) on every list
//     result and resources/read.
//   - the tasks extension (SEP-2663, package tasks): greet, slow_compute,
//     failing_job, protocol_error_job, confirm_delete, multi_input and
//     test_tool_with_task (see addTaskFixtures). The tasks live in the store
//     dynamo.StoreFromEnv picks (memory when serving locally, mcplambda
//     dev's state directory, the DynamoDB table in MCPLAMBDA_TABLE); in
//     Lambda their tools run in invocations of their own
//     (tasks/lambdaexec), elsewhere in goroutines.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/mcplambda/mcplambda/tasks/lambdaexec"
	"github.com/mcplambda/mcplambda/telemetry"
)

func main() {
	ctx := context.Background()
	logger := telemetry.DefaultLogger()
	fail := func(what string, err error) {
		logger.Error("conformance: "+what, "err", err)
		os.Exit(1)
	}
	// Legacy sessions, when MCPLAMBDA_SESSIONS says so.
	sessions, err := dynamo.SessionsFromEnv(ctx, nil)
	if err != nil {
		fail("opening the sessions store", err)
	}
	// Tasks live in the store the environment names: DynamoDB
	// (MCPLAMBDA_TABLE), a directory its processes share (MCPLAMBDA_STATE_DIR,
	// which mcplambda dev sets), else memory outside Lambda. In Lambda with
	// neither, the task fixtures are plain tools.
	store, err := dynamo.StoreFromEnv(ctx, &dynamo.EnvOptions{Logger: logger})
	if errors.Is(err, dynamo.ErrNoStore) {
		logger.Warn("conformance: no state store configured: the task fixtures are plain tools", "err", err)
		store, err = nil, nil
	}
	if err != nil {
		fail("opening the state store", err)
	}
	// In Lambda a task's tool runs in an invocation of its own; elsewhere in
	// a goroutine.
	exec, err := lambdaexec.FromEnv(ctx, nil)
	if err != nil {
		fail("the tasks executor", err)
	}
	server, m := newServer(store, exec)
	opts := &mcplambda.Options{Sessions: sessions}
	if m != nil {
		opts.Events = map[string]mcplambda.EventHandler{tasks.RunEvent: m.HandleEvent}
		opts.Shutdown = func() { m.Close() }
	}
	mcplambda.Start(server, opts)
}
