package jobs

// --memfree as GNU parallel has it: a job starts only when SIZE bytes of
// memory are available (MemAvailable, or the cgroup's room when smaller:
// package memavail, which mp.MemFree reads too), and while less than half of SIZE is, the
// youngest running job is killed and put back in the queue.

import (
	"sync"
	"time"

	"github.com/mp-go/mp/internal/memavail"
)

// mem is where --memfree reads the memory available: Config.Mem, or the
// machine's (memavail.System: MemAvailable, or the cgroup's room when
// that is smaller).
func (r *Runner) mem() memavail.Source {
	if r.cfg.Mem != nil {
		return r.cfg.Mem
	}
	return &r.sysMem
}

// memCheck is how often --memfree looks at the memory while jobs run.
const memCheck = 100 * time.Millisecond

// running is the registry of the jobs running, for --memfree to find the
// youngest.
type running struct {
	mu   sync.Mutex
	jobs map[int]chan struct{} // by job number: closed to kill it for memory
}

func (rn *running) add(seq int) chan struct{} {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.jobs == nil {
		rn.jobs = map[int]chan struct{}{}
	}
	c := make(chan struct{})
	rn.jobs[seq] = c
	return c
}

func (rn *running) remove(seq int) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	delete(rn.jobs, seq)
}

// killYoungest kills the running job with the highest number, unless it
// is the only one (the oldest always runs on, so the run moves); it
// reports whether it killed one.
func (rn *running) killYoungest() bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if len(rn.jobs) < 2 {
		return false
	}
	young := -1
	for seq := range rn.jobs {
		young = max(young, seq)
	}
	close(rn.jobs[young])
	delete(rn.jobs, young) // killed once
	return true
}

// watchMem is --memfree's watch while the jobs run: under half of
// MemFree, the youngest job is killed (and runJob puts it back). It
// returns when stop is closed.
func (r *Runner) watchMem(stop <-chan struct{}) {
	t := time.NewTicker(memCheck)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if !r.stopping.Load() && r.mem().Available() < r.cfg.MemFree/2 && r.live.killYoungest() {
			r.event(map[string]any{"event": "memfree-kill", "available": r.mem().Available()})
		}
	}
}
