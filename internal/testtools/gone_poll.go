package testtools

import "time"

// pollGone checks gone every 10ms until it holds or bound has passed.
func pollGone(pid int, bound time.Duration, gone func(int) bool) bool {
	deadline := time.Now().Add(bound)
	for !gone(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
