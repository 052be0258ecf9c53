package mp

import (
	"context"
	"sync/atomic"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/progress"
)

// Tick advances the progress bar of the call running the task whose
// context is ctx by n: progress from inside a long task (tqdm's
// bar.update(n) in a worker), so that a pool of 8 tasks that each read a
// million rows shows a moving bar, not 8 jumps. It works in a goroutine
// pool, in a worker process (ticks are summed and sent to the pool at
// most every 50 ms per task, and before the task's result) and counts in
// Stats.Ticks. It does nothing when the call has no bar (Progress or
// ProgressBar) and outside a task: the context then carries nothing and
// Tick costs one context lookup. On a cluster worker it does nothing yet.
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
	return func(s *settings) error {
		s.progressTicks = true
		return nil
	}
}

// callTicker advances a call's bar from its tasks' Ticks.
type callTicker struct {
	bar   *progress.Bar
	ticks *atomic.Int64 // the pool's Stats.Ticks
}

func (t *callTicker) Tick(n int64) {
	t.bar.Add(int(n))
	t.ticks.Add(n)
}

// Tick hands on ticks of the chunk's items from a worker process.
func (k *chunk[A, R]) Tick(n int64) {
	if t := k.call.ticker; t != nil {
		t.Tick(n)
	}
}

var _ sched.Ticker = (*chunk[int, int])(nil)
