package mp

import (
	"context"
	"fmt"
	"sync/atomic"
)

// Map runs f on every item on the pool's workers and returns the results
// in input order (Python's Pool.map and Executor.map).
//
// Items are handed out in chunks of Chunksize consecutive items (by
// default len/(4·workers), rounded up, as in Python). Without Partial, a
// failing task stops the call after it: the items before the failed one
// still run, those after it are not started, and once the items before it
// are done Map cancels the context of the tasks still running and returns
// their results (out[:k] for a failure at item k) with a *TaskError naming
// the item. If several items fail, the error is that of the lowest index.
// With Partial every task runs, and Map returns the results with the
// failures joined. If ctx ends first, Map returns nil and
// context.Cause(ctx) promptly.
//
// Overhead on a goroutine pool is a few nanoseconds per item (see
// docs/benchmarks.md), so even tiny functions gain from parallelism.
func Map[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, opts ...Option) ([]R, error) {
	wait, err := startMap(ctx, p, f, items, opts)
	if err != nil {
		return nil, err
	}
	return wait()
}

// startMap checks a Map call and queues all its chunks, so that a Close
// that follows finds them; wait waits for the results.
func startMap[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, opts []Option) (wait func() ([]R, error), err error) {
	s, err := p.callSettings(opts)
	if err == nil {
		err = f.checkFor(p)
	}
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if s.checkpoint != "" {
		return startMapCheckpointed(ctx, p, f, items, s)
	}
	return startChunks(ctx, p, f, items, s, nil)
}

// startChunks queues the chunks of a Map call with settings s; saved, if
// not nil, is given each chunk as it finishes (Checkpoint).
func startChunks[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, s *settings, saved func(*chunk[A, R])) (wait func() ([]R, error), err error) {
	n := len(items)
	out := make([]R, n)
	if n == 0 {
		return func() ([]R, error) { return out, nil }, nil
	}
	cs := s.chunksize
	if cs == 0 {
		cs = autoChunksize(n, p.spread())
	}
	c := newCall(ctx, p, s, n)
	c.wake = make(chan struct{}, 1)

	nchunks := (n + cs - 1) / cs
	var pending atomic.Int64
	pending.Store(int64(nchunks))
	done := make(chan struct{})
	fins := make([]atomic.Bool, nchunks) // chunk i has finished
	cc := &chunkedCall[A, R]{callCtl: c, runner: newRunner(p, f, s)}
	cc.finished = func(k *chunk[A, R]) {
		if saved != nil {
			saved(k)
		}
		fins[k.base/cs].Store(true)
		if c.stopAt.Load() != noStop {
			select {
			case c.wake <- struct{}{}:
			default:
			}
		}
		if pending.Add(-1) == 0 {
			close(done)
		}
	}
	chunks := make([]chunk[A, R], nchunks)
	jobs := make([]job, nchunks)
	for i := range chunks {
		lo := i * cs
		hi := min(lo+cs, n)
		chunks[i] = chunk[A, R]{call: cc, base: lo, in: items[lo:hi:hi], out: out[lo:hi:hi]}
		jobs[i] = &chunks[i]
	}
	if err := p.enqueue(jobs...); err != nil {
		c.end()
		return nil, err
	}
	// before reports whether every chunk before the one holding item k
	// has finished: the results before k are then all in. next is the
	// first chunk not known to have finished.
	next := 0
	before := func(k int) bool {
		for next < k/cs && fins[next].Load() {
			next++
		}
		return next >= k/cs
	}
	return func() ([]R, error) {
		defer c.end()
	wait:
		for {
			select {
			case <-done:
				break wait
			case <-c.ctx.Done():
				return nil, context.Cause(c.ctx)
			case <-c.wake:
				if first := c.failed(); first != nil && before(first.Index) {
					break wait
				}
			}
		}
		if err := c.ctx.Err(); err != nil {
			// the caller's ctx or Terminate, as the call ended
			return nil, context.Cause(c.ctx)
		}
		if c.partial {
			if err := c.partialErr(); err != nil {
				return out, err
			}
			return out, nil
		}
		if first := c.failed(); first != nil {
			c.cancel(first) // the tasks after it, still running
			return out[:first.Index:first.Index], first
		}
		return out, nil
	}, nil
}

// autoChunksize is Python's Pool.map default: len/(4·workers), rounded up.
func autoChunksize(n, workers int) int {
	cs, extra := n/(workers*4), n%(workers*4)
	if extra > 0 {
		cs++
	}
	return max(cs, 1)
}

// MapAsync starts Map and returns at once; the Future holds the results
// (Python's map_async). Its items are queued before MapAsync returns, so
// that, as in Python, a Close that follows runs them all, and Join and
// Close wait until the Future is resolved. Cancelling the Future cancels
// the call.
func MapAsync[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, opts ...Option) *Future[[]R] {
	ctx, cancel := context.WithCancelCause(ctx)
	wait, err := startMap(ctx, p, f, items, opts)
	if err != nil {
		cancel(nil)
		fut := new(Future[[]R])
		fut.resolve(nil, err)
		return fut
	}
	return async(p, cancel, wait)
}

// Starmap is Map for functions of several arguments (Python's
// pool.starmap(f, [(a, b), ...])): make f with Fn2/Register2 (or Fn3/
// Register3) and give the arguments as Args2 (Args3) values:
//
//	add := mp.Fn2(func(_ context.Context, a, b int) (int, error) { return a + b, nil })
//	sums, err := mp.Starmap(ctx, pool, add, []mp.Args2[int, int]{{A1: 1, A2: 2}, {A1: 3, A2: 4}})
//
// Go has no tuples, so the argument struct plays the tuple; everything
// else is Map.
func Starmap[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, opts ...Option) ([]R, error) {
	return Map(ctx, p, f, items, opts...)
}

// StarmapAsync is MapAsync for functions of several arguments; see
// Starmap.
func StarmapAsync[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, opts ...Option) *Future[[]R] {
	return MapAsync(ctx, p, f, items, opts...)
}

// async resolves a Future with what wait returns, waited for on its own
// goroutine; Cancel on the Future calls cancel. The pool counts the
// Future pending until it is resolved: Join and Close wait for it.
func async[R any](p *Pool, cancel context.CancelCauseFunc, wait func() (R, error)) *Future[R] {
	fut := new(Future[R])
	fut.state.Store(fRunning)
	fut.canceler = cancelFunc(func() bool {
		var zero R
		if !fut.settle(zero, ErrCancelled, fCancelled) {
			return false
		}
		cancel(ErrCancelled)
		return true
	})
	p.asyncStarted()
	go func() {
		defer cancel(nil)
		v, err := wait()
		cbs, _ := fut.settleQuiet(v, err, fDone)
		p.asyncDone()
		fut.runCallbacks(cbs)
	}()
	return fut
}

// cancelFunc makes a func a canceler.
type cancelFunc func() bool

func (f cancelFunc) cancelPending() bool { return f() }

func errNilItems(call string) error {
	return fmt.Errorf("%w: %s with a nil sequence", ErrInvalidOption, call)
}
