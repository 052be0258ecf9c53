package mp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
	"golang.org/x/sys/cpu"
)

// The seam between scheduling and execution is internal/sched: the Pool
// owns the queue, chunking, ordering, futures, retries and progress; a
// sched.Backend only decides where a worker slot runs the jobs it is
// handed:
//
//   - goroutineBackend (this file): in this process (Threads);
//   - procpool.Backend: in worker processes (Processes, process.go);
//   - clusterBackend: on a NATS cluster's workers (Cluster, cluster.go).
//
// The flow: user API (map.go, call.go, future.go) → Pool (pool.go) →
// sched.Backend → internal/procpool → internal/worker in the child.

// worker is one worker slot of a pool.
type worker struct {
	id     int
	pool   *Pool
	tasks  int // items run, for MaxTasksPerChild
	state  any // Initializer's result
	init   bool
	bk     any           // the backend's own state: *procpool.Proc for processes
	retire bool          // the backend asks for this worker to be replaced
	lent   bool          // a caller of Apply runs a job on it (Pool.runHere); p.mu
	rss    bool          // in a worker process: report resident memory
	wake   chan struct{} // an idle worker waits here for a job (Pool.next)
	_      cpu.CacheLinePad
	st     workerStats // written per job: on cache lines of its own
	_      cpu.CacheLinePad
}

var _ sched.Slot = (*worker)(nil)

// ID is the worker's number.
func (w *worker) ID() int { return w.id }

// Ran counts n items run, for MaxTasksPerChild.
func (w *worker) Ran(n int) { w.tasks += n }

// Retire asks the pool to replace the worker after its job.
func (w *worker) Retire() { w.retire = true }

// Worker returns the backend's own state.
func (w *worker) Worker() any { return w.bk }

// SetWorker records the backend's own state.
func (w *worker) SetWorker(v any) {
	w.bk = v
	pid := 0
	if p, ok := v.(interface{ PID() int }); ok {
		pid = p.PID()
	}
	w.st.pid.Store(int32(pid)) // for Stats, read from other goroutines
}

type workerKey struct{}

// WorkerState returns the state that the pool's Initializer built for the
// worker running the task whose context is ctx. ok is false outside a task
// or when the pool has no Initializer of type S.
func WorkerState[S any](ctx context.Context) (state S, ok bool) {
	w, _ := ctx.Value(workerKey{}).(*worker)
	if w == nil || !w.init {
		return state, false
	}
	state, ok = w.state.(S)
	return state, ok
}

// WorkerID returns the number of the worker running the task whose
// context is ctx (1, 2, ...; a replacement worker gets a new number), or
// 0 outside a task of a pool that has an Initializer.
func WorkerID(ctx context.Context) int {
	if w, _ := ctx.Value(workerKey{}).(*worker); w != nil {
		return w.id
	}
	return 0
}

// taskContext is the context a worker gives a task of a call whose context
// is ctx: it carries the worker when the pool has an Initializer (one
// allocation per chunk, none otherwise).
func (w *worker) taskContext(ctx context.Context) context.Context {
	if !w.init {
		return ctx
	}
	return context.WithValue(ctx, workerKey{}, w)
}

// goroutineBackend runs jobs on the worker slot's own goroutine.
type goroutineBackend struct {
	init func(context.Context) (any, error)
}

var _ sched.Backend = (*goroutineBackend)(nil)

// Start runs the Initializer, if any, on the worker.
func (b *goroutineBackend) Start(ctx context.Context, s sched.Slot) (err error) {
	w := s.(*worker)
	if b.init == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
		if err != nil {
			err = fmt.Errorf("mp: initializer of worker %d: %w", w.id, err)
		}
	}()
	w.init = true
	w.state, err = b.init(context.WithValue(ctx, workerKey{}, w))
	return err
}

// Run runs j on the worker's goroutine.
func (b *goroutineBackend) Run(s sched.Slot, j sched.Job) { j.(job).run(s.(*worker)) }

// Stop closes the Initializer's state, if it is an io.Closer.
func (b *goroutineBackend) Stop(s sched.Slot) {
	w := s.(*worker)
	if c, ok := w.state.(io.Closer); ok {
		if err := c.Close(); err != nil {
			w.pool.log.Warn("mp: closing worker state", "worker", w.id, "err", err)
		}
	}
}

// poolSide is what a backend sees of a Pool (sched.Pool): it keeps those
// methods off the Pool's public method set.
type poolSide struct{ p *Pool }

var _ sched.Pool = poolSide{}

func (ps poolSide) Context() context.Context  { return ps.p.ctx }
func (ps poolSide) Logger() *slog.Logger      { return ps.p.log }
func (ps poolSide) JobsDone(n int)            { ps.p.jobsDone(n) }
func (ps poolSide) Finishing(s sched.Slot)    { ps.p.finishing(s.(*worker)) }
func (ps poolSide) Break(err error)           { ps.p.breakPool(err) }
func (ps poolSide) MaxTasks() int             { return ps.p.defs.maxTasks }
func (ps poolSide) Errors() sched.Errors      { return errorMaker{} }
func (ps poolSide) Counters() *sched.Counters { return &ps.p.st }
func (ps poolSide) AwaitMemory(s sched.Slot)  { ps.p.awaitMemory(s.(*worker)) }

func (ps poolSide) TryNext(dst []sched.Job, n int, match func(sched.Job) bool) []sched.Job {
	return ps.p.tryNext(dst, n, match)
}

// errorMaker makes the errors of backends in this package's types.
type errorMaker struct{}

var _ sched.Errors = errorMaker{}

func (errorMaker) Remote(pid int, e *wire.Error) error {
	return &RemoteError{PID: pid, Msg: e.Msg, Type: e.Type, Stack: e.Stack, Panic: e.Panic}
}

func (errorMaker) Exit(pid, code int, signal string, reason error) error {
	return &WorkerError{PID: pid, ExitCode: code, Signal: signal, Reason: reason}
}

func (errorMaker) Timeout(d time.Duration) error { return fmt.Errorf("%w after %v", ErrTimeout, d) }
func (errorMaker) Broken(err error) error        { return fmt.Errorf("%w: %w", ErrBrokenPool, err) }
