package mp_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mp-go/mp"
	"github.com/mp-go/mp/internal/wire"
)

// The handle types travel to other processes, but how is internal/wire's
// business: none has a method that puts the wire format in the API.
func TestHandlesHaveNoCBORMethods(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[*mp.Queue[int]](), reflect.TypeFor[*mp.SimpleQueue[int]](), reflect.TypeFor[*mp.JoinableQueue[int]](),
		reflect.TypeFor[*mp.Conn[int]](), reflect.TypeFor[*mp.Lock](), reflect.TypeFor[*mp.RLock](),
		reflect.TypeFor[*mp.Event](), reflect.TypeFor[*mp.Semaphore](), reflect.TypeFor[*mp.Condition](),
		reflect.TypeFor[*mp.RCondition](), reflect.TypeFor[*mp.Barrier](), reflect.TypeFor[*mp.Value[int64]](),
		reflect.TypeFor[*mp.Array[int64]](), reflect.TypeFor[*mp.RawValue[int64]](), reflect.TypeFor[*mp.RawArray[int64]](),
		reflect.TypeFor[*mp.SharedMemory](), reflect.TypeFor[*mp.ShareableList](),
	} {
		for i := range typ.NumMethod() {
			if m := typ.Method(i).Name; strings.Contains(m, "CBOR") || strings.Contains(m, "Binary") {
				t.Errorf("%s has the method %s", typ, m)
			}
		}
	}
}

// A handle's bytes come from another process: they are decoded within
// internal/wire's bounds (here: no duplicate map key), not by the CBOR
// library's defaults.
func TestHandleDecodeIsBounded(t *testing.T) {
	q, err := mp.NewQueue[int](0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Unlink()
	defer q.Close()
	b, err := wire.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	var back *mp.Queue[int]
	if err := wire.Unmarshal(b, &back); err != nil || back == nil {
		t.Fatalf("decoding a Queue's handle: %v", err)
	}
	back.Close()
	// {1: name} → {1: name, 1: name}
	if b[0] != 0xa1 || b[1] != 0x01 {
		t.Fatalf("a Queue's handle is %x, want a map {1: name}", b)
	}
	dup := append([]byte{0xa2}, b[1:]...)
	dup = append(dup, b[1:]...)
	var q2 *mp.Queue[int]
	err = wire.Unmarshal(dup, &q2)
	if err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("decoding a Queue's handle with a duplicate key: %v, want an error", err)
	}
	if !bytes.Equal(dup[:2], []byte{0xa2, 0x01}) {
		t.Fatal("the test's bytes are wrong")
	}
}

// A handle that cannot be sent says why, with its error in the chain.
func TestClosedConnCannotBeSent(t *testing.T) {
	a, b, err := mp.Pipe[int](true)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Unlink()
	defer b.Close()
	a.Close()
	_, err = wire.Marshal(struct{ C *mp.Conn[int] }{a})
	if !errors.Is(err, mp.ErrConnClosed) || !errors.Is(err, wire.ErrEncode) || !strings.Contains(err.Error(), "mp.Conn[int]") {
		t.Fatalf("encoding a closed Conn: %v, want ErrConnClosed and ErrEncode naming the type", err)
	}
}
