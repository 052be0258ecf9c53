package sched

import "time"

// Mono is a reading of the monotonic clock, in nanoseconds since the
// process began, for the times a pool keeps per task (when a Task was
// sent, how long encoding took). Reading it costs half of time.Now, which
// reads the wall clock too: a pool of tasks of a few microseconds read the
// clock seven times a task, a sixth of its own CPU.
type Mono int64

// start is the origin of Mono readings.
var start = time.Now()

// Now reads the monotonic clock.
func Now() Mono { return Mono(time.Since(start)) }

// Since returns the time from m to now.
func (m Mono) Since() time.Duration { return time.Duration(Now() - m) }

// Sub returns the time from o to m.
func (m Mono) Sub(o Mono) time.Duration { return time.Duration(m - o) }
