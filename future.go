package mp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/sched"
)

// Future is the pending result of one task, or of a whole async call: it
// is Python's AsyncResult and concurrent.futures.Future in one type.
//
//	Python                           mp
//	r.get(timeout) / f.result()      Get(ctx) (use context.WithTimeout)
//	r.wait(timeout) / r.wait()       Wait(timeout) / <-Done()
//	r.ready() / f.done()             Ready()
//	r.successful()                   Successful()
//	f.exception() (non-blocking)     Err()
//	f.exception(timeout)             Exception(ctx)
//	f.cancel() / f.cancelled()       Cancel() / Cancelled()
//	f.running()                      Running()
//	f.add_done_callback(fn)          AddDoneCallback(fn)
//	                                 Done() channel, for select
//	Future() (made by hand)          NewFuture()
//	f.set_result(v)                  SetResult(v)
//	f.set_exception(e)               SetException(err)
//	f.set_running_or_notify_cancel() SetRunning()
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
	cbs, ok := f.settleQuiet(v, err, state)
	f.runCallbacks(cbs)
	return ok
}

// settleQuiet sets the outcome once, waking Get and Done waiters, and
// returns the callbacks for the caller to run.
func (f *Future[R]) settleQuiet(v R, err error, state uint32) ([]func(*Future[R]), bool) {
	return f.settleIf(v, err, state, false)
}

// settleIf is settleQuiet, refusing a future that is not pending if
// onlyPending.
func (f *Future[R]) settleIf(v R, err error, state uint32, onlyPending bool) ([]func(*Future[R]), bool) {
	f.mu.Lock()
	if s := f.state.Load(); s == fDone || s == fCancelled || (onlyPending && s != fPending) {
		f.mu.Unlock()
		return nil, false
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
	return cbs, true
}

func (f *Future[R]) runCallbacks(cbs []func(*Future[R])) {
	for _, cb := range cbs {
		f.callback(cb)
	}
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

// Exception waits for the future and returns its error: nil if it
// succeeded, ErrCancelled if it was cancelled (Python's
// Future.exception(timeout)). If ctx ends first it returns
// context.Cause(ctx) (use context.WithTimeout for Python's timeout; Ready
// tells the two cases apart).
func (f *Future[R]) Exception(ctx context.Context) error {
	_, err := f.Get(ctx)
	return err
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
// whether it is (Python's AsyncResult.wait(timeout)). A timeout <= 0
// polls, as Python's wait(0) does: it reports at once. To wait without
// limit (Python's wait()), receive from Done or call Get.
func (f *Future[R]) Wait(timeout time.Duration) bool {
	if f.Ready() {
		return true
	}
	if timeout <= 0 {
		return false
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
// and reports whether the future is now cancelled: true also for one
// cancelled before, false for one that ran or is running (Python's
// cancel()). A Submit task that has not started will not run; one that is
// running cannot be stopped this way (as in Python): to stop it, cancel
// the context given to Submit. The future of an async call (MapAsync,
// ...) cancels the call's context.
func (f *Future[R]) Cancel() bool {
	if f.Cancelled() {
		return true
	}
	if f.canceler == nil {
		return false
	}
	return f.canceler.cancelPending() || f.Cancelled()
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

// NewFuture returns a pending Future for code of its own to resolve with
// SetResult or SetException: Python's concurrent.futures.Future() made
// by hand, as executors and tests do. It works with Get, AsCompleted,
// Wait and AddDoneCallback as any other Future. While pending, Cancel
// resolves it with ErrCancelled; after SetRunning it cannot be cancelled.
func NewFuture[R any]() *Future[R] {
	f := new(Future[R])
	f.canceler = bareCancel[R]{f}
	return f
}

// ErrInvalidState is returned by SetResult and SetException on a Future
// already resolved (Python's InvalidStateError), and by SetRunning on one
// already running.
var ErrInvalidState = errors.New("mp: invalid future state")

// SetResult resolves f with v (Python's Future.set_result), waking Get and
// Done waiters and running the done-callbacks. On a Future already
// resolved it changes nothing and returns an error wrapping
// ErrInvalidState. Code may only resolve a Future made with NewFuture:
// those of pool calls are resolved by the pool, and refuse.
func (f *Future[R]) SetResult(v R) error { return f.setByHand(v, nil) }

// SetException resolves f with err (Python's Future.set_exception); Get
// then returns err. A nil err is refused (use SetResult): it wraps
// ErrInvalidOption. Otherwise as SetResult.
func (f *Future[R]) SetException(err error) error {
	if err == nil {
		return fmt.Errorf("%w: SetException with a nil error (use SetResult for a success)", ErrInvalidOption)
	}
	var zero R
	return f.setByHand(zero, err)
}

func (f *Future[R]) setByHand(v R, err error) error {
	if _, ok := f.canceler.(bareCancel[R]); !ok {
		return fmt.Errorf("%w: this Future belongs to a pool call; only one made with mp.NewFuture can be resolved by hand", ErrInvalidState)
	}
	if !f.resolve(v, err) {
		return fmt.Errorf("%w: the Future is already resolved", ErrInvalidState)
	}
	return nil
}

// SetRunning marks a Future made with NewFuture as running, so that
// Cancel no longer succeeds (Python's set_running_or_notify_cancel). It
// returns false if the Future was cancelled (the work must not be done),
// true if it is now running. On any other Future, or one already running
// or resolved, it returns false with an error wrapping ErrInvalidState.
func (f *Future[R]) SetRunning() (bool, error) {
	if _, ok := f.canceler.(bareCancel[R]); !ok {
		return false, fmt.Errorf("%w: this Future belongs to a pool call; only one made with mp.NewFuture is started by hand", ErrInvalidState)
	}
	f.mu.Lock() // against a Cancel between the two
	started := f.state.CompareAndSwap(fPending, fRunning)
	f.mu.Unlock()
	if started {
		return true, nil
	}
	if f.Cancelled() {
		return false, nil
	}
	return false, fmt.Errorf("%w: the Future is already running or resolved", ErrInvalidState)
}

// bareCancel is the canceler of a Future made with NewFuture.
type bareCancel[R any] struct{ f *Future[R] }

func (c bareCancel[R]) cancelPending() bool {
	var zero R
	cbs, ok := c.f.settleIf(zero, ErrCancelled, fCancelled, true)
	c.f.runCallbacks(cbs)
	return ok
}

// task is one Submit: the future and what it needs to run, in one
// allocation.
type task[A, R any] struct {
	Future[R]
	ctx    context.Context
	arg    [1]A // the argument, as the one-item list a Task encodes
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
	t := newTask(ctx, p, f, arg, opts)
	if !t.Ready() {
		if err := p.enqueue(t); err != nil {
			var zero R
			t.resolve(zero, err)
		}
	}
	return &t.Future
}

// newTask makes the task of a call of f with arg, resolved at once with
// the error if the call cannot be made.
func newTask[A, R any](ctx context.Context, p *Pool, f Func[A, R], arg A, opts []Option) *task[A, R] {
	return initTask(new(task[A, R]), ctx, p, f, arg, opts)
}

// initTask makes t, new or recycled, the task of a call of f with arg.
func initTask[A, R any](t *task[A, R], ctx context.Context, p *Pool, f Func[A, R], arg A, opts []Option) *task[A, R] {
	*t = task[A, R]{ctx: ctx, arg: [1]A{arg}, pool: p}
	if p != nil {
		t.seq = p.callSeq.Add(1)
	}
	t.canceler = t
	s, err := p.callSettings(opts)
	if err == nil {
		err = f.checkFor(p)
	}
	if err == nil {
		err = s.noCheckpoint("Apply and Submit")
	}
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		var zero R
		t.resolve(zero, err)
		return t
	}
	t.runner = newRunner(p, f, s)
	return t
}

// ApplyAsync is Submit under Python's name.
func ApplyAsync[A, R any](ctx context.Context, p *Pool, f Func[A, R], arg A, opts ...Option) *Future[R] {
	return Submit(ctx, p, f, arg, opts...)
}

// Apply runs f with arg on the pool and waits for the result (Python's
// pool.apply). On a process pool with a worker idle and nothing queued,
// the calling goroutine hands the task to that worker's process and
// reads its result itself (see Pool.runHere): a round trip wakes no
// goroutine. If ctx is cancelled meanwhile, Apply returns once the
// worker running the task has been killed (a millisecond or so).
func Apply[A, R any](ctx context.Context, p *Pool, f Func[A, R], arg A, opts ...Option) (R, error) {
	t := initTask(f.task(), ctx, p, f, arg, opts)
	var zero R
	switch {
	case t.Ready():
	case p.runHere(t):
		// Done with: the run held the task only while it ran (Pool.runHere),
		// and no Future of it was handed out. It serves the next call.
		v, err := t.val, t.err
		if err != nil && ctx.Err() != nil {
			v, err = zero, context.Cause(ctx) // as Get gives it
		}
		f.recycle(t)
		return v, err
	default:
		if err := p.enqueue(t); err != nil {
			t.resolve(zero, err)
		}
	}
	return t.Get(ctx)
}

// task returns a task for an Apply of f: one that a lent run is done
// with, if f keeps any, or a new one.
func (f Func[A, R]) task() *task[A, R] {
	if f.tasks != nil {
		if t, ok := f.tasks.Get().(*task[A, R]); ok {
			return t
		}
	}
	return new(task[A, R])
}

// recycle keeps t, done with, for the next Apply of f.
func (f Func[A, R]) recycle(t *task[A, R]) {
	if f.tasks != nil {
		*t = task[A, R]{}
		f.tasks.Put(t)
	}
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
		w.st.out.Cancelled.Add(1)
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
	v, err := t.runner.run(w.taskContext(ctx), t.arg[0])
	w.tasks++
	if err != nil && t.pool.ctx.Err() != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", context.Cause(t.pool.ctx), err)
	}
	t.countTo(&w.st.out, err)
	t.resolve(v, err)
}

// count counts the outcome of the task, which ran, for Stats.
func (t *task[A, R]) count(err error) { t.countTo(&t.pool.st.Outcomes, err) }

// countTo counts the outcome of the task in o.
func (t *task[A, R]) countTo(o *sched.Outcomes, err error) {
	if err == nil {
		o.Done.Add(1)
		return
	}
	o.Failed.Add(1)
	t.pool.noteFailure(0, t.arg[0], err)
	if errors.Is(err, ErrTimeout) {
		t.pool.st.TimedOut.Add(1)
	}
}

// Abort resolves a task that will never run with err.
func (t *task[A, R]) Abort(err error) {
	var zero R
	t.pool.st.Cancelled.Add(1)
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
