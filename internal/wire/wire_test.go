package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
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
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 4096)
		for {
			_, p, err := r.Read()
			if err != nil {
				return
			}
			if len(p) > 4096 {
				t.Fatalf("payload of %d bytes past the bound", len(p))
			}
		}
	})
}
