//go:build linux

package cpu

import (
	"math"
	"os"
	"path"
	"strconv"
	"strings"
)

// quota returns the cgroup CPU limit rounded up, or 0 when there is none.
func quota() int {
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		if q := quotaFrom(string(b), os.ReadFile); q > 0 {
			return q
		}
	}
	return 0
}

// quotaFrom reads the limit of the cgroup named in procCgroup (the text of
// /proc/self/cgroup), v2 first, then v1.
func quotaFrom(procCgroup string, read func(string) ([]byte, error)) int {
	for _, line := range strings.Split(strings.TrimSpace(procCgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "": // cgroup v2
			for dir := path.Clean("/" + parts[2]); ; dir = path.Dir(dir) {
				if b, err := read(path.Join("/sys/fs/cgroup", dir, "cpu.max")); err == nil {
					if q := parseV2(string(b)); q > 0 {
						return q
					}
				}
				if dir == "/" {
					break
				}
			}
		case strings.Contains(","+parts[1]+",", ",cpu,"): // cgroup v1
			for _, root := range []string{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu"} {
				qb, err1 := read(root + "/cpu.cfs_quota_us")
				pb, err2 := read(root + "/cpu.cfs_period_us")
				if err1 == nil && err2 == nil {
					if q := ratio(strings.TrimSpace(string(qb)), strings.TrimSpace(string(pb))); q > 0 {
						return q
					}
				}
			}
		}
	}
	return 0
}

// parseV2 parses cpu.max: "max 100000" or "150000 100000".
func parseV2(s string) int {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0
	}
	return ratio(f[0], f[1])
}

func ratio(quota, period string) int {
	q, err1 := strconv.ParseFloat(quota, 64)
	p, err2 := strconv.ParseFloat(period, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0
	}
	return int(math.Ceil(q / p))
}
