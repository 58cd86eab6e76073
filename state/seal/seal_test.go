package seal_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/identity"

	"github.com/mcplambda/mcplambda/state"
	"github.com/mcplambda/mcplambda/state/seal"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// as is the context of a request by principal p ("" for anonymous), as a
// trusted front door would leave it.
func as(p string) context.Context {
	return identity.WithFrontDoor(context.Background(), &identity.Identity{Principal: p, Source: identity.SourceIAM})
}

func key(id string, fill byte) seal.Key {
	return seal.Key{ID: id, Secret: []byte(strings.Repeat(string(rune(fill)), seal.KeySize))}
}

func call(name, args string) *mcp.CallToolRequest {
	return &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: name, Arguments: json.RawMessage(args)}}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newSealer(keys seal.KeySource, c *clock, opts *seal.Options) *seal.Sealer {
	if opts == nil {
		opts = &seal.Options{}
	}
	opts.Now = c.now
	opts.KeyCacheTime = time.Nanosecond
	return seal.New(keys, opts)
}

func TestSealOpen(t *testing.T) {
	c := &clock{time.Now()}
	s := newSealer(seal.StaticKeys(key("k1", 'a')), c, nil)
	alice := as("https://issuer#alice")
	req := call("book", `{"from":"LHR","to":"CDG"}`)
	sealed, err := s.Seal(alice, req, []byte("round=2;seat=12A"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "seat") || strings.Contains(sealed, base64.RawURLEncoding.EncodeToString([]byte("round=2"))) {
		t.Errorf("sealed state %q shows its payload", sealed)
	}
	// The same arguments, serialized differently, still match.
	got, err := s.Open(alice, call("book", `{ "to": "CDG", "from": "LHR" }`), sealed)
	if err != nil || string(got) != "round=2;seat=12A" {
		t.Fatalf("Open = %q, %v; want the payload", got, err)
	}
	// Empty, null and absent arguments are the same.
	empty, _ := s.Seal(alice, call("t", ""), nil)
	if _, err := s.Open(alice, call("t", "null"), empty); err != nil {
		t.Errorf("Open(null arguments) of state sealed with none: %v", err)
	}

	tamper := func(st string, i int) string {
		b := []byte(st)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	prompt := &mcp.GetPromptRequest{Params: &mcp.GetPromptParams{Name: "book"}}
	tests := []struct {
		name  string
		ctx   context.Context
		req   mcp.Request
		state string
		want  error
	}{
		{"another principal", as("https://issuer#bob"), req, sealed, seal.ErrTampered},
		{"anonymous", context.Background(), req, sealed, seal.ErrTampered},
		{"another tool", alice, call("cancel", `{"from":"LHR","to":"CDG"}`), sealed, seal.ErrTampered},
		{"other arguments", alice, call("book", `{"from":"LHR","to":"JFK"}`), sealed, seal.ErrTampered},
		{"another method", alice, prompt, sealed, seal.ErrTampered},
		{"suffix", alice, req, sealed + "-TAMPERED", seal.ErrTampered},
		{"flipped early", alice, req, tamper(sealed, 5), seal.ErrTampered},
		{"flipped middle", alice, req, tamper(sealed, len(sealed)/2), seal.ErrTampered},
		{"flipped last", alice, req, tamper(sealed, len(sealed)-1), seal.ErrTampered},
		{"truncated", alice, req, sealed[:len(sealed)-10], seal.ErrTampered},
		{"empty", alice, req, "", seal.ErrTampered},
		{"other version", alice, req, "v2." + strings.TrimPrefix(sealed, "v1."), seal.ErrTampered},
		{"not base64", alice, req, "v1.!!!", seal.ErrTampered},
		{"id length past the end", alice, req, "v1." + base64.RawURLEncoding.EncodeToString([]byte{200, 'k'}), seal.ErrTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Open(tt.ctx, tt.req, tt.state)
			if !errors.Is(err, tt.want) || !errors.Is(err, seal.ErrRejected) {
				t.Errorf("Open = %q, %v; want %v and ErrRejected", got, err, tt.want)
			}
		})
	}
	other := newSealer(seal.StaticKeys(key("k1", 'b')), c, nil)
	if _, err := other.Open(alice, req, sealed); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("Open with another secret under the same key id: %v, want ErrTampered", err)
	}
}

func TestExpiry(t *testing.T) {
	c := &clock{time.Now()}
	s := newSealer(seal.StaticKeys(key("k1", 'a')), c, &seal.Options{TTL: time.Minute})
	req := call("t", "{}")
	sealed, _ := s.Seal(as("a"), req, []byte("x"))
	c.t = c.t.Add(50 * time.Second)
	if _, err := s.Open(as("a"), req, sealed); err != nil {
		t.Fatalf("Open before expiry: %v", err)
	}
	c.t = c.t.Add(11 * time.Second)
	if _, err := s.Open(as("a"), req, sealed); !errors.Is(err, seal.ErrExpired) {
		t.Errorf("Open after expiry: %v, want ErrExpired", err)
	}
}

func TestSingleUse(t *testing.T) {
	c := &clock{time.Now()}
	used := state.NewMemory(&state.MemoryOptions{Now: c.now})
	// Two sealers sharing keys and a store: two Lambda instances.
	s1 := newSealer(seal.StaticKeys(key("k1", 'a')), c, &seal.Options{SingleUse: used})
	s2 := newSealer(seal.StaticKeys(key("k1", 'a')), c, &seal.Options{SingleUse: used})
	req := call("t", "{}")
	sealed, _ := s1.Seal(as("a"), req, []byte("x"))
	if _, err := s2.Open(as("a"), req, sealed); err != nil {
		t.Fatalf("first Open: %v", err)
	}
	if _, err := s1.Open(as("a"), req, sealed); !errors.Is(err, seal.ErrReplayed) {
		t.Errorf("second Open: %v, want ErrReplayed", err)
	}
	// A foreign principal's attempt does not burn the state.
	sealed2, _ := s1.Seal(as("a"), req, []byte("y"))
	if _, err := s1.Open(as("b"), req, sealed2); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("Open by b: %v, want ErrTampered", err)
	}
	if _, err := s1.Open(as("a"), req, sealed2); err != nil {
		t.Errorf("Open by a after b's attempt: %v", err)
	}
}

func TestRotation(t *testing.T) {
	c := &clock{time.Now()}
	old, cur := key("old", 'o'), key("new", 'n')
	ring := &seal.KeyRing{Current: old}
	source := func(context.Context) (*seal.KeyRing, error) { r := *ring; return &r, nil }
	s := newSealer(source, c, &seal.Options{TTL: time.Hour, Grace: 10 * time.Minute})
	req := call("t", "{}")
	sealedOld, _ := s.Seal(as("a"), req, []byte("old"))

	// Rotate: the old key is retired now.
	retired := old
	retired.Retired = c.t
	ring = &seal.KeyRing{Current: cur, Previous: []seal.Key{retired}}
	c.t = c.t.Add(time.Second)
	sealedNew, _ := s.Seal(as("a"), req, []byte("new"))
	if !strings.HasPrefix(sealedNew, "v1.") {
		t.Fatal(sealedNew)
	}
	for _, st := range []string{sealedOld, sealedNew} {
		if _, err := s.Open(as("a"), req, st); err != nil {
			t.Errorf("Open during the grace period: %v", err)
		}
	}
	c.t = c.t.Add(10 * time.Minute)
	if _, err := s.Open(as("a"), req, sealedOld); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("Open with the old key after the grace period: %v, want ErrTampered (retired key)", err)
	}
	if _, err := s.Open(as("a"), req, sealedNew); err != nil {
		t.Errorf("Open with the new key: %v", err)
	}
	// Removing the old key entirely also rejects it.
	ring = &seal.KeyRing{Current: cur}
	if _, err := s.Open(as("a"), req, sealedOld); !errors.Is(err, seal.ErrRejected) {
		t.Errorf("Open with a removed key: %v, want ErrRejected", err)
	}
}

func TestKeySourceFailure(t *testing.T) {
	c := &clock{time.Now()}
	fail := errors.New("secrets unavailable")
	calls := 0
	source := func(context.Context) (*seal.KeyRing, error) {
		calls++
		if calls == 1 {
			return &seal.KeyRing{Current: key("k", 'k')}, nil
		}
		return nil, fail
	}
	s := newSealer(source, c, nil)
	req := call("t", "{}")
	sealed, err := s.Seal(as("a"), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Second)
	if _, err := s.Open(as("a"), req, sealed); err != nil {
		t.Errorf("Open while the source fails, with cached keys: %v", err)
	}
	broken := newSealer(func(context.Context) (*seal.KeyRing, error) { return nil, fail }, c, nil)
	if _, err := broken.Seal(as("a"), req, nil); !errors.Is(err, fail) || errors.Is(err, seal.ErrRejected) {
		t.Errorf("Seal without keys: %v, want the source's error (not a rejection)", err)
	}
	bad := newSealer(func(context.Context) (*seal.KeyRing, error) {
		return &seal.KeyRing{Current: seal.Key{ID: "short", Secret: []byte("123")}}, nil
	}, c, nil)
	if _, err := bad.Seal(as("a"), req, nil); err == nil || !strings.Contains(err.Error(), "want 32") {
		t.Errorf("Seal with a short key: %v, want a key size error", err)
	}
}

func TestSealLimits(t *testing.T) {
	c := &clock{time.Now()}
	s := newSealer(seal.StaticKeys(key("k1", 'a')), c, nil)
	if _, err := s.Seal(as("a"), call("t", "{}"), make([]byte, seal.MaxPayloadBytes+1)); !errors.Is(err, seal.ErrTooLarge) {
		t.Errorf("Seal(too large) = %v, want ErrTooLarge", err)
	}
	if _, err := s.Seal(as("a"), &mcp.ListToolsRequest{Params: &mcp.ListToolsParams{}}, nil); !errors.Is(err, seal.ErrUnsupportedRequest) {
		t.Errorf("Seal(tools/list) = %v, want ErrUnsupportedRequest", err)
	}
	res := &mcp.ReadResourceRequest{Params: &mcp.ReadResourceParams{URI: "file:///a"}}
	sealed, err := s.Seal(as("a"), res, []byte("r"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(as("a"), &mcp.ReadResourceRequest{Params: &mcp.ReadResourceParams{URI: "file:///b"}}, sealed); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("Open for another resource: %v, want ErrTampered", err)
	}
}

func TestEnvKeys(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("1", 32)))
	k2 := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("2", 32)))
	tests := []struct {
		value   string
		wantErr string
	}{
		{"", "not set"},
		{"k1:" + k1, ""},
		{"k1:" + k1 + ",k0:" + k2 + "@2026-11-01T00:00:00Z", ""},
		{"k1", "want id:base64secret"},
		{"k1:c2hvcnQ=", "want 32"},
		{"k1:!!!", "not base64"},
		{"k1:" + k1 + "@2026-11-01T00:00:00Z", "cannot be retired"},
		{"k1:" + k1 + ",k0:" + k2 + "@yesterday", "retired time"},
	}
	for _, tt := range tests {
		t.Setenv("TEST_SEAL_KEYS", tt.value)
		src, err := seal.EnvKeys("TEST_SEAL_KEYS")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("EnvKeys(%q) error = %v, want %q", tt.value, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("EnvKeys(%q) error = %v", tt.value, err)
			continue
		}
		ring, _ := src(context.Background())
		if ring.Current.ID != "k1" || string(ring.Current.Secret) != strings.Repeat("1", 32) {
			t.Errorf("EnvKeys(%q) current = %+v", tt.value, ring.Current)
		}
	}
}
