package stdio_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/mcplambda/mcplambda"
	"github.com/mcplambda/mcplambda/identity"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/stdio"
)

// spawn makes the echo server behind h start a sleeping grandchild in its
// process group, and returns the grandchild's pid.
func spawn(t *testing.T, h lambda.Handler, ctx context.Context, ignoreSIGTERM bool) int {
	t.Helper()
	pid, err := strconv.Atoi(toolText(t, invoke(t, h, ctx, callTool(1, "spawn", map[string]bool{"ignoreSIGTERM": ignoreSIGTERM}))))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestGrandchildren: whatever ends a server process, the processes it
// started in its process group end with it.
func TestGrandchildren(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name string
		opts stdio.ProxyOptions
		// end ends the server process that spawned the grandchild.
		end func(t *testing.T, p *stdio.Proxy, h lambda.Handler, who *principal)
		// ignoreSIGTERM makes the grandchild ignore SIGTERM.
		ignoreSIGTERM bool
	}{
		{name: "close", end: func(t *testing.T, p *stdio.Proxy, _ lambda.Handler, _ *principal) { p.Close() }},
		{name: "close, grandchild ignores SIGTERM", ignoreSIGTERM: true,
			end: func(t *testing.T, p *stdio.Proxy, _ lambda.Handler, _ *principal) { p.Close() }},
		{name: "crash", end: func(t *testing.T, _ *stdio.Proxy, h lambda.Handler, _ *principal) {
			// No request follows: the crash alone must end the group.
			if r := invoke(t, h, ctx, callTool(2, "crash", nil)); r.Error == nil {
				t.Errorf("crash: %s, want an error", r.Result)
			}
		}},
		{name: "exit while idle", end: func(t *testing.T, _ *stdio.Proxy, h lambda.Handler, _ *principal) {
			// It answers, then exits; no request follows.
			if got := toolText(t, invoke(t, h, ctx, callTool(2, "exit_soon", nil))); got != "exiting" {
				t.Errorf("exit_soon = %q", got)
			}
		}},
		{name: "hang", opts: stdio.ProxyOptions{DeadlineMargin: 100 * time.Millisecond},
			end: func(t *testing.T, _ *stdio.Proxy, h lambda.Handler, _ *principal) {
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				defer cancel()
				if r := invoke(t, h, cctx, callTool(2, "hang", nil)); r.Error == nil {
					t.Errorf("hang: %s, want an error", r.Result)
				}
			}},
		{name: "per request", opts: stdio.ProxyOptions{Isolation: stdio.PerRequest},
			end: func(*testing.T, *stdio.Proxy, lambda.Handler, *principal) {}}, // the request that spawned it ended
		{name: "new principal", opts: stdio.ProxyOptions{Isolation: stdio.PerPrincipal},
			end: func(t *testing.T, _ *stdio.Proxy, h lambda.Handler, who *principal) {
				who.set("bob")
				toolText(t, invoke(t, h, ctx, callTool(2, "echo", map[string]string{"message": "bob"})))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			who := &principal{name: "alice"}
			p, _ := newProxy(t, &tt.opts)
			// The caller is who says, as a trusted front door would report it.
			inner := mcplambda.NewHandler(p.Server(), nil)
			h := mcplambda.NewLambdaHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx := identity.WithFrontDoor(r.Context(), &identity.Identity{Principal: who.get(), Source: identity.SourceIAM})
				inner.ServeHTTP(w, r.WithContext(ctx))
			}), nil)
			pid := spawn(t, h, ctx, tt.ignoreSIGTERM)
			tt.end(t, p, h, who)
			testtools.WaitGone(t, pid, "the server's grandchild")
		})
	}
}

// principal is a settable caller identity for PerPrincipal isolation.
type principal struct {
	mu   sync.Mutex
	name string
}

func (p *principal) get() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name
}

func (p *principal) set(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.name = name
}
