// Package proctree signals a child's process group and, where the system
// shows the process tree (Linux, through /proc), every process descended
// from it, so that stopping a child stops everything it started: the
// grandchildren in its group, and those that moved to a group or session
// of their own (setpgid, setsid) while their parent is still in the tree.
//
// What cannot be found is a process that left the tree: one whose parent
// exited before the signal (a daemon's double fork), which the system
// re-parents to init or a subreaper, and which does not share the group.
// Elsewhere than Linux only the process group is signalled.
//
// Quick start, after starting cmd with Setpgid:
//
//	proctree.Signal(cmd.Process.Pid, syscall.SIGTERM)
//	for proctree.Alive(cmd.Process.Pid) && time.Now().Before(deadline) { ... }
//	proctree.Signal(cmd.Process.Pid, syscall.SIGKILL)
package proctree
