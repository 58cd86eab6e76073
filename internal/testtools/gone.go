package testtools

import (
	"testing"
	"time"
)

// Patience is how long a test waits for something that must happen (a
// process to exit, a line to be written, a notification to arrive): far
// more than it takes on a loaded machine, so that what has not happened by
// then was not going to.
const Patience = 30 * time.Second

// WaitGone waits until process pid has exited, or [Patience] has passed,
// and fails tb (naming what) if it has not. A zombie (exited, not yet
// reaped by its parent) counts as exited. On Linux it waits on a pidfd, so
// it returns as soon as the process exits; elsewhere it polls.
func WaitGone(tb testing.TB, pid int, what string) {
	tb.Helper()
	if !waitGone(pid, Patience) {
		tb.Errorf("%s (pid %d) still runs %s later", what, pid, Patience)
	}
}
