package wire

import (
	"bytes"
	"testing"
)

// TestAppendRaw: AppendRaw writes what MarshalSlice writes for the raw
// number slices, after what dst holds, and declines other types.
func TestAppendRaw(t *testing.T) {
	prefix := []byte("keep")
	check := func(name string, got []byte, ok bool, want []byte, err error) {
		t.Helper()
		if err != nil || !ok || !bytes.Equal(got, append([]byte("keep"), want...)) {
			t.Errorf("%s: AppendRaw gave %x (ok %v), MarshalSlice %x (%v)", name, got, ok, want, err)
		}
	}
	for _, n := range []int{0, 1, 3} {
		ints, i64s, fs := make([]int, n), make([]int64, n), make([]float64, n)
		for i := range n {
			ints[i], i64s[i], fs[i] = -i*7, int64(i)<<40, float64(i)/3
		}
		b, ok := AppendRaw(bytes.Clone(prefix), ints)
		w, err := MarshalSlice(ints)
		check("[]int", b, ok, w, err)
		b, ok = AppendRaw(bytes.Clone(prefix), i64s)
		w, err = MarshalSlice(i64s)
		check("[]int64", b, ok, w, err)
		b, ok = AppendRaw(bytes.Clone(prefix), fs)
		w, err = MarshalSlice(fs)
		check("[]float64", b, ok, w, err)
	}
	if b, ok := AppendRaw(bytes.Clone(prefix), []string{"x"}); ok || !bytes.Equal(b, prefix) {
		t.Errorf("[]string: %q %v, want declined and dst as is", b, ok)
	}
	if n := testing.AllocsPerRun(100, func() { AppendRaw(make([]byte, 0, 64), []int{1}) }); n > 1 {
		t.Errorf("AppendRaw allocates %v times beyond dst", n)
	}
}
