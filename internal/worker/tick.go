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

// tickSink sums the ticks of a running Task's items and sends them as
// Tick frames, rate-limited.
type tickSink struct {
	task    uint64
	pending atomic.Int64
	mu      sync.Mutex // held while sending: a flush is not overtaken by another
	send    func(*wire.Tick) error
	stop    chan struct{}
	done    chan struct{}
}

var _ sched.Ticker = (*tickSink)(nil)

// startTicks returns ctx carrying a tickSink for task, which sends every
// TickEvery until stopped.
func startTicks(ctx context.Context, task uint64, send func(*wire.Tick) error) (context.Context, *tickSink) {
	s := &tickSink{task: task, send: send, stop: make(chan struct{}), done: make(chan struct{})}
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
func (s *tickSink) Tick(n int64) { s.pending.Add(n) }

// flush sends the ticks counted, if any.
func (s *tickSink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.pending.Swap(0)
	if n == 0 {
		return nil
	}
	return s.send(&wire.Tick{Task: s.task, N: n})
}

// close stops the sending goroutine; ticks made later are not sent.
func (s *tickSink) close() {
	close(s.stop)
	<-s.done
}
