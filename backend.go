package mp

import (
	"context"
	"fmt"
	"io"
)

// backend is the seam between scheduling and execution. The Pool owns the
// queue, chunking, ordering, futures, retries and progress; a backend only
// decides where a worker slot runs the jobs it is handed:
//
//   - goroutineBackend: in this process (Threads).
//   - process and cluster backends (later): encode the job's items, run
//     them in a worker process or on a NATS worker, and stream each item's
//     result back through the job, so that everything above stays the same.
//
// Every method is called from the worker slot's own goroutine, except
// start for a replacement worker.
type backend interface {
	// start makes w ready to run jobs (runs the initializer, starts a
	// process, ...). An error means w never runs.
	start(ctx context.Context, w *worker) error
	// run runs j on w; j reports each of its items itself.
	run(w *worker, j job)
	// stop releases what start acquired.
	stop(w *worker)
}

// worker is one worker slot of a pool.
type worker struct {
	id     int
	pool   *Pool
	tasks  int // items run, for MaxTasksPerChild
	state  any // Initializer's result
	init   bool
	bk     any  // the backend's own state: *procWorker for processes
	retire bool // the backend asks for this worker to be replaced
	rss    bool // in a worker process: report resident memory
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

func (b *goroutineBackend) start(ctx context.Context, w *worker) (err error) {
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

func (b *goroutineBackend) run(w *worker, j job) { j.run(w) }

func (b *goroutineBackend) stop(w *worker) {
	if c, ok := w.state.(io.Closer); ok {
		if err := c.Close(); err != nil {
			w.pool.log.Warn("mp: closing worker state", "worker", w.id, "err", err)
		}
	}
}
