package testtools

import (
	"testing"
	"time"
)

// GoneBound is how long [WaitGone] waits at most: far more than any exit
// path needs on a loaded machine, so that a process still there after it
// was not going to go.
const GoneBound = 30 * time.Second

// WaitGone waits until process pid has exited, or [GoneBound] has passed,
// and fails tb (naming what) if it has not. A zombie (exited, not yet
// reaped by its parent) counts as exited. On Linux it waits on a pidfd, so
// it returns as soon as the process exits; elsewhere it polls.
func WaitGone(tb testing.TB, pid int, what string) {
	tb.Helper()
	if !waitGone(pid, GoneBound) {
		tb.Errorf("%s (pid %d) still runs %s later", what, pid, GoneBound)
	}
}
