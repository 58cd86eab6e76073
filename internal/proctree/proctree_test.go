//go:build linux

package proctree

import (
	"bufio"
	"os/exec"
	"slices"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcplambda/mcplambda/internal/testtools"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		stat string
		want proc
		ok   bool
	}{
		{"42 (sleep) S 7 42 7 0 -1", proc{pid: 42, ppid: 7, pgid: 42}, true},
		{"42 (a) (b) Z 7 9 7 0", proc{pid: 42, ppid: 7, pgid: 9, zombie: true}, true},
		{"42 (x y) R 1 1", proc{pid: 42, ppid: 1, pgid: 1}, true},
		{"42 (broken", proc{}, false},
		{"42 (short) S 7", proc{}, false},
	} {
		got, ok := parseStat(42, tt.stat)
		if ok != tt.ok || (ok && !cmp.Equal(got, tt.want, cmp.AllowUnexported(proc{}))) {
			t.Errorf("parseStat(%q) = %+v, %v, want %+v, %v", tt.stat, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSignal starts a shell in a group of its own with two sleeping
// children, one of which moves to a session of its own (setsid): a SIGKILL
// to the group's tree reaches all three.
func TestSignal(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sh", "-c", "sleep 300 & setsid sleep 300 & echo started; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("no sh: %v", err)
	}
	defer cmd.Wait()
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	var pids []int
	groups := map[int]bool{}
	// The children are forked before the shell prints: they are there,
	// though setsid may not have run yet (its group is then the shell's).
	for _, p := range tree(pgid) {
		pids = append(pids, p.pid)
		groups[p.pgid] = true
	}
	if len(pids) != 3 || !slices.Contains(pids, pgid) {
		t.Fatalf("tree(%d) = %v, want the shell and its two children", pgid, pids)
	}
	if !Alive(pgid) {
		t.Fatalf("Alive(%d) = false with %v running", pgid, pids)
	}
	if !Signal(pgid, syscall.SIGKILL) {
		t.Fatalf("Signal(%d) = false, want true", pgid)
	}
	for _, pid := range pids {
		testtools.WaitGone(t, pid, "a process of the tree")
	}
	if Alive(pgid) {
		t.Errorf("Alive(%d) = true after SIGKILL to the tree", pgid)
	}
	if Signal(syscall.Getpgrp(), 0) {
		t.Errorf("Signal(own group) = true, want it refused")
	}
}
