//go:build linux

package lambdatest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupParent is where a Function creates its instances' cgroups.
type cgroupParent struct {
	dir string // an existing cgroup directory
	v2  bool
}

func (p *cgroupParent) String() string {
	if p.v2 {
		return "cgroup v2 " + p.dir
	}
	return "cgroup v1 " + p.dir
}

// findCgroupParent finds a cgroup hierarchy with the CPU controller where
// this process may create groups: cgroup v2 (its root), else the cgroup v1
// cpu controller (this process's group in it).
func findCgroupParent() (*cgroupParent, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	var reasons []string
	if root, ok := mounts["cgroup2"]; ok {
		p, err := v2Parent(root)
		if err == nil {
			return p, nil
		}
		reasons = append(reasons, "cgroup v2: "+err.Error())
	} else {
		reasons = append(reasons, "no cgroup v2 hierarchy")
	}
	if root, ok := mounts["cpu"]; ok {
		p, err := v1Parent(root)
		if err == nil {
			return p, nil
		}
		reasons = append(reasons, "cgroup v1 cpu: "+err.Error())
	} else {
		reasons = append(reasons, "no cgroup v1 cpu controller")
	}
	return nil, errors.New(strings.Join(reasons, "; "))
}

// v2Parent checks that the root of the cgroup v2 hierarchy at root can
// give its children the cpu (and, if possible, memory) controller.
func v2Parent(root string) (*cgroupParent, error) {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	available := strings.Fields(string(b))
	if !contains(available, "cpu") {
		return nil, errors.New("the cpu controller is not available (bound to cgroup v1?)")
	}
	control := filepath.Join(root, "cgroup.subtree_control")
	if contains(available, "memory") && os.WriteFile(control, []byte("+cpu +memory"), 0) == nil {
		return &cgroupParent{dir: root, v2: true}, probeCreate(root)
	}
	if err := os.WriteFile(control, []byte("+cpu"), 0); err != nil {
		return nil, fmt.Errorf("enabling the cpu controller for child groups: %w", err)
	}
	return &cgroupParent{dir: root, v2: true}, probeCreate(root)
}

// v1Parent returns this process's group in the cgroup v1 cpu hierarchy
// mounted at root.
func v1Parent(root string) (*cgroupParent, error) {
	path, err := ownCgroup("cpu")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, path)
	return &cgroupParent{dir: dir}, probeCreate(dir)
}

// probeCreate checks that a group can be created (and removed) in dir.
func probeCreate(dir string) error {
	probe := filepath.Join(dir, fmt.Sprintf("mcplambda-probe-%d", os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil {
		return err
	}
	return os.Remove(probe)
}

// cgroupMounts maps "cgroup2" and each cgroup v1 controller to the
// directory where its hierarchy is mounted, from /proc/self/mountinfo.
func cgroupMounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, after := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(after) < 3 || fields[3] != "/" {
			continue // not the root of its hierarchy (another namespace's view)
		}
		switch after[0] {
		case "cgroup2":
			if _, ok := m["cgroup2"]; !ok {
				m["cgroup2"] = fields[4]
			}
		case "cgroup":
			for opt := range strings.SplitSeq(after[2], ",") {
				if _, ok := m[opt]; !ok && opt != "rw" && opt != "ro" {
					m[opt] = fields[4]
				}
			}
		}
	}
	return m, sc.Err()
}

// ownCgroup returns this process's group in the cgroup v1 hierarchy of
// controller, from /proc/self/cgroup.
func ownCgroup(controller string) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && contains(strings.Split(parts[1], ","), controller) {
			return parts[2], nil
		}
	}
	return "", fmt.Errorf("this process is in no %s cgroup", controller)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cgroup is one instance's group.
type cgroup struct {
	dir string
	v2  bool
	fd  int // an open directory descriptor (v2), for clone3's CLONE_INTO_CGROUP; -1 if none
}

// newCgroup creates a group named name under p whose CPU bandwidth is what
// memoryMB buys.
func (p *cgroupParent) newCgroup(name string, memoryMB int) (*cgroup, error) {
	dir := filepath.Join(p.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	cg := &cgroup{dir: dir, v2: p.v2, fd: -1}
	quota, period := cpuQuota(memoryMB).Microseconds(), cfsPeriod.Microseconds()
	var err error
	if p.v2 {
		err = os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0)
		if err == nil {
			cg.fd, err = syscall.Open(dir, syscall.O_DIRECTORY|syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		}
	} else {
		err = os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.FormatInt(period, 10)), 0)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.FormatInt(quota, 10)), 0)
		}
	}
	if err != nil {
		cg.remove()
		return nil, err
	}
	return cg, nil
}

// prepare makes cmd start inside the group, where the kernel can do that
// atomically (cgroup v2); otherwise [cgroup.add] moves it after the start.
func (cg *cgroup) prepare(cmd *exec.Cmd) {
	if cg.fd < 0 {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.UseCgroupFD = true
	cmd.SysProcAttr.CgroupFD = cg.fd
}

// add moves a started process into the group (cgroup v1; with cgroup v2
// the process started there).
func (cg *cgroup) add(pid int) error {
	if cg.fd >= 0 {
		return nil
	}
	return os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// memoryPeakKB returns the group's peak memory use (cgroup v2's
// memory.peak, which counts every process of the instance), or false.
func (cg *cgroup) memoryPeakKB() (int, bool) {
	if !cg.v2 {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(cg.dir, "memory.peak"))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, false
	}
	return int((n + 1023) / 1024), true
}

// remove kills whatever is left in the group (as Lambda ends an execution
// environment whole) and removes it.
func (cg *cgroup) remove() {
	if cg.fd >= 0 {
		syscall.Close(cg.fd)
		cg.fd = -1
	}
	if cg.v2 {
		_ = os.WriteFile(filepath.Join(cg.dir, "cgroup.kill"), []byte("1"), 0)
	} else if b, err := os.ReadFile(filepath.Join(cg.dir, "cgroup.procs")); err == nil {
		for f := range strings.FieldsSeq(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	// The group can be removed once its last process is reaped: a bounded
	// wait for the killed ones.
	for range 50 {
		if err := os.Remove(cg.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
