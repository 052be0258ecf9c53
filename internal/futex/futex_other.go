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

// clockBase: elsewhere the wait is a sleep and no process wakes another;
// stamps count from this process's start.
func clockBase() (time.Time, int64) { return time.Now(), 0 }
