// Package telemetry gives an mcplambda function the logs and metrics a
// Lambda operator expects, without AWS API calls or extra dependencies:
//
//   - [NewLogger]: a log/slog logger that writes JSON when the function's
//     log format is JSON (AWS_LAMBDA_LOG_FORMAT=JSON) and text otherwise, at
//     the level in AWS_LAMBDA_LOG_LEVEL, stamping every record logged with
//     an invocation's context with its requestId.
//   - [NewMetrics]: CloudWatch Embedded Metric Format documents on stdout,
//     one flush per invocation: request count, errors and latency per MCP
//     method and per tool, cold starts, and custom counters such as stdio
//     child restarts ([Add]). Dimension values are bounded: unknown methods
//     and tools are counted as "other" and never create new values.
//
// mcplambda.Start turns both on inside Lambda. Tracing lives in its own
// package so that a function that does not trace pays nothing for it.
package telemetry
