// Package emulatortest runs a Lambda bootstrap under either of two
// emulators behind one interface, so that one contract suite checks our
// emulator, package [github.com/mcplambda/mcplambda/lambdatest], against
// AWS's own Lambda Runtime Interface Emulator (aws-lambda-rie, from the Go
// module github.com/aws/aws-lambda-runtime-interface-emulator, found
// through [testtools.RIE]). The suite is this package's contract_test.go;
// it lists every difference found between the two and what was done about
// it.
//
// Quick start, in a test:
//
//	for _, em := range emulatortest.Emulators {
//		fn := em.Start(t, "./bootstrap", &emulatortest.Config{Timeout: 3 * time.Second})
//		resp, err := fn.Invoke(ctx, []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
//		srv := httptest.NewServer(lambdatest.NewFrontDoor(fn, lambdatest.FunctionURL, nil))
//	}
//
// The RIE serves one invocation at a time (a second concurrent one makes
// it panic), so [Function.Invoke] queues invocations for it; it has no
// response streaming, no Invoke API beyond its one invocation route, and
// no pool of instances.
package emulatortest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/mcplambda/mcplambda/lambdatest"
)

// Config configures a function. The zero value of every field is a usable
// default.
type Config struct {
	// Env holds KEY=VALUE pairs for the function.
	Env []string
	// Args are the bootstrap's arguments.
	Args []string
	// Timeout is the function timeout, whole seconds (the RIE takes
	// seconds). 0 means 3s.
	Timeout time.Duration
	// SelfInvoke gives the function what it needs to invoke itself
	// asynchronously, as package tasks/lambdaexec does to run a task: a
	// state directory (MCPLAMBDA_STATE_DIR) and, under lambdatest, an
	// Invoke API (AWS_ENDPOINT_URL_LAMBDA, local credentials) and 4
	// instances. The RIE has no asynchronous invocations and serves one
	// invocation at a time: its function gets an Invoke API endpoint
	// that refuses connections, so that a self-invocation fails at once.
	SelfInvoke bool
}

// selfInvokeEnv is the environment of a function with Config.SelfInvoke:
// a state directory, and the Invoke API at endpoint.
func selfInvokeEnv(t testing.TB, endpoint string) []string {
	return []string{
		"MCPLAMBDA_STATE_DIR=" + t.TempDir(),
		"AWS_ENDPOINT_URL_LAMBDA=" + endpoint,
		"AWS_ACCESS_KEY_ID=emulatortest",
		"AWS_SECRET_ACCESS_KEY=emulatortest",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Function is a function running under one of the [Emulators].
type Function interface {
	lambdatest.Invoker
	// InvokeWith invokes with a client context (JSON), as the Invoke API's
	// X-Amz-Client-Context carries it.
	InvokeWith(ctx context.Context, payload []byte, clientContext string) (*lambdatest.Response, error)
	// Close shuts the function down the way the emulator does (SIGTERM to
	// the runtime, then SIGKILL) and waits for it.
	Close() error
	// Output is what the function (and the emulator) printed so far.
	Output() string
}

// An Emulator runs bootstraps.
type Emulator interface {
	Name() string
	// Start runs bootstrap under the emulator until the end of the test.
	Start(t testing.TB, bootstrap string, cfg *Config) Function
}

// Emulators are the two emulators the contract suite runs against.
var Emulators = []Emulator{Lambdatest{}, RIE{}}

func timeout(cfg *Config) time.Duration {
	if cfg == nil || cfg.Timeout <= 0 {
		return 3 * time.Second
	}
	return cfg.Timeout.Round(time.Second)
}

// Lambdatest is our emulator, package lambdatest, with one instance.
type Lambdatest struct{}

func (Lambdatest) Name() string { return "lambdatest" }

func (Lambdatest) Start(t testing.TB, bootstrap string, cfg *Config) Function {
	t.Helper()
	var c Config
	if cfg != nil {
		c = *cfg
	}
	out := &syncio.Buffer{}
	opts := &lambdatest.Options{
		Timeout: timeout(cfg), Env: c.Env, Args: c.Args, Stdout: out, Stderr: out,
	}
	var invokeAPI atomic.Pointer[http.Handler] // set once the function exists, before its first invocation
	if c.SelfInvoke {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*invokeAPI.Load()).ServeHTTP(w, r) }))
		t.Cleanup(api.Close)
		opts.Env = append(selfInvokeEnv(t, api.URL), c.Env...)
		opts.Instances = 4
	}
	f, err := lambdatest.NewFunction(bootstrap, opts)
	if err != nil {
		t.Fatal(err)
	}
	api := lambdatest.NewInvokeAPI(f)
	invokeAPI.Store(&api)
	fn := &ltFunction{f: f, out: out}
	t.Cleanup(func() { fn.Close() })
	return fn
}

type ltFunction struct {
	f   *lambdatest.Function
	out *syncio.Buffer
}

func (fn *ltFunction) Invoke(ctx context.Context, payload []byte) (*lambdatest.Response, error) {
	return fn.f.Invoke(ctx, payload)
}

func (fn *ltFunction) InvokeWith(ctx context.Context, payload []byte, clientContext string) (*lambdatest.Response, error) {
	return fn.f.InvokeWith(ctx, payload, &lambdatest.InvokeOptions{ClientContext: clientContext})
}

func (fn *ltFunction) Close() error   { return fn.f.Close() }
func (fn *ltFunction) Output() string { return fn.out.String() }

// RIE is AWS's Lambda Runtime Interface Emulator, one process per
// function, listening on free 127.0.0.1 ports (never its default
// 0.0.0.0:8080).
type RIE struct{}

func (RIE) Name() string { return "rie" }

func (RIE) Start(t testing.TB, bootstrap string, cfg *Config) Function {
	t.Helper()
	var c Config
	if cfg != nil {
		c = *cfg
	}
	rie := testtools.RIE(t)
	addr, apiAddr := testtools.FreeAddr(t), testtools.FreeAddr(t)
	args := []string{"--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap}
	cmd := exec.Command(rie, append(args, c.Args...)...)
	// The RIE hands its own environment to the function: give it only
	// what Lambda would set, and the function's variables.
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(int(timeout(cfg).Seconds())),
		"AWS_LAMBDA_FUNCTION_NAME=function",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_REGION=us-east-1",
		"LOG_LEVEL=warn",
	}, c.Env...)
	if c.SelfInvoke {
		// Nothing listens on port 1 of loopback.
		cmd.Env = append(cmd.Env[:len(cmd.Env)-len(c.Env)], append(selfInvokeEnv(t, "http://127.0.0.1:1"), c.Env...)...)
	}
	out := &syncio.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fn := &rieFunction{cmd: cmd, url: "http://" + addr + "/2015-03-31/functions/function/invocations", out: out, done: make(chan struct{})}
	go func() {
		fn.waitErr = cmd.Wait()
		close(fn.done)
	}()
	t.Cleanup(func() { fn.Close() })
	// The RIE prints no ready line: dial until it listens (bounded).
	for i := 0; ; i++ {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-fn.done:
			t.Fatalf("aws-lambda-rie exited (%v):\n%s", fn.waitErr, out.String())
		default:
		}
		if i == 500 {
			t.Fatalf("aws-lambda-rie not listening on %s after 5s:\n%s", addr, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fn
}

type rieFunction struct {
	cmd     *exec.Cmd
	url     string
	out     *syncio.Buffer
	done    chan struct{}
	waitErr error // set before done is closed

	mu        sync.Mutex // one invocation at a time
	closeOnce sync.Once
}

func (fn *rieFunction) Invoke(ctx context.Context, payload []byte) (*lambdatest.Response, error) {
	return fn.InvokeWith(ctx, payload, "")
}

// InvokeWith invokes the RIE and reads its answer as a Response. The RIE
// has no X-Amz-Function-Error header: a function error is a 502, or a 200
// whose body is Lambda's error document ({"errorMessage", "errorType"}: a
// handled error) or its timeout text ("Task timed out after N.00
// seconds", which is turned into Lambda's Sandbox.Timedout document).
func (fn *rieFunction) InvokeWith(ctx context.Context, payload []byte, clientContext string) (*lambdatest.Response, error) {
	if len(payload) > lambdatest.MaxPayload {
		return nil, lambdatest.ErrRequestTooLarge // the RIE does not check
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fn.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	if clientContext != "" {
		req.Header.Set("X-Amz-Client-Context", base64.StdEncoding.EncodeToString([]byte(clientContext)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("emulatortest: aws-lambda-rie: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("emulatortest: aws-lambda-rie: %w", err)
	}
	r := &lambdatest.Response{Payload: body, ContentType: resp.Header.Get("Content-Type")}
	switch {
	case resp.StatusCode != http.StatusOK:
		r.FunctionError = "Unhandled"
	case bytes.HasPrefix(body, []byte("Task timed out after ")):
		r.FunctionError = "Unhandled"
		r.Payload, _ = json.Marshal(map[string]string{"errorType": "Sandbox.Timedout", "errorMessage": string(body)})
	case isErrorDoc(body):
		r.FunctionError = "Unhandled"
	}
	return r, nil
}

// isErrorDoc reports whether b is Lambda's error document.
func isErrorDoc(b []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(b, &doc) != nil || doc["errorType"] == nil || doc["errorMessage"] == nil {
		return false
	}
	for k := range doc {
		if k != "errorType" && k != "errorMessage" && k != "stackTrace" {
			return false
		}
	}
	return true
}

// Close sends the RIE SIGTERM, which shuts the function down (SIGTERM to
// the runtime, SIGKILL after 2s), and waits for it to exit.
func (fn *rieFunction) Close() error {
	var err error
	fn.closeOnce.Do(func() {
		_ = fn.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-fn.done:
		case <-time.After(10 * time.Second):
			_ = fn.cmd.Process.Kill()
			<-fn.done
			err = errors.New("emulatortest: aws-lambda-rie did not exit within 10s of SIGTERM")
		}
	})
	return err
}

func (fn *rieFunction) Output() string { return fn.out.String() }

// String is the RIE's output, for failure messages.
func (fn *rieFunction) String() string { return strings.TrimSpace(fn.out.String()) }
