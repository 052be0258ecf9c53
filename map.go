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
// default len/(4·workers), rounded up, as in Python). Without Partial, the
// first failing task stops the call: tasks not started are skipped, the
// context of running ones is cancelled, and Map returns at once with a
// *TaskError naming the item. With Partial every task runs, and Map
// returns the results with the failures joined. If ctx ends first, Map
// returns context.Cause(ctx) promptly.
//
// Overhead on a goroutine pool is a few nanoseconds per item (see
// docs/benchmarks.md), so even tiny functions gain from parallelism.
func Map[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, opts ...Option) ([]R, error) {
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
	n := len(items)
	out := make([]R, n)
	if n == 0 {
		return out, nil
	}
	cs := s.chunksize
	if cs == 0 {
		cs = autoChunksize(n, p.n)
	}
	c := newCall(ctx, p, s, n)
	defer c.end()

	nchunks := (n + cs - 1) / cs
	var pending atomic.Int64
	var ran atomic.Int64
	pending.Store(int64(nchunks))
	done := make(chan struct{})
	cc := &chunkedCall[A, R]{callCtl: c, runner: newRunner(f, s)}
	cc.finished = func(k *chunk[A, R]) {
		ran.Add(int64(k.ran))
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
		return nil, err
	}
	select {
	case <-done:
	case <-c.ctx.Done():
	}
	if ran.Load() != int64(n) {
		// stopped early: the first failure, the caller's ctx, or Terminate
		return nil, context.Cause(c.ctx)
	}
	if c.partial {
		if err := c.partialErr(); err != nil {
			return out, err
		}
		return out, nil
	}
	c.mu.Lock()
	first := c.first
	c.mu.Unlock()
	if first != nil {
		return nil, first
	}
	return out, nil
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
// (Python's map_async). Cancelling the Future cancels the call.
func MapAsync[A, R any](ctx context.Context, p *Pool, f Func[A, R], items []A, opts ...Option) *Future[[]R] {
	return async(ctx, func(ctx context.Context) ([]R, error) { return Map(ctx, p, f, items, opts...) })
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

// async runs fn on its own goroutine and resolves a Future with its
// result; Cancel on the Future cancels fn's context.
func async[R any](ctx context.Context, fn func(context.Context) (R, error)) *Future[R] {
	fut := new(Future[R])
	ctx, cancel := context.WithCancelCause(ctx)
	fut.state.Store(fRunning)
	fut.canceler = cancelFunc(func() bool {
		var zero R
		if !fut.resolve(zero, ErrCancelled) {
			return false
		}
		cancel(ErrCancelled)
		return true
	})
	go func() {
		defer cancel(nil)
		v, err := fn(ctx)
		fut.resolve(v, err)
	}()
	return fut
}

// cancelFunc makes a func a canceler.
type cancelFunc func() bool

func (f cancelFunc) cancelPending() bool { return f() }

func errNilItems(call string) error {
	return fmt.Errorf("%w: %s with a nil sequence", ErrInvalidOption, call)
}
