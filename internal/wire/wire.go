// Package wire frames the messages between a pool and its worker
// processes: a 4-byte little-endian length, a 1-byte kind, then the
// payload. Frames above a size bound are refused on both sides, so a
// corrupt or hostile length can never make the reader allocate more than
// the bound. docs/protocol.md describes the messages.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Kind says what a frame carries.
type Kind byte

// The frame kinds.
const (
	KindHello  Kind = 1 // worker → pool: Hello, once, first
	KindTask   Kind = 2 // pool → worker: Task
	KindResult Kind = 3 // worker → pool: Results, for one or more items
	KindLog    Kind = 4 // worker → pool: Log, a log/slog record, at any time after Ready
	KindSetup  Kind = 5 // pool → worker: Setup, once, after Hello
	KindReady  Kind = 6 // worker → pool: Ready, once, after Setup
	KindAuth   Kind = 7 // manager client ↔ server: the handshake (Auth)
	KindCall   Kind = 8 // manager client → server: Call
	KindReply  Kind = 9 // manager server → client: Reply
	maxKind         = KindReply
)

// HeaderSize is the size of a frame's header: length and kind.
const HeaderSize = 5

// DefaultMaxFrame bounds a frame's payload unless the pool says otherwise.
const DefaultMaxFrame = 64 << 20

// ErrFrameTooBig is returned for a frame whose length exceeds the bound.
var ErrFrameTooBig = errors.New("wire: frame too big")

// ErrBadKind is returned for a frame of no known kind.
var ErrBadKind = errors.New("wire: unknown frame kind")

// Writer writes frames. It is not safe for concurrent use.
type Writer struct {
	w   *bufio.Writer
	max int
}

// NewWriter writes frames of at most max payload bytes to w.
func NewWriter(w io.Writer, max int) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), max: max}
}

// Write writes one frame without flushing.
func (w *Writer) Write(kind Kind, payload []byte) error {
	if len(payload) > w.max {
		return fmt.Errorf("%w: %d bytes, bound %d", ErrFrameTooBig, len(payload), w.max)
	}
	var hdr [HeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[:4], uint32(len(payload)))
	hdr[4] = byte(kind)
	if _, err := w.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.w.Write(payload)
	return err
}

// Buffered returns the bytes written and not yet flushed.
func (w *Writer) Buffered() int { return w.w.Buffered() }

// Flush sends what was written.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads frames. It is not safe for concurrent use.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader reads frames of at most max payload bytes from r.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Buffered returns the bytes read ahead from the stream: more than zero
// means that a frame has arrived (at least in part).
func (r *Reader) Buffered() int { return r.r.Buffered() }

// Read returns the next frame. The payload is valid until the next call.
// A clean end of stream between frames is io.EOF; a stream cut inside a
// frame is io.ErrUnexpectedEOF.
func (r *Reader) Read() (Kind, []byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if uint64(n) > uint64(r.max) {
		return 0, nil, fmt.Errorf("%w: header says %d bytes, bound %d", ErrFrameTooBig, n, r.max)
	}
	kind := Kind(hdr[4])
	if kind < KindHello || kind > maxKind {
		return 0, nil, fmt.Errorf("%w %d", ErrBadKind, kind)
	}
	if cap(r.buf) < int(n) {
		r.buf = make([]byte, n)
	}
	p := r.buf[:n]
	if _, err := io.ReadFull(r.r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return kind, p, nil
}
