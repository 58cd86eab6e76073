package mcplambda

import (
	"context"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
)

func TestServe(t *testing.T) {
	o := withDefaults(&Options{Addr: "127.0.0.1:0"})
	h := NewHandler(newTestServer(t, nil), &o)
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, h, &o, func(u string) { urls <- u }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/mcp") {
		t.Errorf("ready URL = %q, want http://127.0.0.1:PORT/mcp", url)
	}
	resp, err := http.Post(url, "application/json", strings.NewReader(callBody("echo", echoIn{Text: "x"})))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("POST %s = %d, want 200", url, resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("serve after cancel = %v, want nil", err)
	}
}

func TestServeAddrInUse(t *testing.T) {
	o := withDefaults(&Options{Addr: "127.0.0.1:0"})
	h := NewHandler(newTestServer(t, nil), &o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	go serve(ctx, h, &o, func(u string) { urls <- u })
	url := <-urls
	o2 := o
	o2.Addr = strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/mcp")
	if err := serve(ctx, h, &o2, func(string) {}); err == nil {
		t.Errorf("serve on a busy address = nil, want an error")
	}
}

func TestTuneGC(t *testing.T) {
	prevLimit, prevGC := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	defer func() { debug.SetMemoryLimit(prevLimit); debug.SetGCPercent(prevGC) }()

	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	tuneGC()
	if got, want := debug.SetMemoryLimit(-1), int64(384<<20); got != want {
		t.Errorf("memory limit = %d, want %d", got, want)
	}
	if got := debug.SetGCPercent(100); got != 200 {
		t.Errorf("GC percent = %d, want 200", got)
	}

	// The user's settings win.
	debug.SetMemoryLimit(prevLimit)
	t.Setenv("GOMEMLIMIT", "100MiB")
	tuneGC()
	if got := debug.SetMemoryLimit(-1); got != prevLimit {
		t.Errorf("with GOMEMLIMIT set, memory limit = %d, want unchanged %d", got, prevLimit)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOMEMLIMIT set, GC percent = %d, want unchanged 100", got)
	}
}

// TestServeDefaultPortInUse: with no Addr, the port comes from PORT, and a
// busy one is an error that says how to pick another.
func TestServeDefaultPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, port, _ := net.SplitHostPort(busy.Addr().String())
	t.Setenv("PORT", port)
	o := withDefaults(nil)
	err = serve(context.Background(), NewHandler(newTestServer(t, nil), &o), &o, func(string) {})
	if err == nil || !strings.Contains(err.Error(), "PORT=0 picks a free one") {
		t.Errorf("serve with PORT=%s busy = %v, want an error saying how to pick another port", port, err)
	}
}
