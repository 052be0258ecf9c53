package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// testHandle is a handle as the IPC types are: its first field names its
// codec; it travels as {1: name}.
type testHandle struct {
	_    Handle[*testHandle, testCodec]
	name string
}

type testCodec struct{}

type testHandleWire struct {
	N string `cbor:"1,keyasint"`
}

var _ HandleCodec[*testHandle] = testCodec{}

func (testCodec) EncodeHandle(h *testHandle) ([]byte, error) {
	if h.name == "" {
		return nil, errors.New("a zero testHandle")
	}
	return Marshal(testHandleWire{h.name})
}

func (testCodec) DecodeHandle(h *testHandle, data []byte) error {
	var w testHandleWire
	if err := Unmarshal(data, &w); err != nil {
		return err
	}
	if w.N == "" {
		return errors.New("a handle without a name")
	}
	h.name = w.N
	return nil
}

// legacyHandle is how handles were written before (a MarshalCBOR method
// of their own): the bytes must stay the same.
type legacyHandle struct{ name string }

func (h *legacyHandle) MarshalCBOR() ([]byte, error) { return Marshal(testHandleWire{h.name}) }

func TestHandleBytesAsBefore(t *testing.T) {
	type now struct {
		A *testHandle `cbor:"1,keyasint"`
		B *testHandle `cbor:"2,keyasint,omitempty"`
		C []any       `cbor:"3,keyasint"`
		D complex128  `cbor:"4,keyasint"`
	}
	type before struct {
		A *legacyHandle `cbor:"1,keyasint"`
		B *legacyHandle `cbor:"2,keyasint,omitempty"`
		C []any         `cbor:"3,keyasint"`
		D complex128    `cbor:"4,keyasint"`
	}
	got, err := Marshal(now{A: &testHandle{name: "a"}, C: []any{1, &testHandle{name: "c"}, nil}, D: 1 + 2i})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Marshal(before{A: &legacyHandle{"a"}, C: []any{1, &legacyHandle{"c"}, nil}, D: 1 + 2i})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("a value holding handles encodes to %x, before to %x", got, want)
	}
}

func TestHandleRoundTrip(t *testing.T) {
	h := func(n string) *testHandle { return &testHandle{name: n} }
	type inner struct {
		H  testHandle
		Hs []*testHandle
	}
	type outer struct {
		P   *testHandle
		Nil *testHandle
		In  *inner
		M   map[string]*testHandle
		Arr [2]*testHandle
		Z   complex64
		S   string
		_   int // not encoded
	}
	for _, tc := range []struct {
		name string
		in   any
		out  func() any // a pointer to decode into
	}{
		{"handle", h("x"), func() any { return new(*testHandle) }},
		{"handle value", testHandle{name: "v"}, func() any { return new(testHandle) }},
		{"slice", []*testHandle{h("a"), nil, h("b")}, func() any { return new([]*testHandle) }},
		{"map", map[int]testHandle{1: {name: "one"}}, func() any { return new(map[int]testHandle) }},
		{"struct", outer{P: h("p"), In: &inner{H: testHandle{name: "h"}, Hs: []*testHandle{h("s")}}, M: map[string]*testHandle{"k": h("m"), "nil": nil}, Arr: [2]*testHandle{nil, h("arr")}, Z: 3i, S: "s"},
			func() any { return new(outer) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			out := tc.out()
			if err := Unmarshal(b, out); err != nil {
				t.Fatal(err)
			}
			if got := reflect.ValueOf(out).Elem().Interface(); !reflect.DeepEqual(got, tc.in) {
				t.Fatalf("decoded %#v, want %#v", got, tc.in)
			}
		})
	}
}

func TestHandleSlice(t *testing.T) {
	in := []*testHandle{{name: "a"}, nil}
	b, err := MarshalSlice(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []*testHandle
	if err := UnmarshalSlice(b, &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("UnmarshalSlice: %v, %#v", err, out)
	}
}

// ExportedHandle is a handle type that a struct can embed.
type ExportedHandle struct {
	_    Handle[*ExportedHandle, exportedCodec]
	Name string // not encoded by the CBOR library: the codec decides
}

type exportedCodec struct{}

func (exportedCodec) EncodeHandle(h *ExportedHandle) ([]byte, error) {
	return testCodec{}.EncodeHandle(&testHandle{name: h.Name})
}

func (exportedCodec) DecodeHandle(h *ExportedHandle, data []byte) error {
	var t testHandle
	err := testCodec{}.DecodeHandle(&t, data)
	h.Name = t.name
	return err
}

// A struct that embeds a handle sends the handle as a field of its name,
// with the struct's other fields.
func TestEmbeddedHandle(t *testing.T) {
	type withHandle struct {
		*ExportedHandle
		N int
	}
	in := withHandle{&ExportedHandle{Name: "e"}, 7}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out withHandle
	if err := Unmarshal(b, &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Fatalf("decoded %+v (%v), want %+v", out, err, in)
	}
}

type recursiveHandles struct {
	H    *testHandle
	Next *recursiveHandles
}

type namer interface{ Name() string }

type namedHandle struct{ H *testHandle }

func (namedHandle) Name() string { return "n" }

func TestHandleErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"the codec fails", struct{ H *testHandle }{&testHandle{}}, "a zero testHandle"},
		{"recursive type", recursiveHandles{H: &testHandle{name: "a"}}, "recursive type"},
		{"inside a non-empty interface", struct{ N namer }{namedHandle{&testHandle{name: "a"}}}, "interface type"},
		{"map key", map[*testHandle]int{{name: "k"}: 1}, "handles in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Marshal(tc.v)
			if !errors.Is(err, ErrEncode) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Marshal: %v, want an ErrEncode saying %q", err, tc.want)
			}
			if _, err := MarshalDeterministic(tc.v); !errors.Is(err, ErrEncode) {
				t.Fatalf("MarshalDeterministic: %v, want an ErrEncode", err)
			}
		})
	}
	// a handle that does not decode fails the value, naming the type
	b, _ := Marshal(struct{ H testHandleWire }{testHandleWire{""}})
	var out struct{ H *testHandle }
	if err := Unmarshal(b, &out); err == nil || !strings.Contains(err.Error(), "wire.testHandle") || !strings.Contains(err.Error(), "without a name") {
		t.Fatalf("decoding a bad handle: %v", err)
	}
	// the handle's own bytes are decoded within the bounds: a duplicate
	// key is refused there too
	dup := []byte{0xa1, 0x61, 'H', 0xa2, 0x01, 0x61, 'a', 0x01, 0x61, 'b'}
	if err := Unmarshal(dup, &out); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("decoding a handle with a duplicate key: %v, want an error", err)
	}
}

// FuzzHandle: bytes from another process decode into values holding
// handles, or fail; they never panic, and what decodes encodes again.
func FuzzHandle(f *testing.F) {
	type v struct {
		A []*testHandle
		M map[string]testHandle
		P *testHandle
	}
	good, _ := Marshal(v{A: []*testHandle{{name: "a"}}, M: map[string]testHandle{"m": {name: "m"}}, P: &testHandle{name: "p"}})
	f.Add(good)
	f.Add([]byte{0xa1, 0x61, 'P', 0xa1, 0x01, 0xf6})
	f.Fuzz(func(t *testing.T, b []byte) {
		var out v
		if err := Unmarshal(b, &out); err != nil {
			return
		}
		if _, err := Marshal(out); err != nil {
			t.Fatalf("decoded %#v, which does not encode: %v", out, err)
		}
	})
}
