package procpool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
)

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

// ahead is how many Tasks of function fn to keep queued behind the
// running one: none for tasks longer than pipelineCover, whose round trip
// costs little and which would be better run by the next free worker, and
// none until a task of fn was timed (the recent time is of fn's tasks
// only: a pool that ran tiny tasks of one function must not queue 32 long
// ones of the next behind each other in one worker).
func (pw *Proc) ahead(fn string) int {
	if pw.avgTask <= 0 || fn != pw.avgFunc {
		return 0 // unknown yet: the first task may be long
	}
	return int(min(pipelineCover/pw.avgTask, maxAhead))
}

// timeTask folds the time the worker took for a Task of function fn,
// sent at sent and done now, into its running average, which starts again with a
// function other than the last one's.
func (pw *Proc) timeTask(sent, now sched.Mono, fn string) {
	start := max(sent, pw.lastDone) // it started when sent, or when the one before it ended
	took := now.Sub(start)
	pw.lastDone = now
	if pw.avgTask == 0 || fn != pw.avgFunc {
		pw.avgTask, pw.avgFunc = took, fn
	} else {
		pw.avgTask += (took - pw.avgTask) / 8
	}
}

// flight is a job a worker slot has taken, and the Task it has in the
// worker's pipe, if sent.
type flight struct {
	rj        sched.Job
	extra     bool // taken ahead by the slot, which calls jobDone for it
	begun     bool
	sent      bool
	id        uint64 // of the Task in flight
	from, n   int    // its items
	encErr    error  // the item after the Task's cannot be encoded
	timeout   time.Duration
	retries   int
	careful   bool
	ticks     bool // the call has a progress bar: the worker sends Tick frames
	crashes   map[int]int
	unbegun   int // workers that died with its Task before they began item unbegunAt
	unbegunAt int
	finished  bool
	// the Task encoded ahead, when it was too big to queue
	frame     []byte
	frameFrom int
	frameFor  *Proc
	size      int        // bytes of the Task in flight
	sentAt    sched.Mono // when it was sent
	doneAt    sched.Mono // when its last results came
}

func newFlight(rj sched.Job, extra bool) *flight {
	f := newFlightValue(rj, extra)
	return &f
}

// newFlightValue is the flight newFlight makes, as a value.
func newFlightValue(rj sched.Job, extra bool) flight {
	timeout, retries := rj.Settings()
	return flight{rj: rj, extra: extra, timeout: timeout, retries: retries, careful: timeout > 0, ticks: sched.TickerFrom(rj.Context()) != nil}
}

// pipelined reports whether f may share its worker with Tasks behind it:
// its Task covers the rest of its items and each result need not be
// timed or attributed exactly.
func (f *flight) pipelined() bool {
	return f.timeout == 0 && !f.careful && f.encErr == nil && f.from+f.n == f.rj.Size()
}

// chain is what a worker slot's run holds: the jobs it has taken, in
// order, the first of them (the head) the one whose results it reads.
type chain struct {
	b      *Backend
	w      sched.Slot
	jobs   []*flight
	ahead  []sched.Job // scratch for TryNext
	spare  []*flight   // flights of finished jobs, for the next ones
	done   int         // jobs taken ahead and finished, not yet told to the pool
	cur    atomic.Pointer[Proc]
	hooked context.Context // the context whose cancellation kills cur
	unhook func() bool
	// hookGen numbers the hooks; receiving is the number of the hook
	// whose head's results are being read (0: none), so that a context
	// cancelled after its task is done kills nothing.
	hookGen   uint64
	receiving atomic.Uint64
	// timedOut is set when the head's item ran past its Timeout and the
	// worker was killed for it (for Stats' restart reasons).
	timedOut atomic.Bool
	// sameFunc matches the jobs of the head's function, named funcName,
	// for TryNext (made once: a closure per fill was an allocation)
	sameFunc func(sched.Job) bool
	funcName string
	jobsBuf  []*flight // room for the head and maxAhead jobs behind it
	// stamp is when the head's last results came (0: not in this step):
	// the send time of the Tasks sent right after them. A clock read cost
	// 40–50 ns on the machines we measured, and two a Task (sent, done)
	// were 6% of the pool's time in Map with Chunksize(1) (perf).
	stamp sched.Mono
}

// chainFor returns the chain of a Run of j on w: the one w's worker
// kept from the slot's last Run (keep), or a new one.
func (b *Backend) chainFor(w sched.Slot, j sched.Job) *chain {
	var c *chain
	if pw, _ := w.Worker().(*Proc); pw != nil && pw.kept != nil && pw.kept.w == w {
		c, pw.kept = pw.kept, nil
	} else {
		c = &chain{b: b, w: w, jobsBuf: make([]*flight, 0, 1+maxAhead)}
		c.jobs = c.jobsBuf
		c.sameFunc = func(j sched.Job) bool { return j.FuncName() == c.funcName }
	}
	c.jobs = append(c.jobs, c.newFlight(j, false))
	return c
}

// keep leaves c, done with, to the slot's worker for the slot's next
// Run, emptied. Anything still holding c from this Run (the hook's
// function, a deadline's timer) sees a hook number or an item of its own
// no longer current, and does nothing.
func (c *chain) keep() {
	pw, _ := c.w.Worker().(*Proc)
	if pw == nil {
		return
	}
	clear(c.jobs)
	c.jobs = c.jobsBuf[:0] // not c.jobs[:0]: next moved its start
	c.hooked, c.unhook = nil, nil
	c.cur.Store(nil)
	c.receiving.Store(0)
	c.timedOut.Store(false)
	pw.kept = c
}

// Run runs j on the slot's worker process, and Tasks of jobs taken
// ahead behind it; a worker that dies is replaced.
func (b *Backend) Run(w sched.Slot, j sched.Job) {
	c := b.chainFor(w, j)
	c.stamp = 0 // a kept chain's is from its last Run: the worker has waited since
	if b.cfg.MemFree {
		b.register(w, c)
		defer b.unregister(w)
	}
	defer func() {
		if c.unhook != nil {
			c.unhook()
		}
		c.tellDone()
		c.keep()
	}()
	// Recycling counts tasks and memory after each job: no taking ahead.
	ahead := b.pool.MaxTasks() == 0 && b.cfg.MaxRSS == 0
	for len(c.jobs) > 0 {
		h := c.jobs[0]
		pw, err := b.worker(w)
		if err != nil {
			for _, f := range c.jobs {
				if !f.begun && !f.rj.Begin() {
					c.drop(f)
					continue
				}
				for f.rj.Cursor() < f.rj.Size() {
					f.rj.Fail(f.rj.Cursor(), err)
				}
				c.finish(f)
			}
			break
		}
		if c.cur.Swap(pw) != pw {
			c.stamp = 0 // a new worker, started since the last results
		}
		died := false
		if !h.sent {
			switch c.send(pw, h, -1) {
			case finished:
				c.next()
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
		c.stamp = 0 // the Tasks sent from now on are sent after the wait
		if !died {
			c.hook(h.rj.Context())
			died, reason = c.receive(pw, h)
		}
		if !died {
			c.stamp = h.doneAt
			h.sent = false
			if h.encErr != nil {
				h.rj.Fail(h.rj.Cursor(), h.encErr)
				h.encErr = nil
			}
			if h.rj.Cursor() >= h.rj.Size() {
				c.finish(h)
				c.next()
			}
			continue
		}
		// The worker died. Every whole frame it left in its result ring
		// has been read (receive), and what it left in its stage is
		// delivered (recover): the items before h's cursor have their
		// results. Its mark says whether it had begun the item at the
		// cursor; the items after it, and the Tasks queued behind h, never
		// began: they are sent again to the replacement, and nothing runs
		// twice.
		if h.sent {
			pw.recover(h, b.errs)
		}
		// Killed by us for a call that stopped, while it ran a Task of
		// another call (taken ahead: the kill raced its move to the
		// next Task): the item did not fail, the pool cut it short.
		var sf *stoppedFor
		cutShort := errors.As(pw.reason(), &sf) && h.rj.Context().Err() == nil
		// Killed by Shed (MemFree): whatever it ran, of whichever call,
		// runs again once there is memory.
		shed := errors.Is(pw.reason(), errShed)
		item := h.rj.Cursor()
		began := h.sent && pw.Running(h.id, item-h.from)
		if item != h.unbegunAt {
			h.unbegun, h.unbegunAt = 0, item
		}
		if why := pw.reason(); why != nil {
			reason = why
		}
		werr := pw.exitError(b.errs, reason)
		pw.Close()
		w.SetWorker(nil)
		if b.pool.Context().Err() == nil {
			b.st.Restarts[c.restartReason(h, sf != nil, shed)].Add(1)
		}
		for _, f := range c.jobs {
			f.sent = false
		}
		if b.pool.Context().Err() != nil {
			c.abandon(werr) // terminated: nothing more runs
			break
		}
		switch {
		case h.rj.Context().Err() != nil:
			// cancelled: the item ends with the cause (a Submit future
			// must resolve); the call has stopped, so the rest is not run
			h.rj.Fail(item, werr)
			c.finish(h)
			c.jobs = c.jobs[1:]
		case shed:
			// memory is critically low: the item (begun or not) and
			// the rest run on a fresh worker once the pool would let
			// this slot take a new job. Not a failure, not a retry, and
			// not bounded: a slot running alone is never shed.
			b.pool.AwaitMemory(w)
			if cause := context.Cause(b.pool.Context()); cause != nil {
				c.abandon(cause) // terminated while it waited
			}
		case !began && h.unbegun < maxUnbegun:
			// it died before the item began (between items, or reading
			// the Task): the item runs on the next worker
			h.unbegun++
		case began && cutShort && h.unbegun < maxUnbegun:
			// it runs again: the one exception to exactly once, caused
			// by the pool, not by the item
			h.unbegun++
		case began && h.crashes[item] < h.retries:
			if h.crashes == nil {
				h.crashes = map[int]int{}
			}
			h.crashes[item]++ // run it again on a fresh worker
			b.st.Retried.Add(1)
		default:
			h.rj.Fail(item, werr)
		}
	}
	if pw, ok := w.Worker().(*Proc); ok && b.cfg.MaxRSS > 0 && pw.rss > b.cfg.MaxRSS {
		b.pool.Logger().Debug("mp: recycling a worker over its memory limit", "worker", w.ID(), "pid", pw.pid, "rss", pw.rss, "limit", b.cfg.MaxRSS)
		w.Retire() // the pool replaces it, starting the new one first
		return
	}
	if w.Worker() == nil && b.pool.Context().Err() == nil {
		if pw, err := b.spawn(w.ID()); err != nil {
			b.pool.Break(err)
		} else {
			w.SetWorker(pw)
		}
	}
}

// fill queues Tasks behind the head in pw's pipe, taking jobs from the
// pool's queue, in one burst once the queue is half empty. It reports
// whether the worker died.
func (c *chain) fill(pw *Proc) (died bool) {
	room, queued, want := pw.room, 0, pw.ahead(c.jobs[0].rj.FuncName())
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
			c.funcName = c.jobs[0].rj.FuncName()
			c.ahead = c.b.pool.TryNext(c.ahead[:0], want+1-i, c.sameFunc)
			if len(c.ahead) == 0 {
				return false
			}
			for _, j := range c.ahead {
				c.jobs = append(c.jobs, c.newFlight(j, true))
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
	c.hooked, c.unhook = ctx, nil
	// Every context its own number, hooked or not: the function of an
	// earlier one's hook, already running when it was unhooked, finds
	// another number and kills nothing.
	c.hookGen++
	if ctx.Done() == nil {
		return // never cancelled (context.Background): nothing to hook
	}
	gen := c.hookGen
	c.unhook = context.AfterFunc(ctx, func() {
		if c.receiving.Load() != gen {
			return // not running a task of ctx's now
		}
		if pw := c.cur.Load(); pw != nil {
			pw.killFor(&stoppedFor{context.Cause(ctx)})
		}
	})
}

// abandon ends every job of the chain when the pool is terminated: those
// not begun are aborted with the pool's cause, the item at the cursor of
// the others fails with err.
func (c *chain) abandon(err error) {
	for _, f := range c.jobs {
		if !f.begun {
			f.rj.Abort(context.Cause(c.b.pool.Context()))
			c.drop(f)
			continue
		}
		if f.rj.Cursor() < f.rj.Size() {
			f.rj.Fail(f.rj.Cursor(), err)
		}
		c.finish(f)
	}
	c.jobs = nil
}

// next drops the head, which has reported itself, and keeps its flight
// for a job taken next: a Map of one item a task took a flight's
// allocation per item.
func (c *chain) next() {
	f := c.jobs[0]
	c.jobs[0] = nil
	c.jobs = c.jobs[1:]
	*f = flight{}
	c.spare = append(c.spare, f)
}

// newFlight is newFlight with a kept flight, if there is one.
func (c *chain) newFlight(rj sched.Job, extra bool) *flight {
	n := len(c.spare)
	if n == 0 {
		return newFlight(rj, extra)
	}
	f := c.spare[n-1]
	c.spare = c.spare[:n-1]
	*f = newFlightValue(rj, extra)
	return f
}

// finish reports f complete.
func (c *chain) finish(f *flight) {
	took := time.Duration(0)
	switch {
	case f.doneAt != 0:
		took = f.doneAt.Sub(f.sentAt)
	case f.sentAt != 0:
		took = f.sentAt.Since()
	}
	f.rj.Complete(c.w, took)
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
		c.b.pool.JobsDone(c.done)
		c.done = 0
	}
}

// stoppedFor is the reason a worker was killed because a call whose
// Task it ran has stopped (cancelled, or failed without Partial).
type stoppedFor struct{ cause error }

func (e *stoppedFor) Error() string { return e.cause.Error() }
func (e *stoppedFor) Unwrap() error { return e.cause }

// maxUnbegun bounds the workers that may die with a job's Task before
// they begin its item: past that, the Task itself (too big to decode, say)
// kills them, and the item fails without having run.
const maxUnbegun = 3

// What send did.
type sendResult int

const (
	sent     sendResult = iota
	deferred            // the Task is too big to queue behind others now
	finished            // no Task needed: f has reported itself (cancelled, or every item failed before it could be sent)
	dead                // the worker is gone
)

// Three quarters of the task ring (wk.TaskRingBytes) bound the bytes of
// the Tasks queued behind the running one (Proc.room): writing them must
// never block, since the worker does not read them while it runs and
// writes results, and the slot does not read results while it writes.

// send writes the Task for f's items from its cursor on, if its frame
// fits in room bytes (room < 0: any size, the worker is waiting for it).
// The caller flushes.
func (c *chain) send(pw *Proc, f *flight, room int) sendResult {
	rj := f.rj
	if !f.begun {
		if !rj.Begin() {
			c.drop(f)
			return finished
		}
		f.begun = true
	}
	name := rj.FuncName()
	for rj.Cursor() < rj.Size() {
		if !pw.Has(name) {
			rj.Fail(rj.Cursor(), fmt.Errorf("mp: function %q is not registered in worker process %d: register it at package level, so that every process of the program has it", name, pw.pid))
			continue
		}
		from := rj.Cursor()
		head, args, view := f.frame, []byte(nil), []byte(nil) // the Task encoded ahead, whole
		fresh := f.frame == nil || f.frameFrom != from || f.frameFor != pw
		if fresh {
			var n int
			var encErr error
			args, view, n, encErr = rj.EncodeFrom(pw.argBuf[:0], from)
			if cap(args) > 0 && cap(args) >= cap(pw.argBuf) {
				pw.argBuf = args[:0] // written below, before the next Task's
			}
			if n == 0 {
				rj.Fail(from, encErr)
				continue
			}
			pw.nextID++
			f.id, f.from, f.n, f.encErr = pw.nextID, from, n, encErr
			task := wire.Task{ID: f.id, Func: name, N: n, Retries: f.retries, Careful: f.careful, Ticks: f.ticks}
			head = wire.AppendTaskHeadLen(pw.scratch[:0], &task, len(args)+len(view)) // the arguments follow where they lie
			pw.scratch = head[:0]
		}
		size := len(head) + len(args) + len(view) + wire.HeaderSize
		if room >= 0 && size > room {
			if fresh {
				// kept whole: the scratch buffers are the next Task's,
				// and view is the items' memory
				f.frame, f.frameFrom, f.frameFor = append(append(slices.Clone(head), args...), view...), from, pw
			}
			return deferred
		}
		at := c.stamp
		if at == 0 {
			at = sched.Now()
		}
		f.sent, f.size, f.sentAt, f.doneAt = true, size, at, 0
		c.b.st.Sent.Add(1)
		err := pw.w.WriteParts(wire.KindTask, head, args, view) // copied out now; the caller flushes
		f.frame = nil
		if err != nil {
			return dead
		}
		return sent
	}
	c.finish(f)
	return finished
}

// restartReason says why the worker running h died, for Stats; stopped
// says that the pool killed it for a call that stopped (which may be
// another call than h's, taken ahead), shed that Shed killed it.
func (c *chain) restartReason(h *flight, stopped, shed bool) sched.Reason {
	timedOut := c.timedOut.Swap(false)
	switch {
	case shed:
		return sched.MemFree
	case timedOut:
		return sched.Timeout
	case stopped || h.rj.Context().Err() != nil:
		return sched.Cancel
	}
	return sched.Crash
}
