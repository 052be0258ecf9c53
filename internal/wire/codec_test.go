package wire

import (
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

func TestMarshalNamesThePath(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"func in slice element", outer{Items: []inner{{}, {Hook: func() {}}}}, "func() at .Items[1].Hook"},
		{"func-typed field, even nil", withFunc{}, "func() at .F"},
		{"chan in map", outer{M: map[string]any{"c": make(chan int)}}, `chan int at .M["c"]`},
		{"the value itself", make(chan int), "the value itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Marshal(tt.v)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
	b, err := Marshal(outer{A: 3, Items: []inner{{Name: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	var o outer
	if err := Unmarshal(b, &o); err != nil || o.A != 3 || o.Items[0].Name != "x" {
		t.Errorf("round trip: %+v, %v", o, err)
	}
}

func TestDecodeLimits(t *testing.T) {
	deep := strings.Repeat("\x81", MaxDepth+10) + "\x01" // nested one-element arrays
	var v any
	if err := Unmarshal([]byte(deep), &v); err == nil {
		t.Error("nesting past the limit accepted")
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
