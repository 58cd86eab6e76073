package lambdatest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Lambda's CPU allocation: one full vCPU at 1,769 MB of memory, in
// proportion to the memory below and above.
const memoryPerVCPU = 1769

// cfsPeriod is the CPU bandwidth period, the kernel's default (100 ms):
// within each period an instance may run for its share of it.
const cfsPeriod = 100 * time.Millisecond

// cpuQuota returns the CPU time per cfsPeriod that memoryMB buys.
func cpuQuota(memoryMB int) time.Duration {
	q := time.Duration(math.Round(float64(cfsPeriod/time.Microsecond)*float64(memoryMB)/memoryPerVCPU)) * time.Microsecond
	return max(q, time.Millisecond) // the kernel's minimum quota
}

// treeMemoryKB returns the sum of the peak resident memory (VmHWM) of
// process pid and of every process it started, directly or not (found
// through /proc/PID/task/TID/children), in kB; 0 where /proc is missing.
// The sum of the peaks is an upper bound of the tree's peak, and the
// tree's memory as Lambda counts it when the processes are long-lived (a
// warm stdio server).
func treeMemoryKB(pid int) int {
	total := 0
	seen := map[int]bool{}
	queue := []int{pid}
	for len(queue) > 0 && len(seen) < 10000 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		total += readVmHWM(p)
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		if err != nil {
			continue
		}
		for _, task := range tasks {
			b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "task", task.Name(), "children"))
			if err != nil {
				continue
			}
			for f := range strings.FieldsSeq(string(b)) {
				if child, err := strconv.Atoi(f); err == nil {
					queue = append(queue, child)
				}
			}
		}
	}
	return total
}
