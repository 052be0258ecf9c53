package server

import (
	"context"
	"slices"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
	"github.com/mp-go/mp/manager/internal/registered"
)

// The server's synchronisation objects: Lock, RLock, semaphores, Event,
// Condition, Barrier.

// lockObj is a Lock. Its holder is the connection (the process) that took
// it; any connection may release it, as in Python.
type lockObj struct {
	base
	locked bool
	holder *conn
	dead   bool // its holder's connection ended while it held the lock
}

func (*lockObj) kind() string { return string(ops.KindLock) }

func (l *lockObj) call(ctx context.Context, c *conn, call *wire.Call, rep *wire.Reply) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch ops.LockOp(call.Op) {
	case ops.LockAcquire:
		return l.acquire(ctx, c, call.Flag, rep)
	case ops.LockRelease:
		return l.release()
	case ops.LockLocked:
		rep.OK = l.locked
	default:
		return unknownOp(l, call.Op)
	}
	return nil
}

// acquire takes the lock for c; mu is held.
func (l *lockObj) acquire(ctx context.Context, c *conn, wait bool, rep *wire.Reply) error {
	try := func() bool {
		if l.locked {
			return false
		}
		l.locked, l.holder = true, c
		return true
	}
	if !wait {
		if !try() {
			return nil
		}
	} else if err := l.await(ctx, try); err != nil {
		return err
	}
	rep.OK = true
	c.hold(l)
	if l.dead {
		l.dead = false
		return ops.Errorf(ops.CodeOwnerDead, "manager: the Lock's holder ended holding it")
	}
	return nil
}

// release frees the lock; mu is held.
func (l *lockObj) release() error {
	if !l.locked {
		return ops.Errorf(ops.CodeNotOwner, "manager: release of an unlocked Lock")
	}
	if l.holder != nil {
		l.holder.drop(l)
	}
	l.locked, l.holder = false, nil
	l.changed()
	return nil
}

func (l *lockObj) ownerGone(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked && l.holder == c {
		l.locked, l.holder, l.dead = false, nil, true
		l.changed()
	}
}

// hold records that c holds l, to free it if c ends first.
func (c *conn) hold(l heldLock) {
	c.mu.Lock()
	c.held = append(c.held, l)
	c.mu.Unlock()
}

func (c *conn) drop(l heldLock) {
	c.mu.Lock()
	if i := slices.Index(c.held, l); i >= 0 {
		c.held = slices.Delete(c.held, i, i+1)
	}
	c.mu.Unlock()
}

// rlockObj is an RLock: its owner is a hold (a random number the client
// keeps in a context) on one connection.
type rlockObj struct {
	base
	owner uint64
	conn  *conn
	depth int
	dead  bool
}

func (*rlockObj) kind() string { return string(ops.KindRLock) }

func (l *rlockObj) call(ctx context.Context, c *conn, call *wire.Call, rep *wire.Reply) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	hold := uint64(call.N)
	switch ops.RLockOp(call.Op) {
	case ops.RLockAcquire:
		if hold == 0 {
			return ops.Errorf(ops.CodeBadArgs, "manager: an RLock hold of 0")
		}
		try := func() bool {
			switch {
			case l.depth == 0:
				l.owner, l.conn, l.depth = hold, c, 1
				c.hold(l)
			case l.owner == hold && l.conn == c:
				l.depth++
			default:
				return false
			}
			return true
		}
		if !call.Flag {
			if !try() {
				return nil
			}
		} else if err := l.await(ctx, try); err != nil {
			return err
		}
		rep.OK, rep.N = true, int64(l.depth)
		if l.dead {
			l.dead = false
			return ops.Errorf(ops.CodeOwnerDead, "manager: the RLock's holder ended holding it")
		}
	case ops.RLockRelease:
		if l.depth == 0 || l.owner != hold || l.conn != c {
			return ops.Errorf(ops.CodeNotOwner, "manager: release of an RLock not held by this context")
		}
		l.depth--
		if l.depth == 0 {
			c.drop(l)
			l.owner, l.conn = 0, nil
			l.changed()
		}
		rep.N = int64(l.depth)
	default:
		return unknownOp(l, call.Op)
	}
	return nil
}

func (l *rlockObj) ownerGone(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.depth > 0 && l.conn == c {
		l.owner, l.conn, l.depth, l.dead = 0, nil, 0, true
		l.changed()
	}
}

// semObj is a Semaphore or BoundedSemaphore.
type semObj struct {
	base
	value, initial int
	bounded        bool
}

func (s *semObj) kind() string {
	if s.bounded {
		return string(ops.KindBounded)
	}
	return string(ops.KindSemaphore)
}

func (s *semObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ops.SemaphoreOp(call.Op) {
	case ops.SemaphoreAcquire:
		try := func() bool {
			if s.value == 0 {
				return false
			}
			s.value--
			return true
		}
		if !call.Flag {
			rep.OK = try()
			return nil
		}
		if err := s.await(ctx, try); err != nil {
			return err
		}
		rep.OK = true
	case ops.SemaphoreRelease:
		n := int(max(1, call.N))
		if s.bounded && s.value+n > s.initial {
			return ops.Errorf(ops.CodeBadArgs, "manager: BoundedSemaphore released too many times")
		}
		s.value += n
		s.changed()
	case ops.SemaphoreValue:
		rep.N = int64(s.value)
	default:
		return unknownOp(s, call.Op)
	}
	return nil
}

// eventObj is an Event.
type eventObj struct {
	base
	set bool
}

func (*eventObj) kind() string { return string(ops.KindEvent) }

func (e *eventObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ops.EventOp(call.Op) {
	case ops.EventSet:
		e.set = true
		e.changed()
	case ops.EventClear:
		e.set = false
	case ops.EventIsSet:
		rep.OK = e.set
	case ops.EventWait:
		if err := e.await(ctx, func() bool { return e.set }); err != nil {
			return err
		}
		rep.OK = true
	default:
		return unknownOp(e, call.Op)
	}
	return nil
}

// condObj is a Condition on a Lock of the same server.
type condObj struct {
	base
	lock    *lockObj
	waiters []*condWaiter
}

type condWaiter struct {
	ch       chan struct{}
	notified bool
}

func (*condObj) kind() string { return string(ops.KindCondition) }

// holds reports whether c holds the condition's lock.
func (cd *condObj) holds(c *conn) bool {
	cd.lock.mu.Lock()
	defer cd.lock.mu.Unlock()
	return cd.lock.locked && cd.lock.holder == c
}

func (cd *condObj) call(ctx context.Context, c *conn, call *wire.Call, rep *wire.Reply) error {
	switch ops.ConditionOp(call.Op) {
	case ops.ConditionWait:
		if !cd.holds(c) {
			return ops.Errorf(ops.CodeNotOwner, "manager: Condition.Wait without its lock")
		}
		w := &condWaiter{ch: make(chan struct{})}
		cd.mu.Lock()
		cd.waiters = append(cd.waiters, w)
		cd.mu.Unlock()
		cd.lock.mu.Lock()
		cd.lock.release()
		cd.lock.mu.Unlock()
		var werr error
		select {
		case <-w.ch:
		case <-ctx.Done():
			cd.mu.Lock()
			if !w.notified {
				cd.waiters = slices.DeleteFunc(cd.waiters, func(x *condWaiter) bool { return x == w })
				werr = ctx.Err()
			}
			cd.mu.Unlock()
		}
		// Take the lock again, whatever happened, as Python does; only the
		// end of the connection stops this.
		cd.lock.mu.Lock()
		err := cd.lock.acquire(c.ctx, c, true, &wire.Reply{})
		cd.lock.mu.Unlock()
		if err != nil && werr == nil {
			werr = err
		}
		rep.OK = werr == nil
		return werr
	case ops.ConditionNotify, ops.ConditionNotifyAll:
		if !cd.holds(c) {
			return ops.Errorf(ops.CodeNotOwner, "manager: Condition.%s without its lock", call.Op)
		}
		n := int(call.N)
		if ops.ConditionOp(call.Op) == ops.ConditionNotifyAll {
			n = 1 << 30
		}
		cd.mu.Lock()
		n = min(n, len(cd.waiters))
		for _, w := range cd.waiters[:n] {
			w.notified = true
			close(w.ch)
		}
		cd.waiters = slices.Delete(cd.waiters, 0, n)
		cd.mu.Unlock()
		rep.N = int64(n)
	default:
		return unknownOp(cd, call.Op)
	}
	return nil
}

// barrierObj is a Barrier; its action, if any, is a function registered
// with mp.Register, run by the server when the last party arrives.
type barrierObj struct {
	base
	parties, count int
	gen, released  uint64
	broken         bool
	action         string
}

func (*barrierObj) kind() string { return string(ops.KindBarrier) }

func (b *barrierObj) breakLocked() {
	b.broken = true
	b.count = 0
	b.gen++
	b.changed()
}

func (b *barrierObj) call(ctx context.Context, _ *conn, call *wire.Call, rep *wire.Reply) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	broken := func() error { return ops.Errorf(ops.CodeBroken, "manager: broken barrier") }
	switch ops.BarrierOp(call.Op) {
	case ops.BarrierWait:
		if b.broken {
			return broken()
		}
		gen := b.gen
		rep.N = int64(b.count)
		b.count++
		if b.count == b.parties {
			if err := b.runAction(ctx); err != nil {
				b.breakLocked()
				return ops.Errorf(ops.CodeBroken, "manager: broken barrier: its action: %v", err)
			}
			b.count = 0
			b.gen++
			b.released = b.gen
			b.changed()
			return nil
		}
		err := b.await(ctx, func() bool { return b.gen != gen })
		if err != nil {
			if b.gen == gen {
				b.breakLocked() // a party gave up: the others must not wait forever
			}
			return err
		}
		if b.released != gen+1 {
			return broken()
		}
	case ops.BarrierAbort:
		b.breakLocked()
	case ops.BarrierReset:
		if b.count > 0 {
			b.gen++ // the parties waiting now see it broken
		}
		b.count, b.broken = 0, false
		b.changed()
	case ops.BarrierParties:
		rep.N = int64(b.parties)
	case ops.BarrierNWaiting:
		rep.N = int64(b.count)
	case ops.BarrierBroken:
		rep.OK = b.broken
	default:
		return unknownOp(b, call.Op)
	}
	return nil
}

func (b *barrierObj) runAction(ctx context.Context) error {
	return registered.BarrierAction(ctx, b.action)
}
