package mp

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/mp-go/mp/internal/wire"
)

// RCondition is a Condition over an RLock: Python's default
// multiprocessing.Condition() (whose lock is an RLock), shared by
// processes. As with RLock, the holder is the context Lock returns: pass
// it to Wait, Notify, NotifyAll and Unlock. Wait releases the lock
// completely, however many times the context holds it, and takes it back
// as many times before it returns (Python's _release_save and
// _acquire_restore), so the caller's context holds it again.
type RCondition struct {
	_ handle[*RCondition]
	l *RLock
	m *SharedMemory
	h *condHeader
}

// NewRCondition makes a condition on lock (a new RLock if nil).
func NewRCondition(lock *RLock) (*RCondition, error) {
	if lock == nil {
		var err error
		if lock, err = NewRLock(); err != nil {
			return nil, err
		}
	}
	m, h, err := newCondSegment()
	if err != nil {
		return nil, err
	}
	return &RCondition{l: lock, m: m, h: h}, nil
}

// RLock returns the condition's lock.
func (c *RCondition) RLock() *RLock { return c.l }

// Lock takes the condition's lock, or takes it again if ctx holds it
// (see RLock.Lock).
func (c *RCondition) Lock(ctx context.Context) (context.Context, error) { return c.l.Lock(ctx) }

// Unlock releases one hold of the condition's lock (see RLock.Unlock).
func (c *RCondition) Unlock(ctx context.Context) error { return c.l.Unlock(ctx) }

var errRCondNotHeld = errors.New("mp: RCondition used with a context that does not hold its lock (pass the context Lock returned)")

// holds reports whether ctx holds the lock, in this process.
func (c *RCondition) holds(ctx context.Context) bool {
	rl := c.l.h
	id, ok := ctx.Value(rlockKey{rl}).(uint64)
	return ok && atomic.LoadUint64(&rl.holder) == id && int(atomic.LoadUint32(&rl.lock)>>1) == myPid && rl.depth > 0
}

// Wait releases the lock, sleeps until notified or until ctx ends, and
// takes the lock back (also when ctx ended: ctx holds it either way, as
// in Python). ctx must hold the lock.
func (c *RCondition) Wait(ctx context.Context) error {
	if !c.holds(ctx) {
		return errRCondNotHeld
	}
	rl, h := c.l.h, c.h
	id, depth := atomic.LoadUint64(&rl.holder), rl.depth
	ticket := h.tickets
	h.tickets++
	rl.depth = 0
	atomic.StoreUint64(&rl.holder, 0)
	if err := unlockWord(&rl.lock); err != nil {
		return err
	}
	werr := h.sleep(ctx, ticket)
	if err := lockWord(context.Background(), &rl.lock); err != nil && !errors.Is(err, ErrOwnerDead) {
		return err
	}
	atomic.StoreUint64(&rl.holder, id)
	rl.depth = depth
	h.leave(ticket, werr)
	return werr
}

// WaitFor waits until pred, called with the lock held, returns true, or
// until ctx ends (Python's wait_for). ctx must hold the lock.
func (c *RCondition) WaitFor(ctx context.Context, pred func() bool) error {
	for !pred() {
		if err := c.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Notify wakes up to n waiters (Python's notify). ctx must hold the lock.
func (c *RCondition) Notify(ctx context.Context, n int) error {
	if !c.holds(ctx) {
		return errRCondNotHeld
	}
	c.h.notify(n)
	return nil
}

// NotifyAll wakes every waiter (Python's notify_all). ctx must hold the
// lock.
func (c *RCondition) NotifyAll(ctx context.Context) error { return c.Notify(ctx, 1<<30) }

// Close unmaps the condition in this process (see SharedMemory.Close).
func (c *RCondition) Close() error {
	c.l.Close()
	return c.m.Close()
}

// Unlink removes the condition's segments (see SharedMemory.Unlink).
func (c *RCondition) Unlink() error {
	return errors.Join(c.l.Unlink(), c.m.Unlink())
}

// encodeHandle encodes the handle: the names of the lock and the condition.
func (c *RCondition) encodeHandle() ([]byte, error) {
	return wire.Marshal(condHandle[*RLock]{c.l, c.m.Name()})
}

// decodeHandle maps the condition named in b.
func (c *RCondition) decodeHandle(b []byte) error {
	l, m, h, err := receivedCondition(b, func(l *RLock) bool { return l != nil && l.h != nil })
	if err != nil {
		return err
	}
	c.l, c.m, c.h = l, m, h
	return nil
}
