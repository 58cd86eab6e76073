//go:build unix

package proctree

import (
	"os"
	"syscall"
)

// Signal sends sig to the process group pgid, to the processes descended
// from its members and to the groups those lead. It never signals the
// calling process or its own group. It reports whether any process was
// there to signal.
func Signal(pgid int, sig syscall.Signal) bool {
	self, selfGroup := os.Getpid(), syscall.Getpgrp()
	if pgid <= 1 || pgid == selfGroup {
		return false
	}
	if syscall.Kill(-pgid, 0) == syscall.ESRCH {
		return false // no member left, so no descendant to find through one
	}
	// Read the tree first: once the group is signalled, the children of
	// its members are re-parented and can no longer be found.
	ps := tree(pgid)
	found := syscall.Kill(-pgid, sig) == nil
	for _, p := range ps {
		if p.pid != self && syscall.Kill(p.pid, sig) == nil {
			found = true
		}
		if p.pid == p.pgid && p.pgid != pgid && p.pgid != selfGroup {
			syscall.Kill(-p.pgid, sig) // a group it leads
		}
	}
	return found
}

// Alive reports whether a process of the group pgid, or descended from
// one, is still running (a zombie, exited but not yet reaped, is not).
func Alive(pgid int) bool {
	if pgid <= 1 {
		return false
	}
	ps, ok := scan()
	if !ok {
		return syscall.Kill(-pgid, 0) == nil
	}
	for _, p := range descendants(ps, pgid) {
		if !p.zombie {
			return true
		}
	}
	return false
}

// proc is a process as the system shows it.
type proc struct {
	pid, ppid, pgid int
	zombie          bool
}

// tree returns the members of group pgid and their descendants, or nil
// where the process tree cannot be read.
func tree(pgid int) []proc {
	ps, ok := scan()
	if !ok {
		return nil
	}
	return descendants(ps, pgid)
}

// descendants returns the members of group pgid among ps, and every
// process descended from one of them.
func descendants(ps []proc, pgid int) []proc {
	children := make(map[int][]proc)
	var out []proc
	for _, p := range ps {
		children[p.ppid] = append(children[p.ppid], p)
		if p.pgid == pgid {
			out = append(out, p)
		}
	}
	seen := make(map[int]bool, len(out))
	for _, p := range out {
		seen[p.pid] = true
	}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i].pid] {
			if !seen[c.pid] {
				seen[c.pid] = true
				out = append(out, c)
			}
		}
	}
	return out
}
