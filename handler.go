package mcplambda

import (
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// NewHandler returns the http.Handler that serves server at [Options.Path]
// with go-sdk's streamable HTTP transport in stateless mode, for both
// protocol eras.
func NewHandler(server *mcp.Server, opts *Options) http.Handler {
	o := withDefaults(opts)
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{
		Stateless:                  true,
		Logger:                     o.Logger,
		DisableLocalhostProtection: o.DisableLocalhostProtection,
		MaxRequestBodyBytes:        o.MaxBodyBytes,
	})
}
