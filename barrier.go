package mp

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/futex"
	"github.com/mp-go/mp/internal/registry"
	"github.com/mp-go/mp/internal/wire"
)

// ErrBrokenBarrier is Barrier.Wait's error when the barrier is broken:
// aborted, reset while parties waited, a waiting party's context ended, or
// the action failed (Python's BrokenBarrierError).
var ErrBrokenBarrier = errors.New("mp: broken barrier")

// barrierHeader is a barrier's segment.
type barrierHeader struct {
	magic      uint32
	lock       uint32 // a lock word (see Lock)
	generation uint32 // bumped when a round ends, released or broken: waiters sleep on it
	released   uint32 // the generation a normal release started
	broken     uint32
	parties    uint32
	count      uint32 // parties waiting in this round
	nameLen    uint32
	action     [128]byte // the registered name of the action, if any
}

const magicBarrier = 0x6d704272 // "mpBr"

// Barrier makes a fixed number of parties wait for each other (Python's
// multiprocessing.Barrier): each calls Wait, and all return once the last
// has arrived. Pass it to processes and tasks as an argument. The action,
// if any, is a function made with Register (so that any process can run
// it): the last party to arrive runs it before the others are released.
type Barrier struct {
	_ handle[*Barrier]
	m *SharedMemory
	h *barrierHeader
}

// NewBarrier makes a barrier for parties parties. action may be the zero
// Func (no action).
func NewBarrier(parties int, action Func[struct{}, struct{}]) (*Barrier, error) {
	if parties < 1 || parties >= 1<<31 {
		return nil, fmt.Errorf("%w: a barrier for %d parties", ErrInvalidOption, parties)
	}
	if action.fn != nil && !action.Registered() {
		return nil, fmt.Errorf("%w: a barrier's action must be made with mp.Register, so that any process can run it", ErrInvalidOption)
	}
	if len(action.name) > len(barrierHeader{}.action) {
		return nil, fmt.Errorf("%w: action name %q is too long", ErrInvalidOption, action.name)
	}
	m, err := CreateSharedMemory("", int(unsafe.Sizeof(barrierHeader{})))
	if err != nil {
		return nil, err
	}
	h := (*barrierHeader)(unsafe.Pointer(&m.Buf()[0]))
	h.parties = uint32(parties)
	h.nameLen = uint32(copy(h.action[:], action.name))
	atomic.StoreUint32(&h.magic, magicBarrier)
	return &Barrier{m: m, h: h}, nil
}

// Parties returns the number of parties the barrier waits for.
func (b *Barrier) Parties() int { return int(b.h.parties) }

// NWaiting returns the number of parties waiting now.
func (b *Barrier) NWaiting() int { return int(atomic.LoadUint32(&b.h.count)) }

// Broken reports whether the barrier is broken.
func (b *Barrier) Broken() bool { return atomic.LoadUint32(&b.h.broken) != 0 }

func (b *Barrier) lock() {
	lockWord(context.Background(), &b.h.lock) // a dead holder's state is consistent
}

func (b *Barrier) unlock() { unlockWord(&b.h.lock) }

// Wait waits for the other parties, or until ctx ends, which breaks the
// barrier (as Python's timeout does). It returns this party's arrival
// index, 0 to parties-1, or ErrBrokenBarrier (or ctx's error).
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	h := b.h
	b.lock()
	if h.broken != 0 {
		b.unlock()
		return 0, ErrBrokenBarrier
	}
	gen := atomic.LoadUint32(&h.generation)
	idx := int(h.count)
	h.count++
	if h.count == h.parties {
		err := b.runAction()
		if err != nil {
			b.breakLocked()
			b.unlock()
			return idx, fmt.Errorf("%w: its action: %w", ErrBrokenBarrier, err)
		}
		h.count = 0
		atomic.StoreUint32(&h.released, gen+1)
		atomic.StoreUint32(&h.generation, gen+1)
		b.unlock()
		futex.Wake(&h.generation, 1<<30)
		return idx, nil
	}
	b.unlock()
	for atomic.LoadUint32(&h.generation) == gen {
		if err := waitWord(ctx, &h.generation, gen); err != nil {
			b.lock()
			if atomic.LoadUint32(&h.generation) == gen {
				b.breakLocked() // a party gave up: the others must not wait forever
			}
			b.unlock()
			return idx, err
		}
	}
	if atomic.LoadUint32(&h.released) == gen+1 {
		return idx, nil
	}
	return idx, ErrBrokenBarrier
}

// runAction runs the barrier's action, if any; the lock is held.
func (b *Barrier) runAction() (err error) {
	if b.h.nameLen == 0 {
		return nil
	}
	name := string(b.h.action[:b.h.nameLen])
	f, ok := registry.Lookup(name)
	if !ok {
		return fmt.Errorf("mp: barrier action %q is not registered in this process", name)
	}
	defer func() {
		if p := recover(); p != nil {
			err = newPanicError(p)
		}
	}()
	arg, _ := wire.Marshal(struct{}{})
	_, err = f.Call(context.Background(), arg)
	return err
}

// breakLocked breaks the barrier and releases the waiting parties with
// ErrBrokenBarrier; the lock is held.
func (b *Barrier) breakLocked() {
	h := b.h
	atomic.StoreUint32(&h.broken, 1)
	h.count = 0
	atomic.AddUint32(&h.generation, 1)
	futex.Wake(&h.generation, 1<<30)
}

// Abort breaks the barrier: waiting parties and later Waits get
// ErrBrokenBarrier until Reset.
func (b *Barrier) Abort() {
	b.lock()
	b.breakLocked()
	b.unlock()
}

// Reset returns the barrier to its initial state; parties waiting get
// ErrBrokenBarrier.
func (b *Barrier) Reset() {
	b.lock()
	if b.h.count > 0 {
		b.breakLocked()
	}
	b.h.count = 0
	atomic.StoreUint32(&b.h.broken, 0)
	b.unlock()
}

// Close unmaps the barrier in this process (see SharedMemory.Close).
func (b *Barrier) Close() error { return b.m.Close() }

// Unlink removes the barrier's segment (see SharedMemory.Unlink).
func (b *Barrier) Unlink() error { return b.m.Unlink() }

func (b *Barrier) encodeHandle() ([]byte, error) { return wire.Marshal(shmHandle{Name: b.m.Name()}) }

// decodeHandle maps the barrier named in data.
func (b *Barrier) decodeHandle(data []byte) error {
	var hd shmHandle
	if err := wire.Unmarshal(data, &hd); err != nil {
		return err
	}
	m, err := received(hd.Name)
	if err != nil {
		return err
	}
	if m.Size() < int(unsafe.Sizeof(barrierHeader{})) {
		return fmt.Errorf("mp: shared memory %q is not a Barrier", hd.Name)
	}
	h := (*barrierHeader)(unsafe.Pointer(&m.Buf()[0]))
	if atomic.LoadUint32(&h.magic) != magicBarrier || h.nameLen > uint32(len(h.action)) {
		return fmt.Errorf("mp: shared memory %q is not a Barrier", hd.Name)
	}
	b.m, b.h = m, h
	return nil
}
