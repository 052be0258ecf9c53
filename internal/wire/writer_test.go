package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// units is a BuffersWriter (and io.Writer) that keeps each unit written,
// as a ring keeps each message.
type units struct {
	got [][]byte
	err error // returned by every write, if set
}

func (u *units) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	u.got = append(u.got, bytes.Clone(p))
	return len(p), nil
}

func (u *units) WriteBuffers(bufs [][]byte) error {
	if u.err != nil {
		return u.err
	}
	var all []byte
	for _, b := range bufs {
		all = append(all, b...)
	}
	u.got = append(u.got, all)
	return nil
}

// chunks is a ChunkReader handing out the given chunks, then io.EOF.
type chunks struct{ list [][]byte }

func (c *chunks) ReadChunk() ([]byte, error) {
	if len(c.list) == 0 {
		return nil, io.EOF
	}
	b := c.list[0]
	c.list = c.list[1:]
	return b, nil
}

func (c *chunks) Read(p []byte) (int, error) {
	panic("a Reader of a ChunkReader reads chunks")
}

// TestWriterUnits: to a BuffersWriter, small frames wait for Flush and a
// frame of directBytes or more goes at once, with those before it, as
// one unit of its parts.
func TestWriterUnits(t *testing.T) {
	u := &units{}
	w := NewWriter(u, 1<<20)
	small, big := []byte("small"), bytes.Repeat([]byte{7}, directBytes)
	w.Write(KindLog, small)
	if len(u.got) != 0 || w.Buffered() != HeaderSize+len(small) {
		t.Fatalf("a small frame was written before Flush (%d units, %d buffered)", len(u.got), w.Buffered())
	}
	if err := w.WriteParts(KindResult, big[:10], big[10:20], big[20:]); err != nil {
		t.Fatal(err)
	}
	if len(u.got) != 1 || w.Buffered() != 0 {
		t.Fatalf("a big frame: %d units written, %d bytes buffered; want 1 and 0", len(u.got), w.Buffered())
	}
	w.Write(KindLog, small)
	w.Flush()
	r := NewReader(&chunks{list: u.got}, 1<<20)
	for i, want := range [][]byte{small, big, small} {
		_, p, err := r.Read()
		if err != nil || !bytes.Equal(p, want) {
			t.Fatalf("frame %d: %d bytes, %v", i, len(p), err)
		}
	}
	if _, _, err := r.Read(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
	// an error sticks
	u.err = errors.New("gone")
	if err := w.Write(KindResult, big); !errors.Is(err, u.err) {
		t.Fatalf("write to a broken writer: %v", err)
	}
	u.err = nil
	if err := w.Flush(); err == nil {
		t.Fatal("a Writer that failed flushed again")
	}
}

// A frame bigger than the buffer, to a plain writer, goes straight
// through, after what was buffered.
func TestWriterBigFramePlain(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, 1<<20)
	big := bytes.Repeat([]byte{3}, writeBuffer+1)
	w.Write(KindLog, []byte("a"))
	w.Write(KindTask, big)
	w.Write(KindLog, []byte("b"))
	w.Flush()
	r := NewReader(&b, 1<<20)
	for _, want := range [][]byte{[]byte("a"), big, []byte("b")} {
		if _, p, err := r.Read(); err != nil || !bytes.Equal(p, want) {
			t.Fatalf("read %d bytes (%v), want %d", len(p), err, len(want))
		}
	}
}

// TestChunkedFrames reads a stream of frames cut into chunks at random
// points: every frame comes out whole, and one that lies whole in a
// chunk comes out where it lies.
func TestChunkedFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var stream bytes.Buffer
	w := NewWriter(&stream, 1<<20)
	var frames [][]byte
	for i := range 200 {
		p := make([]byte, rng.IntN(3000))
		for j := range p {
			p[j] = byte(i + j)
		}
		frames = append(frames, p)
		w.Write(KindResult, p)
	}
	w.Flush()
	all := stream.Bytes()
	for trial := range 50 {
		var list [][]byte
		for rest := all; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(8000))
			list = append(list, rest[:n:n])
			rest = rest[n:]
		}
		r := NewReader(&chunks{list: list}, 1<<20)
		inPlace := 0
		for i, want := range frames {
			_, p, err := r.Read()
			if err != nil || !bytes.Equal(p, want) {
				t.Fatalf("trial %d, frame %d: %d bytes (%v), want %d", trial, i, len(p), err, len(want))
			}
			if len(p) > 0 && within(p, all) {
				inPlace++
			}
		}
		if _, _, err := r.Read(); err != io.EOF {
			t.Fatalf("trial %d: end %v, want io.EOF", trial, err)
		}
		if inPlace == 0 {
			t.Fatalf("trial %d: no frame was read where it lay", trial)
		}
	}
}

// within reports whether p lies in the memory of b.
func within(p, b []byte) bool {
	s, e := uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))+uintptr(len(b))
	a := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	return a >= s && a < e
}

// FuzzChunkedReader: any bytes from a worker, in any chunks, read as the
// same frames and the same end as through bufio, never a panic nor a
// buffer beyond the bytes that came.
func FuzzChunkedReader(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 3, 'o', 'k', 1, 0, 0, 0, 4, 'x'}, uint64(3))
	f.Add([]byte{0, 0, 0, 0x3c, 3, 'x'}, uint64(1)) // 1 GiB announced, one byte sent
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1}, uint64(0))
	f.Fuzz(func(t *testing.T, in []byte, cuts uint64) {
		var list [][]byte
		rng := rand.New(rand.NewPCG(cuts, 0))
		for rest := in; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(16))
			list = append(list, rest[:n:n])
			rest = rest[n:]
		}
		cr := NewReader(&chunks{list: list}, 1<<30)
		br := NewReader(bytes.NewReader(in), 1<<30)
		for {
			k1, p1, err1 := cr.Read()
			k2, p2, err2 := br.Read()
			if c := cap(cr.buf); c > max(64, 2*len(in)) {
				t.Fatalf("a buffer of %d bytes for %d bytes of input", c, len(in))
			}
			if (err1 == nil) != (err2 == nil) || k1 != k2 || !bytes.Equal(p1, p2) {
				t.Fatalf("chunked: %d %x %v; buffered: %d %x %v", k1, p1, err1, k2, p2, err2)
			}
			if err1 != nil {
				if errors.Is(err1, io.EOF) != errors.Is(err2, io.EOF) || errors.Is(err1, io.ErrUnexpectedEOF) != errors.Is(err2, io.ErrUnexpectedEOF) {
					t.Fatalf("chunked ends with %v, buffered with %v", err1, err2)
				}
				return
			}
		}
	})
}
