package mp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/wire"
	wk "github.com/mp-go/mp/internal/worker"
)

// Processes makes the pool run tasks in n worker processes: this program,
// re-executed, serving tasks from mp.Main (Python's Pool(processes=n) and
// ProcessPoolExecutor). Only functions made with Register run there. A
// worker that dies is replaced and its task fails with a *WorkerError
// (or is run again if Retries allows); Timeout and cancellation kill the
// worker running the late or cancelled task.
func Processes(n int) Option {
	return func(s *settings) error {
		if err := poolOnly("Processes", s); err != nil {
			return err
		}
		if n < 1 {
			return fmt.Errorf("%w: Processes(%d): need at least one worker", ErrInvalidOption, n)
		}
		s.workers, s.processes = n, true
		return nil
	}
}

// HandshakeTimeout bounds how long a new worker process may take to reach
// mp.Main and announce itself (default 10s). A program that does not call
// mp.Main fails within it with an error that says so, instead of hanging.
func HandshakeTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if err := poolOnly("HandshakeTimeout", s); err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("%w: HandshakeTimeout(%v) must be positive", ErrInvalidOption, d)
		}
		s.handshake = d
		return nil
	}
}

// MaxMemoryPerChild replaces a worker process whose resident memory is
// above limit bytes after a task, as loky does for leaky tasks (Python's
// multiprocessing has only maxtasksperchild). The new worker starts
// before the old one is stopped. Linux only: elsewhere the memory is not
// read and workers are never replaced for it.
func MaxMemoryPerChild(limit int64) Option {
	return func(s *settings) error {
		if err := poolOnly("MaxMemoryPerChild", s); err != nil {
			return err
		}
		if limit <= 0 {
			return fmt.Errorf("%w: MaxMemoryPerChild(%d) must be positive", ErrInvalidOption, limit)
		}
		s.maxRSS = uint64(limit)
		return nil
	}
}

// remoteJob is a job as the process backend runs it: item by item, from
// its cursor, with encoded arguments and results.
type remoteJob interface {
	job
	// begin reports whether the job is still to run (not cancelled or
	// stopped); if not, it has already been reported.
	begin() bool
	funcName() string
	settings() (timeout time.Duration, retries int)
	context() context.Context
	cursor() int
	size() int
	// index gives item i's position in the call's input.
	index(i int) int
	// callSeq is the number of the job's call in its pool.
	callSeq() uint64
	// encodeFrom encodes the items from i on as one array: as many as can
	// be encoded, and the error of the first that cannot.
	encodeFrom(i int) (data []byte, n int, err error)
	// deliver reports n items from i: their results encoded as one array,
	// and the failures by item.
	deliver(i int, values []byte, n int, errs map[int]error)
	// fail reports item i as failed.
	fail(i int, err error)
	complete(w *worker, took time.Duration)
}

// processBackend runs each worker slot as a child process.
type processBackend struct {
	handshake time.Duration
	pool      *Pool
	initName  string // registered Initializer, if any
	initArg   []byte
	maxRSS    uint64 // MaxMemoryPerChild
}

func (b *processBackend) start(ctx context.Context, w *worker) error {
	pw, err := b.spawn(w.id)
	if err != nil {
		return err
	}
	w.bk = pw
	return nil
}

func (b *processBackend) stop(w *worker) {
	if pw, ok := w.bk.(*procWorker); ok {
		pw.close()
		w.bk = nil
	}
}

// maxStarts bounds the attempts to start a worker process that is
// killed before it serves; between them the pool waits, from startBackoff
// doubling up to a second.
const (
	maxStarts    = 6
	startBackoff = 25 * time.Millisecond
)

// spawn starts worker id's process. One killed while it starts (someone
// kills the pool's processes, the OOM killer) is started again, with
// backoff; the pool breaks only when workers cannot start at all: after
// maxStarts attempts, or at once when the program cannot serve (no
// mp.Main, a failing initializer).
func (b *processBackend) spawn(id int) (*procWorker, error) {
	delay, began := startBackoff, time.Now()
	for attempt := 1; ; attempt++ {
		pw, err := b.spawnOnce(id)
		if err == nil {
			return pw, nil
		}
		var se *startError
		if !errors.As(err, &se) {
			return nil, err // the initializer failed
		}
		if !se.retry {
			return nil, fmt.Errorf("%w: %w", ErrBrokenPool, err)
		}
		if attempt == maxStarts {
			return nil, fmt.Errorf("%w: worker %d cannot start: %d attempts in %v failed, the last because %w", ErrBrokenPool, id, attempt, time.Since(began).Round(time.Millisecond), err)
		}
		b.pool.log.Warn("mp: a worker process failed to start; starting another", "worker", id, "attempt", attempt, "err", err, "after", delay)
		select {
		case <-time.After(delay):
		case <-b.pool.ctx.Done():
			return nil, errTerminated
		}
		delay = min(2*delay, time.Second)
	}
}

func (b *processBackend) spawnOnce(id int) (*procWorker, error) {
	pw, err := spawnWorker(id, "worker process", b.handshake, true)
	if err != nil {
		return nil, err
	}
	if err := b.setup(pw, id); err != nil {
		pw.kill()
		pw.close()
		return nil, err
	}
	// From now on the slot's goroutine reads results with plain blocking
	// reads: a round trip then costs no netpoller wake-up. (Fd switches the
	// pipe to blocking mode; deadlines were only needed for the handshake.)
	pw.res.Fd()
	pw.unhook = context.AfterFunc(b.pool.ctx, func() { pw.killFor(errTerminated) })
	return pw, nil
}

// setup sends Setup and waits for Ready: the initializer has run.
func (b *processBackend) setup(pw *procWorker, id int) error {
	if b.initName != "" && !pw.names[b.initName] {
		return &startError{msg: fmt.Sprintf("initializer %q is not registered in worker process %d: register it at package level", b.initName, pw.pid)}
	}
	setup := wire.Setup{
		Worker: id, Init: b.initName, Arg: b.initArg, RSS: b.maxRSS > 0,
		Name: fmt.Sprintf("PoolWorker-%d", id), Daemon: true, LogLevel: int(wk.LowestLevel(b.pool.log)),
		Parent: CurrentProcess().Name(),
	}
	// the initializer may take long: no deadline but the worker's life
	err := pw.send(wire.KindSetup, setup)
	var kind wire.Kind
	var p []byte
	if err == nil {
		kind, p, err = pw.read(b.pool.log, "worker", id)
	}
	var ready wire.Ready
	if err != nil || kind != wire.KindReady || wire.Unmarshal(p, &ready) != nil {
		if err == nil {
			pw.killFor(pw.protocolError(fmt.Errorf("a frame of kind %d where Ready was due", kind)))
		} else if framingError(err) {
			pw.killFor(pw.protocolError(err))
		}
		if why := pw.reason(); why != nil {
			return &startError{msg: fmt.Sprintf("worker %d (pid %d) during setup: %v", id, pw.pid, why), err: why}
		}
		e := pw.exitError(nil)
		if e.Signal != "" {
			return &startError{msg: fmt.Sprintf("worker %d (pid %d) was killed by signal %s during setup", id, pw.pid, e.Signal), retry: true}
		}
		return &startError{msg: fmt.Sprintf("worker %d (pid %d) %s during setup", id, pw.pid, pw.exitText())}
	}
	if ready.Err != nil {
		re := &RemoteError{PID: pw.pid, Msg: ready.Err.Msg, Type: ready.Err.Type, Stack: ready.Err.Stack, Panic: ready.Err.Panic}
		return fmt.Errorf("mp: initializer of worker %d (pid %d): %w", id, pw.pid, re)
	}
	return nil
}

// A worker slot keeps Tasks queued in its worker's pipe behind the one
// running, so that the worker starts the next as soon as it has sent the
// results of one instead of waiting a round trip for it. How many: enough
// to cover pipelineCover of the worker's recent task time, from none (long
// tasks: a Task queued behind a long one could have gone to an idle
// worker) to maxAhead (tiny tasks). No job is taken ahead while another
// worker waits for one, and only jobs of the head's function: a task that
// waits for another one (a queue's consumer, its producer) must not hold
// it in its worker's pipe, where nobody else can run it. The queue is
// refilled in bursts, one write for several Tasks, when it is half empty.
const (
	pipelineCover = 200 * time.Microsecond
	maxAhead      = 32
)

// ahead is how many Tasks to keep queued behind the running one: none
// for tasks longer than pipelineCover, whose round trip costs little and
// which would be better run by the next free worker.
func (pw *procWorker) ahead() int {
	if pw.avgTask <= 0 {
		return 0 // unknown yet: the first task may be long
	}
	return int(min(pipelineCover/pw.avgTask, maxAhead))
}

// timeTask folds the time the worker took for a Task, sent at sent, into
// its running average.
func (pw *procWorker) timeTask(sent time.Time) {
	now := time.Now()
	start := sent // it started when sent, or when the one before it ended
	if pw.lastDone.After(start) {
		start = pw.lastDone
	}
	took := now.Sub(start)
	pw.lastDone = now
	if pw.avgTask == 0 {
		pw.avgTask = took
	} else {
		pw.avgTask += (took - pw.avgTask) / 8
	}
}

// flight is a job a worker slot has taken, and the Task it has in the
// worker's pipe, if sent.
type flight struct {
	rj       remoteJob
	extra    bool // taken ahead by the slot, which calls jobDone for it
	begun    bool
	sent     bool
	id       uint64 // of the Task in flight
	from, n  int    // its items
	encErr   error  // the item after the Task's cannot be encoded
	timeout  time.Duration
	retries  int
	careful  bool
	crashes  map[int]int
	finished bool
	// the Task encoded ahead, when it was too big to queue
	frame     []byte
	frameFrom int
	frameFor  *procWorker
	size      int       // bytes of the Task in flight
	sentAt    time.Time // when it was sent
}

func newFlight(j job, extra bool) *flight {
	rj := j.(remoteJob)
	timeout, retries := rj.settings()
	return &flight{rj: rj, extra: extra, timeout: timeout, retries: retries, careful: timeout > 0}
}

// pipelined reports whether f may share its worker with Tasks behind it:
// its Task covers the rest of its items and each result need not be
// timed or attributed exactly.
func (f *flight) pipelined() bool {
	return f.timeout == 0 && !f.careful && f.encErr == nil && f.from+f.n == f.rj.size()
}

// chain is what a worker slot's run holds: the jobs it has taken, in
// order, the first of them (the head) the one whose results it reads.
type chain struct {
	b      *processBackend
	w      *worker
	jobs   []*flight
	ahead  []job // scratch for tryNext
	done   int   // jobs taken ahead and finished, not yet told to the pool
	cur    atomic.Pointer[procWorker]
	hooked context.Context // the context whose cancellation kills cur
	unhook func() bool
	// hookGen numbers the hooks; receiving is the number of the hook
	// whose head's results are being read (0: none), so that a context
	// cancelled after its task is done kills nothing.
	hookGen   uint64
	receiving atomic.Uint64
}

func (b *processBackend) run(w *worker, j job) {
	c := &chain{b: b, w: w, jobs: []*flight{newFlight(j, false)}}
	defer func() {
		if c.unhook != nil {
			c.unhook()
		}
		c.tellDone()
	}()
	// Recycling counts tasks and memory after each job: no taking ahead.
	ahead := b.pool.defs.maxTasks == 0 && b.maxRSS == 0
	for len(c.jobs) > 0 {
		h := c.jobs[0]
		pw, err := b.worker(w)
		if err != nil {
			for _, f := range c.jobs {
				if !f.begun && !f.rj.begin() {
					c.drop(f)
					continue
				}
				for f.rj.cursor() < f.rj.size() {
					f.rj.fail(f.rj.cursor(), err)
				}
				c.finish(f)
			}
			break
		}
		c.cur.Store(pw)
		died := false
		if !h.sent {
			switch c.send(pw, h, -1) {
			case finished:
				c.jobs = c.jobs[1:]
				continue
			case dead:
				died = true
			}
		}
		if !died && ahead && h.pipelined() {
			died = c.fill(pw)
		}
		if !died && pw.w.Buffered() > 0 && pw.w.Flush() != nil {
			died = true
		}
		c.tellDone() // before waiting: Join may be waiting for them
		var reason error
		if !died {
			c.hook(h.rj.context())
			died, reason = c.receive(pw, h)
		}
		if !died {
			h.sent = false
			if h.encErr != nil {
				h.rj.fail(h.rj.cursor(), h.encErr)
				h.encErr = nil
			}
			if h.rj.cursor() >= h.rj.size() {
				c.finish(h)
				c.jobs = c.jobs[1:]
			}
			continue
		}
		// The worker died. Tasks queued behind h never ran as far as we
		// know: they are sent again to the replacement.
		if why := pw.reason(); why != nil {
			reason = why
		}
		werr := pw.exitError(reason)
		pw.close()
		w.bk = nil
		for _, f := range c.jobs {
			f.sent = false
		}
		if b.pool.ctx.Err() != nil {
			// terminated: nothing more runs
			for _, f := range c.jobs {
				if !f.begun {
					f.rj.abort(errTerminated)
					c.drop(f)
					continue
				}
				if f.rj.cursor() < f.rj.size() {
					f.rj.fail(f.rj.cursor(), werr)
				}
				c.finish(f)
			}
			break
		}
		item := h.rj.cursor()
		switch {
		case h.rj.context().Err() != nil:
			// cancelled: the item ends with the cause (a Submit future
			// must resolve); the call has stopped, so the rest is not run
			h.rj.fail(item, werr)
			c.finish(h)
			c.jobs = c.jobs[1:]
		case !h.careful:
			// Results still in the worker's buffer died with it: run the
			// rest again one result at a time to find the item that kills.
			h.careful = true
		case h.crashes[item] < h.retries:
			if h.crashes == nil {
				h.crashes = map[int]int{}
			}
			h.crashes[item]++ // run it again on a fresh worker
		default:
			h.rj.fail(item, werr)
			h.careful = h.timeout > 0
		}
	}
	if pw, ok := w.bk.(*procWorker); ok && b.maxRSS > 0 && pw.rss > b.maxRSS {
		b.pool.log.Debug("mp: recycling a worker over its memory limit", "worker", w.id, "pid", pw.pid, "rss", pw.rss, "limit", b.maxRSS)
		w.retire = true // the pool replaces it, starting the new one first
		return
	}
	if w.bk == nil && b.pool.ctx.Err() == nil {
		if pw, err := b.spawn(w.id); err != nil {
			b.pool.breakPool(err)
		} else {
			w.bk = pw
		}
	}
}

// fill queues Tasks behind the head in pw's pipe, taking jobs from the
// pool's queue, in one burst once the queue is half empty. It reports
// whether the worker died.
func (c *chain) fill(pw *procWorker) (died bool) {
	room, queued, want := pw.room, 0, pw.ahead()
	for _, f := range c.jobs[1:] {
		if f.sent {
			queued++
			room -= f.size
		}
	}
	if queued > want/2 {
		return false // refill later, in one burst
	}
	for i := 1; i <= want; i++ {
		if i == len(c.jobs) {
			name := c.jobs[0].rj.funcName()
			c.ahead = c.b.pool.tryNext(c.ahead[:0], want+1-i, func(j job) bool {
				rj, ok := j.(remoteJob)
				return ok && rj.funcName() == name
			})
			if len(c.ahead) == 0 {
				return false
			}
			for _, j := range c.ahead {
				c.jobs = append(c.jobs, newFlight(j, true))
			}
			clear(c.ahead)
		}
		f := c.jobs[i]
		if f.sent {
			continue
		}
		if f.timeout > 0 {
			return false // it waits to be the head, then runs carefully
		}
		switch c.send(pw, f, room) {
		case finished:
			c.jobs = slices.Delete(c.jobs, i, i+1)
			i--
			continue
		case dead:
			return true
		case deferred:
			return false
		}
		room -= f.size
		if !f.pipelined() {
			return false
		}
	}
	return false
}

// hook makes the cancellation of ctx kill the worker: the head's task is
// running there.
func (c *chain) hook(ctx context.Context) {
	if ctx == c.hooked {
		return
	}
	if c.unhook != nil {
		c.unhook()
	}
	c.hooked = ctx
	c.hookGen++
	gen := c.hookGen
	c.unhook = context.AfterFunc(ctx, func() {
		if c.receiving.Load() != gen {
			return // not running a task of ctx's now
		}
		if pw := c.cur.Load(); pw != nil {
			pw.killFor(context.Cause(ctx))
		}
	})
}

// worker returns w's worker process, starting one if it has none; a
// failure to start breaks the pool.
func (b *processBackend) worker(w *worker) (*procWorker, error) {
	if pw, _ := w.bk.(*procWorker); pw != nil {
		return pw, nil
	}
	pw, err := b.spawn(w.id)
	if err != nil {
		b.pool.breakPool(err)
		return nil, err
	}
	w.bk = pw
	return pw, nil
}

// finish reports f complete.
func (c *chain) finish(f *flight) {
	took := time.Duration(0)
	if !f.sentAt.IsZero() {
		took = time.Since(f.sentAt)
	}
	f.rj.complete(c.w, took)
	c.drop(f)
}

// drop lets go of f, which has reported itself.
func (c *chain) drop(f *flight) {
	f.finished = true
	if f.extra {
		c.done++
	}
}

// tellDone tells the pool about the jobs taken ahead that have finished.
func (c *chain) tellDone() {
	if c.done > 0 {
		c.b.pool.jobsDone(c.done)
		c.done = 0
	}
}

// What send did.
type sendResult int

const (
	sent     sendResult = iota
	deferred            // the Task is too big to queue behind others now
	finished            // no Task needed: f has reported itself (cancelled, or every item failed before it could be sent)
	dead                // the worker is gone
)

// taskPipeSize is the buffer asked for the task pipe (Linux grants up to
// 1 MiB unprivileged). Three quarters of what is granted bound the bytes
// of the Tasks queued behind the running one: writing them must never
// block, since the worker does not read them while it runs and writes
// results, and the slot does not read results while it writes.
const taskPipeSize = 1 << 20

// send writes the Task for f's items from its cursor on, if its frame
// fits in room bytes (room < 0: any size, the worker is waiting for it).
// The caller flushes.
func (c *chain) send(pw *procWorker, f *flight, room int) sendResult {
	rj := f.rj
	if !f.begun {
		if !rj.begin() {
			c.drop(f)
			return finished
		}
		f.begun = true
	}
	name := rj.funcName()
	for rj.cursor() < rj.size() {
		if !pw.names[name] {
			rj.fail(rj.cursor(), fmt.Errorf("mp: function %q is not registered in worker process %d: register it at package level, so that every process of the program has it", name, pw.pid))
			continue
		}
		from := rj.cursor()
		if f.frame == nil || f.frameFrom != from || f.frameFor != pw {
			args, n, encErr := rj.encodeFrom(from)
			if n == 0 {
				rj.fail(from, encErr)
				continue
			}
			pw.nextID++
			f.id, f.from, f.n, f.encErr = pw.nextID, from, n, encErr
			task := wire.Task{ID: f.id, Func: name, Args: args, N: n, Retries: f.retries, Careful: f.careful}
			frame, err := wire.Marshal(task)
			if err != nil {
				rj.fail(from, err)
				continue
			}
			f.frame, f.frameFrom, f.frameFor = frame, from, pw
		}
		if room >= 0 && len(f.frame)+wire.HeaderSize > room {
			return deferred
		}
		f.sent, f.size, f.sentAt = true, len(f.frame)+wire.HeaderSize, time.Now()
		err := pw.w.Write(wire.KindTask, f.frame) // the caller flushes
		f.frame = nil
		if err != nil {
			return dead
		}
		return sent
	}
	c.finish(f)
	return finished
}

// receive delivers the Results of f's Task. It reports whether the worker
// died, and why it was killed if we killed it.
func (c *chain) receive(pw *procWorker, f *flight) (dead bool, reason error) {
	b := c.b
	rj, id, from, n, timeout := f.rj, f.id, f.from, f.n, f.timeout
	c.receiving.Store(c.hookGen)
	defer c.receiving.Store(0)
	if ctx := rj.context(); ctx.Err() != nil {
		// cancelled while its Task was queued (the hook fired while
		// another task ran): stop it now
		pw.killFor(context.Cause(ctx))
	}
	var current atomic.Int64
	arm := func(i int) *time.Timer {
		if timeout <= 0 {
			return nil
		}
		return time.AfterFunc(timeout, func() {
			if current.Load() == int64(i) {
				pw.killFor(fmt.Errorf("%w after %v", ErrTimeout, timeout))
			}
		})
	}
	reasonOf := pw.reason
	timer := arm(0)
	for got := 0; got < n; {
		kind, p, err := pw.r.Read()
		if kind == wire.KindLog && err == nil {
			var at struct {
				Task uint64 `cbor:"5,keyasint,omitempty"`
				Item int    `cbor:"6,keyasint,omitempty"`
			}
			where := []any{"worker", pw.id, "pid", pw.pid}
			if wire.Unmarshal(p, &at) == nil && at.Task == id && at.Item >= 0 && at.Item < n {
				where = append(where, "func", rj.funcName(), "task", rj.index(from+at.Item))
			}
			wk.EmitLog(b.pool.log, p, where...)
			continue
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			if framingError(err) {
				pw.killFor(pw.protocolError(err)) // at once: it cannot be trusted
			}
			return true, reasonOf()
		}
		var res wire.Results
		if kind != wire.KindResult || wire.Unmarshal(p, &res) != nil || res.ID != id || res.From != got || res.N < 1 || res.From+res.N > n {
			// out of step: this worker cannot be trusted
			pw.killFor(pw.protocolError(fmt.Errorf("a malformed or unexpected frame (kind %d, %d bytes) where the results of task %d were due", kind, len(p), id)))
			return true, reasonOf()
		}
		var errs map[int]error
		for _, e := range res.Errs {
			if errs == nil {
				errs = map[int]error{}
			}
			errs[from+e.Index] = &RemoteError{PID: pw.pid, Msg: e.Err.Msg, Type: e.Err.Type, Stack: e.Err.Stack, Panic: e.Err.Panic}
		}
		if res.RSS != 0 {
			pw.rss = res.RSS
		}
		got += res.N
		current.Store(int64(got))
		if got < n {
			timer = arm(got)
		}
		if got == n {
			// The last results may end the call, which cancels its
			// context: that must not kill the worker, now done with it.
			c.receiving.Store(0)
		}
		rj.deliver(from+res.From, res.Values, res.N, errs)
	}
	pw.timeTask(f.sentAt)
	return false, nil
}

// encodeFrom encodes items as one array, stopping before the first item
// that cannot be encoded or does not fit in a Task frame (encoding.go).
func encodeFrom[A any](items []A) ([]byte, int, error) { return encodeArgs(items, maxArgBytes) }

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

// remote job methods of a chunk

func (k *chunk[A, R]) begin() bool {
	if k.call.skip(k.base) {
		k.finish()
		return false
	}
	return true
}

func (k *chunk[A, R]) funcName() string                      { return k.call.name }
func (k *chunk[A, R]) settings() (time.Duration, int)        { return k.call.timeout, k.call.retries }
func (k *chunk[A, R]) context() context.Context              { return k.call.ctx }
func (k *chunk[A, R]) cursor() int                           { return k.ran }
func (k *chunk[A, R]) size() int                             { return len(k.in) }
func (k *chunk[A, R]) index(i int) int                       { return k.base + i }
func (k *chunk[A, R]) callSeq() uint64                       { return k.call.seq }
func (k *chunk[A, R]) encodeFrom(i int) ([]byte, int, error) { return encodeFrom(k.in[i:]) }
func (k *chunk[A, R]) fail(i int, err error)                 { var zero R; k.report(i, zero, err) }
func (k *chunk[A, R]) complete(w *worker, d time.Duration)   { w.tasks += k.ran; k.took = d; k.finish() }

func (k *chunk[A, R]) deliver(at int, values []byte, n int, errs map[int]error) {
	rs, derr := decodeResults[R](k.call.name, values, n)
	if derr == nil && errs == nil {
		copy(k.out[at:at+n], rs)
		k.ran = at + n
		if k.call.bar != nil {
			k.call.bar.Add(n)
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

// remote job methods of a Submit task

func (t *task[A, R]) begin() bool                         { return t.state.CompareAndSwap(fPending, fRunning) }
func (t *task[A, R]) funcName() string                    { return t.runner.name }
func (t *task[A, R]) settings() (time.Duration, int)      { return t.runner.timeout, t.runner.retries }
func (t *task[A, R]) context() context.Context            { return t.ctx }
func (t *task[A, R]) cursor() int                         { return t.n }
func (t *task[A, R]) size() int                           { return 1 }
func (t *task[A, R]) index(int) int                       { return 0 }
func (t *task[A, R]) callSeq() uint64                     { return t.seq }
func (t *task[A, R]) encodeFrom(int) ([]byte, int, error) { return encodeFrom([]A{t.arg}) }
func (t *task[A, R]) complete(w *worker, _ time.Duration) { w.tasks += t.n }
func (t *task[A, R]) fail(_ int, err error)               { var zero R; t.n = 1; t.resolve(zero, err) }

func (t *task[A, R]) deliver(_ int, values []byte, n int, errs map[int]error) {
	t.n = 1
	rs, err := decodeResults[R](t.runner.name, values, n)
	if e := errs[0]; e != nil {
		err = e
	}
	if err != nil {
		t.fail(0, err)
		return
	}
	t.resolve(rs[0], nil)
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
