package ring

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Spinning pays only when the other side runs at the same time on
// another processor. When more threads are runnable than there are
// processors (another job keeps the cores busy), a spinning waiter takes
// the processor from the very process it waits for, and a round trip
// costs whole scheduler time slices: it then sleeps on the futex at once.
// The run queue is read at most every crowdEvery (Linux: /proc/loadavg),
// so that a wait costs no system call.
const crowdEvery = 5 * time.Millisecond

var crowd struct {
	at      atomic.Int64 // Unix nanoseconds of the last look; 0: never
	crowded atomic.Bool
}

// crowded reports whether more threads are runnable than there are
// processors, as last seen.
func crowded() bool {
	now := time.Now().UnixNano()
	if at := crowd.at.Load(); now-at < int64(crowdEvery) && at != 0 {
		return crowd.crowded.Load()
	}
	crowd.at.Store(now)
	n, ok := runnable()
	c := ok && n > runtime.NumCPU()
	crowd.crowded.Store(c)
	return c
}
