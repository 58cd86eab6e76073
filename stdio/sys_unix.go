//go:build unix

package stdio

import (
	"os/exec"
	"syscall"
	"time"

	"github.com/mcplambda/mcplambda/internal/proctree"
)

// signalGroup sends sig to the child's process group and whatever
// descends from it (see package proctree).
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	if !proctree.Signal(cmd.Process.Pid, sig) {
		cmd.Process.Signal(sig)
	}
}

// groupPoll is how often endGroup looks for what is left of a group.
const groupPoll = 10 * time.Millisecond

// endGroup ends what is left of the child's process group once the child
// itself has exited: SIGTERM, then, when nothing is left or at deadline
// (at once if it has passed), SIGKILL.
func endGroup(cmd *exec.Cmd, deadline time.Time) {
	pgid := cmd.Process.Pid
	if time.Now().Before(deadline) {
		if !proctree.Signal(pgid, syscall.SIGTERM) {
			return // nothing left
		}
		for proctree.Alive(pgid) && time.Now().Before(deadline) {
			time.Sleep(groupPoll)
		}
	}
	proctree.Signal(pgid, syscall.SIGKILL)
}
