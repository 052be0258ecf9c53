package mp

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mp-go/mp/internal/memavail"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/progress"
)

// PoolOption configures a pool: give it to NewPool. Threads, Processes,
// Initializer, MaxTasksPerChild, MemFree, Logger, Cluster and the like are pool
// options only; a call does not take them (a compile error). Every
// Option is a PoolOption too: given to NewPool, a call option becomes
// the default of every call of the pool. A bad value is an error
// wrapping ErrInvalidOption, from NewPool.
type PoolOption interface {
	applyPool(*settings) error
}

// Option configures one call (Map, Imap, Submit, ...): Chunksize,
// Timeout, Retries, Partial, Progress, Checkpoint... Given to NewPool it
// is the default of every call of the pool, which a call's own options
// override. A bad value is an error wrapping ErrInvalidOption, from the
// call.
type Option interface {
	PoolOption
	applyCall(*settings) error
}

// poolOption is an option of NewPool only.
type poolOption func(*settings) error

func (o poolOption) applyPool(s *settings) error { return o(s) }

// callOption is an option of a call, or a pool's default for its calls.
type callOption func(*settings) error

func (o callOption) applyPool(s *settings) error { return o(s) }
func (o callOption) applyCall(s *settings) error { return o(s) }

var (
	_ PoolOption = poolOption(nil)
	_ Option     = callOption(nil)
)

type settings struct {

	// pool
	workers   int
	processes bool
	handshake time.Duration
	maxRSS    uint64
	initFn    func(context.Context) (any, error)
	initName  string                 // for worker processes
	initArg   func() ([]byte, error) // encodes the argument, for worker processes
	maxTasks  int
	logger    *slog.Logger
	memFree   int64           // MemFree (0: off)
	memSrc    memavail.Source // where MemFree reads the memory; nil: the machine's
	// cluster
	cluster      bool
	clusterURL   string
	localWorkers *int
	ackWait      time.Duration
	clusterCreds string
	clusterCA    string
	clusterRun   string

	// call
	chunksize     int
	timeout       time.Duration
	retries       int
	partial       bool
	progressDesc  *string
	progressOpts  []progress.Option
	bar           *progress.Bar
	progressTicks bool // the bar counts Tick, not items
	workerBars    *progress.Group
	checkpoint    string // Checkpoint's directory
	dashboard     *string
}

// applyPool applies the options given to NewPool.
func (s *settings) applyPool(opts []PoolOption) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyPool(s); err != nil {
			return err
		}
	}
	return nil
}

// applyCall applies the options of one call.
func (s *settings) applyCall(opts []Option) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyCall(s); err != nil {
			return err
		}
	}
	return nil
}

// Threads makes the pool run tasks on n goroutines (Python's ThreadPool(n)
// and ThreadPoolExecutor). n must be at least 1. Without it a pool has
// CPUCount() goroutine workers.
func Threads(n int) PoolOption {
	return poolOption(func(s *settings) error {
		if n < 1 {
			return fmt.Errorf("%w: Threads(%d): need at least one worker", ErrInvalidOption, n)
		}
		s.workers = n
		return nil
	})
}

// Initializer runs init(arg) once in every worker before its first task,
// and again in each replacement worker (see MaxTasksPerChild): Python's
// initializer and initargs. Its result is the worker's state: tasks read
// it with WorkerState, and if it is an io.Closer it is closed when the
// worker retires. This is the place for a model, a connection or a parser
// that is costly to build and must not be shared between workers (mpire's
// worker_state). On a process pool init must be made with Register and
// arg must be encodable; the state is built inside each worker process.
//
// NewPool runs the initializers of the first workers and returns the first
// error, naming the worker. A replacement worker whose initializer fails
// breaks the pool (ErrBrokenPool).
func Initializer[A, S any](init Func[A, S], arg A) PoolOption {
	return poolOption(func(s *settings) error {
		if init.fn == nil {
			return fmt.Errorf("%w: Initializer with a zero Func", ErrInvalidOption)
		}
		s.initFn = func(ctx context.Context) (any, error) { return init.fn(ctx, arg) }
		s.initName = init.name
		s.initArg = func() ([]byte, error) { return wire.Marshal(arg) }
		return nil
	})
}

// MaxTasksPerChild retires a worker once it has run n tasks and starts a
// fresh one (with a fresh Initializer state) in its place, as Python's
// maxtasksperchild does. Tasks are counted one per item; a worker finishes
// the chunk it is running before it retires. n = 0 means never.
func MaxTasksPerChild(n int) PoolOption {
	return poolOption(func(s *settings) error {
		if n < 0 {
			return fmt.Errorf("%w: MaxTasksPerChild(%d) is negative", ErrInvalidOption, n)
		}
		s.maxTasks = n
		return nil
	})
}

// Logger sets where the pool logs worker events (start, retirement,
// initializer failures). The default is slog.Default().
func Logger(l *slog.Logger) PoolOption {
	return poolOption(func(s *settings) error {
		s.logger = l
		return nil
	})
}

// Chunksize sets how many consecutive items a worker takes at a time.
// Bigger chunks cost less per item; smaller ones balance uneven tasks
// better. The default, like Python's Pool.map, is len/(4·workers) rounded
// up for slices, and for streams (Imap, ImapUnordered) an adaptive size
// that starts at 1 and grows until a chunk takes about a millisecond.
func Chunksize(n int) Option {
	return callOption(func(s *settings) error {
		if n < 1 {
			return fmt.Errorf("%w: Chunksize(%d): need at least 1", ErrInvalidOption, n)
		}
		s.chunksize = n
		return nil
	})
}

// Timeout bounds each task's run time. On a goroutine pool the task's
// context is cancelled at the deadline (goroutines cannot be killed, so
// the task must watch ctx) and the task ends with ErrTimeout whatever it
// returns. On a process pool the worker running the late task is killed.
// On a cluster the worker times each task from its start (the time a task
// waits for a worker or travels does not count) and reports a late one at
// its deadline, cancelling its context; a task that ignores ctx keeps that
// worker until it returns. A task that does not come back within its
// timeout plus 30 s (a lost worker) fails with ErrTimeout too.
// A timed-out task is retried if Retries allows.
func Timeout(d time.Duration) Option {
	return callOption(func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("%w: Timeout(%v) must be positive", ErrInvalidOption, d)
		}
		s.timeout = d
		return nil
	})
}

// Retries runs a failed task up to n more times before its error counts.
// Cancellation of the call is never retried.
func Retries(n int) Option {
	return callOption(func(s *settings) error {
		if n < 0 {
			return fmt.Errorf("%w: Retries(%d) is negative", ErrInvalidOption, n)
		}
		s.retries = n
		return nil
	})
}

// Partial makes a call run every task even when some fail, and return the
// results that succeeded (the zero value stands at a failed index)
// together with errors.Join of one *TaskError per failure. Without it a
// call stops at the first error, cancels the rest promptly and returns
// that error, as Python does.
func Partial() Option {
	return callOption(func(s *settings) error {
		s.partial = true
		return nil
	})
}

// Progress shows a progress bar on standard error for the call, ticking
// once per item (even when work is chunked), with desc before it, like
// wrapping the call in tqdm. opts configure the bar (see package
// progress); the call's item count is the bar's total when it is known.
func Progress(desc string, opts ...progress.Option) Option {
	return callOption(func(s *settings) error {
		s.progressDesc = &desc
		s.progressOpts = opts
		return nil
	})
}

// ProgressBar makes the call tick bar, which the caller made and closes.
// Use it to change the description or postfix while the call runs, or to
// share one bar between calls.
func ProgressBar(bar *progress.Bar) Option {
	return callOption(func(s *settings) error {
		if bar == nil {
			return fmt.Errorf("%w: ProgressBar(nil)", ErrInvalidOption)
		}
		s.bar = bar
		return nil
	})
}
