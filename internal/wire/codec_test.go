package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type inner struct {
	Name string
	Hook any
}

type outer struct {
	A     int
	Items []inner
	M     map[string]any
}

type withFunc struct{ F func() }

type skipped struct {
	A int
	F func() `cbor:"-"`
	g func()
}

type node struct {
	V    int
	Next *node
}

// list returns a linked list of n nodes: n levels of nesting.
func list(n int) *node {
	var head *node
	for i := n; i > 0; i-- {
		head = &node{V: i, Next: head}
	}
	return head
}

// deepMarshaler writes its own CBOR: N nested one-element arrays.
type deepMarshaler struct{ N int }

func (d deepMarshaler) MarshalCBOR() ([]byte, error) {
	return []byte(strings.Repeat("\x81", d.N) + "\x01"), nil
}

func TestMarshalNamesThePath(t *testing.T) {
	self := &node{V: 1}
	self.Next = self
	loop := []any{1, nil}
	loop[1] = loop
	m := map[string]any{"a": 1}
	m["me"] = m
	var x any
	x = &x
	var nilWithFunc *withFunc
	tests := []struct {
		name string
		v    any
		want []string
	}{
		{"func in slice element", outer{Items: []inner{{}, {Hook: func() {}}}}, []string{"func() at .Items[1].Hook", "functions cannot cross a process boundary"}},
		{"func-typed field, even nil", withFunc{}, []string{"func() at .F"}},
		{"func-typed field of a nil pointer", struct{ P *withFunc }{nilWithFunc}, []string{"func() at .P.F", "even where this part is nil"}},
		{"chan in map", outer{M: map[string]any{"c": make(chan int)}}, []string{`chan int at .M["c"]`, "mp.Queue"}},
		{"the value itself", make(chan int), []string{"the value itself"}},
		{"complex128", []any{1, complex(1, 2)}, []string{"complex128 at [1]"}},
		{"pointer cycle", self, []string{"cannot encode *wire.node", "at .Next", "pointer cycle", "points back to the value itself"}},
		{"pointer cycle below the root", *self, []string{"at .Next.Next", "points back to .Next"}},
		{"slice cycle", loop, []string{"at [1]", "pointer cycle", "points back to the value itself"}},
		{"map cycle", m, []string{`at ["me"]`, "pointer cycle"}},
		{"interface cycle", &x, []string{"pointer cycle"}},
		{"too deep", list(DefaultMaxDepth + 1), []string{"nested more than 1000 levels deep", "MP_MAX_DEPTH", ".Next…(1000 times)"}},
		{"too deep by its own marshaler", deepMarshaler{N: DefaultMaxDepth + 1}, []string{"nested more than 1000 levels deep"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(tt.v)
			if err == nil {
				t.Fatal("no error")
			}
			var e *EncodeError
			if !errors.As(err, &e) || !errors.Is(err, ErrEncode) {
				t.Errorf("err = %T, want an *EncodeError wrapping ErrEncode", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to say %q", err, w)
				}
			}
			if _, own := tt.v.(deepMarshaler); own {
				return // what a MarshalCBOR method writes is seen only by encoding it
			}
			if err2 := Check(tt.v); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Check = %v, Marshal = %v", err2, err)
			}
		})
	}
}

func TestMarshalRoundTrips(t *testing.T) {
	shared := &inner{Name: "s"}
	tests := []struct {
		name string
		v    any
	}{
		{"struct", outer{A: 3, Items: []inner{{Name: "x"}}, M: map[string]any{"k": []any{1, "two"}}}},
		{"skipped func fields", skipped{A: 1, F: func() {}, g: func() {}}},
		{"the same pointer twice is no cycle", []*inner{shared, shared}},
		{"nested as deep as the limit", list(DefaultMaxDepth)},
		{"its own marshaler at the limit", deepMarshaler{N: DefaultMaxDepth - 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := Unmarshal(b, &v); err != nil {
				t.Fatalf("a value Marshal accepted does not decode: %v", err)
			}
		})
	}
	b, err := Marshal(list(DefaultMaxDepth))
	if err != nil {
		t.Fatal(err)
	}
	var n *node
	if err := Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= DefaultMaxDepth; i++ {
		if n == nil || n.V != i {
			t.Fatalf("node %d: %+v", i, n)
		}
		n = n.Next
	}
}

func TestSlicesWithinTheLimit(t *testing.T) {
	items := []*node{list(DefaultMaxDepth), nil, list(3)}
	b, err := MarshalSlice(items)
	if err != nil {
		t.Fatal(err)
	}
	var out []*node
	if err := UnmarshalSlice(b, &out); err != nil || len(out) != 3 || out[0].V != 1 || out[2].Next.Next.V != 3 {
		t.Fatalf("items as deep as the limit: %v, %v", out, err)
	}
	if _, err := MarshalSlice([]*node{list(DefaultMaxDepth + 1)}); err == nil {
		t.Fatal("an item past the limit accepted")
	}
}

func TestMarshalEach(t *testing.T) {
	type result struct {
		N int
		C any
	}
	items := []result{{N: 1}, {N: 2, C: func() {}}, {N: 3}, {N: 4, C: list(DefaultMaxDepth + 1)}}
	b, errs := MarshalEach(items)
	if len(errs) != 2 || errs[1] == nil || errs[3] == nil {
		t.Fatalf("errs = %v, want items 1 and 3", errs)
	}
	if !strings.Contains(errs[1].Error(), "func() at .C") || !strings.Contains(errs[3].Error(), "MP_MAX_DEPTH") {
		t.Errorf("errs = %v", errs)
	}
	var out []result
	if err := UnmarshalSlice(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 || out[0].N != 1 || out[1].N != 0 || out[2].N != 3 || out[3].N != 0 {
		t.Errorf("decoded %+v, want items 1 and 3 zero", out)
	}
	if b, errs := MarshalEach([]int{1, 2}); errs != nil || len(b) == 0 {
		t.Errorf("plain ints: %v", errs)
	}
	// many items: a longer array head
	many := make([]any, 300)
	many[299] = make(chan int)
	b, errs = MarshalEach(many)
	var back []any
	if err := UnmarshalSlice(b, &back); err != nil || len(back) != 300 || len(errs) != 1 {
		t.Errorf("300 items: %d decoded, %v, errs %v", len(back), err, errs)
	}
}

func TestParseDepth(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", DefaultMaxDepth, false},
		{"5000", 5000, false},
		{"abc", DefaultMaxDepth, true},
		{"3", DefaultMaxDepth, true},
		{fmt.Sprint(MaxMaxDepth + 1), DefaultMaxDepth, true},
	}
	for _, tt := range tests {
		got, err := parseDepth(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseDepth(%q) = %d, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), DepthEnv) {
			t.Errorf("error %v does not name %s", err, DepthEnv)
		}
	}
}

func TestDecodeLimits(t *testing.T) {
	deep := strings.Repeat("\x81", MaxDepth()+1) + "\x01" // nested one-element arrays
	var v any
	if err := Unmarshal([]byte(deep), &v); err == nil {
		t.Error("nesting past the limit accepted")
	}
	var s []any
	if err := UnmarshalSlice([]byte("\x81"+deep), &s); err == nil {
		t.Error("nesting past the limit accepted in a slice")
	}
	if err := Unmarshal([]byte(deep[1:]), &v); err != nil {
		t.Errorf("nesting at the limit: %v", err)
	}
	huge := []byte{0x9b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff} // array of 2^32-1 elements, no data
	if err := Unmarshal(huge, &v); err == nil {
		t.Error("array count past the limit accepted")
	}
}

// FuzzMessages: hostile bytes decode to a message or an error, never a
// panic.
func FuzzMessages(f *testing.F) {
	for _, m := range []any{Hello{Version: 1, PID: 2, Names: []string{"a"}}, Task{ID: 1, Func: "f", Args: []byte{0x81, 1}, N: 1}, Results{ID: 1, N: 1, Errs: []ItemError{{Err: Error{Msg: "x"}}}}, Setup{Worker: 1, Init: "i", Arg: []byte{1}}, Ready{Err: &Error{Msg: "bad"}}, Log{Time: 1, Level: 4, Msg: "m", Attrs: []LogAttr{{Key: "k", Kind: 's', S: "v"}}, Task: 1}} {
		b, _ := Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		for _, target := range []any{&Hello{}, &Task{}, &Results{}, &Setup{}, &Ready{}, &Log{}, &v} {
			_ = Unmarshal(b, target)
		}
	})
}

// FuzzSlices: hostile bytes decode as the items of a task or its results
// (MarshalSlice, MarshalEach), complex numbers included, to items or an
// error, never a panic.
func FuzzSlices(f *testing.F) {
	b, _ := MarshalSlice([]int{1, 2})
	f.Add(b)
	b, _ = MarshalEach([]any{1, func() {}, "x"})
	f.Add(b)
	b, _ = MarshalSlice([]*node{list(5)})
	f.Add(b)
	b, _ = MarshalSlice([]wave{{Amp: 1i, Taps: []complex64{2}, ByKey: map[string]complex128{"k": 3}}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		var a []any
		_ = UnmarshalSlice(b, &a)
		var n []*node
		_ = UnmarshalSlice(b, &n)
		var i []int
		_ = UnmarshalSlice(b, &i)
		var o []outer
		_ = UnmarshalSlice(b, &o)
		var w []wave // complex numbers, through the mirror type
		_ = UnmarshalSlice(b, &w)
		var z complex128
		_ = Unmarshal(b, &z)
	})
}
