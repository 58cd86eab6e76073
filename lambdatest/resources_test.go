package lambdatest

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCPUQuota(t *testing.T) {
	for _, tt := range []struct {
		memoryMB int
		want     time.Duration
	}{
		{128, 7236 * time.Microsecond}, // 7.2% of one CPU
		{512, 28943 * time.Microsecond},
		{1769, 100 * time.Millisecond}, // one full vCPU
		{10240, 578858 * time.Microsecond},
	} {
		if got := cpuQuota(tt.memoryMB); got != tt.want {
			t.Errorf("cpuQuota(%d) = %v, want %v per %v", tt.memoryMB, got, tt.want, cfsPeriod)
		}
	}
}

// TestLimitCPU runs an instance with LimitCPU and checks, from /proc and
// the cgroup file system, that it runs in a cgroup with the CPU bandwidth
// of its memory size, that the limit bites, and that the group is gone
// after Close. Where cgroups cannot be created it skips, saying why.
func TestLimitCPU(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroups are a Linux feature")
	}
	parent, err := findCgroupParent()
	if err != nil {
		t.Skipf("no cgroup to limit CPU with here: %v", err)
	}
	t.Logf("instances' cgroups under %s", parent)
	f := newFunction(t, "behave", &Options{MemoryMB: 128, LimitCPU: true})
	// 30 ms of CPU: more than the 7.2 ms a 128 MB instance gets per
	// 100 ms period, so the instance is throttled at least once.
	resp := invoke(t, f, map[string]any{"op": "burn", "ms": 30})
	pid := decode[int](t, resp)
	dir := instanceCgroup(t, parent, pid)
	quota := "7236 100000"
	if !parent.v2 {
		quota = readTrim(t, filepath.Join(dir, "cpu.cfs_quota_us")) + " " + readTrim(t, filepath.Join(dir, "cpu.cfs_period_us"))
		if quota != "7236 100000" {
			t.Errorf("cpu.cfs_quota_us and cpu.cfs_period_us = %s, want 7236 100000", quota)
		}
	} else if got := readTrim(t, filepath.Join(dir, "cpu.max")); got != quota {
		t.Errorf("cpu.max = %q, want %q", got, quota)
	}
	throttled := -1
	for line := range strings.SplitSeq(readTrim(t, filepath.Join(dir, "cpu.stat")), "\n") {
		if v, ok := strings.CutPrefix(line, "nr_throttled "); ok {
			throttled, _ = strconv.Atoi(v)
		}
	}
	if throttled <= 0 {
		t.Errorf("cpu.stat nr_throttled = %d, want the instance throttled at least once", throttled)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s still exists after Close (%v)", dir, err)
	}
}

// instanceCgroup returns the directory of the cgroup process pid is in,
// under parent.
func instanceCgroup(t *testing.T, parent *cgroupParent, pid int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		v2 := parts[0] == "0" && parts[1] == ""
		if v2 != parent.v2 || (!v2 && !contains(strings.Split(parts[1], ","), "cpu")) {
			continue
		}
		base := filepath.Base(parts[2])
		if !strings.HasPrefix(base, "mcplambda-") {
			t.Fatalf("instance %d is in cgroup %q, want one of its own; /proc/%d/cgroup:\n%s", pid, parts[2], pid, b)
		}
		return filepath.Join(parent.dir, base)
	}
	t.Fatalf("instance %d: no cgroup found in /proc/%d/cgroup:\n%s", pid, pid, b)
	return ""
}

func readTrim(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestReportCountsProcessTree: Max Memory Used includes the processes the
// bootstrap started (a wrapped stdio server, say), not the bootstrap only.
func TestReportCountsProcessTree(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("needs /proc")
	}
	var reports []Report
	done := make(chan struct{}, 10)
	f := newFunction(t, "behave", &Options{OnReport: func(r Report) {
		reports = append(reports, r)
		done <- struct{}{}
	}})
	invoke(t, f, map[string]any{"op": "pid"})
	<-done
	before := reports[0].MaxMemoryMB
	invoke(t, f, map[string]any{"op": "spawnmem", "code": 64})
	<-done
	after := reports[1].MaxMemoryMB
	if before == 0 || after < before+60 {
		t.Errorf("Max Memory Used = %d MB, then %d MB after the function started a child holding 64 MB; want the child counted", before, after)
	}
}
