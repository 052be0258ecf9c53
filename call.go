package mp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/progress"
	"golang.org/x/sys/cpu"
)

// callCtl is the state every multi-task call (Map, Imap, ...) shares:
// its context, its stop flag, its errors and its progress bar.
type callCtl struct {
	pool   *Pool
	ctx    context.Context // cancelled by the caller, by Terminate, or once a failed call has the results before its failure
	cancel context.CancelCauseFunc
	_      cpu.CacheLinePad // stopAt is read for every item by every worker:
	// stopAt is the index from which items are no longer started: noStop
	// while the call runs, the failed index + 1 after a failure (the items
	// before it still run, so that results before an error are kept, as in
	// Python), and 0 once the call's context has ended.
	stopAt  atomic.Int64 // keep its cache line free of anything written
	_       cpu.CacheLinePad
	partial bool
	seq     uint64 // the call's number in its pool
	bar     *progress.Bar
	itemBar *progress.Bar // bar, unless it counts ticks only (ProgressTicks)
	ticker  *callTicker   // advances bar from Tick; nil without a bar
	ownBar  bool
	group   *progress.Group       // WorkerBars
	wbars   map[int]*progress.Bar // by worker; mu
	wItems  bool                  // worker bars count items (not ProgressTicks)
	unhook  func() bool

	// wake, if not nil, is signalled (without blocking) on each failure.
	wake chan struct{}

	mu    sync.Mutex
	first *TaskError // failure of the lowest index, without Partial
	errs  []error    // every failure, with Partial
}

// noStop is stopAt while the call runs.
const noStop = math.MaxInt64

// skip reports whether item index must not be started.
func (c *callCtl) skip(index int) bool { return int64(index) >= c.stopAt.Load() }

// lowerStop lowers stopAt to at most i.
func (c *callCtl) lowerStop(i int64) {
	for {
		old := c.stopAt.Load()
		if old <= i || c.stopAt.CompareAndSwap(old, i) {
			return
		}
	}
}

// failed returns the failure of the lowest index so far (without
// Partial), or nil.
func (c *callCtl) failed() *TaskError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// newCall starts a call's control block on p; total is the item count
// when known (for the progress bar), else -1. The caller must call end.
func newCall(ctx context.Context, p *Pool, s *settings, total int) *callCtl {
	c := &callCtl{pool: p, partial: s.partial, seq: p.callSeq.Add(1)}
	c.stopAt.Store(noStop)
	if s.progressTicks {
		total = -1 // unknown, unless progress.Total says
	}
	switch {
	case s.bar != nil:
		c.bar = s.bar
	case s.progressDesc != nil:
		c.bar, c.ownBar = newBar(s, int64(total)), true
	}
	c.group, c.wItems = s.workerBars, s.workerBars != nil && !s.progressTicks
	if c.bar != nil || c.group != nil {
		// The tasks' context carries the bar for Tick: nothing without one.
		// (With WorkerBars, the goroutine of each worker puts its own.)
		c.ticker = &callTicker{bar: c.bar, ticks: &p.st.Ticks}
		ctx = sched.WithTicker(ctx, c.ticker)
		if !s.progressTicks {
			c.itemBar = c.bar
		}
	}
	c.ctx, c.cancel = context.WithCancelCause(ctx)
	c.unhook = context.AfterFunc(c.ctx, func() { c.stopAt.Store(0) })
	p.track(c)
	return c
}

func (c *callCtl) end() {
	c.pool.untrack(c)
	c.unhook()
	c.cancel(nil)
	if c.ownBar {
		c.bar.Close()
	}
}

// newBar makes the bar that Progress asked for.
func newBar(s *settings, total int64) *progress.Bar {
	opts := append([]progress.Option{progress.Description(*s.progressDesc)}, s.progressOpts...)
	return progress.New(total, opts...)
}

func errOnlyProgress(call string) error {
	return fmt.Errorf("%w: %s takes only Progress or ProgressBar", ErrInvalidOption, call)
}

// fail records the failure of item index. Without Partial a failure
// stops the call after it: items of higher index are not started, while
// those before it run on, so that the call can give their results before
// the error (Python's order). The caller of the call (Map, the loop over
// Imap) cancels the tasks still running once it has what it needs.
func (c *callCtl) fail(index int, err error) error {
	te := &TaskError{Index: index, Err: err}
	c.mu.Lock()
	if c.partial {
		c.errs = append(c.errs, te)
	} else if c.first == nil || index < c.first.Index {
		c.first = te
		c.lowerStop(int64(index) + 1)
	}
	c.mu.Unlock()
	if c.wake != nil {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return te
}

// partialErr joins the failures of a Partial call in index order.
func (c *callCtl) partialErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	slices.SortFunc(c.errs, func(a, b error) int {
		return cmp.Compare(a.(*TaskError).Index, b.(*TaskError).Index)
	})
	return errors.Join(c.errs...)
}

// runner runs one task with the call's Timeout and Retries, turning a
// panic into a *PanicError.
type runner[A, R any] struct {
	name    string // registered name, for worker processes
	fn      func(context.Context, A) (R, error)
	timeout time.Duration
	retries int
	st      *sched.Counters // the pool's, for Stats
}

func newRunner[A, R any](p *Pool, f Func[A, R], s *settings) runner[A, R] {
	return runner[A, R]{name: f.name, fn: f.fn, timeout: s.timeout, retries: s.retries, st: &p.st}
}

func (r *runner[A, R]) run(ctx context.Context, a A) (res R, err error) {
	for attempt := 0; ; attempt++ {
		if r.timeout > 0 {
			res, err = r.tryTimeout(ctx, a)
		} else {
			res, err = r.try(ctx, a)
		}
		if err == nil || attempt >= r.retries || ctx.Err() != nil {
			return res, err
		}
		r.st.Retried.Add(1)
	}
}

func (r *runner[A, R]) try(ctx context.Context, a A) (res R, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
	}()
	return r.fn(ctx, a)
}

func (r *runner[A, R]) tryTimeout(ctx context.Context, a A) (res R, err error) {
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err = r.try(tctx, a)
	if tctx.Err() != nil && ctx.Err() == nil {
		// late: whatever it returned, the task timed out
		var zero R
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return zero, fmt.Errorf("%w after %v: %w", ErrTimeout, r.timeout, err)
		}
		return zero, fmt.Errorf("%w after %v", ErrTimeout, r.timeout)
	}
	return res, err
}

// chunk is a run of consecutive items of one call: the job a worker takes.
type chunk[A, R any] struct {
	call *chunkedCall[A, R]
	base int // index of in[0] in the call's input
	in   []A
	out  []R
	errs []error // per item, made on the first failure
	nerr int     // items failed
	ran  int     // items reported; fewer than len(in) if the call stopped
	took time.Duration
	err  error         // why no item ran, if not the call's stop (Imap)
	done chan struct{} // closed when every item is reported (Imap)
}

// chunkedCall is what the chunks of one Map/Imap call share.
type chunkedCall[A, R any] struct {
	*callCtl
	runner[A, R]
	finished func(*chunk[A, R]) // called once per chunk, after its last item
}

func (k *chunk[A, R]) run(w *worker) {
	c := k.call
	if c.skip(k.base) {
		k.finishTo(&w.st.out)
		return
	}
	ctx := w.taskContext(c.ctx)
	var wbar *progress.Bar // the worker's own bar, for its items
	if c.group != nil {
		b := c.workerBar(w.id)
		ctx = sched.WithTicker(ctx, &workerTicker{call: c.ticker, bar: b})
		if c.wItems {
			wbar = b
		}
	}
	start := time.Now()
	w.startChunk(start)
	if c.timeout == 0 && c.retries == 0 {
		// fast path: one recover for the whole chunk, resumed after a panic
		for k.runPlain(ctx, wbar) {
		}
	} else {
		for i, a := range k.in {
			if c.skip(k.base + i) {
				break
			}
			r, err := c.runner.run(ctx, a)
			k.report(i, r, err)
			if wbar != nil {
				wbar.Add(1)
			}
		}
	}
	w.tasks += k.ran
	k.took = time.Since(start)
	w.ranChunk(k.took)
	k.finishTo(&w.st.out)
}

// runPlain runs items from k.ran on and reports whether it must be called
// again, after a task panicked.
func (k *chunk[A, R]) runPlain(ctx context.Context, wbar *progress.Bar) (again bool) {
	c := k.call
	i := k.ran // kept local: chunks of one call sit side by side in memory
	defer func() {
		if v := recover(); v != nil {
			var zero R
			k.report(i, zero, newPanicError(v))
			if wbar != nil {
				wbar.Add(1)
			}
			again = k.ran < len(k.in)
		}
	}()
	fn, in, out, bar, base := c.fn, k.in, k.out, c.itemBar, int64(k.base)
	for ; i < len(in); i++ {
		if base+int64(i) >= c.stopAt.Load() {
			break
		}
		r, err := fn(ctx, in[i])
		if wbar != nil {
			wbar.Add(1)
		}
		if err != nil {
			k.report(i, r, err)
			continue
		}
		out[i] = r
		if bar != nil {
			bar.Add(1)
		}
	}
	k.ran = i
	return false
}

// report records the outcome of item i, the next one to report.
func (k *chunk[A, R]) report(i int, r R, err error) {
	c := k.call
	if err != nil {
		if k.errs == nil {
			k.errs = make([]error, len(k.in))
		}
		k.errs[i] = c.fail(k.base+i, err)
		k.nerr++
		c.pool.noteFailure(k.base+i, k.in[i], err)
		if errors.Is(err, ErrTimeout) {
			c.pool.st.TimedOut.Add(1)
		}
	} else {
		k.out[i] = r
	}
	k.ran = i + 1
	if c.itemBar != nil {
		c.itemBar.Add(1)
	}
}

// Abort reports a chunk that will never run: its call fails with err.
func (k *chunk[A, R]) Abort(err error) {
	k.call.cancel(err)
	k.finish()
}

// finish reports the chunk done; the worker must not touch k afterwards,
// as the caller may reuse it.
func (k *chunk[A, R]) finish() { k.finishTo(&k.call.pool.st.Outcomes) }

// finishTo is finish, counting the items' outcomes in o (for Stats: the
// worker's own counters when it runs on the worker's goroutine).
func (k *chunk[A, R]) finishTo(o *sched.Outcomes) {
	if k.err == nil { // else it was never queued
		if n := k.ran - k.nerr; n > 0 {
			o.Done.Add(int64(n))
		}
		if k.nerr > 0 {
			o.Failed.Add(int64(k.nerr))
		}
		if n := len(k.in) - k.ran; n > 0 {
			o.Cancelled.Add(int64(n))
		}
	}
	done := k.done
	k.call.finished(k)
	if done != nil {
		close(done)
	}
}
