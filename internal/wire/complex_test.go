package wire

import (
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

type wave struct {
	Name   string
	Amp    complex128
	hidden int
	Taps   []complex64
	ByKey  map[string]complex128
	Peak   *complex128
	Pair   [2]complex128
	Nested []struct{ Z complex128 }
}

type cyclicComplex struct {
	Z    complex128
	Next *cyclicComplex
}

type embedsHidden struct {
	hiddenComplex
	N int
}

type hiddenComplex struct{ Z complex128 }

func TestComplexNumbersRoundTrip(t *testing.T) {
	peak := complex(9, -9)
	w := wave{Name: "w", Amp: complex(1.5, -2), hidden: 7, Taps: []complex64{complex(1, 2), 3i}, ByKey: map[string]complex128{"a": 1i}, Peak: &peak, Pair: [2]complex128{1, 2i}, Nested: []struct{ Z complex128 }{{Z: 4 + 4i}}}
	tests := []struct {
		name string
		v    any
		into func() any // a pointer to decode into
	}{
		{"complex128", complex(1, 2), func() any { return new(complex128) }},
		{"complex64", complex64(complex(1, 2)), func() any { return new(complex64) }},
		{"slice", []complex128{1, 1i, complex(-1, 0.5)}, func() any { return new([]complex128) }},
		{"struct", w, func() any { return new(wave) }},
		{"pointer to struct", &w, func() any { return new(*wave) }},
		{"map of structs", map[int]wave{3: w}, func() any { return new(map[int]wave) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			got := tt.into()
			if err := Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			want := tt.v
			if ww, ok := want.(wave); ok {
				ww.hidden = 0 // unexported: not sent
				want = ww
			}
			if wp, ok := want.(*wave); ok {
				ww := *wp
				ww.hidden = 0
				want = &ww
			}
			if mw, ok := want.(map[int]wave); ok {
				ww := mw[3]
				ww.hidden = 0
				want = map[int]wave{3: ww}
			}
			if g := reflect.ValueOf(got).Elem().Interface(); !reflect.DeepEqual(g, want) {
				t.Errorf("got %+v\nwant %+v", g, want)
			}
		})
	}
	// in a task's items and results
	b, err := MarshalSlice([]wave{w, {Amp: 1i}})
	if err != nil {
		t.Fatal(err)
	}
	var ws []wave
	if err := UnmarshalSlice(b, &ws); err != nil || len(ws) != 2 || ws[0].Amp != w.Amp || ws[1].Amp != 1i || ws[0].Nested[0].Z != 4+4i {
		t.Errorf("slice: %+v, %v", ws, err)
	}
	b, errs := MarshalEach([]complex128{1i, 2})
	var cs []complex128
	if err := UnmarshalSlice(b, &cs); errs != nil || err != nil || !reflect.DeepEqual(cs, []complex128{1i, 2}) {
		t.Errorf("MarshalEach: %v, %v, %v", cs, errs, err)
	}
	// a decoder that does not know the mirror sees [real, imaginary]
	b, _ = Marshal(complex(3, 4))
	var parts []float64
	if err := Unmarshal(b, &parts); err != nil || !reflect.DeepEqual(parts, []float64{3, 4}) {
		t.Errorf("as floats: %v, %v", parts, err)
	}
}

func TestComplexNumbersNotSupported(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"inside an interface", map[string]any{"z": 1i}, `complex128 at ["z"]`},
		{"in a recursive type", &cyclicComplex{Z: 1}, "recursive type"},
		{"in an embedded unexported type", embedsHidden{N: 1}, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(tt.v)
			if !errors.Is(err, ErrEncode) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrEncode saying %q", err, tt.want)
			}
		})
	}
	var z complex128
	if err := Unmarshal([]byte{0x83, 1, 2, 3}, &z); err == nil {
		t.Error("three parts accepted as a complex number")
	}
}

func TestCheckSeesComplexNumbersItCannotSend(t *testing.T) {
	if err := Check(&cyclicComplex{}); !errors.Is(err, ErrEncode) {
		t.Errorf("Check = %v", err)
	}
	if err := Check(wave{}); err != nil {
		t.Errorf("Check = %v", err)
	}
}
