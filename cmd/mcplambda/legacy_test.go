//lint:file-ignore SA1019 legacy clients still answer sampling and roots requests (deprecated since 2026-07-28, SEP-2577): these tests are about them.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/auth/authtest"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestDevLegacyRequests runs the official TypeScript SDK's client, with
// its elicitation and sampling handlers, against a Go tool (testdata/askfn)
// under `mcplambda dev --sessions --instances 3` with DynamoDB Local as the
// session store: the tool's requests reach Alice on the response stream of
// her call, and her answers, which always land on another instance (the
// asking one is busy), reach the waiting tool through DynamoDB. Meanwhile
// Bob, another principal, answers her elicitation request in her session
// (refused as a session he does not have) and in his own (refused exactly
// as an unknown request id is), and the tool sees only Alice's answer.
// It runs behind a function URL and a REST API, both streaming (the
// default of --sessions).
func TestDevLegacyRequests(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs mcplambda dev, DynamoDB Local and Node")
	}
	node := testtools.Node22(t)
	sdk := filepath.Join(testtools.Dir(), "node_modules", "@modelcontextprotocol", "sdk", "dist", "esm")
	if _, err := os.Stat(sdk); err != nil {
		if testtools.Required() {
			t.Fatalf("TypeScript SDK not installed at %s: run scripts/install-test-tools.sh", sdk)
		}
		t.Skipf("TypeScript SDK not installed: %v", err)
	}
	client := dynamotest.Client(t)
	for _, front := range []string{"url", "rest"} {
		t.Run(front, func(t *testing.T) { testLegacyRequests(t, node, sdk, client, front) })
	}
}

func testLegacyRequests(t *testing.T, node, sdk string, client *dynamodb.Client, front string) {
	table := dynamotest.NewTable(t, client)
	iss := authtest.NewIssuer(nil)
	defer iss.Close()
	addr := testtools.FreeAddr(t)
	resource := "http://" + addr + "/mcp"

	args := []string{"--addr", addr, "--front", front, "--sessions", "--instances", "3", "--timeout", "60s",
		"--env", "ISSUER=" + iss.URL, "--env", "RESOURCE=" + resource}
	for _, kv := range dynamotest.Env(t, table) {
		args = append(args, "--env", kv)
	}
	p := startDev(t, append(args, binary(t, "askfn"))...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, "testdata/tsclient/ask.mjs", sdk, p.mcpURL, iss.Token("alice", resource), iss.Token("bob", resource))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node ask.mjs: %v\nstdout:\n%s\nstderr:\n%s\ndev's stderr:\n%s", err, stdout.String(), stderr.String(), p.stderr.String())
	}
	type post struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	var got struct {
		ProtocolVersion           string   `json:"protocolVersion"`
		Requests                  []string `json:"requests"`
		Progress                  []string `json:"progress"`
		ProgressBeforeElicitation int      `json:"progressBeforeElicitation"`
		BobInAlicesSession        post     `json:"bobInAlicesSession"`
		BobInHisSession           post     `json:"bobInHisSession"`
		UnknownInBobsSession      post     `json:"unknownInBobsSession"`
		Result                    struct {
			IsError           bool              `json:"isError"`
			StructuredContent map[string]string `json:"structuredContent"`
		} `json:"result"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("client output %q: %v", stdout.String(), err)
	}
	t.Logf("client output: %s", stdout.String())
	if got.ProtocolVersion != "2025-11-25" {
		t.Errorf("negotiated protocol version %q, want 2025-11-25", got.ProtocolVersion)
	}
	want := map[string]string{"principal": identity.JWTPrincipal(iss.URL, "alice"), "name": "Ada", "greeting": "hello, greet Ada"}
	if diff := cmp.Diff(want, got.Result.StructuredContent); got.Result.IsError || diff != "" {
		t.Errorf("ask result (isError %v) (-want +got):\n%s\ndev's stderr:\n%s", got.Result.IsError, diff, p.stderr.String())
	}
	if diff := cmp.Diff([]string{"elicitation/create", "sampling/createMessage"}, got.Requests); diff != "" {
		t.Errorf("requests Alice's client handled (-want +got):\n%s", diff)
	}
	// The progress notification sent before the elicitation request had
	// arrived while the tool still waited: the response streams.
	if got.ProgressBeforeElicitation != 1 || !cmp.Equal(got.Progress, []string{"asking"}) {
		t.Errorf("progress = %q, %d of them before the elicitation request; want [asking], 1", got.Progress, got.ProgressBeforeElicitation)
	}
	if b := got.BobInAlicesSession; b.Status != 404 || !strings.Contains(b.Body, "session not found") {
		t.Errorf("Bob's answer in Alice's session = %d %s, want 404 session not found", b.Status, b.Body)
	}
	if b := got.BobInHisSession; b.Status != 400 || !strings.Contains(b.Body, "no outstanding request with this id") {
		t.Errorf("Bob's answer in his session = %d %s, want 400 no outstanding request", b.Status, b.Body)
	}
	if got.BobInHisSession != got.UnknownInBobsSession {
		t.Errorf("Bob's answer to Alice's request = %+v, to a made-up one = %+v; want the same", got.BobInHisSession, got.UnknownInBobsSession)
	}

	// The rendezvous was DynamoDB: the two answered requests' records are
	// in the table (until they expire).
	out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), FilterExpression: aws.String("begins_with(pk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "s2c/"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 2 {
		t.Errorf("the table holds %d records of requests to the client, want 2", len(out.Items))
	}
}

// TestDevStdioRelay: the no-code mode with --sessions relays a stdio
// server's elicitation, sampling and roots requests to a legacy client,
// whose answers land on the other instance.
func TestDevStdioRelay(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs mcplambda dev")
	}
	p := startDev(t, "--addr", "127.0.0.1:0", "--sessions", "--instances", "2", "--", binary(t, "echoserver"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "c", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "hello, " + req.Params.Messages[0].Content.(*mcp.TextContent).Text}}, nil
		},
	})
	client.AddRoots(&mcp.Root{URI: "file:///work"})
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: p.mcpURL}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "ask"})
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if want := "Ada | hello, greet Ada | file:///work"; res.IsError || text != want {
		t.Errorf("ask = %q (isError %v), want %q; dev's stderr:\n%s", text, res.IsError, want, p.stderr.String())
	}
}
