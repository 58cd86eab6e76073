// Package mcplambda serves Model Context Protocol servers written with the
// official Go SDK (github.com/modelcontextprotocol/go-sdk) from AWS Lambda,
// and the same server over plain HTTP on a developer's machine.
//
// One call in main is enough:
//
//	func main() {
//		server := mcp.NewServer(&mcp.Implementation{Name: "time", Version: "v1"}, nil)
//		mcp.AddTool(server, &mcp.Tool{Name: "get_current_time"}, getCurrentTime)
//		mcplambda.Start(server, nil)
//	}
//
// Built with -tags lambda.norpc for the provided.al2023 runtime, the binary
// is a Lambda bootstrap: [Start] runs the runtime loop and answers function
// URLs, API Gateway HTTP and REST APIs, Application Load Balancers and direct
// invokes. Run anywhere else, it serves http://127.0.0.1:8080/mcp.
//
// The parts are exposed for programs that need more control:
// [NewHandler] is the http.Handler (go-sdk's stateless streamable transport
// plus the checks a public endpoint needs), [NewLambdaHandler] turns any
// http.Handler into a Lambda handler for every front door, and
// [RequestFromContext] gives tool handlers the Lambda event, the caller's
// source IP and the identity the front door verified.
//
// Both protocol eras share the endpoint: MCP 2026-07-28 clients (stateless:
// server/discover, per-request _meta, Mcp-Method/Mcp-Name headers) and
// 2025-11-25, 2025-06-18 and 2025-03-26 clients (initialize, then calls). By
// default no server-side session is kept for legacy clients, so any Lambda
// instance can answer; [Options].Sessions keeps real sessions in a shared
// store (package dynamo), bound to the caller that created them. With
// sessions and a response that streams ([Options].ResponseStream behind a
// function URL or REST API), a tool's requests to a legacy client
// (ServerSession.Elicit, CreateMessage, ListRoots) reach it mid-call, and
// the client's answer, which arrives in a new request on any instance,
// meets the waiting call in the store:
//
//	sessions, err := dynamo.SessionsFromEnv(ctx, nil) // MCPLAMBDA_SESSIONS=true
//	mcplambda.Start(server, &mcplambda.Options{Sessions: sessions, ResponseStream: true})
//
// Where such a request cannot reach the client (no session, a buffered
// front door, a client that accepts only JSON) it fails at once with an
// error that says why.
package mcplambda
