//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package state

import (
	"errors"
	"os"
)

// flockSupported is false where there is no flock(2), Windows included:
// OpenDir fails there. (Windows has LockFileEx, but also refuses to rename
// over a file another process has open, which lock-free reads need.)
const flockSupported = false

func lockFile(*os.File) error { return errors.ErrUnsupported }

func unlockFile(*os.File) error { return errors.ErrUnsupported }
