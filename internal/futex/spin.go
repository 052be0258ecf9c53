package futex

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Spin watches *word for a while, yielding to other goroutines, and
// reports whether it moved on from seq: the caller then looks again
// instead of sleeping on the futex (Wait).
//
// Between a fast producer and a fast consumer on cores of their own,
// sleeping and waking each other costs two system calls and a wake-up (tens
// of microseconds on a virtual machine) a message, and spinning costs none:
// Spin then watches for up to SpinIdle. When the machine has more runnable
// threads than cores, spinning only keeps the other side (or whoever it
// waits for) off a core: the word cannot move until that side runs, and
// each microsecond spun is one it does not get. Spin then watches for
// SpinCrowded only, and the caller sleeps, which frees the core at once
// and lets the kernel run the other side first when it is woken.
// The machine's state is looked up at most every loadEvery (see
// Crowded).
func Spin(word *uint32, seq uint32) bool {
	return spinFor(word, seq, machine.budget(time.Now().UnixNano()))
}

// The budgets of Spin.
const (
	// SpinIdle covers the other side's work on a short message (a round
	// trip through a manager server) on a machine with cores to spare.
	SpinIdle = 50 * time.Microsecond
	// SpinCrowded catches a reply from another side that is running right
	// now, on a machine whose cores are oversubscribed.
	SpinCrowded = 2 * time.Microsecond
)

// spinFor watches *word for up to d, yielding to other goroutines.
func spinFor(word *uint32, seq uint32, d time.Duration) bool {
	var deadline time.Time
	for i := 0; ; i++ {
		if atomic.LoadUint32(word) != seq {
			return true
		}
		if i%16 == 0 {
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(d)
			} else if now.After(deadline) {
				return false
			}
		}
		runtime.Gosched()
	}
}
