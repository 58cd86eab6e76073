// Command time is the reference "time" MCP server, the Go counterpart of the
// official Python mcp-server-time, served with mcplambda: the same binary
// serves MCP over HTTP on your machine and, unchanged, is the bootstrap of
// an AWS Lambda function behind any mcplambda front door. It answers clients
// of both protocol eras (2026-07-28 and the legacy initialize handshake).
//
// # Tools
//
// get_current_time(timezone) returns the current time in an IANA timezone:
//
//	{"timezone": "Asia/Kolkata", "datetime": "2026-07-28T17:30:00+05:30", "day_of_week": "Tuesday", "is_dst": false}
//
// convert_time(source_timezone, time, target_timezone) takes a 24-hour
// "HH:MM" time on today's date in the source timezone and converts it; the
// time difference is the target's UTC offset minus the source's, in hours:
//
//	{"source": {"timezone": "Europe/London", "datetime": "2026-07-28T12:00:00+01:00", ...},
//	 "target": {"timezone": "Asia/Kathmandu", "datetime": "2026-07-28T16:45:00+05:45", ...},
//	 "time_difference": "+4.75h"}
//
// Results are structured content with an output schema, and the same JSON
// as text for older clients. Bad arguments (an unknown or empty timezone, a
// time such as "25:00" or "7pm", a time skipped by a daylight-saving change)
// give a tool error result (isError) whose text says what to send instead,
// not a protocol error. The timezone database is compiled in (time/tzdata),
// so the binary needs no zoneinfo files, which Lambda's OS-only runtimes
// lack.
//
// # Usage
//
//	time [-local-timezone NAME]
//
// -local-timezone names the IANA timezone the tool descriptions tell the
// model to assume when the user names none, like the reference server's
// --local-timezone. The default is $LOCAL_TIMEZONE, else $TZ, else the
// zone /etc/localtime links to, else UTC.
//
// Outside Lambda the server listens on http://127.0.0.1:$PORT/mcp (PORT
// defaults to 8080) and prints one line when ready:
//
//	mcplambda: listening on http://127.0.0.1:8080/mcp
//
// It stops on Ctrl-C or SIGTERM. When AWS_LAMBDA_RUNTIME_API is set (inside
// Lambda) it runs the Lambda runtime loop instead; see [mcplambda.Start].
//
// # Try it locally
//
// Start the server:
//
//	go run ./examples/time -local-timezone Europe/Warsaw
//
// and call it from another terminal with the MCP Inspector CLI, which needs
// Node 22.19 or later (scripts/install-test-tools.sh installs both into
// internal/testtools/node_modules, where TestInspector runs them):
//
//	npx @modelcontextprotocol/inspector@2.12.0 --cli http://127.0.0.1:8080/mcp --method tools/list
//	npx @modelcontextprotocol/inspector@2.12.0 --cli http://127.0.0.1:8080/mcp \
//		--method tools/call --tool-name get_current_time --tool-arg timezone=Asia/Kolkata
//	npx @modelcontextprotocol/inspector@2.12.0 --cli http://127.0.0.1:8080/mcp \
//		--method tools/call --tool-name convert_time \
//		--tool-arg source_timezone=America/New_York --tool-arg time=16:30 --tool-arg target_timezone=Asia/Tokyo
//
// Add --protocol-era modern to speak 2026-07-28 instead of the Inspector's
// default legacy handshake.
//
// # Deploy to Lambda
//
// Build the bootstrap for an OS-only runtime (provided.al2023):
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./examples/time
//	zip time.zip bootstrap
//
// and create the function with that zip, handler "bootstrap", and the front
// door of your choice, such as a function URL; the MCP endpoint is its /mcp
// path. Set LOCAL_TIMEZONE in the function's environment to choose the local
// timezone (Lambda sets TZ to UTC).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // Lambda's OS-only runtimes have no zoneinfo files

	"github.com/mcplambda/mcplambda"
)

func main() {
	local, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	mcplambda.Start(newServer(time.Now, local), nil)
}

// parseFlags parses the command line and returns the local timezone name,
// checked against the timezone database.
func parseFlags(args []string, stderr io.Writer) (local string, err error) {
	fs := flag.NewFlagSet("time", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&local, "local-timezone", defaultLocalZone(),
		"IANA `timezone` assumed when the user names none; the default comes from $LOCAL_TIMEZONE, $TZ or /etc/localtime")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: time [-local-timezone NAME]\n\nServes the time MCP server on http://127.0.0.1:$PORT/mcp (PORT defaults to 8080), or in AWS Lambda.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("time: unexpected argument %q (try -help)", fs.Arg(0))
	}
	if _, err := loadZone(local); err != nil {
		return "", fmt.Errorf("time: -local-timezone: %w", err)
	}
	return local, nil
}

// defaultLocalZone guesses the IANA name of the machine's timezone, like the
// reference server's tzlocal: $LOCAL_TIMEZONE, $TZ, the /etc/localtime link,
// else "UTC".
func defaultLocalZone() string {
	if tz := os.Getenv("LOCAL_TIMEZONE"); tz != "" {
		return tz
	}
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" && !strings.HasPrefix(tz, "/") {
		return tz
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok && name != "" {
			return name
		}
	}
	return "UTC"
}
