//go:build linux

package cpu

import (
	"errors"
	"testing"
)

func TestQuotaFrom(t *testing.T) {
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if s, ok := m[p]; ok {
				return []byte(s), nil
			}
			return nil, errors.New("no such file")
		}
	}
	tests := []struct {
		name   string
		cgroup string
		files  map[string]string
		want   int
	}{
		{"v2 no limit", "0::/user.slice", map[string]string{"/sys/fs/cgroup/user.slice/cpu.max": "max 100000\n"}, 0},
		{"v2 1.5 cpus rounds up", "0::/box", map[string]string{"/sys/fs/cgroup/box/cpu.max": "150000 100000\n"}, 2},
		{"v2 limit on parent", "0::/a/b", map[string]string{"/sys/fs/cgroup/a/cpu.max": "100000 100000"}, 1},
		{"v2 root", "0::/", map[string]string{"/sys/fs/cgroup/cpu.max": "300000 100000"}, 3},
		{"v1", "4:cpu,cpuacct:/docker/x\n", map[string]string{
			"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "200000",
			"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
		}, 2},
		{"v1 unlimited", "4:cpu,cpuacct:/", map[string]string{
			"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":  "-1",
			"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
		}, 0},
		{"garbage", "nonsense", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quotaFrom(tt.cgroup, files(tt.files)); got != tt.want {
				t.Errorf("quotaFrom = %d, want %d", got, tt.want)
			}
		})
	}
	if n := Count(); n < 1 {
		t.Errorf("Count() = %d", n)
	}
}

// FuzzQuotaFrom feeds arbitrary /proc/self/cgroup text and cgroup files:
// the parser must never panic, and a limit is never below one CPU.
func FuzzQuotaFrom(f *testing.F) {
	f.Add("0::/box", "150000 100000")
	f.Add("4:cpu,cpuacct:/docker/x", "200000")
	f.Add("0::/", "max 100000")
	f.Fuzz(func(t *testing.T, cgroup, file string) {
		q := quotaFrom(cgroup, func(string) ([]byte, error) { return []byte(file), nil })
		if q < 0 {
			t.Fatalf("negative quota %d", q)
		}
	})
}
