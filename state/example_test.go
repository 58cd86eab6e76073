package state_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/mcplambda/mcplambda/state"
)

func ExampleStore() {
	ctx := context.Background()
	store := state.NewMemory(nil) // dynamo.New for state shared by every instance

	v1, _ := store.Put(ctx, "greeting", []byte(`"hello"`), state.PutOptions{IfAbsent: true})
	_, err := store.Put(ctx, "greeting", []byte(`"hi"`), state.PutOptions{IfAbsent: true})
	fmt.Println("second create:", errors.Is(err, state.ErrConflict))

	// Compare-and-swap: write only if nobody wrote since we read v1.
	_, err = store.Put(ctx, "greeting", []byte(`"hi"`), state.PutOptions{IfVersion: v1})
	fmt.Println("update:", err)
	_, err = store.Put(ctx, "greeting", []byte(`"hey"`), state.PutOptions{IfVersion: v1})
	fmt.Println("stale update:", errors.Is(err, state.ErrConflict))

	it, _ := store.Get(ctx, "greeting")
	fmt.Println(string(it.Value))
	// Output:
	// second create: true
	// update: <nil>
	// stale update: true
	// "hi"
}

func ExampleUpdate() {
	store := state.NewMemory(nil)
	app := state.NewApp(store, nil)
	// In a tool handler, ctx holds the caller (package identity); here
	// the caller is made up, as a trusted front door would report it.
	ctx := identity.WithFrontDoor(context.Background(), &identity.Identity{Principal: "https://issuer#alice"})
	for range 3 {
		n, err := state.Update(ctx, app, "visits", func(n *int) error { *n++; return nil })
		fmt.Println(n, err)
	}
	// Output:
	// 1 <nil>
	// 2 <nil>
	// 3 <nil>
}

func ExampleOpenDir() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "state-")
	defer os.RemoveAll(dir)

	// Two processes would each open the directory; two opens in one
	// process share it the same way.
	a, err := state.OpenDir(dir, nil)
	if err != nil {
		fmt.Println(err) // on Windows: errors.ErrUnsupported
		return
	}
	defer a.Close()
	b, _ := state.OpenDir(dir, nil)
	defer b.Close()

	v, _ := a.Put(ctx, "task/1", []byte(`{"status":"working"}`), state.PutOptions{IfAbsent: true, TTL: time.Hour})
	_, err = b.Put(ctx, "task/1", []byte(`{"status":"completed"}`), state.PutOptions{IfVersion: v})
	fmt.Println("update through b:", err)
	it, _ := a.Get(ctx, "task/1")
	fmt.Println(string(it.Value))
	// Output:
	// update through b: <nil>
	// {"status":"completed"}
}
