package wire

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Writer writes frames. It is not safe for concurrent use.
//
// Frames gather in a buffer until Flush (or until the buffer is full).
// To a BuffersWriter (a ring), a frame of directBytes or more goes at
// once, with what is buffered, as one write of its parts where they lie:
// a chunk's arguments or results are not copied into the buffer first.
type Writer struct {
	w   io.Writer
	bw  BuffersWriter // w, when it is one
	buf []byte
	hdr [HeaderSize]byte
	vec [][]byte // scratch for bw
	max int
	err error // the first error of w: every later write returns it
}

// A BuffersWriter writes the bytes of bufs, one after the other, as one
// unit where they fit (a ring's message).
type BuffersWriter interface {
	WriteBuffers(bufs [][]byte) error
}

const (
	// writeBuffer is the most a Writer buffers.
	writeBuffer = 64 << 10
	// directBytes is the size from which a frame to a BuffersWriter is
	// not copied into the buffer.
	directBytes = 2 << 10
)

// NewWriter writes frames of at most max payload bytes to w.
func NewWriter(w io.Writer, max int) *Writer {
	bw, _ := w.(BuffersWriter)
	return &Writer{w: w, bw: bw, max: max}
}

// Write writes one frame without flushing (a big frame to a
// BuffersWriter goes at once, with those buffered before it).
func (w *Writer) Write(kind Kind, payload []byte) error {
	return w.WriteParts(kind, payload, nil, nil)
}

// WriteParts is Write of the payload made of head, body and tail, one
// after the other, taken where they lie.
func (w *Writer) WriteParts(kind Kind, head, body, tail []byte) error {
	if w.err != nil {
		return w.err
	}
	n := len(head) + len(body) + len(tail)
	if n > w.max {
		return fmt.Errorf("%w: %d bytes, bound %d", ErrFrameTooBig, n, w.max)
	}
	binary.LittleEndian.PutUint32(w.hdr[:4], uint32(n))
	w.hdr[4] = byte(kind)
	if w.bw != nil && n >= directBytes {
		w.vec = append(w.vec[:0], w.buf, w.hdr[:], head, body, tail)
		err := w.bw.WriteBuffers(w.vec)
		clear(w.vec) // keep no payload alive
		w.buf = w.buf[:0]
		return w.fail(err)
	}
	if len(w.buf) > 0 && len(w.buf)+HeaderSize+n > writeBuffer {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if HeaderSize+n > writeBuffer {
		// bigger than the buffer: straight through
		for _, p := range [...][]byte{w.hdr[:], head, body, tail} {
			if len(p) > 0 {
				if _, err := w.w.Write(p); err != nil {
					return w.fail(err)
				}
			}
		}
		return nil
	}
	w.buf = append(w.buf, w.hdr[:]...)
	w.buf = append(w.buf, head...)
	w.buf = append(w.buf, body...)
	w.buf = append(w.buf, tail...)
	return nil
}

// fail keeps err, if any, as the Writer's error.
func (w *Writer) fail(err error) error {
	if err != nil && w.err == nil {
		w.err = err
	}
	return err
}

// Buffered returns the bytes written and not yet flushed.
func (w *Writer) Buffered() int { return len(w.buf) }

// Flush sends what was written.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	w.buf = w.buf[:0]
	return w.fail(err)
}
