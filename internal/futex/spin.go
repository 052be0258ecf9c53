package futex

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Spin watches *word for up to SpinIdle, yielding to other goroutines,
// and reports whether it moved on from seq: the caller then looks again
// instead of sleeping on the futex (Wait).
//
// Between a fast producer and a fast consumer, sleeping and waking each
// other costs two system calls and a wake-up (tens of microseconds on a
// virtual machine) a message, and spinning costs none. It spins as long
// on a machine whose cores are all busy: measured with a CPU hog on each
// of 2 cores, a side that sleeps waits for the hog's slice to end before
// it runs again, while one that spins keeps its fair share of a core and
// sees the reply at once (Pipe round trip 15–22 → 4–13 µs, manager
// set+get 36–58 → 9–15 µs, Apply 71–89 → 10 µs; see docs/decisions.md).
func Spin(word *uint32, seq uint32) bool { return spinFor(word, seq, SpinIdle) }

// SpinLong is Spin for up to SpinBudget, the machine's measured wake-up
// cost: for the side that serves requests (a worker waiting for its next
// Task), which stays awake through the other side's wake-up.
func SpinLong(word *uint32, seq uint32) bool { return spinFor(word, seq, SpinBudget()) }

// SpinIdle covers the other side's work on a short message (a round trip
// through a manager server).
const SpinIdle = 50 * time.Microsecond

// spinFor watches *word for up to d, yielding to other goroutines every
// yieldEvery looks.
func spinFor(word *uint32, seq uint32, d time.Duration) bool {
	// time.Since of a fixed time reads the monotonic clock only: half
	// the cost of time.Now, which reads the wall clock too
	var deadline time.Duration
	for i := 0; ; i++ {
		if atomic.LoadUint32(word) != seq {
			return true
		}
		if i%64 == 0 {
			now := time.Since(goBase)
			if i == 0 {
				deadline = now + d
			} else if now > deadline {
				return false
			}
		}
		if i%yieldEvery == yieldEvery-1 {
			runtime.Gosched()
		}
	}
}

// yieldEvery is how many looks a spinner takes between yields (about a
// microsecond). A yield also wakes an idle runtime thread to look for
// work (runtime.wakep, a futex call), and a worker process that yielded
// at every look, waiting for Tasks from a pool that could not keep up,
// woke its threads millions of times and took the pool's core: Map with
// Chunksize(1) ran 15% slower than with this. Much rarer yields (every
// 4,096 looks) left goroutines readied on the spinner's thread waiting,
// and were slower again.
const yieldEvery = 256
