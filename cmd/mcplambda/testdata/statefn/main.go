// Command statefn is a Lambda bootstrap for the tests of dev's state
// directory. Each invocation adds one to a counter in the store
// dynamo.StoreFromEnv opens, then waits until the counter reaches the
// payload's "until", so that concurrent invocations that wait for each
// other can only finish on separate instances sharing one store. It
// answers with the count it saw last, its process id and the store's type.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/state"
)

type request struct {
	Until int `json:"until"`
}

type response struct {
	Count int    `json:"count"`
	PID   int    `json:"pid"`
	Store string `json:"store"`
}

const key = "count"

func main() {
	store, err := dynamo.StoreFromEnv(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(func(ctx context.Context, req request) (*response, error) {
		n, err := increment(ctx, store)
		if err != nil {
			return nil, err
		}
		for n < req.Until { // bounded by the invocation's deadline
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("count %d never reached %d: %w", n, req.Until, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
			if n, _, err = get(ctx, store); err != nil {
				return nil, err
			}
		}
		return &response{Count: n, PID: os.Getpid(), Store: fmt.Sprintf("%T", store)}, nil
	})
}

func get(ctx context.Context, store state.Store) (n int, version int64, err error) {
	it, err := store.Get(ctx, key)
	if errors.Is(err, state.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	n, err = strconv.Atoi(string(it.Value))
	return n, it.Version, err
}

// increment adds one to the counter with a compare-and-swap loop.
func increment(ctx context.Context, store state.Store) (int, error) {
	for ctx.Err() == nil {
		n, v, err := get(ctx, store)
		if err != nil {
			return 0, err
		}
		_, err = store.Put(ctx, key, []byte(strconv.Itoa(n+1)), state.PutOptions{IfVersion: v, IfAbsent: v == 0})
		if err == nil {
			return n + 1, nil
		}
		if !errors.Is(err, state.ErrConflict) {
			return 0, err
		}
	}
	return 0, ctx.Err()
}
