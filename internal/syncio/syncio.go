// Package syncio has the small concurrency-safe I/O helpers that several
// mcplambda packages need: a writer whose writes do not interleave, and a
// buffer that tests can read while processes write to it.
package syncio

import (
	"bytes"
	"context"
	"io"
	"sync"
)

// Writer serialises writes to an underlying writer, so that lines written
// by concurrent goroutines (child processes' output relays, loggers) do not
// interleave. It is safe for concurrent use.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (l *Writer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Buffer is a bytes.Buffer that is safe for concurrent use, and that a
// reader can wait on ([Buffer.Wait]). The zero value is an empty buffer.
type Buffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed by the next Write; nil when nobody waits
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

// Wait blocks until cond holds for the contents written so far (checked
// now and after every Write) or ctx ends. It returns the contents last
// checked, and ctx's error if cond never held.
func (b *Buffer) Wait(ctx context.Context, cond func(string) bool) (string, error) {
	for {
		b.mu.Lock()
		s := b.buf.String()
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		if cond(s) {
			return s, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
}

// String returns the contents written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Reset empties the buffer.
func (b *Buffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}
