//go:build !linux

package futex

import (
	"sync/atomic"
	"time"
)

func wait(addr *uint32, val uint32, d time.Duration) {
	if atomic.LoadUint32(addr) == val {
		time.Sleep(min(d, 500*time.Microsecond))
	}
}

func wake(addr *uint32, n int) {}

// clockBase: elsewhere stamps count from the wall clock's reading at
// this process's start, which processes share (up to the clock's
// adjustments: a stamp that makes no sense is ignored by Woken).
func clockBase() (time.Time, int64) {
	t := time.Now()
	return t, t.UnixNano()
}
