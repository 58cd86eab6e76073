package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/stdio"
	"github.com/mcplambda/mcplambda/stdio/awssecrets"
)

// StdioCommand is "mcplambda stdio": the no-code mode that serves a stdio
// MCP server, kept warm as a child process, to every Lambda front door
// (inside Lambda) or on local HTTP (elsewhere).
type StdioCommand struct {
	Stdout, Stderr io.Writer
}

const stdioHint = `Run "mcplambda stdio -h" for usage.`

func (c *StdioCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda stdio [-- COMMAND [ARGS...]]

Stdio serves the stdio MCP server COMMAND ARGS, started once and kept warm,
as an MCP endpoint: inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it runs the
runtime loop for every front door; elsewhere it serves
http://127.0.0.1:$PORT/mcp and prints "mcplambda: listening on URL".

Without COMMAND, the server comes from the environment (MCPLAMBDA_COMMAND,
MCPLAMBDA_ARGS as a JSON array, MCPLAMBDA_ENV, MCPLAMBDA_DIR,
MCPLAMBDA_ISOLATION=warm|per-principal|per-request, MCPLAMBDA_TIMEOUT, ...) or
the file named by MCPLAMBDA_CONFIG; see "go doc
github.com/mcplambda/mcplambda/stdio". With MCPLAMBDA_SESSIONS=true, legacy
clients get sessions in the store MCPLAMBDA_TABLE or MCPLAMBDA_STATE_DIR names
(see "go doc github.com/mcplambda/mcplambda/dynamo.StoreFromEnv"), and the
server's requests to its client (elicitation, sampling, roots) are relayed to
them. Values of MCPLAMBDA_ENV may reference
SSM parameters (ssm:NAME) or Secrets Manager secrets (secretsmanager:ID[#KEY]),
resolved once at start with the function's role.

This is what the stdio layer's exec wrapper runs; locally,
"mcplambda dev -- COMMAND ARGS" runs it under the Lambda emulator.
`)
}

// Run serves until ctx is done (locally) or forever (in Lambda).
func (c *StdioCommand) Run(ctx context.Context, args []string) error {
	set := flag.NewFlagSet("stdio", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	if err := set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(c.Stdout)
			return nil
		}
		return &usageError{err: fmt.Errorf("stdio: %w", err), hint: stdioHint}
	}
	cfg, err := stdio.ConfigFromEnv()
	if rest := set.Args(); len(rest) > 0 && (err == nil || errors.Is(err, stdio.ErrNoCommand)) {
		cfg.Command.Path, cfg.Command.Args, err = rest[0], rest[1:], nil
	}
	if errors.Is(err, stdio.ErrNoCommand) {
		return usagef(stdioHint, "stdio: %v: set MCPLAMBDA_COMMAND or give the command after --", err)
	}
	if err != nil {
		return fmt.Errorf("stdio: %w", err)
	}
	cfg.Server.Ready = func(url string) { fmt.Fprintln(c.Stdout, "mcplambda: listening on "+url) }
	// MCPLAMBDA_SESSIONS=true: legacy sessions, and the server's requests
	// to its client (elicitation, sampling, roots) relayed to them.
	if cfg.Server.Sessions, err = dynamo.SessionsFromEnv(ctx, nil); err != nil {
		return fmt.Errorf("stdio: %w", err)
	}
	return stdio.Run(ctx, cfg, &stdio.RunOptions{ResolveEnv: awssecrets.ResolveEnv})
}
