//go:build !unix

package testtools

import (
	"os"
	"time"
)

func waitGone(pid int, bound time.Duration) bool {
	return pollGone(pid, bound, func(pid int) bool {
		p, err := os.FindProcess(pid)
		if err != nil {
			return true
		}
		p.Release()
		return false
	})
}
