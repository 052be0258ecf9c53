package mp

import (
	"time"

	"github.com/mp-go/mp/internal/memavail"
	"github.com/mp-go/mp/internal/procpool"
)

// MemSource makes a pool's MemFree read the memory from src instead of
// the machine, for tests that need memory to be short.
func MemSource(src memavail.Source) PoolOption {
	return poolOption(func(s *settings) error {
		s.memSrc = src
		return nil
	})
}

// QueueLockWord exposes a queue's lock word to the crash tests, which
// wait for a process to hold it before they stop and kill it.
func QueueLockWord[T any](q *Queue[T]) *uint32 { return &q.h.Lock }

// QueueStateWords exposes the words of a queue's header that every Put
// and Get store to, for the crash tests to stop a process right after a
// store to one of them.
func QueueStateWords[T any](q *Queue[T]) [4]*uint64 {
	return [4]*uint64{&q.h.Head, &q.h.Tail, &q.h.Count, &q.h.Unfinished}
}

// SparePIDs returns the pids of the spare workers Prestart keeps ready.
func SparePIDs() []int {
	pids, _, _ := spares.State()
	return pids
}

// SpareState returns the pids of the spares ready, how many are being
// started and how many were taken by pools whose workers they still are.
func SpareState() (ready []int, starting, taken int) { return spares.State() }

// RecentTaskTimes returns the recent time per Task of each worker
// process of p (what its slot's pipelining follows). Call it after Join.
func RecentTaskTimes(p *Pool) []time.Duration {
	p.statMu.Lock()
	defer p.statMu.Unlock()
	var out []time.Duration
	for w := range p.live {
		if pw, ok := w.bk.(*procpool.Proc); ok {
			out = append(out, pw.RecentTask())
		}
	}
	return out
}
