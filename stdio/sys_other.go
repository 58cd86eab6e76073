//go:build !unix

package stdio

import (
	"os/exec"
	"syscall"
	"time"
)

func sysProcAttr() *syscall.SysProcAttr { return nil }

// signalGroup kills the child process; other signals and process groups
// are Unix-only.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process != nil && sig == syscall.SIGKILL {
		cmd.Process.Kill()
	}
}

// endGroup does nothing: without process groups, what the child started
// cannot be found.
func endGroup(*exec.Cmd, time.Time) {}
