package dynamo_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/seal"
	"github.com/mcplambda/mcplambda/state/statetest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func TestContract(t *testing.T) {
	client := dynamotest.Client(t)
	t.Logf("DynamoDB Local answered %v after start", dynamotest.StartupTime)
	statetest.Run(t, func(t *testing.T, now func() time.Time) state.Store {
		table := dynamotest.NewTable(t, client)
		s, err := dynamo.New(context.Background(), client, table, &dynamo.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestNewMissingTable(t *testing.T) {
	client := dynamotest.Client(t)
	_, err := dynamo.New(context.Background(), client, "no-such-table", nil)
	if !errors.Is(err, dynamo.ErrTableNotFound) {
		t.Fatalf("New(missing table) error = %v, want ErrTableNotFound", err)
	}
	if !strings.Contains(err.Error(), "no-such-table") {
		t.Errorf("error %q does not name the table", err)
	}
}

func TestNewWrongKeySchema(t *testing.T) {
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client)
	_, err := dynamo.New(context.Background(), client, table, &dynamo.Options{KeyAttribute: "id"})
	if !errors.Is(err, dynamo.ErrTableSchema) {
		t.Fatalf("New(key %q) error = %v, want ErrTableSchema", "id", err)
	}
}

func TestKeyPrefixSharesTable(t *testing.T) {
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client)
	a, _ := dynamo.New(ctx, client, table, &dynamo.Options{KeyPrefix: "a/"})
	b, _ := dynamo.New(ctx, client, table, &dynamo.Options{KeyPrefix: "b/"})
	if _, err := a.Put(ctx, "k", []byte("a"), state.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get through another prefix error = %v, want ErrNotFound", err)
	}
}

// throttler answers the first n DynamoDB requests it sees with the
// ProvisionedThroughputExceededException DynamoDB sends when throttling,
// then passes requests to the real DynamoDB Local. The fault is injected
// in the client's transport: DynamoDB Local itself never throttles.
type throttler struct {
	next      http.RoundTripper
	remaining atomic.Int64
	seen      atomic.Int64
}

func (th *throttler) RoundTrip(r *http.Request) (*http.Response, error) {
	th.seen.Add(1)
	if th.remaining.Add(-1) < 0 {
		return th.next.RoundTrip(r)
	}
	return dynamotest.Throttled(r), nil
}

func TestThrottlingRetried(t *testing.T) {
	ctx := context.Background()
	table := dynamotest.NewTable(t, dynamotest.Client(t))
	th := &throttler{}
	client := dynamotest.ClientWithTransport(t, func(rt http.RoundTripper) http.RoundTripper {
		th.next = rt
		return th
	}, func(o *dynamodb.Options) {
		o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 4
			o.MaxBackoff = 20 * time.Millisecond
			o.RateLimiter = ratelimit.None
		})
	})
	store, err := dynamo.New(ctx, client, table, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Throttled twice, then through: the write succeeds on the third attempt.
	th.remaining.Store(2)
	th.seen.Store(0)
	if _, err := store.Put(ctx, "k", []byte("v"), state.PutOptions{}); err != nil {
		t.Fatalf("Put after 2 throttles error = %v", err)
	}
	if got := th.seen.Load(); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}

	// Throttled on every attempt: a clear error naming the throttling.
	th.remaining.Store(100)
	_, err = store.Get(ctx, "k")
	var pte *types.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) {
		t.Fatalf("Get under constant throttling error = %v, want ProvisionedThroughputExceededException", err)
	}
	if !strings.Contains(err.Error(), `dynamo: get "k"`) {
		t.Errorf("error %q lacks the operation and key", err)
	}
	th.remaining.Store(0)
	if it, err := store.Get(ctx, "k"); err != nil || string(it.Value) != "v" {
		t.Errorf("Get after throttling ends = %+v, %v", it, err)
	}
}

// Sealed requestState is single-use across instances: two sealers (two
// Lambda instances) share the keys and a DynamoDB table; the retry opens
// once on either, and a replay is refused on both.
func TestSealSingleUseAcrossInstances(t *testing.T) {
	ctx := context.Background()
	client := dynamotest.Client(t)
	table := dynamotest.NewTable(t, client)
	keys := seal.StaticKeys(seal.Key{ID: "k", Secret: []byte(strings.Repeat("k", seal.KeySize))})
	instance := func() *seal.Sealer {
		store, err := dynamo.New(ctx, client, table, nil)
		if err != nil {
			t.Fatal(err)
		}
		return seal.New(keys, &seal.Options{SingleUse: store})
	}
	a, b := instance(), instance()
	req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "book"}}
	sealed, err := a.Seal(ctx, req, []byte("round=1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Open(ctx, req, sealed); err != nil || string(got) != "round=1" {
		t.Fatalf("Open on instance b = %q, %v", got, err)
	}
	for name, s := range map[string]*seal.Sealer{"a": a, "b": b} {
		if _, err := s.Open(ctx, req, sealed); !errors.Is(err, seal.ErrReplayed) {
			t.Errorf("replay on instance %s: %v, want ErrReplayed", name, err)
		}
	}
}
