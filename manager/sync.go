package manager

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager/internal/ops"
)

// Lock is a proxy of a lock held by a manager's server (Python's
// Manager().Lock()). Its holder is the process that took it: if that
// process ends (or closes its connection) holding it, the next Lock gets
// it with an error wrapping mp.ErrOwnerDead. Any process may Unlock it,
// as in Python.
type Lock struct {
	_ mark[*Lock]
	proxy
}

// Lock makes a lock on the server, unlocked.
func (m *Manager) Lock(ctx context.Context, opts ...ObjectOption) (*Lock, error) {
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindLock)}, opts)
	if err != nil {
		return nil, err
	}
	return &Lock{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (l *Lock) encodeHandle() ([]byte, error) { return l.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (l *Lock) decodeHandle(b []byte) error { return l.unmarshal(b, string(ops.KindLock)) }

// Lock takes the lock, waiting until ctx ends (Python's acquire with a
// timeout). An error wrapping mp.ErrOwnerDead means the lock is held,
// after a holder that died.
func (l *Lock) Lock(ctx context.Context) error {
	_, err := l.do(ctx, &wire.Call{Op: string(ops.LockAcquire), Flag: true})
	return err
}

// TryLock takes the lock if it is free, and reports whether it did.
func (l *Lock) TryLock(ctx context.Context) (bool, error) {
	rep, err := l.do(ctx, &wire.Call{Op: string(ops.LockAcquire)})
	if rep != nil && rep.OK && errors.Is(err, mp.ErrOwnerDead) {
		return true, err
	}
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Unlock releases the lock; releasing an unlocked lock is an error
// wrapping ErrNotOwner. Like mp.Lock's Unlock (and sync.Mutex's), it
// takes no context: releasing never waits for another process, only for
// the server's answer, which comes at once (or ErrServerGone, once the
// connection is lost; it gives up after UnlockTimeout).
func (l *Lock) Unlock() error {
	ctx, cancel := context.WithTimeout(context.Background(), UnlockTimeout)
	defer cancel()
	_, err := l.do(ctx, &wire.Call{Op: string(ops.LockRelease)})
	return err
}

// UnlockTimeout bounds Lock.Unlock's, Condition.Unlock's and
// Semaphore.Release's wait for the server's answer (a server that stops
// answering without closing the connection).
const UnlockTimeout = time.Minute

// Locked reports whether the lock is held.
func (l *Lock) Locked(ctx context.Context) (bool, error) {
	rep, err := l.do(ctx, &wire.Call{Op: string(ops.LockLocked)})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// RLock is a proxy of a reentrant lock held by a manager's server
// (Python's Manager().RLock()). As with mp.RLock, its owner is a hold
// carried by a context: Lock returns the context that holds it; a Lock
// with that context (or one derived from it) takes it again, and Unlock
// takes the context of the hold it releases.
type RLock struct {
	_ mark[*RLock]
	proxy
}

// RLock makes a reentrant lock on the server, unlocked.
func (m *Manager) RLock(ctx context.Context, opts ...ObjectOption) (*RLock, error) {
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindRLock)}, opts)
	if err != nil {
		return nil, err
	}
	return &RLock{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (l *RLock) encodeHandle() ([]byte, error) { return l.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (l *RLock) decodeHandle(b []byte) error { return l.unmarshal(b, string(ops.KindRLock)) }

type rlockKey struct{ id uint64 }

// Lock takes the lock, or takes it again if ctx holds it, and returns the
// context that holds it.
func (l *RLock) Lock(ctx context.Context) (context.Context, error) {
	hold, _ := ctx.Value(rlockKey{l.id}).(uint64)
	held := hold != 0
	if !held {
		var b [8]byte
		rand.Read(b[:])
		hold = binary.LittleEndian.Uint64(b[:]) | 1
	}
	_, err := l.do(ctx, &wire.Call{Op: string(ops.RLockAcquire), N: int64(hold), Flag: true})
	if err != nil && !errors.Is(err, mp.ErrOwnerDead) {
		return ctx, err
	}
	if !held {
		ctx = context.WithValue(ctx, rlockKey{l.id}, hold)
	}
	return ctx, err
}

// Unlock releases one hold of ctx; a ctx that does not hold the lock is
// an error wrapping ErrNotOwner.
func (l *RLock) Unlock(ctx context.Context) error {
	hold, _ := ctx.Value(rlockKey{l.id}).(uint64)
	if hold == 0 {
		return fmt.Errorf("%w: RLock.Unlock with a context that never locked it", ErrNotOwner)
	}
	_, err := l.do(ctx, &wire.Call{Op: string(ops.RLockRelease), N: int64(hold)})
	return err
}

// Semaphore is a proxy of a semaphore held by a manager's server
// (Python's Manager().Semaphore() and BoundedSemaphore()).
type Semaphore struct {
	_ mark[*Semaphore]
	proxy
}

// Semaphore makes a semaphore with value n on the server.
func (m *Manager) Semaphore(ctx context.Context, n int, opts ...ObjectOption) (*Semaphore, error) {
	return m.semaphore(ctx, string(ops.KindSemaphore), n, opts)
}

// BoundedSemaphore makes a semaphore with value n on the server that
// refuses a Release above n.
func (m *Manager) BoundedSemaphore(ctx context.Context, n int, opts ...ObjectOption) (*Semaphore, error) {
	return m.semaphore(ctx, string(ops.KindBounded), n, opts)
}

func (m *Manager) semaphore(ctx context.Context, kind string, n int, opts []ObjectOption) (*Semaphore, error) {
	p, err := m.create(ctx, &wire.Call{Name: kind, N: int64(n)}, opts)
	if err != nil {
		return nil, err
	}
	return &Semaphore{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (s *Semaphore) encodeHandle() ([]byte, error) { return s.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (s *Semaphore) decodeHandle(b []byte) error {
	var h handle
	if err := wire.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("manager: malformed proxy: %w", err)
	}
	if h.Kind == string(ops.KindBounded) {
		return s.unmarshal(b, string(ops.KindBounded))
	}
	return s.unmarshal(b, string(ops.KindSemaphore))
}

// Acquire decrements the value, waiting while it is 0 until ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) error {
	_, err := s.do(ctx, &wire.Call{Op: string(ops.SemaphoreAcquire), Flag: true})
	return err
}

// TryAcquire decrements the value if it is above 0, and reports whether
// it did.
func (s *Semaphore) TryAcquire(ctx context.Context) (bool, error) {
	rep, err := s.do(ctx, &wire.Call{Op: string(ops.SemaphoreAcquire)})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Release increments the value; above the initial value of a bounded
// semaphore, it is an error wrapping ErrBadRequest (Python's ValueError).
// Like mp.Semaphore's Release (and Lock.Unlock), it takes no context:
// releasing never waits for another process, only for the server's
// answer, which comes at once (or ErrServerGone, once the connection is
// lost; it gives up after UnlockTimeout).
func (s *Semaphore) Release() error {
	ctx, cancel := context.WithTimeout(context.Background(), UnlockTimeout)
	defer cancel()
	_, err := s.do(ctx, &wire.Call{Op: string(ops.SemaphoreRelease), N: 1})
	return err
}

// Value returns the current value.
func (s *Semaphore) Value(ctx context.Context) (int, error) {
	rep, err := s.do(ctx, &wire.Call{Op: string(ops.SemaphoreValue)})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Event is a proxy of an event held by a manager's server (Python's
// Manager().Event()).
type Event struct {
	_ mark[*Event]
	proxy
}

// Event makes an event on the server, not set.
func (m *Manager) Event(ctx context.Context, opts ...ObjectOption) (*Event, error) {
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindEvent)}, opts)
	if err != nil {
		return nil, err
	}
	return &Event{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (e *Event) encodeHandle() ([]byte, error) { return e.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (e *Event) decodeHandle(b []byte) error { return e.unmarshal(b, string(ops.KindEvent)) }

// Set sets the event and wakes every waiter.
func (e *Event) Set(ctx context.Context) error {
	_, err := e.do(ctx, &wire.Call{Op: string(ops.EventSet)})
	return err
}

// Clear resets the event.
func (e *Event) Clear(ctx context.Context) error {
	_, err := e.do(ctx, &wire.Call{Op: string(ops.EventClear)})
	return err
}

// IsSet reports whether the event is set.
func (e *Event) IsSet(ctx context.Context) (bool, error) {
	rep, err := e.do(ctx, &wire.Call{Op: string(ops.EventIsSet)})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}

// Wait waits until the event is set, or until ctx ends.
func (e *Event) Wait(ctx context.Context) error {
	_, err := e.do(ctx, &wire.Call{Op: string(ops.EventWait)})
	return err
}

// Condition is a proxy of a condition variable held by a manager's server
// (Python's Manager().Condition()), on a Lock of the same server.
type Condition struct {
	_ mark[*Condition]
	proxy
	L *Lock // the condition's lock
}

// Condition makes a condition on lock (a new Lock if nil).
func (m *Manager) Condition(ctx context.Context, lock *Lock, opts ...ObjectOption) (*Condition, error) {
	if lock == nil {
		var err error
		if lock, err = m.Lock(ctx); err != nil {
			return nil, err
		}
	}
	if lock.c != m.c {
		return nil, fmt.Errorf("%w: a Condition's lock must belong to the same manager", mp.ErrInvalidOption)
	}
	p, err := m.create(ctx, &wire.Call{Name: string(ops.KindCondition), M: int64(lock.id)}, opts)
	if err != nil {
		return nil, err
	}
	return &Condition{proxy: p, L: lock}, nil
}

type condHandle struct {
	C *handleBytes `cbor:"1,keyasint"`
	L *Lock        `cbor:"2,keyasint"`
}

// handleBytes carries an encoded handle inside another.
type handleBytes []byte

// encodeHandle encodes the handle: the condition's and its lock's.
func (c *Condition) encodeHandle() ([]byte, error) {
	b, err := c.marshal()
	if err != nil {
		return nil, err
	}
	hb := handleBytes(b)
	return encode(condHandle{C: &hb, L: c.L})
}

// decodeHandle decodes a handle; the connection is made at the first call.
func (c *Condition) decodeHandle(b []byte) error {
	var h condHandle
	if err := wire.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("manager: malformed proxy: %w", err)
	}
	if h.C == nil || h.L == nil {
		return errors.New("manager: malformed proxy: a Condition without its lock")
	}
	c.L = h.L
	return c.unmarshal(*h.C, string(ops.KindCondition))
}

// Lock takes the condition's lock.
func (c *Condition) Lock(ctx context.Context) error { return c.L.Lock(ctx) }

// Unlock releases the condition's lock.
func (c *Condition) Unlock() error { return c.L.Unlock() }

// Wait releases the lock, waits until notified or until ctx ends, and
// takes the lock again (also when ctx ended, as in Python). This process
// must hold the lock.
func (c *Condition) Wait(ctx context.Context) error {
	_, err := c.do(ctx, &wire.Call{Op: string(ops.ConditionWait)})
	return err
}

// WaitFor waits until pred, called with the lock held, returns true, or
// until ctx ends (Python's wait_for).
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) error {
	for !pred() {
		if err := c.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Notify wakes up to n waiters; this process must hold the lock.
func (c *Condition) Notify(ctx context.Context, n int) error {
	_, err := c.do(ctx, &wire.Call{Op: string(ops.ConditionNotify), N: int64(n)})
	return err
}

// NotifyAll wakes every waiter; this process must hold the lock.
func (c *Condition) NotifyAll(ctx context.Context) error {
	_, err := c.do(ctx, &wire.Call{Op: string(ops.ConditionNotifyAll)})
	return err
}

// Barrier is a proxy of a barrier held by a manager's server (Python's
// Manager().Barrier()).
type Barrier struct {
	_ mark[*Barrier]
	proxy
}

// Barrier makes a barrier for parties parties on the server. action may
// be the zero Func; if not, it must be made with mp.Register: the server
// runs it when the last party arrives, before releasing them (an error
// breaks the barrier).
func (m *Manager) Barrier(ctx context.Context, parties int, action mp.Func[struct{}, struct{}], opts ...ObjectOption) (*Barrier, error) {
	call := &wire.Call{Name: string(ops.KindBarrier), N: int64(parties)}
	if action.Name() != "" {
		call.Args = [][]byte{[]byte(action.Name())}
	} else if !action.IsZero() {
		return nil, fmt.Errorf("%w: a Barrier's action must be made with mp.Register, so that the server can run it", mp.ErrInvalidOption)
	}
	p, err := m.create(ctx, call, opts)
	if err != nil {
		return nil, err
	}
	return &Barrier{proxy: p}, nil
}

// encodeHandle encodes the handle.
func (b *Barrier) encodeHandle() ([]byte, error) { return b.marshal() }

// decodeHandle decodes a handle; the connection is made at the first call.
func (b *Barrier) decodeHandle(data []byte) error { return b.unmarshal(data, string(ops.KindBarrier)) }

// Wait waits until every party has called Wait, and returns this party's
// arrival index (0 to parties-1). If ctx ends first, the barrier breaks
// (as Python's timeout does); a broken barrier's error wraps
// mp.ErrBrokenBarrier.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	rep, err := b.do(ctx, &wire.Call{Op: string(ops.BarrierWait)})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Abort breaks the barrier.
func (b *Barrier) Abort(ctx context.Context) error {
	_, err := b.do(ctx, &wire.Call{Op: string(ops.BarrierAbort)})
	return err
}

// Reset returns the barrier to its first state; parties waiting get
// mp.ErrBrokenBarrier.
func (b *Barrier) Reset(ctx context.Context) error {
	_, err := b.do(ctx, &wire.Call{Op: string(ops.BarrierReset)})
	return err
}

// Parties returns the number of parties the barrier waits for.
func (b *Barrier) Parties(ctx context.Context) (int, error) { return b.count(ctx, ops.BarrierParties) }

// NWaiting returns the number of parties waiting now.
func (b *Barrier) NWaiting(ctx context.Context) (int, error) {
	return b.count(ctx, ops.BarrierNWaiting)
}

func (b *Barrier) count(ctx context.Context, op ops.BarrierOp) (int, error) {
	rep, err := b.do(ctx, &wire.Call{Op: string(op)})
	if err != nil {
		return 0, err
	}
	return int(rep.N), nil
}

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken(ctx context.Context) (bool, error) {
	rep, err := b.do(ctx, &wire.Call{Op: string(ops.BarrierBroken)})
	if err != nil {
		return false, err
	}
	return rep.OK, nil
}
