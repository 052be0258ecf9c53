package mp

// MemFree: hold new tasks back while memory is short, and on a process
// pool restart the youngest task when it is critically short, as GNU
// parallel's --memfree does (and `mp run --memfree`, which reads the
// memory with the same code, internal/memavail).

import (
	"fmt"
	"math"
	"time"

	"github.com/mp-go/mp/internal/memavail"
	"github.com/mp-go/mp/internal/sched"
)

// MemFree holds new tasks back while less than size bytes of memory are
// available, as GNU parallel's --memfree SIZE and `mp run --memfree` do:
// a worker about to take a job waits, looking again every 100 ms and
// whenever a job ends, until there is memory or no other job runs (a job
// alone always runs, so the pool always moves). Available memory is the
// smaller of MemAvailable in /proc/meminfo and, under a cgroup v2
// memory.max, the cgroup's room (memory.max − memory.current). A size of
// 0 turns it off.
//
// On a process pool, while less than size/2 is available and two or more
// jobs run, the worker process that took its job last is killed and its
// unfinished items run again once there is memory: not a failure, not
// counted against Retries, and each result delivered once (the items it
// had finished are kept). The item it was running starts again from the
// beginning, as GNU parallel restarts the job: what that task did before
// the kill (files written, requests sent) may happen twice. Goroutines cannot be killed: a goroutine pool
// only holds back. A cluster pool refuses the option (its workers run on
// other machines, whose memory this process does not see).
//
// Stats counts the holds (MemoryWaits) and the kills (Restarts.MemFree);
// holds are logged at Debug, kills at Warn. Without the option the pool
// reads no clock and no file for it. It is a pool option; Python's
// multiprocessing has no equivalent.
func MemFree(size uint64) PoolOption {
	return poolOption(func(s *settings) error {
		if size > math.MaxInt64 {
			return fmt.Errorf("%w: MemFree(%d) is more than any machine has", ErrInvalidOption, size)
		}
		s.memFree = int64(size)
		return nil
	})
}

// memCheck is how often MemFree reads the memory while a worker is held
// back, and while jobs run on a process pool.
const memCheck = 100 * time.Millisecond

// memGate is MemFree's state in a pool; Pool.mem is nil without it.
type memGate struct {
	size int64
	src  memavail.Source
	shed sched.Shedder // kills the youngest job (process pools); nil otherwise

	// p.mu
	seq     uint64
	running map[*worker]uint64 // workers running a job, by when they took it
	held    int                // workers held back now
}

func newMemGate(s *settings, b sched.Backend) *memGate {
	g := &memGate{size: s.memFree, src: s.memSrc, running: map[*worker]uint64{}}
	if g.src == nil {
		g.src = &memavail.System{}
	}
	g.shed, _ = b.(sched.Shedder)
	return g
}

// started records w running a job, the youngest. p.mu is held.
func (g *memGate) started(w *worker) {
	g.seq++
	g.running[w] = g.seq
}

// ended records w's job done, waking the workers held back: one fewer job
// runs. p.mu is held.
func (g *memGate) ended(p *Pool, w *worker) {
	delete(g.running, w)
	if g.held > 0 {
		p.work.Broadcast()
	}
}

// admits reports whether w may take a job now: memory is not short, or
// no other job runs. If not, it waits (for memCheck, a job's end, or the
// pool's stop) and returns false: the caller looks again at everything.
// held says w has been held back already for this job (MemoryWaits
// counts a job once). p.mu is held; it
// is released while the memory is read and while w waits.
func (g *memGate) admits(p *Pool, w *worker, held bool) bool {
	if len(g.running) == 0 {
		return true
	}
	p.mu.Unlock()
	avail := g.src.Available()
	p.mu.Lock()
	if len(g.running) == 0 || avail >= g.size {
		return true
	}
	if !held {
		p.st.MemoryWaits.Add(1)
		p.log.Debug("mp: memory is short: holding a task back", "worker", w.id, "available", avail, "memfree", g.size, "running", len(g.running))
	}
	g.held++
	t := time.AfterFunc(memCheck, func() {
		p.mu.Lock()
		p.work.Broadcast()
		p.mu.Unlock()
	})
	p.idle++
	p.work.Wait()
	p.idle--
	t.Stop()
	g.held--
	return false
}

// awaitMemory holds w back, as if it were to take a new job, before it
// runs again what Shed cut short (sched.Pool.AwaitMemory).
func (p *Pool) awaitMemory(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.mem
	if g == nil {
		return
	}
	delete(g.running, w)
	for held := false; !p.terminated && !g.admits(p, w, held); held = true {
	}
	g.started(w)
}

// watchMemory kills the youngest job of a process pool while memory is
// critically low (under half of MemFree) and two or more jobs run, every
// memCheck, until the pool's context ends.
func (p *Pool) watchMemory(g *memGate) {
	defer p.memWatch.Done()
	t := time.NewTicker(memCheck)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		n := len(g.running)
		p.mu.Unlock()
		if n < 2 {
			continue
		}
		avail := g.src.Available()
		if avail >= g.size/2 {
			continue
		}
		var young *worker
		var seq uint64
		p.mu.Lock()
		if len(g.running) >= 2 {
			for w, s := range g.running {
				if s > seq {
					young, seq = w, s
				}
			}
		}
		p.mu.Unlock()
		if young != nil && g.shed.Shed(young) {
			p.log.Warn("mp: memory is critically low: killed the worker process that took its task last; the task runs again", "worker", young.id, "pid", young.st.pid.Load(), "available", avail, "memfree", g.size)
		}
	}
}
