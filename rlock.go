package mp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/futex"
	"github.com/mp-go/mp/internal/wire"
)

// RLock is a reentrant lock shared by processes (Python's
// multiprocessing.RLock).
//
// Its owner, in Go, is a hold carried by a context: Lock returns a context
// that holds the lock, and a Lock given that context (or one derived from
// it) takes it again instead of waiting for itself; Unlock takes the
// context of the hold it releases. Go has no goroutine identity to stand
// for Python's owning thread, and the context follows the call chain that
// took the lock, across goroutines and function calls, which is what
// reentrancy is for. A Lock with any other context waits, even in the
// same process.
type RLock struct {
	_ handle[*RLock]
	m *SharedMemory
	h *rlockHeader
}

type rlockHeader struct {
	magic  uint32
	lock   uint32 // a lock word (see Lock)
	depth  uint32 // holds of the current owner, while lock is held
	_      uint32
	holder uint64 // the current hold's identity
}

const magicRLock = 0x6d70524c // "mpRL"

type rlockKey struct{ h *rlockHeader }

// NewRLock makes a reentrant lock, unlocked.
func NewRLock() (*RLock, error) {
	m, err := CreateSharedMemory("", int(unsafe.Sizeof(rlockHeader{})))
	if err != nil {
		return nil, err
	}
	h := (*rlockHeader)(unsafe.Pointer(&m.Buf()[0]))
	atomic.StoreUint32(&h.magic, magicRLock)
	return &RLock{m: m, h: h}, nil
}

// Lock takes the lock, or takes it again if ctx holds it, and returns the
// context that holds it (for nested Locks and for Unlock). It waits until
// ctx ends; if the previous holder died holding it, the error wraps
// ErrOwnerDead and the lock is held.
func (l *RLock) Lock(ctx context.Context) (context.Context, error) {
	h := l.h
	if id, ok := ctx.Value(rlockKey{h}).(uint64); ok && atomic.LoadUint64(&h.holder) == id && int(atomic.LoadUint32(&h.lock)>>1) == myPid {
		h.depth++
		return ctx, nil
	}
	err := lockWord(ctx, &h.lock)
	if err != nil && !errors.Is(err, ErrOwnerDead) {
		return ctx, err
	}
	var b [8]byte
	rand.Read(b[:])
	id := binary.LittleEndian.Uint64(b[:]) | 1
	atomic.StoreUint64(&h.holder, id)
	h.depth = 1
	return context.WithValue(ctx, rlockKey{h}, id), err
}

// Unlock releases one hold of the lock; ctx must be (or derive from) the
// context Lock returned.
func (l *RLock) Unlock(ctx context.Context) error {
	h := l.h
	id, ok := ctx.Value(rlockKey{h}).(uint64)
	if !ok || atomic.LoadUint64(&h.holder) != id || int(atomic.LoadUint32(&h.lock)>>1) != myPid || h.depth == 0 {
		return errors.New("mp: RLock.Unlock with a context that does not hold the lock")
	}
	h.depth--
	if h.depth > 0 {
		return nil
	}
	atomic.StoreUint64(&h.holder, 0)
	return unlockWord(&h.lock)
}

// Close unmaps the lock in this process (see SharedMemory.Close).
func (l *RLock) Close() error { return l.m.Close() }

// Unlink removes the lock's segment (see SharedMemory.Unlink).
func (l *RLock) Unlink() error { return l.m.Unlink() }

func (l *RLock) encodeHandle() ([]byte, error) { return wire.Marshal(shmHandle{Name: l.m.Name()}) }

// decodeHandle maps the lock named in b.
func (l *RLock) decodeHandle(b []byte) error {
	m, err := receivedKind(b, int(unsafe.Sizeof(rlockHeader{})), magicRLock, "RLock")
	if err != nil {
		return err
	}
	l.m, l.h = m, (*rlockHeader)(unsafe.Pointer(&m.Buf()[0]))
	return nil
}

// receivedKind maps the segment a handle names and checks that it holds
// an object of the kind magic says, of at least size bytes.
func receivedKind(b []byte, size int, magic uint32, what string) (*SharedMemory, error) {
	var hd shmHandle
	if err := wire.Unmarshal(b, &hd); err != nil {
		return nil, err
	}
	return receivedNamed(hd.Name, size, magic, what)
}

// receivedNamed maps the segment named name (from a handle) and checks
// that it holds an object of the kind magic says, of at least size bytes.
func receivedNamed(name string, size int, magic uint32, what string) (*SharedMemory, error) {
	m, err := received(name)
	if err != nil {
		return nil, err
	}
	if m.Size() < size || atomic.LoadUint32((*uint32)(unsafe.Pointer(&m.Buf()[0]))) != magic {
		return nil, fmt.Errorf("mp: shared memory %q is not a %s", name, what)
	}
	return m, nil
}

// Condition lets processes wait until another one notifies them, with a
// Lock held around the state they look at (Python's
// multiprocessing.Condition). Wait releases the lock while it sleeps and
// takes it again before returning.
type Condition struct {
	_ handle[*Condition]
	l *Lock
	m *SharedMemory
	h *condHeader
}

type condHeader struct {
	magic    uint32
	tickets  uint32 // waiters so far (under the lock)
	released uint32 // tickets notified so far: a waiter returns once its ticket is below
	_        uint32
	// gone marks the tickets of waiters whose context ended before they
	// were notified (by ticket mod 1024): Notify skips them, so that a
	// notification is not spent on a waiter that left.
	gone [32]uint32
}

const magicCond = 0x6d70436f // "mpCo"

// NewCondition makes a condition on lock (a new Lock if nil).
func NewCondition(lock *Lock) (*Condition, error) {
	if lock == nil {
		var err error
		if lock, err = NewLock(); err != nil {
			return nil, err
		}
	}
	m, h, err := newCondSegment()
	if err != nil {
		return nil, err
	}
	return &Condition{l: lock, m: m, h: h}, nil
}

// newCondSegment makes the shared segment of a Condition or RCondition.
func newCondSegment() (*SharedMemory, *condHeader, error) {
	m, err := CreateSharedMemory("", int(unsafe.Sizeof(condHeader{})))
	if err != nil {
		return nil, nil, err
	}
	h := (*condHeader)(unsafe.Pointer(&m.Buf()[0]))
	atomic.StoreUint32(&h.magic, magicCond)
	return m, h, nil
}

// Lock takes the condition's lock (see Lock.Lock).
func (c *Condition) Lock(ctx context.Context) error { return c.l.Lock(ctx) }

// Unlock releases the condition's lock.
func (c *Condition) Unlock() error { return c.l.Unlock() }

// Wait releases the lock, sleeps until notified or until ctx ends, and
// takes the lock again (also when ctx ended: the caller holds it either
// way, as in Python). The lock must be held.
func (c *Condition) Wait(ctx context.Context) error {
	h := c.h
	ticket := h.tickets
	h.tickets++
	if err := c.l.Unlock(); err != nil {
		h.tickets--
		return fmt.Errorf("mp: Condition.Wait without its lock: %w", err)
	}
	werr := h.sleep(ctx, ticket)
	if err := c.l.Lock(context.Background()); err != nil && !errors.Is(err, ErrOwnerDead) {
		return err
	}
	h.leave(ticket, werr)
	return werr
}

// sleep waits until ticket is notified or ctx ends; the lock is not held.
func (h *condHeader) sleep(ctx context.Context, ticket uint32) error {
	for {
		r := atomic.LoadUint32(&h.released)
		if int32(r-ticket) > 0 {
			return nil
		}
		if err := waitWord(ctx, &h.released, r); err != nil {
			return err
		}
	}
}

// leave marks ticket as gone if its wait ended with err before it was
// notified, so that Notify does not spend a notification on it; the lock
// is held again.
func (h *condHeader) leave(ticket uint32, err error) {
	if err != nil && int32(atomic.LoadUint32(&h.released)-ticket) <= 0 {
		h.gone[ticket%1024/32] |= 1 << (ticket % 32)
	}
}

// WaitFor waits until pred, called with the lock held, returns true, or
// until ctx ends (Python's wait_for). The lock must be held.
func (c *Condition) WaitFor(ctx context.Context, pred func() bool) error {
	for !pred() {
		if err := c.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Notify wakes up to n waiters (Python's notify). The lock must be held.
func (c *Condition) Notify(n int) error {
	if int(atomic.LoadUint32(&c.l.h.word)>>1) != myPid {
		return errors.New("mp: Condition.Notify without its lock")
	}
	c.h.notify(n)
	return nil
}

// notify releases up to n waiting tickets; the lock is held.
func (h *condHeader) notify(n int) {
	r := atomic.LoadUint32(&h.released)
	for k := 0; k < n && r != h.tickets; r++ {
		w, bit := &h.gone[r%1024/32], uint32(1)<<(r%32)
		if *w&bit != 0 {
			*w &^= bit // a waiter that left: skip it
			continue
		}
		k++
	}
	atomic.StoreUint32(&h.released, r)
	futex.Wake(&h.released, 1<<30) // each checks its own ticket
}

// NotifyAll wakes every waiter (Python's notify_all). The lock must be
// held.
func (c *Condition) NotifyAll() error { return c.Notify(1 << 30) }

// Close unmaps the condition in this process (see SharedMemory.Close).
func (c *Condition) Close() error {
	c.l.Close()
	return c.m.Close()
}

// Unlink removes the condition's segments (see SharedMemory.Unlink).
func (c *Condition) Unlink() error {
	c.l.Unlink()
	return c.m.Unlink()
}

// condHandle is a condition's handle on the wire: its lock (a *Lock or an
// *RLock) and the name of its segment.
type condHandle[L any] struct {
	L L      `cbor:"1,keyasint"`
	C string `cbor:"2,keyasint"`
}

// encodeHandle encodes the handle: the names of the lock and the condition.
func (c *Condition) encodeHandle() ([]byte, error) {
	return wire.Marshal(condHandle[*Lock]{c.l, c.m.Name()})
}

// decodeHandle maps the condition named in b.
func (c *Condition) decodeHandle(b []byte) error {
	l, m, h, err := receivedCondition(b, func(l *Lock) bool { return l != nil && l.h != nil })
	if err != nil {
		return err
	}
	c.l, c.m, c.h = l, m, h
	return nil
}

// receivedCondition maps the condition whose handle is b; ok says whether
// the decoded lock is a valid one.
func receivedCondition[L any](b []byte, ok func(L) bool) (L, *SharedMemory, *condHeader, error) {
	var hd condHandle[L]
	if err := wire.Unmarshal(b, &hd); err != nil {
		return hd.L, nil, nil, err
	}
	if !ok(hd.L) {
		return hd.L, nil, nil, errBadHandle
	}
	m, err := receivedNamed(hd.C, int(unsafe.Sizeof(condHeader{})), magicCond, "Condition")
	if err != nil {
		return hd.L, nil, nil, err
	}
	return hd.L, m, (*condHeader)(unsafe.Pointer(&m.Buf()[0])), nil
}
