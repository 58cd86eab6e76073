package stdio_test

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/stdio"
)

// echoServer is the path of the test stdio server (testdata/echoserver),
// built once by TestMain.
var echoServer string

// binDir holds the binaries TestMain builds.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stdio-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	echoServer = filepath.Join(dir, "echoserver")
	build := exec.Command("go", "build", "-o", echoServer, "./testdata/echoserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building echoserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type syncBuffer = syncio.Buffer

// newProxy starts a Proxy around the echo server with args; its stderr
// goes to the returned buffer.
func newProxy(t testing.TB, opts *stdio.ProxyOptions, args ...string) (*stdio.Proxy, *syncBuffer) {
	t.Helper()
	var o stdio.ProxyOptions
	if opts != nil {
		o = *opts
	}
	stderr := new(syncBuffer)
	if o.Stderr == nil {
		o.Stderr = stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := stdio.NewProxy(ctx, stdio.Command{Path: echoServer, Args: args}, &o)
	if err != nil {
		t.Fatalf("NewProxy: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p, stderr
}

// lambdaHandler is the proxy behind every mcplambda front door, in
// process.
func lambdaHandler(p *stdio.Proxy, opts *mcplambda.Options) lambda.Handler {
	return mcplambda.NewLambdaHandler(mcplambda.NewHandler(p.Server(), opts), opts)
}

// rpcResponse is a JSON-RPC response.
type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// invoke sends a direct-invoke payload and decodes the JSON-RPC response.
func invoke(t testing.TB, h lambda.Handler, ctx context.Context, payload string) rpcResponse {
	t.Helper()
	out, err := h.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	var r rpcResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("Invoke(%s) = %s: %v", payload, out, err)
	}
	return r
}

// callTool is the direct-invoke payload of a tools/call.
func callTool(id int, name string, args any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": name, "arguments": args}})
	return string(b)
}

// toolText returns the text of the first content of a CallToolResult.
func toolText(t testing.TB, r rpcResponse) string {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("tools/call error %d: %s", r.Error.Code, r.Error.Message)
	}
	var res struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil || len(res.Content) == 0 {
		t.Fatalf("tools/call result %s: %v", r.Result, err)
	}
	return res.Content[0].Text
}

//go:embed testdata/events/*.json
var fixtures embed.FS

// frontDoorEvent returns the event a front door would deliver for an HTTP
// POST of body to /mcp with the given Accept header, as the IAM user
// userARN when not empty (function URL, HTTP API and REST API only).
func frontDoorEvent(t testing.TB, door, body, accept, userARN string) []byte {
	t.Helper()
	raw, err := fixtures.ReadFile("testdata/events/" + door + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"] = body
	ev["isBase64Encoded"] = false
	for _, key := range []string{"headers", "multiValueHeaders"} {
		h, _ := ev[key].(map[string]any)
		for k := range h {
			if strings.EqualFold(k, "accept") {
				if key == "headers" {
					h[k] = accept
				} else {
					h[k] = []any{accept}
				}
			}
		}
	}
	rc, _ := ev["requestContext"].(map[string]any)
	switch door {
	case "url", "httpapi":
		if userARN == "" {
			delete(rc, "authorizer")
		} else {
			rc["authorizer"] = map[string]any{"iam": map[string]any{"userArn": userARN, "accountId": "111122223333"}}
		}
	case "rest":
		id, _ := rc["identity"].(map[string]any)
		if id == nil {
			id = map[string]any{}
			rc["identity"] = id
		}
		id["userArn"] = userARN
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// httpResponse is the part of a front door's response the tests read.
type httpResponse struct {
	StatusCode      int    `json:"statusCode"`
	Body            string `json:"body"`
	IsBase64Encoded bool   `json:"isBase64Encoded"`
}

func invokeDoor(t testing.TB, h lambda.Handler, ctx context.Context, door, body, accept, userARN string) (int, string) {
	t.Helper()
	out, err := h.Invoke(ctx, frontDoorEvent(t, door, body, accept, userARN))
	if err != nil {
		t.Fatalf("Invoke(%s event): %v", door, err)
	}
	var r httpResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("Invoke(%s event) = %s: %v", door, out, err)
	}
	if r.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		r.Body = string(b)
	}
	return r.StatusCode, r.Body
}
