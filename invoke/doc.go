// Package invoke is an MCP client transport that talks to an MCP server
// function through the AWS Lambda Invoke API, without any HTTP front door.
//
// Every JSON-RPC message the client sends is one synchronous invocation
// whose payload is the bare message (the direct-invoke format); the
// function's response payload is the bare JSON-RPC response, and {} (or
// null) for a notification. Functions served by
// [github.com/mcplambda/mcplambda] and functions built with the reference
// project's stdio adapter (@aws/run-mcp-servers-with-aws-lambda) speak
// this format.
//
// A [Transport] is an [mcp.Transport] for go-sdk's [mcp.Client]:
//
//	t := invoke.NewTransport("arn:aws:lambda:eu-west-1:123456789012:function:time", nil)
//	cs, err := mcp.NewClient(&mcp.Implementation{Name: "me"}, nil).Connect(ctx, t, nil)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer cs.Close()
//	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "get_current_time"})
//
// Both protocol eras work: go-sdk's client sends server/discover and the
// per-request _meta of MCP 2026-07-28 itself, and falls back to the
// initialize handshake of 2025-11-25 when the server does not know
// server/discover. The transport carries no session: each invocation may
// land in a different execution environment.
//
// The Lambda client comes from the default AWS configuration chain
// (environment, shared config and credentials files, SSO, container and
// instance roles) unless [Options.Client] supplies one; the region is
// [Options.Region], else the function ARN's, else the chain's.
//
// Errors of one invocation fail that request only, and the session stays
// usable: a function error is a [*FunctionError]; throttling (429) is
// retried with exponential backoff and jitter, up to
// [Options.MaxAttempts], and then wraps [ErrThrottled]; a request or
// response over Lambda's 6 MB payload limit wraps [ErrPayloadTooLarge].
//
// The server cannot send requests to the client (sampling, elicitation,
// roots) or notifications outside a response over direct invoke: those
// features need a streamable HTTP front door.
package invoke
