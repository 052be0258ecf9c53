package manager_test

import (
	"reflect"
	"strings"
	"testing"

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
