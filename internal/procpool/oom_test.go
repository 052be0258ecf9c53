package procpool

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// The worker's stderr lines that say the Go runtime (or the race
// detector's) ran out of memory, and those that do not.
func TestMemWatchLine(t *testing.T) {
	for _, c := range []struct {
		line string
		oom  bool
	}{
		{"runtime: out of memory: cannot allocate 8388608-byte block (247103488 in use)\n", true},
		{"fatal error: out of memory", true},
		{"fatal error: runtime: cannot allocate memory\n", true},
		{"fatal error: out of memory allocating heap arena map", true},
		{"==15061==ERROR: ThreadSanitizer failed to allocate 0x8000000 (134217728) bytes at address 218008000000 (errno: 12)\n", true},
		{"fatal error: too many address space collisions for -race mode", true},
		{"fatal error: all goroutines are asleep - deadlock!", false},
		{"panic: out of memory in my own program's words", false},
		{"log: the cache ran out of memory: evicting", false},
	} {
		m := &memWatch{}
		m.line([]byte(c.line))
		err := m.verdict(0)
		if got := errors.Is(err, ErrOutOfMemory); got != c.oom {
			t.Errorf("stderr line %q: out of memory = %v (%v), want %v", c.line, got, err, c.oom)
		}
		if c.oom && !strings.Contains(err.Error(), strings.TrimSpace(c.line)) {
			t.Errorf("stderr line %q: the error %q does not quote it", c.line, err)
		}
	}
}

// A SIGKILL is put down to the OOM killer only when the cgroup counted a
// kill since the worker started.
func TestMemWatchCgroupKills(t *testing.T) {
	for _, c := range []struct {
		name        string
		start, end  cgroupMem
		sig         syscall.Signal
		oom         bool
		wantInError string
	}{
		{"a kill counted", cgroupMem{dir: "/cg/w", kills: 1, limit: 64 << 20, limDir: "/cg/w", file: "memory.max"}, cgroupMem{dir: "/cg/w", kills: 2, limit: 64 << 20, limDir: "/cg/w", file: "memory.max"}, syscall.SIGKILL, true, "limited to 64.0 MiB (memory.max"},
		{"no new kill", cgroupMem{dir: "/cg/w", kills: 1}, cgroupMem{dir: "/cg/w", kills: 1}, syscall.SIGKILL, false, ""},
		{"a kill, but not by SIGKILL", cgroupMem{dir: "/cg/w"}, cgroupMem{dir: "/cg/w", kills: 1}, syscall.SIGSEGV, false, ""},
		{"v1 zombie in the root: the start's cgroup counts", cgroupMem{dir: "/cg/w", kills: 0}, cgroupMem{dir: "/cg", top: true}, syscall.SIGKILL, false, ""},
		{"unknown cgroup", cgroupMem{}, cgroupMem{}, syscall.SIGKILL, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &memWatch{atStart: c.start, atEnd: c.end}
			err := m.verdict(c.sig)
			if got := errors.Is(err, ErrOutOfMemory); got != c.oom {
				t.Fatalf("out of memory = %v (%v), want %v", got, err, c.oom)
			}
			if c.oom && !strings.Contains(err.Error(), c.wantInError) {
				t.Fatalf("error %q: want %q in it", err, c.wantInError)
			}
		})
	}
}
