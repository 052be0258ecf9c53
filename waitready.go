package mp

import (
	"context"
	"time"
)

// Waitable is what WaitReady waits on: a *Conn (ready when Recv would not
// block: a message or io.EOF), a *Queue, *JoinableQueue or *SimpleQueue
// (ready when Get would not block: an item, or closed), or a *Process
// (ready once it has ended: Python's sentinel).
type Waitable interface {
	// ready reports whether the object is ready; slow allows checks
	// that cost system calls (whether the other end of a pipe is gone).
	ready(slow bool) bool
}

var (
	_ Waitable = (*Conn[int])(nil)
	_ Waitable = (*Queue[int])(nil)
	_ Waitable = (*JoinableQueue[int])(nil)
	_ Waitable = (*SimpleQueue[int])(nil)
	_ Waitable = (*Process)(nil)
)

// WaitReady waits until at least one of objs is ready, or ctx ends, and
// returns the ready ones, in the order given (Python's
// multiprocessing.connection.wait(object_list, timeout)). When ctx ends
// first it returns no object and ctx's error (Python returns an empty
// list). With no objects it waits for ctx.
//
// It looks at the objects again and again, sleeping between looks from
// 20 µs up to 2 ms: a ready object is seen within about 2 ms, at a cost
// of a few hundred looks a second while nothing happens.
func WaitReady(ctx context.Context, objs ...Waitable) ([]Waitable, error) {
	sleep := 20 * time.Microsecond
	var t *time.Timer
	lastSlow := time.Time{}
	for {
		slow := time.Since(lastSlow) >= pollEvery
		if slow {
			lastSlow = time.Now()
		}
		var ready []Waitable
		for _, o := range objs {
			if o.ready(slow) {
				ready = append(ready, o)
			}
		}
		if len(ready) > 0 {
			return ready, nil
		}
		if t == nil {
			t = time.NewTimer(sleep)
			defer t.Stop()
		} else {
			t.Reset(sleep)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		sleep = min(2*sleep, 2*time.Millisecond)
	}
}

func (c *Conn[T]) ready(slow bool) bool {
	if c.sock != nil {
		return !c.closed.Load() && c.sock.poll(0)
	}
	if c.closed.Load() || c.in == nil {
		return false
	}
	return c.in.ready(slow)
}

func (q *Queue[T]) ready(slow bool) bool {
	if q.Qsize() > 0 || q.isClosed() {
		return true
	}
	return slow && q.peerGoneNow()
}

func (s *SimpleQueue[T]) ready(slow bool) bool { return s.q.ready(slow) }

func (p *Process) ready(bool) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
