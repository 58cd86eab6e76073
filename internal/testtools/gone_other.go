//go:build unix && !linux

package testtools

import (
	"syscall"
	"time"
)

func waitGone(pid int, bound time.Duration) bool {
	return pollGone(pid, bound, func(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH })
}
