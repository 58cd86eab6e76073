package mcplambda

import (
	"context"
	"net/http"
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
