package mp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/dash"
	"github.com/mp-go/mp/internal/sched"
)

// Pool runs tasks on a fixed number of workers. Make one with NewPool; the
// calls that use it (Map, Imap, Submit, ...) are package functions so that
// they can be generic. A Pool is safe for concurrent use: many calls can
// share one pool, and their chunks share its workers first come, first
// served.
//
// Stop a pool with Close (finish what was taken, then release the workers)
// or Terminate (drop what is queued, cancel what runs). Both are safe to
// call more than once, in any order, and together with Join.
type Pool struct {
	n       int
	defs    settings // call defaults
	log     *slog.Logger
	backend sched.Backend

	ctx    context.Context // cancelled by Terminate
	cancel context.CancelCauseFunc

	mu sync.Mutex
	// idlers are the workers waiting for a job, the last to become idle
	// on top: a job goes to the worker that ran the last one, whose
	// process is still spinning on its task ring and whose caches are
	// warm (sync.Cond would wake the one idle longest, asleep by then).
	idlers     []*worker
	work       sync.Cond // workers MemFree holds back wait here
	idleCond   sync.Cond // Join waits here
	queue      []job
	head       int
	closed     bool
	terminated bool
	broken     error
	busy       int
	idle       int // workers waiting for a job, or woken for one and not yet holding it
	// spinner is the worker watching the queue before it sleeps (spin),
	// if any, and spinnerHas says a job was left to it; spins says
	// whether the pool's workers do: a process pool's only (on goroutines
	// a spinner took a core from Imap's feeder: 8.6 → 11.2 ns/item, and
	// Apply was as fast without it; a cluster's wait on the network)
	spinner    *worker
	spinnerHas bool
	spins      bool
	lends      bool // an idle worker may be lent to a caller of Apply (runHere)
	// items queued and taken, for Stats: changed under mu, next to what
	// mu guards, read without it
	submitted atomic.Int64
	taken     atomic.Int64
	calls     map[*callCtl]struct{}
	asyncs    int // Futures of async calls (MapAsync, ...) not yet resolved
	nextID    int
	callSeq   atomic.Uint64 // numbers calls, in the order they are made

	workers sync.WaitGroup

	// for Stats (stats.go)
	st      sched.Counters
	born    time.Time
	statMu  sync.Mutex
	live    map[*worker]struct{}
	retired retiredStats // what workers no longer live did; statMu
	timed   bool         // workers time each job (processes, cluster): see workerStats
	// encodings and decodings count them, to time one in timeEvery
	encodings, decodings atomic.Int64
	failures             recentErrors

	name string       // on the dashboard
	dash *dash.Handle // Dashboard

	mem      *memGate       // MemFree; nil without it (memfree.go)
	memWatch sync.WaitGroup // watchMemory
}

// errTerminated is the cause given to work cut short by Terminate.
var errTerminated = fmt.Errorf("%w: terminated", ErrClosed)

// job is one unit of scheduling: a chunk of a call, or one Submit task;
// what other backends see of it is sched.Job.
type job interface {
	sched.Job
	// run executes the job in this process on w, reporting every item.
	run(w *worker)
}

// NewPool starts a pool. Without options it has CPUCount() goroutine
// workers. Options are checked here: a bad one is an error wrapping
// ErrInvalidOption. If an Initializer is given, NewPool runs it in every
// worker and returns the first failure, with every worker stopped.
func NewPool(opts ...PoolOption) (*Pool, error) {
	var s settings
	if err := s.applyPool(opts); err != nil {
		return nil, err
	}
	if s.workers == 0 {
		s.workers = CPUCount()
		if s.cluster {
			s.workers = 512 // tasks in flight: see Cluster
		}
	}
	p := &Pool{n: s.workers, defs: s, log: s.logger, calls: map[*callCtl]struct{}{}, born: time.Now(), live: map[*worker]struct{}{}, timed: s.processes || s.cluster, spins: s.processes}
	p.lends = s.processes && s.maxTasks == 0 && s.maxRSS == 0 && s.memFree == 0
	if p.log == nil {
		p.log = slog.Default()
	}
	if s.maxRSS > 0 && !s.processes {
		return nil, fmt.Errorf("%w: MaxMemoryPerChild needs Processes: goroutines share one heap", ErrInvalidOption)
	}
	if s.memFree > 0 && s.cluster {
		return nil, fmt.Errorf("%w: MemFree on a Cluster pool: its workers run on other machines, whose memory this process does not see", ErrInvalidOption)
	}
	if s.cluster && s.processes {
		return nil, fmt.Errorf("%w: Cluster and Processes: a pool runs on one or the other (LocalWorkers starts worker processes for a cluster)", ErrInvalidOption)
	}
	if s.cluster {
		b, err := newClusterBackend(p, &s)
		if err != nil {
			return nil, err
		}
		p.backend = b
	} else if s.processes {
		b, err := newProcessBackend(p, &s)
		if err != nil {
			return nil, err
		}
		p.backend = b
	} else {
		p.backend = &goroutineBackend{init: s.initFn}
	}
	if s.memFree > 0 {
		p.mem = newMemGate(&s, p.backend)
	}
	p.work.L = &p.mu
	p.idleCond.L = &p.mu
	p.ctx, p.cancel = context.WithCancelCause(context.Background())

	ws := make([]*worker, p.n)
	errs := make([]error, p.n)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = p.newWorker()
		wg.Go(func() { errs[i] = p.backend.Start(p.ctx, ws[i]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for i, w := range ws {
			if errs[i] == nil {
				p.backend.Stop(w)
			}
		}
		p.cancel(err)
		return nil, err
	}
	for _, w := range ws {
		p.workers.Add(1)
		go p.loop(w)
	}
	if p.mem != nil && p.mem.shed != nil {
		p.memWatch.Add(1)
		go p.watchMemory(p.mem)
	}
	if s.dashboard != nil {
		if err := p.startDashboard(*s.dashboard); err != nil {
			p.Terminate()
			return nil, err
		}
	}
	return p, nil
}

// spread is the number of workers a call's default chunk size divides
// its items among (Python's len/(4·workers)): the workers, or on a
// cluster, whose workers the pool does not count, a quarter of the tasks
// it keeps in flight: four tasks in flight per worker hide the round trips
// through the server.
func (p *Pool) spread() int {
	if p.defs.cluster {
		return max(p.n/4, 1)
	}
	return p.n
}

// Workers returns the number of workers.
func (p *Pool) Workers() int { return p.n }

func (p *Pool) newWorker() *worker {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	w := &worker{id: id, pool: p, wake: make(chan struct{}, 1)}
	p.addWorker(w)
	return w
}

// enqueue adds jobs at the back of the queue, or returns why it cannot.
func (p *Pool) enqueue(jobs ...job) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken != nil {
		return p.broken
	}
	if p.closed {
		if p.terminated {
			return errTerminated
		}
		return ErrClosed
	}
	p.queue = append(p.queue, jobs...)
	p.countQueued(jobs)
	n := len(jobs)
	if p.leaveToSpinner() {
		n--
	}
	p.wake(n)
	return nil
}

// tryNext appends to dst up to n queued jobs that match, from the head of
// the queue, without waiting; none while a worker waits for a job: it is
// for that worker.
func (p *Pool) tryNext(dst []sched.Job, n int, match func(sched.Job) bool) []sched.Job {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle > 0 {
		return dst
	}
	for ; n > 0 && p.head < len(p.queue) && match(p.queue[p.head]); n-- {
		dst = append(dst, p.pop())
	}
	return dst
}

// pop takes the job at the head of the queue, counting it busy. p.mu is
// held and the queue is not empty.
func (p *Pool) pop() job {
	j := p.queue[p.head]
	p.queue[p.head] = nil
	p.head++
	if p.head == len(p.queue) {
		p.queue, p.head = p.queue[:0], 0
	} else if p.head >= 1024 && p.head*2 >= len(p.queue) {
		p.queue, p.head = append(p.queue[:0], p.queue[p.head:]...), 0
	}
	p.busy++
	p.taken.Add(int64(j.Size()))
	return j
}

func (p *Pool) jobDone() { p.jobsDone(1) }

// slotDone counts the job w took with next finished; leaving says that
// w will not look for another (it is replaced).
func (p *Pool) slotDone(w *worker, leaving bool) {
	p.mu.Lock()
	if leaving && p.spinner == w {
		p.unspin(w)
		if p.head < len(p.queue) {
			p.wake(1) // the job enqueue left to w
		}
	}
	p.busy--
	if p.busy == 0 && p.head == len(p.queue) {
		p.idleCond.Broadcast()
	}
	if p.mem != nil {
		p.mem.ended(p, w)
	}
	p.mu.Unlock()
}

// jobsDone counts n jobs finished.
func (p *Pool) jobsDone(n int) {
	p.mu.Lock()
	p.busy -= n
	if p.busy == 0 && p.head == len(p.queue) {
		p.idleCond.Broadcast()
	}
	p.mu.Unlock()
}

// loop is a worker's life: take a job, run it, until the pool stops or
// the worker has run MaxTasksPerChild tasks.
func (p *Pool) loop(w *worker) {
	defer p.workers.Done()
	w.ready()
	for {
		w.enter(WorkerIdle)
		j, ok := p.next(w)
		if !ok {
			p.backend.Stop(w)
			p.dropWorker(w)
			return
		}
		w.enter(WorkerBusy)
		p.backend.Run(w, j)
		w.st.ran.Store(int64(w.tasks))
		max := p.defs.maxTasks
		leaving := w.retire || (max > 0 && w.tasks >= max)
		p.slotDone(w, leaving)
		if leaving {
			if w.retire {
				p.st.Restarts[sched.Memory].Add(1)
			} else {
				p.st.Restarts[sched.Recycle].Add(1)
			}
			p.replace(w)
			return
		}
	}
}

// replace retires w and starts a fresh worker in its place. The new worker
// starts before the old one is stopped so that the pool does not stall.
func (p *Pool) replace(old *worker) {
	nw := p.newWorker()
	p.workers.Add(1)
	go func() {
		defer p.workers.Done()
		p.mu.Lock()
		idleForever := p.closed && p.head == len(p.queue)
		p.mu.Unlock()
		if idleForever || p.ctx.Err() != nil {
			p.dropWorker(nw)
			return
		}
		if err := p.backend.Start(p.ctx, nw); err != nil {
			p.dropWorker(nw)
			if !errors.Is(err, ErrBrokenPool) { // the start already says "broken pool" and names the worker
				err = fmt.Errorf("%w: starting worker %d to replace worker %d: %w", ErrBrokenPool, nw.id, old.id, err)
			}
			p.breakPool(err)
			return
		}
		p.log.Debug("mp: worker replaced", "old", old.id, "new", nw.id, "tasks", old.tasks)
		p.workers.Add(1)
		go p.loop(nw)
	}()
	p.backend.Stop(old)
	p.dropWorker(old)
}

// breakPool marks the pool broken: nothing new is taken and every queued
// job fails with err.
func (p *Pool) breakPool(err error) {
	p.log.Error("mp: pool broken", "err", err)
	p.mu.Lock()
	if p.broken == nil {
		p.broken = err
	}
	p.closed = true
	q := p.takeQueue()
	p.wakeAll()
	p.work.Broadcast() // workers MemFree holds back
	p.mu.Unlock()
	for _, j := range q {
		j.Abort(err)
		p.jobDone()
	}
}

// takeQueue empties the queue and counts its jobs as busy until the caller
// has aborted them and called jobDone. p.mu is held.
func (p *Pool) takeQueue() []job {
	q := append([]job(nil), p.queue[p.head:]...)
	for _, j := range q {
		p.taken.Add(int64(j.Size()))
	}
	clear(p.queue)
	p.queue, p.head = p.queue[:0], 0
	p.busy += len(q)
	return q
}

// Close stops the pool taking new work, waits for the work it has taken
// (queued and running, including every item of a MapAsync, StarmapAsync,
// ApplyAsync or Submit made before it) to finish, and for its workers to
// exit; the Futures of those calls are resolved when it returns. After
// Close every call on the pool fails with ErrClosed. Close is what
// `with Pool() as p` and executor.shutdown(wait=True) do in Python, and
// what `defer pool.Close()` is for; pool.close(); pool.join() in Python is
// pool.Close() here. Once the work is done it ends the context of tasks
// whose call had no cancellation of its own (Submit, Apply with
// context.Background()): an mp.Command such a task left running is
// killed. It always returns nil, and is safe to call twice.
//
// Imap and ImapUnordered read their input lazily: a stream still being
// ranged over when Close is called yields an error wrapping ErrClosed
// for the input it had not yet handed out. Close must not be called from
// inside one of the pool's own tasks: it would wait for itself.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	p.wakeAll()
	p.work.Broadcast() // workers MemFree holds back
	p.mu.Unlock()
	p.workers.Wait()
	p.waitAsyncs()
	// Nothing runs any more: end what tasks left behind on the pool's
	// context (an mp.Command started and not waited for).
	p.cancel(ErrClosed)
	p.memWatch.Wait()
	p.stopDashboard()
	return nil
}

// Join waits until the pool is idle: no task queued or running, and the
// Future of every async call (MapAsync, StarmapAsync) resolved. It leaves
// the pool open (tasks submitted meanwhile are waited for too), so
// Python's pool.close(); pool.join() is pool.Close() alone, and
// map_async(...); join() is MapAsync(...); Join().
func (p *Pool) Join() {
	p.mu.Lock()
	for p.busy > 0 || p.head < len(p.queue) || p.asyncs > 0 {
		p.idleCond.Wait()
	}
	p.mu.Unlock()
}

// asyncStarted counts the Future of an async call pending.
func (p *Pool) asyncStarted() {
	p.mu.Lock()
	p.asyncs++
	p.mu.Unlock()
}

// asyncDone counts the Future of an async call resolved.
func (p *Pool) asyncDone() {
	p.mu.Lock()
	p.asyncs--
	if p.asyncs == 0 {
		p.idleCond.Broadcast()
	}
	p.mu.Unlock()
}

// waitAsyncs waits until the Future of every async call is resolved.
func (p *Pool) waitAsyncs() {
	p.mu.Lock()
	for p.asyncs > 0 {
		p.idleCond.Wait()
	}
	p.mu.Unlock()
}

// Terminate stops the pool now: queued tasks fail with an error wrapping
// ErrClosed, the contexts of running tasks are cancelled, and Terminate
// waits for the workers to exit. Goroutines cannot be killed, so a running
// task that ignores its context delays Terminate until it returns (a
// process pool kills its workers instead).
func (p *Pool) Terminate() {
	p.mu.Lock()
	p.closed, p.terminated = true, true
	q := p.takeQueue()
	calls := make([]*callCtl, 0, len(p.calls))
	for c := range p.calls {
		calls = append(calls, c)
	}
	p.wakeAll()
	p.work.Broadcast() // workers MemFree holds back
	p.mu.Unlock()

	p.cancel(errTerminated)
	for _, c := range calls {
		c.cancel(errTerminated)
	}
	for _, j := range q {
		j.Abort(errTerminated)
		p.jobDone()
	}
	p.workers.Wait()
	p.memWatch.Wait()
	p.waitAsyncs()
	p.stopDashboard()
}

// track registers a running call so that Terminate can cancel it.
func (p *Pool) track(c *callCtl) {
	p.mu.Lock()
	p.calls[c] = struct{}{}
	p.mu.Unlock()
}

func (p *Pool) untrack(c *callCtl) {
	p.mu.Lock()
	delete(p.calls, c)
	p.mu.Unlock()
}

// callSettings merges the pool's defaults with a call's options. Without
// options it returns the defaults themselves, copying nothing: the
// caller must not change them.
func (p *Pool) callSettings(opts []Option) (*settings, error) {
	if p == nil || p.n == 0 {
		return nil, fmt.Errorf("%w: nil or zero *Pool (make it with mp.NewPool)", ErrInvalidOption)
	}
	if len(opts) == 0 {
		return &p.defs, nil
	}
	s := p.defs
	err := s.applyCall(opts)
	return &s, err
}
