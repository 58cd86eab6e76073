//go:build unix && !linux

package proctree

// scan cannot read the process tree here: only groups are signalled.
func scan() ([]proc, bool) { return nil, false }
