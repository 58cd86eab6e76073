package mcpproxy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mcplambda/mcplambda/internal/mcpproxy"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// inMemory returns a transport factory to remote.
func inMemory(t *testing.T, remote *mcp.Server) func() mcp.Transport {
	return func() mcp.Transport {
		ct, st := mcp.NewInMemoryTransports()
		if _, err := remote.Connect(context.Background(), st, nil); err != nil {
			t.Error(err)
		}
		return ct
	}
}

// TestNamespacedSubscriptions: with several backends, a subscription to a
// namespaced URI reaches the backend that owns it, under its own URI, and
// its resources/updated notifications come back namespaced, whatever the
// backend's era.
func TestNamespacedSubscriptions(t *testing.T) {
	ctx := context.Background()
	a, b := newRemote(), newRemote()
	p := mcpproxy.New(&mcpproxy.Options{Backends: []mcpproxy.Backend{
		{Name: "a", Prefix: "a", Transport: inMemory(t, a), ProtocolVersion: older},
		{Name: "b", Prefix: "b", Transport: inMemory(t, b), ProtocolVersion: newer},
	}})
	defer p.Close()
	if st, err := p.Start(ctx); err != nil || st[0].Err != nil || st[1].Err != nil || st[0].ProtocolVersion != older || st[1].ProtocolVersion != newer {
		t.Fatalf("Start = %+v, %v", st, err)
	}
	updated := make(chan string, 10)
	ct, st := mcp.NewInMemoryTransports()
	if _, err := p.Server().Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "local"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) { updated <- r.Params.URI },
	}).Connect(ctx, ct, &mcp.ClientSessionOptions{ProtocolVersion: older})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if !cs.InitializeResult().Capabilities.Resources.Subscribe {
		t.Errorf("capabilities %+v: want resources with subscribe, as the backends connected have", cs.InitializeResult().Capabilities.Resources)
	}
	if err := cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "a+test://watched"}); err != nil {
		t.Fatal(err)
	}
	a.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: "test://watched"})
	if got := receive(t, "resources/updated", updated); got != "a+test://watched" {
		t.Errorf("resources/updated for %q, want a+test://watched", got)
	}
	res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "b+test://watched"})
	if err != nil || res.Contents[0].URI != "b+test://watched" || res.Contents[0].Text != "watched" {
		t.Errorf("ReadResource(b+test://watched) = %+v, %v", res, err)
	}
}

// TestNewBackends: the rules of Options.Backends are a programmer's to
// keep; New panics when they are broken.
func TestNewBackends(t *testing.T) {
	tr := func() mcp.Transport { return nil }
	for _, tt := range []struct {
		name     string
		backends []mcpproxy.Backend
		want     string
	}{
		{"none", nil, "Options.Transport or Options.Backends is required"},
		{"no transport", []mcpproxy.Backend{{Name: "a"}}, `backend 0 ("a") has no Transport`},
		{"no name", []mcpproxy.Backend{{Name: "a", Prefix: "a", Transport: tr}, {Prefix: "b", Transport: tr}}, "backend 1 has no Name"},
		{"same name", []mcpproxy.Backend{{Name: "a", Prefix: "a", Transport: tr}, {Name: "a", Prefix: "b", Transport: tr}}, `two backends named "a"`},
		{"bad prefix", []mcpproxy.Backend{{Name: "a", Prefix: "A_1", Transport: tr}}, `invalid prefix "A_1"`},
		{"same prefix", []mcpproxy.Backend{{Name: "a", Prefix: "x", Transport: tr}, {Name: "b", Prefix: "x", Transport: tr}}, `two backends with prefix "x"`},
		{"two without", []mcpproxy.Backend{{Name: "a", Transport: tr}, {Name: "b", Transport: tr}}, `backends "a" and "b" both have no prefix`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if got := fmt.Sprint(recover()); !strings.Contains(got, tt.want) {
					t.Errorf("New(%s) panics with %q, want %q", tt.name, got, tt.want)
				}
			}()
			mcpproxy.New(&mcpproxy.Options{Backends: tt.backends})
		})
	}
}

func TestValidPrefix(t *testing.T) {
	for p, want := range map[string]bool{"time": true, "a-1": true, "x": true, strings.Repeat("a", 32): true,
		"": false, "1a": false, "A": false, "a_b": false, "a+b": false, "-a": false, strings.Repeat("a", 33): false} {
		if got := mcpproxy.ValidPrefix(p); got != want {
			t.Errorf("ValidPrefix(%q) = %v, want %v", p, got, want)
		}
	}
}
