package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/mcplambda/mcplambda/identity"
)

// Errors of [App].
var (
	// ErrNoScope: the request has neither a session nor an authenticated
	// principal, so there is nobody to keep state for. Anonymous callers
	// never share state.
	ErrNoScope = errors.New("state: no session or authenticated principal for app state")
	// ErrInvalidName: an app state name is empty, too long or not UTF-8.
	ErrInvalidName = errors.New("state: invalid app state name")
)

// Defaults of [AppOptions].
const (
	DefaultAppMaxValueBytes = 16 << 10
	DefaultAppMaxRetries    = 10
	maxNameBytes            = 256
)

// AppOptions configures [NewApp]. A nil *AppOptions means defaults.
type AppOptions struct {
	// MaxValueBytes limits the JSON encoding of one value. If zero,
	// DefaultAppMaxValueBytes (16 KiB); it cannot exceed MaxValueBytes.
	MaxValueBytes int
	// TTL, if positive, makes every value expire TTL after its last write.
	// Zero means values of a principal never expire; values of a legacy
	// session expire at most Session.TTL after their last write.
	TTL time.Duration
	// MaxRetries bounds the compare-and-swap attempts of [Update] under
	// contention. If zero, DefaultAppMaxRetries.
	MaxRetries int
}

// App is small JSON state for tool authors, scoped to the caller: to the
// legacy MCP session when the request belongs to one (see [WithSession]),
// else to the authenticated principal. One caller can never read or
// change another's values. Safe for concurrent use.
//
//	app := state.NewApp(store, nil)
//	// in a tool handler:
//	n, err := state.Update(ctx, app, "visits", func(n *int) error { *n++; return nil })
type App struct {
	store      Store
	maxBytes   int
	ttl        time.Duration
	maxRetries int
}

// NewApp returns app state kept in store.
func NewApp(store Store, opts *AppOptions) *App {
	a := &App{store: store, maxBytes: DefaultAppMaxValueBytes, maxRetries: DefaultAppMaxRetries}
	if opts != nil {
		if opts.MaxValueBytes > 0 {
			a.maxBytes = min(opts.MaxValueBytes, MaxValueBytes)
		}
		if opts.MaxRetries > 0 {
			a.maxRetries = opts.MaxRetries
		}
		a.ttl = opts.TTL
	}
	return a
}

type sessionKey struct{}

// Session is the legacy MCP session a request belongs to, put in the
// request's context by mcplambda's stateful mode.
type Session struct {
	// ID is the Mcp-Session-Id.
	ID string
	// TTL is the session's idle timeout: app state written in the session
	// expires this long after its last write. Zero means never.
	TTL time.Duration
}

// WithSession returns ctx carrying s; app state in ctx is then the session's.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFromContext returns the legacy session of the request in ctx.
func SessionFromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok && s != nil
}

// key returns the store key of name for the caller in ctx, and the TTL of
// its writes.
func (a *App) key(ctx context.Context, name string) (string, time.Duration, error) {
	if name == "" || len(name) > maxNameBytes || !utf8.ValidString(name) {
		return "", 0, fmt.Errorf("%w: %q (1 to %d bytes of UTF-8)", ErrInvalidName, name, maxNameBytes)
	}
	var scope string
	ttl := a.ttl
	if s, ok := SessionFromContext(ctx); ok {
		scope = "s:" + s.ID
		if s.TTL > 0 && (ttl == 0 || s.TTL < ttl) {
			ttl = s.TTL
		}
	} else if p := identity.Principal(ctx); p != "" {
		scope = "p:" + p
	} else {
		return "", 0, ErrNoScope
	}
	// Hash the scope: principals may be long and hold any character, and
	// a fixed-length hash keeps scope and name apart unambiguously.
	h := sha256.Sum256([]byte(scope))
	return "app/" + hex.EncodeToString(h[:]) + "/" + name, ttl, nil
}

// Get decodes the caller's value name into v, or returns ErrNotFound.
func (a *App) Get(ctx context.Context, name string, v any) error {
	_, err := a.get(ctx, name, v)
	return err
}

func (a *App) get(ctx context.Context, name string, v any) (int64, error) {
	key, _, err := a.key(ctx, name)
	if err != nil {
		return 0, err
	}
	it, err := a.store.Get(ctx, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(it.Value, v); err != nil {
		return 0, fmt.Errorf("state: decoding app state %q: %w", name, err)
	}
	return it.Version, nil
}

// Put sets the caller's value name to v, encoded as JSON.
func (a *App) Put(ctx context.Context, name string, v any) error {
	key, ttl, err := a.key(ctx, name)
	if err != nil {
		return err
	}
	b, err := a.encode(name, v)
	if err != nil {
		return err
	}
	_, err = a.store.Put(ctx, key, b, PutOptions{TTL: ttl})
	return err
}

// Delete removes the caller's value name; deleting a missing value is not
// an error.
func (a *App) Delete(ctx context.Context, name string) error {
	key, _, err := a.key(ctx, name)
	if err != nil {
		return err
	}
	return a.store.Delete(ctx, key, 0)
}

func (a *App) encode(name string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("state: encoding app state %q: %w", name, err)
	}
	if len(b) > a.maxBytes {
		return nil, fmt.Errorf("%w: app state %q is %d bytes of JSON, limit %d", ErrTooLarge, name, len(b), a.maxBytes)
	}
	return b, nil
}

// Update changes the caller's value name atomically: it reads the value
// into a T (the zero T when there is none), calls f to change it, and
// writes it back only if nobody else wrote in between, retrying from the
// read otherwise (compare-and-swap; f may run more than once, so it must
// have no other effects). An error from f aborts the update and is
// returned. After AppOptions.MaxRetries lost races Update returns
// ErrConflict. It returns the value written.
func Update[T any](ctx context.Context, a *App, name string, f func(v *T) error) (T, error) {
	var zero T
	key, ttl, err := a.key(ctx, name)
	if err != nil {
		return zero, err
	}
	for range a.maxRetries {
		var v T
		opts := PutOptions{TTL: ttl, IfAbsent: true}
		it, err := a.store.Get(ctx, key)
		switch {
		case err == nil:
			if err := json.Unmarshal(it.Value, &v); err != nil {
				return zero, fmt.Errorf("state: decoding app state %q: %w", name, err)
			}
			opts = PutOptions{TTL: ttl, IfVersion: it.Version}
		case !errors.Is(err, ErrNotFound):
			return zero, err
		}
		if err := f(&v); err != nil {
			return zero, err
		}
		b, err := a.encode(name, v)
		if err != nil {
			return zero, err
		}
		_, err = a.store.Put(ctx, key, b, opts)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrConflict) {
			return zero, err
		}
	}
	return zero, fmt.Errorf("%w: app state %q: still contended after %d attempts", ErrConflict, name, a.maxRetries)
}
