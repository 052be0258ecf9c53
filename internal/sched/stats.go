package sched

import (
	"context"
	"sync/atomic"
)

// Counters are a pool's running totals, for mp.Pool.Stats: plain atomics,
// each updated where the scheduler or a backend already does the work
// (per job, per frame, or on a rare path such as a failure), never with a
// lock, so that counting costs a few atomic adds per chunk of items.
//
// Items are counted once each: Submitted when queued, Taken when a worker
// takes the job holding them, then exactly one of Done, Failed or
// Cancelled (never run: the call stopped, was cancelled, or the pool was
// terminated or broken).
type Counters struct {
	Submitted atomic.Int64 // items queued
	Taken     atomic.Int64 // items taken by workers
	Done      atomic.Int64 // items that succeeded
	Failed    atomic.Int64 // items that failed (error, panic, timeout, crash)
	Cancelled atomic.Int64 // items that never ran
	Retried   atomic.Int64 // runs of an item again after it failed
	TimedOut  atomic.Int64 // items (attempts) that ran past their Timeout
	Sent      atomic.Int64 // tasks sent to worker processes or the cluster
	Ticks     atomic.Int64 // progress ticks from inside tasks (mp.Tick)

	EncodeNanos atomic.Int64 // encoding arguments, in this process
	DecodeNanos atomic.Int64 // decoding results, in this process

	// Restarts counts worker replacements by reason.
	Restarts [NumReasons]atomic.Int64
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
	}
	return "unknown"
}

// Ticker is a job whose call counts progress ticks sent from inside its
// tasks (mp.Tick in a worker process): the backend hands them on.
type Ticker interface {
	Tick(n int64)
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
