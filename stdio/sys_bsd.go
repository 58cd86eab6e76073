//go:build unix && !linux

package stdio

import "syscall"

// sysProcAttr puts the child in its own process group, so that signals
// reach everything it started (npx -> sh -> node).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
