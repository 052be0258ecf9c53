package manager_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/mp-go/mp/internal/wire"
	"github.com/mp-go/mp/manager"
)

// Proxies travel to other processes, but how is internal/wire's business:
// none has a method that puts the wire format in the API.
func TestProxiesHaveNoCBORMethods(t *testing.T) {
	type point struct{ X int }
	for _, typ := range []reflect.Type{
		reflect.TypeFor[*manager.Dict[string, int]](), reflect.TypeFor[*manager.Namespace](),
		reflect.TypeFor[*manager.Value[int]](), reflect.TypeFor[*manager.List[int]](),
		reflect.TypeFor[*manager.Array[int]](), reflect.TypeFor[*manager.Queue[int]](),
		reflect.TypeFor[*manager.Lock](), reflect.TypeFor[*manager.RLock](),
		reflect.TypeFor[*manager.Semaphore](), reflect.TypeFor[*manager.Event](),
		reflect.TypeFor[*manager.Condition](), reflect.TypeFor[*manager.Barrier](),
		reflect.TypeFor[*manager.Object[point]](),
	} {
		for i := range typ.NumMethod() {
			if m := typ.Method(i).Name; strings.Contains(m, "CBOR") || strings.Contains(m, "Binary") {
				t.Errorf("%s has the method %s", typ, m)
			}
		}
	}
}

// FuzzProxyHandle: a proxy's bytes from another process decode to a proxy
// or an error, within wire's bounds; never a panic.
func FuzzProxyHandle(f *testing.F) {
	type handle struct {
		Addr string `cbor:"1,keyasint"`
		Key  []byte `cbor:"2,keyasint"`
		ID   uint64 `cbor:"3,keyasint"`
		Kind string `cbor:"4,keyasint"`
	}
	for _, kind := range []string{"dict", "lock", "condition", "semaphore", "boundedsemaphore", "nope"} {
		b, err := wire.Marshal(struct {
			D handle `cbor:"1,keyasint"`
		}{handle{Addr: "/nonexistent/mp-fuzz.sock", Key: []byte("k"), ID: 1, Kind: kind}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa1, 0x01, 0xa2, 0x01, 0x60, 0x01, 0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			D *manager.Dict[string, int] `cbor:"1,keyasint"`
			L *manager.Lock              `cbor:"2,keyasint"`
			C *manager.Condition         `cbor:"3,keyasint"`
			S *manager.Semaphore         `cbor:"4,keyasint"`
		}
		_ = wire.Unmarshal(b, &v)
	})
}
