package wire

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unsafe"
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
	b, _ = MarshalSlice([]point{{1, 2, [3]int16{3, 4, 5}, 6}})
	f.Add(b)
	f.Add(b[:plainHead+3])
	b, _ = MarshalSlice([][]float32{{1, 2}, nil, {}, {3}})
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Fuzz(func(t *testing.T, data []byte) {
		var a []int
		_ = UnmarshalSlice(data, &a)
		var c []float64
		_ = UnmarshalSlice(data, &c)
		var s []string
		_ = UnmarshalSlice(data, &s)
		var ps []point
		if UnmarshalSlice(data, &ps) == nil && len(data) >= plainHead && data[0] == rawTag && data[1] == rawPlain {
			// what it took is the bytes it was given, back again
			if b, _ := MarshalSlice(ps); !slices.Equal(b, data) {
				t.Fatalf("plain values decoded from % x encode as % x", data, b)
			}
		}
		var vs [][]float32
		if UnmarshalSlice(data, &vs) == nil && len(data) >= plainHead && data[0] == rawTag && data[1] == rawPlainSlices {
			// what it took encodes and decodes to the same vectors
			b, _ := MarshalSlice(vs)
			var again [][]float32
			if err := UnmarshalSlice(b, &again); err != nil || !slices.EqualFunc(vs, again, func(a, b []float32) bool {
				return (a == nil) == (b == nil) && slices.Equal(a, b)
			}) {
				t.Fatalf("vectors %v decoded from % x come back as %v (%v)", vs, data, again, err)
			}
		}
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

// point is plain data: numbers, an array of them, padding between fields.
type point struct {
	X, Y float64
	Tag  [3]int16
	C    complex64
}

// TestPlainSlices: slices of plain data (numbers other than the word
// kinds, arrays and structs of them), and of vectors of plain data,
// travel as their memory after their layout's fingerprint; a type laid
// out otherwise refuses them, naming why; anything with a bool, a
// pointer, a string or a map is CBOR.
func TestPlainSlices(t *testing.T) {
	ps := []point{{1.5, -2, [3]int16{1, -2, 3}, 4 + 5i}, {math.Inf(-1), 0, [3]int16{}, 0}}
	b, err := MarshalSlice(ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != plainHead+len(ps)*int(unsafe.Sizeof(point{})) || b[0] != rawTag || b[1] != rawPlain {
		t.Fatalf("[]point as % x: not its memory after a %d-byte head", b, plainHead)
	}
	var got []point
	if err := UnmarshalSlice(b, &got); err != nil || !slices.Equal(got, ps) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	for _, c := range []struct {
		name string
		enc  func() ([]byte, error)
		dec  func([]byte) (any, error)
		want any
	}{
		{"[]int32", func() ([]byte, error) { return MarshalSlice([]int32{-1, 7}) },
			func(b []byte) (any, error) { var v []int32; return v, UnmarshalSlice(b, &v) }, []int32{-1, 7}},
		{"[][2]float32", func() ([]byte, error) { return MarshalSlice([][2]float32{{1, 2}}) },
			func(b []byte) (any, error) { var v [][2]float32; return v, UnmarshalSlice(b, &v) }, [][2]float32{{1, 2}}},
		{"[]uint8", func() ([]byte, error) { return MarshalSlice([]uint8{0, 255}) },
			func(b []byte) (any, error) { var v []uint8; return v, UnmarshalSlice(b, &v) }, []uint8{0, 255}},
	} {
		b, err := c.enc()
		if err != nil || len(b) < plainHead || b[1] != rawPlain {
			t.Errorf("%s: not sent as its bytes (% x, %v)", c.name, b, err)
			continue
		}
		v, err := c.dec(b)
		if err != nil || fmt.Sprint(v) != fmt.Sprint(c.want) {
			t.Errorf("%s: round trip gave %v, %v", c.name, v, err)
		}
	}
	// the same size, fields renamed or reordered: refused, with the reason
	type renamed struct {
		X, Z float64
		Tag  [3]int16
		C    complex64
	}
	var other []renamed
	if err := UnmarshalSlice(b, &other); err == nil || !strings.Contains(err.Error(), "laid out otherwise") {
		t.Errorf("[]point decoded as a type with another field: %v", err)
	}
	var ints []int
	if err := UnmarshalSlice(b, &ints); err == nil {
		t.Error("plain values decoded as raw ints")
	}
	if err := UnmarshalSlice(b[:len(b)-1], &got); err == nil {
		t.Error("a cut plain slice was accepted")
	}
	if err := UnmarshalSlice(b[:plainHead-1], &got); err == nil {
		t.Error("a plain slice without its whole fingerprint was accepted")
	}
	// not plain: CBOR
	type flagged struct {
		N  int
		On bool
	}
	type named struct {
		N    int
		Name string
	}
	type hidden struct {
		N int
		n int
	}
	type tagged struct {
		N    int
		Skip int `cbor:"-"`
	}
	type inner struct{ X, Y int }
	type embeds struct {
		inner
		Z int
	}
	for name, enc := range map[string]func() ([]byte, error){
		"bool field":         func() ([]byte, error) { return MarshalSlice([]flagged{{1, true}}) },
		"string field":       func() ([]byte, error) { return MarshalSlice([]named{{1, "a"}}) },
		"[]*int":             func() ([]byte, error) { return MarshalSlice([]*int{new(int)}) },
		"[]struct{}":         func() ([]byte, error) { return MarshalSlice([]struct{}{{}}) },
		"unexported field":   func() ([]byte, error) { return MarshalSlice([]hidden{{1, 2}}) },
		"field tagged -":     func() ([]byte, error) { return MarshalSlice([]tagged{{1, 2}}) },
		"MarshalBinary":      func() ([]byte, error) { return MarshalSlice([]celsius{1}) },
		"UnmarshalCBOR only": func() ([]byte, error) { return MarshalSlice([]checked{{1}}) },
	} {
		if b, err := enc(); err != nil || (len(b) > 0 && b[0] == rawTag) {
			t.Errorf("%s: % x, %v: want CBOR", name, b, err)
		}
	}
	// vectors: slices of plain elements, nil and empty kept apart
	vecs := [][]float64{{1, 2, 3}, nil, {}, {math.Pi}}
	b, _ = MarshalSlice(vecs)
	var gotV [][]float64
	if b[1] != rawPlainSlices || UnmarshalSlice(b, &gotV) != nil || len(gotV) != 4 ||
		!slices.Equal(gotV[0], vecs[0]) || gotV[1] != nil || gotV[2] == nil || len(gotV[2]) != 0 || gotV[3][0] != math.Pi {
		t.Errorf("[][]float64 as % x came back as %#v", b[:min(len(b), 16)], gotV)
	}
	type vec []point
	b, _ = MarshalSlice([]vec{{ps[0]}, {ps[1], ps[0]}})
	var gotPV []vec
	if b[1] != rawPlainSlices || UnmarshalSlice(b, &gotPV) != nil || len(gotPV) != 2 || gotPV[1][1] != ps[0] {
		t.Errorf("[]vec of points came back as %v", gotPV)
	}
	var wrongV [][]float32
	if err := UnmarshalSlice(b, &wrongV); err == nil {
		t.Error("vectors of points decoded as vectors of float32")
	}
	if err := UnmarshalSlice(b, &got); err == nil {
		t.Error("vectors of points decoded as points")
	}
	b, _ = MarshalSlice([][]int{{1, 2}})
	for _, bad := range [][]byte{b[:len(b)-1], append(b[:plainHead:plainHead], 0xff), append(b[:plainHead:plainHead], 9, 1)} {
		var ints [][]int
		if err := UnmarshalSlice(bad, &ints); err == nil {
			t.Errorf("a malformed slice of vectors % x was accepted as %v", bad, ints)
		}
	}
	for name, enc := range map[string]func() ([]byte, error){
		"[][]byte":   func() ([]byte, error) { return MarshalSlice([][]byte{{1}}) },
		"[][]string": func() ([]byte, error) { return MarshalSlice([][]string{{"a"}}) },
		"[][]bool":   func() ([]byte, error) { return MarshalSlice([][]bool{{true}}) },
		"[][][]int":  func() ([]byte, error) { return MarshalSlice([][][]int{{{1}}}) },
	} {
		if b, err := enc(); err != nil || (len(b) > 1 && b[0] == rawTag) {
			t.Errorf("%s: % x, %v: want CBOR", name, b, err)
		}
	}
	// an embedded struct is written whole by CBOR too: plain
	if b, err := MarshalSlice([]embeds{{inner{1, 2}, 3}}); err != nil || b[1] != rawPlain {
		t.Errorf("a struct embedding a plain struct: % x, %v", b, err)
	}
	// what the type's own methods do is kept
	b, _ = MarshalSlice([]celsius{21})
	var back []celsius
	if err := UnmarshalSlice(b, &back); err != nil || len(back) != 1 || back[0] != 21 {
		t.Errorf("celsius: %v, %v", back, err)
	}
	b, _ = MarshalSlice([]checked{{-1}})
	var cs []checked
	if err := UnmarshalSlice(b, &cs); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("checked's UnmarshalCBOR was not called: %v, %v", cs, err)
	}
}

// celsius encodes itself (encoding.BinaryMarshaler): never sent as its
// bytes.
type celsius float64

func (c celsius) MarshalBinary() ([]byte, error) { return []byte(fmt.Sprint(float64(c))), nil }
func (c *celsius) UnmarshalBinary(b []byte) error {
	_, err := fmt.Sscan(string(b), (*float64)(c))
	return err
}

// checked only decodes itself, refusing negative counts.
type checked struct{ N int }

func (c *checked) UnmarshalCBOR(b []byte) error {
	var v struct{ N int }
	if err := Unmarshal(b, &v); err != nil {
		return err
	}
	if v.N < 0 {
		return fmt.Errorf("negative count %d", v.N)
	}
	c.N = v.N
	return nil
}

func BenchmarkMarshalSlicePlain(b *testing.B) {
	ps := make([]point, 1000)
	b.ReportAllocs()
	for b.Loop() {
		data, _ := MarshalSlice(ps)
		var back []point
		if err := UnmarshalSlice(data, &back); err != nil {
			b.Fatal(err)
		}
	}
}
