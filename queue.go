package mp

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/mp-go/mp/internal/ring"
	"github.com/mp-go/mp/internal/wire"
)

// Errors of the queues.
var (
	// ErrEmpty is GetNowait's error on an empty queue (Python's queue.Empty).
	ErrEmpty = ring.ErrEmpty
	// ErrFull is PutNowait's error on a full queue (Python's queue.Full).
	ErrFull = ring.ErrFull
	// ErrQueueClosed is the error of Put on a closed queue, and of Get on a
	// closed queue that is empty.
	ErrQueueClosed = ring.ErrClosed
)

// DefaultQueueBytes is the capacity of a queue's buffer in shared memory
// unless QueueCapacity says otherwise. The memory is used as items are
// put (a tmpfs file), not up front.
const DefaultQueueBytes = 64 << 20

// A queue's segment is a ring (internal/ring): a header, then the items,
// each a 4-byte length then its CBOR encoding (or its bytes, for plain
// data), wrapping around.
const magicQueue = 0x6d705175 // "mpQu"

// Queue is a FIFO queue of T shared by processes (Python's
// multiprocessing.Queue): any number of processes put and get, and it can
// be passed to processes and tasks as an argument. Items are encoded
// (CBOR) into a ring in shared memory: Put returns as soon as the item is
// there, with no feeder thread, so a process that puts items and exits
// loses none and never blocks its parent's Join (Python's best-known
// queue trap).
type Queue[T any] struct {
	_ handle[*Queue[T]]
	m *SharedMemory
	r *ring.Ring
	h *ring.Header // r.H
	// rawSize > 0: T is plain data (numbers, and arrays and structs of
	// them) of this size, put in the ring as its bytes
	rawSize int
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
	first := min(c.bytes, ring.GrowStep)
	m, err := createSharedMemory("", ring.Size(c.bytes), ring.HeaderSize+first)
	if err != nil {
		return nil, err
	}
	r := ring.Init(m.Buf(), magicQueue, c.bytes, first, maxsize, backer(m))
	return &Queue[T]{m: m, r: r, h: r.H, rawSize: rawSizeOf[T]()}, nil
}

// backer gives a ring in m memory as it grows (see ring.Init).
func backer(m *SharedMemory) func(off, n int) error {
	return func(off, n int) error { return m.reserve(ring.HeaderSize+off, n) }
}

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
	return q.r.Put(ctx, b, wait)
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
	b, err := q.r.Get(ctx, wait, dst)
	if se, ok := err.(*ring.SizeError); ok {
		return nil, fmt.Errorf("mp: Queue.Get: a message of %d bytes for a %T of %d", se.Size, *new(T), se.Want)
	}
	return b, err
}

// peerGoneNow closes the queue, and reports so, if it is a pipe's
// direction whose other end no process holds any more.
func (q *Queue[T]) peerGoneNow() bool { return q.r.PeerGoneNow() }

func (q *Queue[T]) isClosed() bool { return q.r.IsClosed() }

// poll waits until a Get would return at once (with an item, or with
// ErrQueueClosed) or ctx ends, and reports whether it would.
func (q *Queue[T]) poll(ctx context.Context) bool { return q.r.Poll(ctx) }

// Qsize returns the number of items in the queue.
func (q *Queue[T]) Qsize() int { return q.r.Len() }

// Empty reports whether the queue holds no item.
func (q *Queue[T]) Empty() bool { return q.Qsize() == 0 }

// Full reports whether the queue holds maxsize items.
func (q *Queue[T]) Full() bool {
	return q.h.Maxsize > 0 && q.Qsize() >= int(q.h.Maxsize)
}

// Close marks the queue closed for every process: Put fails, Get returns
// what is left, then ErrQueueClosed. (Python's close only concerns the
// calling process's feeder thread; mp has none.)
func (q *Queue[T]) Close() error {
	q.r.Close()
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
	r, ok := ring.Attach(m.Buf(), magicQueue, backer(m))
	if !ok {
		return fmt.Errorf("mp: shared memory %q is not a Queue", hd.Name)
	}
	q.m, q.r, q.h, q.rawSize = m, r, r.H, rawSizeOf[T]()
	return nil
}
