package memavail

import (
	"io/fs"
	"os"
	"testing"
)

// fakeFS is a file system of a few files, for System.read.
type fakeFS map[string]string

func (f fakeFS) read(name string) ([]byte, error) {
	if s, ok := f[name]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

const meminfo = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    8000000 kB\n"

func TestAvailable(t *testing.T) {
	tests := []struct {
		name  string
		files fakeFS
		want  int64
	}{
		{"meminfo alone", fakeFS{"/proc/meminfo": meminfo}, 8000000 << 10},
		{"nothing readable", fakeFS{}, Unknown},
		{"no MemAvailable line", fakeFS{"/proc/meminfo": "MemTotal: 5 kB\n"}, Unknown},
		{"cgroup v2 without a limit", fakeFS{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/app\n",
			"/sys/fs/cgroup/app/memory.max": "max\n", "/sys/fs/cgroup/app/memory.current": "1000\n",
		}, 8000000 << 10},
		{"cgroup v2 room smaller than the machine's", fakeFS{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/app\n",
			"/sys/fs/cgroup/app/memory.max": "1073741824\n", "/sys/fs/cgroup/app/memory.current": "73741824\n",
		}, 1000000000},
		{"a parent's limit counts", fakeFS{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/a/b\n",
			"/sys/fs/cgroup/a/b/memory.max": "max\n", "/sys/fs/cgroup/a/b/memory.current": "10\n",
			"/sys/fs/cgroup/a/memory.max": "5000\n", "/sys/fs/cgroup/a/memory.current": "1000\n",
		}, 4000},
		{"cgroup over its limit", fakeFS{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "0::/app\n",
			"/sys/fs/cgroup/app/memory.max": "100\n", "/sys/fs/cgroup/app/memory.current": "200\n",
		}, 0},
		{"cgroup v1 lines are ignored", fakeFS{
			"/proc/meminfo": meminfo, "/proc/self/cgroup": "4:memory:/x\n",
			"/sys/fs/cgroup/x/memory.max": "100\n", "/sys/fs/cgroup/x/memory.current": "0\n",
		}, 8000000 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &System{read: tt.files.read}
			if got := s.Available(); got != tt.want {
				t.Errorf("Available() = %d, want %d", got, tt.want)
			}
		})
	}
}

// On this machine a reading is MemAvailable or less.
func TestSystemReadsThisMachine(t *testing.T) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Skip("no /proc/meminfo")
	}
	n, ok := memAvailable(string(b))
	if !ok {
		t.Fatal("MemAvailable of /proc/meminfo not read")
	}
	var s System
	if got := s.Available(); got <= 0 || got > n+n/2 {
		t.Errorf("Available() = %d; MemAvailable is %d", got, n)
	}
}
