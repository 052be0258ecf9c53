package mp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/mp-go/mp/internal/wire"
)

// sockConn is the transport behind a Conn made by Dial or a Listener's
// Accept: frames of kind wire.KindMessage over a stream socket, bounded
// by wire.DefaultMaxFrame. One goroutine reads frames ahead, one at a
// time, so that Recv and Poll can wait with a context or a timeout
// without cutting a frame in half.
type sockConn struct {
	nc   net.Conn
	wmu  sync.Mutex // one Send at a time: messages are whole
	w    *wire.Writer
	werr error // a write cut short: the stream is broken

	frames     chan sockFrame // from the reading goroutine
	done       chan struct{}  // closed by close
	readerDone chan struct{}
	closeOnce  sync.Once

	mu      sync.Mutex
	pending []sockFrame // taken from frames by Poll, for Recv
}

// sockFrame is one message, or the end of the stream (err: io.EOF or
// why the stream broke), which stays in pending for every later Recv.
type sockFrame struct {
	b   []byte
	err error
}

// connVersion is the version of the protocol of Conns over sockets,
// checked in the authkey handshake.
const connVersion = 1

func newSockConn(nc net.Conn, r *wire.Reader, w *wire.Writer) *sockConn {
	s := &sockConn{nc: nc, w: w, frames: make(chan sockFrame), done: make(chan struct{}), readerDone: make(chan struct{})}
	go s.read(r)
	return s
}

func (s *sockConn) read(r *wire.Reader) {
	defer close(s.readerDone)
	for {
		kind, p, err := r.Read()
		var f sockFrame
		switch {
		case err != nil:
			f.err = streamEnd(err)
		case kind == wire.KindAuth:
			f.err = errors.New("mp: the Listener wants an authkey: pass the same one to Dial")
		case kind != wire.KindMessage:
			f.err = fmt.Errorf("mp: a frame of kind %d on a Conn: the peer is not an mp Conn", kind)
		default:
			f.b = bytes.Clone(p)
		}
		select {
		case s.frames <- f:
		case <-s.done:
			return
		}
		if f.err != nil {
			return
		}
	}
}

// streamEnd maps how a stream ended to Recv's error: io.EOF for an
// orderly or abrupt close by the peer (Python's EOFError).
func streamEnd(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
		return io.EOF
	}
	if errors.Is(err, wire.ErrFrameTooBig) {
		return fmt.Errorf("mp: Conn: %w (a Conn over a socket carries messages up to %d bytes)", err, wire.DefaultMaxFrame)
	}
	return fmt.Errorf("mp: Conn: the connection broke: %w", err)
}

// recv returns the next message.
func (s *sockConn) recv(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	if len(s.pending) > 0 {
		f := s.pending[0]
		if f.err == nil {
			s.pending = s.pending[1:]
		}
		s.mu.Unlock()
		return f.b, f.err
	}
	s.mu.Unlock()
	select {
	case f := <-s.frames:
		if f.err != nil {
			s.keep(f)
		}
		return f.b, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrConnClosed
	}
}

func (s *sockConn) keep(f sockFrame) {
	s.mu.Lock()
	s.pending = append(s.pending, f)
	s.mu.Unlock()
}

// poll reports whether recv would return at once, waiting at most d.
func (s *sockConn) poll(d time.Duration) bool {
	s.mu.Lock()
	n := len(s.pending)
	s.mu.Unlock()
	if n > 0 {
		return true
	}
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	} else {
		select {
		case f := <-s.frames:
			s.keep(f)
			return true
		default:
			return false
		}
	}
	select {
	case f := <-s.frames:
		s.keep(f)
		return true
	case <-timeout:
		return false
	case <-s.done:
		return false
	}
}

// send writes b as one message; ctx ending cuts it short, and a message
// cut short breaks the stream for good (the peer cannot find the next
// frame).
func (s *sockConn) send(ctx context.Context, b []byte) error {
	if len(b) > wire.DefaultMaxFrame {
		return fmt.Errorf("mp: Send: a message of %d bytes: a Conn over a socket carries up to %d", len(b), wire.DefaultMaxFrame)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.werr != nil {
		return s.werr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { s.nc.SetWriteDeadline(time.Unix(1, 0)) })
	err := s.w.Write(wire.KindMessage, b)
	if err == nil {
		err = s.w.Flush()
	}
	if !stop() {
		s.nc.SetWriteDeadline(time.Time{})
	}
	if err == nil {
		return nil
	}
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("mp: Send cut short, the connection is broken: %w", ctx.Err())
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
		err = fmt.Errorf("mp: send on a closed connection: %w", io.ErrClosedPipe)
	default:
		err = fmt.Errorf("mp: Send: %w", err)
	}
	s.werr = err
	return err
}

// fileno returns the socket's descriptor, or -1 if it has none (a
// net.Conn that is not a socket) or it is closed.
func (s *sockConn) fileno() int {
	sc, ok := s.nc.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if rc.Control(func(f uintptr) { fd = int(f) }) != nil {
		return -1
	}
	return fd
}

// close closes the socket and waits for the reading goroutine.
func (s *sockConn) close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.nc.Close()
		<-s.readerDone
	})
	return err
}
