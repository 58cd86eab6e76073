package stdio

import "syscall"

// sysProcAttr puts the child in its own process group, so that signals
// reach everything it started (npx -> sh -> node), and kills it if the
// adapter dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
