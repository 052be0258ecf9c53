package wire

import (
	"reflect"
	"testing"
)

func TestCallReplyRoundTrip(t *testing.T) {
	calls := []Call{
		{},
		{ID: 1, Obj: 2, Op: "set", N: -3, M: 1 << 40, Name: "n", Key: "k", Flag: true, Args: [][]byte{{1}, {}, {2, 3}}},
	}
	for _, c := range calls {
		var got Call
		if err := DecodeCall(AppendCall(nil, &c), &got); err != nil {
			t.Fatal(err)
		}
		if len(c.Args) == 0 {
			c.Args = nil
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("call: got %+v, want %+v", got, c)
		}
	}
	replies := []Reply{
		{},
		{ID: 9, N: -1, OK: true, Vals: [][]byte{{1}, nil, {}}},
		{ID: 9, Err: &CallError{Code: "c", Msg: "m"}},
	}
	for _, r := range replies {
		var got Reply
		if err := DecodeReply(AppendReply(nil, &r), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("reply: got %+v, want %+v", got, r)
		}
	}
}

// FuzzDecodeCall: any bytes decode to a call or an error, never a panic
// or an allocation beyond the input's size.
func FuzzDecodeCall(f *testing.F) {
	f.Add(AppendCall(nil, &Call{ID: 1, Op: "get", Args: [][]byte{{0x61, 'k'}}}))
	f.Add(AppendReply(nil, &Reply{ID: 1, Vals: [][]byte{{1}, nil}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Call
		if DecodeCall(b, &c) == nil {
			var again Call
			if err := DecodeCall(AppendCall(nil, &c), &again); err != nil {
				t.Fatalf("re-encoding a decoded call: %v", err)
			}
		}
		var r Reply
		DecodeReply(b, &r)
	})
}
