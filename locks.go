package mp

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/futex"
	"github.com/mp-go/mp/internal/ring"
	"github.com/mp-go/mp/internal/wire"
)

// ErrOwnerDead is returned by Lock.Lock when the process that held the
// lock died holding it: the caller now holds the lock, and whatever it
// protects may be half-updated (a robust pthread mutex's EOWNERDEAD).
var ErrOwnerDead = ring.ErrOwnerDead

// A synchronization object lives in a small shared segment: a magic
// number saying what it is, the futex word, and a bound.
type syncHeader struct {
	magic uint32
	word  uint32
	bound uint32
}

const (
	magicLock  = 0x6d704c4b // "mpLK"
	magicEvent = 0x6d704576 // "mpEv"
	magicSem   = 0x6d705365 // "mpSe"
)

// pollEvery bounds each futex wait, so that a waiter notices its context
// and a dead lock owner.
const pollEvery = ring.PollEvery

type syncObj struct {
	m *SharedMemory
	h *syncHeader
}

func newSyncObj(magic uint32) (syncObj, error) {
	m, err := CreateSharedMemory("", int(unsafe.Sizeof(syncHeader{})))
	if err != nil {
		return syncObj{}, err
	}
	h := (*syncHeader)(unsafe.Pointer(&m.Buf()[0]))
	atomic.StoreUint32(&h.magic, magic)
	return syncObj{m: m, h: h}, nil
}

// Close unmaps the object in this process (see SharedMemory.Close).
func (o *syncObj) Close() error { return o.m.Close() }

// Unlink removes the object's segment; it is also removed when the
// program ends (see SharedMemory).
func (o *syncObj) Unlink() error { return o.m.Unlink() }

func (o *syncObj) marshal() ([]byte, error) { return wire.Marshal(shmHandle{Name: o.m.Name()}) }

func (o *syncObj) unmarshal(b []byte, magic uint32, what string) error {
	var h shmHandle
	if err := wire.Unmarshal(b, &h); err != nil {
		return err
	}
	m, err := received(h.Name)
	if err != nil {
		return err
	}
	if m.Size() < int(unsafe.Sizeof(syncHeader{})) {
		return fmt.Errorf("mp: shared memory %q is not a %s", h.Name, what)
	}
	hdr := (*syncHeader)(unsafe.Pointer(&m.Buf()[0]))
	if atomic.LoadUint32(&hdr.magic) != magic {
		return fmt.Errorf("mp: shared memory %q is not a %s", h.Name, what)
	}
	o.m, o.h = m, hdr
	return nil
}

// waitWord waits while *word == val, until ctx ends (ring.WaitWord).
func waitWord(ctx context.Context, word *uint32, val uint32) error {
	return ring.WaitWord(ctx, word, val)
}

// Lock is a mutual exclusion lock shared by processes (Python's
// multiprocessing.Lock). Pass it to processes and tasks as an argument.
//
// Its owner is a process, not a goroutine: any goroutine of the process
// that locked it may unlock it, and only that process may. It is not
// reentrant. If its owner dies holding it, the next Lock gets it with
// ErrOwnerDead instead of waiting forever. The uncontended path is one
// compare-and-swap, without a system call; waiters sleep on a futex.
type Lock struct {
	_ handle[*Lock]
	syncObj
}

// NewLock makes a lock, unlocked.
func NewLock() (*Lock, error) {
	o, err := newSyncObj(magicLock)
	if err != nil {
		return nil, err
	}
	return &Lock{syncObj: o}, nil
}

var myPid = os.Getpid()

// Lock waits for the lock until ctx ends (Python's acquire(timeout=...)).
// It returns nil, ctx's error (the lock is not held), or an error
// wrapping ErrOwnerDead (the lock is held).
func (l *Lock) Lock(ctx context.Context) error { return lockWord(ctx, &l.h.word) }

// lockWord takes the lock whose word is *w (see Lock.Lock).
func lockWord(ctx context.Context, w *uint32) error { return ring.LockWord(ctx, w) }

// TryLock takes the lock if it is free and reports whether it did.
func (l *Lock) TryLock() bool { return ring.TryLockWord(&l.h.word) }

// Unlock releases the lock. It is an error if this process does not hold
// it.
func (l *Lock) Unlock() error { return unlockWord(&l.h.word) }

func unlockWord(w *uint32) error { return ring.UnlockWord(w) }

func (l *Lock) encodeHandle() ([]byte, error) { return l.marshal() }

// decodeHandle maps the lock named in b.
func (l *Lock) decodeHandle(b []byte) error { return l.unmarshal(b, magicLock, "Lock") }

// Event is a flag that processes wait for (Python's multiprocessing.Event).
type Event struct {
	_ handle[*Event]
	syncObj
}

// NewEvent makes an event, not set.
func NewEvent() (*Event, error) {
	o, err := newSyncObj(magicEvent)
	if err != nil {
		return nil, err
	}
	return &Event{syncObj: o}, nil
}

// Set sets the flag and wakes every waiter.
func (e *Event) Set() {
	atomic.StoreUint32(&e.h.word, 1)
	futex.Wake(&e.h.word, 1<<30)
}

// Clear resets the flag.
func (e *Event) Clear() { atomic.StoreUint32(&e.h.word, 0) }

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool { return atomic.LoadUint32(&e.h.word) == 1 }

// Wait waits until the flag is set or ctx ends (Python's wait(timeout)
// returning False is ctx's error here).
func (e *Event) Wait(ctx context.Context) error {
	for atomic.LoadUint32(&e.h.word) == 0 {
		if err := waitWord(ctx, &e.h.word, 0); err != nil {
			return err
		}
	}
	return nil
}

func (e *Event) encodeHandle() ([]byte, error) { return e.marshal() }

// decodeHandle maps the event named in b.
func (e *Event) decodeHandle(b []byte) error { return e.unmarshal(b, magicEvent, "Event") }

// Semaphore is a counter that Acquire takes from and Release gives back to,
// shared by processes (Python's multiprocessing.Semaphore and
// BoundedSemaphore).
type Semaphore struct {
	_ handle[*Semaphore]
	syncObj
}

// NewSemaphore makes a semaphore holding n.
func NewSemaphore(n int) (*Semaphore, error) { return newSemaphore(n, false) }

// NewBoundedSemaphore makes a semaphore holding n that may never hold
// more: releasing it above n is an error.
func NewBoundedSemaphore(n int) (*Semaphore, error) { return newSemaphore(n, true) }

// The bound word is 0 for an unbounded semaphore, else the bound plus one.
func newSemaphore(n int, bounded bool) (*Semaphore, error) {
	if n < 0 || n >= 1<<31 {
		return nil, fmt.Errorf("%w: semaphore value %d", ErrInvalidOption, n)
	}
	o, err := newSyncObj(magicSem)
	if err != nil {
		return nil, err
	}
	atomic.StoreUint32(&o.h.word, uint32(n))
	if bounded {
		atomic.StoreUint32(&o.h.bound, uint32(n)+1)
	}
	return &Semaphore{syncObj: o}, nil
}

// Acquire takes one, waiting until there is one or ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) error {
	for {
		if s.TryAcquire() {
			return nil
		}
		if err := waitWord(ctx, &s.h.word, 0); err != nil {
			return err
		}
	}
}

// TryAcquire takes one if there is one and reports whether it did.
func (s *Semaphore) TryAcquire() bool {
	w := &s.h.word
	for {
		c := atomic.LoadUint32(w)
		if c == 0 {
			return false
		}
		if atomic.CompareAndSwapUint32(w, c, c-1) {
			return true
		}
	}
}

// Release gives one back. A bounded semaphore refuses to go above its
// initial value.
func (s *Semaphore) Release() error {
	w := &s.h.word
	bound := atomic.LoadUint32(&s.h.bound)
	for {
		c := atomic.LoadUint32(w)
		if bound > 0 && c >= bound-1 {
			return fmt.Errorf("mp: BoundedSemaphore released too many times (its value is %d, its bound)", c)
		}
		if atomic.CompareAndSwapUint32(w, c, c+1) {
			futex.Wake(w, 1)
			return nil
		}
	}
}

// Value returns the current count (Python's get_value).
func (s *Semaphore) Value() int { return int(atomic.LoadUint32(&s.h.word)) }

func (s *Semaphore) encodeHandle() ([]byte, error) { return s.marshal() }

// decodeHandle maps the semaphore named in b.
func (s *Semaphore) decodeHandle(b []byte) error { return s.unmarshal(b, magicSem, "Semaphore") }
