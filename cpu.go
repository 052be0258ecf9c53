package mp

import "github.com/mp-go/mp/internal/cpu"

// CPUCount returns the number of CPUs this process may really use: the
// CPUs in its affinity mask, further limited by a cgroup CPU quota (a
// container given 1.5 CPUs gets 2). Python's os.cpu_count() ignores both
// and oversubscribes containers. It is the default number of workers.
func CPUCount() int { return cpu.Count() }
