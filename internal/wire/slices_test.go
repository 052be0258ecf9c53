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
		// the copy into a destination agrees with the decoding
		if len(data) >= 2 && (len(data)-2)%8 == 0 {
			d := make([]int, (len(data)-2)/8)
			ok, err := DecodeRawInto(data, d)
			uerr := UnmarshalSlice(data, &a)
			if ok && (uerr != nil || !slices.Equal(a, d)) {
				t.Fatalf("DecodeRawInto %v, UnmarshalSlice %v (%v)", d, a, uerr)
			}
			if err != nil && uerr == nil {
				t.Fatalf("DecodeRawInto refused what UnmarshalSlice took: %v", err)
			}
		}
	})
}

// DecodeRawInto copies what MarshalSlice wrote for numbers straight into
// its destination, and refuses what UnmarshalSlice would refuse: another
// kind, a length that is not the destination's, or no raw slice at all.
func TestDecodeRawInto(t *testing.T) {
	ints, _ := MarshalSlice([]int{3, -4, math.MaxInt})
	fl, _ := MarshalSlice([]float64{0.5, -1})
	strs, _ := MarshalSlice([]string{"a"})
	for _, c := range []struct {
		name    string
		data    []byte
		n       int
		ok, err bool
		want    []int
	}{
		{"ints", ints, 3, true, false, []int{3, -4, math.MaxInt}},
		{"floats into ints", fl, 2, false, true, nil},
		{"too few", ints, 4, false, true, nil},
		{"too many", ints, 2, false, true, nil},
		{"cut", ints[:len(ints)-3], 3, false, true, nil},
		{"CBOR", strs, 1, false, false, nil},
		{"empty", nil, 0, false, false, nil},
	} {
		dst := make([]int, c.n)
		ok, err := DecodeRawInto(c.data, dst)
		if ok != c.ok || (err != nil) != c.err {
			t.Errorf("%s: ok %v, err %v; want ok %v, an error %v", c.name, ok, err, c.ok, c.err)
		}
		if c.ok && !slices.Equal(dst, c.want) {
			t.Errorf("%s: %v, want %v", c.name, dst, c.want)
		}
	}
	var s []string
	if ok, err := DecodeRawInto(ints, make([]string, 3)); ok || err != nil || UnmarshalSlice(ints, &s) == nil {
		t.Errorf("numbers into strings: %v, %v", ok, err)
	}
}
