package mp

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Future is the pending result of one task, or of a whole async call: it
// is Python's AsyncResult and concurrent.futures.Future in one type.
//
//	Python                           mp
//	r.get(timeout) / f.result()      Get(ctx) (use context.WithTimeout)
//	r.wait(timeout)                  Wait(timeout)
//	r.ready() / f.done()             Ready()
//	r.successful()                   Successful()
//	f.exception()                    Err()
//	f.cancel() / f.cancelled()       Cancel() / Cancelled()
//	f.running()                      Running()
//	f.add_done_callback(fn)          AddDoneCallback(fn)
//	                                 Done() channel, for select
//
// A Future is resolved exactly once; its methods are safe for concurrent
// use.
type Future[R any] struct {
	state atomic.Uint32

	mu       sync.Mutex
	done     chan struct{} // made lazily: by Done, Get, or resolve
	val      R
	err      error
	cbs      []func(*Future[R])
	canceler canceler // what Cancel does; nil: nothing to cancel
}

// canceler is what a Future's Cancel does for the work behind it: an
// interface rather than a func field, so that a Submit task (which
// implements it) costs no extra allocation.
type canceler interface{ cancelPending() bool }

const (
	fPending   = iota // queued, not started
	fRunning          // started (or an async call)
	fDone             // resolved
	fCancelled        // resolved by Cancel
)

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// resolve sets the outcome once; later calls return false.
func (f *Future[R]) resolve(v R, err error) bool { return f.settle(v, err, fDone) }

func (f *Future[R]) settle(v R, err error, state uint32) bool {
	f.mu.Lock()
	if s := f.state.Load(); s == fDone || s == fCancelled {
		f.mu.Unlock()
		return false
	}
	f.val, f.err = v, err
	f.state.Store(state)
	if f.done == nil {
		f.done = closedChan
	} else {
		close(f.done)
	}
	cbs := f.cbs
	f.cbs = nil
	f.mu.Unlock()
	for _, cb := range cbs {
		f.callback(cb)
	}
	return true
}

func (f *Future[R]) callback(cb func(*Future[R])) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("mp: future done-callback panicked", "err", newPanicError(v))
		}
	}()
	cb(f)
}

// Done returns a channel that is closed when the future is resolved.
func (f *Future[R]) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil {
		f.done = make(chan struct{})
	}
	return f.done
}

// Get waits for the result. If ctx ends first it returns
// context.Cause(ctx), and the task goes on (cancel the task with Cancel,
// or with the ctx given to Submit).
func (f *Future[R]) Get(ctx context.Context) (R, error) {
	if f.Ready() {
		return f.val, f.err
	}
	select {
	case <-f.Done():
		return f.val, f.err
	case <-ctx.Done():
		var zero R
		return zero, context.Cause(ctx)
	}
}

// Wait waits up to timeout for the future to be resolved and reports
// whether it is. A timeout <= 0 waits without limit.
func (f *Future[R]) Wait(timeout time.Duration) bool {
	if f.Ready() {
		return true
	}
	if timeout <= 0 {
		<-f.Done()
		return true
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-f.Done():
		return true
	case <-t.C:
		return false
	}
}

// Ready reports whether the future is resolved (with a result, an error,
// or by Cancel).
func (f *Future[R]) Ready() bool {
	s := f.state.Load()
	return s == fDone || s == fCancelled
}

// Successful reports whether the future is resolved without an error. It
// is false while the future is pending (Python raises instead).
func (f *Future[R]) Successful() bool { return f.Ready() && f.err == nil }

// Err returns the future's error once it is resolved, nil before.
func (f *Future[R]) Err() error {
	if !f.Ready() {
		return nil
	}
	return f.err
}

// Running reports whether the task has started and is not yet resolved.
func (f *Future[R]) Running() bool { return f.state.Load() == fRunning }

// Cancelled reports whether Cancel resolved the future.
func (f *Future[R]) Cancelled() bool { return f.state.Load() == fCancelled }

// Cancel resolves the future with ErrCancelled if it is not resolved yet,
// and reports whether it did. A Submit task that has not started will not
// run; one that is running cannot be stopped this way (as in Python): to
// stop it, cancel the context given to Submit. The future of an async call
// (MapAsync, ...) cancels the call's context.
func (f *Future[R]) Cancel() bool {
	if f.canceler == nil {
		return false
	}
	return f.canceler.cancelPending()
}

// AddDoneCallback arranges for fn to be called with the future once it is
// resolved: at once, in this goroutine, if it already is; otherwise in the
// goroutine that resolves it, just after Get and Done waiters are woken
// (keep fn short; it may call Get). A panic in fn is logged and
// otherwise ignored, as in Python.
func (f *Future[R]) AddDoneCallback(fn func(*Future[R])) {
	f.mu.Lock()
	if !f.Ready() {
		f.cbs = append(f.cbs, fn)
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	f.callback(fn)
}

// task is one Submit: the future and what it needs to run, in one
// allocation.
type task[A, R any] struct {
	Future[R]
	ctx    context.Context
	arg    A
	runner runner[A, R]
	pool   *Pool
	bound  poolBound
	n      int    // items reported: 0 or 1 (process backend)
	seq    uint64 // the call's number in its pool (cluster backend)
}

// Submit queues one call of f with arg and returns its Future at once
// (executor.submit, Python's apply_async). Timeout and Retries apply;
// Chunksize, Partial and Progress do not and are ignored. The task's error
// is returned as it is (not wrapped in a *TaskError); a panic becomes a
// *PanicError. The task runs with ctx, which is also cancelled for it by
// Terminate.
func Submit[A, R any](ctx context.Context, p *Pool, f Func[A, R], arg A, opts ...Option) *Future[R] {
	t := &task[A, R]{ctx: ctx, arg: arg, pool: p}
	if p != nil {
		t.seq = p.callSeq.Add(1)
	}
	t.canceler = t
	var zero R
	s, err := p.callSettings(opts)
	if err == nil {
		err = f.checkFor(p)
	}
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		t.resolve(zero, err)
		return &t.Future
	}
	t.runner = newRunner(f, s)
	if err := p.enqueue(t); err != nil {
		t.resolve(zero, err)
	}
	return &t.Future
}

// ApplyAsync is Submit under Python's name.
func ApplyAsync[A, R any](ctx context.Context, p *Pool, f Func[A, R], arg A, opts ...Option) *Future[R] {
	return Submit(ctx, p, f, arg, opts...)
}

// Apply runs f with arg on the pool and waits for the result (Python's
// pool.apply).
func Apply[A, R any](ctx context.Context, p *Pool, f Func[A, R], arg A, opts ...Option) (R, error) {
	return Submit(ctx, p, f, arg, opts...).Get(ctx)
}

func (t *task[A, R]) cancelPending() bool {
	if !t.state.CompareAndSwap(fPending, fRunning) {
		return false // running or resolved
	}
	var zero R
	return t.settle(zero, ErrCancelled, fCancelled)
}

func (t *task[A, R]) run(w *worker) {
	if !t.state.CompareAndSwap(fPending, fRunning) {
		return // cancelled
	}
	ctx := t.ctx
	if ctx.Done() == nil {
		// the common case: no cancellation but Terminate's, at no cost
		t.bound = poolBound{Context: ctx, pool: t.pool}
		ctx = &t.bound
	} else {
		c, cancel := context.WithCancelCause(ctx)
		stop := context.AfterFunc(t.pool.ctx, func() { cancel(errTerminated) })
		defer func() { stop(); cancel(nil) }()
		ctx = c
	}
	v, err := t.runner.run(w.taskContext(ctx), t.arg)
	w.tasks++
	if err != nil && t.pool.ctx.Err() != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", context.Cause(t.pool.ctx), err)
	}
	t.resolve(v, err)
}

func (t *task[A, R]) abort(err error) {
	var zero R
	t.resolve(zero, err)
}

// poolBound is a context that cannot be cancelled but for Terminate of its
// pool: the context of a task submitted with a context that cannot be
// cancelled (such as context.Background()).
type poolBound struct {
	context.Context
	pool *Pool
}

func (c *poolBound) Done() <-chan struct{} { return c.pool.ctx.Done() }
func (c *poolBound) Err() error            { return c.pool.ctx.Err() }

// Return conditions for Wait, as in concurrent.futures.wait.
type WaitMode int

const (
	// AllCompleted waits until every future is resolved.
	AllCompleted WaitMode = iota
	// FirstCompleted waits until any future is resolved.
	FirstCompleted
	// FirstException waits until any future fails, or all are resolved.
	FirstException
)

// Wait waits for the futures as mode says and returns those resolved and
// those not (concurrent.futures.wait). If ctx ends first, it returns the
// two sets at that moment and context.Cause(ctx); use
// context.WithTimeout for Python's timeout.
func Wait[R any](ctx context.Context, fs []*Future[R], mode WaitMode) (done, pending []*Future[R], err error) {
	fs = unique(fs)
	ch := make(chan *Future[R], len(fs))
	for _, f := range fs {
		f.AddDoneCallback(func(f *Future[R]) { ch <- f })
	}
wait:
	for n := 0; n < len(fs); n++ {
		select {
		case f := <-ch:
			if mode == FirstCompleted || (mode == FirstException && f.Err() != nil) {
				break wait
			}
		case <-ctx.Done():
			err = context.Cause(ctx)
			break wait
		}
	}
	for _, f := range fs {
		if f.Ready() {
			done = append(done, f)
		} else {
			pending = append(pending, f)
		}
	}
	return done, pending, err
}

// AsCompleted yields the futures as they are resolved, first resolved
// first (concurrent.futures.as_completed). Each future is yielded once,
// duplicates being dropped. If ctx ends first it yields (nil,
// context.Cause(ctx)) and stops. Progress or ProgressBar ticks a bar per
// future; other options are refused.
func AsCompleted[R any](ctx context.Context, fs []*Future[R], opts ...Option) iter.Seq2[*Future[R], error] {
	return func(yield func(*Future[R], error) bool) {
		var s settings
		for _, o := range opts {
			var probe settings
			if o == nil {
				continue
			}
			if err := o(&probe); err != nil {
				yield(nil, err)
				return
			}
			if probe.progressDesc == nil && probe.bar == nil {
				yield(nil, errOnlyProgress("AsCompleted"))
				return
			}
			_ = o(&s)
		}
		fs := unique(fs)
		ch := make(chan *Future[R], len(fs))
		for _, f := range fs {
			f.AddDoneCallback(func(f *Future[R]) { ch <- f })
		}
		bar, own := s.bar, false
		if bar == nil && s.progressDesc != nil {
			bar, own = newBar(&s, int64(len(fs))), true
		}
		if own {
			defer bar.Close()
		}
		for range len(fs) {
			select {
			case f := <-ch:
				if bar != nil {
					bar.Add(1)
				}
				if !yield(f, nil) {
					return
				}
			case <-ctx.Done():
				yield(nil, context.Cause(ctx))
				return
			}
		}
	}
}

func unique[R any](fs []*Future[R]) []*Future[R] {
	seen := make(map[*Future[R]]bool, len(fs))
	out := make([]*Future[R], 0, len(fs))
	for _, f := range fs {
		if f != nil && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
