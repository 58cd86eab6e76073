package state_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/state"
	"github.com/modelcontextprotocol/go-sdk/auth"
)

// as is the context of a request by principal p ("" for anonymous), as a
// trusted front door would leave it.
func as(p string) context.Context {
	return identity.WithFrontDoor(context.Background(), &identity.Identity{Principal: p, Source: identity.SourceIAM})
}

func newApp(opts *state.AppOptions) (*state.App, *state.Memory) {
	store := state.NewMemory(nil)
	if opts == nil {
		opts = &state.AppOptions{}
	}
	return state.NewApp(store, opts), store
}

type cart struct {
	Items []string `json:"items"`
}

func TestAppScopedToPrincipal(t *testing.T) {
	app, _ := newApp(nil)
	alice, bob := as("https://issuer#alice"), as("https://issuer#bob")
	if err := app.Put(alice, "cart", cart{Items: []string{"apple"}}); err != nil {
		t.Fatal(err)
	}
	var got cart
	if err := app.Get(alice, "cart", &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cart{Items: []string{"apple"}}, got); diff != "" {
		t.Errorf("Get(alice) mismatch (-want +got):\n%s", diff)
	}
	if err := app.Get(bob, "cart", &got); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get(bob) error = %v, want ErrNotFound", err)
	}
	// A principal that contains the separator cannot reach another's names.
	if err := app.Get(as("https://issuer#alice/cart"), "x", &got); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get(crafted principal) error = %v, want ErrNotFound", err)
	}
	if err := app.Delete(bob, "cart"); err != nil {
		t.Fatal(err)
	}
	if err := app.Get(alice, "cart", &got); err != nil {
		t.Errorf("Get(alice) after bob's delete error = %v", err)
	}
	if err := app.Delete(alice, "cart"); err != nil {
		t.Fatal(err)
	}
	if err := app.Get(alice, "cart", &got); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get after Delete error = %v, want ErrNotFound", err)
	}
}

func TestAppSessionScope(t *testing.T) {
	app, _ := newApp(nil)
	ctx := as("alice")
	s1 := state.WithSession(ctx, &state.Session{ID: "s1"})
	s2 := state.WithSession(ctx, &state.Session{ID: "s2"})
	if err := app.Put(s1, "n", 1); err != nil {
		t.Fatal(err)
	}
	var n int
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{{"other session", s2}, {"principal outside sessions", ctx}} {
		if err := app.Get(c.ctx, "n", &n); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get(%s) error = %v, want ErrNotFound", c.name, err)
		}
	}
}

func TestAppSessionTTL(t *testing.T) {
	clock := time.Now()
	store := state.NewMemory(&state.MemoryOptions{Now: func() time.Time { return clock }})
	app := state.NewApp(store, nil)
	ctx := state.WithSession(context.Background(), &state.Session{ID: "s", TTL: time.Minute})
	if err := app.Put(ctx, "n", 1); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Minute)
	var n int
	if err := app.Get(ctx, "n", &n); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("Get after the session TTL error = %v, want ErrNotFound", err)
	}
}

func TestAppErrors(t *testing.T) {
	app, _ := newApp(&state.AppOptions{MaxValueBytes: 100})
	ctx := as("alice")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"anonymous", app.Put(context.Background(), "n", 1), state.ErrNoScope},
		{"empty name", app.Put(ctx, "", 1), state.ErrInvalidName},
		{"long name", app.Put(ctx, strings.Repeat("n", 257), 1), state.ErrInvalidName},
		{"too large", app.Put(ctx, "big", strings.Repeat("x", 101)), state.ErrTooLarge},
		{"unencodable", app.Put(ctx, "f", func() {}), nil},
	}
	for _, tt := range tests {
		if tt.want == nil {
			if tt.err == nil {
				t.Errorf("%s: error = nil, want an error", tt.name)
			}
			continue
		}
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	err := app.Put(ctx, "big", strings.Repeat("x", 101))
	if !strings.Contains(err.Error(), `"big"`) || !strings.Contains(err.Error(), "limit 100") {
		t.Errorf("too-large error %q should name the value and the limit", err)
	}
}

func TestAppUpdateConcurrent(t *testing.T) {
	app, _ := newApp(&state.AppOptions{MaxRetries: 1000})
	ctx := as("alice")
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := state.Update(ctx, app, "visits", func(n *int) error { *n++; return nil })
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var n int
	if err := app.Get(ctx, "visits", &n); err != nil || n != writers {
		t.Errorf("visits after %d concurrent updates = %d, %v", writers, n, err)
	}
}

func TestAppUpdateAbort(t *testing.T) {
	app, _ := newApp(nil)
	ctx := as("alice")
	app.Put(ctx, "n", 5)
	stop := errors.New("stop")
	if _, err := state.Update(ctx, app, "n", func(n *int) error { *n = 99; return stop }); !errors.Is(err, stop) {
		t.Fatalf("Update error = %v, want %v", err, stop)
	}
	var n int
	if app.Get(ctx, "n", &n); n != 5 {
		t.Errorf("value after aborted update = %d, want 5", n)
	}
	got, err := state.Update(ctx, app, "n", func(n *int) error { *n *= 2; return nil })
	if err != nil || got != 10 {
		t.Errorf("Update = %d, %v; want 10", got, err)
	}
}

// conflicting is a store whose conditional writes always lose.
type conflicting struct{ state.Store }

func (c conflicting) Put(ctx context.Context, key string, v []byte, o state.PutOptions) (int64, error) {
	return 0, state.ErrConflict
}

func TestAppUpdateGivesUp(t *testing.T) {
	app := state.NewApp(conflicting{state.NewMemory(nil)}, &state.AppOptions{MaxRetries: 3})
	_, err := state.Update(as("alice"), app, "n", func(n *int) error { return nil })
	if !errors.Is(err, state.ErrConflict) {
		t.Errorf("Update under endless contention error = %v, want ErrConflict", err)
	}
}

// The default principal is the UserID of go-sdk's TokenInfo, as set by
// package auth or auth.RequireBearerToken.
func TestAppDefaultPrincipalFromTokenInfo(t *testing.T) {
	app := state.NewApp(state.NewMemory(nil), nil)
	verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		return &auth.TokenInfo{UserID: "user-" + token, Expiration: time.Now().Add(time.Hour)}, nil
	}
	var got []string
	h := auth.RequireBearerToken(verify, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v string
		if err := app.Get(r.Context(), "who", &v); errors.Is(err, state.ErrNotFound) {
			app.Put(r.Context(), "who", r.Header.Get("Authorization"))
			v = "(new)"
		}
		got = append(got, v)
	}))
	for _, tok := range []string{"a", "b", "a"} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if diff := cmp.Diff([]string{"(new)", "(new)", "Bearer a"}, got); diff != "" {
		t.Errorf("values seen (-want +got):\n%s", diff)
	}
}
