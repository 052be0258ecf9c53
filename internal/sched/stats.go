package sched

import (
	"context"
	"sync/atomic"
)

// Counters are a pool's running totals, for mp.Pool.Stats: plain atomics,
// each updated where the scheduler or a backend already does the work
// (per job, per frame, or on a rare path such as a failure), never with a
// lock. What every job updates is kept per worker slot where the slot is
// known (package mp), so that workers do not write a shared cache line
// per job; these are the pool-wide rest.
type Counters struct {
	// Outcomes of items reported off a worker's own path (worker
	// processes, the cluster, aborted jobs).
	Outcomes
	Retried  atomic.Int64 // runs of an item again after it failed
	TimedOut atomic.Int64 // items that failed past their Timeout
	Sent     atomic.Int64 // tasks sent to worker processes or the cluster
	Ticks    atomic.Int64 // progress ticks from inside tasks (mp.Tick)
	// MemoryWaits counts the times a job was held back because memory
	// was short (MemFree).
	MemoryWaits atomic.Int64

	EncodeNanos atomic.Int64 // encoding arguments, in this process
	DecodeNanos atomic.Int64 // decoding results, in this process

	// Restarts counts worker replacements by reason.
	Restarts [NumReasons]atomic.Int64
}

// Outcomes count items by how they ended: each item once, as Done,
// Failed or Cancelled (never run: the call stopped, was cancelled, or the
// pool was terminated or broken).
type Outcomes struct {
	Done      atomic.Int64
	Failed    atomic.Int64
	Cancelled atomic.Int64
}

// Reason says why a worker was replaced.
type Reason int

// The reasons a worker is replaced.
const (
	Crash   Reason = iota // its process died (a crash, a signal, a protocol error)
	Recycle               // it ran MaxTasksPerChild items
	Memory                // it was over MaxMemoryPerChild
	Timeout               // it was killed for an item past its Timeout
	Cancel                // it was killed because its task's call was cancelled
	MemFree               // it was killed because memory was critically low (MemFree): its items run again
	NumReasons
)

// String names the reason as metrics and logs show it.
func (r Reason) String() string {
	switch r {
	case Crash:
		return "crash"
	case Recycle:
		return "recycle"
	case Memory:
		return "memory"
	case Timeout:
		return "timeout"
	case Cancel:
		return "cancel"
	case MemFree:
		return "memfree"
	}
	return "unknown"
}

// Ticker counts progress ticks made inside a task (mp.Tick): what a
// task's context carries when its call has a progress bar.
type Ticker interface {
	Tick(n int64)
}

// JobTicker is a job whose call counts progress ticks sent from inside its
// tasks by a worker process: the backend hands them on, with the slot
// whose worker sent them (for per-worker bars).
type JobTicker interface {
	TickOn(s Slot, n int64)
}

type tickerKey struct{}

// WithTicker returns ctx carrying t, for the tasks of a call whose
// progress bar counts ticks (mp.Tick).
func WithTicker(ctx context.Context, t Ticker) context.Context {
	return context.WithValue(ctx, tickerKey{}, t)
}

// TickerFrom returns the Ticker that ctx carries, or nil.
func TickerFrom(ctx context.Context) Ticker {
	t, _ := ctx.Value(tickerKey{}).(Ticker)
	return t
}
