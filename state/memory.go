package state

import (
	"context"
	"sync"
	"time"
)

// MemoryOptions configures [NewMemory]. A nil *MemoryOptions means defaults.
type MemoryOptions struct {
	// Now returns the current time, for expiry. If nil, time.Now is used.
	Now func() time.Time
}

// Memory is a [Store] in process memory, for tests and for local serving
// by a single process. Its contents are lost when the process ends and are
// not shared with other processes or Lambda instances: use [Dir] for
// processes on one machine (`mcplambda dev`), package dynamo for Lambda.
// Safe for concurrent use.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	items   map[string]*memItem // guarded by mu
	version int64               // guarded by mu; last version handed out
}

type memItem struct {
	value   []byte
	version int64
	expires time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory(opts *MemoryOptions) *Memory {
	m := &Memory{now: time.Now, items: make(map[string]*memItem)}
	if opts != nil && opts.Now != nil {
		m.now = opts.Now
	}
	return m
}

// live returns the unexpired item under key; mu must be held.
func (m *Memory) live(key string) *memItem {
	it := m.items[key]
	if it == nil {
		return nil
	}
	if !it.expires.IsZero() && !m.now().Before(it.expires) {
		delete(m.items, key)
		return nil
	}
	return it
}

// Get implements [Store].
func (m *Memory) Get(ctx context.Context, key string) (*Item, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.live(key)
	if it == nil {
		return nil, ErrNotFound
	}
	return &Item{Value: append([]byte{}, it.value...), Version: it.version, Expires: it.expires}, nil
}

// Put implements [Store].
func (m *Memory) Put(ctx context.Context, key string, value []byte, opts PutOptions) (int64, error) {
	if err := CheckPut(key, value, opts); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.live(key)
	switch {
	case opts.IfAbsent && it != nil:
		return 0, ErrConflict
	case opts.IfVersion != 0 && (it == nil || it.version != opts.IfVersion):
		return 0, ErrConflict
	}
	m.version++
	n := &memItem{value: append([]byte(nil), value...), version: m.version}
	if opts.TTL > 0 {
		n.expires = m.now().Add(opts.TTL)
	}
	m.items[key] = n
	return n.version, nil
}

// Delete implements [Store].
func (m *Memory) Delete(ctx context.Context, key string, ifVersion int64) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.live(key)
	if ifVersion != 0 && (it == nil || it.version != ifVersion) {
		return ErrConflict
	}
	delete(m.items, key)
	return nil
}
