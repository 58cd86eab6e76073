package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/dynamo/dynamotest"
	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/internal/testtools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The tests run the real mcplambda binary, and real bootstraps under it.
// Each binary is built once per test run, on first use, into binDir.

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcplambda-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	dynamotest.Stop() // if a test started DynamoDB Local
	os.RemoveAll(dir)
	os.Exit(code)
}

// binaries are the programs the tests build: the command under test, and
// two bootstraps built as for Lambda.
var binaries = map[string]*struct {
	pkg  string
	tags string
	once sync.Once
	path string
	err  error
}{
	"mcplambda":   {pkg: "."},
	"time":        {pkg: "../../examples/time", tags: "lambda.norpc"},
	"conformance": {pkg: "../../examples/conformance", tags: "lambda.norpc"},
	"noop":        {pkg: "./testdata/noop", tags: "lambda.norpc"},
	"statefn":     {pkg: "./testdata/statefn", tags: "lambda.norpc"},
	"taskfn":      {pkg: "./testdata/taskfn", tags: "lambda.norpc"},
	"askfn":       {pkg: "./testdata/askfn", tags: "lambda.norpc"},
	"echoserver":  {pkg: "../../stdio/testdata/echoserver"},
}

// binary returns the path of the named binary, building it on first use.
func binary(tb testing.TB, name string) string {
	tb.Helper()
	b := binaries[name]
	b.once.Do(func() {
		b.path = filepath.Join(binDir, name)
		args := []string{"build", "-o", b.path}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		out, err := exec.Command("go", append(args, b.pkg)...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

type syncBuffer = syncio.Buffer

// devProcess is a running "mcplambda dev".
type devProcess struct {
	cmd       *exec.Cmd
	mcpURL    string // from the first ready line
	invokeURL string // from the second ready line
	stdout    syncBuffer
	stderr    syncBuffer
	done      chan struct{} // closed when the process has exited
	waitErr   error         // set before done is closed
}

var readyLines = []*regexp.Regexp{
	regexp.MustCompile(`^mcplambda: listening on (http://127\.0\.0\.1:[1-9][0-9]*/mcp)$`),
	regexp.MustCompile(`^mcplambda: invoke endpoint (http://127\.0\.0\.1:[1-9][0-9]*)$`),
}

// startDev runs "mcplambda dev args..." and waits until it has printed its
// two ready lines. The process is interrupted at the end of the test if it
// is still running. The function's state goes to a directory of the test
// (--state-dir), not to the user's cache directory.
func startDev(tb testing.TB, args ...string) *devProcess {
	tb.Helper()
	args = append([]string{"dev", "--state-dir", tb.TempDir()}, args...)
	return start(tb, exec.Command(binary(tb, "mcplambda"), args...), readyLines)
}

// startNative runs the bootstrap bin as a plain local server, outside the
// emulator (mcplambda.Start serves HTTP when AWS_LAMBDA_RUNTIME_API is
// unset), and waits for its ready line. Its invokeURL is empty.
func startNative(tb testing.TB, bin string) *devProcess {
	tb.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "AWS_LAMBDA_RUNTIME_API=")
	return start(tb, cmd, readyLines[:1])
}

// start runs cmd and waits until it has printed the ready lines.
func start(tb testing.TB, cmd *exec.Cmd, ready []*regexp.Regexp) *devProcess {
	tb.Helper()
	p := &devProcess{cmd: cmd, done: make(chan struct{})}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(&p.stdout, sc.Text())
			select {
			case lines <- sc.Text():
			default:
			}
		}
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		if p.exited() {
			return
		}
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
			tb.Errorf("mcplambda dev did not stop within 15s of SIGINT; stderr:\n%s", p.stderr.String())
		}
	})

	timeout := time.After(2 * time.Minute) // a build of the target may be part of it
	for i, re := range ready {
		select {
		case line := <-lines:
			m := re.FindStringSubmatch(line)
			if m == nil {
				tb.Fatalf("mcplambda dev: stdout line %d = %q, want a match for %s", i+1, line, re)
			}
			if i == 0 {
				p.mcpURL = m[1]
			} else {
				p.invokeURL = m[1]
			}
		case <-p.done:
			tb.Fatalf("%s exited before it was ready (%v); stderr:\n%s", cmd.Path, p.waitErr, p.stderr.String())
		case <-timeout:
			tb.Fatalf("%s not ready after 2m; stderr:\n%s", cmd.Path, p.stderr.String())
		}
	}
	if want := p.invokeURL + "/mcp"; len(ready) == 2 && p.mcpURL != want {
		tb.Fatalf("MCP endpoint %s and invoke endpoint %s are on different listeners", p.mcpURL, p.invokeURL)
	}
	return p
}

func (p *devProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig and returns the exit code.
func (p *devProcess) stop(tb testing.TB, sig os.Signal) int {
	tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		tb.Fatalf("mcplambda dev did not exit within 15s of %v; stderr:\n%s", sig, p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	if p.waitErr != nil {
		tb.Fatal(p.waitErr)
	}
	return 0
}

// reportLine matches a REPORT line; the submatches are the Duration in ms,
// Max Memory Used in MB and the Init Duration field ("" when warm).
var reportLine = regexp.MustCompile(`(?m)^REPORT RequestId: \S+\tDuration: ([0-9.]+) ms\tBilled Duration: [0-9]+ ms\tMemory Size: [0-9]+ MB\tMax Memory Used: ([0-9]+) MB(\tInit Duration: [0-9.]+ ms)?.*$`)

// Submatch indexes of reportLine.
const (
	reportDuration = 1
	reportMaxMem   = 2
	reportInit     = 3
)

// reports waits until stderr holds at least n REPORT lines and returns them.
func (p *devProcess) reports(tb testing.TB, n int) [][]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testtools.Patience)
	defer cancel()
	var m [][]string
	stderr, err := p.stderr.Wait(ctx, func(s string) bool {
		m = reportLine.FindAllStringSubmatch(s, -1)
		return len(m) >= n
	})
	if err != nil {
		tb.Fatalf("stderr has %d REPORT lines, want at least %d; stderr:\n%s", len(m), n, stderr)
	}
	return m
}

// connect returns an MCP client session with the process's endpoint.
func (p *devProcess) connect(tb testing.TB, ctx context.Context) *mcp.ClientSession {
	tb.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "mcplambda-test", Version: "v0.0.1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: p.mcpURL}, nil)
	if err != nil {
		tb.Fatalf("Connect(%s): %v; stderr:\n%s", p.mcpURL, err, p.stderr.String())
	}
	tb.Cleanup(func() { cs.Close() })
	return cs
}

// runMain runs the mcplambda binary to completion and returns its exit
// code and output.
func runMain(tb testing.TB, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(tb, "mcplambda"), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		tb.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// processesWithEnv returns the pids of live processes whose environment
// holds kv, read from /proc.
func processesWithEnv(tb testing.TB, kv string) []int {
	tb.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue // gone, or a zombie
		}
		for v := range strings.SplitSeq(string(env), "\x00") {
			if v == kv {
				if syscall.Kill(pid, 0) == nil {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids
}

// rssMB returns the resident set size of process pid in MB, from /proc.
func rssMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				return 0, err
			}
			return float64(kb) / 1024, nil
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// usageCase is a command line and what mcplambda must answer: the exit
// code, a substring of stdout ("" means no stdout at all) and substrings
// of stderr. A usage error (code 2) must end with its hint.
type usageCase struct {
	name   string
	args   []string
	code   int
	stdout string
	stderr []string
}

func (tt usageCase) check(t *testing.T) {
	code, stdout, stderr := runMain(t, tt.args...)
	if code != tt.code {
		t.Errorf("mcplambda %q: exit code %d, want %d; stderr:\n%s", tt.args, code, tt.code, stderr)
	}
	if !strings.Contains(stdout, tt.stdout) || (tt.stdout == "" && stdout != "") {
		t.Errorf("mcplambda %q: stdout = %q, want it to contain %q", tt.args, stdout, tt.stdout)
	}
	for _, want := range tt.stderr {
		if !strings.Contains(stderr, want) {
			t.Errorf("mcplambda %q: stderr = %q, want it to contain %q", tt.args, stderr, want)
		}
	}
	if tt.code == 2 && !strings.HasSuffix(stderr, "for usage.\n") && !strings.HasSuffix(stderr, "list of commands.\n") {
		t.Errorf("mcplambda %q: stderr = %q, want it to end with a hint", tt.args, stderr)
	}
}
