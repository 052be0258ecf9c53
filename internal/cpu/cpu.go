// Package cpu counts the CPUs a process may use, honouring its affinity
// mask and, on Linux, its cgroup CPU quota.
package cpu

import "runtime"

// Count returns the usable CPUs, at least 1.
func Count() int {
	n := runtime.NumCPU() // honours the affinity mask on Linux
	if q := quota(); q > 0 && q < n {
		n = q
	}
	return max(n, 1)
}
