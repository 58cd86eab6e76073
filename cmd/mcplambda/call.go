package main

//lint:file-ignore SA1019 call shows the log messages servers of every era send, a feature deprecated since 2026-07-28 (SEP-2577).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// CallCommand is "mcplambda call": an MCP client for one request to a
// server behind an HTTP endpoint or a Lambda function.
type CallCommand struct {
	Stdout io.Writer // the result
	Stderr io.Writer // sign-in prompts
}

const callHint = `Run "mcplambda call -h" for usage.`

// callConfig is the parsed command line of call.
type callConfig struct {
	targetConfig
	json     bool
	timeout  time.Duration
	logLevel string
	args     []string // --arg k=v
	argsJSON string   // --args '{...}'
	command  string
	operands []string
	task     bool // --task (calltask.go)
}

// logLevels are the --log-level values, least severe first, and off.
var logLevels = []string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency", "off"}

func (c *CallCommand) flagSet(cfg *callConfig) *flag.FlagSet {
	set := flag.NewFlagSet("mcplambda call", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.Usage = func() {}
	cfg.targetConfig.addFlags(set)
	set.BoolVar(&cfg.json, "json", false, "print results as JSON, for scripts")
	set.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "give up after this `duration`")
	set.StringVar(&cfg.logLevel, "log-level", "info", "ask the server for log messages of this `level` and above, shown on standard error\n(debug, info, notice, warning, error, ...; off for none)")
	set.Func("arg", "an argument of the tool or prompt, as `KEY=VALUE` (repeatable); tool values that are JSON\n(numbers, true, objects) are sent as such unless the tool's schema says string", func(s string) error {
		if k, _, ok := strings.Cut(s, "="); !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		cfg.args = append(cfg.args, s)
		return nil
	})
	set.StringVar(&cfg.argsJSON, "args", "", "all the tool's arguments as a JSON `object`")
	cfg.addTaskFlags(set)
	return set
}

func (c *CallCommand) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: mcplambda call [flags] TARGET COMMAND [ARGUMENTS]

Call talks to an MCP server and prints what it answers.

TARGET is an http(s) URL of an MCP endpoint (a function URL, an API
Gateway API, "mcplambda dev"), or lambda:FUNCTION[:QUALIFIER] to invoke a
function directly through the Lambda Invoke API; FUNCTION is a name or ARN.

The commands are:

	discover            the server's name, version, protocol and capabilities
	tools               list the tools
	tool NAME           call a tool, with --arg KEY=VALUE... or --args '{...}'
	resources           list the resources and resource templates
	read URI            read a resource
	prompts             list the prompts
	prompt NAME         get a prompt, with --arg KEY=VALUE...
`+taskUsage+`
Output is a table or text for people, JSON with --json. On failure call
exits with status 1 and a one-line reason (status 2 for a usage error).

Flags:
`)
	var cfg callConfig
	set := c.flagSet(&cfg)
	set.SetOutput(w)
	set.PrintDefaults()
}

// commandOperands is the number of operands of each command.
var commandOperands = map[string]int{
	"discover": 0, "tools": 0, "tool": 1, "resources": 0, "read": 1, "prompts": 0, "prompt": 1, "task": 2,
}

// parse parses the command line of call; flags may come anywhere.
func (c *CallCommand) parse(args []string) (*callConfig, error) {
	cfg := &callConfig{}
	set := c.flagSet(cfg)
	pos, err := parseInterspersed(set, "call", callHint, args)
	if err != nil {
		return nil, err
	}
	if len(pos) < 2 {
		return nil, usagef(callHint, "call: want TARGET and COMMAND, e.g. mcplambda call http://127.0.0.1:8080/mcp tools")
	}
	cfg.target, cfg.command, cfg.operands = pos[0], pos[1], pos[2:]
	n, ok := commandOperands[cfg.command]
	switch {
	case !ok:
		return nil, usagef(callHint, "call: unknown command %q: want discover, tools, tool, resources, read, prompts, prompt or task", cfg.command)
	case len(cfg.operands) != n && n == 0:
		return nil, usagef(callHint, "call %s: unexpected argument %q", cfg.command, cfg.operands[0])
	case cfg.command == "task":
		// checked by checkTask
	case len(cfg.operands) != n:
		what := map[string]string{"tool": "NAME", "read": "URI", "prompt": "NAME"}[cfg.command]
		return nil, usagef(callHint, "call %s: want one %s", cfg.command, what)
	}
	if (len(cfg.args) > 0 || cfg.argsJSON != "") && cfg.command != "tool" && cfg.command != "prompt" {
		return nil, usagef(callHint, "call %s: --arg and --args are for tool and prompt", cfg.command)
	}
	if cfg.argsJSON != "" && cfg.command != "tool" {
		return nil, usagef(callHint, "call prompt: --args is for tool; prompts take --arg KEY=VALUE")
	}
	if cfg.argsJSON != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(cfg.argsJSON), &m); err != nil || m == nil {
			return nil, usagef(callHint, "call tool: --args %q: want a JSON object", cfg.argsJSON)
		}
	}
	if !slices.Contains(logLevels, cfg.logLevel) {
		return nil, usagef(callHint, "call: --log-level %q: want one of %s", cfg.logLevel, strings.Join(logLevels, ", "))
	}
	if err := cfg.targetConfig.validate("call", callHint); err != nil {
		return nil, err
	}
	if err := cfg.checkTask(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Run runs call and prints the result.
func (c *CallCommand) Run(ctx context.Context, args []string) error {
	cfg, err := c.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		c.usage(c.Stdout)
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	rem, err := newRemote(&cfg.targetConfig, "call", "--timeout "+cfg.timeout.String(), c.Stderr)
	if err != nil {
		return err
	}
	defer rem.close()
	stderr := syncio.NewWriter(c.Stderr)
	clientOpts := &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			fmt.Fprintf(stderr, "mcplambda: progress %s\n", progressLine(req.Params))
		},
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			if cfg.logLevel != "off" {
				fmt.Fprintf(stderr, "mcplambda: log %s\n", logLine(req.Params))
			}
		},
	}
	transport := cfg.taskClient(clientOpts, rem.transport())
	client := mcp.NewClient(&mcp.Implementation{Name: "mcplambda", Version: buildVersion()}, clientOpts)
	if err := tasks.RegisterClient(client); err != nil {
		return err
	}
	cs, err := client.Connect(ctx, transport, &mcp.ClientSessionOptions{ProtocolVersion: cfg.protocol})
	if err != nil {
		return rem.explain(ctx, "connecting", err)
	}
	defer cs.Close()
	if err := c.do(ctx, cfg, cs); err != nil {
		var te *toolError
		var ke *taskError
		if errors.As(err, &te) || errors.As(err, &ke) {
			return err
		}
		return rem.explain(ctx, cfg.command, err)
	}
	return nil
}

// progressLine formats a progress notification for people:
// "50/100: message", "50%", or "3".
func progressLine(p *mcp.ProgressNotificationParams) string {
	var s string
	switch {
	case p.Total > 0 && p.Total == 100:
		s = strconv.FormatFloat(p.Progress, 'f', -1, 64) + "%"
	case p.Total > 0:
		s = strconv.FormatFloat(p.Progress, 'f', -1, 64) + "/" + strconv.FormatFloat(p.Total, 'f', -1, 64)
	default:
		s = strconv.FormatFloat(p.Progress, 'f', -1, 64)
	}
	if p.Message != "" {
		s += ": " + flatten(p.Message)
	}
	return s
}

// logLine formats a log message for people: "info [logger]: data", with
// data as its text if it is a string, else as JSON.
func logLine(p *mcp.LoggingMessageParams) string {
	s := string(p.Level)
	if p.Logger != "" {
		s += " [" + p.Logger + "]"
	}
	data, ok := p.Data.(string)
	if !ok {
		b, _ := json.Marshal(p.Data)
		data = string(b)
	}
	return s + ": " + flatten(data)
}

// flatten puts s on one line.
func flatten(s string) string { return strings.Join(strings.Fields(s), " ") }

// logMeta returns the request _meta that asks a 2026-07-28 server for log
// messages at cfg.logLevel, or nil.
func logMeta(cfg *callConfig, cs *mcp.ClientSession) mcp.Meta {
	if cfg.logLevel == "off" || !newProtocol(cs) || !notifies(cfg) {
		return nil
	}
	return mcp.Meta{mcp.MetaKeyLogLevel: cfg.logLevel}
}

// notifies reports whether the target can send notifications back: the
// Lambda Invoke API returns the response alone, and a server that tries
// to send a notification there may fail the request.
func notifies(cfg *callConfig) bool { return !strings.HasPrefix(cfg.target, "lambda:") }

// newProtocol reports whether cs speaks MCP 2026-07-28 or later, which
// has no session: a log level travels with each request.
func newProtocol(cs *mcp.ClientSession) bool {
	res := cs.InitializeResult()
	return res != nil && res.ProtocolVersion >= "2026-07-28"
}

// setLogLevel asks a server of an older protocol, which keeps the log
// level in its session, for log messages at cfg.logLevel.
func setLogLevel(ctx context.Context, cfg *callConfig, cs *mcp.ClientSession) error {
	res := cs.InitializeResult()
	if cfg.logLevel == "off" || newProtocol(cs) || !notifies(cfg) || res == nil || res.Capabilities == nil || res.Capabilities.Logging == nil {
		return nil
	}
	return cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: mcp.LoggingLevel(cfg.logLevel)})
}

// toolError is a tool result with isError set.
type toolError struct {
	name, text string
}

func (e *toolError) Error() string {
	if e.text == "" {
		return fmt.Sprintf("call: tool %s returned an error", e.name)
	}
	return fmt.Sprintf("call: tool %s returned an error: %s", e.name, e.text)
}

// do runs the command on an open session and prints the result.
func (c *CallCommand) do(ctx context.Context, cfg *callConfig, cs *mcp.ClientSession) error {
	switch cfg.command {
	case "discover":
		res := cs.InitializeResult()
		if cfg.json {
			return c.printJSON(res)
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		if res.ServerInfo != nil {
			fmt.Fprintf(tw, "server\t%s %s\n", res.ServerInfo.Name, res.ServerInfo.Version)
		}
		fmt.Fprintf(tw, "protocol\t%s\n", res.ProtocolVersion)
		fmt.Fprintf(tw, "capabilities\t%s\n", strings.Join(capabilities(res.Capabilities), ", "))
		if res.Instructions != "" {
			fmt.Fprintf(tw, "instructions\t%s\n", oneLine(errors.New(res.Instructions)))
		}
		return tw.Flush()

	case "tools":
		var tools []*mcp.Tool
		for t, err := range cs.Tools(ctx, nil) {
			if err != nil {
				return err
			}
			tools = append(tools, t)
		}
		if cfg.json {
			return c.printJSON(map[string]any{"tools": nonNil(tools)})
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tDESCRIPTION")
		for _, t := range tools {
			fmt.Fprintf(tw, "%s\t%s\n", t.Name, summary(t.Description))
		}
		return tw.Flush()

	case "tool":
		name := cfg.operands[0]
		args, err := c.toolArgs(ctx, cfg, cs, name)
		if err != nil {
			return err
		}
		if err := setLogLevel(ctx, cfg, cs); err != nil {
			return err
		}
		params := &mcp.CallToolParams{Name: name, Arguments: args, Meta: logMeta(cfg, cs)}
		if notifies(cfg) {
			params.SetProgressToken("mcplambda-call")
		}
		if cfg.task {
			return c.toolTask(ctx, cfg, cs, params)
		}
		res, err := cs.CallTool(ctx, params)
		if err != nil {
			return err
		}
		return c.printToolResult(cfg, name, res)

	case "resources":
		var resources []*mcp.Resource
		var templates []*mcp.ResourceTemplate
		if caps := cs.InitializeResult().Capabilities; caps == nil || caps.Resources == nil {
			if cfg.json {
				return c.printJSON(map[string]any{"resources": []any{}, "resourceTemplates": []any{}})
			}
			fmt.Fprintln(c.Stdout, "The server has no resources.")
			return nil
		}
		for r, err := range cs.Resources(ctx, nil) {
			if err != nil {
				return err
			}
			resources = append(resources, r)
		}
		for r, err := range cs.ResourceTemplates(ctx, nil) {
			if err != nil {
				return err
			}
			templates = append(templates, r)
		}
		if cfg.json {
			return c.printJSON(map[string]any{"resources": nonNil(resources), "resourceTemplates": nonNil(templates)})
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "URI\tNAME\tMIME TYPE\tDESCRIPTION")
		for _, r := range resources {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.URI, r.Name, r.MIMEType, summary(r.Description))
		}
		for _, r := range templates {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.URITemplate, r.Name, r.MIMEType, summary(r.Description))
		}
		return tw.Flush()

	case "read":
		if err := setLogLevel(ctx, cfg, cs); err != nil {
			return err
		}
		res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: cfg.operands[0], Meta: logMeta(cfg, cs)})
		if err != nil {
			return err
		}
		if cfg.json {
			return c.printJSON(res)
		}
		for _, rc := range res.Contents {
			switch {
			case rc.Blob != nil:
				fmt.Fprintf(c.Stdout, "[%s: %s, %d bytes]\n", rc.URI, rc.MIMEType, len(rc.Blob))
			default:
				fmt.Fprint(c.Stdout, rc.Text)
				if !strings.HasSuffix(rc.Text, "\n") {
					fmt.Fprintln(c.Stdout)
				}
			}
		}
		return nil

	case "prompts":
		var prompts []*mcp.Prompt
		if caps := cs.InitializeResult().Capabilities; caps == nil || caps.Prompts == nil {
			if cfg.json {
				return c.printJSON(map[string]any{"prompts": []any{}})
			}
			fmt.Fprintln(c.Stdout, "The server has no prompts.")
			return nil
		}
		for p, err := range cs.Prompts(ctx, nil) {
			if err != nil {
				return err
			}
			prompts = append(prompts, p)
		}
		if cfg.json {
			return c.printJSON(map[string]any{"prompts": nonNil(prompts)})
		}
		tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tARGUMENTS\tDESCRIPTION")
		for _, p := range prompts {
			var args []string
			for _, a := range p.Arguments {
				s := a.Name
				if !a.Required {
					s += "?"
				}
				args = append(args, s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, strings.Join(args, " "), summary(p.Description))
		}
		return tw.Flush()

	case "task":
		return c.doTask(ctx, cfg, cs)

	case "prompt":
		args := map[string]string{}
		for _, kv := range cfg.args {
			k, v, _ := strings.Cut(kv, "=")
			args[k] = v
		}
		if err := setLogLevel(ctx, cfg, cs); err != nil {
			return err
		}
		res, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: cfg.operands[0], Arguments: args, Meta: logMeta(cfg, cs)})
		if err != nil {
			return err
		}
		if cfg.json {
			return c.printJSON(res)
		}
		for _, m := range res.Messages {
			fmt.Fprintf(c.Stdout, "%s: ", m.Role)
			c.printContent([]mcp.Content{m.Content})
		}
		return nil
	}
	return nil
}

// toolArgs builds a tool's arguments from --args and --arg, after listing
// the tools. A --arg value is JSON when it parses as JSON and the tool's
// schema does not make the property a string.
func (c *CallCommand) toolArgs(ctx context.Context, cfg *callConfig, cs *mcp.ClientSession, name string) (map[string]any, error) {
	args := map[string]any{}
	if cfg.argsJSON != "" {
		if err := json.Unmarshal([]byte(cfg.argsJSON), &args); err != nil {
			return nil, err // checked by parse
		}
	}
	// List the tools even without --arg: go-sdk's client mirrors
	// x-mcp-header arguments into Mcp-Param-* headers only for tools it
	// has listed.
	types := map[string]string{}
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		if t.Name != name {
			continue
		}
		var schema struct {
			Properties map[string]struct {
				Type any `json:"type"`
			} `json:"properties"`
		}
		b, _ := json.Marshal(t.InputSchema)
		_ = json.Unmarshal(b, &schema)
		for k, p := range schema.Properties {
			if s, ok := p.Type.(string); ok {
				types[k] = s
			}
		}
	}
	for _, kv := range cfg.args {
		k, v, _ := strings.Cut(kv, "=")
		var j any
		if types[k] != "string" && json.Unmarshal([]byte(v), &j) == nil {
			args[k] = j
		} else {
			args[k] = v
		}
	}
	return args, nil
}

// printContent prints content for people: text as is, other kinds as a
// one-line summary.
func (c *CallCommand) printContent(content []mcp.Content) {
	for _, ct := range content {
		switch ct := ct.(type) {
		case *mcp.TextContent:
			fmt.Fprint(c.Stdout, ct.Text)
			if !strings.HasSuffix(ct.Text, "\n") {
				fmt.Fprintln(c.Stdout)
			}
		case *mcp.ImageContent:
			fmt.Fprintf(c.Stdout, "[image: %s, %d bytes]\n", ct.MIMEType, len(ct.Data))
		case *mcp.AudioContent:
			fmt.Fprintf(c.Stdout, "[audio: %s, %d bytes]\n", ct.MIMEType, len(ct.Data))
		case *mcp.ResourceLink:
			fmt.Fprintf(c.Stdout, "[resource link: %s]\n", ct.URI)
		case *mcp.EmbeddedResource:
			if ct.Resource != nil && ct.Resource.Text != "" {
				fmt.Fprint(c.Stdout, ct.Resource.Text)
				if !strings.HasSuffix(ct.Resource.Text, "\n") {
					fmt.Fprintln(c.Stdout)
				}
			} else if ct.Resource != nil {
				fmt.Fprintf(c.Stdout, "[resource: %s]\n", ct.Resource.URI)
			}
		default:
			b, _ := json.Marshal(ct)
			fmt.Fprintln(c.Stdout, string(b))
		}
	}
}

func (c *CallCommand) printJSON(v any) error {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// summary returns the first line of a description, at most 80 characters.
func summary(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

// capabilities names the server's capabilities.
func capabilities(c *mcp.ServerCapabilities) []string {
	if c == nil {
		return nil
	}
	var s []string
	if c.Tools != nil {
		s = append(s, "tools")
	}
	if c.Resources != nil {
		r := "resources"
		if c.Resources.Subscribe {
			r += " (subscribe)"
		}
		s = append(s, r)
	}
	if c.Prompts != nil {
		s = append(s, "prompts")
	}
	if c.Completions != nil {
		s = append(s, "completions")
	}
	if c.Logging != nil {
		s = append(s, "logging")
	}
	return s
}
