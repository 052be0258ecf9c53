package worker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/sched"
	"github.com/mp-go/mp/internal/wire"
)

// TickEvery bounds how often a worker sends the ticks of a running Task
// (mp.Tick): at most once per TickEvery, and once before its last Results.
const TickEvery = 50 * time.Millisecond

// TickSink sums the ticks of a running Task's items and sends them,
// rate-limited: as Tick frames from a worker process, on a core NATS
// subject from a cluster worker.
type TickSink struct {
	task    uint64
	pending atomic.Int64
	mu      sync.Mutex // held while sending: a flush is not overtaken by another
	send    func(*wire.Tick) error
	stop    chan struct{}
	done    chan struct{}
}

var _ sched.Ticker = (*TickSink)(nil)

// StartTicks returns ctx carrying a TickSink for task, which sends the
// ticks counted with send every TickEvery (none when there are none)
// until Close. An error from send stops the sending: the pool is gone.
func StartTicks(ctx context.Context, task uint64, send func(*wire.Tick) error) (context.Context, *TickSink) {
	s := &TickSink{task: task, send: send, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(TickEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if s.flush() != nil {
					return // the pool is gone: the task loop hears of it too
				}
			case <-s.stop:
				return
			}
		}
	}()
	return sched.WithTicker(ctx, s), s
}

// Tick counts n ticks, to be sent.
func (s *TickSink) Tick(n int64) { s.pending.Add(n) }

// flush sends the ticks counted, if any.
func (s *TickSink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.pending.Swap(0)
	if n == 0 {
		return nil
	}
	return s.send(&wire.Tick{Task: s.task, N: n})
}

// Close stops the sending goroutine and returns the ticks counted but
// not sent; ticks counted later are dropped.
func (s *TickSink) Close() (unsent int64) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.Swap(0)
}
