package tasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

// TestLegacyTypeScriptClient serves the 2025-11-25 experimental tasks
// (SEP-1686) from the same store and executor to the official TypeScript
// SDK's task API: the tasks capability and execution.taskSupport for the
// required task tool, callToolStream following a task to its result
// (tasks/get, tasks/result), a plain result for an optional task tool,
// tasks/cancel answering the cancelled task and -32602 for a terminal
// one, -32602 for an unknown id and -32601 for tasks/list.
func TestLegacyTypeScriptClient(t *testing.T) {
	node := testtools.Node22(t)
	sdk := testtools.TypeScriptSDK(t)
	t.Parallel()
	f := newFixture(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, "testdata/legacy.mjs", sdk, f.url, "alice")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node legacy.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var got struct {
		Capabilities struct {
			Tasks map[string]any `json:"tasks"`
		} `json:"capabilities"`
		Protocol  string                    `json:"protocol"`
		Execution map[string]map[string]any `json:"execution"`
		Stream    []struct {
			Type, Status, TaskID string
			TTL, PollInterval    float64
			Result               struct {
				Content []struct{ Text string } `json:"content"`
				Meta    map[string]any          `json:"_meta"`
			}
			Error string
		} `json:"stream"`
		Echo struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"echo"`
		Cancelled       struct{ Status, StatusMessage string } `json:"cancelled"`
		AfterCancel     string                                 `json:"afterCancel"`
		CancelAgainCode int                                    `json:"cancelAgainCode"`
		UnknownCode     int                                    `json:"unknownCode"`
		ListCode        int                                    `json:"listCode"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("client output %q: %v", stdout.String(), err)
	}
	if got.Protocol != "2025-11-25" {
		t.Errorf("protocol = %q, want 2025-11-25", got.Protocol)
	}
	wantCaps := map[string]any{"cancel": map[string]any{}, "requests": map[string]any{"tools": map[string]any{"call": map[string]any{}}}}
	if diff := cmp.Diff(wantCaps, got.Capabilities.Tasks); diff != "" {
		t.Errorf("capabilities.tasks (-want +got):\n%s", diff)
	}
	wantExec := map[string]map[string]any{"later": {"taskSupport": "required"}, "wait": {"taskSupport": "required"}}
	if diff := cmp.Diff(wantExec, got.Execution); diff != "" {
		t.Errorf("execution of the tools (-want +got):\n%s", diff)
	}
	if n := len(got.Stream); n < 3 || got.Stream[0].Type != "taskCreated" || got.Stream[n-1].Type != "result" {
		t.Fatalf("callToolStream messages = %+v, want taskCreated, taskStatus..., result", got.Stream)
	}
	if created := got.Stream[0]; created.Status != "working" || created.TTL != 3600000 || created.PollInterval != 100 {
		t.Errorf("created task = %+v, want working, ttl 3600000, pollInterval 100", created)
	}
	last := got.Stream[len(got.Stream)-1]
	if len(last.Result.Content) != 1 || last.Result.Content[0].Text != "later: ts" {
		t.Errorf("result = %+v, want later: ts", last.Result)
	}
	related, _ := last.Result.Meta["io.modelcontextprotocol/related-task"].(map[string]any)
	if related["taskId"] != got.Stream[0].TaskID {
		t.Errorf("result _meta = %v, want the related task %s", last.Result.Meta, got.Stream[0].TaskID)
	}
	if len(got.Echo.Content) != 1 || !strings.HasPrefix(got.Echo.Content[0].Text, "echo plain as task false") {
		t.Errorf("echo = %+v, want a plain result", got.Echo)
	}
	if got.Cancelled.Status != "cancelled" || got.AfterCancel != "cancelled" {
		t.Errorf("cancel = %+v then %s, want cancelled", got.Cancelled, got.AfterCancel)
	}
	if diff := cmp.Diff([3]int{-32602, -32602, -32601}, [3]int{got.CancelAgainCode, got.UnknownCode, got.ListCode}); diff != "" {
		t.Errorf("error codes of cancel again, unknown id, tasks/list (-want +got):\n%s", diff)
	}
}

// TestLegacyVersions: the 2025-11-25 tasks are offered to 2025-11-25
// clients only; an older client sees no tasks capability and no
// execution.taskSupport, and a required task tool answers it -32601.
func TestLegacyVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	post := func(version, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, f.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer alice")
		req.Header.Set("Mcp-Protocol-Version", version)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	initialize := func(v string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + v + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"later","arguments":{"name":"x"}}}`
	for _, tt := range []struct {
		version         string
		tasks           bool   // capabilities.tasks and execution offered
		callAnswerMatch string // of the required tool
	}{
		{"2025-11-25", true, `"task":{"taskId":"`},
		{"2025-06-18", false, `"code":-32601`},
		{"2025-03-26", false, `"code":-32601`},
	} {
		t.Run(tt.version, func(t *testing.T) {
			got := []bool{
				strings.Contains(post(tt.version, initialize(tt.version)), `"tasks":{`),
				strings.Contains(post(tt.version, list), `"taskSupport":"required"`),
			}
			if diff := cmp.Diff([]bool{tt.tasks, tt.tasks}, got); diff != "" {
				t.Errorf("tasks capability, execution.taskSupport offered (-want +got):\n%s", diff)
			}
			if answer := post(tt.version, call); !strings.Contains(answer, tt.callAnswerMatch) {
				t.Errorf("tools/call of a required task tool = %s, want %s", answer, tt.callAnswerMatch)
			}
		})
	}
}
