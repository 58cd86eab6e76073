//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package state

import "errors"

func lockedElsewhere(string) (bool, error) { return false, errors.ErrUnsupported }
