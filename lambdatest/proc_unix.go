//go:build unix

package lambdatest

import (
	"os/exec"
	"syscall"

	"github.com/mcplambda/mcplambda/internal/proctree"
)

// setProcessGroup makes cmd the leader of a new process group, so that the
// whole instance (with anything it spawns) can be signalled at once.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signalGroup sends SIGTERM to the process group pid, or SIGKILL (force)
// to the group and everything descended from it, wherever it moved (see
// package proctree), as Lambda ends a whole execution environment.
func signalGroup(pid int, force bool) {
	if force {
		proctree.Signal(pid, syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
}

// killLeftovers kills what is left of the process group pid, and what
// descends from it, once its leader has exited.
func killLeftovers(pid int) { proctree.Signal(pid, syscall.SIGKILL) }
