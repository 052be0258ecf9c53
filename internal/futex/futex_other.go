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
