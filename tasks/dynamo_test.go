package tasks_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/tasks"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// throttler answers DynamoDB requests with the throttling error DynamoDB
// sends while on is set, and passes them to the real DynamoDB Local
// otherwise (DynamoDB Local itself never throttles).
type throttler struct {
	next http.RoundTripper
	on   atomic.Bool
}

func (th *throttler) RoundTrip(r *http.Request) (*http.Response, error) {
	if !th.on.Load() {
		return th.next.RoundTrip(r)
	}
	return dynamotest.Throttled(r), nil
}

// TestDynamoThrottled runs tasks on DynamoDB Local, and throttles the
// store for a while: a tools/call that would create a task, a tasks/get
// and a tasks/cancel then get -32603 saying the store is unavailable and
// nothing changed; once the store answers again, everything goes on, and
// the task created before completes.
func TestDynamoThrottled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	table := dynamotest.NewTable(t, dynamotest.Client(t))
	th := &throttler{}
	client := dynamotest.ClientWithTransport(t, func(rt http.RoundTripper) http.RoundTripper {
		th.next = rt
		return th
	}, func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 10 * time.Millisecond
			o.RateLimiter = ratelimit.None
		})
	})
	store, err := dynamo.New(ctx, client, table, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, &fixtureOptions{store: store})
	cs := f.connect(true)

	_, task, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "wait"})
	if err != nil || task == nil {
		t.Fatalf("CallTool(wait) = %v, %v", task, err)
	}
	<-f.started

	th.on.Store(true)
	for name, call := range map[string]func() error{
		"tools/call": func() error {
			_, _, err := tasks.CallTool(ctx, cs, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"name": "t"}})
			return err
		},
		"tasks/get":    func() error { _, err := tasks.Get(ctx, cs, task.TaskID); return err },
		"tasks/cancel": func() error { return tasks.Cancel(ctx, cs, task.TaskID) },
	} {
		err := call()
		if code(err) != -32603 || !strings.Contains(err.Error(), "task store is unavailable") {
			t.Errorf("%s while throttled: %v, want -32603, store unavailable", name, err)
		}
	}
	th.on.Store(false)

	got, err := tasks.Get(ctx, cs, task.TaskID)
	if err != nil || got.Status != tasks.Working {
		t.Fatalf("after the throttling: %+v, %v; want still working (the cancel was refused)", got, err)
	}
	f.releaseAll()
	if done := poll(t, cs, task.TaskID); done.Status != tasks.Completed || resultText(t, done.Result) != "released" {
		t.Errorf("task = %+v, want completed", done)
	}
}
