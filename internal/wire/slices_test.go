package wire

import (
	"math"
	"slices"
	"testing"
)

func TestSliceRoundTrips(t *testing.T) {
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: round trip changed the values", name)
		}
	}
	ints := []int{0, -1, math.MaxInt, math.MinInt, 42}
	b, _ := MarshalSlice(ints)
	var gotInts []int
	check("[]int", UnmarshalSlice(b, &gotInts) == nil && slices.Equal(ints, gotInts) && b[0] == rawTag)
	fl := []float64{0, -0.5, math.Inf(1), math.SmallestNonzeroFloat64}
	b, _ = MarshalSlice(fl)
	var gotFl []float64
	check("[]float64", UnmarshalSlice(b, &gotFl) == nil && slices.Equal(fl, gotFl))
	i64 := []int64{math.MinInt64, 7}
	b, _ = MarshalSlice(i64)
	var got64 []int64
	check("[]int64", UnmarshalSlice(b, &got64) == nil && slices.Equal(i64, got64))
	strs := []string{"a", "b"}
	b, _ = MarshalSlice(strs)
	var gotS []string
	check("[]string (CBOR)", UnmarshalSlice(b, &gotS) == nil && slices.Equal(strs, gotS) && b[0] != rawTag)
	// A raw slice of one kind refuses to decode as another, and bad lengths fail.
	b, _ = MarshalSlice(ints)
	if err := UnmarshalSlice(b, &gotFl); err == nil {
		t.Error("ints decoded as floats")
	}
	if err := UnmarshalSlice([]byte{rawTag, rawInt, 1, 2, 3}, &gotInts); err == nil {
		t.Error("a cut raw slice was accepted")
	}
}

func FuzzUnmarshalSlice(f *testing.F) {
	b, _ := MarshalSlice([]int{1, 2})
	f.Add(b)
	f.Add([]byte{rawTag, rawFloat64})
	f.Fuzz(func(t *testing.T, data []byte) {
		var a []int
		_ = UnmarshalSlice(data, &a)
		var c []float64
		_ = UnmarshalSlice(data, &c)
		var s []string
		_ = UnmarshalSlice(data, &s)
	})
}
