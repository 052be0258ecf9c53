package mp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/mp-go/mp/internal/wire"
)

// Conn is one end of a Pipe (Python's multiprocessing.connection.Connection):
// Send and Recv typed messages, SendBytes and RecvBytes raw ones. Pass it
// to a process or a task as an argument; several processes may use one end,
// as in Python (messages are whole, never interleaved).
//
// As in Python, every process has its own copy of an end: the process that
// made the pipe holds both, and a process that receives an end (as an
// argument, or through a queue) gets a copy of its own. Close closes the
// calling process's copy only; the other end reads io.EOF once every copy
// of this end is closed or its process has died. The usual idiom works:
//
//	a, b, _ := mp.Pipe[string](true)
//	p, _ := mp.NewProcess(child, b)
//	p.Start(ctx)
//	b.Close() // the parent's copy; the child still has its own
//	a.Send(ctx, "hello") // and talks to the child over a
//
// CloseAll closes both ends for every process at once.
//
// A Conn made by Dial or a Listener's Accept (Python's Client and
// Listener) works the same way over a socket, with messages up to 64 MiB;
// it belongs to the process that made it and cannot be sent to another.
//
// A copy received by a pool task stays open until the task calls Close
// or the worker process ends (Python's closes when the task's argument
// is garbage-collected): a task that is done with a Conn should Close it
// if the other end waits for io.EOF.
type Conn[T any] struct {
	_       handle[*Conn[T]]
	in, out *Queue[T] // nil: this end does not receive, or does not send
	st      *pipeState
	m       *SharedMemory // holds st
	end     int           // this end's index in st.ends
	closed  atomic.Bool   // this process's copy is closed
	sock    *sockConn     // not nil: a Conn over a socket (Dial, Accept); in, out, st, m are nil
}

// ErrConnClosed is the error of a Conn's methods after Close in the same
// process (Python's OSError "handle is closed").
var ErrConnClosed = errors.New("mp: the Conn is closed in this process")

// Pipe returns the two ends of a pipe (Python's Pipe(duplex)). A duplex
// pipe carries messages both ways; otherwise the first end only receives
// and the second only sends. Each direction is a ring in shared memory of
// DefaultQueueBytes (see QueueCapacity): a message larger than that is an
// error, and Send waits while unread messages fill it. A Recv on an empty
// pipe watches it for as long as this machine's wake-ups have been
// measured to cost (50 µs to 1 ms) before it sleeps: a reply that comes
// sooner is seen without a wake-up.
func Pipe[T any](duplex bool, opts ...QueueOption) (*Conn[T], *Conn[T], error) {
	st, m, err := newPipeState()
	if err != nil {
		return nil, nil, err
	}
	ab, err := NewQueue[T](0, opts...) // a → b
	if err != nil {
		m.Unlink()
		return nil, nil, err
	}
	a, b := &Conn[T]{st: st, m: m, end: 0}, &Conn[T]{st: st, m: m, end: 1}
	if duplex {
		ba, err := NewQueue[T](0, opts...)
		if err != nil {
			ab.Unlink()
			m.Unlink()
			return nil, nil, err
		}
		a.in, a.out, b.in, b.out = ba, ab, ab, ba
	} else {
		a.in, b.out = ab, ab
	}
	a.setup()
	b.setup()
	st.hold(0, myPid, 0, 0)
	st.hold(1, myPid, 0, 0)
	return a, b, nil
}

// setup gives this Conn its own copies of its queues, which know how to
// tell that the other end is gone.
func (c *Conn[T]) setup() {
	gone := func() bool {
		if !c.st.gone(1 - c.end) {
			return false
		}
		c.closeQueues() // both directions: Send fails too
		return true
	}
	watch := func(q *Queue[T]) *Queue[T] {
		if q == nil {
			return nil
		}
		cp, r := *q, *q.r
		r.PeerGone = gone
		// A pipe carries requests and replies: its receiver waits as long
		// as a wake-up costs before it sleeps (ring.Ring.Patient).
		r.Patient = true
		cp.r = &r
		return &cp
	}
	c.in, c.out = watch(c.in), watch(c.out)
}

var (
	errNotWritable = errors.New("mp: this end of the pipe only receives")
	errNotReadable = errors.New("mp: this end of the pipe only sends")
)

// Send sends v to the other end, waiting while the pipe is full. Once the
// other end is closed in every process, it returns an error wrapping
// io.ErrClosedPipe (Python's BrokenPipeError); a message sent just before
// that is seen may be lost with the other end, as in Python.
func (c *Conn[T]) Send(ctx context.Context, v T) error {
	if c.sock != nil {
		if c.closed.Load() {
			return ErrConnClosed
		}
		b, err := wire.Marshal(v)
		if err != nil {
			return fmt.Errorf("mp: Send: %w", err)
		}
		return c.sock.send(ctx, b)
	}
	if err := c.usable(c.out, errNotWritable); err != nil {
		return err
	}
	return sendErr(c.out.Put(ctx, v))
}

// usable says why q cannot be used, if it cannot.
func (c *Conn[T]) usable(q *Queue[T], missing error) error {
	if c.closed.Load() {
		return ErrConnClosed
	}
	if q == nil {
		return missing
	}
	return nil
}

// Recv returns the next message, waiting for one until ctx ends; io.EOF
// once every copy of the other end is closed (or its process dead) and
// every message read.
func (c *Conn[T]) Recv(ctx context.Context) (T, error) {
	if c.sock != nil {
		var v T
		b, err := c.RecvBytes(ctx)
		if err != nil {
			return v, err
		}
		if err := wire.Unmarshal(b, &v); err != nil {
			return v, fmt.Errorf("mp: Recv: decoding a %T: %w", v, err)
		}
		return v, nil
	}
	if err := c.usable(c.in, errNotReadable); err != nil {
		var zero T
		return zero, err
	}
	v, err := c.in.Get(ctx)
	return v, pipeErr(err)
}

// SendBytes sends b as one raw message (Python's send_bytes).
func (c *Conn[T]) SendBytes(ctx context.Context, b []byte) error {
	if c.sock != nil {
		if c.closed.Load() {
			return ErrConnClosed
		}
		return c.sock.send(ctx, b)
	}
	if err := c.usable(c.out, errNotWritable); err != nil {
		return err
	}
	if !c.out.r.Fits(len(b)) {
		return fmt.Errorf("mp: SendBytes: a message of %d bytes does not fit in the pipe's %d (see QueueCapacity)", len(b), c.out.h.Capacity)
	}
	return sendErr(c.out.putRaw(ctx, b, true))
}

// RecvBytes returns the next message as raw bytes (Python's recv_bytes).
func (c *Conn[T]) RecvBytes(ctx context.Context) ([]byte, error) {
	if c.sock != nil {
		if c.closed.Load() {
			return nil, ErrConnClosed
		}
		return c.sock.recv(ctx)
	}
	if err := c.usable(c.in, errNotReadable); err != nil {
		return nil, err
	}
	b, err := c.in.getRaw(ctx, true, nil)
	return b, pipeErr(err)
}

// RecvBytesInto reads the next raw message into buf and returns its
// length (Python's recv_bytes_into). A message longer than buf is
// received all the same and returned in a *BufferTooShortError (Python's
// BufferTooShort, whose args[0] is the message): nothing is lost, and
// errors.Is(err, ErrBufferTooShort) holds.
func (c *Conn[T]) RecvBytesInto(ctx context.Context, buf []byte) (int, error) {
	b, err := c.RecvBytes(ctx)
	if err != nil {
		return 0, err
	}
	if len(b) > len(buf) {
		return 0, &BufferTooShortError{Msg: b, Buf: len(buf)}
	}
	return copy(buf, b), nil
}

// ErrBufferTooShort is wrapped by a *BufferTooShortError.
var ErrBufferTooShort = errors.New("mp: buffer too short")

// BufferTooShortError is RecvBytesInto's error when the message does not
// fit the buffer (Python's BufferTooShort): it carries the whole message,
// which was received.
type BufferTooShortError struct {
	Msg []byte // the whole message
	Buf int    // the buffer's length
}

func (e *BufferTooShortError) Error() string {
	return fmt.Sprintf("mp: RecvBytesInto: a message of %d bytes for a buffer of %d (the message is in the error: errors.As(err, &*mp.BufferTooShortError))", len(e.Msg), e.Buf)
}

// Unwrap returns ErrBufferTooShort.
func (e *BufferTooShortError) Unwrap() error { return ErrBufferTooShort }

// Message returns the whole message.
func (e *BufferTooShortError) Message() []byte { return e.Msg }

// Poll reports whether Recv would return at once, with a message or with
// io.EOF, waiting for that at most d (Python's poll(timeout); d <= 0 does
// not wait).
func (c *Conn[T]) Poll(d time.Duration) bool {
	if c.sock != nil {
		return !c.closed.Load() && c.sock.poll(d)
	}
	if c.usable(c.in, errNotReadable) != nil {
		return false
	}
	if d <= 0 {
		return c.in.Qsize() > 0 || c.in.isClosed() || c.in.peerGoneNow()
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.in.poll(ctx)
}

// Closed reports whether this process's copy is closed (Python's closed).
func (c *Conn[T]) Closed() bool { return c.closed.Load() }

// Readable reports whether this end receives (Python's readable).
func (c *Conn[T]) Readable() bool { return c.in != nil || c.sock != nil }

// Writable reports whether this end sends (Python's writable).
func (c *Conn[T]) Writable() bool { return c.out != nil || c.sock != nil }

// Close closes this process's copy of this end (Python's close): its
// methods return ErrConnClosed from then on. When no process holds a
// copy of this end any more, the other end reads what was sent, then
// io.EOF, and its Send fails. Closing twice does nothing.
func (c *Conn[T]) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.sock != nil {
		return c.sock.close()
	}
	if c.st.release(c.end, myPid) {
		c.closeQueues()
	}
	return nil
}

// CloseAll closes the pipe, both ends, for every process: Recv returns
// what was sent, then io.EOF, and Send fails, on both ends everywhere
// (what Close did before mp followed Python). Python has no such call.
// On a Conn over a socket it is Close.
func (c *Conn[T]) CloseAll() error {
	if c.sock != nil {
		return c.Close()
	}
	c.closeQueues()
	return nil
}

func (c *Conn[T]) closeQueues() {
	for _, q := range []*Queue[T]{c.in, c.out} {
		if q != nil {
			q.Close()
		}
	}
}

// Fileno returns the Conn's file descriptor, as Python's
// Connection.fileno() does: on a Conn over a socket (Dial, Accept), the
// socket's, valid until Close (for socket options, the peer's
// credentials, or to tell Conns apart; read and write it only through
// the Conn). It returns -1 on a Pipe, which lives in shared memory, not
// in a file descriptor, and on a closed Conn. To wait for a message on
// several Conns, queues and processes use WaitReady, or Poll, not select
// on the descriptor: the Conn reads messages ahead of Recv, so a message
// may be waiting while the descriptor is not readable.
func (c *Conn[T]) Fileno() int {
	if c.sock == nil || c.closed.Load() {
		return -1
	}
	return c.sock.fileno()
}

// Unlink removes the pipe's shared memory (both ends use it; see
// SharedMemory.Unlink).
func (c *Conn[T]) Unlink() error {
	if c.sock != nil {
		return nil
	}
	var err error
	for _, q := range []*Queue[T]{c.in, c.out} {
		if q != nil {
			err = errors.Join(err, q.Unlink())
		}
	}
	return errors.Join(err, c.m.Unlink())
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
	In    *Queue[T] `cbor:"1,keyasint,omitempty"`
	Out   *Queue[T] `cbor:"2,keyasint,omitempty"`
	State string    `cbor:"3,keyasint"`
	End   int       `cbor:"4,keyasint"`
	Token uint32    `cbor:"5,keyasint"`
}

// encodeHandle encodes the handle: the names of its directions. The copy
// on its way to another process counts as open (see transitFor) until
// that process decodes it.
func (c *Conn[T]) encodeHandle() ([]byte, error) {
	if c.sock != nil {
		return nil, errors.New("mp: a Conn from Dial or Accept cannot be sent to another process: Dial from that process instead")
	}
	if c.closed.Load() {
		return nil, fmt.Errorf("%w: it cannot be sent", ErrConnClosed)
	}
	tok, err := c.st.inTransit(c.end)
	if err != nil {
		return nil, err
	}
	return wire.Marshal(connHandle[T]{c.in, c.out, c.m.Name(), c.end, tok})
}

// decodeHandle maps the pipe end named in b: this process now holds a
// copy of it.
func (c *Conn[T]) decodeHandle(b []byte) error {
	var h connHandle[T]
	if err := wire.Unmarshal(b, &h); err != nil {
		return err
	}
	if (h.In == nil && h.Out == nil) || (h.In != nil && h.In.h == nil) || (h.Out != nil && h.Out.h == nil) || h.End < 0 || h.End > 1 {
		return errBadHandle
	}
	st, m, err := receivedPipeState(h.State)
	if err != nil {
		return err
	}
	c.in, c.out, c.st, c.m, c.end = h.In, h.Out, st, m, h.End
	c.setup()
	if err := st.hold(h.End, myPid, 0, 0); err != nil {
		return err
	}
	st.arrived(h.End, h.Token)
	return nil
}
