// Package statetest is the contract test suite for [state.Store]: every
// implementation runs it, so they all behave alike.
//
//	func TestContract(t *testing.T) {
//		statetest.Run(t, func(t *testing.T, now func() time.Time) state.Store {
//			return state.NewMemory(&state.MemoryOptions{Now: now})
//		})
//	}
package statetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/state"
)

// NewStore returns a store for one test. The store must take the current
// time from now, which the suite moves forward to test expiry; now starts
// at the real current time, so a backend that deletes expired items by
// its own clock never deletes an item the suite still expects.
type NewStore func(t *testing.T, now func() time.Time) state.Store

// Clock is a settable clock for tests. Safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing the current time, truncated to the second.
func NewClock() *Clock { return &Clock{t: time.Now().Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Writers is the number of concurrent writers in the lost-update test.
const Writers = 50

// Run runs the contract suite against the stores newStore returns.
func Run(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	setup := func(t *testing.T) (state.Store, *Clock) {
		t.Helper()
		c := NewClock()
		return newStore(t, c.Now), c
	}

	t.Run("GetMissing", func(t *testing.T) {
		s, _ := setup(t)
		if _, err := s.Get(ctx, "missing"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("PutGet", func(t *testing.T) {
		s, _ := setup(t)
		v1, err := s.Put(ctx, "k", []byte(`{"a":1}`), state.PutOptions{})
		if err != nil || v1 <= 0 {
			t.Fatalf("Put = %d, %v; want a positive version", v1, err)
		}
		it, err := s.Get(ctx, "k")
		if err != nil || string(it.Value) != `{"a":1}` || it.Version != v1 || !it.Expires.IsZero() {
			t.Fatalf("Get = %+v, %v; want value {\"a\":1} version %d, no expiry", it, err, v1)
		}
		it.Value[0] = 'X' // the caller owns the returned slice
		v2, err := s.Put(ctx, "k", []byte("2"), state.PutOptions{})
		if err != nil || v2 == v1 {
			t.Fatalf("second Put = %d, %v; want a new version (first %d)", v2, err, v1)
		}
		it, err = s.Get(ctx, "k")
		if err != nil || string(it.Value) != "2" || it.Version != v2 {
			t.Fatalf("Get after overwrite = %+v, %v; want 2 at version %d", it, err, v2)
		}
		if _, err := s.Get(ctx, "k2"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get(other key) error = %v, want ErrNotFound", err)
		}
	})

	t.Run("EmptyAndBinaryValues", func(t *testing.T) {
		s, _ := setup(t)
		for _, v := range [][]byte{nil, {}, {0, 1, 2, 255}, []byte(strings.Repeat("x", state.MaxValueBytes))} {
			if _, err := s.Put(ctx, "k", v, state.PutOptions{}); err != nil {
				t.Fatalf("Put(%d bytes) error = %v", len(v), err)
			}
			it, err := s.Get(ctx, "k")
			if err != nil {
				t.Fatalf("Get after Put(%d bytes) error = %v", len(v), err)
			}
			if !bytes.Equal(it.Value, v) || it.Value == nil {
				t.Fatalf("Get after Put(%d bytes) = %d bytes (nil: %t), want the same, never nil", len(v), len(it.Value), it.Value == nil)
			}
		}
	})

	t.Run("IfAbsent", func(t *testing.T) {
		s, _ := setup(t)
		if _, err := s.Put(ctx, "k", []byte("1"), state.PutOptions{IfAbsent: true}); err != nil {
			t.Fatalf("first create error = %v", err)
		}
		if _, err := s.Put(ctx, "k", []byte("2"), state.PutOptions{IfAbsent: true}); !errors.Is(err, state.ErrConflict) {
			t.Fatalf("second create error = %v, want ErrConflict", err)
		}
		if it, _ := s.Get(ctx, "k"); it == nil || string(it.Value) != "1" {
			t.Errorf("value after failed create = %+v, want 1", it)
		}
	})

	t.Run("IfVersion", func(t *testing.T) {
		s, _ := setup(t)
		if _, err := s.Put(ctx, "k", []byte("x"), state.PutOptions{IfVersion: 1}); !errors.Is(err, state.ErrConflict) {
			t.Fatalf("conditional Put on a missing key error = %v, want ErrConflict", err)
		}
		v1, _ := s.Put(ctx, "k", []byte("1"), state.PutOptions{})
		v2, err := s.Put(ctx, "k", []byte("2"), state.PutOptions{IfVersion: v1})
		if err != nil || v2 == v1 {
			t.Fatalf("Put(IfVersion=%d) = %d, %v", v1, v2, err)
		}
		if _, err := s.Put(ctx, "k", []byte("stale"), state.PutOptions{IfVersion: v1}); !errors.Is(err, state.ErrConflict) {
			t.Fatalf("Put with stale version error = %v, want ErrConflict", err)
		}
		if it, _ := s.Get(ctx, "k"); it == nil || string(it.Value) != "2" || it.Version != v2 {
			t.Errorf("after stale write: %+v, want 2 at version %d", it, v2)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s, _ := setup(t)
		if err := s.Delete(ctx, "missing", 0); err != nil {
			t.Errorf("Delete(missing, 0) = %v, want nil", err)
		}
		if err := s.Delete(ctx, "missing", 7); !errors.Is(err, state.ErrConflict) {
			t.Errorf("Delete(missing, 7) = %v, want ErrConflict", err)
		}
		v1, _ := s.Put(ctx, "k", []byte("1"), state.PutOptions{})
		v2, _ := s.Put(ctx, "k", []byte("2"), state.PutOptions{})
		if err := s.Delete(ctx, "k", v1); !errors.Is(err, state.ErrConflict) {
			t.Errorf("Delete with stale version = %v, want ErrConflict", err)
		}
		if err := s.Delete(ctx, "k", v2); err != nil {
			t.Errorf("Delete with current version = %v", err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get after Delete error = %v, want ErrNotFound", err)
		}
		s.Put(ctx, "k", []byte("3"), state.PutOptions{})
		if err := s.Delete(ctx, "k", 0); err != nil {
			t.Errorf("unconditional Delete = %v", err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, state.ErrNotFound) {
			t.Errorf("Get after unconditional Delete error = %v, want ErrNotFound", err)
		}
	})

	t.Run("TTL", func(t *testing.T) {
		s, clock := setup(t)
		start := clock.Now()
		v, err := s.Put(ctx, "k", []byte("1"), state.PutOptions{TTL: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "forever", []byte("f"), state.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
		it, err := s.Get(ctx, "k")
		if err != nil {
			t.Fatalf("Get before expiry error = %v", err)
		}
		if d := it.Expires.Sub(start); d < 10*time.Second || d > 11*time.Second {
			t.Errorf("Expires = start+%v, want start+10s (rounded up to the second at most)", d)
		}
		clock.Advance(7 * time.Second) // 12 s after the write
		if _, err := s.Get(ctx, "k"); !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("Get after expiry error = %v, want ErrNotFound", err)
		}
		if _, err := s.Get(ctx, "forever"); err != nil {
			t.Errorf("Get(item without TTL) error = %v", err)
		}
		if _, err := s.Put(ctx, "k", []byte("x"), state.PutOptions{IfVersion: v}); !errors.Is(err, state.ErrConflict) {
			t.Errorf("Put(IfVersion) on an expired item error = %v, want ErrConflict", err)
		}
		if err := s.Delete(ctx, "k", v); !errors.Is(err, state.ErrConflict) {
			t.Errorf("Delete(version) on an expired item error = %v, want ErrConflict", err)
		}
		if _, err := s.Put(ctx, "k", []byte("2"), state.PutOptions{IfAbsent: true}); err != nil {
			t.Fatalf("Put(IfAbsent) over an expired item error = %v", err)
		}
		if it, err := s.Get(ctx, "k"); err != nil || string(it.Value) != "2" || !it.Expires.IsZero() {
			t.Errorf("Get after re-create = %+v, %v; want 2, no expiry", it, err)
		}
	})

	t.Run("Limits", func(t *testing.T) {
		s, _ := setup(t)
		tests := []struct {
			key   string
			value []byte
			want  error
		}{
			{"", nil, state.ErrInvalidKey},
			{strings.Repeat("k", state.MaxKeyBytes+1), nil, state.ErrInvalidKey},
			{"\xff", nil, state.ErrInvalidKey},
			{"k", make([]byte, state.MaxValueBytes+1), state.ErrTooLarge},
		}
		for _, tt := range tests {
			if _, err := s.Put(ctx, tt.key, tt.value, state.PutOptions{}); !errors.Is(err, tt.want) {
				t.Errorf("Put(%d-byte key, %d bytes) error = %v, want %v", len(tt.key), len(tt.value), err, tt.want)
			}
		}
		if _, err := s.Get(ctx, ""); !errors.Is(err, state.ErrInvalidKey) {
			t.Errorf("Get(\"\") error = %v, want ErrInvalidKey", err)
		}
		if err := s.Delete(ctx, "", 0); !errors.Is(err, state.ErrInvalidKey) {
			t.Errorf("Delete(\"\") error = %v, want ErrInvalidKey", err)
		}
		long := strings.Repeat("é", state.MaxKeyBytes/2)
		if _, err := s.Put(ctx, long, []byte("1"), state.PutOptions{}); err != nil {
			t.Errorf("Put(longest key) error = %v", err)
		}
		if _, err := s.Get(ctx, long); err != nil {
			t.Errorf("Get(longest key) error = %v", err)
		}
	})

	t.Run("ConcurrentWritersLoseNoUpdate", func(t *testing.T) {
		s, _ := setup(t)
		if _, err := s.Put(ctx, "counter", []byte("0"), state.PutOptions{IfAbsent: true}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, Writers)
		for w := range Writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- increment(ctx, s, "counter", fmt.Sprint("w", w))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		it, err := s.Get(ctx, "counter")
		if err != nil {
			t.Fatal(err)
		}
		var got counter
		if err := json.Unmarshal(it.Value, &got); err != nil {
			t.Fatal(err)
		}
		if got.N != Writers || len(got.By) != Writers {
			t.Errorf("counter after %d concurrent increments = %d (%d writers recorded), want %d", Writers, got.N, len(got.By), Writers)
		}
	})
}

type counter struct {
	N  int      `json:"n"`
	By []string `json:"by"`
}

// increment adds one to the counter under key with a compare-and-swap loop.
func increment(ctx context.Context, s state.Store, key, who string) error {
	for range 10 * Writers * Writers { // bounded: each round at least one writer wins
		it, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		var c counter
		if len(it.Value) > 1 {
			if err := json.Unmarshal(it.Value, &c); err != nil {
				return err
			}
		} else {
			fmt.Sscan(string(it.Value), &c.N)
		}
		c.N++
		c.By = append(c.By, who)
		b, _ := json.Marshal(c)
		_, err = s.Put(ctx, key, b, state.PutOptions{IfVersion: it.Version})
		if err == nil {
			return nil
		}
		if !errors.Is(err, state.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("increment by %s: too many conflicts", who)
}
