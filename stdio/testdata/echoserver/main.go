// Command echoserver is a tiny stdio MCP server for the stdio package's
// tests and benchmarks, written with go-sdk. Besides an echo tool it has
// tools that misbehave on demand: crash, hang, write garbage to stdout,
// answer with a huge message; and ask, which sends its client an
// elicitation, a sampling and a roots request.
//
// Flags change its start-up and shutdown: -banner prints a non-JSON line
// on stdout first, -fail exits at once, -ignore-stdin-close keeps running
// (and ignores SIGTERM) after stdin closes, so only SIGKILL stops it.
//
// The spawn tool starts a grandchild (this program again, with -sleep: it
// sleeps for an hour, ignoring SIGTERM with -ignore-sigterm) in the
// server's process group, and answers its pid, so that tests can check
// that it goes away with the server.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	banner := flag.Bool("banner", false, "print a non-JSON banner on stdout")
	fail := flag.Bool("fail", false, "exit 1 at once")
	ignoreClose := flag.Bool("ignore-stdin-close", false, "keep running after stdin closes; ignore SIGTERM")
	sleep := flag.Bool("sleep", false, "sleep for an hour instead of serving (the spawn tool's grandchild)")
	ignoreTerm := flag.Bool("ignore-sigterm", false, "with -sleep: ignore SIGTERM")
	flag.Parse()
	log.SetFlags(0)
	if *sleep {
		if *ignoreTerm {
			signal.Ignore(syscall.SIGTERM)
		}
		fmt.Println("ready") // to the spawn tool, which waits for it
		os.Stdout.Close()
		time.Sleep(time.Hour)
		return
	}
	if *fail {
		log.Fatal("echoserver: failing on purpose")
	}
	if *banner {
		fmt.Println("echoserver v1 starting (this line is not JSON)")
	}
	if *ignoreClose {
		signal.Ignore(syscall.SIGTERM)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "echoserver", Version: "v1.2.3"}, &mcp.ServerOptions{
		Instructions: "Echoes.",
		CompletionHandler: func(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
			var vals []string
			for _, c := range []string{"alice", "albert", "bob"} {
				if strings.HasPrefix(c, req.Params.Argument.Value) {
					vals = append(vals, c)
				}
			}
			return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: vals, Total: len(vals)}}, nil
		},
	})
	addTools(s)
	s.AddResource(&mcp.Resource{URI: "test://static", Name: "static", MIMEType: "text/plain"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, MIMEType: "text/plain", Text: "static content"}}}, nil
		})
	s.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "test://items/{id}", Name: "item"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: "item " + strings.TrimPrefix(req.Params.URI, "test://items/")}}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "greet", Arguments: []*mcp.PromptArgument{{Name: "name", Required: true}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "Hello, " + req.Params.Arguments["name"] + "!"}}}}, nil
		})
	err := s.Run(context.Background(), &mcp.StdioTransport{})
	if *ignoreClose {
		log.Print("echoserver: stdin closed; staying up on purpose")
		select {}
	}
	if err != nil {
		log.Fatal(err)
	}
}

type echoArgs struct {
	Message string `json:"message"`
}

type sizeArgs struct {
	Bytes int `json:"bytes"`
}

type stepsArgs struct {
	Steps int `json:"steps"`
}

type nameArgs struct {
	Name string `json:"name"`
}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func addTools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "echo", Description: "Echoes back the input"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
			return text("Echo: " + in.Message), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "pid", Description: "Returns the server's process id"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return text(fmt.Sprint(os.Getpid())), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "spawn", Description: "Starts a sleeping grandchild in this process group and returns its pid"},
		func(_ context.Context, _ *mcp.CallToolRequest, in struct {
			IgnoreSIGTERM bool `json:"ignoreSIGTERM,omitempty"`
		}) (*mcp.CallToolResult, any, error) {
			args := []string{"-sleep"}
			if in.IgnoreSIGTERM {
				args = append(args, "-ignore-sigterm")
			}
			cmd := exec.Command(os.Args[0], args...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				return nil, nil, err
			}
			if err := cmd.Start(); err != nil {
				return nil, nil, err
			}
			// Answer once it is set up (its signal handling included).
			if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
				return nil, nil, fmt.Errorf("grandchild: %w", err)
			}
			go cmd.Wait() // reap it if it dies while this server runs
			return text(fmt.Sprint(cmd.Process.Pid)), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "env", Description: "Returns an environment variable"},
		func(_ context.Context, _ *mcp.CallToolRequest, in nameArgs) (*mcp.CallToolResult, any, error) {
			return text(os.Getenv(in.Name)), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "progress", Description: "Sends progress notifications, then answers"},
		func(ctx context.Context, req *mcp.CallToolRequest, in stepsArgs) (*mcp.CallToolResult, any, error) {
			tok := req.Params.GetProgressToken()
			for i := 1; i <= in.Steps && tok != nil; i++ {
				req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: float64(in.Steps), Message: fmt.Sprintf("step %d", i)})
			}
			return text(fmt.Sprintf("done %d steps", in.Steps)), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Exits the process mid-request"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			log.Print("echoserver: crashing on purpose")
			os.Exit(3)
			return nil, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "exit_soon", Description: "Answers, then exits (status 3) while idle"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			go func() {
				time.Sleep(50 * time.Millisecond) // after the answer is written
				log.Print("echoserver: exiting on purpose")
				os.Exit(3)
			}()
			return text("exiting"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "hang", Description: "Never answers"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			select {}
		})
	mcp.AddTool(s, &mcp.Tool{Name: "garbage", Description: "Writes a non-JSON line to stdout, then answers"},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			os.Stdout.WriteString("garbage: this is not JSON\n")
			return text("answered after garbage"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "big", Description: "Answers with a text of the given size"},
		func(_ context.Context, _ *mcp.CallToolRequest, in sizeArgs) (*mcp.CallToolResult, any, error) {
			return text(strings.Repeat("x", in.Bytes)), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "stderr", Description: "Writes lines to stderr"},
		func(_ context.Context, _ *mcp.CallToolRequest, in echoArgs) (*mcp.CallToolResult, any, error) {
			fmt.Fprintf(os.Stderr, "stderr line 1: %s\nstderr line 2: %s\n", in.Message, in.Message)
			return text("logged"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "slow", Description: "Sleeps for ms milliseconds"},
		func(ctx context.Context, _ *mcp.CallToolRequest, in struct {
			MS int `json:"ms"`
		}) (*mcp.CallToolResult, any, error) {
			select {
			case <-time.After(time.Duration(in.MS) * time.Millisecond):
			case <-ctx.Done():
			}
			return text("slept"), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "ask", Description: "Asks its client for a name (elicitation), a greeting (sampling) and its roots"},
		func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			e, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: "Your name?", RequestedSchema: map[string]any{
				"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}, "required": []string{"name"}}})
			if err != nil {
				return nil, nil, fmt.Errorf("elicitation: %w", err)
			}
			//lint:ignore SA1019 the test relays sampling requests, deprecated since 2026-07-28
			m, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10, Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: fmt.Sprint("greet ", e.Content["name"])}}}})
			if err != nil {
				return nil, nil, fmt.Errorf("sampling: %w", err)
			}
			//lint:ignore SA1019 the test relays roots requests, deprecated since 2026-07-28
			r, err := req.Session.ListRoots(ctx, nil)
			if err != nil {
				return nil, nil, fmt.Errorf("roots: %w", err)
			}
			var roots []string
			for _, root := range r.Roots {
				roots = append(roots, root.URI)
			}
			greeting := "(not text)"
			if t, ok := m.Content.(*mcp.TextContent); ok {
				greeting = t.Text
			}
			return text(fmt.Sprintf("%v | %s | %s", e.Content["name"], greeting, strings.Join(roots, ","))), nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "add_tool", Description: "Adds a tool named by the argument (list_changed)"},
		func(_ context.Context, _ *mcp.CallToolRequest, in nameArgs) (*mcp.CallToolResult, any, error) {
			mcp.AddTool(s, &mcp.Tool{Name: in.Name, Description: "added at run time"},
				func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
					return text("I am " + in.Name), nil, nil
				})
			return text("added"), nil, nil
		})
}
