package mcplambda

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/telemetry"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// observe logs one line per MCP request (method, name, protocol version,
// principal, duration, outcome) and records it in the invocation's
// metrics, if any (see telemetry.RecordRequest).
func observe(logger *slog.Logger, payloads bool) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if strings.HasPrefix(method, "notifications/") {
				return next(ctx, method, req)
			}
			start := time.Now()
			res, err := next(ctx, method, req)
			d := time.Since(start)

			name := requestName(req)
			outcome, failed := "ok", false
			if err != nil {
				outcome, failed = "error", true
			} else if r, ok := res.(*mcp.CallToolResult); ok && r.IsError {
				outcome, failed = "tool_error", true
			}
			// Only tool and prompt names become metric dimensions: resource
			// URIs are unbounded, and callers choose them.
			metricName := ""
			if method == "tools/call" || method == "prompts/get" {
				metricName = name
			}
			telemetry.RecordRequest(ctx, method, metricName, !unknownName(err), d, failed)
			level := slog.LevelInfo
			if err != nil {
				level = slog.LevelWarn
			}
			if logger == nil || !logger.Enabled(ctx, level) {
				return res, err
			}
			attrs := make([]slog.Attr, 0, 10)
			attrs = append(attrs, slog.String("method", method))
			if name != "" {
				attrs = append(attrs, slog.String("name", name))
			}
			attrs = append(attrs,
				slog.String("protocolVersion", protocolVersion(req)),
				slog.String("principal", identity.Principal(ctx)),
				slog.Float64("durationMs", float64(d.Microseconds())/1000),
				slog.String("outcome", outcome),
			)
			if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
				var werr *jsonrpc.Error
				if errors.As(err, &werr) {
					attrs = append(attrs, slog.Int64("code", werr.Code))
				}
			}
			if payloads {
				if b, err := json.Marshal(req.GetParams()); err == nil {
					attrs = append(attrs, slog.String("params", string(b)))
				}
				if res != nil {
					if b, err := json.Marshal(res); err == nil {
						attrs = append(attrs, slog.String("result", string(b)))
					}
				}
			}
			logger.LogAttrs(ctx, level, "mcp request", attrs...)
			return res, err
		}
	}
}

// requestName is the tool, prompt or resource a request names.
func requestName(req mcp.Request) string {
	switch p := req.GetParams().(type) {
	case *mcp.CallToolParamsRaw:
		return p.Name
	case *mcp.CallToolParams:
		return p.Name
	case *mcp.GetPromptParams:
		return p.Name
	case *mcp.ReadResourceParams:
		return p.URI
	}
	return ""
}

// unknownName reports whether err is go-sdk's answer to an unknown tool or
// prompt, which must not become a metric dimension value.
func unknownName(err error) bool {
	var werr *jsonrpc.Error
	return errors.As(err, &werr) && werr.Code == jsonrpc.CodeInvalidParams && strings.HasPrefix(werr.Message, "unknown ")
}

// protocolVersion is the MCP version a request was made with.
func protocolVersion(req mcp.Request) string {
	if extra := req.GetExtra(); extra != nil && extra.Header != nil {
		if v := extra.Header.Get("Mcp-Protocol-Version"); v != "" {
			return v
		}
	}
	if p, ok := req.GetParams().(*mcp.InitializeParams); ok {
		return p.ProtocolVersion
	}
	if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
		if ip := ss.InitializeParams(); ip != nil {
			return ip.ProtocolVersion
		}
	}
	return ""
}
