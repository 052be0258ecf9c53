package mp

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/procpool"
	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
)

// Processes makes the pool run tasks in n worker processes: this program,
// re-executed, serving tasks from mp.Main (Python's Pool(processes=n) and
// ProcessPoolExecutor). Only functions made with Register run there. A
// worker that dies is replaced and its task fails with a *WorkerError
// (or is run again if Retries allows); Timeout and cancellation kill the
// worker running the late or cancelled task.
func Processes(n int) PoolOption {
	return poolOption(func(s *settings) error {
		if n < 1 {
			return fmt.Errorf("%w: Processes(%d): need at least one worker", ErrInvalidOption, n)
		}
		s.workers, s.processes = n, true
		return nil
	})
}

// HandshakeTimeout bounds how long a new worker process may take to reach
// mp.Main and announce itself (default 10s). A program that does not call
// mp.Main fails within it with an error that says so, instead of hanging.
func HandshakeTimeout(d time.Duration) PoolOption {
	return poolOption(func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("%w: HandshakeTimeout(%v) must be positive", ErrInvalidOption, d)
		}
		s.handshake = d
		return nil
	})
}

// MaxMemoryPerChild replaces a worker process whose resident memory is
// above limit bytes after a task, as loky does for leaky tasks (Python's
// multiprocessing has only maxtasksperchild). The new worker starts
// before the old one is stopped. Linux only: elsewhere the memory is not
// read and workers are never replaced for it.
func MaxMemoryPerChild(limit int64) PoolOption {
	return poolOption(func(s *settings) error {
		if limit <= 0 {
			return fmt.Errorf("%w: MaxMemoryPerChild(%d) must be positive", ErrInvalidOption, limit)
		}
		s.maxRSS = uint64(limit)
		return nil
	})
}

// newProcessBackend makes the backend of a Processes pool: the process
// runtime of internal/procpool, serving p through poolSide.
func newProcessBackend(p *Pool, s *settings) (*procpool.Backend, error) {
	stopIfNotServing("mp.NewPool")
	cfg := procpool.Config{
		Handshake: s.handshake, Init: s.initName, MaxRSS: s.maxRSS, Parent: CurrentProcess().Name(),
		Env: childEnv(), MemFree: s.memFree > 0, Spares: &spares,
	}
	if s.initFn != nil {
		if s.initName == "" {
			return nil, fmt.Errorf("%w: the Initializer of a process pool must be made with mp.Register", ErrInvalidOption)
		}
		arg, err := s.initArg()
		if err != nil {
			return nil, fmt.Errorf("%w: the argument of the Initializer: %w", ErrInvalidOption, err)
		}
		cfg.InitArg = arg
	}
	return procpool.New(poolSide{p}, cfg), nil
}

// parentEnv tells a worker process its parent's pid: how it knows that
// its parent died (and ParentProcess).
const parentEnv = "MP_PARENT"

// encodeFrom encodes items as one array, data then view (sched.Job's
// EncodeFrom), stopping before the first item that cannot be encoded or
// does not fit in a Task frame (encoding.go). Numbers are their own
// encoding: data is the two bytes that say so and view the items'
// memory, which the slot writes straight into its worker's ring (copying
// them into a buffer first was a tenth of the parent's time in a chunked
// Map of ints).
func encodeFrom[A any](dst []byte, items []A) (data, view []byte, n int, err error) {
	if kind, raw := wire.RawKind[A](); raw && 2+8*len(items) <= maxArgBytes {
		h := wire.RawHeader(kind)
		return append(dst, h[:]...), wire.RawView(items), len(items), nil
	}
	data, n, err = encodeArgs(items, maxArgBytes)
	return data, nil, n, err
}

// decodeResults decodes n results; a failure to decode fails every item.
func decodeResults[R any](name string, values []byte, n int) ([]R, error) {
	var rs []R
	if n == 0 || values == nil {
		return make([]R, n), nil
	}
	if err := wire.UnmarshalSlice(values, &rs); err != nil {
		return nil, fmt.Errorf("mp: decoding the results of %s as %T: %w", name, rs, err)
	}
	if len(rs) != n {
		return nil, fmt.Errorf("mp: %d results of %s for %d items", len(rs), name, n)
	}
	return rs, nil
}

// The methods of sched.Job, for the process and cluster backends.

var (
	_ sched.Job = (*chunk[int, int])(nil)
	_ sched.Job = (*task[int, int])(nil)
)

// Begin reports whether the chunk is still to run.
func (k *chunk[A, R]) Begin() bool {
	if k.call.skip(k.base) {
		k.finish()
		return false
	}
	return true
}

func (k *chunk[A, R]) FuncName() string               { return k.call.name }
func (k *chunk[A, R]) Settings() (time.Duration, int) { return k.call.timeout, k.call.retries }
func (k *chunk[A, R]) Context() context.Context       { return k.call.ctx }
func (k *chunk[A, R]) Cursor() int                    { return k.ran }
func (k *chunk[A, R]) Size() int                      { return len(k.in) }
func (k *chunk[A, R]) Index(i int) int                { return k.base + i }
func (k *chunk[A, R]) CallSeq() uint64                { return k.call.seq }

func (k *chunk[A, R]) Fail(i int, err error) { var zero R; k.report(i, zero, err) }
func (k *chunk[A, R]) Complete(s sched.Slot, d time.Duration) {
	s.Ran(k.ran)
	k.took = d
	if k.call.wItems && k.ran > 0 {
		k.call.workerBar(s.ID()).Add(k.ran)
	}
	k.finish()
}

func (k *chunk[A, R]) EncodeFrom(dst []byte, i int) ([]byte, []byte, int, error) {
	defer k.call.pool.timeEncode(startTiming(&k.call.pool.encodings))
	return encodeFrom(dst, k.in[i:])
}

func (k *chunk[A, R]) Deliver(at int, values []byte, n int, errs map[int]error) {
	start := startTiming(&k.call.pool.decodings)
	if errs == nil {
		// numbers: straight into the call's results
		// (a malformed slice is decoded below, which says what is wrong)
		if ok, _ := wire.DecodeRawInto(values, k.out[at:at+n]); ok {
			k.call.pool.timeDecode(start)
			k.ran = at + n
			if k.call.itemBar != nil {
				k.call.itemBar.Add(n)
			}
			return
		}
	}
	rs, derr := decodeResults[R](k.call.name, values, n)
	k.call.pool.timeDecode(start)
	if derr == nil && errs == nil {
		copy(k.out[at:at+n], rs)
		k.ran = at + n
		if k.call.itemBar != nil {
			k.call.itemBar.Add(n)
		}
		return
	}
	var zero R
	for i := range n {
		switch err := errs[at+i]; {
		case derr != nil:
			k.report(at+i, zero, derr)
		case err != nil:
			k.report(at+i, zero, err)
		default:
			k.report(at+i, rs[i], nil)
		}
	}
}

func (t *task[A, R]) FuncName() string                       { return t.runner.name }
func (t *task[A, R]) Settings() (time.Duration, int)         { return t.runner.timeout, t.runner.retries }
func (t *task[A, R]) Context() context.Context               { return t.ctx }
func (t *task[A, R]) Cursor() int                            { return t.n }
func (t *task[A, R]) Size() int                              { return 1 }
func (t *task[A, R]) Index(int) int                          { return 0 }
func (t *task[A, R]) CallSeq() uint64                        { return t.seq }
func (t *task[A, R]) Complete(s sched.Slot, _ time.Duration) { s.Ran(t.n) }

func (t *task[A, R]) EncodeFrom(dst []byte, _ int) ([]byte, []byte, int, error) {
	defer t.pool.timeEncode(startTiming(&t.pool.encodings))
	return encodeFrom(dst, t.arg[:])
}

// Begin reports whether the task is still to run (not cancelled).
func (t *task[A, R]) Begin() bool {
	if t.state.CompareAndSwap(fPending, fRunning) {
		return true
	}
	t.pool.st.Cancelled.Add(1)
	return false
}

func (t *task[A, R]) Fail(_ int, err error) {
	var zero R
	t.n = 1
	t.count(err)
	t.resolve(zero, err)
}

func (t *task[A, R]) Deliver(_ int, values []byte, n int, errs map[int]error) {
	t.n = 1
	start := startTiming(&t.pool.decodings)
	r, err := decodeResult[R](t.runner.name, values, n)
	t.pool.timeDecode(start)
	if e := errs[0]; e != nil {
		err = e
	}
	if err != nil {
		t.Fail(0, err)
		return
	}
	t.count(nil)
	t.resolve(r, nil)
}

// decodeResult decodes the result of a task, its one item: a number is
// copied from the frame, anything else is decoded as decodeResults does.
func decodeResult[R any](name string, values []byte, n int) (R, error) {
	var one [1]R
	if n == 1 {
		ok, err := wire.DecodeRawInto(values, one[:])
		if err != nil {
			return one[0], fmt.Errorf("mp: decoding the result of %s as %T: %w", name, one[0], err)
		}
		if ok {
			return one[0], nil
		}
	}
	rs, err := decodeResults[R](name, values, n)
	if err != nil {
		return one[0], err
	}
	return rs[0], nil
}

// timeEvery is how many encodings (and decodings) of a pool one is timed
// for Stats, counting for all: reading the clock twice costs more than
// encoding a number (60 ns against a few on a virtual machine), and a
// pool of tasks of a few microseconds read it four times a task for
// these two figures alone.
const timeEvery = 8

// startTiming returns the clock at the start of an encoding (decoding),
// counted by n, to be timed: one in timeEvery, the first included; 0 for
// the others.
func startTiming(n *atomic.Int64) sched.Mono {
	if n.Add(1)%timeEvery != 1 {
		return 0
	}
	return sched.Now()
}

// timeEncode counts the time since start as encoding (timeEvery times:
// it stands for the encodings not timed), for Stats.
func (p *Pool) timeEncode(start sched.Mono) {
	if start != 0 {
		p.st.EncodeNanos.Add(timeEvery * int64(start.Since()))
	}
}

// timeDecode counts the time since start as decoding, as timeEncode.
func (p *Pool) timeDecode(start sched.Mono) {
	if start != 0 {
		p.st.DecodeNanos.Add(timeEvery * int64(start.Since()))
	}
}

// checkFor refuses a function that cannot run on p's workers.
func (f Func[A, R]) checkFor(p *Pool) error {
	if err := f.check(); err != nil {
		return err
	}
	if p != nil && p.defs.processes && !f.Registered() {
		return fmt.Errorf("%w: a function made with mp.Fn cannot run in a worker process: make it with mp.Register at package level", ErrInvalidOption)
	}
	return nil
}
