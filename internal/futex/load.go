package futex

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Crowded reports whether the machine has had more runnable threads,
// lately, than this process may use cores plus one (by half a thread or
// more): a moving average of the kernel's count of running tasks (Linux:
// /proc/loadavg's fourth field), sampled at most every loadEvery, against
// runtime.NumCPU (the process's CPU affinity). The one more is ours: the
// count includes the spinning sides of a ring themselves and the Go
// runtime's threads looking for work beside them, which make a quiet
// round trip between two processes on 2 cores count 3 (measured: 2–6,
// mostly 3); with cores + ½ as the bound, a quiet Apply loop counted as
// crowded, stopped spinning, and its round trips took 2–3× longer. It
// is false where the count is unknown.
func Crowded() bool { return machine.crowded(time.Now().UnixNano()) }

// loadEvery bounds how often the run queue is sampled: reading
// /proc/loadavg costs a few microseconds.
const loadEvery = 5 * time.Millisecond

// machine is the cached state of the machine this process runs on (a
// fact about the machine, shared by every ring of the process).
var machine = loadGauge{cpus: runtime.NumCPU(), sample: runningTasks}

// loadGauge keeps a moving average of the running tasks, in 1/16ths.
type loadGauge struct {
	cpus   int
	sample func() (int, bool) // the running tasks now; false: unknown
	next   atomic.Int64       // Unix ns of the next sample
	avg16  atomic.Int64       // moving average × 16; 0 before the first sample
}

// budget is how long Spin watches: SpinCrowded or SpinIdle.
func (g *loadGauge) budget(now int64) time.Duration {
	if g.crowded(now) {
		return SpinCrowded
	}
	return SpinIdle
}

func (g *loadGauge) crowded(now int64) bool {
	next := g.next.Load()
	if now >= next && g.next.CompareAndSwap(next, now+int64(loadEvery)) {
		if n, ok := g.sample(); ok {
			old := g.avg16.Load()
			v := int64(n) * 16
			if old != 0 {
				v = (3*old + v) / 4
			}
			g.avg16.Store(v)
		}
	}
	// Half a task over the cores: a blip of one extra task does not count.
	return g.avg16.Load() > int64(g.cpus+1)*16+8
}
