package stdio_test

import (
	"context"
	"log"
	"time"

	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/stdio"
)

// A Node.js stdio server behind every Lambda front door, one warm process
// per execution environment, restarted when the caller's principal
// changes.
func ExampleNewProxy() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := stdio.NewProxy(ctx, stdio.Command{
		Path: "node",
		Args: []string{"node_modules/@modelcontextprotocol/server-everything/dist/index.js", "stdio"},
		Env:  []string{"LOG_LEVEL=warn"},
	}, &stdio.ProxyOptions{Isolation: stdio.PerPrincipal})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	// Forwarded calls see the request's deadline (in Lambda, the
	// invocation's). mcplambda.Start(p.Server(), nil) would serve it the
	// way it runs where it is; here, the Lambda handler alone:
	h := mcplambda.NewLambdaHandler(mcplambda.NewHandler(p.Server(), nil), nil)
	_ = h // lambda.Start(h)
}

// The no-code mode: what the mcplambda binary runs when MCPLAMBDA_COMMAND
// (or MCPLAMBDA_CONFIG) is set.
func ExampleRun() {
	ctx := context.Background()
	cfg, err := stdio.ConfigFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	// With package awssecrets: &stdio.RunOptions{ResolveEnv: awssecrets.ResolveEnv}
	if err := stdio.Run(ctx, cfg, nil); err != nil {
		log.Fatal(err)
	}
}
