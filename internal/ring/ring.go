// Package ring is the queue of messages in shared memory that mp.Queue,
// mp.Pipe and the process pool's transport share: a ring of
// length-prefixed messages after a small header, taken by any number of
// processes under a robust lock (LockWord), with futex wake-ups only when
// the other side sleeps, after a short spin.
//
// A process that dies at any point leaves the ring as if its operation
// ran whole or not at all (see Header.Logged); a message put is readable
// until it is got, whatever becomes of its writer.
package ring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/futex"
)

// Errors of the ring; package mp exports them under the same names.
var (
	// ErrEmpty is the error of a Get that does not wait, on an empty ring.
	ErrEmpty = errors.New("mp: queue empty")
	// ErrFull is the error of a Put that does not wait, on a full ring.
	ErrFull = errors.New("mp: queue full")
	// ErrClosed is the error of Put on a closed ring, and of Get on a
	// closed ring that is empty.
	ErrClosed = errors.New("mp: queue closed")
)

// Header is the start of a ring's memory; the ring of messages follows.
// Head and tail count bytes from the start of time; each message is a
// 4-byte length then its bytes, wrapping around the ring.
type Header struct {
	// The words the lock holder reads and writes on every Put and Get,
	// on one cache line: taking the lock brings them all.
	Lock uint32 // a lock word (see LockWord)
	// An update of the four words below is first written in Next as
	// their new values, then committed by setting Logged (one atomic
	// store), then applied, then Logged is cleared. A process that takes
	// the lock and finds Logged set finishes the update of a holder that
	// died (the values are absolute: applying them twice is harmless); an
	// update whose holder died before Logged was set never happened.
	// Either way the ring is as if the dead process's operation ran whole
	// or not at all: a Get that committed took its message (the dead
	// process had it), a Put that committed left its message, readable.
	Logged uint32
	Head   uint64
	Tail   uint64
	Count  uint64 // messages in the ring
	// Unfinished counts messages put and not yet marked done (a
	// JoinableQueue's TaskDone).
	Unfinished uint64
	_          [64 - 40]byte

	// The commit log and the words that seldom change.
	Next     State
	Capacity uint64 // bytes of the ring
	// Backed is how many bytes of the ring, from its start, have memory
	// behind them (fallocate): a Put past it first backs more, so that a
	// full /dev/shm is an error of that Put, never a SIGBUS. It only
	// grows; a holder that dies while growing leaves it as it was (backing
	// again is harmless).
	Backed  uint64
	Magic   uint32
	Closed  uint32
	Maxsize uint32 // messages; 0: no limit but the bytes
	Done    uint32 // bumped when Unfinished reaches 0: Join sleeps on it

	// A waiting Get watches NotEmpty (spinning, then asleep): it has a
	// cache line of its own, so that a spinning reader does not take the
	// line that a Put is writing away from it at every look. The words a
	// Put reads or writes next to NotEmpty are with it.
	NotEmpty uint32 // bumped by every Put: Get sleeps on it
	WaitGet  uint32 // getters asleep (or about to be): Put wakes only if any
	// PutWoke and GetWoke are when (futex.Stamp) a Put last woke
	// sleeping getters and a Get sleeping putters: a sleeper woken learns
	// how long its wake-up took, which sets how long waiters spin
	// (futex.SpinBudget).
	PutWoke int64
	_       [64 - 16]byte

	// The same for a waiting Put.
	NotFull uint32 // bumped by every Get: Put sleeps on it
	WaitPut uint32 // putters asleep: Get wakes only if any
	GetWoke int64
	_       [64 - 16]byte
}

// HeaderSize is the bytes of a Header.
const HeaderSize = int(unsafe.Sizeof(Header{}))

// GrowStep is how much more of a ring a Put backs at a time.
const GrowStep = 1 << 20

// State is the part of a ring's header that every Put, Get and Done
// changes together.
type State struct {
	Head, Tail, Count, Unfinished uint64
}

// Ring is a process's view of a ring in shared memory. Copies of a Ring
// value share the ring.
type Ring struct {
	H    *Header
	data []byte // the ring, after the header
	// back gives memory to bytes [off, off+n) of the ring (counted from
	// its start): the segment's fallocate.
	back func(off, n int) error
	// PeerGone, if set, reports whether no process holds the other side
	// any more (a pipe's other end, a dead worker): a Get that waits, or
	// a Put, then closes the ring instead of waiting for ever.
	PeerGone func() bool
	// Patient makes waits spin for the machine's measured wake-up cost
	// (futex.SpinLong) before they sleep, not futex.SpinIdle: set on the
	// side that serves requests, a worker's Task ring.
	Patient bool
}

// Size is the bytes of memory a ring of capacity bytes takes.
func Size(capacity int) int { return HeaderSize + capacity }

// Init makes a ring in mem (zeroed; Size(capacity) bytes or more, of which
// the first HeaderSize+backed have memory behind them), holding at most
// maxsize messages (0: no limit but the bytes), stamped with magic. back
// gives memory to more of mem, from HeaderSize+off, as Puts need it.
func Init(mem []byte, magic uint32, capacity, backed, maxsize int, back func(off, n int) error) *Ring {
	r := &Ring{H: (*Header)(unsafe.Pointer(&mem[0])), data: mem[HeaderSize : HeaderSize+capacity], back: back}
	r.H.Capacity = uint64(capacity)
	r.H.Backed = uint64(backed)
	r.H.Maxsize = uint32(maxsize)
	atomic.StoreUint32(&r.H.Magic, magic)
	return r
}

// Attach returns the ring that Init made in mem (exactly Size of its
// capacity) with magic; ok is false if mem does not hold one.
func Attach(mem []byte, magic uint32, back func(off, n int) error) (r *Ring, ok bool) {
	if len(mem) < HeaderSize {
		return nil, false
	}
	h := (*Header)(unsafe.Pointer(&mem[0]))
	if atomic.LoadUint32(&h.Magic) != magic || h.Capacity != uint64(len(mem)-HeaderSize) {
		return nil, false
	}
	return &Ring{H: h, data: mem[HeaderSize : HeaderSize+int(h.Capacity)], back: back}, true
}

// Lock takes the ring's lock, finishing the update of a holder that died.
func (r *Ring) Lock(ctx context.Context) error {
	if err := LockWord(ctx, &r.H.Lock); err != nil && !errors.Is(err, ErrOwnerDead) {
		return err
	}
	// A process that died holding the lock died before or after the
	// commit of its update (see Header.Logged), or mid-copy of a message
	// beyond the tail: finishing a committed update makes the ring
	// consistent either way.
	if atomic.LoadUint32(&r.H.Logged) != 0 {
		r.apply()
	}
	return nil
}

// Unlock releases the ring's lock.
func (r *Ring) Unlock() { UnlockWord(&r.H.Lock) }

// State returns the header's words; the lock is held.
func (r *Ring) State() State {
	h := r.H
	return State{h.Head, h.Tail, h.Count, h.Unfinished}
}

// Commit makes s the header's state in one step that a crash cannot
// split: once Logged is stored, the update counts even if this process
// dies before applying it. The lock is held.
func (r *Ring) Commit(s State) {
	r.H.Next = s
	atomic.StoreUint32(&r.H.Logged, 1)
	r.apply()
}

// apply copies the committed state into the header; the lock is held.
func (r *Ring) apply() {
	h := r.H
	h.Head, h.Tail, h.Count, h.Unfinished = h.Next.Head, h.Next.Tail, h.Next.Count, h.Next.Unfinished
	atomic.StoreUint32(&h.Logged, 0)
}

// Fits reports whether a message of n bytes can ever fit.
func (r *Ring) Fits(n int) bool { return uint64(4+n) <= r.H.Capacity }

// Put adds the message b, waiting while the ring is full if wait (else
// ErrFull), until ctx ends; ErrClosed once the ring is closed.
func (r *Ring) Put(ctx context.Context, b []byte, wait bool) error {
	return r.put(ctx, b, nil, wait)
}

// PutBuffers is Put of one message made of the bytes of bufs, one
// after the other: a writer of frames puts a frame's parts where they
// lie instead of first copying them together.
func (r *Ring) PutBuffers(ctx context.Context, bufs [][]byte, wait bool) error {
	return r.put(ctx, nil, bufs, wait)
}

// put puts the message b, or bufs' bytes if bufs is not nil.
func (r *Ring) put(ctx context.Context, b []byte, bufs [][]byte, wait bool) error {
	size := len(b)
	for _, p := range bufs {
		size += len(p)
	}
	need := uint64(4 + size)
	h := r.H
	if need > h.Capacity {
		return fmt.Errorf("mp: Queue.Put: an item of %d bytes does not fit in the queue's %d (see QueueCapacity)", size, h.Capacity)
	}
	for {
		seq := atomic.LoadUint32(&h.NotFull)
		if err := r.Lock(ctx); err != nil {
			return err
		}
		if atomic.LoadUint32(&h.Closed) != 0 {
			r.Unlock()
			return ErrClosed
		}
		full := (h.Maxsize > 0 && h.Count >= uint64(h.Maxsize)) || h.Tail-h.Head+need > h.Capacity
		if !full {
			if end := h.Tail + need; end > h.Backed && h.Backed < h.Capacity {
				if err := r.grow(end); err != nil {
					r.Unlock()
					return fmt.Errorf("mp: Queue.Put: an item of %d bytes: %w", size, err)
				}
			}
			s := r.State()
			s.Tail = r.write(size, b, bufs)
			s.Count++
			s.Unfinished++
			r.Commit(s)
			atomic.AddUint32(&h.NotEmpty, 1)
			r.Unlock()
			if atomic.LoadUint32(&h.WaitGet) > 0 {
				atomic.StoreInt64(&h.PutWoke, futex.Stamp())
				futex.Wake(&h.NotEmpty, 1<<30)
			}
			return nil
		}
		r.Unlock()
		if r.PeerGoneNow() {
			continue // closed now
		}
		if !wait {
			return ErrFull
		}
		if r.spin(&h.NotFull, seq) {
			continue
		}
		// A Get after our look bumps NotFull: the wait then returns at once.
		slept := futex.Stamp() // before a Get can see us waiting and stamp its wake-up
		atomic.AddUint32(&h.WaitPut, 1)
		err := WaitWord(ctx, &h.NotFull, seq)
		atomic.AddUint32(&h.WaitPut, ^uint32(0))
		futex.Woken(slept, atomic.LoadInt64(&h.GetWoke))
		if err != nil {
			return err
		}
	}
}

// grow gives the ring memory up to end (counted as head and tail are:
// past the capacity, all of it), for a Put that found end past Backed
// (the check is inline there: it is on every Put); the lock is held.
func (r *Ring) grow(end uint64) error {
	h := r.H
	to := min(h.Capacity, (end+GrowStep-1)/GrowStep*GrowStep)
	if r.back != nil {
		if err := r.back(int(h.Backed), int(to-h.Backed)); err != nil {
			return err
		}
	}
	h.Backed = to
	return nil
}

// write copies a length-prefixed message of size bytes, b then those of
// bufs, after the tail, where no reader looks until the new tail it
// returns is committed; the lock is held.
func (r *Ring) write(size int, b []byte, bufs [][]byte) uint64 {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(size))
	at := r.H.Tail
	r.copyIn(at, n[:])
	at += 4
	r.copyIn(at, b)
	at += uint64(len(b))
	for _, p := range bufs {
		r.copyIn(at, p)
		at += uint64(len(p))
	}
	return at
}

func (r *Ring) copyIn(at uint64, b []byte) {
	d := r.data
	i := int(at % uint64(len(d)))
	k := copy(d[i:], b)
	copy(d, b[k:])
}

func (r *Ring) copyOut(at uint64, b []byte) {
	d := r.data
	i := int(at % uint64(len(d)))
	k := copy(b, d[i:])
	copy(b[k:], d)
}

// Get removes the oldest message and returns it, into dst if dst is not
// nil (it must then have the message's length; what travels as a plain
// value), waiting for one if wait (else ErrEmpty) until ctx ends. On a
// closed ring that is empty it returns ErrClosed.
func (r *Ring) Get(ctx context.Context, wait bool, dst []byte) ([]byte, error) {
	return r.get(ctx, wait, dst, false)
}

// GetBuf is Get that reads the message into buf's memory when it has the
// room (else into new memory), whatever its length.
func (r *Ring) GetBuf(ctx context.Context, buf []byte) ([]byte, error) {
	return r.get(ctx, true, buf, true)
}

func (r *Ring) get(ctx context.Context, wait bool, dst []byte, reuse bool) ([]byte, error) {
	h := r.H
	for slept := false; ; slept = true {
		seq := atomic.LoadUint32(&h.NotEmpty)
		if err := r.Lock(ctx); err != nil {
			return nil, err
		}
		if h.Count > 0 {
			s := r.State()
			b, err := r.read(&s, dst, reuse)
			r.Commit(s)
			atomic.AddUint32(&h.NotFull, 1)
			r.Unlock()
			if atomic.LoadUint32(&h.WaitPut) > 0 {
				atomic.StoreInt64(&h.GetWoke, futex.Stamp())
				futex.Wake(&h.NotFull, 1<<30)
			}
			return b, err
		}
		closed := atomic.LoadUint32(&h.Closed) != 0
		r.Unlock()
		if !closed && slept && r.PeerGoneNow() {
			continue // closed now: a last look for a message
		}
		if closed {
			return nil, ErrClosed
		}
		if !wait {
			return nil, ErrEmpty
		}
		if r.spin(&h.NotEmpty, seq) {
			continue // a Put came while we spun: no sleep, no wake-up call
		}
		asleep := futex.Stamp() // before a Put can see us waiting and stamp its wake-up
		atomic.AddUint32(&h.WaitGet, 1)
		err := WaitWord(ctx, &h.NotEmpty, seq)
		atomic.AddUint32(&h.WaitGet, ^uint32(0))
		futex.Woken(asleep, atomic.LoadInt64(&h.PutWoke))
		if err != nil {
			return nil, err
		}
	}
}

// read copies out the message at the head and sets s to the state
// without it, for the caller to commit; the lock is held. A length that
// does not fit what is in the ring means the memory was scribbled on (by
// a process that wrote through a stray pointer: no crash leaves it so):
// the ring is emptied rather than read out of bounds.
func (r *Ring) read(s *State, dst []byte, reuse bool) ([]byte, error) {
	var n [4]byte
	r.copyOut(s.Head, n[:])
	size := uint64(binary.LittleEndian.Uint32(n[:]))
	if s.Tail-s.Head < 4+size {
		s.Head, s.Count = s.Tail, 0
		return nil, errors.New("mp: Queue.Get: the queue's memory is corrupt; it was emptied")
	}
	at := s.Head + 4
	s.Head += 4 + size
	s.Count--
	b := dst
	if reuse {
		if uint64(cap(dst)) >= size {
			b = dst[:size]
		} else {
			b = make([]byte, size)
		}
	} else if uint64(len(dst)) != size {
		if dst != nil {
			return nil, &SizeError{Size: int(size), Want: len(dst)}
		}
		b = make([]byte, size)
	}
	r.copyOut(at, b)
	return b, nil
}

// SizeError is Get's error for a message whose length is not dst's: it
// was taken from the ring, and is lost.
type SizeError struct{ Size, Want int }

func (e *SizeError) Error() string {
	return fmt.Sprintf("mp: a message of %d bytes where %d were due", e.Size, e.Want)
}

// spin watches word for a move from seq before a wait sleeps on it.
func (r *Ring) spin(word *uint32, seq uint32) bool {
	if r.Patient {
		return futex.SpinLong(word, seq)
	}
	return futex.Spin(word, seq)
}

// PeerGoneNow closes the ring, and reports so, if PeerGone says that
// the other side is gone.
func (r *Ring) PeerGoneNow() bool {
	if r.PeerGone == nil || atomic.LoadUint32(&r.H.Closed) != 0 || !r.PeerGone() {
		return false
	}
	r.Close()
	return true
}

// IsClosed reports whether the ring is closed.
func (r *Ring) IsClosed() bool { return atomic.LoadUint32(&r.H.Closed) != 0 }

// Poll waits until a Get would return at once (with a message, or with
// ErrClosed) or ctx ends, and reports whether it would.
func (r *Ring) Poll(ctx context.Context) bool {
	h := r.H
	for slept := false; ; slept = true {
		seq := atomic.LoadUint32(&h.NotEmpty)
		if r.Len() > 0 || r.IsClosed() || (slept && r.PeerGoneNow()) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		asleep := futex.Stamp() // before a Put can see us waiting and stamp its wake-up
		atomic.AddUint32(&h.WaitGet, 1)
		err := WaitWord(ctx, &h.NotEmpty, seq)
		atomic.AddUint32(&h.WaitGet, ^uint32(0))
		futex.Woken(asleep, atomic.LoadInt64(&h.PutWoke))
		if err != nil {
			return r.Len() > 0
		}
	}
}

// Len returns the number of messages in the ring.
func (r *Ring) Len() int {
	if err := r.Lock(context.Background()); err != nil {
		return 0
	}
	defer r.Unlock()
	return int(r.H.Count)
}

// Close marks the ring closed for every process and wakes every waiter:
// Put fails, Get returns what is left, then ErrClosed. It bumps the words
// waiters sleep on, as Put and Get do: a waiter that looked before the
// close and is about to sleep then finds its word moved and does not
// sleep (else it slept until PollEvery: a pool's Close took 50 ms more
// one time in three).
func (r *Ring) Close() {
	atomic.StoreUint32(&r.H.Closed, 1)
	atomic.AddUint32(&r.H.NotEmpty, 1)
	atomic.AddUint32(&r.H.NotFull, 1)
	futex.Wake(&r.H.NotEmpty, 1<<30)
	futex.Wake(&r.H.NotFull, 1<<30)
}

// Done marks one message got as finished (a JoinableQueue's TaskDone);
// it reports false if more were marked than put.
func (r *Ring) Done() (bool, error) {
	if err := r.Lock(context.Background()); err != nil {
		return false, err
	}
	h := r.H
	if h.Unfinished == 0 {
		r.Unlock()
		return false, nil
	}
	s := r.State()
	s.Unfinished--
	r.Commit(s)
	last := s.Unfinished == 0
	if last {
		atomic.AddUint32(&h.Done, 1)
	}
	r.Unlock()
	if last {
		futex.Wake(&h.Done, 1<<30)
	}
	return true, nil
}

// Join waits until every message put has been marked done, or ctx ends.
func (r *Ring) Join(ctx context.Context) error {
	h := r.H
	for {
		seq := atomic.LoadUint32(&h.Done)
		if err := r.Lock(ctx); err != nil {
			return err
		}
		n := h.Unfinished
		r.Unlock()
		if n == 0 {
			return nil
		}
		if err := WaitWord(ctx, &h.Done, seq); err != nil {
			return err
		}
	}
}
