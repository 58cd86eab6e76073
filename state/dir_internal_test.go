package state

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The multi-process tests run this test binary again as helper processes:
// TestMain runs the helper named by $STATE_TEST_HELPER instead of the tests.
const helperEnv = "STATE_TEST_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := runHelper(role); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runHelper is the body of a helper process; its arguments are in the
// environment (STATE_TEST_DIR, STATE_TEST_KEY, ...).
func runHelper(role string) error {
	ctx := context.Background()
	d, err := OpenDir(os.Getenv("STATE_TEST_DIR"), nil)
	if err != nil {
		return err
	}
	defer d.Close()
	key := os.Getenv("STATE_TEST_KEY")
	switch role {
	case "increment":
		// Wait until the test closes stdin, so all helpers start together.
		io.Copy(io.Discard, os.Stdin)
		n, _ := strconv.Atoi(os.Getenv("STATE_TEST_N"))
		for i := range n {
			if err := increment(ctx, d, key, fmt.Sprintf("%d-%d", os.Getpid(), i)); err != nil {
				return err
			}
		}
		return nil
	case "get":
		it, err := d.Get(ctx, key)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(it)
	case "put":
		ttl, _ := time.ParseDuration(os.Getenv("STATE_TEST_TTL"))
		v, err := d.Put(ctx, key, []byte(os.Getenv("STATE_TEST_VALUE")), PutOptions{TTL: ttl})
		if err != nil {
			return err
		}
		fmt.Println(v)
		return nil
	case "hold":
		// Hold key's lock until killed.
		h := d.hash(key)
		if _, err := d.lock(h[0]); err != nil {
			return err
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		return errors.New("stdin closed before the test killed the helper")
	}
	return fmt.Errorf("unknown helper %q", role)
}

// helper returns a command that runs this test binary as helper role with
// env added to the environment.
func helper(t *testing.T, role, dir string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + role, "STATE_TEST_DIR=" + dir}, env...)...)
	return cmd
}

// output runs cmd and returns its standard output.
func output(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %s: %v\n%s", cmd.Args, err, stderr.String())
	}
	return string(out)
}

func openDir(t *testing.T, path string, opts *DirOptions) *Dir {
	t.Helper()
	if !flockSupported {
		t.Skip("no flock(2) on this system")
	}
	d, err := OpenDir(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// counter is the value the increment helpers update.
type counter struct {
	N  int      `json:"n"`
	By []string `json:"by"`
}

// increment adds one to the counter under key with a compare-and-swap
// loop, recording who did it.
func increment(ctx context.Context, s Store, key, who string) error {
	for range 100_000 { // bounded: each round, some writer wins
		var c counter
		var version int64
		it, err := s.Get(ctx, key)
		switch {
		case err == nil:
			if err := json.Unmarshal(it.Value, &c); err != nil {
				return err
			}
			version = it.Version
		case !errors.Is(err, ErrNotFound):
			return err
		}
		c.N++
		c.By = append(c.By, who)
		b, _ := json.Marshal(c)
		opts := PutOptions{IfVersion: version, IfAbsent: version == 0}
		if _, err = s.Put(ctx, key, b, opts); err == nil {
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("increment by %s: too many conflicts", who)
}

// Processes racing compare-and-swap increments on one key lose no update:
// the conditional write is atomic across processes.
func TestDirProcessesLoseNoUpdate(t *testing.T) {
	t.Parallel()
	const processes, each = 6, 20
	dir := t.TempDir()
	var cmds []*exec.Cmd
	var stdins []io.WriteCloser
	for range processes {
		cmd := helper(t, "increment", dir, "STATE_TEST_KEY=counter", "STATE_TEST_N="+strconv.Itoa(each))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Kill()
				cmd.Wait()
			}
		})
		cmds, stdins = append(cmds, cmd), append(stdins, stdin)
	}
	for _, stdin := range stdins { // start them all together
		stdin.Close()
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", cmd.Process.Pid, err, cmd.Stderr)
		}
	}
	d := openDir(t, dir, nil)
	it, err := d.Get(context.Background(), "counter")
	if err != nil {
		t.Fatal(err)
	}
	var got counter
	if err := json.Unmarshal(it.Value, &got); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, cmd := range cmds {
		for i := range each {
			want = append(want, fmt.Sprintf("%d-%d", cmd.Process.Pid, i))
		}
	}
	slices.Sort(want)
	slices.Sort(got.By)
	if got.N != processes*each {
		t.Errorf("counter after %d processes × %d increments = %d, want %d", processes, each, got.N, processes*each)
	}
	if diff := cmp.Diff(want, got.By); diff != "" {
		t.Errorf("increments recorded (-want +got):\n%s", diff)
	}
}

// Items outlive the process that wrote them: written here, read by
// another process after Close; written there, read here after reopening.
func TestDirSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	d := openDir(t, dir, nil)
	v, err := d.Put(ctx, "greeting", []byte("hello"), PutOptions{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := d.Get(ctx, "greeting")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	var got Item
	if err := json.Unmarshal([]byte(output(t, helper(t, "get", dir, "STATE_TEST_KEY=greeting"))), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &got); diff != "" || got.Version != v {
		t.Errorf("item read by another process (-written +read):\n%s", diff)
	}

	out := output(t, helper(t, "put", dir, "STATE_TEST_KEY=greeting", "STATE_TEST_VALUE=bye", "STATE_TEST_TTL=0s"))
	v2, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	d = openDir(t, dir, nil)
	it, err := d.Get(ctx, "greeting")
	if err != nil || string(it.Value) != "bye" || it.Version != v2 || v2 <= v || !it.Expires.IsZero() {
		t.Errorf("Get after another process wrote = %+v, %v; want bye at version %d (> %d), no expiry", it, err, v2, v)
	}
}

// A process that dies holding a key's lock releases it: the next write
// does not wait forever.
func TestDirLockDiesWithHolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	d := openDir(t, dir, nil)
	cmd := helper(t, "hold", dir, "STATE_TEST_KEY=k")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.StdinPipe(); err != nil { // kept open: the helper waits
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, want locked", line)
	}
	h := d.hash("k")
	lockPath := filepath.Join(dir, locksDir, fmt.Sprintf("%02x", h[0]))
	if held, err := lockedElsewhere(lockPath); err != nil || !held {
		t.Errorf("lock file of k locked by the helper: %t, %v; want true", held, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := d.Put(context.Background(), "k", []byte("v"), PutOptions{IfAbsent: true}); err != nil {
		t.Fatalf("Put after the lock holder died: %v", err)
	}
}

func TestDirHashCollision(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := time.Now()
	d := openDir(t, t.TempDir(), &DirOptions{Now: func() time.Time { return clock }})
	d.hash = func(string) [sha256.Size]byte { return [sha256.Size]byte{7} } // every key collides

	va, err := d.Put(ctx, "a", []byte("A"), PutOptions{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "b", []byte("B"), PutOptions{}); !errors.Is(err, errCollision) {
		t.Errorf("Put(b) over a's file error = %v, want a collision", err)
	}
	if _, err := d.Get(ctx, "b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(b) error = %v, want ErrNotFound (never a's value)", err)
	}
	if err := d.Delete(ctx, "b", 0); err != nil {
		t.Errorf("Delete(b, 0) = %v, want nil (b is absent)", err)
	}
	if err := d.Delete(ctx, "b", va); !errors.Is(err, ErrConflict) {
		t.Errorf("Delete(b, %d) = %v, want ErrConflict", va, err)
	}
	if it, err := d.Get(ctx, "a"); err != nil || string(it.Value) != "A" {
		t.Errorf("Get(a) after b's attempts = %+v, %v; want A", it, err)
	}
	clock = clock.Add(time.Minute) // a expires: its file may be reused
	if _, err := d.Put(ctx, "b", []byte("B"), PutOptions{IfAbsent: true}); err != nil {
		t.Errorf("Put(b) over expired a error = %v", err)
	}
	if _, err := d.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(a) after b replaced it error = %v, want ErrNotFound", err)
	}
}

// A damaged item file is reported, never returned as a value; an
// unconditional write or delete repairs it.
func TestDirCorruptFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openDir(t, t.TempDir(), nil)
	v, err := d.Put(ctx, "k", []byte("value"), PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := d.itemPath(d.hash("k"))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)-1] ^= 1
	for name, content := range map[string][]byte{
		"empty":     {},
		"truncated": good[:headerBytes+1],
		"bit flip":  flipped,
		"not ours":  []byte("hello, world, this is not an item file"),
	} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Get(ctx, "k"); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: Get error = %v, want corrupt", name, err)
		}
		if _, err := d.Put(ctx, "k", []byte("x"), PutOptions{IfVersion: v}); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: Put(IfVersion) error = %v, want corrupt", name, err)
		}
		if err := d.Delete(ctx, "k", v); !errors.Is(err, errCorrupt) {
			t.Errorf("%s: Delete(version) error = %v, want corrupt", name, err)
		}
	}
	if v, err = d.Put(ctx, "k", []byte("repaired"), PutOptions{}); err != nil {
		t.Fatalf("unconditional Put over a corrupt file: %v", err)
	}
	if it, err := d.Get(ctx, "k"); err != nil || string(it.Value) != "repaired" || it.Version != v {
		t.Errorf("Get after repair = %+v, %v", it, err)
	}
	os.WriteFile(path, nil, 0o600)
	if err := d.Delete(ctx, "k", 0); err != nil {
		t.Errorf("unconditional Delete of a corrupt file: %v", err)
	}
	if _, err := d.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after deleting the corrupt file error = %v, want ErrNotFound", err)
	}
}

// Writes sweep expired items' files and dead writers' temporary files
// away, one shard at a time; live items stay.
func TestDirSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	d := openDir(t, t.TempDir(), &DirOptions{Now: now})

	// Keys in one shard: some expire, one does not.
	var shard uint8
	var keys []string
	for i := 0; len(keys) < 4; i++ {
		k := fmt.Sprint("key", i)
		if h := d.hash(k); len(keys) == 0 || h[0] == shard {
			shard = h[0]
			keys = append(keys, k)
		}
	}
	for _, k := range keys[:3] {
		if _, err := d.Put(ctx, k, []byte("v"), PutOptions{TTL: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Put(ctx, keys[3], []byte("v"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(d.shardPath(shard), tempPrefix+"dead")
	fresh := filepath.Join(d.shardPath(shard), tempPrefix+"writing")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTemp)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	files := func() []string {
		entries, _ := os.ReadDir(d.shardPath(shard))
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	if n := len(files()); n != 6 {
		t.Fatalf("shard holds %d files before expiry, want 6", n)
	}
	if got := d.sweep(shard); got != 1 {
		t.Errorf("sweep before expiry removed %d files, want 1 (the stale temporary file)", got)
	}
	mu.Lock()
	clock = clock.Add(time.Second)
	mu.Unlock()

	// The next write that triggers a sweep sweeps the shard.
	d.start = shard - 1 - uint8(d.sweeps.Load())
	for i := d.writes.Load() % sweepEvery; i < sweepEvery; i++ {
		if _, err := d.Put(ctx, "elsewhere", []byte("v"), PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{tempPrefix + "writing", filepath.Base(d.itemPath(d.hash(keys[3])))}
	if h := d.hash("elsewhere"); h[0] == shard {
		want = append(want, filepath.Base(d.itemPath(h)))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, files()); diff != "" {
		t.Errorf("files after the sweep (-want +got):\n%s", diff)
	}
	if _, err := d.Get(ctx, keys[3]); err != nil {
		t.Errorf("Get(live key) after the sweep: %v", err)
	}
}
