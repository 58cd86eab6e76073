package dynamo_test

import (
	"context"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/lambdatest"
)

// buildSessionFn builds testdata/sessionfn as a Lambda bootstrap.
func buildSessionFn(t *testing.T) string {
	t.Helper()
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "./testdata/sessionfn").CombinedOutput()
	if err != nil {
		t.Fatalf("building the bootstrap: %v\n%s", err, out)
	}
	return bootstrap
}

// lockedBuffer collects the instances' output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Two emulated Lambda functions (separate bootstrap processes, each behind
// its own function URL) share a DynamoDB Local table: a legacy client
// initializes on one and makes every later call on the other.
func TestLegacySessionsAcrossEmulatorInstances(t *testing.T) {
	ddb := dynamotest.Client(t)
	table := dynamotest.NewTable(t, ddb)
	bootstrap := buildSessionFn(t)
	env := []string{"DYNAMO_SOCKET=" + dynamotest.Socket(t), "DYNAMO_TABLE=" + table}
	var urls []string
	for range 2 {
		out := &lockedBuffer{}
		f, err := lambdatest.NewFunction(bootstrap, &lambdatest.Options{Env: env, Timeout: 20 * time.Second, Stdout: out, Stderr: out})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		srv := httptest.NewServer(lambdatest.NewFrontDoor(f, lambdatest.FunctionURL, nil))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}

	pid := regexp.MustCompile(`pid=(\d+)`)
	alice := &client{t: t, url: urls[0], token: "alice"}
	alice.initialize()
	first := alice.send("POST", callBody("whoami"))
	alice.url = urls[1]
	r := alice.send("POST", callBody("whoami"))
	if r.status != 200 || !strings.Contains(r.body, "client=legacy-client") {
		t.Fatalf("whoami on the second function = %d %q; want the session's client info", r.status, r.body)
	}
	if a, b := pid.FindString(first.body), pid.FindString(r.body); a == "" || a == b {
		t.Errorf("both calls served by %q and %q; want two processes", a, b)
	}
	for i, url := range []string{urls[0], urls[1], urls[0]} {
		alice.url = url
		if r := alice.send("POST", callBody("count")); !strings.Contains(r.body, "count="+string(rune('1'+i))) {
			t.Errorf("count #%d = %d %q", i+1, r.status, r.body)
		}
	}
	bob := &client{t: t, url: urls[1], token: "bob", sid: alice.sid}
	if r := bob.send("POST", callBody("whoami")); r.status != 404 {
		t.Errorf("bob with alice's session = %d %q, want 404", r.status, r.body)
	}
	alice.url = urls[1]
	if r := alice.send("DELETE", ""); r.status != 204 {
		t.Errorf("DELETE on the second function = %d %q", r.status, r.body)
	}
	alice.url = urls[0]
	if r := alice.send("POST", callBody("whoami")); r.status != 404 {
		t.Errorf("call on the first function after DELETE = %d %q, want 404", r.status, r.body)
	}
}

// A missing table is an init error naming the table, not a crash per
// request.
func TestMissingTableFailsInit(t *testing.T) {
	bootstrap := buildSessionFn(t)
	stderr := &lockedBuffer{}
	env := []string{"DYNAMO_SOCKET=" + dynamotest.Socket(t), "DYNAMO_TABLE=no-such-table"}
	f, err := lambdatest.NewFunction(bootstrap, &lambdatest.Options{Env: env, Timeout: 20 * time.Second, Stderr: stderr, Stdout: stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, err := f.Invoke(context.Background(), []byte(callBody("whoami")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.FunctionError == "" {
		t.Fatalf("invoke with a missing table = %s, want a function error", resp.Payload)
	}
	if want := dynamo.ErrTableNotFound.Error() + `: "no-such-table"`; !strings.Contains(stderr.String(), want) {
		t.Errorf("init output %q does not contain %q", stderr.String(), want)
	}
}
