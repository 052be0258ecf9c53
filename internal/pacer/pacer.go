// Package pacer says when a worker's next batch of results is due: at
// least every Beat while its items run, so that the pool hears of
// finished items soon even in a long Task.
//
// One clock per process beats for every Task it runs, and stops once no
// Task has run for idleBeats: a worker that runs thousands of short Tasks
// a second starts no timer and no goroutine per Task. (A ticker and its
// goroutine per Task woke a thread of the Go runtime each time: measured,
// a third of a chunked Map's context switches and time.)
package pacer

import (
	"sync/atomic"
	"time"
)

// Beat is the longest a batch of results waits while items run.
const Beat = time.Millisecond

// idleBeats is how many beats the clock runs on with no Task running
// before it stops: Tasks that follow each other closely keep it going.
const idleBeats = 10

// clock is a process's beat: one goroutine while Tasks run.
type clock struct {
	every   time.Duration
	idle    int           // beats with no Task before it stops
	beat    atomic.Uint64 // beats so far
	active  atomic.Int64  // Tasks running (Start without Stop)
	running atomic.Bool   // the goroutine runs (or is about to)
	// stopping, if set, is called when the clock has decided to stop,
	// before it says so: a test starts a Task there.
	stopping func()
}

// proc is the clock of this process.
var proc = clock{every: Beat, idle: idleBeats}

// Due is one running Task's view of the clock; it is used by the
// goroutine that runs the Task's items. The zero Due is not started: it
// is due only when Set (a Task of one item, or one that sends each
// item's results anyway, needs no clock). A nil *Due is never due, and
// Sent does nothing to it: for a Task that needs no clock and no Set
// (it has no deadline), at no allocation.
type Due struct {
	c      *clock
	seen   uint64 // the beat at the last batch
	forced bool
}

// Start marks a Task running on the process's clock; call Stop when the
// Task is done.
func (d *Due) Start() { d.start(&proc) }

func (d *Due) start(c *clock) {
	c.active.Add(1)
	// The clock stores running false before it looks at active (see
	// run): either it sees this Task, or this sees it stopped.
	if !c.running.Load() && c.running.CompareAndSwap(false, true) {
		go c.run()
	}
	d.c, d.seen = c, c.beat.Load()
}

// run beats every c.every until no Task has run for c.idle beats.
func (c *clock) run() {
	t := time.NewTicker(c.every)
	defer t.Stop()
	for idle := 0; ; {
		<-t.C
		c.beat.Add(1)
		if c.active.Load() > 0 {
			idle = 0
			continue
		}
		if idle++; idle < c.idle {
			continue
		}
		if c.stopping != nil {
			c.stopping()
		}
		c.running.Store(false)
		if c.active.Load() == 0 || !c.running.CompareAndSwap(false, true) {
			return // stopped, or a Start that came meanwhile runs a new one
		}
		idle = 0 // a Task started as we stopped, and left the beating to us
	}
}

// Stop marks the Task done.
func (d *Due) Stop() {
	if d.c != nil {
		d.c.active.Add(-1)
		d.c = nil
	}
}

// Now reports whether a batch is due: a beat passed since the last one,
// or Set asked for one.
func (d *Due) Now() bool {
	return d != nil && (d.forced || (d.c != nil && d.c.beat.Load() != d.seen))
}

// Set makes a batch due now.
func (d *Due) Set() { d.forced = true }

// Sent records that a batch was sent: the next is due at the next beat.
func (d *Due) Sent() {
	if d == nil {
		return
	}
	d.forced = false
	if d.c != nil {
		d.seen = d.c.beat.Load()
	}
}
