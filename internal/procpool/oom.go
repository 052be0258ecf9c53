package procpool

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
)

// ErrOutOfMemory is wrapped by the reason given for a worker that ran out
// of memory: the Go runtime's "fatal error: out of memory", or the
// kernel's OOM killer (seen in its memory cgroup's count of OOM kills).
var ErrOutOfMemory = errors.New("out of memory")

// memWatch gathers what tells, once a worker has ended, that it ran out
// of memory, and what its limit was: its memory cgroup (looked at when
// it starts and when it has ended), its address-space limit (read while
// it is a zombie), GOMEMLIMIT in its environment, and the Go runtime's
// out-of-memory line on its stderr.
type memWatch struct {
	pid int
	env []string

	mu      sync.Mutex
	goLine  string    // the runtime's "out of memory" line, if it wrote one
	atStart cgroupMem // its memory cgroup when it started
	atEnd   cgroupMem // and when it had ended, not yet reaped
	asLimit uint64    // RLIMIT_AS when it had ended; 0: unknown or none
}

// cgroupMem is a memory cgroup's state.
type cgroupMem struct {
	dir    string // "": unknown
	kills  int64  // OOM kills counted there
	limit  uint64 // the tightest limit on it and its ancestors; 0: none
	limDir string // where limit is set
	file   string // the file that gives limit: memory.max, memory.limit_in_bytes
	top    bool   // dir is the root of the hierarchy (as mounted here)
}

func newMemWatch(pid int, env []string) *memWatch {
	m := &memWatch{pid: pid, env: env}
	m.atStart = cgroupOf(pid)
	return m
}

// line looks at one line of the worker's stderr.
func (m *memWatch) line(b []byte) {
	b = bytes.TrimSpace(b)
	// "runtime: out of memory: cannot allocate 8388608-byte block (...)",
	// then "fatal error: out of memory"; "fatal error: runtime: cannot
	// allocate memory" (a stack or runtime structure); "fatal error: out
	// of memory allocating heap arena map"; and in a -race build
	// "==4711==ERROR: ThreadSanitizer failed to allocate 0x8000000
	// (134217728) bytes at address 218008000000 (errno: 12)" or (the
	// heap could not grow where the race detector wants it) "fatal error:
	// too many address space collisions for -race mode"
	if bytes.HasPrefix(b, []byte("runtime: out of memory")) || bytes.HasPrefix(b, []byte("fatal error: out of memory")) ||
		bytes.HasPrefix(b, []byte("fatal error: runtime: cannot allocate memory")) ||
		(bytes.Contains(b, []byte("Sanitizer failed to allocate")) && bytes.Contains(b, []byte("(errno: 12)"))) ||
		bytes.HasPrefix(b, []byte("fatal error: too many address space collisions for -race mode")) {
		m.mu.Lock()
		if m.goLine == "" || strings.HasPrefix(m.goLine, "fatal") { // the runtime's line says more
			m.goLine = string(b)
		}
		m.mu.Unlock()
	}
}

// ended reads what can be read only before the worker is reaped.
func (m *memWatch) ended() {
	cg, as := cgroupOf(m.pid), addressSpaceLimit(m.pid)
	m.mu.Lock()
	m.atEnd, m.asLimit = cg, as
	m.mu.Unlock()
}

// verdict says, after the worker has ended with sig (0: it exited),
// whether it ran out of memory: an error wrapping ErrOutOfMemory that
// names the limit, or nil.
func (m *memWatch) verdict(sig syscall.Signal) error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	end := m.atEnd
	if end.dir == "" || end.top {
		end = m.atStart // cgroup v1 shows a zombie in the root cgroup
	}
	end.kills = cgroupKills(end.dir, end.kills)
	if m.goLine != "" {
		return fmt.Errorf("%w: its runtime wrote %q to stderr%s", ErrOutOfMemory, m.goLine, m.limits(end))
	}
	killed := end.kills > 0
	if end.dir == m.atStart.dir {
		killed = end.kills > m.atStart.kills
	}
	if sig == syscall.SIGKILL && killed {
		return fmt.Errorf("%w: the kernel's OOM killer killed it%s", ErrOutOfMemory, m.limits(end))
	}
	return nil
}

// limits names the limits known, as "; ..." or "".
func (m *memWatch) limits(cg cgroupMem) string {
	var s []string
	if cg.limit > 0 {
		at := ""
		if cg.limDir != cg.dir {
			at = " in " + cg.limDir
		}
		s = append(s, fmt.Sprintf("its memory cgroup %s is limited to %s (%s%s; %d OOM kills counted there)", cg.dir, mib(cg.limit), cg.file, at, cg.kills))
	} else if cg.kills > 0 {
		s = append(s, fmt.Sprintf("%d OOM kills counted in its memory cgroup %s", cg.kills, cg.dir))
	}
	if m.asLimit > 0 {
		s = append(s, fmt.Sprintf("its address-space limit is %s (RLIMIT_AS, ulimit -v)", mib(m.asLimit)))
	}
	for i := len(m.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(m.env[i], "GOMEMLIMIT="); ok {
			s = append(s, "GOMEMLIMIT="+v+" (a soft limit: the garbage collector works harder near it)")
			break
		}
	}
	if len(s) == 0 {
		return "; no limit is known: the machine's memory ran out"
	}
	return "; " + strings.Join(s, "; ")
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
