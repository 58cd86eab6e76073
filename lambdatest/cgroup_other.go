//go:build !linux

package lambdatest

import (
	"errors"
	"os/exec"
)

// cgroupParent is where a Function creates its instances' cgroups: Linux
// only.
type cgroupParent struct{}

func (p *cgroupParent) String() string { return "" }

func findCgroupParent() (*cgroupParent, error) {
	return nil, errors.New("cgroups are a Linux feature")
}

type cgroup struct{}

func (p *cgroupParent) newCgroup(string, int) (*cgroup, error) {
	return nil, errors.New("cgroups are a Linux feature")
}

func (cg *cgroup) prepare(*exec.Cmd)         {}
func (cg *cgroup) add(int) error             { return nil }
func (cg *cgroup) memoryPeakKB() (int, bool) { return 0, false }
func (cg *cgroup) remove()                   {}
