// Package state keeps small, versioned values that outlive a Lambda
// execution environment: legacy MCP sessions, per-caller app state and
// single-use markers for sealed request state.
//
// A [Store] maps string keys to byte values with a version for optimistic
// concurrency (compare-and-swap) and an optional time to live. Three
// implementations pass the same contract suite (package state/statetest):
//
//   - [Memory] ([NewMemory]), in process memory: tests, and local serving
//     by a single process. Nothing survives the process and nothing is
//     shared with other processes or Lambda instances.
//   - [Dir] ([OpenDir]), in a directory of the local file system: state
//     that several processes on one machine share and that survives their
//     restarts, with no service to run. `mcplambda dev` runs each instance
//     of a function as its own process and gives them one Dir, named in
//     the environment variable [EnvStateDir]. Not for Lambda itself: /tmp
//     belongs to one execution environment.
//   - package dynamo, backed by an Amazon DynamoDB table: state shared by
//     every instance of a deployed function.
//
// dynamo.StoreFromEnv picks one of them from the environment (the table in
// MCPLAMBDA_TABLE, else the directory in MCPLAMBDA_STATE_DIR, else Memory
// outside Lambda), so that one program needs no wiring per environment.
//
// Quick start:
//
//	store := state.NewMemory(nil)
//	v, err := store.Put(ctx, "greeting", []byte(`"hello"`), state.PutOptions{IfAbsent: true})
//	item, err := store.Get(ctx, "greeting")
//	_, err = store.Put(ctx, "greeting", []byte(`"hi"`), state.PutOptions{IfVersion: item.Version})
//	if errors.Is(err, state.ErrConflict) {
//		// someone else wrote first: read again and retry
//	}
//
// Package state imports no cloud SDK. Tool authors use [App] through
// [NewApp] for JSON values scoped to the calling principal.
package state

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits every Store enforces.
const (
	// MaxKeyBytes is the longest key a Store accepts.
	MaxKeyBytes = 1024
	// MaxValueBytes is the largest value a Store accepts (a DynamoDB item
	// is limited to 400 KB including its attributes).
	MaxValueBytes = 256 << 10
)

// Errors a Store returns; callers branch on them with errors.Is.
var (
	// ErrNotFound: no live item under the key (never written, deleted, or
	// expired).
	ErrNotFound = errors.New("state: not found")
	// ErrConflict: a conditional write or delete found another version
	// (or, for PutOptions.IfAbsent, a live item) under the key.
	ErrConflict = errors.New("state: version conflict")
	// ErrTooLarge: the value exceeds the store's size limit.
	ErrTooLarge = errors.New("state: value too large")
	// ErrInvalidKey: the key is empty, longer than MaxKeyBytes or not UTF-8.
	ErrInvalidKey = errors.New("state: invalid key")
)

// Item is a stored value.
type Item struct {
	// Value is the stored bytes, never nil; the caller owns the slice.
	Value []byte
	// Version changes on every write of the key; pass it as
	// PutOptions.IfVersion to write only if nobody wrote in between.
	// Versions are positive.
	Version int64
	// Expires is when the item stops being visible; zero means never.
	Expires time.Time
}

// PutOptions makes a write conditional and sets its time to live.
// The zero value is an unconditional write that never expires.
type PutOptions struct {
	// IfVersion, if non-zero, makes the write succeed only when the live
	// item under the key has this version; otherwise it fails with
	// ErrConflict (also when there is no live item).
	IfVersion int64
	// IfAbsent makes the write succeed only when there is no live item
	// under the key (an expired item counts as absent); otherwise it fails
	// with ErrConflict. It cannot be combined with IfVersion.
	IfAbsent bool
	// TTL, if positive, makes the item expire TTL after the write; zero
	// means it never expires. Stores may round expiry up to the second.
	TTL time.Duration
}

// A Store keeps versioned values under string keys. Implementations are
// safe for concurrent use, by goroutines and, for shared backends, by
// several processes: a conditional write is atomic.
//
// Expired items are invisible to every method at once, even if the
// backend deletes them later.
type Store interface {
	// Get returns the live item under key, or ErrNotFound.
	Get(ctx context.Context, key string) (*Item, error)
	// Put writes value under key and returns the new version.
	Put(ctx context.Context, key string, value []byte, opts PutOptions) (int64, error)
	// Delete removes the item under key. With ifVersion zero the delete
	// is unconditional and deleting a missing key is not an error;
	// otherwise it fails with ErrConflict unless the live item has
	// version ifVersion.
	Delete(ctx context.Context, key string, ifVersion int64) error
}

// CheckPut validates a Put's arguments against the limits every Store
// enforces. Implementations call it first.
func CheckPut(key string, value []byte, opts PutOptions) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(value), MaxValueBytes)
	}
	if opts.IfAbsent && opts.IfVersion != 0 {
		panic("state: PutOptions.IfAbsent and IfVersion are exclusive")
	}
	if opts.IfVersion < 0 || opts.TTL < 0 {
		return fmt.Errorf("state: negative IfVersion or TTL")
	}
	return nil
}

// CheckKey validates a key.
func CheckKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyBytes:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidKey, len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidKey)
	}
	return nil
}
