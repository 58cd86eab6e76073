// Command behave is a Lambda bootstrap for the lambdatest tests whose
// behaviour is chosen by the payload's "op".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Op      string          `json:"op"`
	Data    json.RawMessage `json:"data,omitempty"`
	MS      int             `json:"ms,omitempty"`
	Code    int             `json:"code,omitempty"`
	Message string          `json:"message,omitempty"`
	Gate    string          `json:"gate,omitempty"`   // URL to GET before going on
	Chunks  []string        `json:"chunks,omitempty"` // streamed chunks
	Env     []string        `json:"env,omitempty"`    // variables to report
}

type myError struct{ msg string }

func (e *myError) Error() string { return e.msg }

// gated streams chunks, calling the gate between them.
type gated struct {
	chunks []string
	gate   string
	fail   string
	i      int
}

func (g *gated) Read(p []byte) (int, error) {
	if g.i >= len(g.chunks) {
		if g.fail != "" {
			return 0, &myError{g.fail}
		}
		return 0, io.EOF
	}
	if g.i > 0 && g.gate != "" {
		if err := get(g.gate); err != nil {
			return 0, err
		}
	}
	n := copy(p, g.chunks[g.i])
	g.i++
	return n, nil
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func handle(ctx context.Context, req request) (any, error) {
	switch req.Op {
	case "echo":
		return req.Data, nil
	case "env":
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		env := map[string]string{}
		for _, k := range req.Env {
			env[k] = os.Getenv(k)
		}
		wd, _ := os.Getwd()
		return map[string]any{
			"env":           env,
			"pid":           os.Getpid(),
			"requestId":     lc.AwsRequestID,
			"arn":           lc.InvokedFunctionArn,
			"clientContext": lc.ClientContext.Custom,
			"hasDeadline":   !deadline.IsZero(),
			"args":          os.Args[1:],
			"wd":            wd,
		}, nil
	case "pid":
		return os.Getpid(), nil
	case "sleep":
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
		return "slept", nil
	case "wait":
		if err := get(req.Gate); err != nil {
			return nil, err
		}
		return os.Getpid(), nil
	case "crash":
		os.Exit(req.Code)
	case "panic":
		panic(req.Message)
	case "error":
		return nil, &myError{req.Message}
	case "print":
		fmt.Fprintln(os.Stdout, "stdout:"+req.Message)
		fmt.Fprintln(os.Stderr, "stderr:"+req.Message)
		return "printed", nil
	case "stream":
		return &gated{chunks: req.Chunks, gate: req.Gate, fail: req.Message}, nil
	case "streamurl":
		return &events.LambdaFunctionURLStreamingResponse{StatusCode: 201, Body: &gated{chunks: req.Chunks, gate: req.Gate}}, nil
	case "spawn":
		// A sleeping child; with a code, the runtime exits with it just
		// after answering (while idle).
		cmd := exec.Command(os.Args[0], "child")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		if req.Code != 0 {
			go func() {
				time.Sleep(100 * time.Millisecond)
				os.Exit(req.Code)
			}()
		}
		return cmd.Process.Pid, nil
	case "big":
		return strings.NewReader(strings.Repeat("x", req.Code)), nil
	case "spawnmem":
		// A child holding req.Code MB, started and ready before the answer.
		cmd := exec.Command(os.Args[0], "child", strconv.Itoa(req.Code))
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			return nil, err
		}
		return cmd.Process.Pid, nil
	case "burn":
		// Spin for req.MS milliseconds of this process's CPU time.
		start := cpuTime()
		for cpuTime()-start < time.Duration(req.MS)*time.Millisecond {
			for i := 0; i < 100000; i++ {
				sink += i
			}
		}
		return os.Getpid(), nil
	}
	return nil, errors.New("unknown op " + req.Op)
}

var sink int

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		if len(os.Args) > 2 {
			mb, _ := strconv.Atoi(os.Args[2])
			held := make([]byte, mb<<20)
			for i := range held {
				held[i] = 1
			}
			fmt.Println("ready")
			time.Sleep(time.Hour)
			sink = int(held[len(held)-1])
		}
		time.Sleep(time.Hour)
		return
	}
	var opts []lambda.Option
	if os.Getenv("SIGTERM_HANDLER") != "" {
		// As stdio.Run does: aws-lambda-go registers an extension so that
		// Lambda sends SIGTERM before shutdown.
		opts = append(opts, lambda.WithEnableSIGTERM(func() {
			fmt.Println("behave: SIGTERM handler ran")
			os.Exit(0)
		}))
	}
	lambda.StartWithOptions(handle, opts...)
}
