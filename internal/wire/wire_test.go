package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

func TestRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, 1<<10)
	frames := []struct {
		k Kind
		p string
	}{{KindHello, "hi"}, {KindTask, ""}, {KindResult, string(bytes.Repeat([]byte{7}, 1000))}}
	for _, f := range frames {
		if err := w.Write(f.k, []byte(f.p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(KindTask, make([]byte, 1025)); !errors.Is(err, ErrFrameTooBig) {
		t.Errorf("oversized write: %v", err)
	}
	w.Flush()
	r := NewReader(&b, 1<<10)
	for _, f := range frames {
		k, p, err := r.Read()
		if err != nil || k != f.k || string(p) != f.p {
			t.Fatalf("read %v %q %v, want %v %q", k, p, err, f.k, f.p)
		}
	}
	if _, _, err := r.Read(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
}

func TestBadFrames(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"length over bound", []byte{0xff, 0xff, 0xff, 0x7f, 2}, ErrFrameTooBig},
		{"cut header", []byte{1, 0}, io.ErrUnexpectedEOF},
		{"cut payload", []byte{5, 0, 0, 0, 2, 'a'}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := NewReader(bytes.NewReader(tt.in), 1<<20).Read()
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, _, err := NewReader(bytes.NewReader([]byte{0, 0, 0, 0, 99}), 10).Read(); err == nil {
		t.Error("unknown kind accepted")
	}
}

// FuzzReader: any bytes from a worker give frames or an error, never a
// panic or an allocation beyond the bound.
func FuzzReader(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 3, 'o', 'k'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0, 0x3c, 3, 'x'}) // 1 GiB announced, one byte sent
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 1<<30)
		for {
			_, p, err := r.Read()
			// never more memory than the bytes that came (or one chunk)
			if c := cap(r.buf); c > max(firstChunk, 2*len(in)) {
				t.Fatalf("a buffer of %d bytes for %d bytes of input", c, len(in))
			}
			if err != nil {
				return
			}
			if len(p) > len(in) {
				t.Fatalf("payload of %d bytes from %d bytes of input", len(p), len(in))
			}
		}
	})
}

// TestUntrustedLength: a header announcing a big frame costs no more
// memory than the bytes that came, and a frame that stops arriving is
// reported within the stall bound.
func TestUntrustedLength(t *testing.T) {
	const announced = 60 << 20
	hdr := []byte{0, 0, 0, 0, byte(KindResult)}
	binary.LittleEndian.PutUint32(hdr, announced)

	t.Run("cut short", func(t *testing.T) {
		in := append(append([]byte(nil), hdr...), bytes.Repeat([]byte{1}, 1000)...)
		r := NewReader(bytes.NewReader(in), 64<<20)
		if _, _, err := r.Read(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
		}
		if c := cap(r.buf); c > firstChunk {
			t.Errorf("a frame announcing %d bytes of which 1000 came took a buffer of %d", announced, c)
		}
	})

	t.Run("grows as bytes come", func(t *testing.T) {
		payload := bytes.Repeat([]byte{7}, 3<<20+5)
		var b bytes.Buffer
		w := NewWriter(&b, 64<<20)
		w.Write(KindTask, payload)
		w.Flush()
		r := NewReader(iotest.OneByteReader(&b), 64<<20)
		_, p, err := r.Read()
		if err != nil || !bytes.Equal(p, payload) {
			t.Fatalf("read %d bytes, %v", len(p), err)
		}
	})

	for _, tt := range []struct {
		name      string
		sent      []byte
		want, got int
	}{
		{"payload stalls", append(append([]byte(nil), hdr...), 1, 2, 3), announced, 3},
		{"header stalls", hdr[:2], 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			go pw.Write(tt.sent)
			r := NewReader(pr, 64<<20)
			stalled := make(chan [2]int, 1)
			r.SetStall(50*time.Millisecond, func(want, got int) {
				stalled <- [2]int{want, got}
				pw.CloseWithError(errors.New("stalled"))
			})
			done := make(chan error, 1)
			go func() { _, _, err := r.Read(); done <- err }()
			select {
			case err := <-done:
				if err == nil || err.Error() != "stalled" {
					t.Errorf("err = %v, want the stall", err)
				}
			case <-time.After(20 * time.Second):
				pr.Close()
				t.Fatal("Read waited without bound for a frame that stopped coming")
			}
			if s := <-stalled; s != [2]int{tt.want, tt.got} {
				t.Errorf("onStall(%d, %d), want (%d, %d)", s[0], s[1], tt.want, tt.got)
			}
		})
	}

	// The writer writes the frame in one Write: it reaches the Reader
	// whole, and nothing in it is timed, however long the Reader's
	// goroutine waits for a CPU (the bound of 1 ms once fired here on a
	// loaded machine, between the header's first byte and the rest,
	// already read).
	t.Run("no stall between frames", func(t *testing.T) {
		pr, pw := io.Pipe()
		r := NewReader(pr, 64<<20)
		r.SetStall(time.Millisecond, func(int, int) { t.Error("stall reported while waiting between frames") })
		go func() {
			time.Sleep(50 * time.Millisecond)
			w := NewWriter(pw, 64<<20)
			w.Write(KindLog, []byte("x"))
			w.Flush()
		}()
		if k, p, err := r.Read(); err != nil || k != KindLog || string(p) != "x" {
			t.Errorf("read %v %q %v", k, p, err)
		}
	})
}
