package wire

import (
	"bytes"
	"math"
	"testing"
	"unicode/utf8"
)

// The scalar fast path writes what MarshalDeterministic writes, and reads
// what Unmarshal reads, or leaves the bytes to it.
func FuzzScalar(f *testing.F) {
	for _, seed := range []struct {
		s string
		i int64
		u uint64
		b []byte
	}{{"", 0, 0, nil}, {"k", -1, 23, []byte{}}, {"ключ", math.MinInt64, math.MaxUint64, []byte{1, 2}}, {"x", 24, 256, []byte("abc")}} {
		f.Add(seed.s, seed.i, seed.u, seed.b, true)
	}
	f.Fuzz(func(t *testing.T, s string, i int64, u uint64, b []byte, ok bool) {
		same(t, s)
		same(t, i)
		same(t, int(i))
		same(t, int32(i))
		same(t, u)
		same(t, uint32(u))
		same(t, uint(u))
		same(t, b)
		same(t, ok)
		// arbitrary bytes: the fast path decodes what Unmarshal decodes
		// to the same value, or declines
		agree[string](t, b)
		agree[int](t, b)
		agree[int64](t, b)
		agree[uint64](t, b)
		agree[bool](t, b)
	})
}

func same[T any](t *testing.T, v T) {
	t.Helper()
	fast, ok := AppendScalar(nil, v)
	if !ok {
		t.Fatalf("%T has no fast path", v)
	}
	slow, err := MarshalDeterministic(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fast, slow) {
		t.Fatalf("%T %v: fast path %x, library %x", v, v, fast, slow)
	}
}

func agree[T comparable](t *testing.T, b []byte) {
	t.Helper()
	var fast T
	if !DecodeScalar(b, &fast) {
		return
	}
	var slow T
	err := Unmarshal(b, &slow)
	if s, ok := any(fast).(string); ok && err != nil && !utf8.ValidString(s) {
		return // a Go string need not be UTF-8: the fast path keeps its bytes, the library refuses them
	}
	if err != nil || slow != fast {
		t.Fatalf("%x as %T: fast path %v, Unmarshal %v (%v)", b, fast, fast, slow, err)
	}
}

func TestAppendScalarDeclines(t *testing.T) {
	if b, ok := AppendScalar([]byte{1}, 1.5); ok || !bytes.Equal(b, []byte{1}) {
		t.Fatalf("AppendScalar(float64) = %x, %v; want the buffer unchanged and false", b, ok)
	}
	var f float64
	if DecodeScalar([]byte{0x01}, &f) {
		t.Fatal("DecodeScalar decoded into a float64")
	}
}
