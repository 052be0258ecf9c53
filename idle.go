package mp

import (
	"runtime"
	"time"
)

// How idle workers wait for a job: on a stack, the most recently idle on
// top, each asleep on its own channel; and one of them, the spinner,
// awake for a while first.

// wake hands up to n idle workers a job to look for, the most recently
// idle first. p.mu is held.
func (p *Pool) wake(n int) {
	for ; n > 0 && len(p.idlers) > 0; n-- {
		w := p.idlers[len(p.idlers)-1]
		p.idlers[len(p.idlers)-1] = nil
		p.idlers = p.idlers[:len(p.idlers)-1]
		w.wake <- struct{}{} // buffered: w waits for exactly this
	}
}

// wakeAll wakes every idle worker (the pool closes, breaks or stops).
// p.mu is held.
func (p *Pool) wakeAll() { p.wake(len(p.idlers)) }

// next blocks until a job is available for w, or returns false when the
// worker should exit (pool closed and drained, or terminated). With
// MemFree it also waits while memory is short and another job runs.
func (p *Pool) next(w *worker) (job, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.unspin(w)     // spin takes the turn again if the queue is empty
	var heldFor job // the job MemFree held w back for, counted once
	for {
		for p.head == len(p.queue) {
			if p.closed {
				return nil, false
			}
			if p.spinner == nil && p.spins && p.spin(w) {
				continue // a job came, or the pool closed
			}
			p.idlers = append(p.idlers, w)
			p.idle++
			p.mu.Unlock()
			<-w.wake // wake took w off idlers
			p.mu.Lock()
			// Counted idle until now, not from the wake: a worker taking
			// jobs ahead (tryNext) must leave this one its job.
			p.idle--
		}
		if p.mem == nil {
			break
		}
		if head := p.queue[p.head]; !p.mem.admits(p, w, heldFor == head) {
			heldFor = head
			continue
		}
		if p.head < len(p.queue) { // it may have gone while the memory was read
			p.mem.started(w)
			break
		}
	}
	return p.pop(), true
}

// spin watches the queue for up to spinFor before w goes to sleep on the
// idlers' stack, as the pool's one spinner: enqueue leaves the first job
// it queues to the spinner instead of waking a sleeping worker. A caller
// that submits its next task as soon as it has the last one's result
// (Apply in a loop) then finds the worker that ran it awake, with its
// process still spinning on its task ring and its caches warm: no
// goroutine and no process is woken. It reports whether a job came (or the pool closed) while it watched. p.mu is held, and held
// again when it returns.
func (p *Pool) spin(w *worker) bool {
	p.spinner = w
	p.idle++ // tryNext must leave the next job to it
	p.mu.Unlock()
	// Bounded by yields as well as by the clock: in a synctest bubble
	// the clock stands still while anything runs.
	deadline := time.Now().Add(spinFor)
	for i := 1; p.submitted.Load() == p.taken.Load() && i <= maxSpinYields; i++ {
		if i%16 == 0 && time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
	}
	p.mu.Lock()
	p.unspin(w)
	return p.head < len(p.queue) || p.closed
}

// finishing makes w, about to deliver the last results of its job, the
// spinner ahead of time: the caller woken by those results may queue its
// next task before w is back in next, and that task is then left to w.
func (p *Pool) finishing(w *worker) {
	if !p.spins || w.lent {
		// lent: its caller has the result, and no other caller waits
		// for the worker (w.lent was set by this goroutine, or before
		// the worker's own goroutine took p.mu to run this job)
		return
	}
	p.mu.Lock()
	if p.spinner == nil && p.head == len(p.queue) && !p.closed {
		p.spinner = w
		p.idle++
	}
	p.mu.Unlock()
}

// unspin ends w's turn as the spinner, if it has it. p.mu is held.
func (p *Pool) unspin(w *worker) {
	if p.spinner == w {
		p.spinner, p.spinnerHas = nil, false
		p.idle--
	}
}

// leaveToSpinner reports whether the spinner takes one of the jobs just
// queued, so that one sleeping worker fewer is woken: once per turn, the
// spinner takes one job. p.mu is held.
func (p *Pool) leaveToSpinner() bool {
	if p.spinner == nil || p.spinnerHas {
		return false
	}
	p.spinnerHas = true
	return true
}

// runHere runs j from the calling goroutine on an idle worker, if one is
// asleep on the idlers' stack and no job is queued ahead of j; it
// reports whether it did. The worker is lent: off the stack, its own
// goroutine still asleep on it, it runs j as if it had taken it (counted
// busy, its stats and MaxTasksPerChild untouched by the loan), and goes
// back on top when j is done, woken if a job was queued or the pool
// closed meanwhile. Apply in a loop so wakes no goroutine: the caller
// writes the task into the worker process's ring and reads the result
// itself, and the worker on top of the stack, the one that ran the last
// task, has its process still spinning on its task ring. Only process
// pools without MaxTasksPerChild, MaxMemoryPerChild or MemFree lend
// (p.lends): replacing a worker and holding one back for memory are its
// own goroutine's.
func (p *Pool) runHere(j job) bool {
	if p == nil || !p.lends {
		return false
	}
	p.mu.Lock()
	if p.closed || p.broken != nil || p.head < len(p.queue) || len(p.idlers) == 0 {
		p.mu.Unlock()
		return false
	}
	w := p.idlers[len(p.idlers)-1]
	p.idlers[len(p.idlers)-1] = nil
	p.idlers = p.idlers[:len(p.idlers)-1]
	p.idle--
	w.lent = true
	p.queue = append(p.queue, j)
	p.countQueued(p.queue[len(p.queue)-1:])
	j = p.pop()
	p.mu.Unlock()

	w.enter(WorkerBusy)
	p.backend.Run(w, j)
	w.st.ran.Store(int64(w.tasks))
	w.enter(WorkerIdle)

	p.mu.Lock()
	w.lent = false
	p.idlers = append(p.idlers, w)
	p.idle++
	switch {
	case p.closed:
		p.wakeAll()
	case p.head < len(p.queue):
		p.wake(1) // queued while it was lent, perhaps with no worker idle
	}
	p.busy--
	if p.busy == 0 && p.head == len(p.queue) {
		p.idleCond.Broadcast()
	}
	p.mu.Unlock()
	return true
}

// spinFor is how long an idle worker watches the queue before it sleeps:
// a caller's work between two tasks of a loop.
const (
	spinFor       = 20 * time.Microsecond
	maxSpinYields = 1024 // 20 µs are ~250 yields (80 ns each, measured)
)
