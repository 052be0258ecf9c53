// Package memavail tells how much memory is available to start more work:
// the smaller of the machine's MemAvailable (/proc/meminfo) and the room
// left in this process's cgroup (cgroup v2: memory.max − memory.current,
// for this cgroup and each parent that has a limit). It is what `mp run
// --memfree` and the pool option mp.MemFree read.
package memavail

import (
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
)

// Source tells how many bytes of memory are available. Tests give a pool
// or a runner one that reports what they need.
type Source interface {
	// Available is the number of bytes available now.
	Available() int64
}

// Unknown is what System reports where nothing can be read (not Linux,
// no /proc): a number too large to hold anything back.
const Unknown int64 = 1 << 62

// System is the Source of this machine: the smaller of MemAvailable of
// /proc/meminfo and the room left under the cgroup's memory.max. Its
// zero value is ready to use; it finds its cgroup on the first reading.
// A reading costs a few file reads (tens of microseconds).
type System struct {
	once sync.Once
	dirs []string // the cgroup v2 directories, this one and its parents, that limit memory
	read func(string) ([]byte, error)
}

var _ Source = (*System)(nil)

// Available returns the bytes available now, or Unknown.
func (s *System) Available() int64 {
	s.once.Do(s.find)
	avail := Unknown
	if b, err := s.read("/proc/meminfo"); err == nil {
		if n, ok := memAvailable(string(b)); ok {
			avail = n
		}
	}
	for _, dir := range s.dirs {
		if room, ok := cgroupRoom(dir, s.read); ok && room < avail {
			avail = room
		}
	}
	return avail
}

// find lists the cgroup v2 directories whose memory.max may limit this
// process: its own cgroup and each parent up to the root of the mount.
func (s *System) find() {
	if s.read == nil {
		s.read = os.ReadFile
	}
	b, err := s.read("/proc/self/cgroup")
	if err != nil {
		return
	}
	s.dirs = cgroupDirs(string(b), s.read)
}

// cgroupDirs returns the directories under /sys/fs/cgroup of the cgroup
// v2 named in procCgroup (the text of /proc/self/cgroup) and of its
// parents, those that have a memory.max.
func cgroupDirs(procCgroup string, read func(string) ([]byte, error)) []string {
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(procCgroup), "\n") {
		rest, ok := strings.CutPrefix(line, "0::")
		if !ok {
			continue
		}
		for dir := path.Clean("/" + rest); ; dir = path.Dir(dir) {
			d := path.Join("/sys/fs/cgroup", dir)
			if _, err := read(d + "/memory.max"); err == nil {
				dirs = append(dirs, d)
			}
			if dir == "/" {
				break
			}
		}
	}
	return dirs
}

// memAvailable reads MemAvailable, in bytes, from the text of
// /proc/meminfo.
func memAvailable(meminfo string) (int64, bool) {
	for line := range strings.SplitSeq(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// cgroupRoom is memory.max − memory.current of the cgroup in dir (0 when
// it is over), and false when it has no limit ("max") or cannot be read.
func cgroupRoom(dir string, read func(string) ([]byte, error)) (int64, bool) {
	mb, err1 := read(dir + "/memory.max")
	cb, err2 := read(dir + "/memory.current")
	if err1 != nil || err2 != nil {
		return 0, false
	}
	limit, err1 := strconv.ParseInt(strings.TrimSpace(string(mb)), 10, 64)
	used, err2 := strconv.ParseInt(strings.TrimSpace(string(cb)), 10, 64)
	if err1 != nil || err2 != nil { // "max": no limit
		return 0, false
	}
	return max(limit-used, 0), true
}
