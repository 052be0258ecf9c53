package mp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/mp-go/mp/internal/futex"
	"github.com/mp-go/mp/internal/wire"
)

// Errors of the queues.
var (
	// ErrEmpty is GetNowait's error on an empty queue (Python's queue.Empty).
	ErrEmpty = errors.New("mp: queue empty")
	// ErrFull is PutNowait's error on a full queue (Python's queue.Full).
	ErrFull = errors.New("mp: queue full")
	// ErrQueueClosed is the error of Put on a closed queue, and of Get on a
	// closed queue that is empty.
	ErrQueueClosed = errors.New("mp: queue closed")
)

// DefaultQueueBytes is the capacity of a queue's buffer in shared memory
// unless QueueCapacity says otherwise. The memory is used as items are
// put (a tmpfs file), not up front.
const DefaultQueueBytes = 64 << 20

// queueHeader is the start of a queue's segment; the ring of items
// follows. head and tail count bytes from the start of time; each item is
// a 4-byte length then its CBOR encoding, wrapping around the ring.
type queueHeader struct {
	magic      uint32
	lock       uint32 // a lock word (see Lock)
	notEmpty   uint32 // bumped by every Put: Get sleeps on it
	notFull    uint32 // bumped by every Get: Put sleeps on it
	done       uint32 // bumped when unfinished reaches 0: Join sleeps on it
	closed     uint32
	maxsize    uint32 // items; 0: no limit but the bytes
	waitGet    uint32 // getters asleep (or about to be): Put wakes only if any
	waitPut    uint32 // putters asleep: Get wakes only if any
	_          uint32
	capacity   uint64 // bytes of the ring
	head, tail uint64
	count      uint64 // items in the queue
	unfinished uint64 // JoinableQueue: items put and not yet TaskDone
	// An update of the four words above is first written here as their
	// new values, then committed by setting logged (one atomic store),
	// then applied, then logged is cleared. A process that takes the lock
	// and finds logged set finishes the update of a holder that died (the
	// values are absolute: applying them twice is harmless); an update
	// whose holder died before logged was set never happened. Either way
	// the queue is as if the dead process's operation ran whole or not at
	// all: a Get that committed took its item (the dead process had it),
	// a Put that committed left its item, readable.
	logged uint32
	_      uint32
	next   queueState
	// backed is how many bytes of the ring, from its start, have memory
	// behind them (fallocate): a Put past it first backs more, so that a
	// full /dev/shm is an error of that Put, never a SIGBUS. It only
	// grows; a holder that dies while growing leaves it as it was (backing
	// again is harmless).
	backed uint64
}

// queueGrowStep is how much more of a ring a Put backs at a time.
const queueGrowStep = 1 << 20

// queueState is the part of a queue's header that every Put, Get and
// TaskDone changes together.
type queueState struct {
	head, tail, count, unfinished uint64
}

const magicQueue = 0x6d705175 // "mpQu"

// Queue is a FIFO queue of T shared by processes (Python's
// multiprocessing.Queue): any number of processes put and get, and it can
// be passed to processes and tasks as an argument. Items are encoded
// (CBOR) into a ring in shared memory: Put returns as soon as the item is
// there, with no feeder thread, so a process that puts items and exits
// loses none and never blocks its parent's Join (Python's best-known
// queue trap).
type Queue[T any] struct {
	_    handle[*Queue[T]]
	m    *SharedMemory
	h    *queueHeader
	data []byte // the ring, after the header
	// rawSize > 0: T is plain data (numbers, and arrays and structs of
	// them) of this size, put in the ring as its bytes
	rawSize int
	// peerGone, for a pipe's direction, reports whether no process holds
	// the other end any more: a Get that waits, or a Put, then closes the
	// queue instead of waiting for ever.
	peerGone func() bool
}

// rawSizeOf is the size of T if it can travel as its bytes, else 0.
func rawSizeOf[T any]() int {
	if n, err := plainSize[T](1); err == nil && n > 0 {
		return n
	}
	return 0
}

// QueueOption configures a queue.
type QueueOption func(*queueConfig)

type queueConfig struct{ bytes int }

// QueueCapacity sets the bytes of a queue's buffer (DefaultQueueBytes):
// Put waits while the unread items fill it, and an item larger than it is
// an error.
func QueueCapacity(bytes int) QueueOption { return func(c *queueConfig) { c.bytes = bytes } }

// NewQueue makes a queue holding at most maxsize items (0: no limit but
// its buffer's bytes).
func NewQueue[T any](maxsize int, opts ...QueueOption) (*Queue[T], error) {
	c := queueConfig{bytes: DefaultQueueBytes}
	for _, o := range opts {
		o(&c)
	}
	if maxsize < 0 || maxsize >= 1<<31 {
		return nil, fmt.Errorf("%w: queue maxsize %d", ErrInvalidOption, maxsize)
	}
	if c.bytes < 64 {
		return nil, fmt.Errorf("%w: queue capacity %d bytes", ErrInvalidOption, c.bytes)
	}
	hsize := int(unsafe.Sizeof(queueHeader{}))
	first := min(c.bytes, queueGrowStep)
	m, err := createSharedMemory("", hsize+c.bytes, hsize+first)
	if err != nil {
		return nil, err
	}
	buf := m.Buf()
	q := &Queue[T]{m: m, h: (*queueHeader)(unsafe.Pointer(&buf[0])), data: buf[hsize:], rawSize: rawSizeOf[T]()}
	q.h.capacity = uint64(c.bytes)
	q.h.backed = uint64(first)
	q.h.maxsize = uint32(maxsize)
	atomic.StoreUint32(&q.h.magic, magicQueue)
	return q, nil
}

func (q *Queue[T]) ring() []byte { return q.data }

func (q *Queue[T]) lock(ctx context.Context) error {
	if err := lockWord(ctx, &q.h.lock); err != nil && !errors.Is(err, ErrOwnerDead) {
		return err
	}
	// A process that died holding the queue's lock died before or after
	// the commit of its update (see queueHeader.logged), or mid-copy of
	// an item beyond the tail: finishing a committed update makes the
	// queue consistent either way.
	if atomic.LoadUint32(&q.h.logged) != 0 {
		q.apply()
	}
	return nil
}

// state returns the header's words; the lock is held.
func (q *Queue[T]) state() queueState {
	h := q.h
	return queueState{h.head, h.tail, h.count, h.unfinished}
}

// commit makes s the header's state in one step that a crash cannot
// split: once logged is stored, the update counts even if this process
// dies before applying it. The lock is held.
func (q *Queue[T]) commit(s queueState) {
	q.h.next = s
	atomic.StoreUint32(&q.h.logged, 1)
	q.apply()
}

// apply copies the committed state into the header; the lock is held.
func (q *Queue[T]) apply() {
	h := q.h
	h.head, h.tail, h.count, h.unfinished = h.next.head, h.next.tail, h.next.count, h.next.unfinished
	atomic.StoreUint32(&h.logged, 0)
}

func (q *Queue[T]) unlock() { unlockWord(&q.h.lock) }

// Put adds v, waiting while the queue is full, until ctx ends.
func (q *Queue[T]) Put(ctx context.Context, v T) error { return q.put(ctx, v, true) }

// PutNowait adds v or returns ErrFull at once.
func (q *Queue[T]) PutNowait(v T) error { return q.put(context.Background(), v, false) }

func (q *Queue[T]) put(ctx context.Context, v T, wait bool) error {
	if q.rawSize > 0 {
		return q.putRaw(ctx, unsafe.Slice((*byte)(unsafe.Pointer(&v)), q.rawSize), wait)
	}
	b, err := wire.Marshal(v)
	if err != nil {
		return fmt.Errorf("mp: Queue.Put: %w", err)
	}
	return q.putRaw(ctx, b, wait)
}

// putRaw adds one encoded item.
func (q *Queue[T]) putRaw(ctx context.Context, b []byte, wait bool) error {
	need := uint64(4 + len(b))
	h := q.h
	if need > h.capacity {
		return fmt.Errorf("mp: Queue.Put: an item of %d bytes does not fit in the queue's %d (see QueueCapacity)", len(b), h.capacity)
	}
	for {
		seq := atomic.LoadUint32(&h.notFull)
		if err := q.lock(ctx); err != nil {
			return err
		}
		if atomic.LoadUint32(&h.closed) != 0 {
			q.unlock()
			return ErrQueueClosed
		}
		full := (h.maxsize > 0 && h.count >= uint64(h.maxsize)) || h.tail-h.head+need > h.capacity
		if !full {
			if end := h.tail + need; end > h.backed && h.backed < h.capacity {
				if err := q.back(end); err != nil {
					q.unlock()
					return fmt.Errorf("mp: Queue.Put: an item of %d bytes: %w", len(b), err)
				}
			}
			s := q.state()
			s.tail = q.write(b)
			s.count++
			s.unfinished++
			q.commit(s)
			atomic.AddUint32(&h.notEmpty, 1)
			q.unlock()
			if atomic.LoadUint32(&h.waitGet) > 0 {
				futex.Wake(&h.notEmpty, 1<<30)
			}
			return nil
		}
		q.unlock()
		if q.peerGoneNow() {
			continue // closed now
		}
		if !wait {
			return ErrFull
		}
		if futex.Spin(&h.notFull, seq) {
			continue
		}
		// A Get after our look bumps notFull: the wait then returns at once.
		atomic.AddUint32(&h.waitPut, 1)
		err := waitWord(ctx, &h.notFull, seq)
		atomic.AddUint32(&h.waitPut, ^uint32(0))
		if err != nil {
			return err
		}
	}
}

// back gives the ring memory up to end (counted as head and tail are:
// past the capacity, all of it), for a Put that found end past backed
// (the check is inline there: it is on every Put); the lock is held.
func (q *Queue[T]) back(end uint64) error {
	h := q.h
	to := min(h.capacity, (end+queueGrowStep-1)/queueGrowStep*queueGrowStep)
	hsize := int(unsafe.Sizeof(queueHeader{}))
	if err := q.m.reserve(hsize+int(h.backed), int(to-h.backed)); err != nil {
		return err
	}
	h.backed = to
	return nil
}

// write copies a length-prefixed item after the tail, where no reader
// looks until the new tail it returns is committed; the lock is held.
func (q *Queue[T]) write(b []byte) uint64 {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(b)))
	q.copyIn(q.h.tail, n[:])
	q.copyIn(q.h.tail+4, b)
	return q.h.tail + uint64(4+len(b))
}

func (q *Queue[T]) copyIn(at uint64, b []byte) {
	r := q.ring()
	i := int(at % uint64(len(r)))
	k := copy(r[i:], b)
	copy(r, b[k:])
}

func (q *Queue[T]) copyOut(at uint64, b []byte) {
	r := q.ring()
	i := int(at % uint64(len(r)))
	k := copy(b, r[i:])
	copy(b[k:], r)
}

// Get removes and returns the oldest item, waiting until there is one or
// ctx ends. On a closed queue that is empty it returns ErrQueueClosed.
func (q *Queue[T]) Get(ctx context.Context) (T, error) { return q.get(ctx, true) }

// GetNowait returns the oldest item or ErrEmpty at once.
func (q *Queue[T]) GetNowait() (T, error) { return q.get(context.Background(), false) }

func (q *Queue[T]) get(ctx context.Context, wait bool) (T, error) {
	var zero T
	if q.rawSize > 0 {
		// plain data travels as its bytes: no encoding, no allocation
		var v T
		_, err := q.getRaw(ctx, wait, unsafe.Slice((*byte)(unsafe.Pointer(&v)), q.rawSize))
		if err != nil {
			return zero, err
		}
		return v, nil
	}
	b, err := q.getRaw(ctx, wait, nil)
	if err != nil {
		return zero, err
	}
	var v T
	if err := wire.Unmarshal(b, &v); err != nil {
		return zero, fmt.Errorf("mp: Queue.Get: decoding a %T: %w", v, err)
	}
	return v, nil
}

// getRaw removes one encoded item, into dst if it is not nil (it must
// then have the item's length).
func (q *Queue[T]) getRaw(ctx context.Context, wait bool, dst []byte) ([]byte, error) {
	h := q.h
	for slept := false; ; slept = true {
		seq := atomic.LoadUint32(&h.notEmpty)
		if err := q.lock(ctx); err != nil {
			return nil, err
		}
		if h.count > 0 {
			s := q.state()
			b, err := q.read(&s, dst)
			q.commit(s)
			atomic.AddUint32(&h.notFull, 1)
			q.unlock()
			if atomic.LoadUint32(&h.waitPut) > 0 {
				futex.Wake(&h.notFull, 1<<30)
			}
			return b, err
		}
		closed := atomic.LoadUint32(&h.closed) != 0
		q.unlock()
		if !closed && slept && q.peerGoneNow() {
			continue // closed now: a last look for an item
		}
		if closed {
			return nil, ErrQueueClosed
		}
		if !wait {
			return nil, ErrEmpty
		}
		if futex.Spin(&h.notEmpty, seq) {
			continue // a Put came while we spun: no sleep, no wake-up call
		}
		atomic.AddUint32(&h.waitGet, 1)
		err := waitWord(ctx, &h.notEmpty, seq)
		atomic.AddUint32(&h.waitGet, ^uint32(0))
		if err != nil {
			return nil, err
		}
	}
}

// read copies out the item at the head and sets s to the state without
// it, for the caller to commit; the lock is held. A length that does not
// fit what is in the ring means the memory was scribbled on (by a
// process that wrote through a stray pointer: no crash leaves it so):
// the queue is emptied rather than read out of bounds.
func (q *Queue[T]) read(s *queueState, dst []byte) ([]byte, error) {
	var n [4]byte
	q.copyOut(s.head, n[:])
	size := uint64(binary.LittleEndian.Uint32(n[:]))
	if s.tail-s.head < 4+size {
		s.head, s.count = s.tail, 0
		return nil, errors.New("mp: Queue.Get: the queue's memory is corrupt; it was emptied")
	}
	at := s.head + 4
	s.head += 4 + size
	s.count--
	b := dst
	if uint64(len(dst)) != size {
		if dst != nil {
			return nil, fmt.Errorf("mp: Queue.Get: a message of %d bytes for a %T of %d", size, *new(T), len(dst))
		}
		b = make([]byte, size)
	}
	q.copyOut(at, b)
	return b, nil
}

// peerGoneNow closes the queue, and reports so, if it is a pipe's
// direction whose other end no process holds any more.
func (q *Queue[T]) peerGoneNow() bool {
	if q.peerGone == nil || atomic.LoadUint32(&q.h.closed) != 0 || !q.peerGone() {
		return false
	}
	q.Close()
	return true
}

func (q *Queue[T]) isClosed() bool { return atomic.LoadUint32(&q.h.closed) != 0 }

// poll waits until a Get would return at once (with an item, or with
// ErrQueueClosed) or ctx ends, and reports whether it would.
func (q *Queue[T]) poll(ctx context.Context) bool {
	h := q.h
	for slept := false; ; slept = true {
		seq := atomic.LoadUint32(&h.notEmpty)
		if q.Qsize() > 0 || q.isClosed() || (slept && q.peerGoneNow()) {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		atomic.AddUint32(&h.waitGet, 1)
		err := waitWord(ctx, &h.notEmpty, seq)
		atomic.AddUint32(&h.waitGet, ^uint32(0))
		if err != nil {
			return q.Qsize() > 0
		}
	}
}

// Qsize returns the number of items in the queue.
func (q *Queue[T]) Qsize() int {
	if err := q.lock(context.Background()); err != nil {
		return 0
	}
	defer q.unlock()
	return int(q.h.count)
}

// Empty reports whether the queue holds no item.
func (q *Queue[T]) Empty() bool { return q.Qsize() == 0 }

// Full reports whether the queue holds maxsize items.
func (q *Queue[T]) Full() bool {
	return q.h.maxsize > 0 && q.Qsize() >= int(q.h.maxsize)
}

// Close marks the queue closed for every process: Put fails, Get returns
// what is left, then ErrQueueClosed. (Python's close only concerns the
// calling process's feeder thread; mp has none.)
func (q *Queue[T]) Close() error {
	atomic.StoreUint32(&q.h.closed, 1)
	futex.Wake(&q.h.notEmpty, 1<<30)
	futex.Wake(&q.h.notFull, 1<<30)
	return nil
}

// Unlink removes the queue's segment (see SharedMemory.Unlink).
func (q *Queue[T]) Unlink() error { return q.m.Unlink() }

func (q *Queue[T]) encodeHandle() ([]byte, error) {
	return wire.Marshal(shmHandle{Name: q.m.Name()})
}

// decodeHandle maps the queue named in b.
func (q *Queue[T]) decodeHandle(b []byte) error {
	var hd shmHandle
	if err := wire.Unmarshal(b, &hd); err != nil {
		return err
	}
	m, err := received(hd.Name)
	if err != nil {
		return err
	}
	hsize := int(unsafe.Sizeof(queueHeader{}))
	if m.Size() < hsize {
		return fmt.Errorf("mp: shared memory %q is not a Queue", hd.Name)
	}
	h := (*queueHeader)(unsafe.Pointer(&m.Buf()[0]))
	if atomic.LoadUint32(&h.magic) != magicQueue || h.capacity != uint64(m.Size()-hsize) {
		return fmt.Errorf("mp: shared memory %q is not a Queue", hd.Name)
	}
	q.m, q.h, q.data, q.rawSize = m, h, m.Buf()[hsize:], rawSizeOf[T]()
	return nil
}
