package mp

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/sched"
)

// Stats is a snapshot of what a pool is doing and has done, from
// Pool.Stats: mpire's "insights" and the numbers a dashboard or a
// monitoring system shows. Counts are since NewPool.
//
// Items are counted once each: Queued while their chunk waits, Running
// once a worker has taken it, then exactly one of Done, Failed or
// Cancelled. Queued + Running + Done + Failed + Cancelled is the number of
// items ever given to the pool (a snapshot taken while work moves may be
// off by the items of one chunk in flight between two counters).
type Stats struct {
	// Backend is "threads", "processes" or "cluster".
	Backend string
	// Workers is the pool's size: goroutines, worker processes, or tasks
	// in flight on a cluster.
	Workers int
	// Busy, Idle and Starting count the workers by state now. A worker
	// process being replaced within a task counts as busy.
	Busy, Idle, Starting int

	// Queued is the items waiting for a worker.
	Queued int64
	// Running is the items taken by workers whose chunk has not finished:
	// Done and Failed count an item once its chunk finishes.
	Running int64
	// Done is the items that succeeded.
	Done int64
	// Failed is the items that failed: an error, a panic, a timeout, a
	// worker that died.
	Failed int64
	// Cancelled is the items that never ran: their call stopped at an
	// earlier failure or was cancelled, or the pool was terminated or
	// broken.
	Cancelled int64
	// Retried counts the runs of an item again after a failure (Retries),
	// in this process, in worker processes and on cluster workers.
	Retried int64
	// TimedOut is the items that failed because they ran past Timeout.
	TimedOut int64
	// Sent is the tasks (runs of consecutive items) sent to worker
	// processes or the cluster; 0 for goroutines.
	Sent int64
	// Ticks is the progress ticks reported from inside tasks (Tick).
	Ticks int64
	// MemoryWaits counts the times a worker held a job back because
	// memory was short (MemFree): once per worker and job, however long
	// it waited.
	MemoryWaits int64

	// Restarts counts the workers replaced, by reason.
	Restarts Restarts

	// TaskTime is the time workers spent running jobs (for worker
	// processes and the cluster: from sending to the last result), and
	// WaitTime the time they spent waiting for work; both summed over
	// workers, including those replaced. On a goroutine pool Submit and
	// Apply tasks are not timed (a clock read would cost as much as the
	// task's overhead): their time counts as waiting.
	TaskTime, WaitTime time.Duration
	// EncodeTime and DecodeTime are the time this process spent encoding
	// arguments and decoding results for worker processes or the cluster:
	// estimates, from one encoding (decoding) in 8 timed (reading the
	// clock costs more than encoding a number).
	EncodeTime, DecodeTime time.Duration
	// Uptime is the time since NewPool.
	Uptime time.Duration

	// PerWorker describes each worker now in the pool, by ID.
	PerWorker []WorkerStats

	// RecentErrors are the last 16 items that failed, oldest first
	// (Failed counts them all).
	RecentErrors []FailedItem
}

// Restarts counts the workers a pool replaced, by reason.
type Restarts struct {
	// Crash: the worker process died (crash, signal, OOM killer, a
	// broken protocol).
	Crash int64
	// Recycle: it had run MaxTasksPerChild items.
	Recycle int64
	// Memory: it was over MaxMemoryPerChild.
	Memory int64
	// Timeout: it was killed for an item past its Timeout.
	Timeout int64
	// Cancel: it was killed because the call of its task was cancelled.
	Cancel int64
	// MemFree: it was killed because memory was critically low (under
	// half of MemFree, process pools only); its task ran again.
	MemFree int64
}

// Total is the number of workers replaced, for any reason.
func (r Restarts) Total() int64 {
	return r.Crash + r.Recycle + r.Memory + r.Timeout + r.Cancel + r.MemFree
}

// WorkerStatus is what a worker is doing (WorkerStats.Status).
type WorkerStatus int

// The states of a worker.
const (
	WorkerStarting WorkerStatus = iota // starting (its process, its Initializer)
	WorkerIdle                         // waiting for work
	WorkerBusy                         // running a job
)

// String is "starting", "idle" or "busy".
func (s WorkerStatus) String() string {
	switch s {
	case WorkerStarting:
		return "starting"
	case WorkerIdle:
		return "idle"
	case WorkerBusy:
		return "busy"
	}
	return "unknown"
}

// WorkerStats describes one worker of a pool.
type WorkerStats struct {
	// ID is the worker's number (WorkerID); a replacement gets a new one.
	ID int
	// Status is what it does now.
	Status WorkerStatus
	// Since is when, counted from NewPool, the state began (on a goroutine
	// pool: the chunk running began); 0 when unknown.
	Since time.Duration
	// Tasks is the items it has run (counted as each job ends).
	Tasks int64
	// TaskTime is its time running jobs, including the one running now;
	// WaitTime its time waiting for work, including now.
	TaskTime, WaitTime time.Duration
	// PID is its worker process (0 for goroutine and cluster workers).
	PID int
}

// workerStats is what a worker keeps for Stats: atomics written by the
// worker's own goroutine, read by Stats from any goroutine.
//
// A clock read costs 20 to 150 ns, as much as a goroutine pool's whole
// overhead for a small job, so a goroutine worker reads no clock per job:
// its busy time is what its chunks measure anyway, and its wait time is
// the rest of its life. A worker of a process or cluster pool, whose jobs
// cost microseconds, times each spell (enter).
type workerStats struct {
	out   sched.Outcomes // of the jobs run on the worker's goroutine
	state atomic.Int32
	since atomic.Int64 // nanoseconds since the pool's birth when the state (or the running chunk) began; -1: unknown
	born  atomic.Int64 // nanoseconds since the pool's birth when it started serving
	pid   atomic.Int32 // its worker process, 0 for none
	ran   atomic.Int64
	busy  atomic.Int64 // nanoseconds, finished jobs
	wait  atomic.Int64 // nanoseconds, finished waits (timed workers)
}

// ready records that w starts serving.
func (w *worker) ready() {
	now := int64(time.Since(w.pool.born))
	w.st.born.Store(now)
	w.st.since.Store(now)
}

// enter moves w to state s. A timed worker adds the time spent in the
// previous state to its totals; an untimed one only says what it does.
func (w *worker) enter(s WorkerStatus) {
	p := w.pool
	if !p.timed {
		if s == WorkerBusy {
			w.st.since.Store(-1) // a chunk stores its start
		}
		w.st.state.Store(int32(s))
		return
	}
	now := int64(time.Since(p.born))
	d := now - w.st.since.Swap(now)
	switch WorkerStatus(w.st.state.Swap(int32(s))) {
	case WorkerBusy:
		w.st.busy.Add(d)
	case WorkerIdle:
		w.st.wait.Add(d)
	}
}

// ranChunk records, on an untimed worker, a chunk that took took.
func (w *worker) ranChunk(took time.Duration) {
	if !w.pool.timed {
		w.st.busy.Add(int64(took))
		w.st.since.Store(-1) // no chunk running
	}
}

// startChunk records, on an untimed worker, the start of a chunk.
func (w *worker) startChunk(start time.Time) {
	if !w.pool.timed {
		w.st.since.Store(int64(start.Sub(w.pool.born)))
	}
}

// times returns w's busy and waiting time at now, counting the spell it
// is in (a job of unknown start counts as waiting until it ends).
func (w *worker) times(now time.Duration) (busy, wait time.Duration) {
	busy, wait = time.Duration(w.st.busy.Load()), time.Duration(w.st.wait.Load())
	since := w.st.since.Load()
	cur := time.Duration(0)
	if since >= 0 {
		cur = max(now-time.Duration(since), 0)
	}
	state := WorkerStatus(w.st.state.Load())
	if state == WorkerBusy {
		busy += cur
	}
	if w.pool.timed {
		if state == WorkerIdle {
			wait += cur
		}
		return busy, wait
	}
	if born := w.st.born.Load(); born > 0 || state != WorkerStarting {
		wait = max(now-time.Duration(born)-busy, 0)
	}
	return busy, wait
}

// retiredStats is what the workers no longer in the pool did.
type retiredStats struct {
	done, failed, cancelled int64
	busy, wait              int64 // nanoseconds
}

// Stats returns a snapshot of the pool's counters: cheap (atomic loads
// and one short lock to list the workers, nothing on the workers' path),
// and safe to call from any goroutine, also after Close.
func (p *Pool) Stats() Stats {
	c := &p.st
	now := time.Since(p.born)
	s := Stats{
		Backend: p.backendName(), Workers: p.n, Uptime: now,
		Retried: c.Retried.Load(), TimedOut: c.TimedOut.Load(), Sent: c.Sent.Load(), Ticks: c.Ticks.Load(),
		EncodeTime: time.Duration(c.EncodeNanos.Load()), DecodeTime: time.Duration(c.DecodeNanos.Load()),
		Restarts: Restarts{
			Crash: c.Restarts[sched.Crash].Load(), Recycle: c.Restarts[sched.Recycle].Load(),
			Memory: c.Restarts[sched.Memory].Load(), Timeout: c.Restarts[sched.Timeout].Load(),
			Cancel: c.Restarts[sched.Cancel].Load(), MemFree: c.Restarts[sched.MemFree].Load(),
		},
		MemoryWaits: c.MemoryWaits.Load(),
	}
	// Load the later counters first: an item moves from queued to taken
	// to an outcome, so nothing seems to be in two places at once.
	s.Done, s.Failed, s.Cancelled = c.Done.Load(), c.Failed.Load(), c.Cancelled.Load()
	p.statMu.Lock()
	ws := make([]*worker, 0, len(p.live))
	for w := range p.live {
		ws = append(ws, w)
		s.Done += w.st.out.Done.Load()
		s.Failed += w.st.out.Failed.Load()
		s.Cancelled += w.st.out.Cancelled.Load()
	}
	r := p.retired
	p.statMu.Unlock()
	s.Done, s.Failed, s.Cancelled = s.Done+r.done, s.Failed+r.failed, s.Cancelled+r.cancelled
	taken := p.taken.Load()
	submitted := p.submitted.Load()
	s.Running = max(taken-s.Done-s.Failed-s.Cancelled, 0)
	s.Queued = max(submitted-taken, 0)

	busy, wait := r.busy, r.wait
	slices.SortFunc(ws, func(a, b *worker) int { return a.id - b.id })
	s.PerWorker = make([]WorkerStats, len(ws))
	for i, w := range ws {
		state := WorkerStatus(w.st.state.Load())
		ps := WorkerStats{ID: w.id, Status: state, Since: max(time.Duration(w.st.since.Load()), 0), Tasks: w.st.ran.Load(), PID: int(w.st.pid.Load())}
		ps.TaskTime, ps.WaitTime = w.times(now)
		busy, wait = busy+int64(ps.TaskTime), wait+int64(ps.WaitTime)
		switch state {
		case WorkerBusy:
			s.Busy++
		case WorkerIdle:
			s.Idle++
		default:
			s.Starting++
		}
		s.PerWorker[i] = ps
	}
	s.TaskTime, s.WaitTime = time.Duration(busy), time.Duration(wait)
	s.RecentErrors = p.failures.recent()
	return s
}

// backendName names the pool's backend for Stats.
func (p *Pool) backendName() string {
	switch {
	case p.defs.cluster:
		return "cluster"
	case p.defs.processes:
		return "processes"
	}
	return "threads"
}

// addWorker lists w for Stats, starting.
func (p *Pool) addWorker(w *worker) {
	w.st.since.Store(int64(time.Since(p.born)))
	p.statMu.Lock()
	p.live[w] = struct{}{}
	p.statMu.Unlock()
}

// dropWorker takes w off the list, counting the time of its last state.
func (p *Pool) dropWorker(w *worker) {
	busy, wait := w.times(time.Since(p.born))
	w.st.state.Store(int32(WorkerStarting)) // stopping: neither busy nor idle
	p.statMu.Lock()
	if _, ok := p.live[w]; ok {
		delete(p.live, w)
		r := &p.retired
		r.done += w.st.out.Done.Load()
		r.failed += w.st.out.Failed.Load()
		r.cancelled += w.st.out.Cancelled.Load()
		r.busy += int64(busy)
		r.wait += int64(wait)
	}
	p.statMu.Unlock()
}

// countQueued counts the items of jobs queued.
func (p *Pool) countQueued(jobs []job) {
	n := 0
	for _, j := range jobs {
		n += j.Size()
	}
	p.submitted.Add(int64(n))
}
