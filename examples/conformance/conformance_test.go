package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mcplambda/mcplambda/internal/conformancetest"
	"github.com/mcplambda/mcplambda/internal/syncio"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

// TestConformance runs the official MCP conformance suite against this
// example: by default the binary built from this package and started the
// way a user would, with sessions (MCPLAMBDA_SESSIONS=1 PORT=...
// ./conformance: the sessions live in the process's memory), or, when
// MCPLAMBDA_CONFORMANCE_URL is set, the MCP endpoint at that URL (for
// example this binary under the Lambda emulator, mcplambda dev).
//
// Failures must match testdata/expected-failures.txt exactly.
func TestConformance(t *testing.T) {
	t.Parallel()
	// Look the tools up first, so that a machine without them skips
	// before building anything.
	testtools.Node22(t)
	testtools.Conformance(t)

	url := os.Getenv("MCPLAMBDA_CONFORMANCE_URL")
	if url == "" {
		url = startServer(t, buildServer(t))
	} else {
		t.Logf("testing %s from MCPLAMBDA_CONFORMANCE_URL", url)
	}
	conformancetest.Check(t, url, filepath.Join("testdata", "expected-failures.txt"))
}

// buildServer builds this package into a temporary directory and returns the
// binary's path.
func buildServer(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "conformance")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startServer runs bin on a free 127.0.0.1 port and returns its MCP URL once
// it has printed its "listening on" line. The end of the server's stderr is
// logged if the test fails.
func startServer(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT=0", "MCPLAMBDA_SESSIONS=1", "MCPLAMBDA_TABLE=", "MCPLAMBDA_STATE_DIR=") // a free port, named in the ready line; sessions in memory
	// The test decides where the server listens, even inside a Lambda-like
	// environment.
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_RUNTIME_API=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server stderr (last %d lines):\n%s", stderrTail, tail(stderr.String(), stderrTail))
		}
	})

	const prefix = "mcplambda: listening on "
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				urlc <- url
				break
			}
		}
		close(urlc)
		io.Copy(io.Discard, stdout) // keep the pipe drained until exit
	}()
	select {
	case url, ok := <-urlc:
		if ok {
			return url
		}
		t.Fatalf("server exited without printing %q; stderr:\n%s", prefix, tail(stderr.String(), stderrTail))
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not print %q within 30s; stderr:\n%s", prefix, tail(stderr.String(), stderrTail))
	}
	return ""
}

// stderrTail is how many lines of server stderr a failed test shows.
const stderrTail = 40

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

type lockedBuffer = syncio.Buffer
