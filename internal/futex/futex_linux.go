package futex

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The futex operations (linux/futex.h); without FUTEX_PRIVATE_FLAG, so
// that processes mapping the same memory meet on the same futex.
const (
	futexWait = 0
	futexWake = 1
)

func wait(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func wake(addr *uint32, n int) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, uintptr(n), 0, 0, 0)
}

// clockBase pairs a time.Now with CLOCK_MONOTONIC, read together.
func clockBase() (time.Time, int64) {
	var ts unix.Timespec
	t := time.Now()
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return t, 0
	}
	return t, ts.Nano()
}
