package lambdatest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/syncio"
)

// binDir holds the testdata bootstraps, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdatest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", dir+string(filepath.Separator),
		"./testdata/behave", "./testdata/httpecho", "./testdata/initfail")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building test bootstraps:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bootstrap returns the path of a testdata bootstrap.
func bootstrap(name string) string { return filepath.Join(binDir, name) }

type syncBuffer = syncio.Buffer

// newFunction starts a Function for the named bootstrap, closed at the end
// of the test. Instance output goes to the test log unless opts says
// otherwise.
func newFunction(t *testing.T, name string, opts *Options) *Function {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Stdout == nil && o.Stderr == nil {
		out := &syncBuffer{}
		o.Stdout, o.Stderr = out, out
		t.Cleanup(func() {
			if t.Failed() && out.String() != "" {
				t.Logf("instance output:\n%s", out.String())
			}
		})
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	f, err := NewFunction(bootstrap(name), &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return f
}

// invoke invokes f with req marshalled to JSON and fails the test on an
// emulator error.
func invoke(t *testing.T, f *Function, req any) *Response {
	t.Helper()
	payload, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke(%s) error = %v", payload, err)
	}
	return resp
}

// decode unmarshals a buffered response payload into a new T.
func decode[T any](t *testing.T, resp *Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(resp.Payload, &v); err != nil {
		t.Fatalf("response payload %q: %v", resp.Payload, err)
	}
	return v
}

// lambdaError is Lambda's error document.
type lambdaError struct {
	Message string `json:"errorMessage"`
	Type    string `json:"errorType"`
}

// gate is an HTTP endpoint that test functions call to wait for the test:
// each request signals arrived, then waits for a token on release (or for
// release to be closed).
type gate struct {
	URL     string
	arrived chan struct{}
	release chan struct{}
}

func newGate(t *testing.T) *gate {
	g := &gate{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.arrived <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done():
		}
	}))
	g.URL = srv.URL
	// Registered before the functions' Close, so it runs after it.
	t.Cleanup(srv.Close)
	t.Cleanup(g.open)
	return g
}

// open releases every waiting and future request.
func (g *gate) open() {
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

// wait waits for n arrivals, failing the test after a generous bound.
func (g *gate) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for range n {
		select {
		case <-g.arrived:
		case <-timeout:
			t.Fatal("timed out waiting for the function to reach the gate")
		}
	}
}
