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
		ctx := context.Background()
		if !s.Deadline.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, s.Deadline)
			defer cancel()
		}
		b, err := s.R.GetBuf(ctx, s.buf[:0])
		switch {
		case errors.Is(err, ErrClosed):
			return 0, io.EOF
		case errors.Is(err, context.DeadlineExceeded):
			return 0, os.ErrDeadlineExceeded
		case err != nil:
			return 0, err
		}
		s.buf, s.off = b, 0
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	return n, nil
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

// Close closes the ring: its reader reads what is in it, then io.EOF.
func (w *Writer) Close() error {
	w.R.Close()
	return nil
}
