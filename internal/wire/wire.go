// Package wire frames the messages between a pool and its worker
// processes: a 4-byte little-endian length, a 1-byte kind, then the
// payload. Frames above a size bound are refused on both sides, so a
// corrupt or hostile length can never make the reader allocate more than
// the bound. docs/protocol.md describes the messages.
package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"
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
	// KindMessage is one message of an mp.Conn over a socket (mp.Listen,
	// mp.Dial), either way: a value's encoding, or raw bytes (SendBytes).
	KindMessage Kind = 10
	KindTick    Kind = 11 // worker → pool: Tick, progress from inside a running Task
	maxKind          = KindTick
)

// HeaderSize is the size of a frame's header: length and kind.
const HeaderSize = 5

// DefaultMaxFrame bounds a frame's payload unless the pool says otherwise.
const DefaultMaxFrame = 64 << 20

// ErrFrameTooBig is returned for a frame whose length exceeds the bound.
var ErrFrameTooBig = errors.New("wire: frame too big")

// ErrBadKind is returned for a frame of no known kind.
var ErrBadKind = errors.New("wire: unknown frame kind")

// Reader reads frames. It is not safe for concurrent use.
//
// A frame's length is not trusted: the payload buffer grows as its bytes
// arrive (doubling from 64 KiB), so a header announcing a frame that
// never comes costs nothing but the header. With SetStall, a frame whose
// bytes stop arriving is reported instead of waited for without bound.
//
// From a ChunkReader (a ring) it reads without bufio: a frame that lies
// whole in a chunk is returned where it lies.
type Reader struct {
	src io.Reader
	r   *bufio.Reader // src, buffered; nil while cr is used
	cr  ChunkReader   // src, when it is one and no stall bound is set
	cur []byte        // what is left of cr's last chunk
	max int
	buf []byte

	stall   time.Duration
	onStall func(want, got int)
	timer   *time.Timer
	want    atomic.Int64 // of the frame being read, for onStall
	got     atomic.Int64
}

// firstChunk is the most a Reader allocates for a payload before its
// bytes arrive; it doubles as they do.
const firstChunk = 64 << 10

// A ChunkReader hands out a stream's bytes in the pieces they came in
// (a ring's messages), each valid until its next call; io.EOF at the
// end.
type ChunkReader interface {
	ReadChunk() ([]byte, error)
}

// NewReader reads frames of at most max payload bytes from r.
func NewReader(r io.Reader, max int) *Reader {
	if cr, ok := r.(ChunkReader); ok {
		return &Reader{src: r, cr: cr, max: max}
	}
	return &Reader{src: r, r: bufio.NewReaderSize(r, firstChunk), max: max}
}

// SetStall makes the Reader call onStall (on a goroutine of its own) when
// a frame has begun to arrive and no byte of it has come for d: a header
// cut short or a payload shorter than announced, which a healthy writer,
// writing each frame at once, never leaves. onStall gets the bytes the
// frame announced (0 if its header is incomplete) and those it got. It
// is meant to end the stream (kill the writer, close the file), so that
// the Read waiting for the rest returns. Waiting between frames is not
// bounded.
func (r *Reader) SetStall(d time.Duration, onStall func(want, got int)) {
	r.stall, r.onStall = d, onStall
	if r.cr != nil && d > 0 {
		// the bound is kept on the buffered path: go there, with what
		// is left of the chunk first
		r.r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(r.cur), r.src), firstChunk)
		r.cr, r.cur = nil, nil
	}
}

// Buffered returns the bytes read ahead from the stream: more than zero
// means that a frame has arrived (at least in part).
func (r *Reader) Buffered() int {
	if r.cr != nil {
		return len(r.cur)
	}
	return r.r.Buffered()
}

// Read returns the next frame. The payload is valid until the next call.
// A clean end of stream between frames is io.EOF; a stream cut inside a
// frame is io.ErrUnexpectedEOF.
func (r *Reader) Read() (Kind, []byte, error) {
	if r.cr != nil {
		return r.readChunked()
	}
	var hdr [HeaderSize]byte
	if r.r.Buffered() >= HeaderSize || r.stall <= 0 {
		if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
			return 0, nil, err
		}
	} else {
		// wait for a frame without bound, then for the rest of its header
		// with the stall bound
		if _, err := io.ReadFull(r.r, hdr[:1]); err != nil {
			return 0, nil, err
		}
		// what came with the first byte is read unbounded: a reader
		// descheduled for longer than the bound is not a stalled writer
		armed := r.r.Buffered() < HeaderSize-1
		if armed {
			r.arm(0, 1)
		}
		_, err := io.ReadFull(r.r, hdr[1:])
		if armed {
			r.disarm()
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	}
	n, kind, err := r.header(hdr)
	if err != nil {
		return 0, nil, err
	}
	if n <= r.r.Buffered() {
		// all here: the common case, no allocation beyond what arrived
		if cap(r.buf) < n {
			r.buf = make([]byte, n, max(n, firstChunk))
		}
		p := r.buf[:n]
		io.ReadFull(r.r, p)
		return kind, p, nil
	}
	p, err := r.payload(n)
	if err != nil {
		return 0, nil, err
	}
	return kind, p, nil
}

// header checks a frame's header and returns its length and kind.
func (r *Reader) header(hdr [HeaderSize]byte) (int, Kind, error) {
	n := int(binary.LittleEndian.Uint32(hdr[:4]))
	if uint64(n) > uint64(r.max) {
		return 0, 0, fmt.Errorf("%w: header says %d bytes, bound %d", ErrFrameTooBig, n, r.max)
	}
	kind := Kind(hdr[4])
	if kind < KindHello || kind > maxKind {
		return 0, 0, fmt.Errorf("%w %d (header % x)", ErrBadKind, kind, hdr)
	}
	return n, kind, nil
}

// readChunked is Read from a ChunkReader: a frame that lies whole in the
// chunk is returned there; one across chunks is gathered in r.buf, which
// grows only as its bytes arrive.
func (r *Reader) readChunked() (Kind, []byte, error) {
	for len(r.cur) == 0 {
		c, err := r.cr.ReadChunk()
		if err != nil {
			return 0, nil, err // io.EOF here is a clean end
		}
		r.cur = c
	}
	var hdr [HeaderSize]byte
	k := copy(hdr[:], r.cur)
	r.cur = r.cur[k:]
	for k < HeaderSize {
		if err := r.nextChunk(); err != nil {
			return 0, nil, err
		}
		m := copy(hdr[k:], r.cur)
		k += m
		r.cur = r.cur[m:]
	}
	n, kind, err := r.header(hdr)
	if err != nil {
		return 0, nil, err
	}
	if n <= len(r.cur) {
		p := r.cur[:n:n]
		r.cur = r.cur[n:]
		return kind, p, nil
	}
	p := append(r.buf[:0], r.cur...)
	r.cur = nil
	for len(p) < n {
		if err := r.nextChunk(); err != nil {
			r.buf = p[:0]
			return 0, nil, err
		}
		m := min(n-len(p), len(r.cur))
		p = append(p, r.cur[:m]...)
		r.cur = r.cur[m:]
	}
	r.buf = p[:0]
	return kind, p, nil
}

// nextChunk reads the next chunk, inside a frame: the stream may not end.
func (r *Reader) nextChunk() error {
	c, err := r.cr.ReadChunk()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	r.cur = c
	return err
}

// payload reads n bytes, growing the buffer only as they arrive.
func (r *Reader) payload(n int) ([]byte, error) {
	p := r.buf[:0]
	r.arm(n, 0)
	defer r.disarm()
	for len(p) < n {
		if len(p) == cap(p) {
			// double what has come, at most to the announced size
			p = slices.Grow(p, min(n, max(2*len(p), firstChunk))-len(p))
		}
		m, err := r.r.Read(p[len(p):min(cap(p), n)])
		p = p[:len(p)+m]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.buf = p[:0]
			return nil, err
		}
		if m > 0 && r.stall > 0 {
			r.got.Store(int64(len(p)))
			r.timer.Reset(r.stall)
		}
	}
	r.buf = p[:0]
	return p, nil
}

// arm starts the stall bound for a frame of want bytes of which got have
// come.
func (r *Reader) arm(want, got int) {
	if r.stall <= 0 {
		return
	}
	r.want.Store(int64(want))
	r.got.Store(int64(got))
	if r.timer == nil {
		r.timer = time.AfterFunc(r.stall, func() { r.onStall(int(r.want.Load()), int(r.got.Load())) })
		return
	}
	r.timer.Reset(r.stall)
}

func (r *Reader) disarm() {
	if r.timer != nil {
		r.timer.Stop()
	}
}
