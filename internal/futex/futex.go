// Package futex waits on and wakes a 32-bit word in memory shared between
// processes: Linux futexes (not the private kind, so that they work
// across processes); elsewhere a short sleep stands in for the wait.
package futex

import "time"

// Wait sleeps while *addr == val, for at most d (spurious wake-ups
// happen: callers re-check).
func Wait(addr *uint32, val uint32, d time.Duration) { wait(addr, val, d) }

// Wake wakes up to n waiters on addr.
func Wake(addr *uint32, n int) { wake(addr, n) }
