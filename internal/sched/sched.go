// Package sched is the seam between a pool's scheduling and the backends
// that run its jobs. The pool (package mp) owns the queue, chunking,
// ordering, futures, retries and progress; a Backend only decides where a
// worker slot runs the jobs it is handed:
//
//   - in this process, on the slot's goroutine (mp.Threads);
//   - in a worker process of this program (internal/procpool);
//   - on the workers of a NATS cluster (package cluster).
//
// The flow is: user API (mp.Map, mp.Submit, ...) → mp.Pool → Backend →
// (internal/procpool → internal/worker in the child). Each implementation
// is checked with var _ sched.Backend = (*T)(nil) where it is defined.
package sched

import (
	"context"
	"log/slog"
	"time"

	"github.com/mp-go/mp/internal/wire"
)

// Backend runs a pool's jobs on its worker slots. Every method is called
// from the goroutine that holds the slot: its own (Start for a
// replacement slot excepted), or a caller of mp.Apply that the pool lent
// the slot to while it was idle. One goroutine at a time holds a slot,
// and the handing over is synchronised by the pool.
type Backend interface {
	// Start makes s ready to run jobs (runs the initializer, starts a
	// process, ...). An error means s never runs.
	Start(ctx context.Context, s Slot) error
	// Run runs j on s; j reports each of its items itself.
	Run(s Slot, j Job)
	// Stop releases what Start acquired.
	Stop(s Slot)
}

// Slot is one worker slot of a pool, as a backend sees it.
type Slot interface {
	// ID is the slot's number in its pool (1, 2, ...; a replacement
	// gets a new one).
	ID() int
	// Ran counts n items run on the slot (for MaxTasksPerChild).
	Ran(n int)
	// Retire asks the pool to replace the slot once its job is done,
	// starting the new one before stopping it (MaxMemoryPerChild).
	Retire()
	// Worker returns what the backend keeps for the slot (its worker
	// process), as set by SetWorker; nil at first.
	Worker() any
	// SetWorker records what the backend keeps for the slot.
	SetWorker(w any)
}

// Job is one unit of scheduling (a chunk of a call, or one Submit task)
// as a backend that runs it elsewhere sees it: item by item, from its
// cursor, with encoded arguments and results. The generic chunk[A, R]
// and task[A, R] of package mp implement it.
type Job interface {
	// Abort reports every item of a job that will never run as failed.
	Abort(err error)
	// Begin reports whether the job is still to run (not cancelled or
	// stopped); if not, it has already been reported.
	Begin() bool
	// FuncName is the registered name of the job's function.
	FuncName() string
	// Settings are the call's Timeout (per item) and Retries.
	Settings() (timeout time.Duration, retries int)
	// Context is the call's context.
	Context() context.Context
	// Cursor is the first item not yet reported; Size the number of items.
	Cursor() int
	Size() int
	// Index gives item i's position in the call's input.
	Index(i int) int
	// CallSeq is the number of the job's call in its pool.
	CallSeq() uint64
	// EncodeFrom encodes the items from i on as one array, data then
	// view: as many as can be encoded, and the error of the first that
	// cannot. It appends to dst where it can, so that a caller may reuse
	// its buffer; data may also be a new slice. view, when not nil, is the
	// items' own memory (plain numbers cross as their bytes): the caller
	// copies it out before the job reports its items, and never keeps it.
	EncodeFrom(dst []byte, i int) (data, view []byte, n int, err error)
	// Deliver reports n items from i: their results encoded as one
	// array, and the failures by item. values is valid only during the
	// call (it may be the buffer the frame was read into).
	Deliver(i int, values []byte, n int, errs map[int]error)
	// Fail reports item i as failed.
	Fail(i int, err error)
	// Complete reports the job done on s, which took d.
	Complete(s Slot, d time.Duration)
}

// Pool is what a backend asks of the pool it serves.
type Pool interface {
	// Context is cancelled, with the cause, when the pool is terminated.
	Context() context.Context
	// Logger is the pool's logger: worker processes' records go there.
	Logger() *slog.Logger
	// TryNext appends to dst up to n queued jobs that match, from the
	// head of the queue, without waiting; none while a slot waits for
	// a job.
	TryNext(dst []Job, n int, match func(Job) bool) []Job
	// JobsDone counts n jobs taken with TryNext as finished.
	JobsDone(n int)
	// Finishing says that s is about to report the last results of the
	// last job it holds, and will then look for its next job at once:
	// the pool leaves the next job it queues to s instead of waking
	// another slot (see mp's Pool.spin).
	Finishing(s Slot)
	// Break marks the pool broken: every queued job fails with err.
	Break(err error)
	// MaxTasks is MaxTasksPerChild (0: none).
	MaxTasks() int
	// Errors makes the errors that users see, in package mp's types.
	Errors() Errors
	// Counters are the pool's statistics, which a backend updates where
	// it does the work counted.
	Counters() *Counters
	// AwaitMemory holds s back, as if it were about to take a new job,
	// while the pool's MemFree finds too little memory and another slot
	// runs a job: a backend calls it before it runs again what Shed cut
	// short. It returns at once without MemFree, and when the pool is
	// terminated.
	AwaitMemory(s Slot)
}

// Shedder is a Backend that can stop the job a slot runs so that it runs
// again later (MemFree, when memory is critically low): the process
// backend kills the slot's worker process, and the items it had not
// finished run again, as if they had never begun. Goroutines cannot be
// killed: the goroutine backend is no Shedder.
type Shedder interface {
	// Shed stops what s runs now; it reports whether it stopped
	// anything (false: s runs nothing that can be stopped, or it is
	// already being stopped).
	Shed(s Slot) bool
}

// Errors makes the errors a backend reports in the types of package mp,
// which users match with errors.Is and errors.As.
type Errors interface {
	// Remote is a function's failure in worker process pid (pid 0: on
	// a cluster worker): a *mp.RemoteError.
	Remote(pid int, e *wire.Error) error
	// Exit is a worker process's end while it ran a task: a
	// *mp.WorkerError. code is -1 when a signal ended it.
	Exit(pid, code int, signal string, reason error) error
	// Timeout is the reason given for killing a worker whose item ran
	// longer than d: it wraps mp.ErrTimeout.
	Timeout(d time.Duration) error
	// Broken wraps err with mp.ErrBrokenPool.
	Broken(err error) error
}
