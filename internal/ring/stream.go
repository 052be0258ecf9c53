package ring

import (
	"context"
	"errors"
	"io"
	"os"
	"time"
)

// Reader reads a ring as a byte stream (the messages' bytes, one after
// the other): for a reader of frames that may span messages. It returns
// io.EOF once the ring is closed and empty. A Reader is used by one
// goroutine at a time.
type Reader struct {
	R *Ring
	// Deadline, if not zero, bounds each Read that has to wait: it then
	// returns os.ErrDeadlineExceeded.
	Deadline time.Time
	buf      []byte // the message being read
	off      int
}

// Read reads what is left of the current message, or waits for the next.
func (s *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for s.off == len(s.buf) {
		if err := s.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
}

// ReadChunk returns what is left of the current message, or waits for the
// next and returns all of it: a reader of frames takes the frames that
// lie whole in it where they are, without copying them out. The bytes
// are valid until the next Read or ReadChunk.
func (s *Reader) ReadChunk() ([]byte, error) {
	if s.off == len(s.buf) {
		if err := s.next(); err != nil {
			return nil, err
		}
	}
	b := s.buf[s.off:]
	s.off = len(s.buf)
	return b, nil
}

// next waits for the next message and makes it the current one.
func (s *Reader) next() error {
	ctx := context.Background()
	if !s.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, s.Deadline)
		defer cancel()
	}
	b, err := s.R.GetBuf(ctx, s.buf[:0])
	switch {
	case errors.Is(err, ErrClosed):
		return io.EOF
	case errors.Is(err, context.DeadlineExceeded):
		return os.ErrDeadlineExceeded
	case err != nil:
		return err
	}
	s.buf, s.off = b, 0
	return nil
}

// Buffered returns the bytes of the current message not yet read.
func (s *Reader) Buffered() int { return len(s.buf) - s.off }

// Writer writes a byte stream into a ring, in messages of at most a
// quarter of its capacity: a Write bigger than that is split, and its
// reader reads the parts while it writes the rest. Each Write waits while
// the ring is full; once the ring is closed it returns io.ErrClosedPipe.
type Writer struct {
	R *Ring
}

// Write puts p into the ring.
func (w *Writer) Write(p []byte) (int, error) {
	most := max(int(w.R.H.Capacity/4), 1)
	n := 0
	for n < len(p) {
		part := p[n:min(len(p), n+most)]
		if err := w.R.Put(context.Background(), part, true); err != nil {
			if errors.Is(err, ErrClosed) {
				err = io.ErrClosedPipe
			}
			return n, err
		}
		n += len(part)
	}
	return n, nil
}

// WriteBuffers writes the bytes of bufs, one after the other, as one
// message when they fit in one (else as Write would, in parts): a writer
// of frames puts a frame's parts where they lie.
func (w *Writer) WriteBuffers(bufs [][]byte) error {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		return nil
	}
	if total <= max(int(w.R.H.Capacity/4), 1) {
		err := w.R.PutBuffers(context.Background(), bufs, true)
		if errors.Is(err, ErrClosed) {
			err = io.ErrClosedPipe
		}
		return err
	}
	for _, b := range bufs {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the ring: its reader reads what is in it, then io.EOF.
func (w *Writer) Close() error {
	w.R.Close()
	return nil
}
