// Command bootstrap is the stdio adapter's no-code mode as a Lambda
// bootstrap, for the end-to-end tests under the lambdatest emulator: it
// does what the mcplambda binary does when configured by MCPLAMBDA_*
// variables.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcplambda/mcplambda/stdio"
	"github.com/mcplambda/mcplambda/stdio/awssecrets"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := stdio.ConfigFromEnv()
	if err == nil {
		err = stdio.Run(ctx, cfg, &stdio.RunOptions{ResolveEnv: awssecrets.ResolveEnv})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		os.Exit(1)
	}
}
