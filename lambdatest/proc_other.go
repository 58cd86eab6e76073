//go:build !unix

package lambdatest

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing where there are no Unix process groups.
func setProcessGroup(*exec.Cmd) {}

// signalGroup kills the process pid: there is no SIGTERM nor process group
// here.
func signalGroup(pid int, _ bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// killLeftovers does nothing: without process groups, what the bootstrap
// started cannot be found (and its pid may already name another process).
func killLeftovers(int) {}
