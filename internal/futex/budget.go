package futex

import (
	"sync/atomic"
	"time"
)

// How long a waiter spins before it sleeps follows how long this machine
// takes to wake a sleeper (ski rental: spinning as long as a wake-up
// costs loses at most half against knowing the future). On an idle
// virtual machine a futex wake-up took 100–300 µs, the target's virtual
// CPU asleep in the host: with a fixed 50 µs spin, a pool's Apply loop
// fell into a mode where both sides slept every round trip (each waited
// longer than its spin for the other's wake-up) and stayed there, 200 µs
// a call instead of 4. Spinning for the measured wake-up cost keeps one
// side awake through the other's wake-up, which ends that mode at once.
const (
	// SpinMax bounds the spin, whatever the wake-ups cost.
	SpinMax = time.Millisecond
)

// wakeCost is the running average of this process's measured wake-up
// latencies (ns): from a waker's stamp (Stamp, just before Wake) to the
// sleeper running again.
var wakeCost atomic.Int64

// SpinBudget is how long a waiter spins before it sleeps: the measured
// wake-up cost and a quarter, from SpinIdle to SpinMax.
func SpinBudget() time.Duration {
	c := WakeCost()
	return min(max(c+c/4, SpinIdle), SpinMax)
}

// WakeCost is the measured wake-up cost: the running average of the last
// wake-ups' latencies (0 before any).
func WakeCost() time.Duration { return time.Duration(wakeCost.Load()) }

// Woken records a wake-up: the sleeper began to sleep at slept (a Stamp)
// and the last waker of its word stamped woke just before its Wake. A
// stamp from before the sleep is another wake-up's (a timeout or a
// spurious return then): nothing is learned.
func Woken(slept, woke int64) { woken(slept, woke, Stamp()) }

// woken is Woken at now.
func woken(slept, woke, now int64) {
	if woke < slept || woke > now {
		return
	}
	d := min(now-woke, int64(10*SpinMax)) // one descheduled sleeper does not set the pace
	c := wakeCost.Load()
	if c == 0 {
		wakeCost.Store(d)
		return
	}
	wakeCost.Store(c + (d-c)/4)
}

// Stamp reads CLOCK_MONOTONIC in nanoseconds, the same clock in every
// process of the machine, at the cost of time.Now: the offset of Go's
// own monotonic reading from it is taken once.
func Stamp() int64 { return monoBase + int64(time.Since(goBase)) }

var goBase, monoBase = clockBase()
