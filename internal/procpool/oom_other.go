//go:build !linux

package procpool

func cgroupOf(pid int) cgroupMem              { return cgroupMem{} }
func cgroupKills(dir string, old int64) int64 { return old }
func addressSpaceLimit(pid int) uint64        { return 0 }
