package mp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Conn is one end of a Pipe (Python's multiprocessing.connection.Connection):
// Send and Recv typed messages, SendBytes and RecvBytes raw ones. Pass it
// to a process or a task as an argument; several processes may use one end,
// as in Python (messages are whole, never interleaved).
type Conn[T any] struct {
	in, out *Queue[T] // nil: this end does not receive, or does not send
}

// Pipe returns the two ends of a pipe (Python's Pipe(duplex)). A duplex
// pipe carries messages both ways; otherwise the first end only receives
// and the second only sends. Each direction is a ring in shared memory of
// DefaultQueueBytes (see QueueCapacity): a message larger than that is an
// error, and Send waits while unread messages fill it.
func Pipe[T any](duplex bool, opts ...QueueOption) (*Conn[T], *Conn[T], error) {
	ab, err := NewQueue[T](0, opts...) // a → b
	if err != nil {
		return nil, nil, err
	}
	if !duplex {
		return &Conn[T]{in: ab}, &Conn[T]{out: ab}, nil
	}
	ba, err := NewQueue[T](0, opts...)
	if err != nil {
		ab.Unlink()
		return nil, nil, err
	}
	return &Conn[T]{in: ba, out: ab}, &Conn[T]{in: ab, out: ba}, nil
}

var (
	errNotWritable = errors.New("mp: this end of the pipe only receives")
	errNotReadable = errors.New("mp: this end of the pipe only sends")
)

// Send sends v to the other end, waiting while the pipe is full.
func (c *Conn[T]) Send(ctx context.Context, v T) error {
	if c.out == nil {
		return errNotWritable
	}
	return sendErr(c.out.Put(ctx, v))
}

// Recv returns the next message, waiting for one until ctx ends; io.EOF
// once the other end is closed and every message read.
func (c *Conn[T]) Recv(ctx context.Context) (T, error) {
	if c.in == nil {
		var zero T
		return zero, errNotReadable
	}
	v, err := c.in.Get(ctx)
	return v, pipeErr(err)
}

// SendBytes sends b as one raw message (Python's send_bytes).
func (c *Conn[T]) SendBytes(ctx context.Context, b []byte) error {
	if c.out == nil {
		return errNotWritable
	}
	if uint64(4+len(b)) > c.out.h.capacity {
		return fmt.Errorf("mp: SendBytes: a message of %d bytes does not fit in the pipe's %d (see QueueCapacity)", len(b), c.out.h.capacity)
	}
	return sendErr(c.out.putRaw(ctx, b, true))
}

// RecvBytes returns the next message as raw bytes (Python's recv_bytes).
func (c *Conn[T]) RecvBytes(ctx context.Context) ([]byte, error) {
	if c.in == nil {
		return nil, errNotReadable
	}
	b, err := c.in.getRaw(ctx, true, nil)
	return b, pipeErr(err)
}

// RecvBytesInto reads the next raw message into buf and returns its
// length (Python's recv_bytes_into); a message longer than buf is an
// error, and is lost.
func (c *Conn[T]) RecvBytesInto(ctx context.Context, buf []byte) (int, error) {
	b, err := c.RecvBytes(ctx)
	if err != nil {
		return 0, err
	}
	if len(b) > len(buf) {
		return 0, fmt.Errorf("mp: RecvBytesInto: a message of %d bytes for a buffer of %d", len(b), len(buf))
	}
	return copy(buf, b), nil
}

// Poll reports whether a message is waiting, waiting for one at most d
// (Python's poll(timeout); d <= 0 does not wait).
func (c *Conn[T]) Poll(d time.Duration) bool {
	if c.in == nil {
		return false
	}
	if d <= 0 {
		return c.in.Qsize() > 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.in.poll(ctx)
}

// Close closes this end: the other end reads what was sent, then io.EOF,
// and cannot send here any more.
func (c *Conn[T]) Close() error {
	if c.out != nil {
		c.out.Close()
	}
	if c.in != nil {
		c.in.Close()
	}
	return nil
}

// Fileno returns -1: an mp pipe lives in shared memory, not in a file
// descriptor, so it cannot be given to select or poll; use Poll.
func (c *Conn[T]) Fileno() int { return -1 }

// Unlink removes the pipe's shared memory (both ends use it; see
// SharedMemory.Unlink).
func (c *Conn[T]) Unlink() error {
	var err error
	for _, q := range []*Queue[T]{c.in, c.out} {
		if q != nil {
			err = errors.Join(err, q.Unlink())
		}
	}
	return err
}

func sendErr(err error) error {
	if errors.Is(err, ErrQueueClosed) {
		return fmt.Errorf("mp: send on a closed pipe: %w", io.ErrClosedPipe)
	}
	return err
}

func pipeErr(err error) error {
	if errors.Is(err, ErrQueueClosed) {
		return io.EOF
	}
	return err
}

type connHandle[T any] struct {
	In  *Queue[T] `cbor:"1,keyasint,omitempty"`
	Out *Queue[T] `cbor:"2,keyasint,omitempty"`
}

// MarshalCBOR encodes the handle: the names of its directions.
func (c *Conn[T]) MarshalCBOR() ([]byte, error) {
	return cbor.Marshal(connHandle[T]{c.in, c.out})
}

// UnmarshalCBOR maps the pipe end named in b.
func (c *Conn[T]) UnmarshalCBOR(b []byte) error {
	var h connHandle[T]
	if err := cbor.Unmarshal(b, &h); err != nil {
		return err
	}
	if (h.In == nil && h.Out == nil) || (h.In != nil && h.In.h == nil) || (h.Out != nil && h.Out.h == nil) {
		return errBadHandle
	}
	c.in, c.out = h.In, h.Out
	return nil
}
