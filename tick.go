package mp

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/progress"
)

// Tick advances the progress bar of the call running the task whose
// context is ctx by n: progress from inside a long task (tqdm's
// bar.update(n) in a worker), so that a pool of 8 tasks that each read a
// million rows shows a moving bar, not 8 jumps. It works in a goroutine
// pool, in a worker process (ticks are summed and sent to the pool at
// most every 50 ms per task, and before the task's result), on a cluster
// worker (summed and sent at most every 50 ms per task on a core NATS
// subject of the pool's; one lost on a reconnect only holds the bar back
// until the task's result, which brings the task's count in all), and
// counts in Stats.Ticks. It does nothing when the call has no bar
// (Progress, ProgressBar or WorkerBars) and outside a task: the context
// then carries nothing, Tick costs one context lookup and workers send
// nothing.
//
// By default a bar counts items and ticks add to it; with ProgressTicks
// it counts ticks only: give it the total with progress.Total.
//
//	mp.Map(ctx, pool, countRows, files, mp.Progress("rows", progress.Total(rows)), mp.ProgressTicks())
//	// in countRows, per row: mp.Tick(ctx, 1)
func Tick(ctx context.Context, n int) {
	if t := sched.TickerFrom(ctx); t != nil {
		t.Tick(int64(n))
	}
}

// ProgressTicks makes the call's progress bar count the ticks of its
// tasks (Tick) instead of its items; give the bar its total with
// progress.Total (Progress("rows", progress.Total(n))) or make it with
// ProgressBar.
func ProgressTicks() Option {
	return callOption(func(s *settings) error {
		s.progressTicks = true
		return nil
	})
}

// WorkerBars gives each worker that runs items of the call a bar of its
// own in g, "worker N" (tqdm's position=i, one bar per process), advanced
// as the call's bar is: by the items the worker runs (in a worker process:
// as each task ends), unless ProgressTicks, and by its tasks' Ticks. The
// call's own bar, if any, still counts everything. The caller closes g.
func WorkerBars(g *progress.Group) Option {
	return callOption(func(s *settings) error {
		if g == nil {
			return fmt.Errorf("%w: WorkerBars(nil)", ErrInvalidOption)
		}
		s.workerBars = g
		return nil
	})
}

// callTicker advances a call's bar from its tasks' Ticks.
type callTicker struct {
	bar   *progress.Bar // nil: per-worker bars only
	ticks *atomic.Int64 // the pool's Stats.Ticks
}

// Tick counts n ticks in Stats, then on the bar: whoever sees the bar
// move sees Stats.Ticks moved as far (the cluster tick test read the bar
// at 1000 and Stats.Ticks at 500 when the bar came first).
func (t *callTicker) Tick(n int64) {
	t.ticks.Add(n)
	if t.bar != nil {
		t.bar.Add(int(n))
	}
}

// workerTicker advances a call's bar and a worker's, from the Ticks of
// tasks run on the worker's goroutine.
type workerTicker struct {
	call *callTicker
	bar  *progress.Bar
}

func (t *workerTicker) Tick(n int64) {
	t.call.Tick(n)
	t.bar.Add(int(n))
}

// workerBar returns the bar of worker id in the call's WorkerBars group,
// making it on first use; nil without WorkerBars.
func (c *callCtl) workerBar(id int) *progress.Bar {
	if c.group == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.wbars[id]
	if b == nil {
		if c.wbars == nil {
			c.wbars = map[int]*progress.Bar{}
		}
		b = c.group.New(0, progress.Description(fmt.Sprintf("worker %d", id)))
		c.wbars[id] = b
	}
	return b
}

// TickOn hands on ticks of the chunk's items from the worker process of
// slot s.
func (k *chunk[A, R]) TickOn(s sched.Slot, n int64) {
	c := k.call
	if c.ticker != nil {
		c.ticker.Tick(n)
	}
	if b := c.workerBar(s.ID()); b != nil {
		b.Add(int(n))
	}
}

var _ sched.JobTicker = (*chunk[int, int])(nil)
